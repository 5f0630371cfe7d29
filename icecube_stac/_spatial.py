"""Lon/lat geometry that survives the antimeridian: item footprints and bboxes, and collection bboxes.

A footprint ring that crosses ±180° is split into a MultiPolygon by the ``antimeridian`` package (its bbox
then has west > east, RFC 7946 §5.2); a ring whose corners do not form a simple polygon is refused with a
:class:`~icecube_stac.errors.MetadataError` instead of reaching GEOS. :func:`union_bboxes` computes the
bboxes of a collection so that every item lies inside: the first is the union of all (on the circle of
longitudes, so it may cross the antimeridian), then one per cluster of items when there are several.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from typing import Any, Final

import antimeridian
from shapely.geometry import MultiPolygon, Polygon, mapping

from icecube_stac.errors import MetadataError

__all__ = ["MAX_CLUSTERS", "footprint_geometry", "union_bboxes"]

MAX_CLUSTERS: Final = 32
"""A collection lists at most this many cluster bboxes after its union (beyond that, the union alone)."""

_DIGITS: Final = 9
_CORNERS: Final = "coord_first_near, coord_first_far, coord_last_far, coord_last_near"


def _json(geometry: Polygon | MultiPolygon) -> dict[str, Any]:
    # shapely nests tuples; JSON (and an item read back from disk) has lists, so equality with disk is exact.
    data = mapping(geometry)
    return {"type": data["type"], "coordinates": _lists(data["coordinates"])}


def _lists(value: Any) -> Any:
    return [_lists(v) for v in value] if isinstance(value, (tuple, list)) else value


def footprint_geometry(
    ring: Sequence[tuple[float, float]], source: object = "footprint"
) -> tuple[dict[str, Any], list[float]]:
    """Return the GeoJSON geometry and bbox of a lon/lat footprint ring, split at the antimeridian if needed.

    Parameters
    ----------
    ring
        Closed ring of (lon, lat) corners, lon in [-180, 180].
    source
        The file the corners come from, named in the error.

    Returns
    -------
    geometry, bbox
        A counter-clockwise Polygon (RFC 7946), or a MultiPolygon of the two halves when the footprint
        crosses the antimeridian; then the bbox's west edge is greater than its east edge (RFC 7946 §5.2).

    Raises
    ------
    MetadataError
        When the corners do not form a simple polygon (crossed edges, repeated or collinear corners).
    """
    points = [(float(lon), float(lat)) for lon, lat in ring]
    crosses = max(p[0] for p in points) - min(p[0] for p in points) > 180.0
    # A scene is never half the globe wide: a >180° span means it wraps around ±180°. Its shape and winding
    # are judged with longitudes unwrapped onto [0, 360).
    unwrapped = Polygon([(lon + 360.0 if crosses and lon < 0 else lon, lat) for lon, lat in points])
    if not unwrapped.is_valid or unwrapped.area <= 0.0:
        from shapely.validation import explain_validity

        raise MetadataError(
            source,
            f"the corners {_CORNERS} do not form a simple polygon ({explain_validity(unwrapped)}); got {points[:-1]}",
            "coord_first_near",
        )
    if not unwrapped.exterior.is_ccw:
        points.reverse()
    if not crosses:
        polygon = Polygon(points)
        return _json(polygon), [round(float(v), _DIGITS) for v in polygon.bounds]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the winding is already counter-clockwise
        # Straight edges in lon/lat (great_circle=False), as RFC 7946 reads them everywhere else.
        fixed = antimeridian.fix_polygon(Polygon(points), fix_winding=False, great_circle=False)
    fixed = _snapped(fixed, points)
    return _json(fixed), [round(float(v), _DIGITS) for v in antimeridian.bbox(fixed)]


def _snapped(geometry: Polygon | MultiPolygon, corners: Sequence[tuple[float, float]]) -> Polygon | MultiPolygon:
    """Put back the exact corner values that the package's longitude normalisation moved by float noise."""

    def snap(x: float, y: float) -> tuple[float, float]:
        for lon, lat in corners:
            if lat == y and abs(lon - x) < 1e-9:
                return lon, lat
        return x, y

    def fix(polygon: Polygon) -> Polygon:
        return Polygon([snap(x, y) for x, y in polygon.exterior.coords])

    if isinstance(geometry, Polygon):
        return fix(geometry)
    return MultiPolygon([fix(p) for p in geometry.geoms])


# --------------------------------------------------------------------------- collection bboxes

_Interval = tuple[float, float]  # (west, width) on the circle of longitudes, width in [0, 360]


def _interval(bbox: Sequence[float]) -> _Interval:
    west, east = float(bbox[0]), float(bbox[2])
    if west <= east:
        return west, east - west
    return west, east - west + 360.0  # crosses the antimeridian


def _merge(intervals: Iterable[_Interval]) -> list[_Interval]:
    """Merge overlapping longitude intervals on the circle; the result is disjoint and sorted by west edge."""
    merged: list[list[float]] = []
    for west, width in sorted(intervals):
        if merged and west <= merged[-1][0] + merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], west + width - merged[-1][0])
        else:
            merged.append([west, width])
    # The last interval may run past +180° onto the first ones (their west edges + 360°).
    while len(merged) > 1 and merged[-1][0] + merged[-1][1] >= merged[0][0] + 360.0:
        first = merged.pop(0)
        merged[-1][1] = max(merged[-1][1], first[0] + first[1] + 360.0 - merged[-1][0])
    return [(w, min(d, 360.0)) for w, d in merged]


def _cover(intervals: Sequence[_Interval]) -> _Interval:
    """Return the shortest interval holding disjoint sorted intervals: the circle without its widest gap."""
    n = len(intervals)
    if n == 1:
        return intervals[0]
    ends = [w + d for w, d in intervals]
    gaps = [(intervals[i + 1][0] if i + 1 < n else intervals[0][0] + 360.0) - ends[i] for i in range(n)]
    widest = max(range(n), key=lambda i: (gaps[i], -i))
    if widest == n - 1:
        return intervals[0][0], ends[-1] - intervals[0][0]
    west = intervals[widest + 1][0]
    return west, ends[widest] + 360.0 - west


def _lon(value: float) -> float:
    return round(value - 360.0 if value > 180.0 else value, _DIGITS)


def _box(interval: _Interval, south: float, north: float) -> list[float]:
    west, width = interval
    if width >= 360.0:
        return [-180.0, south, 180.0, north]
    return [_lon(west), south, _lon(west + width), north]


def _within(inner: _Interval, outer: _Interval) -> bool:
    offset = (inner[0] - outer[0]) % 360.0
    return offset + inner[1] <= outer[1] + 1e-9


def _split_by_latitude(boxes: list[Sequence[float]]) -> list[list[Sequence[float]]]:
    groups: list[list[Sequence[float]]] = []
    north = -math.inf
    for box in sorted(boxes, key=lambda b: (float(b[1]), float(b[3]))):
        if not groups or float(box[1]) > north:
            groups.append([])
            north = float(box[3])
        groups[-1].append(box)
        north = max(north, float(box[3]))
    return groups


def _clusters(boxes: Sequence[Sequence[float]]) -> list[list[Sequence[float]]]:
    """Group bboxes that overlap in longitude, then, inside each group, in latitude."""
    intervals = [_interval(b) for b in boxes]
    groups: list[list[Sequence[float]]] = []
    for merged in _merge(intervals):
        inside = [b for b, i in zip(boxes, intervals, strict=True) if _within(i, merged)]
        groups += _split_by_latitude(inside)
    return groups


def _group_box(boxes: Sequence[Sequence[float]]) -> list[float]:
    cover = _cover(_merge(_interval(b) for b in boxes))
    return _box(cover, min(float(b[1]) for b in boxes), max(float(b[3]) for b in boxes))


def union_bboxes(boxes: Sequence[Sequence[float]]) -> list[list[float]]:
    """Return collection bboxes that contain every item bbox, across the antimeridian too.

    Parameters
    ----------
    boxes
        Item bboxes ``[west, south, east, north]``; west > east for one that crosses the antimeridian.

    Returns
    -------
    list of bbox
        The first is the union of all (the shortest longitude range that holds them, which may cross the
        antimeridian); then, when the items form several clusters (at most :data:`MAX_CLUSTERS`), one bbox
        per cluster, sorted by west edge, as STAC allows.
    """
    if not boxes:
        return [[-180.0, -90.0, 180.0, 90.0]]
    union = _group_box(boxes)
    groups = _clusters(boxes)
    if len(groups) < 2 or len(groups) > MAX_CLUSTERS:
        return [union]
    return [union, *sorted((_group_box(g) for g in groups), key=lambda b: (b[0], b[1]))]
