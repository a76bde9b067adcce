"""Probe paths read from the steps' technique texts (``console/probe_paths.py``).

Every step of the built-in protocols must get a path that stays on the face, starts in its zone,
keeps off the eyes, and points where its text says. The geometry here is checked with a
point-in-polygon test written in this file, not the module's own.
"""

from __future__ import annotations

import math

import pytest

from console.probe_paths import (
    LANDMARKS,
    MotionKind,
    ProbeMotion,
    Role,
    mentions,
    motion_for,
    motion_for_step,
)
from console.protocols import Protocol, Step
from console.zones import Point, Side, zone_catalog
from plugins.circulation import circulation_protocol
from plugins.lifting import lifting_protocol
from plugins.toning import toning_protocol

PROTOCOLS = (lifting_protocol(), toning_protocol(), circulation_protocol())
ALL_STEPS = [
    (protocol.id, index, step)
    for protocol in PROTOCOLS
    for index, step in enumerate(protocol.steps)
]
PHASES = [i / 400 for i in range(400)]


def _inside(point: Point, polygon: tuple[Point, ...]) -> bool:
    """Ray casting to the right; a point on an edge counts as inside."""
    x, y = point
    crossings = 0
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if min(y1, y2) <= y < max(y1, y2):
            at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if math.isclose(at, x, abs_tol=1e-12):
                return True
            if at > x:
                crossings += 1
    return crossings % 2 == 1


def _distance_to(point: Point, polygon: tuple[Point, ...]) -> float:
    if _inside(point, polygon):
        return 0.0
    best = math.inf
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        dx, dy = x2 - x1, y2 - y1
        t = max(0.0, min(1.0, ((point[0] - x1) * dx + (point[1] - y1) * dy) / (dx * dx + dy * dy)))
        best = min(best, math.hypot(point[0] - x1 - t * dx, point[1] - y1 - t * dy))
    return best


def _step(protocol: Protocol, zone: str) -> Step:
    return next(step for step in protocol.steps if step.zone == zone)


def _outward(motion: ProbeMotion) -> float:
    """How much further from the face's midline the movement ends than it starts."""
    return abs(motion.end[0] - 0.5) - abs(motion.start[0] - 0.5)


@pytest.mark.parametrize(("protocol_id", "index", "step"), ALL_STEPS, ids=lambda v: str(v)[:20])
def test_every_built_in_step_has_a_path_on_the_face(
    protocol_id: str, index: int, step: Step
) -> None:
    catalog = zone_catalog()
    motion = motion_for_step(step)
    outline = catalog.geometry.outline
    for point in motion.points():
        assert _inside(point, outline), f"{protocol_id} step {index + 1}: {point} is off the face"
    for phase in PHASES:
        for probe in motion.probes_at(phase):
            assert _inside(motion.position_at(phase), outline)
            assert 0.0 <= probe[0] <= 1.0 and 0.0 <= probe[1] <= 1.0
    # It starts in the zone (a landmark next to it is snapped just inside).
    assert _distance_to(motion.start, catalog[step.zone].polygon) == 0.0
    assert motion.period_s > 0
    assert motion.describe().startswith(motion.origin)


@pytest.mark.parametrize(("protocol_id", "index", "step"), ALL_STEPS, ids=lambda v: str(v)[:20])
def test_no_path_passes_over_an_eye(protocol_id: str, index: int, step: Step) -> None:
    eyes = zone_catalog().geometry.features["eyes"]
    motion = motion_for_step(step)
    for phase in PHASES:
        for point in (motion.position_at(phase), *motion.probes_at(phase)):
            assert not any(_inside(point, eye) for eye in eyes), (protocol_id, index, phase)


def test_lifting_cheek_goes_up_and_out_toward_the_temple_on_each_side() -> None:
    lifting = lifting_protocol()
    right = motion_for_step(_step(lifting, "cheek_right"))
    left = motion_for_step(_step(lifting, "cheek_left"))
    for motion in (right, left):
        assert motion.kind is MotionKind.HOLD_AND_LIFT
        assert motion.toward == "temple"
        assert motion.end[1] < motion.start[1]  # higher (y grows downwards)
        assert _outward(motion) > 0
        assert "→ temple, hold and lift" in motion.describe()
    # The client's right is drawn on the viewer's left.
    assert right.end[0] < right.start[0] < 0.5
    assert left.end[0] > left.start[0] > 0.5


def test_directions_follow_the_placements() -> None:
    lifting, toning, circulation = PROTOCOLS
    forehead = motion_for_step(_step(lifting, "forehead_left"))
    assert forehead.toward == "hairline" and forehead.end[1] < forehead.start[1] - 0.05
    neck_glide = motion_for_step(_step(lifting, "neck_right"))
    assert neck_glide.kind is MotionKind.GLIDE  # never a hold on the neck
    assert neck_glide.toward == "collarbone" and neck_glide.end[1] > neck_glide.start[1]
    jaw = motion_for_step(_step(lifting, "jawline_left"))
    assert jaw.origin == "chin and jaw angle" and jaw.toward == "ear"
    assert _outward(jaw) > 0 and jaw.end[1] < jaw.start[1]

    drain_neck = motion_for_step(_step(circulation, "neck_left"))
    assert drain_neck.kind is MotionKind.GLIDE
    assert drain_neck.toward == "collarbone" and drain_neck.end[1] > drain_neck.start[1]
    drain_forehead = motion_for_step(_step(circulation, "forehead_right"))
    assert drain_forehead.origin == "forehead centre" and drain_forehead.toward == "temple"
    assert _outward(drain_forehead) > 0.2
    drain_cheek = motion_for_step(_step(circulation, "cheek_left"))
    assert drain_cheek.toward == "ear" and _outward(drain_cheek) > 0.15

    brow = motion_for_step(_step(toning, "brow_right"))
    assert brow.kind is MotionKind.STROKES and len(brow.strokes) >= 3
    assert all(b[1] < a[1] for a, b in brow.strokes)  # every stroke goes up
    fold = motion_for_step(_step(toning, "nasolabial_left"))
    assert all(abs(b[0] - 0.5) > abs(a[0] - 0.5) for a, b in fold.strokes)  # from the nose out
    eye = motion_for_step(_step(toning, "eye_right"))
    assert eye.kind is MotionKind.CIRCLES and eye.origin == "outer eye corner and under the eye"
    cheek = motion_for_step(_step(toning, "cheek_right"))
    assert cheek.kind is MotionKind.PINCH and cheek.describe() == "cheek, pinch and release"


def test_a_pinch_brings_the_probes_together_and_apart() -> None:
    cheek = motion_for_step(_step(toning_protocol(), "cheek_left"))
    spacings = [cheek.spacing_at(phase) for phase in PHASES]
    assert min(spacings) < 0.5 * max(spacings)
    # The text says "hold 2 s": the probes stay together that long in each cycle.
    together = sum(1 for s in spacings if math.isclose(s, min(spacings))) / len(spacings)
    assert together * cheek.period_s == pytest.approx(2.0, abs=0.1)


def test_centre_zones_move_both_probes_as_mirror_images() -> None:
    upper_lip = motion_for_step(_step(toning_protocol(), "upper_lip"))
    assert upper_lip.mirrored and upper_lip.toward == "mouth corner"
    for phase in (0.0, 0.3, 0.7):
        first, second = upper_lip.probes_at(phase)
        assert first[0] < 0.5 < second[0]
        assert first[0] == pytest.approx(1.0 - second[0]) and first[1] == pytest.approx(second[1])


@pytest.mark.parametrize(("protocol_id", "index", "step"), ALL_STEPS, ids=lambda v: str(v)[:20])
def test_position_is_periodic_and_continuous(protocol_id: str, index: int, step: Step) -> None:
    motion = motion_for_step(step)
    for phase in (0.0, 0.13, 0.5, 0.91):
        assert motion.position_at(phase) == pytest.approx(motion.position_at(phase + 1.0))
        assert motion.position_at(phase) == pytest.approx(motion.position_at(phase - 3.0))
    assert motion.position_at(1.0 - 1e-9) == pytest.approx(motion.position_at(0.0), abs=1e-6)
    samples = 4000
    largest = max(
        math.dist(motion.position_at(i / samples), motion.position_at((i + 1) / samples))
        for i in range(samples)
    )
    assert largest < 0.01, f"the probes jump {largest:.3f} face units"
    assert motion.phase_at(motion.period_s * 2.25) == pytest.approx(0.25)


def test_roles_are_read_from_the_word_before_each_landmark() -> None:
    found = mentions("Glide from the chin along the jaw to below the ear.")
    assert [(m.key, m.role) for m in found] == [
        ("chin", Role.FROM),
        ("jawline", Role.ALONG),
        ("below_ear", Role.TO),
    ]
    toward = mentions("Probes on the cheekbone; hold and lift toward the temple.")
    assert [(m.key, m.role, m.clause) for m in toward] == [
        ("cheekbone", Role.PLACE, 0),
        ("temple", Role.TOWARD, 1),
    ]


def test_a_text_without_landmarks_falls_back_to_the_region() -> None:
    catalog = zone_catalog()
    cheek = motion_for("cheek_left", "Hold and lift.", catalog)
    assert cheek.kind is MotionKind.HOLD_AND_LIFT and cheek.toward == "temple"
    assert cheek.end[1] < cheek.start[1] and cheek.end[0] > cheek.start[0]
    forehead = motion_for("forehead_right", "Slow glides.", catalog)
    assert forehead.kind is MotionKind.GLIDE and forehead.toward == "hairline"
    drain = motion_for("neck_left", "Glide toward the lymph nodes.", catalog)
    assert drain.toward == "collarbone" and drain.end[1] > drain.start[1]
    still = motion_for("chin", "Hold both probes still.", catalog)
    assert still.kind is MotionKind.HOLD and still.describe() == "chin, hold still"
    assert {still.position_at(p) for p in (0.0, 0.4, 0.8)} == {still.start}


def test_landmarks_are_defined_once_and_mirrored_for_the_left_side() -> None:
    catalog = zone_catalog()
    right = motion_for("cheek_right", "Glide to the ear.", catalog)
    left = motion_for("cheek_left", "Glide to the ear.", catalog)
    assert right.end == LANDMARKS["ear"].at
    assert left.end == pytest.approx((1.0 - LANDMARKS["ear"].at[0], LANDMARKS["ear"].at[1]))
    assert catalog["cheek_left"].side is Side.LEFT and left.end[0] > 0.5
    for landmark in LANDMARKS.values():
        assert landmark.at[0] < 0.5, f"{landmark.name} must be on the client's right (x < 0.5)"
        assert _inside(landmark.at, catalog.geometry.outline)


#: Texts a trainer might write in a protocol pack, some of them odd on purpose.
PACK_TEXTS = (
    "Massage gently.",
    "Glide down to the collarbone.",
    "Glide from the hairline down to the brow.",
    "Glide from the temple to the chin.",
    "Short strokes toward the nose.",
    "Circles across the chin toward the jaw.",
    "Glide toward the eye.",
    "Hold at the jaw angle, lift to the temple.",
    "Pinch and release across the forehead from the centre outward.",
    "",
)


@pytest.mark.parametrize("text", PACK_TEXTS)
def test_any_text_gives_a_path_on_the_face_that_keeps_off_the_eyes(text: str) -> None:
    catalog = zone_catalog()
    outline = catalog.geometry.outline
    eyes = catalog.geometry.features["eyes"]
    for zone_id, zone in catalog.items():
        motion = motion_for(zone_id, text, catalog)
        assert _inside(motion.start, zone.polygon), (zone_id, text)
        positions = [motion.position_at(i / 800) for i in range(800)]
        probes = [p for i in range(0, 800, 5) for p in motion.probes_at(i / 800)]
        for point in positions + motion.points():
            assert _inside(point, outline), (zone_id, text, point)
        for point in positions + probes + motion.points():
            assert not any(_inside(point, eye) for eye in eyes), (zone_id, text, point)
        steps = [
            math.dist(a, b) for a, b in zip(positions, positions[1:] + positions[:1], strict=True)
        ]
        assert max(steps) < 0.02, (zone_id, text)
