"""Whole Arrow columns read from their buffers by numpy, for the search results' conversion.

:mod:`icecube_stac._arrow_items` turns search rows into Python values column by column; where a column has
one of the usual shapes, numpy does it at once here: a column whose rows all hold one text or number
(:class:`Same`, compared by bytes: -0.0 is not 0.0), footprints that are all the same little-endian one-ring
polygon (their doubles copied bit for bit), float64 columns, and number lists of one length. Anything else
gets None, and the row-by-row conversion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

__all__ = ["Same", "doubles", "equal_number_lists", "one_length", "same_value", "simple_polygons"]

_WORD_TYPES: Final = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}
_POLYGON_HEAD: Final = b"\x01\x03\x00\x00\x00\x01\x00\x00\x00"  # WKB: little-endian, Polygon, 1 ring


@dataclass(frozen=True)
class Same:
    """The value of every row of a column: one immutable scalar (text or a number), stored once."""

    value: Any


def same_value(array: pa.Array) -> Same | None:
    """Return the value every row of a text or number array holds, if they all hold the same one.

    Parameters
    ----------
    array
        Any Arrow array.

    Returns
    -------
    Same or None
        :class:`Same` for an array of two or more rows without nulls whose values are all the same bytes
        (numbers compared by their bits: -0.0 is not 0.0); None otherwise. Only immutable values are shared.
    """
    kind = array.type
    if len(array) < 2 or array.null_count:
        return None
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        same = _same_texts(array)
    elif (pa.types.is_integer(kind) or pa.types.is_floating(kind)) and kind.bit_width in _WORD_TYPES:
        width = kind.bit_width // 8
        words = np.frombuffer(
            array.buffers()[1], dtype=_WORD_TYPES[kind.bit_width], count=len(array), offset=array.offset * width
        )
        same = not (words != words[0]).any()
    else:
        return None
    return Same(array.slice(0, 1).to_pylist()[0]) if same else None


def _same_texts(array: pa.Array) -> bool:
    """Tell whether every value of a string array without nulls is the same text."""
    count = len(array)
    wide = pa.types.is_large_string(array.type)
    offsets = np.frombuffer(
        array.buffers()[1],
        dtype=np.int64 if wide else np.int32,
        count=count + 1,
        offset=array.offset * (8 if wide else 4),
    )
    size = int(offsets[1] - offsets[0])
    if (np.diff(offsets) != size).any():
        return False
    if not size:
        return True
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8, count=count * size, offset=int(offsets[0]))
    rows = data.reshape(count, size)
    return not (rows != rows[0]).any()


def simple_polygons(array: pa.Array) -> list[Any] | None:
    """Decode WKB footprints all at once when every row is the same little-endian 2D one-ring polygon.

    That is nearly every catalog (footprints of 5 corners): the doubles are viewed in place by numpy, so the
    coordinates are :func:`icecube_stac._wkb.wkb_to_geojson`'s bit for bit.

    Parameters
    ----------
    array
        A binary or large binary column of WKB.

    Returns
    -------
    list of dict or None
        GeoJSON polygons; None for anything else (nulls, other shapes or sizes).
    """
    count = len(array)
    if not count or array.null_count:
        return None
    wide = pa.types.is_large_binary(array.type)
    width = 8 if wide else 4
    offsets = np.frombuffer(
        array.buffers()[1], dtype=np.int64 if wide else np.int32, count=count + 1, offset=array.offset * width
    )
    first, size = int(offsets[0]), int(offsets[1] - offsets[0])
    if size < len(_POLYGON_HEAD) + 4 or (size - len(_POLYGON_HEAD) - 4) % 16 or (np.diff(offsets) != size).any():
        return None
    points = (size - len(_POLYGON_HEAD) - 4) // 16
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8, count=count * size, offset=first).reshape(count, size)
    head = np.frombuffer(_POLYGON_HEAD + points.to_bytes(4, "little"), dtype=np.uint8)
    if (data[:, : head.size] != head).any():
        return None
    rings = np.ascontiguousarray(data[:, head.size :]).view("<f8").reshape(count, 1, points, 2).tolist()
    return [{"type": "Polygon", "coordinates": ring} for ring in rings]


def doubles(array: pa.Array) -> NDArray[np.float64] | None:
    """Return the values of a float64 array without nulls, viewed in place.

    Parameters
    ----------
    array
        Any Arrow array.

    Returns
    -------
    numpy.ndarray or None
        None for other types or with nulls.
    """
    if array.type != pa.float64() or array.null_count:
        return None
    return np.frombuffer(array.buffers()[1], dtype=np.float64, count=len(array), offset=array.offset * 8)


def one_length(offsets: list[int]) -> int | None:
    """Return the length every list of a list array has, when they all have one.

    Parameters
    ----------
    offsets
        The list array's offsets (one more than lists).

    Returns
    -------
    int or None
        None without lists, for lists of other lengths or of none.
    """
    count = len(offsets) - 1
    if count < 1:
        return None
    width, rest = divmod(offsets[-1] - offsets[0], count)
    if rest or not width or (np.diff(np.asarray(offsets)) != width).any():
        return None
    return width


def equal_number_lists(values: pa.Array, start: int, width: int, count: int) -> list[Any] | None:
    """Return ``count`` lists of ``width`` numbers each, from ``values[start:]`` (float64 or int64, no nulls).

    Parameters
    ----------
    values
        The list array's values.
    start, width, count
        Where the first list starts, the length of every list and how many there are.

    Returns
    -------
    list of list or None
        None for values of other types or with nulls.
    """
    numbers = doubles(values)
    if numbers is None and pa.types.is_int64(values.type) and not values.null_count:
        numbers = np.frombuffer(values.buffers()[1], dtype=np.int64, count=len(values), offset=values.offset * 8)
    if numbers is None:
        return None
    rows: list[Any] = numbers[start : start + width * count].reshape(count, width).tolist()
    return rows
