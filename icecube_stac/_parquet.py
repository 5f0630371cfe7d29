"""``items.parquet``: every item of a catalog as stac-geoparquet, with hrefs that resolve from the parquet.

Relative hrefs in the parquet (assets and links) are relative to the folder holding ``items.parquet`` (the
catalog folder), not to each item's JSON file as in the JSON; ``--absolute-hrefs`` catalogs have absolute
asset hrefs in both. Each row links its item's JSON file (``rel: alternate``), and the collections are
embedded in the file metadata (key ``stac-geoparquet``, ``collections``), so the file stands on its own for
stac-geoparquet, DuckDB, geopandas or ``rustac serve``. Rows are in time order in 10k-row groups.
:func:`legacy_item_hrefs` tells readers whether a parquet still follows the item-file rule (catalogs of
state version 1).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from icecube_stac._json_copy import json_copy
from icecube_stac.vocabulary import GEOJSON_TYPE, STATE_NAME, Prop

__all__ = ["legacy_item_hrefs", "parquet_row", "write_parquet"]

_PARQUET_ROW_GROUP = 10_000
_STATE_HEAD = 256
# '{"version": N,' with JSON's white space and number syntax (1.0, a BOM or anything else: parsed whole).
_WS = rb"[ \t\n\r]*"  # JSON's white space
_VERSION_FIRST = re.compile(
    rb"\A" + _WS + rb"\{" + _WS + rb'"version"' + _WS + rb":" + _WS + rb"(-?(?:0|[1-9][0-9]*))" + _WS + rb"[,}]"
)


def _rebased(href: str, folder: str) -> str:
    """Make an href relative to ``<folder>/`` (the item JSON file folder) relative to the catalog folder."""
    if "://" in href or href.startswith("/") or Path(href).is_absolute():
        return href
    return posixpath.normpath(posixpath.join(folder, href))


class _Row(dict[str, Any]):
    """A parquet row: stac-geoparquet deep-copies every row before turning its geometries into WKB.

    That copy is made by :func:`~icecube_stac._json_copy.json_copy` (the same copy, faster: see there).
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return {key: json_copy(member) for key, member in self.items()}


def parquet_row(item: dict[str, Any]) -> dict[str, Any]:
    """Return an item dict of the catalog as its parquet row: relative hrefs from the catalog folder.

    Parameters
    ----------
    item
        The item as in its JSON file (``collection`` set; hrefs relative to ``<collection>/items/``).

    Returns
    -------
    dict
        A new dict; the item is not changed.
    """
    folder = f"{item['collection']}/items"
    row = _Row(item)
    row["assets"] = {k: dict(a) | {"href": _rebased(str(a["href"]), folder)} for k, a in item["assets"].items()}
    row["links"] = [dict(link) | {"href": _rebased(str(link["href"]), folder)} for link in item.get("links", [])]
    row["links"].append(
        {
            "rel": "alternate",
            "href": f"{folder}/{item['id']}.json",
            "type": GEOJSON_TYPE,
            "title": "The item's JSON file",
        }
    )
    return row


def write_parquet(
    path: Path, items: Sequence[dict[str, Any]], collections: Mapping[str, Mapping[str, Any]] | None = None
) -> None:
    """Write item dicts as stac-geoparquet, in time order and 10k-row groups; nothing when there are none.

    Parameters
    ----------
    path
        The parquet file, in the catalog folder.
    items
        The item dicts as in their JSON files (hrefs relative to ``<collection>/items/``): in the parquet,
        relative hrefs are made relative to the parquet's folder, and each row links its JSON file.
    collections
        Collection dicts to embed in the file metadata (the ``stac-geoparquet`` key, ``collections``).
    """
    if not items:
        return
    import pyarrow as pa  # imported here: searches read legacy_item_hrefs without loading pyarrow
    import stac_geoparquet.arrow

    # Rows in time order, in row groups of 10k: DuckDB skips the groups outside a query's date window
    # (every config has one), which made time-bounded searches of 100k items 2-4x faster.
    ordered = sorted(items, key=lambda i: (str(i["properties"].get(Prop.START, "")), str(i["id"])))
    rows = [parquet_row(i) if i.get("collection") else i for i in ordered]
    table = stac_geoparquet.arrow.parse_stac_items_to_arrow(rows).read_all()
    # Each record batch becomes one row group.
    batches = table.to_batches(max_chunksize=_PARQUET_ROW_GROUP)
    reader = pa.RecordBatchReader.from_batches(table.schema, batches)
    stac_geoparquet.arrow.to_parquet(reader, path, collections=collections)


def legacy_item_hrefs(parquet: Path) -> bool:
    """Tell whether a catalog's parquet has the hrefs of the item files (relative to ``<collection>/items/``).

    Catalogs written before state version 2 did; since then relative hrefs in the parquet are relative to
    the parquet's own folder. Read once per search, not per row.

    Parameters
    ----------
    parquet
        An ``items.parquet``; the state file next to it (if any) tells the version.

    Returns
    -------
    bool
        True only for a catalog of state version 1 (re-indexing it rewrites the parquet the new way).
    """
    state = parquet.parent / STATE_NAME
    try:
        with state.open("rb") as f:
            head = f.read(_STATE_HEAD)
    except OSError:
        return False
    # The indexer writes "version" first: the first bytes tell it without parsing the fingerprints of every
    # product (a 100k-product state file took 0.6 s to parse). Any other layout is parsed whole, as before.
    found = _VERSION_FIRST.match(head)
    if found is not None:
        return int(found[1]) == 1
    try:
        data = json.loads(state.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("version") == 1
