"""WKB (ISO and EWKB) → GeoJSON geometry dicts, without shapely: the geometries of search results.

GeoParquet stores item footprints as WKB. Decoding them here gives the coordinates bit for bit (doubles
are copied, never formatted) as lists, the way a STAC item's JSON has them. Z is kept, M is dropped
(GeoJSON has no M).
"""

from __future__ import annotations

import functools
import struct
from typing import Any, Final

from icecube_stac.errors import SearchError

__all__ = ["wkb_to_geojson"]

_NAMES: Final = {
    1: "Point",
    2: "LineString",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}
_EWKB_Z: Final = 0x80000000
_EWKB_M: Final = 0x40000000
_EWKB_SRID: Final = 0x20000000
_MAX_DEPTH: Final = 32
_POLYGON_LE: Final = b"\x01\x03\x00\x00\x00\x01\x00\x00\x00"  # little-endian 2D polygon, one ring
_LE_UINT: Final = struct.Struct("<I")


@functools.cache
def _doubles(order: str, count: int) -> struct.Struct:
    return struct.Struct(f"{order}{count}d")


@functools.cache
def _uint(order: str) -> struct.Struct:
    return struct.Struct(f"{order}I")


class _Reader:
    """A cursor over one WKB buffer."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def uint(self, order: str) -> int:
        (value,) = _uint(order).unpack_from(self.data, self.offset)
        self.offset += 4
        return int(value)

    def points(self, order: str, count: int, dims: int, keep: int) -> list[list[float]]:
        flat = _doubles(order, count * dims).unpack_from(self.data, self.offset)
        self.offset += 8 * count * dims
        return [list(flat[i : i + keep]) for i in range(0, count * dims, dims)]

    def geometry(self, depth: int = 0) -> dict[str, Any]:
        if depth > _MAX_DEPTH:
            raise SearchError("a WKB geometry nests too deeply")
        order = "<" if self.data[self.offset] == 1 else ">"
        self.offset += 1
        code = self.uint(order)
        kind, dims, keep = _kind(code)
        if code & _EWKB_SRID:
            self.offset += 4
        name = _NAMES.get(kind)
        if name is None:
            raise SearchError(f"unsupported WKB geometry type {code}")
        if kind == 7:
            members = [self.geometry(depth + 1) for _ in range(self.uint(order))]
            return {"type": name, "geometries": members}
        return {"type": name, "coordinates": self.coordinates(kind, order, dims, keep, depth)}

    def coordinates(self, kind: int, order: str, dims: int, keep: int, depth: int) -> Any:
        if kind == 1:
            return self.points(order, 1, dims, keep)[0]
        if kind == 2:
            return self.points(order, self.uint(order), dims, keep)
        if kind == 3:
            return [self.points(order, self.uint(order), dims, keep) for _ in range(self.uint(order))]
        # Multi*: each part is a whole WKB geometry of its own (with its own byte order).
        return [self.geometry(depth + 1)["coordinates"] for _ in range(self.uint(order))]


def _kind(code: int) -> tuple[int, int, int]:
    """Return the base type, the stored and the kept dimensions of a WKB type code."""
    z = bool(code & _EWKB_Z)
    m = bool(code & _EWKB_M)
    base = code & 0x0FFFFFFF
    if base >= 1000:
        iso, base = divmod(base, 1000)
        z, m = iso in (1, 3), iso in (2, 3)
    return base, 2 + z + m, 2 + z


def wkb_to_geojson(data: bytes) -> dict[str, Any]:
    """Decode one WKB geometry.

    Parameters
    ----------
    data
        ISO WKB or EWKB (either byte order), 2D, Z, M or ZM.

    Returns
    -------
    dict
        A GeoJSON geometry: ``{"type": "Polygon", "coordinates": [[[x, y], ...]]}``.

    Raises
    ------
    SearchError
        For a truncated buffer or an unknown geometry type.
    """
    try:
        if data[:9] == _POLYGON_LE:  # nearly every footprint: a shortcut for speed
            (count,) = _LE_UINT.unpack_from(data, 9)
            flat = _doubles("<", 2 * count).unpack_from(data, 13)
            return {"type": "Polygon", "coordinates": [[[flat[i], flat[i + 1]] for i in range(0, 2 * count, 2)]]}
        return _Reader(data).geometry()
    except (struct.error, IndexError) as exc:
        raise SearchError(f"a geometry in the catalog is not valid WKB ({exc})") from None
