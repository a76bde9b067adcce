"""At ``--speed max`` the engine waits longer at once while a step holds steady (issue 12).

It must be the same treatment as at any pace: the same steps ending at the same clock times, the
same charge, and every safety event at the same clock time, whatever the machine schedules.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from console.drivers import DriverInfo
from console.engine.clock import VirtualClock
from console.engine.events import (
    EngineState,
    EventLog,
    PolarityReversed,
    SafetyKind,
    StepEnded,
)
from console.engine.runner import STEADY_STRIDE_S, TreatmentEngine
from console.plugins import load_plugins
from console.protocols import Protocol
from device_drivers.simulator import SimFault, SimulatedMachine
from support import make_protocol


class TickByTickClock(VirtualClock):
    """Virtual time like ``--speed max``, but the engine keeps its normal tick (as when paced)."""

    free_running = False


class CountingMachine(SimulatedMachine):
    """Counts how often the engine read its samples (one read per engine tick)."""

    reads = 0

    def read_samples(self):  # type: ignore[no-untyped-def]
        self.reads += 1
        return super().read_samples()


@dataclass
class Outcome:
    """What a run delivered and decided, on the clock."""

    state: EngineState
    charges_uc: list[float]
    step_ends_s: list[float]
    safety_kinds: list[SafetyKind]
    safety_times_s: list[float]
    reversals: int
    reads: int


def run_on(
    clock: VirtualClock,
    info: DriverInfo,
    protocol: Protocol,
    faults: tuple[tuple[SimFault, float, float | None], ...] = (),
    resume_after_s: float | None = None,
    max_pause_s: float = 10.0,
) -> Outcome:
    machine = CountingMachine(clock, seed=3)
    engine = TreatmentEngine(machine, info, clock)
    log = EventLog()
    engine.subscribe(log)
    try:
        engine.prepare(protocol)
        engine.set_pause_policy(resume_after_s, max_pause_s)
        for fault, at_s, duration_s in faults:
            machine.schedule(fault, at_s, duration_s)
        summary = engine.run(timeout=60)
    finally:
        engine.close()
    return Outcome(
        state=summary.state,
        charges_uc=[delivery.charge_uc for delivery in engine.deliveries],
        step_ends_s=[event.at_s for event in log.of(StepEnded)],
        safety_kinds=[event.kind for event in engine.safety_events],
        safety_times_s=[event.at_s for event in engine.safety_events],
        reversals=len(log.of(PolarityReversed)),
        reads=machine.reads,
    )


def both_ways(*args: object, **kwargs: object) -> tuple[Outcome, Outcome]:
    """The same run tick by tick and free-running."""
    return run_on(TickByTickClock(), *args, **kwargs), run_on(VirtualClock(), *args, **kwargs)  # type: ignore[arg-type]


def test_a_whole_lifting_protocol_is_the_same_treatment_in_far_fewer_ticks(
    simulator_info: DriverInfo,
) -> None:
    lifting = load_plugins().protocols["lifting"]
    paced, free = both_ways(simulator_info, lifting)
    assert paced.state is free.state is EngineState.FINISHED
    assert free.step_ends_s == pytest.approx(paced.step_ends_s, abs=1e-6)
    assert free.charges_uc == pytest.approx(paced.charges_uc, rel=1e-4)
    assert sum(free.charges_uc) == pytest.approx(sum(paced.charges_uc), rel=1e-5)
    assert free.reversals == paced.reversals > 0
    # The steady part of every step goes in strides: over ten times fewer ticks.
    assert free.reads * 10 < paced.reads
    # Each step ends at its planned time: no step runs a tick long.
    planned = [step.duration_s for step in lifting.steps]
    durations = [
        b - a for a, b in zip([0.0, *free.step_ends_s[:-1]], free.step_ends_s, strict=True)
    ]
    assert durations == pytest.approx(planned, abs=1e-6)


@pytest.mark.parametrize(
    ("fault", "duration_s", "kind"),
    [
        (SimFault.CONTACT_LOSS, None, SafetyKind.CONTACT_LOST),
        (SimFault.SHORT_CIRCUIT, None, SafetyKind.SHORT_CIRCUIT),
        (SimFault.OVER_CURRENT, None, SafetyKind.OVER_CURRENT),
        (SimFault.DISCONNECT, None, SafetyKind.WATCHDOG),
        (SimFault.DRIVER_ERROR, None, SafetyKind.DRIVER_ERROR),
    ],
)
def test_a_scheduled_fault_is_caught_at_the_same_clock_time(
    simulator_info: DriverInfo, fault: SimFault, duration_s: float | None, kind: SafetyKind
) -> None:
    protocol = make_protocol(steps=2, duration_s=30.0)
    # 13.37 s: inside a stride of steady output, not on a tick of either run.
    paced, free = both_ways(
        simulator_info, protocol, faults=((fault, 13.37, duration_s),), max_pause_s=2.0
    )
    assert free.safety_kinds[0] is kind
    assert free.reads * 2 < paced.reads  # strides were taken up to the fault
    assert free.safety_kinds == paced.safety_kinds
    assert free.safety_times_s == pytest.approx(paced.safety_times_s, abs=1e-6)
    assert free.charges_uc == pytest.approx(paced.charges_uc, rel=1e-3)


def test_a_contact_loss_and_its_end_are_followed_tick_by_tick(simulator_info: DriverInfo) -> None:
    protocol = make_protocol(steps=3, duration_s=40.0)
    faults = ((SimFault.CONTACT_LOSS, 25.0, 3.0), (SimFault.GEL_DRY, 70.0, None))
    paced, free = both_ways(simulator_info, protocol, faults=faults, resume_after_s=5.0)
    assert paced.state is free.state is EngineState.FINISHED
    assert free.safety_kinds == paced.safety_kinds == [SafetyKind.CONTACT_LOST]
    assert free.safety_times_s == pytest.approx(paced.safety_times_s, abs=1e-6)
    assert free.step_ends_s == pytest.approx(paced.step_ends_s, abs=1e-6)
    assert free.charges_uc == pytest.approx(paced.charges_uc, rel=1e-3)


def test_no_stride_is_longer_than_its_limit_or_crosses_a_reversal(
    simulator_info: DriverInfo,
) -> None:
    """Every reversal marker falls on the clock time of the reversal, as tick by tick."""
    clock = VirtualClock()
    waits: list[float] = []
    original = clock.wait_until

    def recording_wait(t: float, wake=None) -> None:  # type: ignore[no-untyped-def]
        waits.append(t - clock.now())
        original(t, wake)

    clock.wait_until = recording_wait  # type: ignore[method-assign]
    protocol = make_protocol(steps=1, duration_s=20.0)
    machine = SimulatedMachine(clock, seed=1)
    engine = TreatmentEngine(machine, simulator_info, clock)
    log = EventLog()
    engine.subscribe(log)
    engine.prepare(protocol)
    assert engine.run(timeout=30).state is EngineState.FINISHED
    engine.close()
    assert max(waits) == pytest.approx(STEADY_STRIDE_S)
    reversal_interval = protocol.steps[0].waveform.reversal_interval_s
    times = [event.at_s for event in log.of(PolarityReversed)]
    # Every 2 s, but none at the step's very end (20 s): the output stops there.
    assert len(times) == 9
    assert times == pytest.approx(
        [reversal_interval * (n + 1) for n in range(len(times))], abs=1e-6
    )
