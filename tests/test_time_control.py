"""The trainer's time control: pace ×1 … ×60, pause and single step, on the simulated machine only.

What a trainer relies on: the treatment is the same whatever the pace (the delivered charge does
not depend on the speed), holding time holds everything that follows it, an emergency stop is never
held by a paused clock, and none of it can reach a real machine.
"""

from __future__ import annotations

import threading
import time

import pytest

from console.drivers import Transport
from console.engine.clock import TRAINER_SPEEDS, TrainerClock, VirtualClock
from console.engine.events import EngineState, StepEnded
from console.engine.safety import PreflightError
from console.session import Console, ConsoleError
from console.waveforms import WaveShape
from support import make_protocol

#: One 10-second step with a 2-second ramp and polarity reversals every 2 s: at ×1 it takes ten
#: wall seconds, the whole speed sweep about nineteen.
SHORT = dict(steps=1, duration_s=10.0, current_ua=400.0, shape=WaveShape.BIPHASIC, ramp_s=2.0)


def _delivered_charge(make_engine, clock) -> float:
    engine, _, _ = make_engine(clock)
    engine.prepare(make_protocol(**SHORT))
    summary = engine.run(timeout=60)
    assert summary.state is EngineState.FINISHED
    return summary.total_charge_uc


def test_trainer_speeds_are_the_ones_the_issue_names() -> None:
    assert TRAINER_SPEEDS == (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


@pytest.mark.timeout(90)
def test_delivered_charge_is_the_same_at_every_speed_within_one_percent(make_engine) -> None:
    reference = _delivered_charge(make_engine, VirtualClock())
    assert reference == pytest.approx(make_protocol(**SHORT).planned_charge_uc, rel=0.02)
    for speed in TRAINER_SPEEDS:
        started = time.monotonic()
        charge = _delivered_charge(make_engine, TrainerClock(speed))
        wall = time.monotonic() - started
        assert charge == pytest.approx(reference, rel=0.01), f"×{speed:g}"
        # The pace is real: ×1 takes the step's ten seconds, ×10 about one.
        assert wall >= 10.0 / speed * 0.9, f"×{speed:g} ran in {wall:.2f} s"


@pytest.mark.timeout(60)
def test_pausing_stepping_and_changing_pace_mid_session_keep_the_charge(make_engine) -> None:
    reference = _delivered_charge(make_engine, VirtualClock())
    clock = TrainerClock(10.0)
    engine, _, _ = make_engine(clock)
    engine.prepare(make_protocol(**SHORT))
    engine.start()
    while clock.now() < 3.0:
        time.sleep(0.005)
    clock.pause()
    held_at = clock.now()
    time.sleep(0.3)  # three simulated seconds at ×10, had time not been held
    assert clock.now() == held_at
    assert engine.state is EngineState.RUNNING  # time is held, not the treatment
    for _ in range(2):
        hold = clock.step(0.5)
        assert clock.wait_for_pause(5.0)
        assert clock.now() == pytest.approx(hold)
    clock.set_speed(60.0)
    clock.resume()
    assert engine.wait(30)
    summary = engine.summary()
    assert summary.state is EngineState.FINISHED
    assert summary.total_charge_uc == pytest.approx(reference, rel=0.01)


def test_a_held_clock_holds_the_samples_and_the_step_timer(make_engine) -> None:
    clock = TrainerClock(30.0)
    engine, _, log = make_engine(clock)
    engine.prepare(make_protocol(steps=2, duration_s=10.0))
    engine.start()
    while clock.now() < 2.0:
        time.sleep(0.002)
    clock.pause()
    time.sleep(0.05)  # let the tick in flight finish
    samples = engine.ring.total_written
    step_elapsed = engine.summary().elapsed_s
    time.sleep(0.3)  # nine simulated seconds at ×30: the step would have ended
    assert engine.ring.total_written == samples
    assert engine.summary().elapsed_s == step_elapsed
    assert not log.of(StepEnded)
    engine.emergency_stop()
    assert engine.wait(5)


def test_an_emergency_stop_is_not_held_by_a_paused_clock(make_engine) -> None:
    clock = TrainerClock(5.0)
    engine, machine, _ = make_engine(clock)
    engine.prepare(make_protocol(steps=1, duration_s=20.0))
    engine.start()
    while engine.state is not EngineState.RUNNING:
        time.sleep(0.002)
    clock.pause()
    started = time.monotonic()
    engine.emergency_stop()
    assert not machine.status().output_on
    assert engine.wait(2.0), "the engine thread stayed stuck in a held clock"
    assert time.monotonic() - started < 0.5
    assert engine.state is EngineState.ABORTED


def test_pace_changes_do_not_jump_simulated_time() -> None:
    clock = TrainerClock(1.0)
    waiter = threading.Thread(target=clock.wait_until, args=(1.0,))
    waiter.start()
    time.sleep(0.2)
    clock.set_speed(60.0)  # the remaining ~0.8 s of simulated time now takes ~13 ms
    waiter.join(2.0)
    assert not waiter.is_alive()
    assert clock.now() == 1.0


@pytest.mark.parametrize("speed", [0, -1, float("nan"), float("inf"), 20_000])
def test_an_impossible_pace_is_refused(speed) -> None:
    with pytest.raises(ValueError, match="clock speed"):
        TrainerClock(speed)
    with pytest.raises(ValueError, match="clock speed"):
        TrainerClock(1.0).set_speed(speed)


@pytest.mark.parametrize("seconds", [0, -1, float("nan")])
def test_a_single_step_must_move_time_forward(seconds) -> None:
    with pytest.raises(ValueError, match="single step"):
        TrainerClock().step(seconds)


def test_the_simulated_machine_gets_the_trainer_clock_even_in_real_time() -> None:
    from console.plugins import load_plugins

    console = Console(load_plugins(blocked=()))
    console.connect("simulator")
    try:
        control = console.time_control
        assert isinstance(control, TrainerClock) and control.speed == 1.0
        console.connect("simulator", speed=10)
        assert console.time_control is not None and console.time_control.speed == 10.0
    finally:
        console.disconnect()
    assert console.time_control is None


def test_time_control_is_impossible_on_a_real_machine(simulator_info) -> None:
    from dataclasses import replace

    from console.plugins import PluginHost

    real = replace(simulator_info, id="bench-machine", simulated=False, transport=Transport.SERIAL)
    host = PluginHost(blocked=())
    host.drivers[real.id] = real
    console = Console(host)
    with pytest.raises(ConsoleError, match="simulated machine and emulators only"):
        console.connect(real.id, speed=10)
    assert console.connection is None and console.driver is None
    with pytest.raises(ConsoleError, match="simulated machine and emulators only"):
        console.connect(real.id, clock=TrainerClock(1.0))
    with pytest.raises(ConsoleError, match="simulated machine only"):
        console.connect(real.id, speed=0)  # as fast as possible
    console.connect(real.id)  # real time is fine, and gives no time control
    try:
        assert console.time_control is None
        assert console.clock.follows_wall_time
    finally:
        console.disconnect()


def test_an_emulator_that_says_so_keeps_the_pace_it_was_started_with(simulator_info) -> None:
    from dataclasses import replace

    from console.engine.clock import ScaledClock
    from console.plugins import PluginHost

    def emulator(**options: object) -> object:
        machine = simulator_info.factory(**options)
        machine.emulated = True  # what its hello says
        return machine

    info = replace(
        simulator_info, id="emulator", simulated=False, transport=Transport.SERIAL, factory=emulator
    )
    host = PluginHost(blocked=())
    host.drivers[info.id] = info
    console = Console(host)
    console.connect(info.id, speed=30)
    try:
        assert isinstance(console.clock, ScaledClock) and console.clock.speed == 30
        assert console.time_control is None  # its pace is set where the emulator runs
        # The session's engine sees the hello through the console's lent driver: no current
        # reaches anyone, so no screening is asked and the pace is allowed.
        engine = console.new_session(make_protocol(), None)
        assert engine.simulated is True
    finally:
        console.disconnect()


def test_the_engine_refuses_a_real_machine_on_a_trainer_clock(make_engine, simulator_info) -> None:
    """Second line of defence: even past the console, preflight refuses a real machine."""
    from dataclasses import replace

    from console.engine.runner import TreatmentEngine
    from device_drivers.simulator import SimulatedMachine

    clock = TrainerClock(1.0)
    real = replace(simulator_info, simulated=False, transport=Transport.SERIAL)
    engine = TreatmentEngine(SimulatedMachine(clock, seed=1), real, clock)
    try:
        with pytest.raises(PreflightError, match="simulated machine only"):
            engine.prepare(make_protocol())
    finally:
        engine.close()


def test_a_stop_pressed_during_a_tick_is_not_held_by_a_paused_clock(simulator_info) -> None:
    """The press lands while the engine is inside a driver call, and time is held at that
    moment: the engine must still end the session at once, not when time runs again."""
    from console.engine.runner import TreatmentEngine
    from device_drivers.simulator import SimulatedMachine

    clock = TrainerClock(5.0)
    armed = threading.Event()
    engine: TreatmentEngine

    class PressDuringRead(SimulatedMachine):
        def read_samples(self):  # type: ignore[no-untyped-def]
            if armed.is_set():
                armed.clear()
                clock.pause()
                engine.emergency_stop()
            return super().read_samples()

    machine = PressDuringRead(clock, seed=2)
    engine = TreatmentEngine(machine, simulator_info, clock)
    engine.prepare(make_protocol(steps=1, duration_s=20.0))
    engine.start()
    while engine.state is not EngineState.RUNNING:
        time.sleep(0.002)
    armed.set()
    assert engine.wait(1.0), f"the stop waited for the held clock (state {engine.state.value})"
    assert engine.state is EngineState.ABORTED
    assert clock.paused and not machine.status().output_on
    engine.close()


def test_views_read_a_smooth_time_between_ticks_that_never_runs_ahead() -> None:
    clock = TrainerClock(1.0)
    assert clock.display_now() == 0.0  # nobody waits: nothing to carry forward
    waiter = threading.Thread(target=clock.wait_until, args=(0.6,))
    waiter.start()
    time.sleep(0.3)
    assert clock.now() == 0.0  # the engine's time moves only when it arrives
    assert 0.2 < clock.display_now() < 0.6
    clock.pause()
    held = clock.display_now()
    time.sleep(0.1)
    assert clock.display_now() == held == clock.now()
    clock.resume()
    waiter.join(2.0)
    assert clock.now() == 0.6 and clock.display_now() == 0.6
