"""Where the operator's hands go in a step: the probe path read from the step's technique text.

A trainer's demonstration shows, on the face map, how the probes move for the current step: held
and lifted toward the temple, glided toward the lymph nodes in front of the ear, short upward
strokes along the brow... This module turns a step (its zone and its technique sentence) into a
:class:`ProbeMotion`: the kind of movement, the route in face units ([0, 1], y down, as
``resources/face_zones.json``), where it starts and what it moves toward, and a periodic
``position_at(phase)`` an animation drives from *simulated* time. No Qt here.

The technique text is read by keywords. Landmarks (temple, hairline, ear...) are named in the text
with a role word in front of them: ``from`` (the start), ``to`` / ``toward`` (the target),
``along`` / ``across`` (the way). Steps whose text names no landmark get a direction by the zone's
region (forehead toward the hairline, cheek toward the temple...). Landmarks are defined once, for
the client's right side (drawn on the viewer's left, x < 0.5) and mirrored for the left side.
Paths never cross the eyes: a segment that would pass over an eye is routed round the orbital rim.
"""

from __future__ import annotations

import enum
import math
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache

from console.face_geometry import (
    add,
    along,
    between,
    distance,
    distance_to_polygon,
    dot,
    eye_keep_outs,
    into_face,
    keep_clear,
    off_eyes,
    path_length,
    scale,
    segment_in_ellipse,
    snap_into,
    sub,
    truncate,
    unit,
)
from console.placement import (
    MOVING,
    MotionKind,
    Placement,
    landmark_name,
    layout,
    placement_problems,
)
from console.protocols import Step
from console.zones import Point, Side, Zone, ZoneCatalog, zone_catalog


@dataclass(frozen=True, slots=True)
class Landmark:
    """A named place on the face; ``at`` is on the client's right side (viewer's left)."""

    name: str
    at: Point


#: Landmarks on the client's right side of the face (x < 0.5); the left side mirrors them.
LANDMARKS: dict[str, Landmark] = {
    "hairline": Landmark("hairline", (0.33, 0.145)),
    "temple": Landmark("temple", (0.16, 0.28)),
    "brow_tail": Landmark("brow tail", (0.255, 0.305)),
    "outer_eye": Landmark("outer eye corner", (0.225, 0.395)),
    "under_eye": Landmark("under the eye", (0.33, 0.428)),
    "cheekbone": Landmark("cheekbone", (0.275, 0.50)),
    "nose": Landmark("nose", (0.40, 0.50)),
    "ear": Landmark("ear", (0.145, 0.44)),  # the preauricular lymph nodes
    "below_ear": Landmark("below the ear", (0.16, 0.55)),
    "jaw_angle": Landmark("jaw angle", (0.195, 0.635)),
    "mouth_corner": Landmark("mouth corner", (0.425, 0.685)),
    "lip_line": Landmark("lip line", (0.45, 0.712)),
    "chin": Landmark("chin", (0.405, 0.778)),
    "collarbone": Landmark("collarbone", (0.35, 0.965)),
    "forehead_centre": Landmark("forehead centre", (0.47, 0.20)),
}

#: Phrases that name a landmark, most specific first (they are matched in this order).
_LANDMARK_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"tail of the brows?|brow tails?", "brow_tail"),
    (r"lymph nodes? in front of the ears?|in front of the ears?|preauricular", "ear"),
    (r"(?:below|under|beneath) the ears?", "below_ear"),
    (r"lymph nodes?", "lymph_nodes"),
    (r"hairline", "hairline"),
    (r"temples?", "temple"),
    (r"angle of the jaw|jaw angle|the angle\b", "jaw_angle"),
    (r"(?:mouth|lip) corners?|corners? of the (?:mouth|lips?)", "mouth_corner"),
    (r"lip line", "lip_line"),
    (r"collarbones?|clavicles?", "collarbone"),
    (r"cheekbones?", "cheekbone"),
    (r"outer corner(?: of the eyes?)?", "outer_eye"),
    (r"(?:under|below|beneath) the eyes?", "under_eye"),
    (r"(?:centre|center|middle) of the forehead", "forehead_centre"),
    (r"ears?", "ear"),
    (r"nose", "nose"),
)

#: Words that name a region of the face; in the step's own region they describe the zone itself.
_REGION_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"forehead", "forehead"),
    (r"brows?|eyebrows?", "brow"),
    (r"orbital bone|eyes?", "eye"),
    (r"(?:nasolabial )?folds?", "nasolabial"),
    (r"cheeks?", "cheek"),
    (r"(?:upper )?lips?", "upper_lip"),
    (r"jawline|jaw", "jawline"),
    (r"chin", "chin"),
    (r"neck", "neck"),
)

#: A region named outside its own zone stands for this landmark (else for its zone's label point).
_REGION_LANDMARK = {"chin": "chin", "eye": "under_eye"}

#: What the text names when a region is the subject, in operator words.
REGION_NAMES = {
    "forehead": "forehead",
    "brow": "brow",
    "eye": "eye area",
    "cheek": "cheek",
    "nasolabial": "nasolabial fold",
    "upper_lip": "upper lip",
    "jawline": "jawline",
    "chin": "chin",
    "neck": "neck",
}

#: Where the probes begin in a region when the text does not say (client's right side).
_REGION_START: dict[str, Point] = {
    "forehead": (0.33, 0.245),
    "brow": (0.34, 0.30),
    "eye": (0.33, 0.428),
    "cheek": (0.2645, 0.5234),
    "nasolabial": (0.41, 0.575),
    "upper_lip": (0.475, 0.63),
    "jawline": (0.2702, 0.7075),
    "chin": (0.45, 0.77),
    "neck": (0.37, 0.90),
}

#: The way the probes go in a region when the text gives no direction (a landmark key).
_REGION_TARGET = {
    "forehead": "hairline",
    "brow": "temple",
    "eye": "temple",
    "cheek": "temple",
    "nasolabial": "cheekbone",
    "upper_lip": "mouth_corner",
    "jawline": "ear",
    "chin": "lip_line",
    "neck": "jaw_angle",
}

_DIRECTION_WORDS = {
    "outward": (-1.0, 0.0),  # on the client's right side; mirrored on the left
    "upward": (0.0, -1.0),
    "downward": (0.0, 1.0),
    "inward": (1.0, 0.0),
}
_WEAK_DIRECTION_WORDS = {"out": "outward", "up": "upward", "down": "downward", "in": "inward"}

#: How far a movement goes when the text gives a way but no end point ("toward", "upward").
_REACH = {
    MotionKind.HOLD_AND_LIFT: 0.08,
    MotionKind.GLIDE: 0.14,
    MotionKind.STROKES: 0.05,
    MotionKind.CIRCLES: 0.10,
    MotionKind.PINCH: 0.10,
    MotionKind.HOLD: 0.0,
}
#: Distance between the two probes (face units) when held apart, and when pinched together.
PROBE_SPACING = 0.05
PINCHED_SPACING = 0.014
STROKE_LENGTH = 0.035
CIRCLE_RADIUS = 0.011
#: A landmark named as a placement is where the probes start when it is this close to the zone
#: (``on the cheekbone``); a place further away is where they go (``one at the temple``).
_ON_ZONE = 0.02
_NEAR_ZONE = 0.05


class Role(enum.StrEnum):
    """What a landmark is to the movement, read from the word in front of it."""

    FROM = "from"
    TO = "to"
    TOWARD = "toward"
    ALONG = "along"
    ACROSS = "across"
    PLACE = "place"  #: "on", "at", "under"...: where a probe sits


_ROLE_WORDS = {
    "from": Role.FROM,
    "to": Role.TO,
    "into": Role.TO,
    "onto": Role.TO,
    "toward": Role.TOWARD,
    "towards": Role.TOWARD,
    "along": Role.ALONG,
    "across": Role.ACROSS,
}


@dataclass(frozen=True, slots=True)
class Mention:
    """A landmark or region named in a technique, with its role."""

    key: str  #: landmark key, or the region for a region word
    role: Role
    clause: int  #: index of the clause (split at ';' and ':') it appears in
    region: bool = False  #: True when it is a region word (brow, fold, jaw...)


@dataclass(frozen=True, slots=True)
class _Move:
    """One stretch of the cycle: the probes' centre along ``points`` in ``seconds``."""

    points: tuple[Point, ...]
    seconds: float
    on_skin: bool
    spacing: tuple[float, float] = (PROBE_SPACING, PROBE_SPACING)


@dataclass(frozen=True)
class ProbeMotion:
    """The probes' movement for one step, with a periodic position for animation.

    ``route`` is the way the hands travel, start to end; ``strokes`` the stretches drawn on the
    skin (one for a glide or lift, one per stroke for short strokes). ``origin`` and ``toward``
    name the start and the landmark or direction of the movement. ``mirrored`` is set for centre
    zones (upper lip, chin): one probe on each side, moving as mirror images.
    """

    kind: MotionKind
    zone: str
    side: Side
    route: tuple[Point, ...]
    strokes: tuple[tuple[Point, ...], ...]
    origin: str
    toward: str
    period_s: float
    mirrored: bool = False
    #: Unit vector of each movement on the skin (a stroke's, which may differ from the route's).
    facing: Point = (0.0, 0.0)
    #: Probes one behind the other along the movement (on the narrow orbital rim), not abreast.
    in_line: bool = False
    moves: tuple[_Move, ...] = field(default=(), repr=False)
    _ends: tuple[float, ...] = field(default=(), init=False, repr=False)

    def __post_init__(self) -> None:
        total = 0.0
        ends = []
        for move in self.moves:
            total += move.seconds
            ends.append(total)
        object.__setattr__(self, "_ends", tuple(ends))

    @property
    def start(self) -> Point:
        """Where the probes are put down."""
        return self.route[0]

    @property
    def end(self) -> Point:
        """Where the movement ends (equal to ``start`` for a hold)."""
        return self.route[-1]

    @property
    def direction(self) -> Point:
        """Unit vector from start to end in face units, or (0, 0) for a movement in place."""
        return unit(sub(self.end, self.start))

    def phase_at(self, seconds: float) -> float:
        """The phase in [0, 1) after ``seconds`` of movement (simulated time)."""
        return (seconds / self.period_s) % 1.0

    def _locate(self, phase: float) -> tuple[_Move, float]:
        t = (phase % 1.0) * self.period_s
        index = min(bisect_right(self._ends, t), len(self.moves) - 1)
        move = self.moves[index]
        begin = self._ends[index] - move.seconds
        fraction = (t - begin) / move.seconds if move.seconds > 0 else 1.0
        return move, min(max(fraction, 0.0), 1.0)

    def position_at(self, phase: float) -> Point:
        """The centre of the probes at ``phase`` (fraction of a period; any real number)."""
        move, fraction = self._locate(phase)
        return along(move.points, _smooth(fraction))

    def on_skin(self, phase: float) -> bool:
        """False while the probes are lifted and carried back to start again."""
        return self._locate(phase)[0].on_skin

    def spacing_at(self, phase: float) -> float:
        """Distance between the two probes (face units): it closes in a pinch."""
        move, fraction = self._locate(phase)
        low, high = move.spacing
        return low + (high - low) * _smooth(fraction)

    def probes_at(self, phase: float) -> tuple[Point, Point]:
        """Both probes: side by side across the movement (one behind the other on the orbital
        rim), or mirrored either side of the face."""
        centre = self.position_at(phase)
        if self.mirrored:
            return centre, (1.0 - centre[0], centre[1])
        dx, dy = self.facing
        normal = (-dy, dx) if (dx, dy) != (0.0, 0.0) else (1.0, 0.0)
        if self.in_line and (dx, dy) != (0.0, 0.0):
            normal = (dx, dy)
        half = self.spacing_at(phase) / 2
        return (
            off_eyes((centre[0] - normal[0] * half, centre[1] - normal[1] * half)),
            off_eyes((centre[0] + normal[0] * half, centre[1] + normal[1] * half)),
        )

    def describe(self) -> str:
        """``cheekbone → temple, hold and lift`` (or ``cheek, pinch and release`` in place)."""
        if self.toward:
            return f"{self.origin} → {self.toward}, {self.kind.value}"
        return f"{self.origin}, {self.kind.value}"

    def points(self) -> list[Point]:
        """Every point the drawing uses: route and strokes (mirrored too for a centre zone)."""
        found = list(self.route) + [p for stroke in self.strokes for p in stroke]
        if self.mirrored:
            found += [(1.0 - x, y) for x, y in found]
        return found


# ---------------------------------------------------------------------------------------------
# Reading a technique


def motion_for_step(step: Step, catalog: ZoneCatalog | None = None) -> ProbeMotion | None:
    """The probe motion for ``step``, drawn from its placement; None for a step without one:
    the console never guesses where the probes go (cached for the shipped zone catalog)."""
    if step.placement is None:
        return None
    hold_s = _hold_seconds(step.technique.lower())
    if catalog is None:
        return _cached_motion(step.zone, step.placement, hold_s)
    return motion_for_placement(step.zone, step.placement, catalog, hold_s)


@lru_cache(maxsize=256)
def _cached_motion(zone_id: str, placement: Placement, hold_s: float) -> ProbeMotion | None:
    return motion_for_placement(zone_id, placement, zone_catalog(), hold_s)


def motion_for_placement(
    zone_id: str,
    placement: Placement,
    catalog: ZoneCatalog,
    hold_s: float = 1.0,
) -> ProbeMotion | None:
    """The motion of a step's :class:`~console.placement.Placement` on zone ``zone_id``: the
    probes start between their two landmarks and the hands go toward ``toward`` (all the way for
    a glide, a hand's reach for the rest); None when the zone or a landmark is unknown.
    ``hold_s`` paces the animation only (the technique's "hold 2 s"): where the probes go comes
    from the placement alone."""
    zone = catalog.get(zone_id)
    if zone is None:
        return None
    probes = layout(placement, zone, catalog)
    if probes is None:
        return None
    kind = placement.motion
    sided = _Sided(zone, catalog)
    a, b = probes.start
    # A centre zone is drawn from the client's right half; the other probe mirrors it.
    start = snap_into(
        (a if a[0] <= b[0] else b) if zone.side is Side.CENTER else probes.centre, zone
    )
    target = probes.target
    if target is not None and zone.side is Side.CENTER and target[0] > 0.5:
        target = (1.0 - target[0], target[1])
    stroke_vector: Point | None = None
    if target is None and kind in (MotionKind.STROKES, MotionKind.CIRCLES):
        route = list(sided.axis(start))  # stations along the zone
    elif target is None:
        route = [start]
    else:
        route = [start, target]
        if kind is not MotionKind.GLIDE:
            route = truncate(route, _REACH[kind])
        if kind is MotionKind.STROKES:
            stroke_vector = scale(unit(sub(target, start)), STROKE_LENGTH)
        route = _avoid_eyes(route)
    outline = catalog.geometry.outline
    route = keep_clear([into_face(p, zone, outline) for p in route], outline)
    first, second = (landmark_name(key, catalog, sided=False) for key in placement.probes)
    return _build(
        kind=kind,
        zone=zone,
        route=tuple(route),
        stroke_vector=stroke_vector,
        origin=first if first == second else f"{first} and {second}",
        toward=landmark_name(placement.toward, catalog, sided=False) if placement.toward else "",
        hold_s=hold_s,
        mirrored=zone.side is Side.CENTER,
        catalog=catalog,
    )


def suggested_placement(
    zone_id: str, technique: str, catalog: ZoneCatalog | None = None
) -> Placement | None:
    """A placement read from a technique sentence, for an author to confirm (the editor offers
    it for steps that have none); None when the text gives nothing that passes the keep-out
    rules. Never used to run or draw a step: only a placement the author saved is."""
    catalog = catalog or zone_catalog()
    zone = catalog.get(zone_id)
    if zone is None:
        return None
    kind = motion_kind(technique)
    sided = _Sided(zone, catalog)
    named = mentions(technique)
    start, start_key, _ = _find_start(named, sided)
    aim = _find_aim(named, technique.lower(), kind, sided, start, start_key)
    probe = _known_landmark(start_key, zone, catalog) or _nearest_landmark(start, zone, catalog)
    toward = None
    if kind is not MotionKind.HOLD and aim.target is not None:
        named_key = aim.mention.key if aim.mention is not None else None
        toward = _known_landmark(named_key, zone, catalog) or _nearest_landmark(
            aim.target, zone, catalog
        )
    if toward == probe:
        toward = None  # a direction word that stays where it started says no landmark
    if kind in MOVING and toward is None:
        kind = MotionKind.HOLD
    probes = (f"{probe}_right", f"{probe}_left") if zone.side is Side.CENTER else (probe, probe)
    placement = Placement(probes, kind, toward)
    return None if placement_problems(placement, zone, catalog) else placement


def _known_landmark(key: str | None, zone: Zone, catalog: ZoneCatalog) -> str | None:
    """The landmark a mention's key stands for, if it names one."""
    if key == "lymph_nodes":
        return "collarbone" if zone.region == "neck" else "ear"
    key = _REGION_LANDMARK.get(key, key) if key else key
    return key if key in catalog.landmarks else None


def _nearest_landmark(point: Point, zone: Zone, catalog: ZoneCatalog) -> str:
    mirrored = zone.side is Side.LEFT
    return min(
        catalog.landmarks.values(),
        key=lambda lm: distance(point, (1.0 - lm.at[0], lm.at[1]) if mirrored else lm.at),
    ).key


def motion_kind(technique: str) -> MotionKind:
    """The kind of movement a technique sentence describes."""
    text = technique.lower()
    if "pinch" in text:
        return MotionKind.PINCH
    if "circle" in text or "circular" in text:
        return MotionKind.CIRCLES
    if "stroke" in text or "tapping" in text:
        return MotionKind.STROKES
    if "lift" in text or ("hold" in text and ("glide" in text or "move" in text)):
        return MotionKind.HOLD_AND_LIFT
    if any(word in text for word in ("glide", "sweep", "drain", "slide")):
        return MotionKind.GLIDE
    if "hold" in text or "still" in text:
        return MotionKind.HOLD
    return MotionKind.GLIDE if _has_way(text) else MotionKind.HOLD


def _has_way(text: str) -> bool:
    return any(re.search(rf"\b{word}\b", text) for word in ("to", "toward", "towards")) or any(
        word in text for word in _DIRECTION_WORDS
    )


def mentions(technique: str) -> list[Mention]:
    """Landmarks and regions named in ``technique``, in text order, each with its role."""
    text = technique.lower()
    found: list[tuple[int, int, str, bool]] = []
    taken: list[tuple[int, int]] = []
    for patterns, is_region in ((_LANDMARK_PATTERNS, False), (_REGION_PATTERNS, True)):
        for pattern, key in patterns:
            for match in re.finditer(rf"\b(?:{pattern})\b", text):
                span = match.span()
                if any(span[0] < end and start < span[1] for start, end in taken):
                    continue  # part of a more specific phrase already matched
                taken.append(span)
                found.append((span[0], span[1], key, is_region))
    found.sort()
    result: list[Mention] = []
    previous_end = 0
    for start, end, key, is_region in found:
        fragment = text[previous_end:start]
        clause_break = max(fragment.rfind(";"), fragment.rfind(":"))
        if clause_break >= 0:
            fragment = fragment[clause_break + 1 :]
        role = Role.PLACE
        for word in re.findall(r"[a-z]+", fragment):
            role = _ROLE_WORDS.get(word, role)
        clause = len(re.findall(r"[;:]", text[:start]))
        result.append(Mention(key, role, clause, is_region))
        previous_end = end
    return result


def motion_for(zone_id: str, technique: str, catalog: ZoneCatalog) -> ProbeMotion:
    """Read ``technique`` for zone ``zone_id`` into a :class:`ProbeMotion`."""
    zone = catalog[zone_id]
    kind = motion_kind(technique)
    text = technique.lower()
    sided = _Sided(zone, catalog)
    named = mentions(technique)
    start, start_key, origin = _find_start(named, sided)
    aim = _find_aim(named, text, kind, sided, start, start_key)
    if kind is MotionKind.HOLD:
        aim = _Aim(None, "", True, None, None)
    along_zone = next(
        (m for m in named if sided.is_own_region(m) and m.role in (Role.ALONG, Role.ACROSS)),
        None,
    )
    stroke_vector: Point | None = None
    toward = aim.toward
    stationed = kind in (MotionKind.STROKES, MotionKind.PINCH, MotionKind.CIRCLES)
    if stationed and along_zone is not None and aim.mention is None:
        route, stroke_vector = _along_zone(along_zone, aim, sided, start, start_key)
        if aim.target is None:
            toward = "along the " + REGION_NAMES.get(zone.region, "zone")
    else:
        route = _route(named, kind, aim, along_zone, sided, start)
    route = keep_clear(
        [into_face(p, zone, catalog.geometry.outline) for p in route], catalog.geometry.outline
    )
    if len(route) == 1 and kind not in (MotionKind.HOLD, MotionKind.PINCH):
        kind, toward = MotionKind.HOLD, ""
    return _build(
        kind=kind,
        zone=zone,
        route=tuple(route),
        stroke_vector=stroke_vector,
        origin=origin,
        toward=toward,
        hold_s=_hold_seconds(text),
        mirrored=zone.side is Side.CENTER,
        catalog=catalog,
    )


def _find_start(named: list[Mention], sided: _Sided) -> tuple[Point, str | None, str]:
    """Where the probes go down: "from X", else a landmark they are placed on in (or right next
    to) the zone, else the region's usual start. Returns the point, its landmark key, its name."""
    zone = sided.zone
    chosen: Mention | None = next(
        (m for m in named if m.role is Role.FROM and not sided.is_own_region(m)), None
    )
    if chosen is None:
        for mention in named:
            # A region word ("above the brow") says where the zone is, not where the probes sit.
            landmark_like = not mention.region or mention.key in _REGION_LANDMARK
            if (
                mention.role is Role.PLACE
                and landmark_like
                and not sided.is_own_region(mention)
                and distance_to_polygon(sided.point(mention), zone.polygon) <= _ON_ZONE
            ):
                chosen = mention
                break
    if chosen is None:
        return sided.region_start(), None, REGION_NAMES.get(zone.region, zone.name.lower())
    return snap_into(sided.point(chosen), zone), chosen.key, sided.name(chosen.key)


@dataclass(frozen=True, slots=True)
class _Aim:
    """Where the movement goes: a point and its name, whether all the way, and why."""

    target: Point | None
    toward: str
    full: bool  #: all the way to the target ("to"), or only a hand's reach ("toward")
    mention: Mention | None  #: the "to"/"toward" landmark, if the text names one
    direction: tuple[Point, str] | None  #: the direction words, if any


def _find_aim(
    named: list[Mention],
    text: str,
    kind: MotionKind,
    sided: _Sided,
    start: Point,
    start_key: str | None,
) -> _Aim:
    """The target: "to X", else direction words, else "across X", else a place the text names
    away from the zone, else weak words (up, out), else the region's usual way."""
    zone = sided.zone
    mention = next(
        (
            m
            for m in reversed(named)
            if m.role in (Role.TO, Role.TOWARD) and not sided.is_own_region(m)
        ),
        None,
    )
    direction = _direction(text, _DIRECTION_WORDS)
    if mention is not None:
        full = mention.role is Role.TO or kind is MotionKind.GLIDE
        return _Aim(sided.point(mention), sided.name(mention.key), full, mention, direction)
    if direction is not None:
        vector, name = direction
        target = add(start, scale(sided.mirror_vector(vector), _REACH[kind]))
        return _Aim(target, name, True, None, direction)
    across = next((m for m in named if m.role is Role.ACROSS and not sided.is_own_region(m)), None)
    elsewhere = next(
        (
            m
            for m in named
            if m.role is Role.PLACE
            and not sided.is_own_region(m)
            and m.key != start_key
            and distance_to_polygon(sided.point(m), zone.polygon) > _NEAR_ZONE
        ),
        None,
    )
    chosen = across or elsewhere
    if chosen is not None:
        return _Aim(sided.point(chosen), sided.name(chosen.key), chosen is across, None, None)
    weak = _direction(text, _WEAK_DIRECTION_WORDS)
    if weak is not None:
        vector, name = weak
        target = add(start, scale(sided.mirror_vector(vector), _REACH[kind]))
        return _Aim(target, name, True, None, None)
    if kind in (MotionKind.HOLD, MotionKind.PINCH):
        return _Aim(None, "", True, None, None)
    key = _REGION_TARGET.get(zone.region, "temple")
    if zone.region == "neck" and "lymph" in text:
        key = "collarbone"
    return _Aim(sided.landmark(key), LANDMARKS[key].name, False, None, None)


def _along_zone(
    along_zone: Mention, aim: _Aim, sided: _Sided, start: Point, start_key: str | None
) -> tuple[list[Point], Point | None]:
    """Stations along the zone's long axis ("strokes along the brow", "across the fold") and the
    stroke each makes there."""
    first, last = sided.axis(start if start_key else None)
    route = [first, last]
    stroke: Point | None = None
    if along_zone.role is Role.ACROSS or aim.direction is not None or aim.target is None:
        way = sub(aim.target, start) if aim.target is not None else sub(last, first)
        if along_zone.role is Role.ACROSS and aim.direction is None:
            axis = unit(sub(last, first))
            way = (-axis[1], axis[0])
        stroke = scale(unit(way), STROKE_LENGTH)
    if start_key is not None and stroke is not None:
        # "from the nose outward": the strokes begin on the named side of the zone.
        shift = scale(unit(stroke), -STROKE_LENGTH / 2)
        route = [snap_into(add(p, shift), sided.zone) for p in route]
    return route, stroke


def _route(
    named: list[Mention],
    kind: MotionKind,
    aim: _Aim,
    along_zone: Mention | None,
    sided: _Sided,
    start: Point,
) -> list[Point]:
    """Start to target, along the zone when the text says so, cut to a hand's reach for
    "toward", and round the eyes."""
    route = [start]
    if aim.target is None:
        return route
    # "from the chin along the jaw to the ear": the way follows the zone's long axis.
    clauses = {m.clause for m in named if m.role is Role.FROM}
    if aim.mention is not None:
        clauses.add(aim.mention.clause)
    if along_zone is not None and along_zone.role is Role.ALONG and along_zone.clause in clauses:
        waypoint = sided.axis_end_toward(start, aim.target)
        if between(start, waypoint, aim.target):
            route.append(waypoint)
    route.append(aim.target)
    if not aim.full:
        route = truncate(route, _REACH[kind])
    return _avoid_eyes(route)


def _direction(text: str, words: dict[str, object]) -> tuple[Point, str] | None:
    """Sum of the direction words in ``text`` (``outward and up``) and their names."""
    names: list[str] = []
    total = (0.0, 0.0)
    for word in re.findall(r"[a-z]+", text):
        word = word.removesuffix("s") if word.endswith("wards") else word
        strong = words.get(word)
        if strong is None:
            continue
        name = strong if isinstance(strong, str) else word
        if name in names:
            continue
        names.append(name)
        total = add(total, _DIRECTION_WORDS[name])
    if not names or total == (0.0, 0.0):
        return None
    return unit(total), " and ".join(names)


def _hold_seconds(text: str) -> float:
    match = re.search(r"hold(?: for)? (\d+(?:\.\d+)?) ?s\b", text)
    return float(match.group(1)) if match else 1.0


class _Sided:
    """Landmarks and region points on the zone's side of the face (mirrored for the left)."""

    def __init__(self, zone: Zone, catalog: ZoneCatalog) -> None:
        self.zone = zone
        self.catalog = catalog
        # Centre zones are drawn from the client's right half; the other probe mirrors it.
        self.left = zone.side is Side.LEFT

    def _mirror(self, point: Point) -> Point:
        return (1.0 - point[0], point[1]) if self.left else point

    def mirror_vector(self, vector: Point) -> Point:
        return (-vector[0], vector[1]) if self.left else vector

    def landmark(self, key: str) -> Point:
        return self._mirror(LANDMARKS[key].at)

    def is_own_region(self, mention: Mention) -> bool:
        return mention.region and mention.key == self.zone.region

    def _resolve(self, mention: Mention) -> str:
        """The landmark key a mention stands for (``lymph nodes`` depend on the region)."""
        if mention.key == "lymph_nodes":
            return "collarbone" if self.zone.region == "neck" else "ear"
        if mention.region:
            return _REGION_LANDMARK.get(mention.key, "")
        return mention.key

    def point(self, mention: Mention) -> Point:
        key = self._resolve(mention)
        if key:
            return self.landmark(key)
        # The region's zone on this side (or its centre zone), else any zone of the region.
        for zone in self.catalog.values():
            if zone.region == mention.key and zone.side in (self.zone.side, Side.CENTER):
                return zone.label_at
        for zone in self.catalog.values():
            if zone.region == mention.key:
                return zone.label_at
        return self.zone.label_at

    def name(self, key: str) -> str:
        if key == "lymph_nodes":
            return "collarbone" if self.zone.region == "neck" else "ear"
        if key in LANDMARKS:
            return LANDMARKS[key].name
        return REGION_NAMES.get(key, key)

    def region_start(self) -> Point:
        default = _REGION_START.get(self.zone.region)
        if default is None:
            return self.zone.label_at
        return snap_into(self._mirror(default), self.zone)

    def axis(self, near: Point | None) -> tuple[Point, Point]:
        """The zone's long axis, shortened to stay inside it; oriented from ``near`` if given,
        else medial to lateral (across) or top to bottom (up and down)."""
        xs = [p[0] for p in self.zone.polygon]
        ys = [p[1] for p in self.zone.polygon]
        cx, cy = sum(xs) / len(xs), sum(ys) / len(ys)
        sxx = sum((x - cx) ** 2 for x in xs)
        syy = sum((y - cy) ** 2 for y in ys)
        sxy = sum((x - cx) * (y - cy) for x, y in zip(xs, ys, strict=True))
        angle = 0.5 * math.atan2(2 * sxy, sxx - syy)
        axis = (math.cos(angle), math.sin(angle))
        spans = [(x - cx) * axis[0] + (y - cy) * axis[1] for x, y in self.zone.polygon]
        low, high = min(spans) * 0.7, max(spans) * 0.7
        first = (cx + axis[0] * low, cy + axis[1] * low)
        last = (cx + axis[0] * high, cy + axis[1] * high)
        if near is not None:
            if distance(near, last) < distance(near, first):
                first, last = last, first
        elif abs(axis[0]) >= abs(axis[1]):
            # Medial to lateral: away from the midline.
            if abs(first[0] - 0.5) > abs(last[0] - 0.5):
                first, last = last, first
        elif first[1] > last[1]:
            first, last = last, first
        return snap_into(first, self.zone), snap_into(last, self.zone)

    def axis_end_toward(self, start: Point, target: Point) -> Point:
        """The end of the zone's axis that lies further along the way from start to target."""
        first, last = self.axis(None)
        way = sub(target, start)
        return max((first, last), key=lambda p: dot(sub(p, start), way))


def _build(
    *,
    kind: MotionKind,
    zone: Zone,
    route: tuple[Point, ...],
    stroke_vector: Point | None,
    origin: str,
    toward: str,
    hold_s: float,
    mirrored: bool,
    catalog: ZoneCatalog,
) -> ProbeMotion:
    """The timed moves of one period for ``kind`` along ``route``."""
    moves: list[_Move] = []
    strokes: list[tuple[Point, ...]] = []
    length = path_length(route)
    outline = catalog.geometry.outline

    def lifted(begin: Point, end: Point, seconds: float) -> _Move:
        """Carried back through the air: drawn over the face too, so it keeps off the eyes."""
        return _Move(tuple(keep_clear((begin, end), outline)), seconds, False)

    if kind is MotionKind.HOLD_AND_LIFT:
        moves = [
            _Move((route[0],), 1.0, True),
            _Move(route, min(max(length / 0.04, 1.5), 4.0), True),
            _Move((route[-1],), 2.0, True),
            lifted(route[-1], route[0], 0.8),
        ]
        strokes = [route]
    elif kind is MotionKind.GLIDE:
        moves = [
            _Move(route, min(max(length / 0.06, 2.0), 6.0), True),
            lifted(route[-1], route[0], 1.0),
        ]
        strokes = [route]
    elif kind is MotionKind.STROKES:
        pieces = [tuple(keep_clear(pair, outline)) for pair in _stroke_pairs(route, stroke_vector)]
        for index, piece in enumerate(pieces):
            moves.append(_Move(piece, 0.4, True))
            following = pieces[(index + 1) % len(pieces)][0]
            moves.append(lifted(piece[-1], following, 0.25 if index + 1 < len(pieces) else 0.5))
            strokes.append(piece)
    elif kind is MotionKind.CIRCLES:
        loops = min(max(round(length / 0.02), 2), 6)
        trochoid = tuple(keep_clear(_trochoid(route, loops), outline))
        moves = [
            _Move(trochoid, 0.8 * loops, True),
            lifted(trochoid[-1], trochoid[0], 0.8),
        ]
        strokes = [trochoid]
    elif kind is MotionKind.PINCH:
        stations = _stations(route, min(max(round(length / 0.035) + 1, 1), 4))
        for index, point in enumerate(stations):
            following = stations[(index + 1) % len(stations)]
            moves += [
                _Move((point,), 0.6, True, (PROBE_SPACING, PINCHED_SPACING)),
                _Move((point,), hold_s, True, (PINCHED_SPACING, PINCHED_SPACING)),
                _Move((point,), 0.5, True, (PINCHED_SPACING, PROBE_SPACING)),
                lifted(point, following, 0.4 if len(stations) > 1 else 0.3),
            ]
        strokes = [(point,) for point in stations]
    else:
        moves = [_Move((route[0],), 4.0, True)]
        strokes = [(route[0],)]
    period = sum(move.seconds for move in moves)
    facing = unit(sub(strokes[0][-1], strokes[0][0]))
    if kind is MotionKind.CIRCLES or facing == (0.0, 0.0):
        facing = unit(sub(route[-1], route[0]))
    return ProbeMotion(
        kind=kind,
        zone=zone.id,
        side=zone.side,
        route=route,
        strokes=tuple(strokes),
        origin=origin,
        toward=toward,
        period_s=period,
        mirrored=mirrored,
        facing=facing,
        in_line=zone.region == "eye",
        moves=tuple(moves),
    )


def _stroke_pairs(route: tuple[Point, ...], vector: Point | None) -> list[tuple[Point, Point]]:
    """Short strokes: along the route (each a piece of it), or from stations along the route in
    the direction ``vector``."""
    length = path_length(route)
    if vector is None:
        count = min(max(round(length / 0.02), 2), 5)
        stroke = min(STROKE_LENGTH, length / 2)
        starts = _stations(truncate(list(route), max(length - stroke, 1e-6)), count)
        way = unit(sub(route[-1], route[0]))
        return [(p, add(p, scale(way, stroke))) for p in starts]
    count = min(max(round(length / 0.03) + 1, 3), 5)
    return [(p, add(p, vector)) for p in _stations(route, count)]


def _stations(route: tuple[Point, ...] | list[Point], count: int) -> list[Point]:
    if count <= 1 or path_length(route) == 0:
        return [route[0]]
    return [along(tuple(route), i / (count - 1)) for i in range(count)]


def _trochoid(route: tuple[Point, ...], loops: int) -> tuple[Point, ...]:
    """Small circles whose centre moves along ``route`` (the toning "small circles")."""
    samples = 24 * loops
    points = []
    for i in range(samples + 1):
        fraction = i / samples
        cx, cy = along(route, fraction)
        angle = 2 * math.pi * loops * fraction
        # Starts and ends on the route itself, so that the lifted return meets it.
        points.append(
            (cx + CIRCLE_RADIUS * math.sin(angle), cy - CIRCLE_RADIUS * (1 - math.cos(angle)))
        )
    return tuple(points)


def _avoid_eyes(route: list[Point]) -> list[Point]:
    """Route round the orbital rim any segment that would pass over an eye."""
    result = [route[0]]
    for end in route[1:]:
        begin = result[-1]
        for centre, axes in eye_keep_outs():
            if segment_in_ellipse(begin, end, centre, axes):
                rim = LANDMARKS["outer_eye"].at
                rim = rim if centre[0] < 0.5 else (1.0 - rim[0], rim[1])
                if distance(rim, begin) > 1e-6 and distance(rim, end) > 1e-6:
                    result.append(rim)
                break
        result.append(end)
    return result


def _smooth(fraction: float) -> float:
    """Ease in and out, so the probes start and stop without a jump in speed."""
    return fraction * fraction * (3.0 - 2.0 * fraction)
