"""stac-geoparquet rows (an Arrow table) → :class:`pystac.Item` objects, without item dicts in between.

The items equal ``pystac.Item.from_dict`` of the dicts :func:`icecube_stac._arrow_items.table_to_items`
makes of the same rows after :class:`~icecube_stac._rebase.Rebase` (attribute for attribute), but the
assets become :class:`pystac.Asset` objects straight from their struct columns, the ``datetime`` objects
are built from numpy's calendar fields of the timestamp column, and items, assets and links are made by
:mod:`icecube_stac._pystac_objects` (without their constructors; one collection link maker a collection).
Tables it does not cover (rows of another STAC version, which need migrating; a ``links`` column; assets
of other Arrow types) are left to the dict path: it returns None.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pystac
from numpy.typing import NDArray

from icecube_stac._arrow_items import (
    TOP_LEVEL,
    array_values,
    column_values,
    drop_nulls,
    field_values,
    row_dicts,
    whole_array,
)
from icecube_stac._items import deprecation_message, may_be_deprecated, parse_datetime, utc
from icecube_stac._pystac_objects import item_maker, link_maker, new_assets, new_item, new_link
from icecube_stac._rebase import JSON_TYPE, Rebase

__all__ = ["table_to_pystac"]

_ASSET_KEYS: Final = frozenset({"href", "type", "title", "description", "roles"})
_YEARS_END: Final = 10_000  # datetime's years are 1 to 9999
_ASSET_FIELDS: Final = ("type", "title", "description", "roles")  # new_assets' arguments after the hrefs
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
    arrays = {name: whole_array(column) for name, column in zip(table.column_names, table.columns, strict=True)}
    top = {name: column_values(name, array) for name, array in arrays.items() if name in _ITEM_COLUMNS}
    if not _covered(arrays, top):
        return None
    count = table.num_rows
    properties = {n: (field_values(n, a), a.null_count > 0) for n, a in arrays.items() if n not in TOP_LEVEL}
    rows = row_dicts(list(properties), [values for values, _ in properties.values()], count)
    drop_nulls(rows, properties)
    nothing: list[Any] = [None] * count
    collections = top.get("collection", nothing)
    keys = [str(c) if c is not None else "" for c in collections]
    columns = _Columns(
        ids=top["id"],
        geometries=top.get("geometry", nothing),
        boxes=top.get("bbox", nothing),
        moments=_moments(arrays.get("datetime"), rows),
        properties=rows,
        extensions=top.get("stac_extensions", nothing),
        collections=collections,
        keys=keys,
        assets=_assets(arrays.get("assets"), keys, rebase, count),
    )
    return _items(columns, rebase)


@dataclass(frozen=True)
class _Columns:
    """What each row's item is made of, one list per attribute (row-indexed)."""

    ids: list[Any]
    geometries: list[Any]
    boxes: list[Any]
    moments: list[Any]
    properties: list[dict[str, Any]]
    extensions: list[Any]
    collections: list[Any]
    keys: list[str]
    assets: list[dict[str, pystac.Asset]]


def _items(columns: _Columns, rebase: Rebase) -> list[pystac.Item]:
    """Build the items row by row: errors and warnings come in row order, as from_dict's."""
    make = item_maker()
    # Per collection: the maker of its collection link, and whether its items have JSON files (self links).
    targets: dict[str, tuple[Callable[[pystac.Item], pystac.Link], bool]] = {}
    may_speak: dict[tuple[str, ...], bool] = {}  # per distinct stac_extensions: can a hook call it deprecated?
    items = []
    rows = zip(
        *(columns.ids, columns.geometries, columns.boxes, columns.moments, columns.properties),
        *(columns.extensions, columns.collections, columns.keys, columns.assets),
        strict=True,
    )
    for item_id, geometry, bbox, moment, props, extensions, collection, key, assets in rows:
        if moment.__class__ is str:  # parsed here, not before: from_dict's errors come in row order
            moment = parse_datetime(moment)
        if moment is None and not ("start_datetime" in props and "end_datetime" in props):
            item = new_item(  # the constructor: pystac's STACError
                item_id,
                geometry=geometry,
                bbox=bbox,
                moment=None,
                properties=props,
                stac_extensions=extensions,
                collection=collection,
                assets=assets,
            )
        else:
            item = make(item_id, geometry, bbox, moment, props, extensions, collection, assets)
        known = targets.get(key)
        if known is None:
            known = targets[key] = (
                link_maker("collection", rebase.collection_href(key), JSON_TYPE),
                rebase.has_item_files(key),
            )
        link, has_files = known
        own = rebase.self_href(key, "" if item_id is None else str(item_id)) if has_files else None
        item.links = [link(item)] if own is None else [link(item), new_link("self", own, item, media_type=JSON_TYPE)]
        declared = tuple(item.stac_extensions)
        speaks = may_speak.get(declared)
        if speaks is None:
            speaks = may_speak[declared] = may_be_deprecated(declared)
        message = deprecation_message(item) if speaks else None
        if message is not None:
            warnings.warn(message, pystac.DeprecatedWarning, stacklevel=4)
        items.append(item)
    return items


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
        stamps = np.array([tick or 0 for tick in ticks], dtype=np.int64).astype("datetime64[us]")
        zone = utc()
        # datetime(...) from numpy's calendar fields: half the time of naive datetimes given a tzinfo by replace.
        # Outside datetime's years (1-9999) the rows keep their text.
        return [
            (datetime(y, mo, d, h, mi, s, us, zone) if 0 < y < _YEARS_END else row["datetime"]) if ok else None
            for (y, mo, d, h, mi, s, us), ok, row in zip(_calendar(stamps), valid, rows, strict=True)
        ]
    return [row.get("datetime") for row in rows]


def _calendar(stamps: NDArray[np.datetime64]) -> Iterator[tuple[int, int, int, int, int, int, int]]:
    """Year, month, day, hour, minute, second and microsecond of each microsecond timestamp (UTC)."""
    years, months, days = (stamps.astype(f"datetime64[{unit}]") for unit in "YMD")
    micros = (stamps - days).astype(np.int64)
    hours, micros = np.divmod(micros, 3_600_000_000)
    minutes, micros = np.divmod(micros, 60_000_000)
    seconds, micros = np.divmod(micros, 1_000_000)
    year: list[int] = (years.astype(np.int64) + 1970).tolist()
    month: list[int] = ((months - years).astype(np.int64) + 1).tolist()
    day: list[int] = ((days - months).astype(np.int64) + 1).tolist()
    return zip(year, month, day, hours.tolist(), minutes.tolist(), seconds.tolist(), micros.tolist(), strict=True)


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
        rows = [row for row, ok in enumerate(child.is_valid().to_pylist()) if ok] if child.null_count else range(count)
        empty: list[Any] = [None] * count
        hrefs = _pick(values.get("href", empty), rows)
        plain = "href" in parts and pa.types.is_string(parts["href"].type) and not parts["href"].null_count
        texts = hrefs if plain else ["" if href is None else str(href) for href in hrefs]
        kinds, titles, descriptions, roles = (_pick(values.get(n, empty), rows) for n in _ASSET_FIELDS)
        made = new_assets(
            rebase.asset_hrefs(texts, _pick(collections, rows)), kinds, titles, descriptions, roles, _pick(extras, rows)
        )
        name = field.name
        for row, asset in zip(rows, made, strict=True):
            out[row][name] = asset
    return out


def _pick(values: list[Any], rows: Sequence[int]) -> list[Any]:
    return values if isinstance(rows, range) else [values[row] for row in rows]
