"""Safety rules 1–5 of docs/safety.md, each on the simulated machine with a virtual clock."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import replace
from datetime import date, timedelta

import pytest

from console.drivers import DriverInfo
from console.engine.clock import VirtualClock
from console.engine.events import (
    EngineState,
    EventLog,
    SafetyEventRaised,
    SafetyKind,
    SessionEnded,
    SessionStarted,
    StateChanged,
    StepStarted,
)
from console.engine.runner import FAST_TICK_S, TreatmentEngine
from console.engine.safety import PreflightError, SafetyLimits
from console.protocols import Protocol, Step
from console.screening import Screening
from console.waveforms import Polarity, Waveform, WaveShape
from device_drivers.simulator import SimFault, SimulatedMachine
from support import make_protocol

TICK = FAST_TICK_S


class RecordingMachine(SimulatedMachine):
    """The simulated machine, with a log of every host command and its clock time."""

    def __init__(self, clock: VirtualClock, **kwargs: object) -> None:
        super().__init__(clock, **kwargs)  # type: ignore[arg-type]
        self.calls: list[tuple[float, str, tuple[object, ...]]] = []

    def _record(self, name: str, *args: object) -> None:
        self.calls.append((self.clock.now(), name, args))

    def open(self) -> None:
        self._record("open")
        super().open()

    def configure(self, waveform: Waveform) -> None:
        self._record("configure", waveform)
        super().configure(waveform)

    def set_amplitude(self, current_ua: float) -> None:
        self._record("set_amplitude", current_ua)
        super().set_amplitude(current_ua)

    def start_output(self) -> None:
        self._record("start_output")
        super().start_output()

    def stop_output(self) -> None:
        self._record("stop_output")
        super().stop_output()

    def names(self) -> list[str]:
        return [name for _, name, _ in self.calls]

    def amplitudes_after(self, index: int) -> list[float]:
        return [args[0] for _, name, args in self.calls[index:] if name == "set_amplitude"]  # type: ignore[misc]


def recording_engine(
    clock: VirtualClock, info: DriverInfo, **options: object
) -> tuple[TreatmentEngine, RecordingMachine, EventLog]:
    machine = RecordingMachine(clock, seed=3)
    engine = TreatmentEngine(machine, info, clock, **options)  # type: ignore[arg-type]
    log = EventLog()
    engine.subscribe(log)
    return engine, machine, log


def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.001)


def safety_kinds(engine: TreatmentEngine) -> list[SafetyKind]:
    return [event.kind for event in engine.safety_events]


# -- rule 1: hard limits and capabilities, refused before anything is sent -----------------------


def _raw_protocol(waveform: Waveform) -> Protocol:
    """A protocol that skips validation, as a buggy or hostile plugin could build."""
    good = make_protocol(steps=2)
    return replace(good, steps=(good.steps[0], replace(good.steps[1], waveform=waveform)))


@pytest.mark.parametrize(
    ("waveform", "expected"),
    [
        (Waveform(WaveShape.SQUARE, 10, 1200), "hard limit"),
        (Waveform(WaveShape.SQUARE, 5000, 300), "outside 0.1–1000 Hz"),
        (Waveform(WaveShape.SQUARE, 10, 305), "not a multiple"),
        (Waveform(WaveShape.SQUARE, 10, 300, ramp_s=0), "ramp-up"),
    ],
)
def test_step_beyond_hard_limits_is_refused_before_anything_is_sent(
    clock, simulator_info, waveform, expected
) -> None:
    engine, machine, _ = recording_engine(clock, simulator_info)
    with pytest.raises(PreflightError) as refused:
        engine.prepare(_raw_protocol(waveform))
    assert expected in str(refused.value)
    assert "step 2" in str(refused.value)
    assert machine.calls == []  # not even opened
    assert engine.state is EngineState.IDLE


def test_step_beyond_machine_capabilities_is_refused(clock, simulator_info) -> None:
    narrow = replace(
        simulator_info,
        capabilities=replace(
            simulator_info.capabilities,
            current_ua=(10.0, 250.0),
            waveforms=frozenset({WaveShape.SQUARE}),
            frequency_choices_hz=(0.5, 2.0, 100.0),
        ),
    )
    engine, machine, _ = recording_engine(clock, narrow)
    protocol = make_protocol(current_ua=300, shape=WaveShape.SINE, frequency_hz=10)
    with pytest.raises(PreflightError) as refused:
        engine.prepare(protocol)
    message = str(refused.value)
    assert "outside the machine's 10–250 µA" in message
    assert "no sine waveform" in message
    assert "not one of the machine's (0.5, 2, 100 Hz)" in message
    assert "set_amplitude" not in machine.names() and "start_output" not in machine.names()


def test_capabilities_above_hard_limit_are_clamped(clock, simulator_info) -> None:
    boastful = replace(
        simulator_info,
        capabilities=replace(simulator_info.capabilities, current_ua=(10.0, 5000.0)),
    )
    engine, _, _ = recording_engine(clock, boastful)
    assert engine.capabilities.current_ua[1] == 1000.0
    with pytest.raises(PreflightError, match="hard limit"):
        engine.prepare(_raw_protocol(Waveform(WaveShape.SQUARE, 10, 1500)))


def test_real_machine_refuses_fast_clock_and_missing_screening(clock, simulator_info) -> None:
    real = replace(simulator_info, simulated=False)
    engine, machine, _ = recording_engine(clock, real)
    with pytest.raises(PreflightError) as refused:
        engine.prepare(make_protocol())
    assert "real machine runs in real time" in str(refused.value)
    assert "completed contraindication screening" in str(refused.value)
    # Whether current can reach a person is the machine's own word (an emulator says so), so
    # it is opened and asked who it is; nothing else reaches it.
    assert machine.names() == ["open"]
    assert machine.output_on is False and machine.amplitude_ua == 0


def test_absolute_contraindication_blocks_the_application(clock, simulator_info) -> None:
    engine, machine, _ = recording_engine(clock, simulator_info)
    screening = Screening.all_clear()
    screening.answer("implanted_electronics", True)
    with pytest.raises(PreflightError, match="absolute contraindication"):
        engine.prepare(make_protocol(), screening.evaluate())
    assert machine.calls == []


def test_relative_contraindication_needs_a_recorded_override(clock, simulator_info) -> None:
    screening = Screening.all_clear()
    screening.answer("retinoids", True, date.today() - timedelta(days=20))  # 1 day to go
    engine, _, _ = recording_engine(clock, simulator_info)
    with pytest.raises(PreflightError, match="needs a professional override"):
        engine.prepare(make_protocol(), screening.evaluate())
    screening.override(
        "retinoids", "Stopped tretinoin 20 days ago; low intensity.", "A. Practitioner"
    )
    engine.prepare(make_protocol(), screening.evaluate())
    assert engine.state is EngineState.READY


def test_amplitude_never_exceeds_the_step_setting(clock, simulator_info) -> None:
    engine, machine, _ = recording_engine(clock, simulator_info)
    engine.prepare(make_protocol(steps=2, current_ua=300))
    engine.adjust_intensity(+200)  # up from the setting is not possible
    summary = engine.run(timeout=30)
    assert summary.state is EngineState.FINISHED
    assert max(machine.amplitudes_after(0)) == 300.0


# -- rule 2: current ramps up at start, step change, resume and intensity up --------------------


def _assert_ramp(amplitudes: list[float], target: float, ramp_s: float) -> None:
    """Starts at 0 and rises by at most one tick's worth of ramp per command."""
    assert amplitudes[0] == 0.0
    max_rise = target * TICK / ramp_s + 1e-9
    rises = [b - a for a, b in itertools.pairwise(amplitudes)]
    assert max(rises) <= max_rise
    assert max(amplitudes) == pytest.approx(target)


def test_output_ramps_up_from_zero_at_start_and_at_every_step(clock, simulator_info) -> None:
    engine, machine, _log = recording_engine(clock, simulator_info)
    engine.prepare(make_protocol(steps=3, current_ua=400, ramp_s=2.0))
    engine.run(timeout=30)
    starts = [i for i, (_, name, _) in enumerate(machine.calls) if name == "configure"]
    assert len(starts) == 3
    for begin in starts:
        # Every step: amplitude to zero, configure, output on, then the ramp.
        assert machine.calls[begin - 1][1:] == ("set_amplitude", (0.0,))
        assert machine.calls[begin + 1][1] == "start_output"
        rising = machine.amplitudes_after(begin)[: int(2.0 / TICK) + 1]
        _assert_ramp([0.0, *rising], 400.0, 2.0)
    assert all(delivery.completed for delivery in engine.deliveries)


def test_measured_current_ramps_rather_than_steps(stepped_clock, make_engine) -> None:
    engine, _machine, _ = make_engine(engine_clock=stepped_clock)
    engine.prepare(make_protocol(steps=1, current_ua=400, ramp_s=2.0, duration_s=20))
    engine.start()
    stepped_clock.run_until(0.5)
    early = engine.ring.latest(10_000)
    assert abs(early.current_ua).max() < 0.3 * 400 + 5  # a quarter of the way up a 2 s ramp
    stepped_clock.run_until(3.0)
    assert abs(engine.ring.latest(2_000).current_ua).max() == pytest.approx(400, abs=5)


def test_resume_after_pause_ramps_from_zero(stepped_clock, simulator_info) -> None:
    engine, machine, _ = recording_engine(stepped_clock, simulator_info)
    engine.prepare(make_protocol(steps=1, duration_s=30, current_ua=300, ramp_s=1.0))
    engine.start()
    try:
        stepped_clock.run_until(5.0)
        assert engine.state is EngineState.RUNNING
        engine.pause()
        assert machine.output_on is False  # off in the caller's thread, before any tick
        stepped_clock.run_until(8.0)
        assert engine.state is EngineState.PAUSED
        mark = len(machine.calls)
        engine.resume()
        stepped_clock.run_until(10.0)
        assert engine.state is EngineState.RUNNING
        assert machine.names()[mark : mark + 3] == ["set_amplitude", "configure", "start_output"]
        _assert_ramp(machine.amplitudes_after(mark), 300.0, 1.0)
    finally:
        stepped_clock.release()
        engine.close()


def test_intensity_up_is_ramped_and_down_is_immediate(stepped_clock, simulator_info) -> None:
    engine, machine, _ = recording_engine(stepped_clock, simulator_info)
    engine.prepare(make_protocol(steps=1, duration_s=30, current_ua=400, ramp_s=2.0))
    engine.start()
    try:
        stepped_clock.run_until(4.0)
        engine.adjust_intensity(-200)
        stepped_clock.run_until(4.2)
        assert engine.setpoint_ua == 200.0  # down at once
        mark = len(machine.calls)
        engine.adjust_intensity(+150)
        stepped_clock.run_until(6.0)
        ups = machine.amplitudes_after(mark)
        assert ups[-1] == 350.0
        assert (
            max(b - a for a, b in zip([200.0, *ups], ups, strict=False)) <= 400 * TICK / 2.0 + 1e-9
        )
    finally:
        stepped_clock.release()
        engine.close()


# -- rule 3: contact loss pauses at once; only the operator resumes ------------------------------


def test_contact_loss_pauses_at_once_and_waits_for_the_operator(
    stepped_clock, simulator_info
) -> None:
    engine, machine, _log = recording_engine(stepped_clock, simulator_info)
    engine.prepare(make_protocol(steps=2, duration_s=20, frequency_hz=10))
    machine.schedule(SimFault.CONTACT_LOSS, at_s=5.0)
    engine.start()
    try:
        stepped_clock.run_until(5.0 + 2 * TICK)
        assert engine.state is EngineState.PAUSED
        assert machine.output_on is False
        assert safety_kinds(engine) == [SafetyKind.CONTACT_LOST]
        assert "Put both probes back" in engine.safety_events[0].message
        # A minute later, the probe back on the skin: still paused, still off.
        machine.clear(SimFault.CONTACT_LOSS)
        stepped_clock.run_until(65.0)
        assert engine.state is EngineState.PAUSED
        assert machine.output_on is False
        mark = len(machine.calls)
        engine.resume()
        stepped_clock.release()
        assert engine.wait(30)
    finally:
        stepped_clock.release()
        engine.close()
    assert engine.state is EngineState.FINISHED
    assert machine.amplitudes_after(mark)[0] == 0.0
    # Paused time does not count: both steps still got their full time under current.
    assert [d.time_under_current_s for d in engine.deliveries] == pytest.approx(
        [20.0, 20.0], abs=0.2
    )


def test_short_circuit_pauses(clock, make_engine) -> None:
    engine, machine, _ = make_engine()
    engine.prepare(make_protocol(steps=1, duration_s=30))
    machine.schedule(SimFault.SHORT_CIRCUIT, at_s=3.0)
    engine.start()
    wait_for(lambda: engine.state is EngineState.PAUSED)
    assert safety_kinds(engine) == [SafetyKind.SHORT_CIRCUIT]
    assert machine.output_on is False


def test_safety_does_not_wait_for_a_frozen_observer(stepped_clock, simulator_info) -> None:
    engine, machine, _ = recording_engine(stepped_clock, simulator_info)
    frozen = threading.Event()
    engine.subscribe(lambda event: frozen.wait(10))  # a UI that hangs on every event
    engine.prepare(make_protocol(steps=1, duration_s=30))
    machine.schedule(SimFault.CONTACT_LOSS, at_s=4.0)
    engine.start()
    try:
        stepped_clock.run_until(4.0 + 2 * TICK)
        assert machine.output_on is False
        assert engine.state is EngineState.PAUSED
    finally:
        frozen.set()
        stepped_clock.release()
        engine.close()


# -- rule 4: watchdog and driver errors ----------------------------------------------------------


def test_silent_machine_interrupts_the_session_with_output_off(clock, make_engine) -> None:
    engine, machine, _ = make_engine()
    engine.prepare(make_protocol(steps=2, duration_s=20))
    machine.schedule(SimFault.DISCONNECT, at_s=7.0)
    summary = engine.run(timeout=30)
    assert summary.state is EngineState.INTERRUPTED
    assert safety_kinds(engine) == [SafetyKind.WATCHDOG]
    event = engine.safety_events[0]
    assert 7.0 + 0.5 <= event.at_s - summary.started_at_s <= 7.0 + 0.5 + 2 * TICK
    assert summary.steps[0].charge_uc > 0 and not summary.steps[0].completed
    clock.advance(1.0)  # the machine's own firmware watchdog has acted by now
    assert machine.output_on is False


def test_stalled_driver_call_is_caught_by_the_wall_clock_watchdog(clock, make_engine) -> None:
    engine, machine, _ = make_engine(limits=SafetyLimits(call_hang_s=0.2))
    engine.prepare(make_protocol(steps=2, duration_s=20))
    machine.schedule(SimFault.STALL, at_s=5.0)
    started = time.monotonic()
    engine.start()
    assert engine.wait(10)
    assert time.monotonic() - started < 5
    assert engine.state is EngineState.INTERRUPTED
    assert safety_kinds(engine) == [SafetyKind.WATCHDOG]
    assert "hung" in engine.safety_events[0].message
    assert machine.output_on is False


def test_raising_driver_interrupts_the_session_with_output_off(clock, make_engine) -> None:
    engine, machine, _ = make_engine()
    engine.prepare(make_protocol(steps=2, duration_s=20))
    machine.schedule(SimFault.DRIVER_ERROR, at_s=12.0)
    summary = engine.run(timeout=30)
    assert summary.state is EngineState.INTERRUPTED
    assert safety_kinds(engine) == [SafetyKind.DRIVER_ERROR]
    assert "garbage" in engine.safety_events[0].message
    assert machine.output_on is False
    # The dose delivered up to the fault is kept: 12 s of the first 20-second step.
    assert len(summary.steps) == 1 and not summary.steps[0].completed
    assert summary.steps[0].time_under_current_s == pytest.approx(12.0, abs=0.2)


def test_over_current_reading_aborts_with_output_off(clock, make_engine) -> None:
    engine, machine, _ = make_engine()
    engine.prepare(make_protocol(steps=2, duration_s=20))
    machine.schedule(SimFault.OVER_CURRENT, at_s=6.0)
    summary = engine.run(timeout=30)
    assert summary.state is EngineState.ABORTED
    assert safety_kinds(engine) == [SafetyKind.OVER_CURRENT]
    assert machine.output_on is False


# -- rule 5: emergency stop from every state -----------------------------------------------------


def test_emergency_stop_when_idle_is_harmless(clock, make_engine) -> None:
    engine, machine, _ = make_engine()
    engine.emergency_stop()
    assert engine.state is EngineState.IDLE
    assert machine.output_on is False


def test_emergency_stop_when_ready_aborts(clock, make_engine) -> None:
    engine, machine, _ = make_engine()
    engine.prepare(make_protocol())
    engine.emergency_stop()
    assert engine.state is EngineState.ABORTED
    assert safety_kinds(engine) == [SafetyKind.EMERGENCY_STOP]
    assert machine.output_on is False


@pytest.mark.parametrize(
    ("at_s", "state"),
    [(0.5, EngineState.RAMPING), (5.0, EngineState.RUNNING), ("paused", EngineState.PAUSED)],
)
def test_emergency_stop_while_treating(stepped_clock, simulator_info, at_s, state) -> None:
    engine, machine, log = recording_engine(stepped_clock, simulator_info)
    engine.prepare(make_protocol(steps=2, duration_s=20, ramp_s=2.0))
    engine.start()
    try:
        if at_s == "paused":
            stepped_clock.run_until(5.0)
            engine.pause()
            stepped_clock.run_until(6.0)
        else:
            stepped_clock.run_until(at_s)
        assert engine.state is state
        engine.emergency_stop()
        assert machine.output_on is False  # synchronous: off before the call returns
        assert machine.names()[-1] == "stop_output"
        assert engine.wait(5)  # the engine settles the state on its next (woken) tick
    finally:
        stepped_clock.release()
        engine.close()
    assert engine.state is EngineState.ABORTED
    assert safety_kinds(engine)[-1] is SafetyKind.EMERGENCY_STOP
    assert isinstance(log.events[-1], SessionEnded)


def test_emergency_stop_after_the_end_keeps_the_final_state(clock, make_engine) -> None:
    engine, machine, _ = make_engine()
    engine.prepare(make_protocol(steps=1))
    assert engine.run(timeout=30).state is EngineState.FINISHED
    engine.emergency_stop()
    assert engine.state is EngineState.FINISHED
    assert machine.output_on is False


def test_operator_stop_aborts_and_keeps_the_delivered_dose(stepped_clock, simulator_info) -> None:
    engine, machine, _ = recording_engine(stepped_clock, simulator_info)
    engine.prepare(make_protocol(steps=3, duration_s=20))
    engine.start()
    try:
        stepped_clock.run_until(30.0)
        engine.stop()
        assert machine.output_on is False
        assert engine.wait(5)
    finally:
        stepped_clock.release()
        engine.close()
    summary = engine.summary()
    assert summary.state is EngineState.ABORTED
    assert [d.completed for d in summary.steps] == [True, False]
    assert summary.steps[1].time_under_current_s == pytest.approx(10.0, abs=0.2)


# -- events and observers ------------------------------------------------------------------------


def test_events_arrive_in_order_and_plugins_are_notified(clock, simulator_info) -> None:
    hooks: list[str] = []
    machine = SimulatedMachine(clock)
    engine = TreatmentEngine(
        machine, simulator_info, clock, notify_hook=lambda name, **kw: hooks.append(name)
    )
    log = EventLog()
    engine.subscribe(log)
    engine.prepare(make_protocol(steps=3))
    machine.schedule(SimFault.CONTACT_LOSS, at_s=25.0, duration_s=1.0)
    engine.start()
    wait_for(lambda: engine.state is EngineState.PAUSED)
    wait_for(lambda: clock.now() > 27.0)  # the probe is back on the skin (paused time runs on)
    engine.resume()
    assert engine.wait(30)
    assert isinstance(log.events[0], StateChanged)  # READY, from prepare()
    assert isinstance(log.events[1], SessionStarted)
    assert [e.index for e in log.of(StepStarted)] == [0, 1, 2]
    assert len(log.of(SafetyEventRaised)) == 1
    assert isinstance(log.events[-1], SessionEnded)
    assert hooks[0] == "session_started" and hooks[-1] == "session_ended"
    assert hooks.count("step_started") == 3 and hooks.count("safety_event") == 1


def test_non_alternating_polarity_posts_no_reversal_markers(clock, make_engine) -> None:
    from console.engine.events import PolarityReversed

    engine, _, log = make_engine()
    engine.prepare(make_protocol(steps=1, duration_s=20, polarity=Polarity.POSITIVE))
    engine.run(timeout=30)
    assert log.of(PolarityReversed) == []
    engine2, _, log2 = make_engine()
    engine2.prepare(make_protocol(steps=1, duration_s=20, polarity=Polarity.ALTERNATING))
    engine2.run(timeout=30)
    assert len(log2.of(PolarityReversed)) == 9  # every 2 s, none at the step's end (20 s)


def test_start_before_prepare_is_refused(clock, make_engine) -> None:
    from console.engine.runner import EngineError

    engine, _, _ = make_engine()
    with pytest.raises(EngineError, match="needs a ready engine"):
        engine.start()


def test_step_with_unknown_zone_is_refused(clock, make_engine) -> None:
    engine, _machine, _ = make_engine()
    good = make_protocol(steps=1)
    bad = replace(good, steps=(Step("elbow", good.steps[0].waveform, 20.0, "Hold."),))
    with pytest.raises(PreflightError, match="unknown zone 'elbow'"):
        engine.prepare(bad)


def test_reversal_markers_follow_the_machine_after_a_resume(stepped_clock, make_engine) -> None:
    """The machine starts its polarity cycle anew when the engine configures it on resume: the
    markers count from there, so each one sits where the measured current changes sign."""
    import numpy as np

    from console.engine.events import PolarityReversed

    engine, _, log = make_engine(engine_clock=stepped_clock)
    engine.prepare(
        make_protocol(
            steps=1, duration_s=32, polarity=Polarity.ALTERNATING, reversal_interval_s=2.0
        )
    )
    engine.start()
    stepped_clock.run_until(5.3)
    engine.pause()
    stepped_clock.run_until(7.0)
    engine.resume()
    stepped_clock.run_until(7.05)
    resumed_at = stepped_clock.now()
    stepped_clock.run_until(14.0)
    engine.emergency_stop()
    stepped_clock.release()
    assert engine.wait(5)  # every event delivered (the dispatcher thread posts them)
    log_events = log.of(PolarityReversed)
    after = [e.at_s for e in log_events if e.at_s > resumed_at]
    # Every 2 s from the resume, within one engine tick.
    assert len(after) == 3
    for k, at in enumerate(after, start=1):
        assert resumed_at - 0.06 <= at - 2.0 * k <= resumed_at + 0.06
    block = engine.ring.latest(len(engine.ring))
    on = np.abs(block.current_ua) > 50.0  # inside a pulse
    for start, end in itertools.pairwise(after):
        inside = on & (block.t > start + 0.1) & (block.t < end - 0.1)
        signs = np.sign(block.current_ua[inside])
        assert len(signs) > 0 and np.all(signs == signs[0])
    engine.wait(5)
