"""stac-geoparquet rows (an Arrow table) → :class:`pystac.Item` objects, without item dicts in between.

The items equal ``pystac.Item.from_dict`` of the dicts :func:`icecube_stac._arrow_items.table_to_items`
makes of the same rows after :class:`~icecube_stac._rebase.Rebase` (attribute for attribute), but the
assets become :class:`pystac.Asset` objects straight from their struct columns, the ``datetime`` objects
come from the timestamp column in one numpy conversion, and items, assets and links are made by
:mod:`icecube_stac._pystac_objects` (without their constructors): for 1,600 search results it takes about
70 % of the time of dicts then items. Tables it does not cover (rows of another STAC version, which need
migrating; a ``links`` column; assets of other Arrow types) are left to the dict path: it returns None.
"""

from __future__ import annotations

import warnings
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pystac

from icecube_stac._arrow_items import TOP_LEVEL, array_values, column_values, drop_nulls, row_dicts
from icecube_stac._items import deprecation_message, may_be_deprecated, parse_datetime, utc
from icecube_stac._pystac_objects import new_asset, new_item, new_link
from icecube_stac._rebase import JSON_TYPE, Rebase

__all__ = ["table_to_pystac"]

_ASSET_KEYS: Final = frozenset({"href", "type", "title", "description", "roles"})
_NOT_HERE: Final = frozenset({"links"})  # columns this path does not build (the dict path does)
_ITEM_COLUMNS: Final = frozenset(TOP_LEVEL) - {"assets"}  # assets: see _assets


def table_to_pystac(table: pa.Table, rebase: Rebase) -> list[pystac.Item] | None:
    """Turn search rows into pystac items with absolute hrefs and their links, in row order.

    Parameters
    ----------
    table
        Rows of a stac-geoparquet file (as :func:`icecube_stac._duckdb_search.query_parquet` returns them).
    rebase
        The hrefs and links of this search.

    Returns
    -------
    list of pystac.Item or None
        None when the rows need the dict path (see the module docstring).
    """
    if table.num_rows == 0:
        return []
    arrays = {name: _whole(column) for name, column in zip(table.column_names, table.columns, strict=True)}
    top = {name: column_values(name, array) for name, array in arrays.items() if name in _ITEM_COLUMNS}
    if not _covered(arrays, top):
        return None
    count = table.num_rows
    properties = {n: (column_values(n, a), a.null_count > 0) for n, a in arrays.items() if n not in TOP_LEVEL}
    rows = row_dicts(list(properties), [values for values, _ in properties.values()], count)
    drop_nulls(rows, properties)
    moments = _moments(arrays.get("datetime"), rows)
    ids = top["id"]
    collections = top.get("collection", [None] * count)
    keys = [str(c) if c is not None else "" for c in collections]
    assets = _assets(arrays.get("assets"), keys, rebase, count)
    geometries, boxes = top.get("geometry", [None] * count), top.get("bbox", [None] * count)
    extensions = top.get("stac_extensions", [None] * count)
    items = []
    may_speak: dict[tuple[str, ...], bool] = {}  # per distinct stac_extensions: can a hook call it deprecated?
    for row in range(count):
        moment = moments[row]
        if moment.__class__ is str:  # parsed here, not before: from_dict's errors come in row order
            moment = parse_datetime(moment)
        item = new_item(
            ids[row],
            geometry=geometries[row],
            bbox=boxes[row],
            moment=moment,
            properties=rows[row],
            stac_extensions=extensions[row],
            collection=collections[row],
            assets=assets[row],
        )
        collection_json, own = rebase.link_targets(keys[row], "" if ids[row] is None else str(ids[row]))
        item.links = [new_link("collection", collection_json, item, media_type=JSON_TYPE)]
        if own is not None:
            item.links.append(new_link("self", own, item, media_type=JSON_TYPE))
        declared = tuple(item.stac_extensions)
        speaks = may_speak.get(declared)
        if speaks is None:
            speaks = may_speak[declared] = may_be_deprecated(declared)
        message = deprecation_message(item) if speaks else None
        if message is not None:
            warnings.warn(message, pystac.DeprecatedWarning, stacklevel=3)
        items.append(item)
    return items


def _whole(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _covered(arrays: dict[str, pa.Array], top: dict[str, list[Any]]) -> bool:
    """Tell whether every row is a Feature of the current STAC version with columns this path builds.

    ``top`` holds the values of the item-level columns (``type`` and ``stac_version`` among them).
    """
    if "id" not in arrays or _NOT_HERE & arrays.keys():
        return False
    for name, expected in (("type", "Feature"), ("stac_version", pystac.get_stac_version())):
        array = arrays.get(name)
        # Compared one by one, not as a set: a column of lists or structs is unhashable (from_dict's error).
        if array is None or array.null_count or any(value != expected for value in top[name]):
            return False  # from_dict's own errors and migrations happen on the dict path
    assets = arrays.get("assets")
    return assets is None or (
        pa.types.is_struct(assets.type) and all(pa.types.is_struct(field.type) for field in assets.type)
    )


def _moments(array: pa.Array | None, rows: list[dict[str, Any]]) -> list[Any]:
    """Each row's ``datetime`` as :func:`icecube_stac._items.parse_datetime` makes it of the property text.

    Rows numpy cannot convert keep their text (the caller parses it, raising dateutil's error in row order).
    """
    if array is not None and pa.types.is_timestamp(array.type) and array.type.unit == "us" and array.type.tz:
        ticks = array.view(pa.int64()).to_pylist()
        valid = [tick is not None for tick in ticks]
        naive = np.array([tick or 0 for tick in ticks], dtype=np.int64).astype("datetime64[us]").tolist()
        zone = utc()
        # Outside datetime's years numpy gives ints: those rows keep their text.
        return [
            (moment.replace(tzinfo=zone) if type(moment) is not int else row["datetime"]) if ok else None
            for moment, ok, row in zip(naive, valid, rows, strict=True)
        ]
    return [row.get("datetime") for row in rows]


def _assets(array: pa.Array | None, collections: list[str], rebase: Rebase, count: int) -> list[dict[str, Any]]:
    """Each row's assets: ``{key: pystac.Asset}`` with absolute hrefs; null assets left out."""
    out: list[dict[str, Any]] = [{} for _ in range(count)]
    if array is None:
        return out
    # flatten() applies the assets struct's own nulls to every asset (a null struct: no assets at all).
    for field, child in zip(array.type, array.flatten(), strict=True):
        names = [part.name for part in child.type]
        parts = dict(zip(names, child.flatten(), strict=True))
        values = {name: array_values(part) for name, part in parts.items()}
        extra_names = [name for name in names if name not in _ASSET_KEYS]
        extras = row_dicts(extra_names, [values[name] for name in extra_names], count)
        drop_nulls(extras, {name: (values[name], parts[name].null_count > 0) for name in extra_names})
        if "" in extra_names:  # Asset.from_dict keeps extra fields only if a key is truthy (``any(d)``)
            extras = [extra if any(extra) else {} for extra in extras]
        present = child.is_valid().to_pylist() if child.null_count else [True] * count
        empty: list[Any] = [None] * count
        hrefs = values.get("href", empty)
        kinds, titles = values.get("type", empty), values.get("title", empty)
        descriptions, roles = values.get("description", empty), values.get("roles", empty)
        for row in range(count):
            if not present[row]:
                continue
            href = "" if hrefs[row] is None else str(hrefs[row])
            out[row][field.name] = new_asset(
                rebase.asset_href(href, collections[row]),
                media_type=kinds[row],
                title=titles[row],
                description=descriptions[row],
                roles=roles[row],
                extra_fields=extras[row],
            )
    return out
