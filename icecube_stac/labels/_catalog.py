"""The labels collection of a catalog: written into the index's staging folder, kept across runs.

:func:`write_label_collection` is the hook :func:`icecube_stac.catalog.index` calls while it writes a catalog
into its staging folder (so labels are swapped in with the catalog, atomically, or not at all):

* with labels, ``labels/collection.json``, ``labels/items/<sar id>-labels.json`` and their GeoJSON assets are
  written, every document validated offline first (label extension v1.0.1, vendored);
* without labels, an existing ``labels/`` collection of the catalog is carried over unchanged (re-index with
  ``--labels`` to refresh it after products changed).

It returns the collection and item dicts, which the catalog links (``child``) and puts in ``items.parquet``.
Label items live in ``labels/items/``, which the product indexer skips (:data:`LABELS_COLLECTION`).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from icecube_stac._catalog_files import dump_json
from icecube_stac._validation import problems
from icecube_stac.labels._items import LABELS_COLLECTION, LabelCollection, label_collection
from icecube_stac.labels._model import LabelError, LabelSet

__all__ = ["LABELS_COLLECTION", "child_link", "read_label_collection", "write_label_collection"]


def _checked(document: dict[str, Any], what: str) -> dict[str, Any]:
    found = problems(document)
    if found:
        raise LabelError(f"{what} would not validate, so nothing was written: {'; '.join(found)}")
    return document


def read_label_collection(root: Path) -> LabelCollection | None:
    """Return the labels collection stored in a catalog folder, or None when it has none."""
    folder = root / LABELS_COLLECTION
    if not (folder / "collection.json").is_file():
        return None
    collection = json.loads((folder / "collection.json").read_text(encoding="utf-8"))
    items = tuple(json.loads(p.read_text(encoding="utf-8")) for p in sorted((folder / "items").glob("*.json")))
    return LabelCollection(collection, items, {})


def write_label_collection(
    staging: Path, root: Path, labels: LabelSet | None, sar_items: Sequence[dict[str, Any]]
) -> LabelCollection | None:
    """Write (or carry over) the labels collection into a catalog's staging folder.

    Parameters
    ----------
    staging
        The staging folder of the catalog being written.
    root
        The catalog folder it replaces (hrefs are relative to it; an existing collection is copied from it).
    labels
        Labels to write, or None to carry the existing collection over.
    sar_items
        The catalog's product item dicts.

    Returns
    -------
    LabelCollection or None
        What was written (None when there are no labels).

    Raises
    ------
    LabelError
        When the labels do not fit the catalog's products or a document would not validate.
    """
    if labels is None:
        existing = read_label_collection(root)
        if existing is not None:
            shutil.copytree(root / LABELS_COLLECTION, staging / LABELS_COLLECTION)
        return existing
    built = label_collection(labels, sar_items, root.resolve())
    folder = staging / LABELS_COLLECTION / "items"
    folder.mkdir(parents=True)
    for item in built.items:
        (folder / f"{item['id']}.json").write_bytes(dump_json(_checked(item, f"label item {item['id']}")))
    for name, data in built.files.items():
        (folder / name).write_bytes(dump_json(data))
    (staging / LABELS_COLLECTION / "collection.json").write_bytes(
        dump_json(_checked(built.collection, f"collection {LABELS_COLLECTION}"))
    )
    return built


def child_link() -> dict[str, str]:
    """Return the ``catalog.json`` link to the labels collection."""
    return {
        "rel": "child",
        "href": f"./{LABELS_COLLECTION}/collection.json",
        "type": "application/json",
        "title": "Labels",
    }
