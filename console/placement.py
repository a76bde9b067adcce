"""Where the probes go in a step, as data, and the keep-out rules it is checked against.

A step's :class:`Placement` names the two landmarks the probes sit on when the step starts (from
``resources/face_zones.json``: ``cheekbone``, ``temple``...), what the hands do
(:class:`MotionKind`) and the landmark they move toward. The current flows between the two probes,
so the checks are about that path: at the start, at the end of the movement, and along the way,
it must never cross a keep-out of the face map — the midline of the head, an eye, the front of
the neck, a carotid sinus (safety rule 11). The technique sentence stays as the operator's cue;
this is what the console checks and what the face map draws. No Qt here.

Landmarks are given for the client's right side and resolved on the step's side; a key may also
name its side (``mouth_corner_left``), as the two probes of a centre zone (upper lip, chin) sit
one on each side.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from console.face_geometry import distance_to_polygon, inside_polygon
from console.problems import ProblemKind, RuleProblem
from console.zones import KeepOut, Point, Side, Zone, ZoneCatalog

#: A probe sits on its zone when it is this close to the zone's outline (face units: the face
#: map is about 0.8 units across an 14 cm face, so this is about 1.5 cm: a probe at the temple
#: still works the tail of the brow).
ON_ZONE = 0.08
_SIDE_SUFFIXES = {"_right": Side.RIGHT, "_left": Side.LEFT}


class MotionKind(enum.StrEnum):
    """How the probes move in a step (the value is what the operator reads)."""

    HOLD_AND_LIFT = "hold and lift"
    GLIDE = "glide"
    STROKES = "short strokes"
    CIRCLES = "small circles"
    PINCH = "pinch and release"
    HOLD = "hold still"


#: Movements that go somewhere: they need a landmark to move toward.
MOVING = frozenset({MotionKind.HOLD_AND_LIFT, MotionKind.GLIDE})


@dataclass(frozen=True, slots=True)
class Placement:
    """The two probes' landmarks when the step starts, the movement, and where it goes.

    ``toward`` is the landmark the hands move toward (``None`` for a movement in place). Both
    probes may name the same landmark: they then sit on it side by side, about 2 cm apart.
    """

    probes: tuple[str, str]
    motion: MotionKind
    toward: str | None = None

    def describe(self, catalog: ZoneCatalog) -> str:
        """``cheekbone and cheekbone: hold and lift toward the temple``."""
        first, second = (landmark_name(key, catalog) for key in self.probes)
        where = first if first == second else f"{first} and {second}"
        toward = f" toward the {landmark_name(self.toward, catalog)}" if self.toward else ""
        return f"probes on the {where}: {self.motion.value}{toward}"


#: The fields of a step's ``placement`` table in a pack.
PLACEMENT_KEYS = ("probes", "motion", "toward")
#: How the editor writes a placement in one cell, and reads it back.
CELL_FORMAT = "probe, probe · movement → landmark"


def placement_from_mapping(value: Any, name: str = "placement") -> Placement:
    """A pack's ``{probes = ["cheekbone", "cheekbone"], motion = "hold and lift",
    toward = "temple"}``; ValueError naming what is wrong (landmarks are checked later, against
    the step's zone)."""
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a table: probes, motion and (to move) toward")
    stray = [key for key in value if key not in PLACEMENT_KEYS]
    if stray:
        raise ValueError(
            f"{name}: unknown field(s) {', '.join(map(repr, stray))}; known: "
            + ", ".join(PLACEMENT_KEYS)
        )
    probes = value.get("probes")
    if (
        not isinstance(probes, list | tuple)
        or len(probes) != 2
        or not all(isinstance(p, str) and p for p in probes)
    ):
        raise ValueError(f"{name}.probes must be two landmark names, got {probes!r}")
    if "motion" not in value:
        raise ValueError(f"{name}.motion is missing (one of {_motions()})")
    try:
        motion = MotionKind(value["motion"])
    except ValueError:
        raise ValueError(f"{name}.motion {value['motion']!r} is not one of {_motions()}") from None
    toward = value.get("toward")
    if toward is not None and (not isinstance(toward, str) or not toward):
        raise ValueError(f"{name}.toward must be a landmark name, got {toward!r}")
    return Placement((probes[0], probes[1]), motion, toward)


def placement_to_mapping(placement: Placement) -> dict[str, Any]:
    """The pack table of ``placement`` (what :func:`placement_from_mapping` reads)."""
    table: dict[str, Any] = {"probes": list(placement.probes), "motion": placement.motion.value}
    if placement.toward is not None:
        table["toward"] = placement.toward
    return table


def format_placement(placement: Placement | None) -> str:
    """One line, as the editor's cell shows it: ``cheekbone, temple · hold and lift → temple``."""
    if placement is None:
        return ""
    toward = f" → {placement.toward}" if placement.toward else ""
    return f"{placement.probes[0]}, {placement.probes[1]} · {placement.motion.value}{toward}"


def parse_placement(text: str) -> Placement | None:
    """What :func:`format_placement` wrote (``->`` for the arrow and ``;`` for the dot too);
    None for an empty cell; ValueError saying the form for anything else."""
    text = text.strip()
    if not text:
        return None
    where, _, toward = _partition(text, r"→|->")
    probes_text, separated, motion_text = _partition(where, r"[·;]")
    probes = [p.strip() for p in re.split(r"[,+]", probes_text)]
    if not separated or len(probes) != 2 or not all(probes):
        raise ValueError(f"{text!r} is not {CELL_FORMAT!r}")
    motion = next(
        (kind for kind in MotionKind if kind.value == " ".join(motion_text.lower().split())), None
    )
    if motion is None:
        raise ValueError(f"movement {motion_text!r} is not one of {_motions()}")
    return Placement((probes[0], probes[1]), motion, toward or None)


def _partition(text: str, separator: str) -> tuple[str, bool, str]:
    """``text`` split at the first ``separator`` (a pattern): before, found, after (stripped)."""
    parts = re.split(rf"\s*(?:{separator})\s*", text, maxsplit=1)
    if len(parts) == 1:
        return text.strip(), False, ""
    return parts[0].strip(), True, parts[1].strip()


def _motions() -> str:
    return ", ".join(kind.value for kind in MotionKind)


@dataclass(frozen=True, slots=True)
class ProbeLayout:
    """A placement resolved on the face: the probes where they start and where they end."""

    start: tuple[Point, Point]
    end: tuple[Point, Point]
    target: Point | None

    @property
    def centre(self) -> Point:
        """Midway between the probes at the start."""
        (ax, ay), (bx, by) = self.start
        return ((ax + bx) / 2, (ay + by) / 2)


def landmark_point(key: str, side: Side, catalog: ZoneCatalog) -> Point | None:
    """Where landmark ``key`` is on ``side`` of the face (a ``_left``/``_right`` suffix wins;
    a centre zone's bare key is on the client's right); None for an unknown key."""
    base, named_side = key, None
    for suffix, suffix_side in _SIDE_SUFFIXES.items():
        if key.endswith(suffix) and key.removesuffix(suffix) in catalog.landmarks:
            base, named_side = key.removesuffix(suffix), suffix_side
    landmark = catalog.landmarks.get(base)
    if landmark is None:
        return None
    x, y = landmark.at
    return (1.0 - x, y) if (named_side or side) is Side.LEFT else (x, y)


def layout(placement: Placement, zone: Zone, catalog: ZoneCatalog) -> ProbeLayout | None:
    """The placement on ``zone``'s side of the face; None if it names an unknown landmark."""
    points = [landmark_point(key, zone.side, catalog) for key in placement.probes]
    if any(point is None for point in points):
        return None
    a, b = points[0], points[1]
    assert a is not None and b is not None
    target = None
    end = (a, b)
    if placement.toward is not None:
        target = landmark_point(placement.toward, zone.side, catalog)
        if target is None:
            return None
        if zone.side is Side.CENTER and (a[0] - 0.5) * (b[0] - 0.5) < 0:
            # One probe on each side of a centre zone: each goes to the target on its side.
            mirrored = (1.0 - target[0], target[1])
            end = tuple(target if p[0] < 0.5 else mirrored for p in (a, b))  # type: ignore[assignment]
        else:
            centre = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
            dx, dy = target[0] - centre[0], target[1] - centre[1]
            end = ((a[0] + dx, a[1] + dy), (b[0] + dx, b[1] + dy))
    return ProbeLayout((a, b), end, target)


def placement_problems(placement: Placement, zone: Zone, catalog: ZoneCatalog) -> list[RuleProblem]:
    """Every way ``placement`` breaks a keep-out rule on ``zone`` (safety rule 11)."""

    def problem(sentence: str) -> RuleProblem:
        return RuleProblem(
            f"placement: {sentence} (placement rule)",
            fields=("placement",),
            kind=ProblemKind.PLACEMENT,
        )

    unknown = [
        key
        for key in (*placement.probes, *([placement.toward] if placement.toward else []))
        if landmark_point(key, zone.side, catalog) is None
    ]
    if unknown:
        known = ", ".join(catalog.landmarks)
        return [
            RuleProblem(
                f"placement: unknown landmark {key!r}; known landmarks: {known} (each may end "
                "in _left or _right)",
                fields=("placement",),
                kind=ProblemKind.PLACEMENT,
            )
            for key in unknown
        ]
    found = []
    if placement.motion in MOVING and placement.toward is None:
        found.append(problem(f"a {placement.motion.value} movement needs a landmark to go toward"))
    if placement.motion is MotionKind.HOLD and placement.toward is not None:
        found.append(problem("the probes hold still, so they cannot move toward a landmark"))
    probes = layout(placement, zone, catalog)
    assert probes is not None
    for key, point in zip(placement.probes, probes.start, strict=True):
        if distance_to_polygon(point, zone.polygon) > ON_ZONE:
            found.append(
                problem(f"the probe on the {landmark_name(key, catalog)} is not on {zone.name}")
            )
    a, b = probes.start
    a_end, b_end = probes.end
    paths = [("the current between the probes", a, b)]
    if probes.target is not None:
        paths += [
            ("the current between the probes where they end", a_end, b_end),
            ("the probes' way", a, a_end),
            ("the probes' way", b, b_end),
        ]
    crossed: set[str] = set()
    for what, start, end in paths:
        for keep_out in catalog.keep_outs:
            if keep_out.id not in crossed and _crosses(start, end, keep_out):
                crossed.add(keep_out.id)
                found.append(problem(f"{what} would cross {keep_out.name}: {keep_out.why}"))
    return found


def _crosses(a: Point, b: Point, keep_out: KeepOut) -> bool:
    """True when the segment a–b touches the keep-out (enters its polygon or crosses its line)."""
    if keep_out.line is not None:
        return _segments_cross(a, b, *keep_out.line)
    polygon = keep_out.polygon
    left, bottom, right, top = _bounds(polygon)
    if (
        max(a[0], b[0]) < left
        or min(a[0], b[0]) > right
        or max(a[1], b[1]) < bottom
        or min(a[1], b[1]) > top
    ):
        # Wholly beside the keep-out's bounding box, so neither inside nor crossing an edge:
        # exact, and it spares most of the edge tests that checking every protocol at start costs.
        return False
    if inside_polygon(a, polygon) or inside_polygon(b, polygon):
        return True
    edges = zip(polygon, (*polygon[1:], polygon[0]), strict=True)
    return any(_segments_cross(a, b, p, q) for p, q in edges)


@functools.lru_cache(maxsize=256)
def _bounds(polygon: tuple[Point, ...]) -> tuple[float, float, float, float]:
    """Left, bottom, right and top of ``polygon`` (closed: its edges count)."""
    xs = [x for x, _ in polygon]
    ys = [y for _, y in polygon]
    return min(xs), min(ys), max(xs), max(ys)


def _segments_cross(a: Point, b: Point, p: Point, q: Point) -> bool:
    """True when segments a–b and p–q intersect (touching counts)."""

    def orient(o: Point, s: Point, t: Point) -> float:
        return (s[0] - o[0]) * (t[1] - o[1]) - (s[1] - o[1]) * (t[0] - o[0])

    d1, d2 = orient(p, q, a), orient(p, q, b)
    d3, d4 = orient(a, b, p), orient(a, b, q)
    if d1 * d2 < 0 and d3 * d4 < 0:
        return True

    def on(o: Point, s: Point, t: Point) -> bool:  # t on segment o–s, given collinear
        return min(o[0], s[0]) <= t[0] <= max(o[0], s[0]) and min(o[1], s[1]) <= t[1] <= max(
            o[1], s[1]
        )

    return (
        (d1 == 0 and on(p, q, a))
        or (d2 == 0 and on(p, q, b))
        or (d3 == 0 and on(a, b, p))
        or (d4 == 0 and on(a, b, q))
    )


def landmark_name(key: str | None, catalog: ZoneCatalog, sided: bool = True) -> str:
    """What the operator reads for landmark ``key``: ``temple``, or with a named side
    ``temple (left)`` (``sided=False`` leaves the side out); an unknown key as it is."""
    if key is None:
        return ""
    for suffix in _SIDE_SUFFIXES:
        base = key.removesuffix(suffix)
        if base != key and base in catalog.landmarks:
            name = catalog.landmarks[base].name
            return f"{name} ({suffix.lstrip('_')})" if sided else name
    landmark = catalog.landmarks.get(key)
    return landmark.name if landmark is not None else key
