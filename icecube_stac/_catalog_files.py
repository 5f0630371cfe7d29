"""The files of a catalog folder: each item as one JSON dict plus the exact bytes of its file, and the rest.

An item is turned into its catalog dict once (:func:`item_document`: collection, relative or absolute asset
hrefs, relative links) and serialised once; the item file, the collection's extent and summaries and the
stac-geoparquet rows are all written from that dict. :class:`ExistingCatalog` reads a catalog folder back
into the same form, with the file fingerprints that make re-indexing incremental.

``catalog.json`` and each collection link ``items.parquet`` (``rel: alternate``, ``type:
application/vnd.apache.parquet``), written by :mod:`icecube_stac._parquet`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pystac

from icecube_stac._collections import collection_id, collection_title, create_collection
from icecube_stac._item_document import ItemDocument, parsed_item
from icecube_stac.errors import CatalogError
from icecube_stac.vocabulary import CATALOG_JSON, GEOJSON_TYPE, PARQUET_NAME, PARQUET_TYPE, STATE_NAME, Prop

__all__ = [
    "AssetHrefs",
    "ExistingCatalog",
    "Fingerprint",
    "ItemDocument",
    "catalog_document",
    "collection_document",
    "dump_json",
    "item_document",
    "parquet_link",
    "renamed",
]

AssetHrefs = Literal["relative", "absolute"]
Fingerprint = list[list[Any]]
"""``[path, size, mtime_ns]`` of each file of a product, as recorded in the state file."""

# 2: parquet hrefs relative to the parquet's folder (1: relative to each item's JSON file). A catalog of
# another version is rewritten whole on its next index run.
_STATE_VERSION = 2
_JSON = "application/json"
_CATALOG_TITLE = "icecube-stac catalog"


def dump_json(data: Any) -> bytes:
    """Serialise a catalog document: indented UTF-8 JSON with a final newline.

    Parameters
    ----------
    data
        A JSON-compatible value.

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        For NaN or infinity: they are not JSON, and other tools' parsers would reject the file.
    """
    return (json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def _item_links(cid: str) -> list[dict[str, str]]:
    title = collection_title(cid)
    return [
        {"rel": "root", "href": f"../../{CATALOG_JSON}", "type": _JSON, "title": _CATALOG_TITLE},
        {"rel": "parent", "href": "../collection.json", "type": _JSON, "title": title},
        {"rel": "collection", "href": "../collection.json", "type": _JSON, "title": title},
    ]


def parquet_link(href: str) -> dict[str, str]:
    """Return the link to ``items.parquet`` that ``catalog.json`` and the collections carry.

    Parameters
    ----------
    href
        Where the parquet is, relative to the document holding the link.

    Returns
    -------
    dict
    """
    return {
        "rel": "alternate",
        "href": href,
        "type": PARQUET_TYPE,
        "title": f"Every item of the catalog as stac-geoparquet ({PARQUET_NAME}; relative hrefs in it are "
        "relative to its folder)",
    }


def item_document(item: pystac.Item, root: Path, hrefs: AssetHrefs) -> ItemDocument:
    """Turn an item with absolute asset hrefs into its catalog dict and item-file bytes, once.

    Parameters
    ----------
    item
        The item, from :func:`icecube_stac.stac.item_from_files`.
    root
        The (resolved) catalog folder; the item goes to ``<collection>/items/<id>.json`` under it.
    hrefs
        ``"relative"`` asset hrefs (relative to the item file) or ``"absolute"`` ones.

    Returns
    -------
    ItemDocument
    """
    cid = collection_id(item.properties[Prop.PRODUCT_TYPE])
    item_dir = root / cid / "items"
    data = item.to_dict(include_self_link=False, transform_hrefs=False)
    data["collection"] = cid
    for asset in data["assets"].values():
        absolute = Path(asset["href"])
        asset["href"] = (
            Path(os.path.relpath(absolute, item_dir)).as_posix() if hrefs == "relative" else absolute.as_posix()
        )
    data["links"] = _item_links(cid)
    return ItemDocument(data, dump_json(data))


def renamed(document: ItemDocument, item_id: str) -> ItemDocument:
    """Return an item under another id, its ICEYE product name kept as ``iceye:product_name``.

    Parameters
    ----------
    document
        The item as read (its id is the product name).
    item_id
        The new id.

    Returns
    -------
    ItemDocument
    """
    data = dict(document.data)
    data["properties"] = dict(data["properties"]) | {"iceye:product_name": document.data["id"]}
    data["id"] = item_id
    return ItemDocument(data, dump_json(data))


def collection_document(cid: str, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Return the ``collection.json`` dict of one collection, extent and summaries computed once.

    Parameters
    ----------
    cid
        The collection id.
    items
        The dicts of its items, sorted by id (one ``item`` link each, in that order).

    Returns
    -------
    dict
    """
    collection = create_collection(items[0]["properties"][Prop.PRODUCT_TYPE], items)
    data = collection.to_dict(include_self_link=False, transform_hrefs=False)
    data["links"] = [
        {"rel": "root", "href": f"../{CATALOG_JSON}", "type": _JSON, "title": _CATALOG_TITLE},
        {"rel": "parent", "href": f"../{CATALOG_JSON}", "type": _JSON, "title": _CATALOG_TITLE},
        *data["links"],  # the licence
        parquet_link(f"../{PARQUET_NAME}"),
        *({"rel": "item", "href": f"./items/{i['id']}.json", "type": GEOJSON_TYPE, "title": i["id"]} for i in items),
    ]
    assert data["id"] == cid
    return data


def catalog_document(collection_ids: Sequence[str], title: str | None) -> dict[str, Any]:
    """Return the root ``catalog.json`` dict.

    Parameters
    ----------
    collection_ids
        The collections, in link order. With none, the catalog has no items and no parquet link.
    title
        The catalog's title (a default when None).

    Returns
    -------
    dict
    """
    children = [
        {"rel": "child", "href": f"./{c}/collection.json", "type": _JSON, "title": collection_title(c)}
        for c in collection_ids
    ]
    return {
        "type": "Catalog",
        "id": "icecube-stac",
        "stac_version": pystac.get_stac_version(),
        "title": title or "ICEYE products indexed by icecube-stac",
        "description": "Static STAC catalog of ICEYE SAR products written by icecube-stac; every item is "
        f"also in {PARQUET_NAME} (stac-geoparquet) for in-process search.",
        "links": [
            {"rel": "root", "href": f"./{CATALOG_JSON}", "type": _JSON, "title": _CATALOG_TITLE},
            *([parquet_link(f"./{PARQUET_NAME}")] if collection_ids else []),
            *children,
        ],
    }


def _item_files(root: Path) -> list[tuple[str, int, int]]:
    """Return ``(path, size, mtime_ns)`` of every ``<collection>/items/*.json`` of a catalog folder, sorted."""
    found: list[tuple[str, int, int]] = []
    for folder in sorted(root.glob("*/items")):
        if folder.parent.name == "labels":
            continue  # the labels collection (icecube_stac.labels._catalog): label items are not products
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.endswith(".json") and entry.is_file():
                        stat = entry.stat()
                        found.append((entry.path, stat.st_size, stat.st_mtime_ns))
        except OSError as exc:
            raise CatalogError(f"{folder}: cannot read the item folder ({exc.strerror or exc})") from None
    return sorted(found)


def _print_key(prints: Fingerprint) -> tuple[tuple[Any, ...], ...]:
    return tuple(tuple(entry) for entry in prints)


def _is_fingerprint(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(e, list) and e and isinstance(e[0], str) and all(isinstance(x, str | int) for x in e) for e in value
    )


class ExistingCatalog:
    """The catalog as it is on disk: items by id and the fingerprints they were made from.

    Parameters
    ----------
    root
        The catalog folder (it may not exist yet).
    hrefs
        The asset href mode of this run: fingerprints recorded in another mode are not trusted.
    """

    def __init__(self, root: Path, hrefs: AssetHrefs) -> None:
        self.root = root
        self.hrefs = hrefs
        self.items: dict[str, ItemDocument] = {}
        self.prints: dict[str, Fingerprint] = {}
        # Every fingerprint of the state file, trusted or not: enough to tell that an item's files still exist.
        self.recorded: dict[str, Fingerprint] = {}
        self.state_matches = False
        self._by_print: dict[tuple[tuple[Any, ...], ...], str] | None = None
        if (root / CATALOG_JSON).is_file():
            self._load()

    def state_header(self) -> dict[str, Any]:
        """Describe what the fingerprints are valid for: hrefs relative to this folder, in this mode."""
        return {"version": _STATE_VERSION, "catalog": str(self.root.resolve()), "asset_hrefs": self.hrefs}

    def state(self, prints: dict[str, Fingerprint], files: dict[str, list[int]] | None = None) -> dict[str, Any]:
        """Return the state file's content for these fingerprints.

        Parameters
        ----------
        prints
            Fingerprint by item id.
        files
            ``[size, mtime_ns]`` of each item file as written: an item file found so on the next run is
            not read unless the run needs its content.

        Returns
        -------
        dict
        """
        written = files or {}
        return self.state_header() | {
            "items": {k: prints[k] for k in sorted(prints)},
            "files": {k: written[k] for k in sorted(written)},
        }

    def _load(self) -> None:
        state = self._read_state()
        files = state.get("files")
        written: dict[str, Any] = files if isinstance(files, dict) else {}
        for text, size, mtime in _item_files(self.root):
            item_id = os.path.basename(text)[: -len(".json")]
            if written.get(item_id) == [size, mtime]:
                self.items[item_id] = ItemDocument.stored(text)  # as written: read when needed
                continue
            item_path = Path(text)
            raw = item_path.read_bytes()
            data = parsed_item(item_path, raw)
            self.items[data["id"]] = ItemDocument(data, raw)
        self.state_matches = {k: state.get(k) for k in self.state_header()} == self.state_header()
        recorded = state.get("items", {})
        if isinstance(recorded, dict):
            self.recorded = {k: v for k, v in recorded.items() if k in self.items and _is_fingerprint(v)}
        if self.state_matches:
            self.prints = dict(self.recorded)

    def _read_state(self) -> dict[str, Any]:
        # A missing or damaged state file only costs re-reading the products: never an error.
        try:
            with (self.root / STATE_NAME).open(encoding="utf-8") as f:
                state = json.load(f)
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def lookup(self, prints: Fingerprint) -> str | None:
        """Return the id of the item made from exactly these files, if the catalog has one.

        Parameters
        ----------
        prints
            A product's fingerprint.

        Returns
        -------
        str or None
        """
        if self._by_print is None:
            self._by_print = {_print_key(v): k for k, v in self.prints.items()}
        return self._by_print.get(_print_key(prints))
