"""Search rows of a catalog's items.parquet → absolute hrefs and each item's two links (collection, self).

items.parquet writes every href relative to the parquet's folder (the catalog root). Paths are resolved
as ``Path.resolve`` does, through one :class:`~icecube_stac._realpath.RealPaths` per search: each folder is
resolved once, a file then costs one ``lstat`` (``Path.resolve`` per item cost 0.1-0.3 s per 1,500 items);
per collection the collection file and the hrefs' base are found once. The parquet's ``links`` column is
not read (it is the slowest to decode, and a foreign parquet may have no JSON files): each item gets a link
to its collection file and, where our indexer wrote it, to its own JSON file (its self href).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

from icecube_stac._parquet import legacy_item_hrefs
from icecube_stac._realpath import RealPaths

__all__ = ["JSON_TYPE", "Rebase"]

JSON_TYPE: Final = "application/json"
_POSIX: Final = os.name == "posix"


class Rebase:
    """The hrefs and links of one search's items.

    Parameters
    ----------
    root
        The catalog folder (absolute or relative to the working directory).
    parquet
        Its items.parquet (whose state file tells whether hrefs follow the version-1 rule).
    """

    def __init__(self, root: str | os.PathLike[str], parquet: Path) -> None:
        text = os.fspath(root)
        # Joined to the working directory once (not per path, as RealPaths would); nothing is normalised.
        self.root = text if text.startswith("/") else os.path.join(os.getcwd(), text)
        # A catalog indexed before state version 2 wrote hrefs relative to each item's JSON file.
        self.legacy = legacy_item_hrefs(parquet)
        self.paths = RealPaths()
        self.folders: dict[str, tuple[str, str, str]] = {}

    def _collection(self, collection: str) -> tuple[str, str, str]:
        known = self.folders.get(collection)
        if known is None:
            items = os.path.join(self.root, collection, "items")
            base = items if self.legacy else self.root
            # Without an items folder (a parquet on its own) no item has a JSON file: no stat per item.
            folder = items if os.path.isdir(items) else ""
            known = base, self.paths.resolve(os.path.join(self.root, collection, "collection.json")), folder
            self.folders[collection] = known
        return known

    def asset_href(self, href: str, collection: str) -> str:
        """Return an asset href of an item of ``collection`` made absolute (URLs and absolute paths stay).

        Parameters
        ----------
        href
            The href as in the parquet.
        collection
            The item's collection id ("" for none).

        Returns
        -------
        str
        """
        # An absolute POSIX path stays as it is: resolve_href's answer, without a Path object per asset.
        if _POSIX and href.startswith("/"):
            return href
        return self.paths.href(href, self._collection(collection)[0])

    def asset_hrefs(self, hrefs: list[str], collections: list[str]) -> list[str]:
        """Return :meth:`asset_href` of each href (of the item of the same position's collection).

        Parameters
        ----------
        hrefs, collections
            Hrefs as in the parquet and their items' collection ids ("" for none), of equal length.

        Returns
        -------
        list of str
        """
        absolute = self.asset_href
        return [
            href if _POSIX and href.startswith("/") else absolute(href, c)
            for href, c in zip(hrefs, collections, strict=True)
        ]

    def collection_href(self, collection: str) -> str:
        """Return the target of the collection link of the items of ``collection`` ("" for none).

        Parameters
        ----------
        collection
            The items' collection id.

        Returns
        -------
        str
        """
        return self._collection(collection)[1]

    def has_item_files(self, collection: str) -> bool:
        """Tell whether the items of ``collection`` can have JSON files (its ``items`` folder exists).

        Parameters
        ----------
        collection
            The items' collection id ("" for none).

        Returns
        -------
        bool
            False: no item of it has a self link (:meth:`self_href` is None).
        """
        return bool(self._collection(collection)[2])

    def self_href(self, collection: str, item_id: str) -> str | None:
        """Return the target of an item's self link: its JSON file, or None without one.

        Parameters
        ----------
        collection
            The item's collection id ("" for none).
        item_id
            The item's id.

        Returns
        -------
        str or None
        """
        folder = self._collection(collection)[2]
        return self.paths.existing_file(f"{folder}/{item_id}.json") if folder else None

    def link_targets(self, collection: str, item_id: str) -> tuple[str, str | None]:
        """Return the targets of an item's collection link and self link (None: no JSON file).

        Parameters
        ----------
        collection
            The item's collection id ("" for none).
        item_id
            The item's id.

        Returns
        -------
        tuple of str and (str or None)
        """
        return self.collection_href(collection), self.self_href(collection, item_id)

    def item(self, item: dict[str, Any]) -> dict[str, Any]:
        """Rebase one item dict in place (asset hrefs, links) and return it.

        Parameters
        ----------
        item
            An item dict from the parquet.

        Returns
        -------
        dict
        """
        collection = str(item.get("collection", ""))
        collection_json, own = self.link_targets(collection, str(item.get("id", "")))
        links = [{"rel": "collection", "href": collection_json, "type": JSON_TYPE}]
        if own is not None:
            links.append({"rel": "self", "href": own, "type": JSON_TYPE})
        item["links"] = links
        for asset in item.get("assets", {}).values():
            asset["href"] = self.asset_href(str(asset.get("href", "")), collection)
        return item
