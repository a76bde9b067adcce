"""Contact judged on realistic skin, the gel prompt, re-applying gel, and the client's limit.

Gel-coated skin under two probes is tens of kΩ at the frequencies a microcurrent machine uses
(tests/test_skin_model.py). The contact window tops out at 60 kΩ, so ordinary treatments run at
40–80 % of it: nothing there may be taken for a lifted probe, while a real lift is still caught
at once.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from console import cli
from console.drivers import SampleBlock
from console.engine.clock import SteppedClock, VirtualClock
from console.engine.events import EngineState, SafetyKind
from console.engine.measure import BlockStats
from console.engine.runner import TreatmentEngine
from console.faults import FaultSpec
from console.plugins import load_plugins
from console.session import Console
from device_drivers.simulator import SimulatedMachine
from device_drivers.skin import SkinParameters, SkinType
from support import make_protocol

CONTACT_ALARMS = {SafetyKind.CONTACT_LOST, SafetyKind.SHORT_CIRCUIT, SafetyKind.CONTACT_HIGH}


@pytest.fixture(scope="module")
def host():
    return load_plugins()


def run_protocol(host, protocol_id: str, skin: SkinParameters, seed: int = 11):
    clock = VirtualClock()
    machine = SimulatedMachine(clock, seed=seed, skin=skin)
    engine = TreatmentEngine(machine, host.drivers["simulator"], clock)
    try:
        engine.prepare(host.protocols[protocol_id])
        return engine.run(timeout=120)
    finally:
        engine.close()


@pytest.mark.parametrize("skin_type", list(SkinType))
@pytest.mark.parametrize("protocol_id", ["lifting", "toning", "circulation"])
def test_every_protocol_runs_to_the_end_on_every_skin_without_a_contact_alarm(
    host, protocol_id: str, skin_type: SkinType
) -> None:
    summary = run_protocol(host, protocol_id, SkinParameters(skin_type=skin_type))
    assert summary.state is EngineState.FINISHED, summary.reason
    assert not [e for e in summary.events if e.kind in CONTACT_ALARMS], summary.events
    loads = [step.mean_impedance_kohm for step in summary.steps]
    assert all(load is not None and 10.0 < load < 50.0 for load in loads), loads


def test_discharge_tails_are_not_taken_for_a_lifted_probe(host) -> None:
    """A skin with a slow stratum corneum (a 20 ms time constant) at 45 kΩ: after every falling
    edge the voltage decays with no current. Judged as if driven, the tails read as hundreds of
    kΩ; a current source's evidence is current flowing, or its voltage at the rail."""
    skin = SkinParameters(
        stratum_corneum_ohm_cm2=45_000.0,
        stratum_corneum_f_per_cm2=0.45e-6,
        fresh_gel_factor=1.0,
        drying_per_minute=0.0,
    )
    clock = VirtualClock()
    machine = SimulatedMachine(clock, seed=3, skin=skin)
    engine = TreatmentEngine(machine, host.drivers["simulator"], clock)
    try:
        engine.prepare(make_protocol(steps=3, duration_s=30.0, current_ua=200.0, frequency_hz=20.0))
        summary = engine.run(timeout=60)
    finally:
        engine.close()
    assert summary.state is EngineState.FINISHED
    assert not [e for e in summary.events if e.kind in CONTACT_ALARMS]


def test_a_tail_block_carries_no_contact_evidence_but_a_rail_block_does() -> None:
    t = np.arange(20) / 2_000.0
    tail = SampleBlock(t, np.zeros(20), 9.0 * np.exp(-t / 0.01))
    assert BlockStats.of(tail, rail_v=14.55).driving_n == 0
    lifted = SampleBlock(t, np.zeros(20), np.full(20, 15.0))
    stats = BlockStats.of(lifted, rail_v=14.55)
    assert stats.driving_n == 20 and stats.impedance_ohm == float("inf")


@pytest.mark.parametrize("skin_type", [SkinType.OILY, SkinType.DRY])
def test_a_lifted_probe_is_still_caught_within_the_contact_window(
    make_engine, skin_type: SkinType
) -> None:
    engine, machine, _ = make_engine(skin=SkinParameters(skin_type=skin_type))
    engine.prepare(make_protocol(steps=1, duration_s=30.0, current_ua=200.0))
    lift_at = engine.clock.now() + 12.0
    machine.schedule_fault("contact_loss", at_s=lift_at)
    engine.set_pause_policy(None, 5.0)
    summary = engine.run(timeout=30)
    lost = [e for e in summary.events if e.kind is SafetyKind.CONTACT_LOST]
    assert lost and lost[0].at_s - lift_at <= 0.06  # the first engine tick after the lift


def drying_gel_session(protocol_s: float, regel: bool, resume_after_s: float | None):
    """A session of ``protocol_s`` on the simulated machine whose gel dries fast from 5 s; with
    ``regel`` the operator re-applies gel at the first prompt. Returns the summary."""
    console = Console(load_plugins())
    console.connect("simulator", speed=0)  # a virtual clock, as fast as the computer can
    protocol = make_protocol(steps=2, duration_s=protocol_s / 2, current_ua=200.0)
    try:
        engine = console.new_session(protocol, None)
        prompted = []

        def on_event(event) -> None:
            safety = getattr(event, "event", None)
            high = safety is not None and safety.kind is SafetyKind.CONTACT_HIGH
            if regel and high and not prompted:
                prompted.append(safety)
                console.reapply_gel(engine)

        engine.subscribe(on_event)
        engine.set_pause_policy(resume_after_s, 60.0)
        console.start_session(engine, faults=[FaultSpec("gel_dry", 5.0)])
        assert engine.wait(60)
        return engine.summary()
    finally:
        console.disconnect()


def test_drying_gel_prompts_before_contact_is_lost_and_fresh_gel_saves_the_session() -> None:
    summary = drying_gel_session(600.0, regel=True, resume_after_s=10.0)  # hands back in 10 s
    kinds = [e.kind for e in summary.events]
    assert SafetyKind.CONTACT_LOST not in kinds
    assert kinds[:2] == [SafetyKind.CONTACT_HIGH, SafetyKind.GEL_REAPPLIED]
    high = summary.events[0]
    assert "Contact is getting poor" in high.message and "Re-apply gel" in high.message
    assert high.action == "warning, output continues"
    gel = summary.events[1]
    assert gel.action == "output off, paused" and "ramps up from zero" in gel.message
    assert summary.state is EngineState.FINISHED
    assert all(step.completed for step in summary.steps)


def test_left_alone_drying_gel_loses_the_contact_after_the_prompt() -> None:
    summary = drying_gel_session(900.0, regel=False, resume_after_s=None)
    kinds = [e.kind for e in summary.events]
    assert kinds[:2] == [SafetyKind.CONTACT_HIGH, SafetyKind.CONTACT_LOST]
    assert summary.events[1].at_s - summary.events[0].at_s > 30.0  # time enough to re-gel


def test_gel_while_paused_is_only_recorded(make_engine) -> None:
    engine, machine, _ = make_engine()
    engine.prepare(make_protocol(steps=1, duration_s=20.0))
    machine.schedule_fault("contact_loss", at_s=engine.clock.now() + 5.0, duration_s=2.0)
    engine.set_pause_policy(4.0, 30.0)
    gelled = []

    def regel_on_loss(event) -> None:
        safety = getattr(event, "event", None)
        if safety is not None and safety.kind is SafetyKind.CONTACT_LOST and not gelled:
            gelled.append(safety)
            engine.reapply_gel()

    engine.subscribe(regel_on_loss)
    summary = engine.run(timeout=30)
    recorded = [e for e in summary.events if e.kind is SafetyKind.GEL_REAPPLIED]
    assert len(recorded) == 1 and recorded[0].action == "recorded"
    assert summary.state is EngineState.FINISHED


def test_lowering_the_intensity_is_a_limit_for_later_zones_not_an_offset(make_engine) -> None:
    """Lowered from 350 to 300 µA on the first step: a later 400 µA step runs at 300, a later
    200 µA step keeps its 200."""
    base = make_protocol(steps=1, duration_s=20.0)
    step = base.steps[0]
    steps = tuple(
        replace(step, zone=zone, waveform=replace(step.waveform, current_ua=current))
        for zone, current in (
            ("cheek_left", 350.0),
            ("cheek_right", 400.0),
            ("cheek_left", 200.0),
        )
    )
    protocol = replace(base, steps=steps)
    engine, _, _ = make_engine()
    engine.prepare(protocol)
    lowered = []

    def lower_once(event) -> None:
        if (
            getattr(event, "step_index", None) == 0
            and getattr(event, "setpoint_ua", 0) >= 350
            and not lowered
        ):
            lowered.append(event)
            engine.adjust_intensity(-50.0)

    engine.subscribe(lower_once)
    summary = engine.run(timeout=30)
    assert lowered and summary.state is EngineState.FINISHED
    peaks = [2 * step.mean_current_ua for step in summary.steps]  # 50 % square: mean = peak / 2
    assert peaks[1] == pytest.approx(300.0, rel=0.03)
    assert peaks[2] == pytest.approx(200.0, rel=0.03)


# -- scenarios: each checks the trainee's action, and fails without it -------------------------


@pytest.mark.parametrize(
    ("scenario", "action", "without"),
    [
        (
            "drying-gel",
            "reapply_gel",
            "the trainee did not re-apply gel when the contact gets poor",
        ),
        ("sensitive-client", "lower_intensity", "the trainee did not lower the intensity"),
        (
            "disconnect",
            "secure_machine",
            "the trainee did not lift the probes and switch the machine off",
        ),
        ("probe-lift", "resume", "the trainee did not put the probes back and resume"),
        ("drying-gel", "resume", "the trainee did not put the probes back and resume"),
    ],
)
def test_a_scenario_passes_with_the_trainees_action_and_fails_without_it(
    capsys: pytest.CaptureFixture[str], scenario: str, action: str, without: str
) -> None:
    assert cli.main(["run", "--scenario", scenario, "--speed", "max"]) == 0
    done = capsys.readouterr().out
    assert "The trainee must: " in done
    assert "What the trainee did:" in done
    assert "Scenario played as designed" in done
    assert cli.main(["run", "--scenario", scenario, "--speed", "max", "--leave-out", action]) == 1
    forgot = capsys.readouterr().out
    assert "The scripted trainee forgets to" in forgot
    assert "Scenario did NOT play as designed" in forgot and without in forgot


def test_the_disconnect_scenarios_operator_secures_the_simulated_machine(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["run", "--scenario", "disconnect", "--speed", "max"]) == 0
    out = capsys.readouterr().out
    assert "OPERATOR: lifts both probes off the skin and switches the machine off." in out
    assert "lift the probes and switch the machine off when it stops answering" in out


def test_reapply_gel_on_a_plain_run(capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(
        ["run", "--protocol", "toning", "--speed", "max", "--inject", "gel_dry@60", "--reapply-gel"]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "SAFETY contact_high" in out and "SAFETY gel_reapplied" in out
    assert "contact_lost" not in out


def test_leave_out_needs_a_scenario_that_expects_the_action(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["run", "--protocol", "toning", "--leave-out", "resume"]) == 2
    assert "--leave-out is for a training scenario" in capsys.readouterr().err
    assert cli.main(["run", "--scenario", "calm-session", "--leave-out", "resume"]) == 2
    assert "the scenario does not expect it" in capsys.readouterr().err
    assert cli.main(["run", "--scenario", "drying-gel", "--leave-out", "dance"]) == 2
    assert "'dance' is not an action" in capsys.readouterr().err


def test_a_raise_lifts_the_clients_limit_and_never_lowers_it(make_engine) -> None:
    """Limit 300 µA set on a 350 µA step; + pressed on a later 200 µA step lifts the limit to
    310, so a 400 µA step after it runs at 310, not 210."""
    base = make_protocol(steps=1, duration_s=20.0)
    step = base.steps[0]
    steps = tuple(
        replace(step, zone=zone, waveform=replace(step.waveform, current_ua=current))
        for zone, current in (("cheek_left", 350.0), ("cheek_right", 200.0), ("cheek_left", 400.0))
    )
    # Held time: the presses land early in their steps however busy the computer is (pressed
    # from the event thread, a late one once landed in the next step).
    clock = SteppedClock()
    engine, _, _ = make_engine(engine_clock=clock)
    engine.prepare(replace(base, steps=steps))
    engine.start()
    clock.run_until(0.5)
    engine.adjust_intensity(-50.0)  # on the 350 µA step: the client's limit becomes 300
    clock.run_until(20.5)
    engine.adjust_intensity(+10.0)  # on the 200 µA step: lifts the limit to 310
    clock.release()
    assert engine.wait(30)
    summary = engine.summary()
    peaks = [2 * s.mean_current_ua for s in summary.steps]
    assert peaks[1] == pytest.approx(200.0, rel=0.03)
    assert peaks[2] == pytest.approx(310.0, rel=0.03)
