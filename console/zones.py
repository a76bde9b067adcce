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
    placement_warning: str | None = None


@dataclass(frozen=True, slots=True)
class FaceGeometry:
    """The face outline and decorative features the map draws under the zones."""

    outline: tuple[Point, ...]
    features: Mapping[str, tuple[tuple[Point, ...], ...]]


class ZoneCatalog(Mapping[str, Zone]):
    """All zones by id, in the order the resource lists them (top of the face first)."""

    def __init__(self, zones: list[Zone], geometry: FaceGeometry) -> None:
        self._zones = {zone.id: zone for zone in zones}
        self.geometry = geometry

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
                placement_warning=raw.get("placement_warning") or None,
            )
        except KeyError as missing:
            raise ZoneDataError(f"{where} lacks the {missing} field") from None
        if zone.id in seen:
            raise ZoneDataError(f"{where}: id {zone.id!r} appears twice")
        seen.add(zone.id)
        zones.append(zone)
    return ZoneCatalog(zones, FaceGeometry(outline=outline, features=features))


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
