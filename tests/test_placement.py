"""Placement as data (docs/safety.md, rule 11): where the probes go is structured step data,
checked against the keep-out rules of the face map, carried by packs and the editor, and drawn
by the face map — never guessed from the technique sentence.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from console.engine.safety import PreflightError
from console.packs import PackError, load_packs, parse_pack, protocol_to_toml
from console.placement import (
    MotionKind,
    Placement,
    format_placement,
    parse_placement,
    placement_problems,
)
from console.probe_paths import motion_for_step, suggested_placement
from console.problems import ProblemKind
from console.protocol_draft import Column
from console.protocols import Protocol, RecommendedSeries, Step, comfort_notes, validate_protocol
from console.waveforms import Polarity, Waveform, WaveShape
from console.zones import zone_catalog
from plugins.circulation import circulation_protocol
from plugins.lifting import lifting_protocol
from plugins.toning import toning_protocol

WAVE = Waveform(WaveShape.BIPHASIC, 10.0, 200.0, Polarity.ALTERNATING, 2.0, 1.0)


def shipped() -> list[Protocol]:
    packs, errors = load_packs()
    assert errors == []
    return [lifting_protocol(), toning_protocol(), circulation_protocol(), *packs]


def problems_of(zone: str, placement: Placement) -> list[str]:
    catalog = zone_catalog()
    return [str(p) for p in placement_problems(placement, catalog[zone], catalog)]


# -- the shipped protocols ---------------------------------------------------------------------


@pytest.mark.parametrize("protocol", shipped(), ids=lambda p: p.id)
def test_every_shipped_step_has_a_placement_that_keeps_the_keep_outs(protocol: Protocol) -> None:
    assert all(step.placement is not None for step in protocol.steps)
    assert validate_protocol(protocol) == []
    assert not any("no probe placement" in note for note in comfort_notes(protocol))
    for step in protocol.steps:
        motion = motion_for_step(step)
        assert motion is not None and motion.kind is step.placement.motion


def test_the_lifting_neck_step_glides_low_and_behind_the_carotid() -> None:
    """No hold on the neck: a glide, lateral to the carotid sinus and below its level all the
    way (tests/test_protocol_practice.py checks the path against the keep-outs)."""
    catalog = zone_catalog()
    for step in lifting_protocol().steps:
        if step.zone.startswith("neck"):
            assert step.placement.motion is MotionKind.GLIDE
            motion = motion_for_step(step)
            assert motion is not None and motion.kind is MotionKind.GLIDE
            carotid = next(k for k in catalog.keep_outs if k.id == "carotid_" + step.zone[5:])
            xs = [x for x, _ in carotid.polygon]
            lowest = max(y for _, y in carotid.polygon)
            # Every point the probes take is further from the midline than the carotid sinus,
            # or below it.
            for phase in (i / 50 for i in range(50)):
                for x, y in motion.probes_at(phase):
                    assert abs(x - 0.5) > min(abs(v - 0.5) for v in xs)
                    assert y > lowest
            assert "behind the pulse" in step.technique
            assert "hold" not in step.technique and "lift" not in step.technique


# -- the keep-out rules ------------------------------------------------------------------------


def test_one_probe_on_each_temple_is_refused_as_current_across_the_head() -> None:
    found = problems_of(
        "forehead_right", Placement(("temple_right", "temple_left"), MotionKind.HOLD)
    )
    assert any(
        "the current between the probes would cross the midline of the head" in p
        and "transcerebral" in p
        for p in found
    ), found


@pytest.mark.parametrize(
    ("zone", "placement", "keep_out"),
    [
        (
            "neck_right",
            Placement(("neck_side", "neck_side_left"), MotionKind.HOLD),
            "front of the neck",
        ),
        (
            "neck_right",
            Placement(("neck_top", "neck_top"), MotionKind.GLIDE, "neck_side_left"),
            "front of the neck",
        ),
        (
            "neck_right",
            Placement(("neck_side", "neck_side"), MotionKind.HOLD_AND_LIFT, "chin_left"),
            "carotid sinus",
        ),
        (
            "eye_right",
            Placement(("outer_eye", "under_eye"), MotionKind.GLIDE, "brow_mid"),
            "right eye",
        ),
        (
            "cheek_right",
            Placement(("cheekbone", "cheekbone_left"), MotionKind.HOLD),
            "midline of the head",
        ),
    ],
)
def test_keep_outs_are_refused_naming_what_would_be_crossed(
    zone: str, placement: Placement, keep_out: str
) -> None:
    found = problems_of(zone, placement)
    assert any(keep_out in p for p in found), found
    assert all(p.startswith("placement: ") and p.endswith("(placement rule)") for p in found)


def test_the_upper_lip_and_the_chin_are_worked_one_probe_each_side() -> None:
    """Below the nose, crossing the face's midline is the normal technique, not a hazard."""
    assert (
        problems_of(
            "chin", Placement(("below_lip_right", "below_lip_left"), MotionKind.STROKES, "lip_line")
        )
        == []
    )


def test_a_probe_far_from_its_zone_an_unknown_landmark_and_a_movement_without_a_goal() -> None:
    assert problems_of("cheek_right", Placement(("cheekbone", "collarbone"), MotionKind.HOLD)) == [
        "placement: the probe on the collarbone is not on Cheek, right (placement rule)"
    ]
    (unknown,) = problems_of("cheek_right", Placement(("cheekbone", "earlobe"), MotionKind.HOLD))
    assert unknown.startswith("placement: unknown landmark 'earlobe'; known landmarks: hairline")
    assert problems_of("cheek_right", Placement(("cheekbone", "cheekbone"), MotionKind.GLIDE)) == [
        "placement: a glide movement needs a landmark to go toward (placement rule)"
    ]


# -- in a pack, in code, in the editor ---------------------------------------------------------


def pack(placement_line: str | None) -> str:
    text = protocol_to_toml(lifting_protocol()).replace('id = "lifting"', 'id = "my-lift"', 1)
    first = 'placement = { probes = ["forehead_mid", "forehead_mid"], motion = "hold and lift", toward = "hairline" }'
    assert first in text
    if placement_line is None:
        return text.replace(first + "\n", "", 1)
    return text.replace(first, placement_line, 1)


def test_a_pack_placing_the_probes_on_both_temples_is_refused_on_its_line() -> None:
    text = pack('placement = { probes = ["temple_right", "temple_left"], motion = "hold still" }')
    with pytest.raises(PackError) as refused:
        parse_pack(text, "my-lift.toml")
    issues = refused.value.issues
    line = (
        text.splitlines().index(
            'placement = { probes = ["temple_right", "temple_left"], motion = "hold still" }'
        )
        + 1
    )
    assert {issue.line for issue in issues} == {line}
    assert {issue.kind for issue in issues} == {"placement"}
    assert any("cross the midline of the head" in issue.reason for issue in issues)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('placement = "cheekbone"', "placement must be a table: probes, motion and"),
        ('placement = { probes = ["cheekbone"], motion = "glide" }', "placement.probes must be"),
        ('placement = { probes = ["a", "b"], motion = "wiggle" }', "placement.motion 'wiggle'"),
        ('placement = { probes = ["a", "b"], motion = "glide", to = "ear" }', "unknown field"),
    ],
)
def test_a_malformed_placement_gets_a_clear_error_on_its_line(line: str, reason: str) -> None:
    text = pack(line)
    with pytest.raises(PackError) as refused:
        parse_pack(text, "my-lift.toml")
    (issue,) = refused.value.issues
    assert issue.line == text.splitlines().index(line) + 1
    assert issue.reason.startswith("step 1: ") and reason in issue.reason


def test_a_pack_without_placements_is_read_with_a_note_never_a_guess() -> None:
    protocol = parse_pack(pack(None), "my-lift.toml")
    assert protocol.steps[0].placement is None
    assert motion_for_step(protocol.steps[0]) is None  # nothing is drawn from the sentence
    assert (
        "step 1: no probe placement given, so nothing checks where the current flows (midline, "
        "eyes, front of the neck) and the face map shows no probe path; add a placement to each "
        "step"
    ) in comfort_notes(protocol)


def test_a_protocol_plugin_with_current_across_the_head_is_refused_before_output(
    make_engine,
) -> None:
    engine, machine, _ = make_engine()
    across = Protocol(
        id="across",
        name="Across",
        category="lifting",
        description="Built in code, never validated.",
        steps=(
            Step(
                "forehead_right",
                WAVE,
                60.0,
                "One probe on each temple.",
                Placement(("temple_right", "temple_left"), MotionKind.HOLD),
            ),
        ),
        series=RecommendedSeries(1, 6, (3, 4)),
    )
    with pytest.raises(PreflightError) as refused:
        engine.prepare(across)
    assert any("cross the midline of the head" in p for p in refused.value.problems)
    assert not machine.output_on


def test_placement_cells_read_back_what_they_show() -> None:
    for protocol in shipped():
        for step in protocol.steps:
            assert parse_placement(format_placement(step.placement)) == step.placement
    assert parse_placement("") is None
    assert parse_placement("a + b; glide -> c") == Placement(("a", "b"), MotionKind.GLIDE, "c")
    for bad in ("cheekbone", "a, b", "a, b · wiggle"):
        with pytest.raises(ValueError):
            parse_placement(bad)


def test_the_editor_marks_a_placement_that_crosses_a_keep_out_on_its_cell(qtbot, dialogs) -> None:
    from console.ui.app import make_application
    from console.ui.protocol_editor import ProtocolEditor

    make_application()
    editor = ProtocolEditor({"lifting": lifting_protocol()}, None, "", None)
    qtbot.addWidget(editor)
    assert editor.start_from("lifting")
    model = editor.model
    assert model.index(0, Column.PLACEMENT).data() == (
        "forehead_mid, forehead_mid · hold and lift → hairline"
    )
    assert model.setData(model.index(0, Column.PLACEMENT), "temple_right, temple_left · hold still")
    marked = model.cell_problems(0, Column.PLACEMENT)
    assert any("cross the midline of the head" in problem for problem in marked), marked
    assert not editor.save_button.isEnabled()
    # Half-typed text is kept and marked, never thrown away.
    assert model.setData(model.index(0, Column.PLACEMENT), "temple, tem")
    assert model.index(0, Column.PLACEMENT).data() == "temple, tem"
    assert (
        "is not 'probe, probe · movement → landmark'" in model.cell_problems(0, Column.PLACEMENT)[0]
    )
    assert model.setData(model.index(0, Column.PLACEMENT), "")  # no placement: allowed, noted
    assert model.cell_problems(0, Column.PLACEMENT) == []
    assert any("no probe placement" in note for note in editor.advice())
    # Filled from the technique, for the trainer to check.
    assert editor.steps_panel.fill_placements() == 1
    assert model.rows[0].step.placement == suggested_placement(
        "forehead_right", lifting_protocol().steps[0].technique
    )
    assert editor.problems() == []


def test_suggestions_from_the_built_in_techniques_keep_the_rules() -> None:
    catalog = zone_catalog()
    for protocol in (lifting_protocol(), toning_protocol(), circulation_protocol()):
        for step in protocol.steps:
            suggestion = suggested_placement(step.zone, step.technique)
            assert suggestion is not None, (protocol.id, step.zone)
            assert placement_problems(suggestion, catalog[step.zone], catalog) == []
            # The movement the text names is the movement the data says.
            assert suggestion.motion is step.placement.motion or (
                step.placement.motion is MotionKind.HOLD_AND_LIFT
            ), (protocol.id, step.zone, suggestion)


def test_a_placement_problem_is_data_the_editor_and_packs_point_with() -> None:
    lifting = lifting_protocol()
    broken = replace(
        lifting,
        steps=(
            replace(
                lifting.steps[0],
                placement=Placement(("temple_right", "temple_left"), MotionKind.HOLD),
            ),
            *lifting.steps[1:],
        ),
    )
    problems = validate_protocol(broken)
    assert problems and all(
        (p.step, p.fields, p.kind) == (1, ("placement",), ProblemKind.PLACEMENT) for p in problems
    )


def test_the_keep_out_crossing_check_agrees_with_testing_every_edge() -> None:
    """The bounding-box shortcut of the keep-out check (safety rule 11) never changes its
    answer: segments all over the face, including ones that only touch a keep-out's box or an
    edge, are judged as testing the inside and every edge would judge them."""
    import random

    from console.face_geometry import inside_polygon
    from console.placement import _crosses, _segments_cross

    catalog = zone_catalog()
    polygons = [keep_out for keep_out in catalog.keep_outs if keep_out.polygon]
    assert polygons, "the face has polygon keep-outs (eyes, neck) to test against"
    chance = random.Random(11)
    crossing = beside = 0
    for keep_out in polygons:
        xs = [x for x, _ in keep_out.polygon]
        ys = [y for _, y in keep_out.polygon]
        # Points on the box's edges and corners, on the polygon's vertices, and anywhere.
        special = [
            *keep_out.polygon,
            (min(xs), min(ys)),
            (max(xs), max(ys)),
            (min(xs), max(ys)),
            (max(xs), (min(ys) + max(ys)) / 2),
        ]
        for _ in range(400):
            a = (
                chance.choice(special)
                if chance.random() < 0.3
                else (chance.random(), chance.random())
            )
            b = (
                chance.choice(special)
                if chance.random() < 0.3
                else (chance.random(), chance.random())
            )
            polygon = keep_out.polygon
            edges = zip(polygon, (*polygon[1:], polygon[0]), strict=True)
            expected = (
                inside_polygon(a, polygon)
                or inside_polygon(b, polygon)
                or any(_segments_cross(a, b, p, q) for p, q in edges)
            )
            assert _crosses(a, b, keep_out) is expected, (keep_out.id, a, b)
            crossing += expected
            beside += not expected
    assert crossing > 50 and beside > 50  # both answers were exercised
