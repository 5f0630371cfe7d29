"""Validate what lies at a path, offline: a catalog folder, a catalog/collection/item JSON or an items.parquet.

:func:`validate_path` checks every object it finds against the vendored schemas
(:func:`icecube_stac._validation.problems`): each catalog, collection and item file reached through
``child``/``item`` links (a link that cannot be followed is a problem of the file holding it), and each row
of an ``items.parquet`` (null properties read as absent, the stac-geoparquet convention), whose ids must
also match the catalog's item files. It returns one
:class:`Checked` per object, so every failure is named.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from icecube_stac._catalog_walk import read_document, walk
from icecube_stac._validation import problems
from icecube_stac.errors import CatalogError
from icecube_stac.vocabulary import CATALOG_JSON, PARQUET_NAME

__all__ = ["Checked", "validate_path"]


class Checked(NamedTuple):
    """One STAC object that was validated: what it is (a file, or a parquet row) and its problems."""

    name: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        """True when the object has no problem."""
        return not self.problems


def _json_tree(root: Path) -> tuple[list[Checked], set[str]]:
    """Validate every document reachable from a root JSON file; also return the item ids seen."""
    link_problems: dict[Path, list[str]] = {}

    def skipped(where: Path, message: str) -> None:
        link_problems.setdefault(where, []).append(message.removeprefix(f"{where}: "))

    checked: list[Checked] = []
    ids: set[str] = set()
    for document in walk(root, skip=skipped):
        found = problems(document.data)
        checked.append(Checked(str(document.path), found))
        if document.kind == "Feature":
            ids.add(str(document.data.get("id")))
    by_path = {Path(c.name): c for c in checked}
    for where, messages in link_problems.items():
        by_path[where].problems.extend(messages)
    return checked, ids


def _rows(parquet: Path) -> Iterable[dict[str, Any]]:
    import pyarrow.parquet as pq
    import stac_geoparquet.arrow

    try:
        table = pq.read_table(parquet)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise CatalogError(f"{parquet}: not a readable parquet file ({exc})") from None
    items: Iterable[dict[str, Any]] = stac_geoparquet.arrow.stac_table_to_items(table)
    return (_without_nulls(item) for item in items)


def _without_nulls(item: dict[str, Any]) -> dict[str, Any]:
    """Read null properties as absent: a parquet column exists for every row, null where an item lacks it."""
    properties = item.get("properties")
    if isinstance(properties, dict):
        item["properties"] = {k: _absent_fields(v) for k, v in properties.items() if v is not None}
    if isinstance(item.get("assets"), dict):
        item["assets"] = _absent_fields(item["assets"])
    if isinstance(item.get("links"), list):  # links share one struct column too (label:assets on source links)
        item["links"] = _absent_fields(item["links"])
    if isinstance(item.get("properties"), dict) and "label:type" in item["properties"]:
        _label_nulls(item["properties"])
    return item


def _label_nulls(properties: dict[str, Any]) -> None:
    """Restore the nulls the label extension requires of raster labels (no property name, no class name)."""
    properties.setdefault("label:properties", None)
    for entry in properties.get("label:classes") or []:
        if isinstance(entry, dict):
            entry.setdefault("name", None)


def _absent_fields(value: Any) -> Any:
    """Drop null struct fields at any depth; null list elements stay.

    Items of both product generations share struct columns: a legacy item's data asset has no ``bands``, a
    COG item's ``processing:software`` no ``ICEYE_P``.
    """
    if isinstance(value, dict):
        return {k: _absent_fields(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_absent_fields(v) for v in value]
    return value


def _parquet(parquet: Path, json_ids: set[str] | None) -> list[Checked]:
    checked: list[Checked] = []
    ids: list[str] = []
    try:
        for number, item in enumerate(_rows(parquet)):
            ids.append(str(item.get("id")))
            checked.append(Checked(f"{parquet} row {number} (id {item.get('id')!r})", problems(item)))
    except CatalogError as exc:
        return [Checked(str(parquet), [str(exc).removeprefix(f"{parquet}: ")])]
    except (KeyError, TypeError, ValueError) as exc:
        return [Checked(str(parquet), [f"not stac-geoparquet ({type(exc).__name__}: {exc})"])]
    summary: list[str] = []
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        summary.append(f"item ids appear more than once: {', '.join(duplicates)}")
    if json_ids is not None:
        missing, extra = sorted(json_ids - set(ids)), sorted(set(ids) - json_ids)
        if missing:
            summary.append(f"out of sync with the catalog: lacks item(s) {', '.join(missing)}")
        if extra:
            summary.append(f"out of sync with the catalog: has item(s) no item file holds: {', '.join(extra)}")
    return [Checked(str(parquet), summary), *checked]


def validate_path(path: str | Path) -> list[Checked]:
    """Validate every STAC object at a path against the vendored schemas, offline.

    Parameters
    ----------
    path
        A catalog folder (its ``catalog.json`` tree and its ``items.parquet``), a catalog or collection
        JSON (with everything it links), an item JSON, or a stac-geoparquet file.

    Returns
    -------
    list of Checked
        One ``(name, problems)`` per object (a file, the parquet file itself, or a parquet row), in reading
        order; ``problems`` is empty for a valid object.

    Raises
    ------
    CatalogError
        When there is nothing to validate at ``path``, or the root document cannot be read at all.
    """
    target = Path(path).expanduser()
    if target.is_dir():
        root, parquet = target / CATALOG_JSON, target / PARQUET_NAME
        if not root.is_file() and not parquet.is_file():
            raise CatalogError(f"{target}: neither {CATALOG_JSON} nor {PARQUET_NAME} is there; nothing to validate")
        checked, ids = _json_tree(root) if root.is_file() else ([], None)
        return checked + (_parquet(parquet, ids) if parquet.is_file() else [])
    if not target.is_file():
        raise CatalogError(f"{target} does not exist")
    if target.suffix.lower() == ".parquet":
        return _parquet(target, None)
    data = read_document(target, "item") if _is_item(target) else None
    if data is not None:
        return [Checked(str(target), problems(data))]
    return _json_tree(target)[0]


def _is_item(path: Path) -> bool:
    try:
        read_document(path, "root")
    except CatalogError:
        return True  # read again as an item: a non-STAC file is reported as such
    return False
