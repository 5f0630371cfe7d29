"""A local static catalog turned into the collection and item records pgstac loads, with servable hrefs.

The catalog is read with :func:`icecube_stac._catalog_walk.walk` (no loops, no links leaving its folder).
Structural links are dropped (the API writes its own), and so are links to ``items.parquet`` (a local
file of the catalog, not something an API serves). Asset hrefs and the remaining links become absolute:
local paths by default, or URLs where the data are served when ``href_base`` is given (:class:`HrefBase`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pystac

from icecube_stac._catalog_walk import Document, walk
from icecube_stac.errors import CatalogError
from icecube_stac.vocabulary import PARQUET_TYPE, Prop, local_path

__all__ = ["HrefBase", "gather"]

# Links the API writes itself from its own URLs; the catalog's (relative, local) ones would be wrong.
_STRUCTURAL_RELS = frozenset({"self", "root", "parent", "child", "item", "items", "collection"})


def _url(text: str, what: str) -> str:
    parts = urlsplit(text)
    if not parts.scheme or "://" not in text or not parts.netloc:
        raise CatalogError(f"href_base {what}: got {text!r}; expected a URL such as https://data.example.com/iceye")
    return text.rstrip("/") + "/"


class HrefBase:
    """Where local files are served: rewrites local asset paths into URLs (or leaves them absolute paths).

    Parameters
    ----------
    href_base
        None: hrefs stay local absolute paths. A URL: where the catalog folder is served, the data keeping
        their place relative to it (a file ``../../data/x.tif`` from the catalog folder must then lie under
        the URL's path). A mapping: local folder → the URL it is served at (the longest matching folder
        wins); every local file must lie under one of them.
    catalog_folder
        The folder of the catalog being published.
    """

    def __init__(self, href_base: str | Mapping[str, str] | None, catalog_folder: Path) -> None:
        self.catalog_folder = catalog_folder
        self.single: str | None = None
        self.folders: list[tuple[Path, str]] = []
        if isinstance(href_base, str):
            self.single = _url(href_base, "URL")
        elif href_base is not None:
            pairs = [(Path(k).expanduser().resolve(), _url(v, f"for {k}")) for k, v in href_base.items()]
            self.folders = sorted(pairs, key=lambda pair: len(pair[0].parts), reverse=True)

    def __call__(self, href: str, base: Path, what: str) -> str:
        """Return ``href`` (as written in a document of folder ``base``) as it is to be published."""
        local = local_path(href)
        if local is None:
            return href  # already a URL
        path = Path(os.path.normpath(base / local))
        if self.single is not None:
            return self._under_catalog_url(path, what)
        if not self.folders:
            return str(path)
        for folder, url in self.folders:
            if path == folder or folder in path.parents:
                return url + quote(path.relative_to(folder).as_posix())
        served = ", ".join(str(folder) for folder, _ in self.folders)
        raise CatalogError(f"{what}: {path} is in none of the href_base folders ({served}); add its folder")

    def _under_catalog_url(self, path: Path, what: str) -> str:
        assert self.single is not None
        relative = Path(os.path.relpath(path, self.catalog_folder)).as_posix()
        ups = sum(1 for part in relative.split("/") if part == "..")
        depth = len([p for p in urlsplit(self.single).path.split("/") if p])
        if ups > depth:
            raise CatalogError(
                f"{what}: {path} lies {ups} folder(s) above the catalog folder, above what {self.single} can "
                "serve; give href_base as a mapping {local folder: URL} instead"
            )
        parts = urlsplit(self.single)
        segments = [p for p in parts.path.split("/") if p]
        for part in relative.split("/"):
            if part == "..":
                segments.pop()
            elif part not in ("", "."):
                segments.append(quote(part))
        return f"{parts.scheme}://{parts.netloc}/" + "/".join(segments)


def _links(document: Document, hrefs: HrefBase) -> list[dict[str, Any]]:
    """Non-structural links of a document, with servable hrefs; links to the local parquet are dropped."""
    links = []
    for link in document.data.get("links") or []:
        if not isinstance(link, dict) or link.get("rel") in _STRUCTURAL_RELS or link.get("type") == PARQUET_TYPE:
            continue
        what = f"{document.path}: link {link.get('rel')!r}"
        links.append(dict(link) | {"href": hrefs(str(link.get("href", "")), document.path.parent, what)})
    return links


def _stac(document: Document) -> dict[str, Any]:
    """Return the document as pystac reads it (migrated to the current STAC version), as a dict."""
    cls: Any = pystac.Item if document.kind == "Feature" else pystac.Collection
    try:
        obj = cls.from_dict(document.data, href=str(document.path), migrate=True, preserve_dict=True)
        data: dict[str, Any] = obj.to_dict(include_self_link=False, transform_hrefs=False)
    except (pystac.STACError, KeyError, ValueError, TypeError, AttributeError) as exc:
        what = "item" if document.kind == "Feature" else "collection"
        raise CatalogError(f"{document.path}: not a readable STAC {what} ({type(exc).__name__}: {exc})") from None
    return data


def _record(document: Document, hrefs: HrefBase) -> dict[str, Any]:
    record = _stac(document)
    record["links"] = _links(document, hrefs)
    for key, asset in (record.get("assets") or {}).items():
        href = asset.get("href")
        if not isinstance(href, str) or not href:
            raise CatalogError(f"{document.path}: asset {key!r} of {record.get('id')!r} has no href")
        asset["href"] = hrefs(href, document.path.parent, f"{document.path}: asset {key!r}")
    return record


def _collection_of(document: Document) -> str | None:
    named = document.data.get("collection")
    if isinstance(named, str):
        return named
    parent = next((d for d in document.ancestors() if d.kind == "Collection"), None)
    return None if parent is None else str(parent.data.get("id"))


def _item(document: Document, hrefs: HrefBase, collection_ids: set[str]) -> dict[str, Any]:
    record = _record(document, hrefs)
    properties = record.get("properties") or {}
    if properties.get(Prop.DATETIME) is None and not (properties.get(Prop.START) and properties.get(Prop.END)):
        raise CatalogError(
            f"{document.path}: item {record.get('id')!r} has neither datetime nor start_datetime/end_datetime; "
            "pgstac cannot place it in time"
        )
    collection = _collection_of(document)
    if collection not in collection_ids:
        raise CatalogError(
            f"{document.path}: item {record.get('id')!r} belongs to no collection of the catalog "
            f"(collection {collection!r}); pgstac stores items only inside collections"
        )
    record["collection"] = collection
    return record


def gather(source: Path, hrefs: HrefBase) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return the collection and item records of a local catalog, checked for what pgstac needs.

    Parameters
    ----------
    source
        The catalog's root JSON file.
    hrefs
        How local hrefs are published.

    Returns
    -------
    collections, items

    Raises
    ------
    CatalogError
        For a link that cannot be followed, an unreadable document, an item without time or collection, an
        item id twice in a collection, or a file outside every ``href_base`` folder.
    """
    documents = list(walk(source))
    collections = [_record(d, hrefs) for d in documents if d.kind == "Collection"]
    collection_ids = {str(c.get("id")) for c in collections}
    items: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], Path] = {}
    for document in (d for d in documents if d.kind == "Feature"):
        record = _item(document, hrefs, collection_ids)
        key = (str(record["collection"]), str(record.get("id")))
        if key in seen:
            raise CatalogError(
                f"{document.path}: item id {key[1]!r} appears twice in collection {key[0]!r} (also {seen[key]})"
            )
        seen[key] = document.path
        items.append(record)
    return collections, items
