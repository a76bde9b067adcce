"""Geometry on the face drawing (face units: x and y in [0, 1], y down), shared by the probe paths.

Plain functions on points and polylines: inside a polygon, snapped into a zone, kept on the face
and off the eyes. No Qt.
"""

from __future__ import annotations

import math
from functools import cache
from itertools import pairwise

from console.zones import Point, Zone, zone_catalog

#: How far the keep-out ellipse round each eye reaches beyond the eye drawn on the map (face
#: units, horizontally and vertically): the probes stay on the orbital bone, never on the lid.
EYE_MARGIN = (0.015, 0.017)


@cache
def eye_keep_outs() -> tuple[tuple[Point, tuple[float, float]], ...]:
    """(centre, half-axes) of the ellipse a path keeps out of, for each eye of the face drawing
    (``resources/face_zones.json``), so the rule follows the eyes the map shows."""
    ellipses = []
    for shape in zone_catalog().geometry.features["eyes"]:
        xs, ys = [p[0] for p in shape], [p[1] for p in shape]
        centre = ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)
        axes = ((max(xs) - min(xs)) / 2 + EYE_MARGIN[0], (max(ys) - min(ys)) / 2 + EYE_MARGIN[1])
        ellipses.append((centre, axes))
    return tuple(ellipses)


def inside_polygon(point: Point, polygon: tuple[Point, ...]) -> bool:
    """Even-odd point-in-polygon test."""
    x, y = point
    inside = False
    count = len(polygon)
    for i in range(count):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % count]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def closest_on_segment(point: Point, a: Point, b: Point) -> Point:
    """The point of segment ``a``–``b`` nearest to ``point``."""
    ab = sub(b, a)
    denominator = dot(ab, ab)
    t = 0.0 if denominator == 0 else min(max(dot(sub(point, a), ab) / denominator, 0.0), 1.0)
    return add(a, scale(ab, t))


def distance_to_polygon(point: Point, polygon: tuple[Point, ...]) -> float:
    """0 inside the polygon, else the distance to its nearest edge."""
    if inside_polygon(point, polygon):
        return 0.0
    return min(
        distance(point, closest_on_segment(point, polygon[i], polygon[(i + 1) % len(polygon)]))
        for i in range(len(polygon))
    )


def snap_into(point: Point, zone: Zone) -> Point:
    """``point`` if it is in the zone, else the nearest point just inside the zone's edge."""
    if inside_polygon(point, zone.polygon):
        return point
    polygon = zone.polygon
    edge = min(
        (
            closest_on_segment(point, polygon[i], polygon[(i + 1) % len(polygon)])
            for i in range(len(polygon))
        ),
        key=lambda p: distance(point, p),
    )
    inward = unit(sub(zone.label_at, edge))
    # Just inside the edge; a thin or curved zone may need a longer step (or its label point).
    for depth in (0.008, 0.004, 0.015, 0.03):
        candidate = add(edge, scale(inward, depth))
        if inside_polygon(candidate, polygon):
            return candidate
    return zone.label_at


def into_face(point: Point, zone: Zone, outline: tuple[Point, ...]) -> Point:
    """Pull a point that fell outside the face outline back toward the zone until it is inside."""
    if inside_polygon(point, outline):
        return point
    for i in range(1, 21):
        candidate = add(point, scale(sub(zone.label_at, point), i / 20))
        if inside_polygon(candidate, outline):
            return candidate
    return zone.label_at


def segment_in_ellipse(a: Point, b: Point, centre: Point, radii: Point) -> bool:
    """True when segment ``a``–``b`` enters the ellipse (sampled: segments here are short)."""
    for i in range(41):
        x, y = add(a, scale(sub(b, a), i / 40))
        if ((x - centre[0]) / radii[0]) ** 2 + ((y - centre[1]) / radii[1]) ** 2 < 1.0:
            return True
    return False


def off_eyes(point: Point) -> Point:
    """``point``, or, if it lies over an eye, the nearest point just outside the keep-out."""
    for centre, axes in eye_keep_outs():
        dx = (point[0] - centre[0]) / axes[0]
        dy = (point[1] - centre[1]) / axes[1]
        radius = math.hypot(dx, dy)
        if radius < 1.0:
            if radius == 0.0:
                dx, dy, radius = 0.0, 1.0, 1.0  # dead centre: out below, onto the orbital bone
            factor = 1.05 / radius  # just outside the keep-out, along the same ray
            return (
                centre[0] + dx * factor * axes[0],
                centre[1] + dy * factor * axes[1],
            )
    return point


def on_face(point: Point, outline: tuple[Point, ...]) -> Point:
    """``point`` off the eyes and, if it fell off the face, moved toward the midline onto it
    (every height of the drawing crosses the face at x = 0.5)."""
    point = off_eyes(point)
    if inside_polygon(point, outline):
        return point
    middle = (0.5, min(max(point[1], 0.06), 0.98))
    for i in range(1, 101):
        candidate = add(point, scale(sub(middle, point), i / 100))
        if inside_polygon(candidate, outline):
            inward = scale(unit(sub(middle, candidate)), 0.006)  # a margin from the edge
            return off_eyes(add(candidate, inward))
    return middle


def keep_clear(points: tuple[Point, ...] | list[Point], outline: tuple[Point, ...]) -> list[Point]:
    """The polyline with every stretch that would leave the face or cross an eye bent back onto
    the face and round the eye; stretches that are clear keep their two end points."""
    result = [on_face(points[0], outline)]
    for end in points[1:]:
        begin = result[-1]
        count = max(1, math.ceil(distance(begin, end) / 0.008))
        samples = [add(begin, scale(sub(end, begin), i / count)) for i in range(1, count + 1)]
        if all(on_face(p, outline) == p for p in samples):
            result.append(end)
            continue
        for sample in samples:
            point = on_face(sample, outline)
            # Pushed out on one side of an eye, then the other: go round its rim, not across.
            result.extend(round_eye(result[-1], point))
    return result


def round_eye(begin: Point, end: Point) -> list[Point]:
    """``[end]``, or the points of the keep-out rim from ``begin`` to ``end`` when the straight
    way between them crosses an eye (round the temple side when both ways are as long)."""
    for centre, axes in eye_keep_outs():
        if not segment_in_ellipse(begin, end, centre, axes):
            continue
        rx, ry = axes
        first, last = (
            math.atan2((p[1] - centre[1]) / ry, (p[0] - centre[0]) / rx) for p in (begin, end)
        )
        turn = (last - first + math.pi) % (2 * math.pi) - math.pi
        lateral = math.pi if centre[0] < 0.5 else 0.0
        if abs(abs(turn) - math.pi) < 0.2:
            # About half-way round either way: take the temple side, away from the nose.
            middle = first + turn / 2
            if math.cos(middle - lateral) < 0:
                turn -= math.copysign(2 * math.pi, turn)
        steps = max(2, math.ceil(abs(turn) / 0.15))
        rim = [
            (
                centre[0] + 1.05 * rx * math.cos(first + turn * i / steps),
                centre[1] + 1.05 * ry * math.sin(first + turn * i / steps),
            )
            for i in range(1, steps)
        ]
        return [*rim, end]
    return [end]


def between(start: Point, point: Point, target: Point) -> bool:
    """True when ``point`` lies part-way along the way from start to target (not behind or past)."""
    way = sub(target, start)
    denominator = dot(way, way)
    if denominator == 0:
        return False
    t = dot(sub(point, start), way) / denominator
    return 0.1 < t < 0.9 and distance(point, target) > 0.03


def truncate(route: list[Point], reach: float) -> list[Point]:
    """The first ``reach`` face units of ``route``."""
    result = [route[0]]
    left = reach
    for a, b in pairwise(route):
        piece = distance(a, b)
        if piece >= left:
            if piece > 0:
                result.append(add(a, scale(sub(b, a), left / piece)))
            return result
        result.append(b)
        left -= piece
    return result


def along(points: tuple[Point, ...], fraction: float) -> Point:
    """The point at ``fraction`` of the polyline's length."""
    if len(points) == 1:
        return points[0]
    total = path_length(points)
    if total == 0:
        return points[0]
    wanted = fraction * total
    for a, b in pairwise(points):
        piece = distance(a, b)
        if wanted <= piece:
            return add(a, scale(sub(b, a), wanted / piece if piece else 0.0))
        wanted -= piece
    return points[-1]


def path_length(points: tuple[Point, ...] | list[Point]) -> float:
    """Length of a polyline."""
    return sum(distance(a, b) for a, b in pairwise(points))


# Vector arithmetic on (x, y) tuples.


def add(a: Point, b: Point) -> Point:
    return (a[0] + b[0], a[1] + b[1])


def sub(a: Point, b: Point) -> Point:
    return (a[0] - b[0], a[1] - b[1])


def scale(a: Point, k: float) -> Point:
    return (a[0] * k, a[1] * k)


def dot(a: Point, b: Point) -> float:
    return a[0] * b[0] + a[1] * b[1]


def distance(a: Point, b: Point) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def unit(a: Point) -> Point:
    """``a`` scaled to length 1, or (0, 0) for the zero vector."""
    norm = math.hypot(*a)
    return (a[0] / norm, a[1] / norm) if norm > 0 else (0.0, 0.0)
