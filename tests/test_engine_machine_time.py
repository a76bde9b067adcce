"""Samples are judged against the setting the machine had when it measured them.

A machine takes a new setting some time after the engine decided it: the call travels, the
machine acknowledges. On a fast clock (×1000) or a busy computer that time is long in clock
seconds, and samples measured in between still show the old setting. Judging them against the
new, lower setting raised false over-current trips at every step change; a machine that really
delivers too much must still trip.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from console.engine.clock import VirtualClock
from console.engine.events import EngineState, EventLog, SafetyKind
from console.engine.runner import TreatmentEngine
from console.waveforms import Waveform
from device_drivers.simulator import SimFault, SimulatedMachine
from support import make_protocol


class LateMachine(SimulatedMachine):
    """The simulated machine, reached ``lag_s`` of clock time after every host call starts: the
    clock moves while the call travels, as it does at ×1000 or when the computer is busy. Each
    call returns once the machine has taken it (the driver contract).

    ``script``: ``(clock time, action)`` pairs run when reading samples past that time, so an
    operator's commands arrive at exact moments of the session.
    """

    def __init__(self, clock: VirtualClock, lag_s: float, **kwargs: object) -> None:
        super().__init__(clock, **kwargs)  # type: ignore[arg-type]
        self.lag_s = lag_s
        self.script: list[tuple[float, Callable[[], None]]] = []

    def _travel(self) -> None:
        self.clock.advance(self.lag_s)  # type: ignore[attr-defined]

    def configure(self, waveform: Waveform) -> None:
        self._travel()
        super().configure(waveform)

    def set_amplitude(self, current_ua: float) -> None:
        self._travel()
        super().set_amplitude(current_ua)

    def start_output(self) -> None:
        self._travel()
        super().start_output()

    def read_samples(self):  # type: ignore[no-untyped-def]
        self._travel()
        while self.script and self.script[0][0] <= self.clock.now():
            self.script.pop(0)[1]()
        return super().read_samples()


def _session(simulator_info, lag_s: float) -> tuple[TreatmentEngine, LateMachine, EventLog]:
    clock = VirtualClock()
    machine = LateMachine(clock, lag_s, seed=3)
    engine = TreatmentEngine(machine, simulator_info, clock)
    log = EventLog()
    engine.subscribe(log)
    engine.prepare(make_protocol(current_ua=300.0, duration_s=20.0))
    return engine, machine, log


def _kinds(engine: TreatmentEngine) -> list[SafetyKind]:
    return [event.kind for event in engine.safety_events]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("lag_s", [0.02, 0.1, 0.3])
def test_late_settings_raise_no_false_over_current(simulator_info, lag_s: float) -> None:
    """Step changes, an intensity change down and up, and a pause with its resume, on a machine
    that takes every setting late."""
    engine, machine, _log = _session(simulator_info, lag_s)
    engine.set_pause_policy(resume_after_s=2.0, max_pause_s=60.0)
    machine.script = [
        (6.0, lambda: engine.adjust_intensity(-150.0)),
        (9.0, lambda: engine.adjust_intensity(100.0)),
        (13.0, engine.pause),
        (31.0, lambda: engine.adjust_intensity(-200.0)),
    ]
    try:
        summary = engine.run(timeout=30)
    finally:
        engine.close()
    assert SafetyKind.OVER_CURRENT not in _kinds(engine), engine.end_reason
    assert summary.state is EngineState.FINISHED, summary.reason
    assert machine.script == []  # every command was given during the session
    assert len(summary.steps) == 3 and all(step.completed for step in summary.steps)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("lag_s", [0.02, 0.3])
def test_a_late_machine_that_really_over_delivers_still_trips(simulator_info, lag_s) -> None:
    engine, machine, _log = _session(simulator_info, lag_s)
    machine.schedule(SimFault.OVER_CURRENT, at_s=25.0)
    try:
        summary = engine.run(timeout=30)
    finally:
        engine.close()
    assert summary.state is EngineState.ABORTED
    assert _kinds(engine) == [SafetyKind.OVER_CURRENT]
    tripped_at = engine.safety_events[0].at_s
    # The tick that judged the samples began up to one late read before the fault's time.
    assert 25.0 - lag_s - 0.1 <= tripped_at <= 25.0 + 4 * lag_s + 0.2
    assert machine.output_on is False
