"""Item ids of an indexing run: one per product, even when several products share one ICEYE product name.

An item's id is its ``product_name``. A second product with the same name but other content (ICEYE's own
icecube test stack has altered copies of one SLC that differ in file, acquisition time and incidence) gets
an id derived from its file (the raster's name, else the name plus a digest of its metadata) and keeps its
product name as ``iceye:product_name``; the report warns about it. A product whose metadata equal those of
the item already holding the id (a plain copy) is skipped, with a warning.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from icecube_stac._catalog_files import ItemDocument, renamed

__all__ = ["Claim", "ItemIds"]

PRODUCT_NAME: Final = "iceye:product_name"
# An id taken from a file name must be a plain file name: it becomes <id>.json in the catalog.
_SAFE_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


@dataclass(frozen=True)
class Claim:
    """The outcome for one product: its item (None when skipped) and what the report should say, if anything."""

    document: ItemDocument | None
    warning: str | None = None


def _content(document: ItemDocument) -> str:
    """Return the item metadata, without what depends on where its files are or which id it got."""
    data: dict[str, Any] = dict(document.data)
    data.pop("id", None)
    data.pop("links", None)
    data["properties"] = {k: v for k, v in data.get("properties", {}).items() if k != PRODUCT_NAME}
    data["assets"] = {k: {f: v for f, v in a.items() if f != "href"} for k, a in data.get("assets", {}).items()}
    return json.dumps(data, sort_keys=True)


def _product_name(document: ItemDocument) -> str:
    return str(document.data.get("properties", {}).get(PRODUCT_NAME, document.data["id"]))


class ItemIds:
    """The ids taken so far in a run, by which product, and the metadata of each product name's items."""

    def __init__(self) -> None:
        self._taken: dict[str, Path] = {}
        # Items by product name: contents are compared (serialised) only between items sharing one.
        self._names: dict[str, list[tuple[str, ItemDocument, Path]]] = {}
        # Items taken whose metadata are not indexed yet: only a new product's claim needs them, so a run
        # that reads no new product never parses (or even reads) the items it keeps.
        self._pending: list[tuple[str, ItemDocument, Path]] = []

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._taken

    def _take(self, document: ItemDocument, where: Path, item_id: str | None = None) -> None:
        item_id = str(document.data["id"]) if item_id is None else item_id
        self._taken[item_id] = where
        self._pending.append((item_id, document, where))

    def _indexed(self) -> dict[str, list[tuple[str, ItemDocument, Path]]]:
        for entry in self._pending:
            self._names.setdefault(_product_name(entry[1]), []).append(entry)
        self._pending.clear()
        return self._names

    def _copy_of(self, document: ItemDocument) -> tuple[str, ItemDocument, Path] | None:
        """Return the first item taken with the same product name and metadata, if any."""
        group = self._indexed().get(_product_name(document))
        if not group:
            return None
        content = _content(document)
        return next((entry for entry in group if _content(entry[1]) == content), None)

    def keep(self, item_id: str, document: ItemDocument, where: Path) -> None:
        """Take the id of an item whose product files are unchanged since the run that wrote it.

        Parameters
        ----------
        item_id
            Its id (the catalog's).
        document
            The item (not read until a new product's claim needs its metadata).
        where
            Its primary file (named in messages).
        """
        self._take(document, where, item_id)

    def reserve(self, document: ItemDocument, where: Path, item_id: str | None = None) -> None:
        """Take the id of an item kept from an earlier run (its files are elsewhere and unchanged).

        Parameters
        ----------
        document
            The item.
        where
            One of its files (named in messages).
        item_id
            Its id, when known (the item is then not read for it).
        """
        item_id = str(document.data["id"]) if item_id is None else item_id
        if item_id not in self._taken:
            self._take(document, where, item_id)

    def claim(self, document: ItemDocument, primary: Path, raster: Path | None) -> Claim:
        """Give a product its item id.

        Parameters
        ----------
        document
            The product's item (its id is its product name, or the id it was given on an earlier run).
        primary
            The product's primary file (named in messages).
        raster
            Its raster, whose name an id may be derived from.

        Returns
        -------
        Claim
        """
        same = self._copy_of(document)
        if same is not None:
            return Claim(None, f"same metadata as {same[2]} (item {same[0]!r}): an identical copy, skipped")
        item_id = str(document.data["id"])
        if item_id not in self._taken:
            self._take(document, primary)
            return Claim(document)
        where = self._taken[item_id]
        new_id = self._derived(document, raster)
        document = renamed(document, new_id)
        self._take(document, primary)
        return Claim(
            document,
            f"product name {item_id!r} is already the item of {where}, whose metadata differ: indexed as item "
            f"{new_id!r} (derived from its file), with its product name in {PRODUCT_NAME}",
        )

    def _derived(self, document: ItemDocument, raster: Path | None) -> str:
        name = str(document.data["id"])
        stem = raster.name.rsplit(".", 1)[0] if raster is not None else ""
        if stem != name and _SAFE_ID.fullmatch(stem) and stem not in self._taken:
            return stem
        digest = hashlib.sha256(_content(document).encode("utf-8")).hexdigest()[:10]
        return f"{name}-{digest}"
