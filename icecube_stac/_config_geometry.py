"""The rules of the ``config.json`` area of interest: ``bbox`` and ``intersects`` (GeoJSON or WKT).

One table, :data:`GEOMETRY_NESTING`, says how each GeoJSON geometry type nests its coordinate arrays and
how many members each needs; the loader walks a geometry with it and the JSON Schema is generated from
it, so both accept the same structures (uniform 2-D or 3-D positions within a geometry, longitudes in
[-180, 180], latitudes in [-90, 90], finite heights, GeometryCollections nested at most
:data:`~icecube_stac._config_limits.GEOMETRY_MAX_NESTING` levels). Shapely then checks what no schema
can: OGC validity, and all of a WKT string (whose parentheses are counted first: GEOS recurses into
them and crashes on a few ten thousand).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import shapely
from shapely.errors import ShapelyError
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity
from shapely.wkt import loads as wkt_loads

from ._config_errors import fail, one_of
from ._config_limits import FLOAT64_MAX, GEOMETRY_MAX_NESTING, WKT_MAX_PARENTHESES
from ._config_patterns import NON_BLANK, nullable
from ._config_rules import Rule, real

__all__ = [
    "GEOMETRY_NESTING",
    "GEOMETRY_TYPES",
    "LAT_RANGE",
    "LON_RANGE",
    "AreaRule",
    "BboxRule",
]

LON_RANGE: Final = (-180.0, 180.0)
LAT_RANGE: Final = (-90.0, 90.0)

GEOMETRY_NESTING: Final[Mapping[str, tuple[tuple[str, str, int], ...]]] = {
    # type: (container, member, minimum count) for each coordinate array, outermost first, down to positions
    "Point": (),
    "MultiPoint": (("MultiPoint", "position", 1),),
    "LineString": (("LineString", "position", 2),),
    "MultiLineString": (("MultiLineString", "line", 1), ("line", "position", 2)),
    "Polygon": (("Polygon", "ring", 1), ("ring", "position", 4)),
    "MultiPolygon": (("MultiPolygon", "polygon", 1), ("polygon", "ring", 1), ("ring", "position", 4)),
}
GEOMETRY_TYPES: Final = (*GEOMETRY_NESTING, "GeometryCollection")
_POSITION_SIZES: Final = (2, 3)
_ANCHOR: Final = "geojson-geometry"
_NESTING: Final = f"GeometryCollections may nest at most {GEOMETRY_MAX_NESTING} levels"
_AOI_ALLOWED: Final = "expected a GeoJSON geometry object or a WKT string (lon/lat, WGS84), or null"
_RANGES: Final = (
    f"coordinates must be longitude in [{LON_RANGE[0]:g}, {LON_RANGE[1]:g}] "
    f"and latitude in [{LAT_RANGE[0]:g}, {LAT_RANGE[1]:g}]"
)
_POSITION: Final = "a position is [lon, lat] or [lon, lat, height]"


def _degrees(low_high: tuple[float, float]) -> dict[str, Any]:
    return {"type": "number", "minimum": low_high[0], "maximum": low_high[1]}


@dataclass(frozen=True)
class BboxRule(Rule):
    """``[min_lon, min_lat, max_lon, max_lat]`` in WGS84 degrees, not crossing the antimeridian, or null."""

    def check(self, key: str, value: object) -> tuple[float, float, float, float] | None:
        if value is None:
            return None
        allowed = "expected [min_lon, min_lat, max_lon, max_lat]: 4 numbers in WGS84 degrees, or null"
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 4:
            fail(key, value, allowed)
        coords = [real(v) for v in value]
        if any(c is None for c in coords):
            fail(key, value, allowed)
        min_lon, min_lat, max_lon, max_lat = (c for c in coords if c is not None)
        if not all(LON_RANGE[0] <= lon <= LON_RANGE[1] for lon in (min_lon, max_lon)):
            fail(key, value, f"longitudes must be within [{LON_RANGE[0]:g}, {LON_RANGE[1]:g}]; " + allowed)
        if not all(LAT_RANGE[0] <= lat <= LAT_RANGE[1] for lat in (min_lat, max_lat)):
            fail(key, value, f"latitudes must be within [{LAT_RANGE[0]:g}, {LAT_RANGE[1]:g}]; " + allowed)
        if min_lon > max_lon:
            fail(
                key,
                value,
                f"min_lon {min_lon} > max_lon {max_lon}: a bbox crossing the antimeridian is not supported; "
                "use 'intersects' with a MultiPolygon split at 180°",
            )
        if min_lat > max_lat:
            fail(key, value, f"min_lat {min_lat} > max_lat {max_lat}; " + allowed)
        return (min_lon, min_lat, max_lon, max_lat)

    def schema(self) -> dict[str, Any]:
        lon, lat = _degrees(LON_RANGE), _degrees(LAT_RANGE)
        return nullable({"type": "array", "prefixItems": [lon, lat, lon, lat], "items": False, "minItems": 4})


def _article(word: str) -> str:
    return ("an " if word[0].lower() in "aeiou" else "a ") + word


def _check_position(key: str, whole: object, kind: str, position: object, sizes: set[int]) -> None:
    if not isinstance(position, (list, tuple)) or len(position) not in _POSITION_SIZES:
        fail(key, whole, f"not a valid GeoJSON {kind} ({_POSITION}); " + _AOI_ALLOWED)
    numbers = [real(c) for c in position]
    if any(n is None for n in numbers):
        fail(key, whole, f"not a valid GeoJSON {kind} ({_POSITION}, numbers); " + _AOI_ALLOWED)
    sizes.add(len(position))
    if len(sizes) > 1:
        detail = "all its positions must have the same number of coordinates"
        fail(key, whole, f"not a valid GeoJSON {kind} ({detail}); " + _AOI_ALLOWED)
    lon, lat = numbers[0], numbers[1]
    if not (lon is not None and LON_RANGE[0] <= lon <= LON_RANGE[1]):
        fail(key, whole, _RANGES)
    if not (lat is not None and LAT_RANGE[0] <= lat <= LAT_RANGE[1]):
        fail(key, whole, _RANGES)


def _check_coordinates(key: str, whole: object, kind: str, coordinates: object) -> None:
    """Walk ``coordinates`` with :data:`GEOMETRY_NESTING` (what the schema's ``coordinates`` says)."""
    sizes: set[int] = set()
    levels = GEOMETRY_NESTING[kind]
    nodes: list[tuple[object, int]] = [(coordinates, 0)]
    while nodes:
        node, depth = nodes.pop()
        if depth == len(levels):
            _check_position(key, whole, kind, node, sizes)
            continue
        container, member, minimum = levels[depth]
        if not isinstance(node, (list, tuple)):
            detail = f"{_article(container)} is an array of {member}s"
            fail(key, whole, f"not a valid GeoJSON {kind} ({detail}); " + _AOI_ALLOWED)
        if len(node) < minimum:
            if depth == 0 and not node:
                fail(key, whole, "the geometry is empty; " + _AOI_ALLOWED)
            detail = f"{_article(container)} needs at least {minimum} {member}{'s' if minimum > 1 else ''}"
            fail(key, whole, f"not a valid GeoJSON {kind} ({detail}); " + _AOI_ALLOWED)
        nodes.extend((child, depth + 1) for child in reversed(node))


def _check_geojson(key: str, whole: object, value: Mapping[Any, Any], level: int = 1) -> None:
    kind = value.get("type")
    if kind == "Feature":
        fail(key, whole, "got a GeoJSON Feature; give its 'geometry' member instead")
    if kind == "FeatureCollection":
        fail(key, whole, "got a FeatureCollection; give a single geometry (e.g. a MultiPolygon) instead")
    if not isinstance(kind, str) or kind not in GEOMETRY_TYPES:
        fail(key, whole, f"'type' {kind!r} is not a GeoJSON geometry type; {one_of(GEOMETRY_TYPES, kind)}")
    member = "geometries" if kind == "GeometryCollection" else "coordinates"
    if member not in value:
        fail(key, whole, f"a GeoJSON {kind} needs a {member!r} member; " + _AOI_ALLOWED)
    if kind != "GeometryCollection":
        _check_coordinates(key, whole, kind, value[member])
        return
    if level > GEOMETRY_MAX_NESTING:
        fail(key, whole, f"the GeometryCollections nest more than {GEOMETRY_MAX_NESTING} levels deep; " + _NESTING)
    parts = value[member]
    if not isinstance(parts, (list, tuple)):
        fail(key, whole, "a GeoJSON GeometryCollection's 'geometries' is an array of geometries; " + _AOI_ALLOWED)
    if not parts:
        fail(key, whole, "the geometry is empty; " + _AOI_ALLOWED)
    for part in parts:
        if not isinstance(part, Mapping):
            fail(key, whole, "a GeometryCollection holds GeoJSON geometry objects; " + _AOI_ALLOWED)
        _check_geojson(key, whole, part, level + 1)


def _parentheses(text: str) -> int:
    """Return the depth of the deepest parenthesis of a WKT text, counted without parsing."""
    depth = deepest = 0
    for match in re.finditer(r"[()]", text):
        depth = depth + 1 if match[0] == "(" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    return deepest


def _collection_depth(geometry: BaseGeometry) -> int:
    """How deep GeometryCollections nest in a parsed geometry (0 for none), without recursion."""
    deepest, stack = 0, [(geometry, 0)]
    while stack:
        part, depth = stack.pop()
        if part.geom_type == "GeometryCollection":
            deepest = max(deepest, depth + 1)
            stack.extend((member, depth + 1) for member in getattr(part, "geoms", ()))
    return deepest


def _parse(key: str, value: object) -> BaseGeometry:
    if isinstance(value, str):
        if (deepest := _parentheses(value)) > WKT_MAX_PARENTHESES:
            detail = f"{deepest} nested parentheses, at most {WKT_MAX_PARENTHESES}: {_NESTING}"
            fail(key, value, f"the WKT nests too deeply ({detail}); " + _AOI_ALLOWED)
        try:
            with np.errstate(all="ignore"):  # 1e400 overflows to inf: refused below, without a warning
                geometry = wkt_loads(value)
        except (ShapelyError, ValueError) as exc:
            fail(key, value, f"unparsable WKT ({exc}); " + _AOI_ALLOWED)
        if _collection_depth(geometry) > GEOMETRY_MAX_NESTING:
            fail(key, value, f"the GeometryCollections nest more than {GEOMETRY_MAX_NESTING} levels deep; " + _NESTING)
        # Heights may be NaN where a 2-D part sits in a 3-D collection; nothing may be infinite.
        coordinates = shapely.get_coordinates(geometry, include_z=True)
        if not (np.isfinite(coordinates[:, :2]).all() and not np.isinf(coordinates[:, 2]).any()):
            fail(key, value, "coordinates must be finite numbers; " + _AOI_ALLOWED)
        return geometry
    if not isinstance(value, Mapping):
        fail(key, value, _AOI_ALLOWED)
    _check_geojson(key, value, value)
    try:
        return shape(dict(value))
    except (ShapelyError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        fail(key, value, f"not a valid GeoJSON {value['type']} ({exc}); " + _AOI_ALLOWED)


@dataclass(frozen=True)
class AreaRule(Rule):
    """A valid, non-empty GeoJSON geometry or WKT string in lon/lat; canonical: a GeoJSON geometry dict."""

    def check(self, key: str, value: object) -> dict[str, Any] | None:
        if value is None:
            return None
        geometry = _parse(key, value)
        if geometry.is_empty:
            fail(key, value, "the geometry is empty; " + _AOI_ALLOWED)
        if not geometry.is_valid:
            # explain_validity says where, e.g. "Self-intersection[0.5 0.5]" for a bow-tie polygon.
            fail(key, value, f"invalid geometry: {explain_validity(geometry)}; give a valid (OGC) geometry")
        min_lon, min_lat, max_lon, max_lat = geometry.bounds
        lon_ok = LON_RANGE[0] <= min_lon <= max_lon <= LON_RANGE[1]
        if not (lon_ok and LAT_RANGE[0] <= min_lat <= max_lat <= LAT_RANGE[1]):
            fail(key, value, _RANGES)
        result: dict[str, Any] = json.loads(json.dumps(mapping(geometry)))
        return result

    def schema(self) -> dict[str, Any]:
        return nullable({"anyOf": [geometry_schema(), {"type": "string", "pattern": NON_BLANK}]})


def _position_schema(size: int) -> dict[str, Any]:
    height = {"type": "number", "minimum": -FLOAT64_MAX, "maximum": FLOAT64_MAX}
    items = [_degrees(LON_RANGE), _degrees(LAT_RANGE), height][:size]
    return {"type": "array", "prefixItems": items, "items": False, "minItems": size}


def _level(level: int) -> dict[str, Any]:
    """Return the schema of a geometry ``level`` collections deep (collections allowed until the limit)."""
    kinds = GEOMETRY_TYPES if level <= GEOMETRY_MAX_NESTING else tuple(GEOMETRY_NESTING)
    cases: list[dict[str, Any]] = [{"$ref": f"#{_ANCHOR}-coordinates"}]
    if level <= GEOMETRY_MAX_NESTING:
        parts = {"type": "array", "minItems": 1, "items": {"$ref": f"#{_ANCHOR}-{level + 1}"}}
        collection = {"required": ["geometries"], "properties": {"geometries": parts}}
        is_collection = {"properties": {"type": {"const": "GeometryCollection"}}, "required": ["type"]}
        cases.append({"if": is_collection, "then": collection})
    return {
        "$anchor": f"{_ANCHOR}-{level}",
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": list(kinds)}},
        "allOf": cases,
    }


def geometry_schema() -> dict[str, Any]:
    """Return the JSON Schema of the GeoJSON geometries :class:`AreaRule` accepts, before OGC validity.

    GeometryCollections nest at most :data:`~icecube_stac._config_limits.GEOMETRY_MAX_NESTING` levels:
    the schema spells out one level per anchor (``geojson-geometry-1``, ``-2``...), the last without
    collections, and shares the coordinate rules (``geojson-geometry-coordinates``).

    Returns
    -------
    dict
        The schema of a top-level geometry.
    """
    cases: list[dict[str, Any]] = []
    for kind, levels in GEOMETRY_NESTING.items():
        variants = []
        for size in _POSITION_SIZES:
            node = _position_schema(size)
            for _, _, minimum in reversed(levels):
                node = {"type": "array", "minItems": minimum, "items": node}
            variants.append(node)
        then = {"required": ["coordinates"], "properties": {"coordinates": {"anyOf": variants}}}
        cases.append({"if": {"properties": {"type": {"const": kind}}, "required": ["type"]}, "then": then})
    definitions: dict[str, Any] = {"coordinates": {"$anchor": f"{_ANCHOR}-coordinates", "allOf": cases}}
    definitions.update((f"level-{level}", _level(level)) for level in range(2, GEOMETRY_MAX_NESTING + 2))
    return {**_level(1), "$defs": definitions}
