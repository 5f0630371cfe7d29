"""What an index run does with the items of the existing catalog that it did not read again.

Items indexed from other folders on earlier runs are kept (and their ids reserved, so a new product of the
same product name never replaces one); items whose files are gone are kept and listed, or removed with
``prune``. Whether files still exist is told by the state file's fingerprints, trusted or not.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from icecube_stac._catalog_files import ExistingCatalog, Fingerprint, ItemDocument
from icecube_stac._index_report import IndexReport
from icecube_stac._item_ids import ItemIds

__all__ = ["carry_over", "reserve_kept"]


def reserve_kept(
    ids: ItemIds, existing: ExistingCatalog, fingerprints: Sequence[Fingerprint | None], known: Sequence[str | None]
) -> None:
    """Take the ids of items this run keeps from other folders: a new product of the same name gets another.

    Parameters
    ----------
    ids
        The run's item ids.
    existing
        The catalog as it was.
    fingerprints, known
        Per product of this run: its fingerprint (None if unreadable) and the id the catalog knows it by.
    """
    seen = {entry[0] for fingerprint in fingerprints if fingerprint for entry in fingerprint}
    matched = {item_id for item_id in known if item_id is not None}
    for item_id, recorded in existing.recorded.items():
        paths = [str(entry[0]) for entry in recorded]
        if item_id in matched or not paths or any(path in seen for path in paths):
            continue
        if all(Path(path).exists() for path in paths):
            ids.reserve(existing.items[item_id], Path(paths[0]), item_id)


def carry_over(
    existing: ExistingCatalog,
    items: dict[str, ItemDocument],
    prints: dict[str, Fingerprint],
    report: IndexReport,
    prune: bool,
) -> None:
    """Keep items this run did not see: indexed from other folders, or whose files are gone.

    Whether an item's files still exist is told by the state file even when its fingerprints are not trusted
    (another state version or href mode): such items are kept, not pruned, and read again when their folder
    is indexed next (their fingerprints are not carried over).

    Parameters
    ----------
    existing
        The catalog as it was.
    items, prints
        The run's items and fingerprints, completed in place.
    report
        Told which items were kept, removed or kept although their files are gone.
    prune
        Remove items whose files are gone.
    """
    for item_id, item in existing.items.items():
        if item_id in items:
            continue
        known = existing.recorded.get(item_id, [])
        if known and all(Path(entry[0]).exists() for entry in known):
            items[item_id] = item  # indexed from another folder on another run
            if item_id in existing.prints:
                prints[item_id] = known
            report.kept.append(item_id)
        elif prune:
            report.removed.append(item_id)
        else:
            items[item_id] = item
            if item_id in existing.prints:
                prints[item_id] = known
            report.vanished_kept.append(item_id)
