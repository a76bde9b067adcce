"""Facial zones: ids, names, sides, placement warnings, and the geometry the face map draws.

The data lives in ``resources/face_zones.json`` so that the map and the protocols read the same
source. Sides are the *client's* left and right (as a practitioner says "left cheek"); on a face
seen from the front the client's left is drawn on the viewer's right.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

ZONES_RESOURCE = "face_zones.json"


class Side(enum.StrEnum):
    """Which side of the face a zone is on, from the client's point of view."""

    LEFT = "left"
    RIGHT = "right"
    CENTER = "center"


Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class ZoneLimits:
    """What a treatment may do on one zone in one session (safety rules 8 and 9).

    ``max_current_ua``: the highest step setting; ``max_session_s``: the most time the protocol
    may spend on the zone; ``monophasic_dc``: whether pulses that never reverse (all charge one
    way) are allowed; ``max_net_charge_uc``: the most signed charge the zone may receive, planned
    and measured. ``why`` says, for the operator, why this zone has these numbers.
    """

    max_current_ua: float
    max_session_s: float
    monophasic_dc: bool
    max_net_charge_uc: float
    why: str


@dataclass(frozen=True, slots=True)
class Zone:
    """One treatable area of the face.

    ``polygon`` and ``label_at`` are in face-map units: x and y in [0, 1], y growing downwards.
    ``placement_warning`` is shown wherever the zone is offered (IEC 60601-2-10 placement rules).
    """

    id: str
    name: str
    region: str
    side: Side
    polygon: tuple[Point, ...]
    label_at: Point
    limits: ZoneLimits
    placement_warning: str | None = None


@dataclass(frozen=True, slots=True)
class Landmark:
    """A named place on the face where a probe can sit; ``at`` is on the client's right side
    (the viewer's left); the left side mirrors it."""

    key: str
    name: str
    at: Point


@dataclass(frozen=True, slots=True)
class KeepOut:
    """Where current must never flow: a polygon (an eye, the front of the neck) or a line it
    must never cross (the midline of the head). ``why`` gives the reason and its source."""

    id: str
    name: str
    why: str
    polygon: tuple[Point, ...] = ()
    line: tuple[Point, Point] | None = None


@dataclass(frozen=True, slots=True)
class FaceGeometry:
    """The face outline and decorative features the map draws under the zones."""

    outline: tuple[Point, ...]
    features: Mapping[str, tuple[tuple[Point, ...], ...]]


class ZoneCatalog(Mapping[str, Zone]):
    """All zones by id, in the order the resource lists them (top of the face first)."""

    def __init__(
        self,
        zones: list[Zone],
        geometry: FaceGeometry,
        limit_sources: Mapping[str, str] | None = None,
        landmarks: Mapping[str, Landmark] | None = None,
        keep_outs: tuple[KeepOut, ...] = (),
    ) -> None:
        self._zones = {zone.id: zone for zone in zones}
        self.geometry = geometry
        #: Where probes can sit, by key (client's right side; mirrored for the left).
        self.landmarks: Mapping[str, Landmark] = dict(landmarks or {})
        #: Where current must never flow (checked against every step's placement).
        self.keep_outs = keep_outs
        #: For each limit of :class:`ZoneLimits` (by its resource key), the basis of its numbers.
        self.limit_sources: Mapping[str, str] = dict(limit_sources or {})

    def __getitem__(self, zone_id: str) -> Zone:
        return self._zones[zone_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._zones)

    def __len__(self) -> int:
        return len(self._zones)

    def regions(self) -> list[str]:
        """Distinct region names (``cheek``, ``jawline``...) in face order."""
        return list(dict.fromkeys(zone.region for zone in self._zones.values()))


class ZoneDataError(ValueError):
    """The zone resource is malformed; the message names the entry and field."""


@cache
def zone_catalog() -> ZoneCatalog:
    """The catalog shipped in ``resources/`` (loaded once)."""
    text = resources.files("resources").joinpath(ZONES_RESOURCE).read_text(encoding="utf-8")
    return parse_zone_catalog(json.loads(text))


def parse_zone_catalog(data: Mapping[str, Any]) -> ZoneCatalog:
    """Build a catalog from the resource's JSON structure, with errors that name what is wrong."""
    try:
        raw_zones = data["zones"]
        outline = _polygon(data["outline"], "outline")
    except KeyError as missing:
        raise ZoneDataError(f"zone resource lacks the {missing} field") from None
    features = {
        name: tuple(_polygon(shape, f"features.{name}") for shape in shapes)
        for name, shapes in data.get("features", {}).items()
    }
    zones: list[Zone] = []
    seen: set[str] = set()
    if not isinstance(raw_zones, list):
        raise ZoneDataError("zones must be a list of zone objects")
    for index, raw in enumerate(raw_zones):
        if not isinstance(raw, Mapping):
            raise ZoneDataError(f"zone #{index + 1} is not an object with fields")
        where = f"zone #{index + 1} ({raw.get('id', '?')})"
        try:
            side = raw["side"]
            if side not in {s.value for s in Side}:
                raise ZoneDataError(
                    f"{where}: side {side!r} is not one of {', '.join(s.value for s in Side)}"
                )
            zone = Zone(
                id=str(raw["id"]),
                name=str(raw["name"]),
                region=str(raw["region"]),
                side=Side(side),
                polygon=_polygon(raw["polygon"], f"{where} polygon"),
                label_at=_point(raw["label_at"], f"{where} label_at"),
                limits=_limits(raw["limits"], where),
                placement_warning=raw.get("placement_warning") or None,
            )
        except KeyError as missing:
            raise ZoneDataError(f"{where} lacks the {missing} field") from None
        if zone.id in seen:
            raise ZoneDataError(f"{where}: id {zone.id!r} appears twice")
        seen.add(zone.id)
        zones.append(zone)
    sources = data.get("limit_sources", {})
    if not isinstance(sources, Mapping) or not all(isinstance(v, str) for v in sources.values()):
        raise ZoneDataError("limit_sources must map each limit to a sentence")
    return ZoneCatalog(
        zones,
        FaceGeometry(outline=outline, features=features),
        sources,
        _landmarks(data.get("landmarks", {})),
        _keep_outs(data.get("keep_outs", [])),
    )


def _landmarks(raw: Any) -> dict[str, Landmark]:
    if not isinstance(raw, Mapping):
        raise ZoneDataError("landmarks must map each key to a name and a point")
    found = {}
    for key, entry in raw.items():
        if not isinstance(entry, Mapping) or "name" not in entry or "at" not in entry:
            raise ZoneDataError(f"landmark {key!r} needs a name and an [x, y] point (at)")
        at = _point(entry["at"], f"landmark {key!r}")
        if at[0] > 0.5:
            raise ZoneDataError(f"landmark {key!r} must be given on the client's right (x ≤ 0.5)")
        found[str(key)] = Landmark(str(key), str(entry["name"]), at)
    return found


def _keep_outs(raw: Any) -> tuple[KeepOut, ...]:
    if not isinstance(raw, list):
        raise ZoneDataError("keep_outs must be a list")
    found = []
    for index, entry in enumerate(raw):
        where = f"keep-out #{index + 1}"
        if not isinstance(entry, Mapping) or not {"id", "name", "why"} <= set(entry):
            raise ZoneDataError(f"{where} needs an id, a name and a reason (why)")
        if ("polygon" in entry) == ("line" in entry):
            raise ZoneDataError(f"{where} ({entry['id']}) needs either a polygon or a line")
        if "line" in entry:
            line = entry["line"]
            if not isinstance(line, list) or len(line) != 2:
                raise ZoneDataError(f"{where} ({entry['id']}): a line is two [x, y] points")
            ends = (_point(line[0], where), _point(line[1], where))
            found.append(
                KeepOut(str(entry["id"]), str(entry["name"]), str(entry["why"]), line=ends)
            )
        else:
            polygon = _polygon(entry["polygon"], where)
            found.append(KeepOut(str(entry["id"]), str(entry["name"]), str(entry["why"]), polygon))
    return tuple(found)


_LIMIT_NUMBERS = ("max_current_ua", "max_minutes", "max_net_charge_uc")


def _limits(raw: Any, where: str) -> ZoneLimits:
    """A zone's limits: every number positive, nothing defaulted (a zone without limits is an
    error in the data, never a zone without limits)."""
    if not isinstance(raw, Mapping):
        raise ZoneDataError(f"{where}: limits must be an object of fields")
    missing = [key for key in (*_LIMIT_NUMBERS, "monophasic_dc", "why") if key not in raw]
    if missing:
        raise ZoneDataError(f"{where}: limits lack {', '.join(missing)}")
    for key in _LIMIT_NUMBERS:
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ZoneDataError(f"{where}: limits.{key} must be a positive number, got {value!r}")
    if not isinstance(raw["monophasic_dc"], bool):
        raise ZoneDataError(f"{where}: limits.monophasic_dc must be true or false")
    if raw["max_current_ua"] > 1000:
        raise ZoneDataError(f"{where}: limits.max_current_ua is above 1000 µA")
    return ZoneLimits(
        max_current_ua=float(raw["max_current_ua"]),
        max_session_s=float(raw["max_minutes"]) * 60.0,
        monophasic_dc=raw["monophasic_dc"],
        max_net_charge_uc=float(raw["max_net_charge_uc"]),
        why=str(raw["why"]),
    )


def _polygon(raw: Any, where: str) -> tuple[Point, ...]:
    if not isinstance(raw, list | tuple):
        raise ZoneDataError(f"{where}: a polygon must be a list of [x, y] points, got {raw!r}")
    points = tuple(_point(p, where) for p in raw)
    if len(points) < 3:
        raise ZoneDataError(f"{where}: a polygon needs at least 3 points, got {len(points)}")
    return points


def _point(raw: Any, where: str) -> Point:
    if not isinstance(raw, list | tuple):  # a string such as "01" must not pass as (0, 1)
        raise ZoneDataError(f"{where}: {raw!r} is not an [x, y] point")
    try:
        x, y = (float(v) for v in raw)
    except (TypeError, ValueError):
        raise ZoneDataError(f"{where}: {raw!r} is not an [x, y] point") from None
    if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        raise ZoneDataError(f"{where}: point {raw!r} lies outside the unit square")
    return (x, y)
