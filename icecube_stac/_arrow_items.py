"""stac-geoparquet rows (an Arrow table) → STAC item dicts, the same as rustac 0.9.8 made them.

Column by column, never value by value through pyarrow scalars: ``geometry`` (WKB) becomes a GeoJSON
geometry, ``bbox`` (a struct) a list, timestamp columns RFC 3339 text in UTC (``+00:00``, with 0, 3, 6 or
9 fraction digits as needed, as chrono writes them), structs dicts and lists lists. A null is left out
wherever it stands for a missing key (a column, a struct field; rustac alone kept a missing struct-valued
property as ``null``, which the item's JSON file does not have); nulls inside lists stay. The columns
``type``, ``stac_version``, ``stac_extensions``, ``id``, ``geometry``, ``bbox``, ``links``, ``assets`` and
``collection`` are the item's own keys, every other column is one of its ``properties``. Columns of the
usual shapes are read from their buffers at once (:mod:`icecube_stac._arrow_buffers`): one-ring polygon
footprints, float64 bboxes, number lists of one length, and text or number columns of one value, which
the row dicts share (:class:`~icecube_stac._arrow_buffers.Same`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from icecube_stac._arrow_buffers import Same, doubles, equal_number_lists, one_length, same_value, simple_polygons
from icecube_stac._wkb import wkb_to_geojson

__all__ = [
    "TOP_LEVEL",
    "array_values",
    "column_values",
    "drop_nulls",
    "field_values",
    "row_dicts",
    "table_to_items",
    "whole_array",
]

TOP_LEVEL: Final = (
    *("type", "stac_version", "stac_extensions", "id", "geometry", "bbox", "links", "assets", "collection"),
)
"""The columns that are item keys; all others are properties."""

_GEOMETRY: Final = "geometry"
_BBOX: Final = "bbox"


def table_to_items(table: pa.Table) -> list[dict[str, Any]]:
    """Turn stac-geoparquet rows into item dicts, in row order.

    Parameters
    ----------
    table
        Rows of a stac-geoparquet file (any subset of its columns).

    Returns
    -------
    list of dict
        One item dict per row; ``properties`` is always present.
    """
    top: dict[str, tuple[list[Any], bool]] = {}
    properties: dict[str, tuple[list[Any] | Same, bool]] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        array = whole_array(column)
        if name in TOP_LEVEL:
            top[name] = (column_values(name, array), array.null_count > 0)
        else:
            properties[name] = (field_values(name, array), array.null_count > 0)
    rows = row_dicts(list(properties), [v for v, _ in properties.values()], table.num_rows)
    drop_nulls(rows, properties)
    items = row_dicts(list(top), [v for v, _ in top.values()], table.num_rows)
    drop_nulls(items, top)
    for item, props in zip(items, rows, strict=True):
        item["properties"] = props
    return items


def whole_array(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Return a column as one array (a column of one chunk is that chunk: no copy).

    Parameters
    ----------
    column
        A table column or an array.

    Returns
    -------
    pyarrow.Array
    """
    if not isinstance(column, pa.ChunkedArray):
        return column
    # combine_chunks copies even a single chunk (30 us a column of a search's rows, more for nested types).
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def row_dicts(names: list[str], columns: list[list[Any] | Same], count: int) -> list[dict[str, Any]]:
    """Return one dict per row with the columns' values under their names, keys in column order.

    Parameters
    ----------
    names, columns
        Column names and their values (one list per column, ``count`` values each, or :class:`Same`).
    count
        The number of rows.

    Returns
    -------
    list of dict
    """
    # Copies of one template (the keys in column order, with the values every row shares), then filled
    # column by column: 1.5x faster than a dict(zip(...)) per row, which transposes every row into a tuple.
    template: dict[str, Any] = dict.fromkeys(names)
    varying = []
    for name, values in zip(names, columns, strict=True):
        if isinstance(values, Same):
            template[name] = values.value
        else:
            varying.append((name, values))
    rows = [template.copy() for _ in range(count)]
    for name, values in varying:
        for row, value in zip(rows, values, strict=True):
            row[name] = value
    return rows


def drop_nulls(rows: list[dict[str, Any]], columns: Mapping[str, tuple[list[Any] | Same, bool]]) -> None:
    """Delete the keys whose value is None from the rows of :func:`row_dicts` (a null is a missing key).

    Parameters
    ----------
    rows
        The row dicts.
    columns
        ``{name: (values, has_nulls)}``: only columns with nulls are looked at.
    """
    for name, (values, has_nulls) in columns.items():
        if has_nulls and not isinstance(values, Same):  # a Same column has no nulls
            for row, value in zip(rows, values, strict=True):
                if value is None:
                    del row[name]


def column_values(name: str, array: pa.Array) -> list[Any]:
    """Return the Python values of one column of an item table (``geometry`` and ``bbox`` as GeoJSON has them).

    Parameters
    ----------
    name
        The column name.
    array
        Its values.

    Returns
    -------
    list
    """
    if name == _GEOMETRY and (pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type)):
        polygons = simple_polygons(array)
        if polygons is not None:
            return polygons
        return [None if data is None else wkb_to_geojson(data) for data in array.to_pylist()]
    if name == _BBOX and pa.types.is_struct(array.type):
        return _bboxes(array)
    return array_values(array)


def field_values(name: str, array: pa.Array) -> list[Any] | Same:
    """Return :func:`column_values`, or :class:`Same` when every row holds one and the same text or number.

    Parameters
    ----------
    name
        The column name.
    array
        Its values.

    Returns
    -------
    list or Same
    """
    same = same_value(array)
    return column_values(name, array) if same is None else same


def array_values(array: pa.Array) -> list[Any]:
    """Return the Python values of one Arrow array, as the JSON of an item holds them.

    Parameters
    ----------
    array
        Any Arrow array.

    Returns
    -------
    list
    """
    kind = array.type
    if pa.types.is_null(kind):
        return [None] * len(array)
    if pa.types.is_dictionary(kind):
        return array_values(array.dictionary_decode())
    converter = _CONVERTERS.get(_family(kind))
    if converter is not None:
        return converter(array)
    # to_pylist, never to_numpy: pyarrow's to_numpy imports pandas (0.2 s) on first use.
    return list(array.to_pylist())


def _family(kind: pa.DataType) -> str:
    if pa.types.is_timestamp(kind):
        return "timestamp"
    if pa.types.is_struct(kind):
        return "struct"
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return "list"
    if pa.types.is_date(kind):
        return "date"
    return "other"


def _timestamps(array: pa.Array) -> list[Any]:
    """RFC 3339 text: ``2024-03-04T15:30:05.125+00:00`` (chrono's ``to_rfc3339``, seconds format AutoSi)."""
    unit = array.type.unit
    valid = None
    if array.null_count:
        ticks = array.view(pa.int64()).to_pylist()  # a view: no pyarrow.compute (50 ms to import) for a cast
        valid = [tick is not None for tick in ticks]
        numbers = np.array([tick or 0 for tick in ticks], dtype=np.int64)
    else:  # the ticks in place
        numbers = np.frombuffer(array.buffers()[1], dtype=np.int64, count=len(array), offset=array.offset * 8)
    precision: Literal["ns", "us"] = "ns" if unit == "ns" else "us"
    scale = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 1}[unit]
    moments: NDArray[np.datetime64] = (numbers * scale).astype(f"datetime64[{precision}]")
    suffix = "" if array.type.tz is None else "+00:00"
    texts = np.datetime_as_string(moments, unit=precision).tolist()
    out = [(_trim_fraction(text) if text.endswith("000") else text) + suffix for text in texts]
    return out if valid is None else [text if ok else None for text, ok in zip(out, valid, strict=True)]


def _trim_fraction(text: str) -> str:
    """Drop trailing zero groups of 3 fraction digits (``.125000`` → ``.125``, ``.000000`` → nothing)."""
    if not text.endswith("000"):
        return text
    head, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    return head + ("." + fraction.ljust(-(-len(fraction) // 3) * 3, "0") if fraction else "")


def _dates(array: pa.Array) -> list[Any]:
    return [None if value is None else value.isoformat() for value in array.to_pylist()]


def _structs(array: pa.Array) -> list[Any]:
    kind = array.type
    names = [kind.field(i).name for i in range(kind.num_fields)]
    children = array.flatten()  # with the struct's own nulls applied to every field
    fields: dict[str, tuple[list[Any] | Same, bool]] = {
        name: (same_value(child) or array_values(child), child.null_count > 0)
        for name, child in zip(names, children, strict=True)
    }
    rows = row_dicts(names, [values for values, _ in fields.values()], len(array))
    drop_nulls(rows, fields)
    if array.null_count:
        valid = array.is_valid().to_pylist()
        return [row if ok else None for row, ok in zip(rows, valid, strict=True)]
    return list(rows)


def _lists(array: pa.Array) -> list[Any]:
    if pa.types.is_fixed_size_list(array.type):
        size = array.type.list_size
        offsets = [array.offset * size + i * size for i in range(len(array) + 1)]
    else:
        offsets = array.offsets.to_pylist()
    width, count, start = one_length(offsets), len(array), offsets[0]
    lists = None if width is None else equal_number_lists(array.values, start, width, count)
    if lists is None:
        values = array_values(array.values)
        if width is None:
            lists = [values[first:stop] for first, stop in itertools.pairwise(offsets)]
        else:  # every row's list as long (["sar"], ["VV"]): no offset pairs
            lists = [values[first : first + width] for first in range(start, start + width * count, width)]
    if array.null_count:
        valid = array.is_valid().to_pylist()
        return [part if ok else None for part, ok in zip(lists, valid, strict=True)]
    return lists


def _bboxes(array: pa.Array) -> list[Any]:
    """``{xmin, ymin, [zmin,] xmax, ymax, [zmax]}`` structs → ``[xmin, ymin, (zmin,) xmax, ymax, (zmax)]``."""
    children = array.flatten()
    numbers = [values for values in map(doubles, children) if values is not None]
    if children and len(numbers) == len(children):  # the usual bbox: one numpy pass
        boxes: list[Any] = np.column_stack(numbers).tolist()
    else:
        columns = [array_values(child) for child in children]
        boxes = [list(values) for values in zip(*columns, strict=True)]
    if array.null_count:
        valid = array.is_valid().to_pylist()
        return [box if ok else None for box, ok in zip(boxes, valid, strict=True)]
    return boxes


_CONVERTERS: Final[dict[str, Callable[[pa.Array], list[Any]]]] = {
    "timestamp": _timestamps,
    "struct": _structs,
    "list": _lists,
    "date": _dates,
}
