"""One item of a catalog folder: its JSON dict and the exact bytes of its item file, read lazily when stored.

A run that changes nothing must not pay for reading and parsing every item file of a large catalog:
:meth:`ItemDocument.stored` defers both to the first use of :attr:`~ItemDocument.data` or
:attr:`~ItemDocument.raw`. A corrupt file is a :class:`~icecube_stac.errors.CatalogError` naming it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from icecube_stac.errors import CatalogError

__all__ = ["ItemDocument", "parsed_item"]


class ItemDocument:
    """One item of a catalog: its JSON dict and the bytes of its item file (``dump_json`` of the dict).

    Parameters
    ----------
    data
        The item dict.
    raw
        The bytes of its item file.

    Items of the existing catalog whose files are as the last run wrote them are read lazily
    (:meth:`stored`): an index run that changes nothing never reads or parses them.
    """

    __slots__ = ("_data", "_path", "_raw")

    def __init__(self, data: dict[str, Any], raw: bytes) -> None:
        self._data: dict[str, Any] | None = data
        self._raw: bytes | None = raw
        self._path: str | Path | None = None

    @classmethod
    def stored(cls, path: str | Path) -> ItemDocument:
        """Return the item of an item file, read (and checked) on first use.

        Parameters
        ----------
        path
            The item file.

        Returns
        -------
        ItemDocument
        """
        document = cls.__new__(cls)
        document._data, document._raw, document._path = None, None, path  # a Path made only when read
        return document

    def _load(self) -> None:
        assert self._path is not None
        path = Path(self._path)
        self._raw = path.read_bytes()
        self._data = parsed_item(path, self._raw)

    @property
    def data(self) -> dict[str, Any]:
        """The item dict."""
        if self._data is None:
            self._load()
        assert self._data is not None
        return self._data

    @property
    def raw(self) -> bytes:
        """The bytes of the item file."""
        if self._raw is None:
            self._load()
        assert self._raw is not None
        return self._raw

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ItemDocument) and self.raw == other.raw

    __hash__ = None  # type: ignore[assignment]


def parsed_item(path: Path, raw: bytes) -> dict[str, Any]:
    """Parse an item file's bytes, or raise a :class:`CatalogError` naming the corrupt file.

    Parameters
    ----------
    path
        The item file (named in the error).
    raw
        Its bytes.

    Returns
    -------
    dict
        The item, with a string ``id``.
    """
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or not isinstance(data["id"], str):
            raise TypeError("not a STAC item with an id")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise CatalogError(f"{path}: corrupt item file ({exc}); remove it and index again") from None
    return data
