"""Facial zones (``console/zones.py``) and the shipped geometry (``resources/face_zones.json``).

The geometry is checked with a point-in-polygon test written here: zones mirror each other,
sit on the right side of the drawing, do not overlap, stay inside the face, and carry their
labels inside. Malformed resource data must fail with a :class:`ZoneDataError` that names the
zone and the field.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import numpy as np
import pytest

from console.zones import (
    Point,
    Side,
    Zone,
    ZoneCatalog,
    ZoneDataError,
    ZoneLimits,
    parse_zone_catalog,
    zone_catalog,
)

MIRROR_TOLERANCE = 1e-9
#: Grid spacing for the sampled geometry checks, in face-map units.
GRID_STEP = 0.002


def _raw_resource() -> dict[str, Any]:
    text = resources.files("resources").joinpath("face_zones.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _inside(polygon: tuple[Point, ...], xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Even-odd ray casting toward +x, vectorised over the points ``(xs, ys)``."""
    result = np.zeros(xs.shape, dtype=bool)
    count = len(polygon)
    for i in range(count):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % count]
        if y1 == y2:
            continue  # a horizontal edge never crosses a horizontal ray
        straddles = (y1 > ys) != (y2 > ys)
        crossing_x = x1 + (ys - y1) * (x2 - x1) / (y2 - y1)
        result ^= straddles & (xs < crossing_x)
    return result


def _inside_point(polygon: tuple[Point, ...], point: Point) -> bool:
    return bool(_inside(polygon, np.array([point[0]]), np.array([point[1]]))[0])


def _grid() -> tuple[np.ndarray, np.ndarray]:
    # Offset by half a step so that grid points avoid the round coordinates of the vertices.
    axis = np.arange(GRID_STEP / 2, 1.0, GRID_STEP)
    xs, ys = np.meshgrid(axis, axis)
    return xs.ravel(), ys.ravel()


def _mirror_id(zone_id: str) -> str:
    if zone_id.endswith("_left"):
        return zone_id.removesuffix("_left") + "_right"
    if zone_id.endswith("_right"):
        return zone_id.removesuffix("_right") + "_left"
    raise AssertionError(f"{zone_id} has no side suffix")


def _sorted_points(points: tuple[Point, ...]) -> list[Point]:
    return sorted((round(x, 9), round(y, 9)) for x, y in points)


@pytest.fixture(scope="module")
def catalog() -> ZoneCatalog:
    return zone_catalog()


# ---------------------------------------------------------------------------------------------
# The shipped catalog


def test_shipped_catalog_loads(catalog: ZoneCatalog) -> None:
    assert isinstance(catalog, ZoneCatalog)
    assert all(isinstance(zone, Zone) for zone in catalog.values())
    assert zone_catalog() is catalog  # loaded once
    assert len(catalog.geometry.outline) >= 3
    assert {"eyes", "nose", "mouth"} <= set(catalog.geometry.features)


def test_catalog_has_16_zones(catalog: ZoneCatalog) -> None:
    assert len(catalog) == 16
    assert len(list(catalog)) == 16


def test_mapping_access_and_regions(catalog: ZoneCatalog) -> None:
    assert catalog["cheek_left"].name == "Cheek, left"
    assert "ear_left" not in catalog
    with pytest.raises(KeyError):
        catalog["ear_left"]
    assert next(iter(catalog)) == "forehead_right"  # top of the face first
    assert catalog.regions() == [
        "forehead",
        "brow",
        "eye",
        "cheek",
        "nasolabial",
        "upper_lip",
        "jawline",
        "chin",
        "neck",
    ]


def test_zone_ids_carry_their_side(catalog: ZoneCatalog) -> None:
    for zone_id, zone in catalog.items():
        assert zone.id == zone_id
        if zone.side is Side.CENTER:
            assert zone_id == zone.region
        else:
            assert zone_id == f"{zone.region}_{zone.side.value}"


def test_every_sided_zone_has_a_mirror_image_partner(catalog: ZoneCatalog) -> None:
    sided = [z for z in catalog.values() if z.side in (Side.LEFT, Side.RIGHT)]
    assert len(sided) == 14
    for zone in sided:
        partner = catalog[_mirror_id(zone.id)]
        assert partner.side != zone.side
        assert partner.region == zone.region
        mirrored = tuple((1.0 - x, y) for x, y in zone.polygon)
        assert _sorted_points(mirrored) == _sorted_points(partner.polygon), zone.id
        assert partner.label_at == pytest.approx((1.0 - zone.label_at[0], zone.label_at[1]))
        assert partner.placement_warning == zone.placement_warning


def test_center_zones_are_their_own_mirror_image(catalog: ZoneCatalog) -> None:
    centers = [z for z in catalog.values() if z.side is Side.CENTER]
    assert {z.id for z in centers} == {"upper_lip", "chin"}
    for zone in centers:
        mirrored = tuple((1.0 - x, y) for x, y in zone.polygon)
        assert _sorted_points(mirrored) == _sorted_points(zone.polygon), zone.id
        assert zone.label_at[0] == pytest.approx(0.5)


def test_clients_left_is_drawn_on_the_viewers_right(catalog: ZoneCatalog) -> None:
    for zone in catalog.values():
        xs = [x for x, _ in zone.polygon]
        if zone.side is Side.LEFT:
            assert min(xs) > 0.5, zone.id
        elif zone.side is Side.RIGHT:
            assert max(xs) < 0.5, zone.id
        else:
            assert min(xs) < 0.5 < max(xs), zone.id


def test_zone_polygons_do_not_overlap(catalog: ZoneCatalog) -> None:
    xs, ys = _grid()
    inside_count = np.zeros(xs.shape, dtype=int)
    for zone in catalog.values():
        inside = _inside(zone.polygon, xs, ys)
        assert inside.sum() > 20, f"{zone.id} is too small for the sampling grid"
        inside_count += inside
    overlapping = np.flatnonzero(inside_count > 1)
    assert overlapping.size == 0, [
        (round(float(xs[i]), 3), round(float(ys[i]), 3)) for i in overlapping[:5]
    ]


def test_every_zone_lies_inside_the_face_outline(catalog: ZoneCatalog) -> None:
    outline = catalog.geometry.outline
    xs, ys = _grid()
    in_face = _inside(outline, xs, ys)
    for zone in catalog.values():
        for vertex in zone.polygon:
            assert _inside_point(outline, vertex), (zone.id, vertex)
        in_zone = _inside(zone.polygon, xs, ys)
        assert np.all(in_face[in_zone]), zone.id


def test_each_label_lies_inside_its_zone(catalog: ZoneCatalog) -> None:
    for zone in catalog.values():
        assert _inside_point(zone.polygon, zone.label_at), zone.id


@pytest.mark.parametrize(
    ("region", "phrase"),
    [("eye", "orbital bone"), ("neck", "carotid"), ("forehead", "hairline")],
)
def test_delicate_zones_carry_a_placement_warning(
    catalog: ZoneCatalog, region: str, phrase: str
) -> None:
    zones = [z for z in catalog.values() if z.region == region]
    assert len(zones) == 2
    for zone in zones:
        assert zone.placement_warning, zone.id
        assert phrase in zone.placement_warning, zone.id


def test_zones_without_a_warning_have_none_not_an_empty_string(catalog: ZoneCatalog) -> None:
    assert catalog["cheek_left"].placement_warning is None
    assert all(z.placement_warning is None or z.placement_warning for z in catalog.values())


# The point-in-polygon helper must itself be right, or the geometry tests prove nothing.
def test_point_in_polygon_helper() -> None:
    square = ((0.2, 0.2), (0.6, 0.2), (0.6, 0.6), (0.2, 0.6))
    assert _inside_point(square, (0.4, 0.4))
    assert not _inside_point(square, (0.7, 0.4))
    assert not _inside_point(square, (0.1, 0.1))
    notch = ((0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.5, 0.3), (0.1, 0.9))  # concave
    assert _inside_point(notch, (0.2, 0.2))
    assert not _inside_point(notch, (0.5, 0.8))


# ---------------------------------------------------------------------------------------------
# parse_zone_catalog errors


def _broken(index: int, change: Any) -> dict[str, Any]:
    data = copy.deepcopy(_raw_resource())
    change(data["zones"][index])
    return data


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ZoneDataError) as caught:
        parse_zone_catalog(data)
    assert isinstance(caught.value, ValueError)
    return str(caught.value)


def test_resource_parses_to_the_shipped_catalog(catalog: ZoneCatalog) -> None:
    parsed = parse_zone_catalog(_raw_resource())
    assert dict(parsed) == dict(catalog)


@pytest.mark.parametrize("field", ["id", "name", "region", "side", "polygon", "label_at"])
def test_missing_field_names_zone_and_field(field: str) -> None:
    message = _error(_broken(6, lambda zone: zone.pop(field)))
    assert message.startswith("zone #7 (")
    assert f"'{field}'" in message
    if field != "id":
        assert "cheek_right" in message


def test_missing_placement_warning_is_allowed() -> None:
    parsed = parse_zone_catalog(_broken(4, lambda zone: zone.pop("placement_warning")))
    assert parsed["eye_right"].placement_warning is None


def test_duplicate_id_names_zone_and_id() -> None:
    message = _error(_broken(3, lambda zone: zone.update(id="brow_right")))
    assert message.startswith("zone #4 (brow_right)")
    assert "id 'brow_right' appears twice" in message


@pytest.mark.parametrize("point", [[1.5, 0.2], [0.2, -0.1], [1.0001, 1.0]])
def test_point_outside_unit_square_names_zone(point: list[float]) -> None:
    message = _error(_broken(6, lambda zone: zone["polygon"].__setitem__(1, point)))
    assert message.startswith("zone #7 (cheek_right)")
    assert "outside the unit square" in message


def test_polygon_with_two_points_names_zone_and_polygon() -> None:
    message = _error(_broken(6, lambda zone: zone.update(polygon=[[0.1, 0.1], [0.2, 0.2]])))
    assert message.startswith("zone #7 (cheek_right)")
    assert "polygon needs at least 3 points, got 2" in message


@pytest.mark.parametrize("side", ["up", "Left", "", 1])
def test_bad_side_names_zone_and_side(side: Any) -> None:
    message = _error(_broken(6, lambda zone: zone.update(side=side)))
    assert message.startswith("zone #7 (cheek_right)")
    assert "side" in message.lower()
    assert repr(side) in message


@pytest.mark.parametrize("point", [["a", 0.2], [0.2], [0.1, 0.2, 0.3], None, 0.5])
def test_non_numeric_point_names_zone(point: Any) -> None:
    message = _error(_broken(6, lambda zone: zone["polygon"].__setitem__(2, point)))
    assert message.startswith("zone #7 (cheek_right)")
    assert f"{point!r} is not an [x, y] point" in message


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("polygon", lambda zone: zone["polygon"].__setitem__(1, [1.5, 0.2])),
        ("polygon", lambda zone: zone["polygon"].__setitem__(1, ["a", 0.2])),
        ("label_at", lambda zone: zone.update(label_at=[1.5, 0.2])),
        ("label_at", lambda zone: zone.update(label_at=["a", 0.2])),
    ],
    ids=["polygon-outside", "polygon-non-numeric", "label-outside", "label-non-numeric"],
)
def test_point_errors_name_the_field_once(field: str, change: Any) -> None:
    message = _error(_broken(6, change))
    assert field in message
    assert message.count("cheek_right") == 1, message


def test_missing_top_level_fields_are_named() -> None:
    data = _raw_resource()
    del data["outline"]
    with pytest.raises(ZoneDataError, match="'outline'"):
        parse_zone_catalog(data)
    data = _raw_resource()
    del data["zones"]
    with pytest.raises(ZoneDataError, match="'zones'"):
        parse_zone_catalog(data)


LIMITS = {
    "max_current_ua": 300,
    "max_minutes": 4,
    "monophasic_dc": False,
    "max_net_charge_uc": 1000,
    "why": "Small and close to the eye.",
}


def _one_zone(limits: object) -> dict[str, object]:
    zone = {
        "id": "a",
        "name": "A",
        "region": "a",
        "side": "center",
        "polygon": [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]],
        "label_at": [0.5, 0.4],
    }
    if limits is not None:
        zone["limits"] = limits
    return {"outline": [[0, 0], [1, 0], [1, 1], [0, 1]], "zones": [zone]}


def test_minimal_catalog_parses() -> None:
    data = _one_zone(dict(LIMITS))
    data["zones"][0]["placement_warning"] = ""  # type: ignore[index]
    parsed = parse_zone_catalog(data)
    assert list(parsed) == ["a"]
    zone = parsed["a"]
    assert zone.side is Side.CENTER
    assert zone.polygon == ((0.1, 0.1), (0.9, 0.1), (0.5, 0.9))
    assert zone.placement_warning is None  # an empty warning counts as none
    assert zone.limits == ZoneLimits(300.0, 240.0, False, 1000.0, "Small and close to the eye.")
    assert parsed.geometry.features == {}


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (None, "lacks the 'limits' field"),
        ("strict", "limits must be an object"),
        ({k: v for k, v in LIMITS.items() if k != "why"}, "limits lack why"),
        ({**LIMITS, "max_current_ua": 0}, "limits.max_current_ua must be a positive number"),
        ({**LIMITS, "max_minutes": "4"}, "limits.max_minutes must be a positive number"),
        ({**LIMITS, "max_net_charge_uc": True}, "limits.max_net_charge_uc must be a positive"),
        ({**LIMITS, "monophasic_dc": "no"}, "limits.monophasic_dc must be true or false"),
        ({**LIMITS, "max_current_ua": 1200}, "limits.max_current_ua is above 1000 µA"),
    ],
)
def test_a_zone_without_sound_limits_is_a_data_error_never_a_zone_without_limits(
    limits: object, message: str
) -> None:
    with pytest.raises(ZoneDataError, match=message):
        parse_zone_catalog(_one_zone(limits))


def test_every_shipped_zone_has_limits_with_their_reason_and_the_sources_are_given() -> None:
    catalog = zone_catalog()
    for zone in catalog.values():
        limits = zone.limits
        assert 0 < limits.max_current_ua <= 600, zone.id
        assert 4 * 60 <= limits.max_session_s <= 10 * 60, zone.id
        assert 0 < limits.max_net_charge_uc <= 3000, zone.id
        assert limits.why.strip(), zone.id
    # Lower around the eyes than anywhere else; no direct current near the eyes, lips or neck.
    eye = catalog["eye_right"].limits
    assert eye.max_current_ua == min(z.limits.max_current_ua for z in catalog.values())
    for zone_id in ("eye_right", "eye_left", "upper_lip", "neck_right", "neck_left", "brow_left"):
        assert not catalog[zone_id].limits.monophasic_dc, zone_id
    assert set(catalog.limit_sources) == {
        "max_current_ua",
        "max_minutes",
        "monophasic_dc",
        "max_net_charge_uc",
    }
