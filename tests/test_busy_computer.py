"""A busy computer is not a faulty machine (issue 12, item 3).

The console's own delays (a reader thread behind on its port, a watchdog thread that did not get
the CPU) must not be taken for a silent, slow or hung machine, while a machine that really is
silent, slow or hung is still caught.
"""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from console.drivers import DeviceStatus, DriverInfo
from console.engine.clock import ScaledClock, VirtualClock
from console.engine.events import EngineState, SafetyKind
from console.engine.runner import SIMULATION_LAG_S, TreatmentEngine
from console.engine.safety import HangTimer
from console.machine_clock import PACE_TOLERANCE, MachineClock
from console.stream_driver import Answer, _Waiter
from device_drivers.scpi_driver import ScpiMachineDriver
from device_drivers.simulator import SimulatedMachine
from support import make_protocol

# -- the hang watchdog counts only time the process ran ---------------------------------------


def test_a_tick_that_hangs_while_the_computer_keeps_up_counts_in_wall_time() -> None:
    timer = HangTimer(0.05, now_s=0.0)
    hung = [timer.look(0.05 * k, tick_started_s=0.01) for k in range(1, 22)]
    assert hung[-1] == pytest.approx(1.04)
    assert hung == sorted(hung)


def test_a_process_that_did_not_get_the_cpu_is_not_a_hung_machine() -> None:
    timer = HangTimer(0.05, now_s=0.0)
    assert timer.look(0.05, tick_started_s=0.02) == pytest.approx(0.03)
    # Three seconds without the CPU: the watchdog's own look comes that late.
    assert timer.look(3.05, tick_started_s=0.02) == pytest.approx(0.13)
    # Back on time: it counts on from there.
    assert timer.look(3.10, tick_started_s=0.02) == pytest.approx(0.18)


def test_a_new_tick_restarts_the_count_and_no_tick_counts_nothing() -> None:
    timer = HangTimer(0.05, now_s=0.0)
    for k in range(1, 10):
        timer.look(0.05 * k, tick_started_s=0.0)
    assert timer.look(0.50, tick_started_s=0.48) == pytest.approx(0.02)
    assert timer.look(0.55, tick_started_s=None) == 0.0


# -- the engine judges silence up to where the driver has listened ----------------------------


class BehindReader(SimulatedMachine):
    """A machine whose driver's reader is ``behind_s`` behind the clock (a busy computer), and,
    with ``silent_from_s``, a machine that stops talking then."""

    behind_s = 0.0
    silent_from_s: float | None = None

    def status(self) -> DeviceStatus:
        status = super().status()
        now = self.clock.now()
        heard = status.last_heard_s
        if self.silent_from_s is not None and now > self.silent_from_s:
            heard = min(heard, self.silent_from_s)
        listened = now - self.behind_s
        return dataclasses.replace(status, last_heard_s=min(heard, listened), listened_s=listened)

    def read_samples(self):  # type: ignore[no-untyped-def]
        block = super().read_samples()
        if self.silent_from_s is not None and self.clock.now() > self.silent_from_s:
            keep = block.t <= self.silent_from_s
            return type(block)(block.t[keep], block.current_ua[keep], block.voltage_v[keep])
        return block


def _run(info: DriverInfo, machine: BehindReader, clock: VirtualClock) -> TreatmentEngine:
    engine = TreatmentEngine(machine, info, clock)
    engine.prepare(make_protocol(steps=1, duration_s=20.0))
    engine.run(timeout=30)
    engine.close()
    return engine


def test_a_reader_behind_within_the_limit_is_not_a_silent_machine(
    simulator_info: DriverInfo,
) -> None:
    clock = VirtualClock()
    machine = BehindReader(clock, seed=1)
    machine.behind_s = 2.0  # four times the silence limit, within the lag a simulation may have
    engine = _run(simulator_info, machine, clock)
    assert engine.state is EngineState.FINISHED
    assert engine.safety_events == []


def test_a_reader_too_far_behind_stops_the_output_and_says_why(
    simulator_info: DriverInfo,
) -> None:
    clock = VirtualClock()
    machine = BehindReader(clock, seed=1)
    machine.behind_s = SIMULATION_LAG_S + 1.0
    engine = _run(simulator_info, machine, clock)
    assert engine.state is EngineState.INTERRUPTED
    assert [event.kind for event in engine.safety_events] == [SafetyKind.WATCHDOG]
    assert "fallen 6.0 s behind the machine's data" in engine.safety_events[0].message
    assert machine.output_on is False


def test_a_silent_machine_is_caught_even_while_the_reader_is_behind(
    simulator_info: DriverInfo,
) -> None:
    clock = VirtualClock()
    machine = BehindReader(clock, seed=1)
    machine.behind_s = 2.0
    machine.silent_from_s = 8.0
    engine = _run(simulator_info, machine, clock)
    assert engine.state is EngineState.INTERRUPTED
    event = engine.safety_events[0]
    assert event.kind is SafetyKind.WATCHDOG and "has not answered" in event.message
    # Judged where the reader had listened to: 0.5 s of silence heard 2 s late.
    assert 8.0 + 2.0 + 0.5 <= event.at_s <= 8.0 + 2.0 + 0.5 + 0.1


def test_a_real_machine_gets_no_more_lag_than_silence(simulator_info: DriverInfo) -> None:
    """A busy computer stops a real machine's output: its data is not judged meanwhile."""
    real = dataclasses.replace(simulator_info, simulated=False)
    clock = ScaledClock(1.0)
    machine = BehindReader(clock, seed=1)
    engine = TreatmentEngine(machine, real, clock)
    assert engine._lag_limit_s == engine.limits.device_silence_s


# -- the pace check leaves out heartbeats a busy reader held up ---------------------------------


def _heartbeats(clock: MachineClock, wall: list[float], pace: float, until_s: float) -> None:
    """Heartbeats every 50 ms of console (and wall) time from a machine at ``pace``, each read
    promptly (it waited at most one reader loop, 50 ms)."""
    console_s = 0.0
    while console_s <= until_s:
        wall[0] = console_s
        clock.observe(int(console_s * pace * 1e6), console_s, 0.05)
        console_s = round(console_s + 0.05, 2)


def test_a_held_up_reader_does_not_make_the_machine_look_slow() -> None:
    wall = [0.0]
    clock = MachineClock(wall=lambda: wall[0])
    _heartbeats(clock, wall, 1.0, 2.5)
    assert clock.pace == pytest.approx(1.0, abs=0.01)
    # The reader was held up for 2 s: the heartbeat it then reads waited that long.
    wall[0] = 5.0
    clock.observe(int(2.55e6), 4.55, 2.05)
    assert clock.pace == pytest.approx(1.0, abs=0.01)


def test_heartbeats_held_up_before_the_port_do_not_make_the_machine_look_slow() -> None:
    """The reader cannot see a heartbeat that waited on the machine's side (a blocked write):
    the least delayed heartbeat of the last seconds tells the pace."""
    wall = [0.0]
    clock = MachineClock(wall=lambda: wall[0])
    _heartbeats(clock, wall, 1.0, 3.0)
    wall[0] = 3.8  # three heartbeats stamped at 3.05-3.15 s arrive together 0.6 s late
    for machine_s in (3.05, 3.10, 3.15):
        clock.observe(int(machine_s * 1e6), 3.8, 0.05)
    assert clock.pace == pytest.approx(1.0, abs=0.01)


def test_a_machine_at_another_pace_is_still_caught() -> None:
    wall = [0.0]
    clock = MachineClock(wall=lambda: wall[0])
    _heartbeats(clock, wall, 0.8, 3.0)
    assert clock.pace == pytest.approx(0.8, abs=0.01)
    assert abs(clock.pace - 1.0) > PACE_TOLERANCE


def test_on_a_fast_clock_a_few_milliseconds_do_not_pass_for_a_wrong_pace() -> None:
    """An emulator at ×50 held up 12 ms by a busy computer (0.6 machine seconds) just after
    the pace is first judged, from a heartbeat at the end of the first second: over the 40 ms
    of wall time two machine seconds take, that would read as 0.8×; judged over two wall
    seconds it is well inside the tolerance."""
    speed = 50.0
    wall = [0.0]
    clock = MachineClock(wall=lambda: wall[0])
    for k in range(int(4.0 / 0.005)):  # heartbeats every 5 ms of wall time, for 4 s
        wall[0] = k * 0.005
        machine_s = wall[0] * speed
        if wall[0] <= 1.0:  # the start is busy: the least delayed heartbeat is its last
            late_s = (1.0 - wall[0]) * 0.002 * speed
        else:  # then the emulator is held up 12 ms, before the port
            late_s = 0.012 * speed if 1.04 <= wall[0] <= 1.2 else 0.0
        clock.observe(int(machine_s * 1e6), machine_s + late_s, 0.0)
        assert clock.pace is None or abs(clock.pace - 1.0) <= PACE_TOLERANCE, (wall[0], clock.pace)
    assert clock.pace == pytest.approx(1.0, abs=0.01)
    # A console at ×1 against that emulator is still caught, two wall seconds after the anchor.
    wall[0], slow = 0.0, MachineClock(wall=lambda: wall[0])
    for k in range(int(3.5 / 0.005)):
        wall[0] = k * 0.005
        slow.observe(int(wall[0] * speed * 1e6), wall[0], 0.0)
    assert slow.pace == pytest.approx(speed, rel=0.01)


def test_without_a_delay_bound_a_late_heartbeat_counts() -> None:
    """A driver that cannot say how long a heartbeat waited gets the plain estimate."""
    wall = [0.0]
    clock = MachineClock(wall=lambda: wall[0])
    for k in range(60):
        wall[0] = k * 0.05
        clock.observe(int(k * 0.05e6), k * 0.05)
    wall[0] = 5.0
    clock.observe(int(3.0e6), 5.0)
    assert clock.pace == pytest.approx(3.0 / 5.0, abs=0.01)


# -- answers are overdue only once the reader has listened for them ---------------------------


def test_an_answer_is_waited_for_while_the_reader_is_behind() -> None:
    driver = ScpiMachineDriver(ScaledClock(1.0), port="loop://")
    driver.answer_give_up_s = 30.0
    driver._listened_wall = time.monotonic()  # and it stays there: the reader is busy
    waiter = _Waiter()
    returned = threading.Event()
    thread = threading.Thread(
        target=lambda: (driver._wait_for_answers([waiter]), returned.set()), daemon=True
    )
    thread.start()
    # Well past ANSWER_TIMEOUT_S (0.1 s): still waiting, the reader has not listened that far.
    assert not returned.wait(0.5)
    waiter.answer = Answer(0, ok=True)
    waiter.event.set()
    with driver._listened:
        driver._listened.notify_all()
    assert returned.wait(10)


def test_an_answer_the_reader_listened_for_in_vain_is_overdue() -> None:
    driver = ScpiMachineDriver(ScaledClock(1.0), port="loop://")
    driver.answer_give_up_s = 30.0
    waiter = _Waiter()

    def reader_keeps_up() -> None:
        while not waiter.event.is_set():
            with driver._listened:
                driver._listened_wall = time.monotonic()
                driver._listened.notify_all()
            time.sleep(0.01)

    threading.Thread(target=reader_keeps_up, daemon=True).start()
    started = time.monotonic()
    driver._wait_for_answers([waiter])
    waiter.event.set()
    assert not waiter.answer
    assert time.monotonic() - started < 10  # gave up on the machine, not on the give-up cap


# -- samples that arrive late are credited to the step they were measured in -----------------


class LateSamples(SimulatedMachine):
    """A machine whose samples reach the console ``depth`` reads after they were measured (a
    port and a reader a busy computer holds up): at every step's end on the clock, the last
    ``depth`` ticks of that step are still on their way."""

    depth = 40

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._in_flight: list = []

    def read_samples(self):  # type: ignore[no-untyped-def]
        self._in_flight.append(super().read_samples())
        if len(self._in_flight) <= self.depth:
            return type(self._in_flight[0]).empty()
        return self._in_flight.pop(0)

    def status(self) -> DeviceStatus:
        status = super().status()
        oldest = next((b for b in self._in_flight if len(b)), None)
        listened = float(oldest.t[0]) if oldest is not None else self.clock.now()
        return dataclasses.replace(
            status, last_heard_s=min(status.last_heard_s, listened), listened_s=listened
        )


def test_samples_of_a_step_that_arrive_after_its_end_are_still_that_steps(
    simulator_info: DriverInfo,
) -> None:
    protocol = make_protocol(steps=3, duration_s=20.0)
    protocol = dataclasses.replace(
        protocol,
        steps=tuple(
            dataclasses.replace(
                step, waveform=dataclasses.replace(step.waveform, current_ua=current)
            )
            for step, current in zip(protocol.steps, (300.0, 100.0, 200.0), strict=True)
        ),
    )
    deliveries = {}
    for machine_class in (SimulatedMachine, LateSamples):
        clock = VirtualClock()
        engine = TreatmentEngine(machine_class(clock, seed=1), simulator_info, clock)
        engine.prepare(protocol)
        summary = engine.run(timeout=30)
        engine.close()
        assert summary.state is EngineState.FINISHED and not summary.events
        deliveries[machine_class] = summary.steps

    on_time, late = deliveries[SimulatedMachine], deliveries[LateSamples]
    assert [d.zone for d in late] == [d.zone for d in on_time]
    for got, want in zip(late, on_time, strict=True):
        # 2 s of each step (300, then 100 µA) arrived after the clock had moved on: without
        # care they would be counted in the next step, 10 % of a 20 s step.
        assert got.time_under_current_s == pytest.approx(want.time_under_current_s, abs=0.06)
        assert got.charge_uc == pytest.approx(want.charge_uc, rel=0.005)
