"""Output safety (docs/safety.md, rules 4 and 8–10): charge balance measured and enforced, the
zones' own limits, and supervision that says only what the console can know.

Each hazard a clinical engineer found is tried here the way a clinic would meet it: as a pack
file, as a protocol plugin that builds its ``Protocol`` by hand, in the editor, and at the
machine (a simulated fault the engine must catch while the output is on).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from console.drivers import DriverInfo
from console.engine.clock import VirtualClock
from console.engine.events import EngineState, EventLog, SafetyKind, SessionSummary
from console.engine.measure import BlockStats
from console.engine.runner import CANNOT_CONFIRM_OFF, TreatmentEngine
from console.engine.safety import PreflightError, SafetyLimits, over_current
from console.packs import PackError, load_packs, parse_pack
from console.problems import ProblemKind
from console.protocol_draft import Column, Draft, StepRow, check
from console.protocols import Protocol, RecommendedSeries, Step, validate_protocol
from console.waveforms import Polarity, Waveform, WaveShape
from console.zones import zone_catalog
from device_drivers import simulator
from device_drivers.simulator import SimFault, SimulatedMachine
from device_drivers.skin import SkinParameters, SkinType
from plugins.circulation import circulation_protocol
from plugins.lifting import lifting_protocol
from plugins.toning import toning_protocol
from support import make_protocol


def shipped_protocols() -> list[Protocol]:
    packs, errors = load_packs()
    assert errors == []
    return [lifting_protocol(), toning_protocol(), circulation_protocol(), *packs]


# -- rule 9: every shipped protocol balances, measured ---------------------------------------


@pytest.mark.parametrize("protocol", shipped_protocols(), ids=lambda p: p.id)
def test_every_shipped_protocol_leaves_at_most_1_percent_one_way_in_each_step(
    make_engine, protocol: Protocol
) -> None:
    """Measured through the engine and the simulated machine, not computed from the settings."""
    engine, _, _ = make_engine()
    engine.prepare(protocol)
    summary = engine.run(timeout=120)
    assert summary.state is EngineState.FINISHED
    assert [event.kind for event in summary.events] == []
    for delivery in summary.steps:
        assert delivery.charge_uc > 0
        assert abs(delivery.net_charge_uc) <= 0.01 * delivery.charge_uc, delivery
    assert abs(summary.total_net_charge_uc) <= 0.01 * summary.total_charge_uc
    zones = summary.zone_charges()
    assert list(zones) == protocol.zones
    assert sum(net for _, net in zones.values()) == pytest.approx(summary.total_net_charge_uc)


def test_the_old_lifting_settings_left_a_third_of_the_charge_one_way(make_engine) -> None:
    """Reversing 0.5 Hz pulses every 3 s (1.5 periods a phase) is refused now; measured the way
    it used to run, two pulses one way and one the other leave a third of the charge as DC."""
    old = Waveform(WaveShape.SQUARE, 0.5, 300.0, Polarity.ALTERNATING, 3.0, 2.0)
    (problem,) = old.problems()
    assert problem.kind is ProblemKind.CHARGE_BALANCE
    assert "1.5 periods of 0.5 Hz" in problem
    clock = VirtualClock()
    machine = SimulatedMachine(clock, seed=3)
    machine.open()
    machine.configure(old)
    machine.set_amplitude(300.0)
    machine.start_output()
    clock.advance(120.0)
    block = machine.read_samples()
    net = float(block.current_ua.sum()) / machine.sample_rate_hz
    total = float(abs(block.current_ua).sum()) / machine.sample_rate_hz
    assert net / total == pytest.approx(1 / 3, abs=0.01)


# -- rules 8 and 9 before output: the hazards, as a trainer's pack ----------------------------


def pack_text(*steps: str) -> str:
    header = (
        'id = "hazard"\nname = "Hazard"\ncategory = "lifting"\ndescription = "x"\n\n'
        "[series]\nsessions_per_week = 1\nsessions = 6\nmaintenance_every_weeks = [3, 4]\n"
    )
    return header + "".join(steps)


def pack_step(zone: str, duration_s: int, current_ua: int, polarity: str, ramp_s: float) -> str:
    return (
        f'\n[[steps]]\nzone = "{zone}"\nduration_s = {duration_s}\ntechnique = "Hold."\n'
        f'shape = "square"\nfrequency_hz = 0.5\ncurrent_ua = {current_ua}\n'
        f'polarity = "{polarity}"\nreversal_interval_s = 2\nramp_s = {ramp_s}\n'
    )


def pack_issues(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(PackError) as caught:
        parse_pack(text, "hazard.toml")
    return [(issue.line, issue.kind, issue.reason) for issue in caught.value.issues]


def assert_net_charge_refused(reasons: list[str], begins: str, limit_uc: int) -> None:
    """One of ``reasons`` is the zone's net-charge rule, naming the zone and its limit."""
    assert any(
        reason.startswith(f"{begins} reaches ")
        and reason.endswith(f"above the zone's limit of {limit_uc} µC (charge balance rule)")
        for reason in reasons
    ), reasons


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    lines = text.splitlines()
    hits = [number for number, line in enumerate(lines, start=1) if line == needle]
    return hits[occurrence - 1]


def test_nine_ten_minute_steps_of_negative_dc_on_an_eye_are_refused_naming_each_rule() -> None:
    text = pack_text(*(pack_step("eye_right", 600, 1000, "negative", 1) for _ in range(9)))
    issues = pack_issues(text)
    first_step = [issue for issue in issues if issue[2].startswith("step 1 ")]
    assert (
        line_of(text, "current_ua = 1000"),
        "zone_rule",
        (
            "step 1 (eye_right): current 1000 µA is above the 200 µA allowed on Eye area, right "
            "(zone rule)"
        ),
    ) in first_step
    assert (
        line_of(text, 'polarity = "negative"'),
        "zone_rule",
        (
            "step 1 (eye_right): negative square pulses never reverse, and Eye area, right allows "
            "no direct current (zone rule): alternate the polarity or use biphasic pulses"
        ),
    ) in first_step
    reasons = [reason for _, _, reason in issues]
    assert (
        "step 1 (eye_right): 10 min on Eye area, right by this step is more than the 5 min a "
        "session may spend there (zone rule)"
    ) in reasons
    assert_net_charge_refused(reasons, "step 1 (eye_right): net charge on Eye area, right", 1000)


def test_direct_current_across_the_forehead_at_1000_ua_is_refused() -> None:
    text = pack_text(pack_step("forehead_right", 120, 1000, "positive", 1))
    reasons = [reason for _, _, reason in pack_issues(text)]
    assert any("above the 400 µA allowed on Forehead, right" in r for r in reasons), reasons
    assert any("Forehead, right allows no direct current" in r for r in reasons), reasons


def test_a_ramp_of_a_millisecond_is_refused_on_its_line() -> None:
    text = pack_text(pack_step("cheek_right", 120, 300, "alternating", 0.001))
    assert pack_issues(text) == [
        (
            line_of(text, "ramp_s = 0.001"),
            "invalid",
            "step 1 (cheek_right): ramp-up 0.001 s must be 1–30 s (current never steps up)",
        )
    ]


def test_an_hour_of_monophasic_dc_on_one_cheek_is_refused() -> None:
    """Direct current is allowed on a cheek, but not for long: time and net charge stop it."""
    text = pack_text(*(pack_step("cheek_right", 600, 600, "positive", 1) for _ in range(6)))
    reasons = [reason for _, _, reason in pack_issues(text)]
    assert (
        "step 2 (cheek_right): 20 min on Cheek, right by this step is more than the 10 min a "
        "session may spend there (zone rule)"
    ) in reasons
    assert_net_charge_refused(reasons, "step 1 (cheek_right): net charge on Cheek, right", 3000)


@pytest.mark.parametrize("zone", ["neck_right", "neck_left", "upper_lip", "eye_left"])
def test_no_direct_current_near_the_neck_the_lips_or_the_eyes(zone: str) -> None:
    text = pack_text(pack_step(zone, 60, 100, "positive", 1))
    reasons = [reason for _, _, reason in pack_issues(text)]
    name = zone_catalog()[zone].name
    assert (
        f"step 1 ({zone}): positive square pulses never reverse, and {name} allows no "
        in (reasons[0])
    )


def test_unbalanced_phases_and_odd_cycles_point_at_their_cells_in_the_editor() -> None:
    lifting = lifting_protocol()
    first, second, third, *rest = lifting.steps
    steps = (
        replace(first, waveform=replace(first.waveform, reversal_interval_s=3.0)),
        replace(second, duration_s=122.0),
        replace(third, waveform=replace(third.waveform, current_ua=500.0)),  # brow: 400
        *rest,
    )
    draft = Draft(replace(lifting, steps=steps), tuple(StepRow(step) for step in steps))
    found = check(draft, zone_catalog())
    assert [(p.row, p.columns) for p in found] == [
        (0, (Column.REVERSAL,)),
        (1, (Column.DURATION,)),
        (2, (Column.CURRENT,)),
    ]
    assert "(make it 120 s or 124 s)" in found[1].sentence
    assert "above the 400 µA allowed on Brow, right (zone rule)" in found[2].sentence


# -- the engine applies the rules last: a plugin that skips the validator ---------------------


def hand_built(*steps: Step) -> Protocol:
    """What a protocol plugin could return without calling ``checked``."""
    return Protocol(
        id="bypass",
        name="Bypass",
        category="lifting",
        description="Built in code, never validated.",
        steps=steps,
        series=RecommendedSeries(1, 6, (3, 4)),
    )


@pytest.mark.parametrize(
    ("step", "sentence"),
    [
        (
            Step(
                "eye_left", Waveform(WaveShape.SQUARE, 0.5, 900.0, Polarity.NEGATIVE, 2, 1), 60, "x"
            ),
            "step 1 (eye_left): current 900 µA is above the 200 µA allowed on Eye area, left "
            "(zone rule)",
        ),
        (
            Step(
                "cheek_left",
                Waveform(WaveShape.SQUARE, 0.5, 300.0, Polarity.ALTERNATING, 3, 2),
                60,
                "x",
            ),
            "step 1 (cheek_left): polarity reversal every 3 s holds 1.5 periods of 0.5 Hz",
        ),
        (
            Step(
                "cheek_left",
                Waveform(WaveShape.SQUARE, 10, 300.0, Polarity.ALTERNATING, 2, 0.001),
                60,
                "x",
            ),
            "step 1 (cheek_left): ramp-up 0.001 s must be 1–30 s",
        ),
    ],
)
def test_a_protocol_plugin_that_bypasses_the_validator_is_refused_before_output(
    make_engine, step: Step, sentence: str
) -> None:
    engine, machine, _ = make_engine()
    with pytest.raises(PreflightError) as refused:
        engine.prepare(hand_built(step))
    assert any(sentence in problem for problem in refused.value.problems), refused.value
    assert engine.state is EngineState.IDLE
    assert not machine.output_on and machine.amplitude_ua == 0.0


# -- rule 9 at the machine: a reversal switch that fails mid-treatment ------------------------


def test_a_machine_whose_polarity_sticks_is_stopped_at_the_zone_net_charge_limit(
    make_engine,
) -> None:
    engine, machine, _ = make_engine()
    protocol = make_protocol(steps=1, duration_s=120.0, current_ua=300.0)  # cheek_left, 3000 µC
    engine.prepare(protocol)
    machine.schedule_fault("polarity_stuck", at_s=engine.clock.now() + 10.0)
    summary = engine.run(timeout=30)
    assert summary.state is EngineState.ABORTED
    (event,) = summary.events
    assert event.kind is SafetyKind.ZONE_LIMIT
    assert event.action == "output off, session aborted"
    assert event.message.startswith("Net charge on Cheek, left reached ")
    assert "above the zone's limit of 3,000 µC (charge balance rule)" in event.message
    assert "have the machine's polarity reversal checked" in event.message
    assert not machine.output_on
    # Caught within a tick of the limit: 300 µA square is 150 µA mean, 7.5 µC in 50 ms.
    (delivery,) = summary.steps
    assert 3000.0 < delivery.net_charge_uc <= 3000.0 + 10.0
    # Balanced (within a phase) for its first 10 s, then 150 µA one way: about 20 s more.
    assert 27.0 < event.at_s - summary.started_at_s < 31.0


# -- rule 4: the over-current window, at its edges ---------------------------------------------


def test_the_over_current_window_is_ten_percent_and_ten_microamps() -> None:
    limits = SafetyLimits()
    assert (limits.over_current_factor, limits.over_current_margin_ua) == (1.1, 10.0)

    def peak(ua: float) -> BlockStats:
        return BlockStats(1, 0.0, ua, ua, ua, 1, 0.0, 0.0)

    assert not over_current(peak(1110.0), 1000.0, limits)
    assert over_current(peak(1110.5), 1000.0, limits)
    assert over_current(peak(1192.0), 1000.0, limits)  # ran 50 s unnoticed at 1.2 × + 20 µA
    assert not over_current(peak(20.0), 10.0, limits)
    assert over_current(peak(21.5), 10.0, limits)


@pytest.mark.parametrize(("factor", "trips"), [(1.08, False), (1.12, True), (1.192, True)])
def test_a_machine_running_above_its_setting_is_stopped_from_twelve_percent(
    make_engine, monkeypatch: pytest.MonkeyPatch, factor: float, trips: bool
) -> None:
    monkeypatch.setattr(simulator, "OVER_CURRENT_FACTOR", factor)
    # Oily skin: even 1.192 × 600 µA stays inside the machine's 15 V, so the over-current shows.
    engine, machine, _ = make_engine(skin=SkinParameters(skin_type=SkinType.OILY))
    protocol = make_protocol(steps=1, duration_s=40.0, current_ua=600.0)  # the cheek's most
    engine.prepare(protocol)
    machine.inject(SimFault.OVER_CURRENT)
    summary = engine.run(timeout=30)
    kinds = [event.kind for event in summary.events]
    if trips:
        assert summary.state is EngineState.ABORTED
        assert kinds == [SafetyKind.OVER_CURRENT]
        assert "while the setting was" in summary.events[0].message
    else:
        assert summary.state is EngineState.FINISHED
        assert kinds == []


# -- rule 10: under-delivery is told, with what to do ------------------------------------------


def engine_on_skin(
    skin: SkinParameters, simulator_info: DriverInfo
) -> tuple[TreatmentEngine, EventLog]:
    clock = VirtualClock()
    machine = SimulatedMachine(clock, seed=5, skin=skin)
    engine = TreatmentEngine(machine, simulator_info, clock)
    log = EventLog()
    engine.subscribe(log)
    return engine, log


def run_on_skin(
    skin: SkinParameters, simulator_info: DriverInfo, current_ua: float
) -> SessionSummary:
    """Two 40 s steps at ``current_ua`` on the cheeks of a client with ``skin``."""
    engine, _ = engine_on_skin(skin, simulator_info)
    try:
        engine.prepare(make_protocol(steps=2, duration_s=40.0, current_ua=current_ua))
        return engine.run(timeout=30)
    finally:
        engine.close()


def test_a_machine_held_at_its_compliance_voltage_is_announced_once_and_the_output_goes_on(
    simulator_info: DriverInfo,
) -> None:
    """Dry skin under fresh gel, about 40 kΩ: 400 µA would need some 16 V of the machine's 15."""
    skin = SkinParameters(skin_type=SkinType.DRY, drying_per_minute=0.0)
    summary = run_on_skin(skin, simulator_info, current_ua=400.0)
    assert summary.state is EngineState.FINISHED
    events = summary.events
    assert [event.kind for event in events] == [SafetyKind.UNDER_DELIVERY] * 2  # once a step
    first = events[0]
    assert first.action == "warning, output continues"
    assert first.message.startswith("Under-delivery on Cheek, left: the machine is at its 15 V")
    assert "cannot push the set 400 µA through the skin" in first.message
    assert "Re-apply gel and press both probes flat on the skin" in first.message
    assert first.step_index == 0 and events[1].step_index == 1
    # Told within the first seconds of steady output (2 s ramp, then a 3 s window).
    assert first.at_s - summary.started_at_s < 6.0
    # 15 V / ~40 kΩ is under 380 µA: the dose really is short.
    assert summary.steps[0].mean_current_ua < 0.9 * 400.0 * 0.5


@pytest.mark.parametrize(
    ("skin_type", "current_ua"), [(SkinType.NORMAL, 400.0), (SkinType.OILY, 600.0)]
)
def test_skin_the_machine_can_drive_raises_no_under_delivery(
    simulator_info: DriverInfo, skin_type: SkinType, current_ua: float
) -> None:
    """Normal skin at the protocols' strongest setting, oily skin at the cheek's most."""
    summary = run_on_skin(SkinParameters(skin_type=skin_type), simulator_info, current_ua)
    assert summary.state is EngineState.FINISHED
    assert summary.events == ()


# -- rule 4: after a disconnect the console says what it cannot know ---------------------------


def test_a_disconnect_does_not_claim_the_output_is_off(make_engine) -> None:
    engine, machine, _ = make_engine()
    engine.prepare(make_protocol(steps=1, duration_s=40.0))
    machine.schedule_fault("disconnect", at_s=engine.clock.now() + 12.0)
    summary = engine.run(timeout=30)
    assert summary.state is EngineState.INTERRUPTED
    (event,) = summary.events
    assert event.kind is SafetyKind.WATCHDOG
    assert CANNOT_CONFIRM_OFF in event.message
    assert "Output is off" not in event.message
    assert event.action == "stop sent, output state unknown, session interrupted"


def test_a_driver_error_does_not_claim_the_output_is_off(make_engine) -> None:
    engine, machine, _ = make_engine()
    engine.prepare(make_protocol(steps=1, duration_s=40.0))
    machine.schedule_fault("driver_error", at_s=engine.clock.now() + 5.0)
    summary = engine.run(timeout=30)
    (event,) = summary.events
    assert event.kind is SafetyKind.DRIVER_ERROR
    assert CANNOT_CONFIRM_OFF in event.message
    assert event.action == "stop sent, output state unknown, session interrupted"


def test_every_zone_rule_problem_is_data_not_wording() -> None:
    """What the pack reader and the editor use: step, fields and kind, whatever the sentence."""
    protocol = hand_built(
        Step("eye_left", Waveform(WaveShape.SQUARE, 0.5, 300.0, Polarity.POSITIVE, 2, 1), 400, "x")
    )
    problems = validate_protocol(protocol)
    assert [(p.step, p.fields, p.kind) for p in problems] == [
        (1, ("current_ua",), ProblemKind.ZONE_RULE),
        (1, ("polarity",), ProblemKind.ZONE_RULE),
        (1, ("duration_s",), ProblemKind.ZONE_RULE),
        (1, ("polarity",), ProblemKind.CHARGE_BALANCE),
    ]


def test_under_delivery_and_net_charge_are_kept_in_the_records(
    store, simulator_info: DriverInfo
) -> None:
    from console.records.recorder import SessionRecorder

    skin = SkinParameters(skin_type=SkinType.DRY, drying_per_minute=0.0)
    engine, _ = engine_on_skin(skin, simulator_info)
    recorder = SessionRecorder(store, "Pat Practitioner", None, retry_s=0.02)
    try:
        engine.prepare(make_protocol(steps=1, duration_s=40.0, current_ua=400.0))
        assert engine.session is not None
        recorder.begin(engine.session, engine.clock.now())
        engine.subscribe(recorder)
        summary = engine.run(timeout=30)
    finally:
        engine.close()
        assert recorder.close(10.0)
    row = store.session(engine.session.session_id)
    assert [event.kind for event in row.events] == ["under_delivery"]
    assert row.events[0].action == "warning, output continues"
    (step,) = row.steps
    assert step.net_charge_uc == pytest.approx(summary.steps[0].net_charge_uc)
    assert row.total_net_charge_uc == pytest.approx(summary.total_net_charge_uc)
