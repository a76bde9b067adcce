"""What the engine measures: per-step dose from the samples, against the physics of the waveform."""

from __future__ import annotations

import pytest

from console.engine.events import EngineState, Progress, StepEnded
from console.waveforms import Polarity, WaveShape
from support import make_protocol


@pytest.mark.parametrize("shape", list(WaveShape))
@pytest.mark.parametrize("frequency_hz", [0.5, 10.0, 160.0])
def test_charge_per_step_matches_current_times_time(make_engine, shape, frequency_hz) -> None:
    """Charge = peak current x the shape's mean |i| factor x time (the ramp at half), within 2 %."""
    engine, _, _ = make_engine()
    protocol = make_protocol(
        steps=2,
        duration_s=60.0,
        current_ua=400.0,
        shape=shape,
        frequency_hz=frequency_hz,
        ramp_s=2.0,
        reversal_interval_s=2.0,  # whole periods at 0.5 and 10 Hz; 60 s is 15 polarity cycles
    )
    engine.prepare(protocol)
    summary = engine.run(timeout=60)
    assert summary.state is EngineState.FINISHED
    for delivery, step in zip(summary.steps, protocol.steps, strict=True):
        assert delivery.completed
        assert delivery.time_under_current_s == pytest.approx(step.duration_s, abs=0.1)
        assert delivery.charge_uc == pytest.approx(step.planned_charge_uc, rel=0.02)
        expected_mean = 400.0 * shape.mean_abs_factor
        assert delivery.mean_current_ua == pytest.approx(expected_mean, rel=0.03)


def test_charge_is_lower_when_the_source_hits_its_rail(make_engine) -> None:
    """600 µA into tens of kΩ of gelled skin needs more than the 15 V compliance: the measured
    dose is what 15 V pushes through the measured load, under the plan."""
    engine, _, _ = make_engine()
    protocol = make_protocol(steps=1, duration_s=60.0, current_ua=600.0, frequency_hz=10.0)
    engine.prepare(protocol)
    summary = engine.run(timeout=60)
    delivery = summary.steps[0]
    assert summary.state is EngineState.FINISHED
    impedance_kohm = delivery.mean_impedance_kohm
    assert impedance_kohm is not None and 20.0 < impedance_kohm < 60.0
    assert delivery.charge_uc < 0.92 * protocol.steps[0].planned_charge_uc
    # A 50 % square at the rail: half of 15 V / load.
    assert delivery.mean_current_ua == pytest.approx(0.5 * 15.0 / impedance_kohm * 1e3, rel=0.05)


def test_impedance_falls_as_the_gel_soaks_in_then_rises_as_it_dries(make_engine) -> None:
    """Two-minute steps over 20 minutes: tens of kΩ throughout, lowest after a few minutes."""
    engine, _, _ = make_engine()
    protocol = make_protocol(steps=10, duration_s=120.0, current_ua=300.0, frequency_hz=2.0)
    engine.prepare(protocol)
    summary = engine.run(timeout=60)
    impedances = [d.mean_impedance_kohm for d in summary.steps]
    assert all(imp is not None and 20.0 < imp < 50.0 for imp in impedances)
    lowest = impedances.index(min(impedances))
    assert 1 <= lowest <= 6
    assert impedances[:lowest] == sorted(impedances[:lowest], reverse=True)  # soaking in
    assert impedances[lowest:] == sorted(impedances[lowest:])  # each later step drier


def test_step_ended_events_carry_the_delivery(make_engine) -> None:
    engine, _, log = make_engine()
    engine.prepare(make_protocol(steps=3))
    summary = engine.run(timeout=30)
    ended = [event.delivery for event in log.of(StepEnded)]
    assert ended == list(summary.steps)
    progress = log.of(Progress)
    assert progress, "progress events are posted while treating"
    assert progress[-1].session_remaining_s < progress[0].session_remaining_s
    assert all(p.setpoint_ua <= p.target_ua + 1e-9 for p in progress)


def test_ring_buffer_stays_bounded_over_a_long_session(make_engine) -> None:
    engine, _, _ = make_engine()
    engine.prepare(
        make_protocol(
            steps=10, duration_s=120.0, shape=WaveShape.BIPHASIC, polarity=Polarity.POSITIVE
        )
    )
    capacity = engine.ring.capacity
    data_bytes = engine.ring._data.nbytes
    engine.run(timeout=60)
    assert engine.ring.total_written > 10 * capacity
    assert engine.ring.capacity == capacity and engine.ring._data.nbytes == data_bytes
    latest = engine.ring.latest(capacity)
    assert len(latest) == capacity
    assert (latest.t[1:] > latest.t[:-1]).all()
