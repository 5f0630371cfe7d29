"""Index folders of ICEYE products into a static STAC catalog plus a stac-geoparquet file.

Layout of ``catalogs/NAME/``::

    catalog.json
    iceye-grd/collection.json      (one collection per product level present)
    iceye-grd/items/<id>.json
    iceye-slc/...
    items.parquet                  (every item, in sync with the JSON; relative hrefs from this folder)
    .icecube-index.json            (file fingerprints that make re-indexing incremental)

Links are relative, so the folder can be moved. Every run builds the new catalog in a sibling
temporary folder and swaps it in with one atomic ``renameat2(RENAME_EXCHANGE)`` (two renames where
that call is missing): a run killed at any point leaves the previous catalog whole. A run that
changes nothing writes nothing.

This module runs the index in one pass: products are found once (:mod:`icecube_stac._discovery`), each new
product's metadata is read once and its item built, turned into its dict, validated offline and serialised
once (:mod:`icecube_stac._catalog_files`), and every file of the catalog is written from those dicts. A
product whose item does not validate is reported as failed, never written; products sharing a product name
get distinct ids (:mod:`icecube_stac._item_ids`); one run at a time holds the catalog
(:mod:`icecube_stac._index_lock`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pystac

from icecube_stac._atomic import atomic_path, recover
from icecube_stac._catalog_files import (
    AssetHrefs,
    ExistingCatalog,
    Fingerprint,
    ItemDocument,
    catalog_document,
    collection_document,
    dump_json,
)
from icecube_stac._discovery import discover_products
from icecube_stac._index_keep import carry_over, reserve_kept
from icecube_stac._index_lock import catalog_lock
from icecube_stac._index_read import auto_workers, read_new
from icecube_stac._index_read import fingerprint as fingerprint_of
from icecube_stac._index_report import IndexFailure, IndexReport
from icecube_stac._item_ids import ItemIds
from icecube_stac._parquet import write_parquet
from icecube_stac._validation import problems
from icecube_stac.errors import CatalogError
from icecube_stac.formats import ProductFiles
from icecube_stac.vocabulary import CATALOG_JSON, PARQUET_NAME, STATE_NAME, catalog_root, resolve_href

__all__ = [
    "DEFAULT_CATALOG",
    "AssetHrefs",
    "IndexFailure",
    "IndexReport",
    "discover_products",
    "index",
    "read_items",
]

DEFAULT_CATALOG = Path("catalogs/default")
_T = TypeVar("_T")

# Former names, still used by benchmarks/bench_search.py (and _write_parquet patched by a test): the
# writer below looks them up here at call time.
_catalog_dict = catalog_document
_write_parquet = write_parquet


def _index_products(
    products: Sequence[ProductFiles],
    existing: ExistingCatalog,
    root: Path,
    report: IndexReport,
    options: tuple[AssetHrefs, bool, int],
    folders: dict[str, str],
) -> tuple[dict[str, ItemDocument], dict[str, Fingerprint]]:
    hrefs, progress, workers = options
    items: dict[str, ItemDocument] = {}
    prints: dict[str, Fingerprint] = {}
    ids = ItemIds()
    fingerprints: list[Fingerprint | None] = []
    known: list[str | None] = []
    for files in products:
        try:
            fingerprint: Fingerprint | None = fingerprint_of(files, folders)
        except OSError as exc:  # vanished between discovery and now
            report.failures.append(IndexFailure(str(files.primary), f"cannot read: {exc.strerror or exc}"))
            fingerprint = None
        fingerprints.append(fingerprint)
        known.append(None if fingerprint is None else existing.lookup(fingerprint))
    reserve_kept(ids, existing, fingerprints, known)
    todo = [f for f, fp, k in zip(products, fingerprints, known, strict=True) if fp is not None and k is None]
    fresh = iter(read_new(todo, root, hrefs, progress, workers))
    # Products the catalog already knows go first, so a copy found elsewhere never takes over an item id.
    order = sorted(zip(products, fingerprints, known, strict=True), key=lambda entry: entry[2] is None)
    for files, fingerprint, item_id in order:
        if fingerprint is None:
            continue
        if item_id is not None:
            document = existing.items[item_id]
            ids.keep(item_id, document, files.primary)  # unchanged files: its id, never another's
            report.unchanged.append(item_id)
            items[item_id] = document
            prints[item_id] = fingerprint
            continue
        result = next(fresh)
        if isinstance(result, str):
            report.failures.append(IndexFailure(str(files.primary), result))
            continue
        item_id, document, notes = result
        report.warnings += [IndexFailure(str(files.primary), note) for note in notes]
        if notes:
            fingerprint = []  # not recorded: the product is read (and the problem reported) again next run
        claim = ids.claim(document, files.primary, files.raster)
        if claim.warning is not None:
            report.warnings.append(IndexFailure(str(files.primary), claim.warning))
        if claim.document is None:
            continue
        document = claim.document
        item_id = str(document.data["id"])
        before = existing.items.get(item_id)
        if before is None:
            report.added.append(item_id)
        elif before.data == document.data:
            report.unchanged.append(item_id)
            document = before  # the same item: its file keeps its bytes
        else:
            report.updated.append(item_id)
        items[item_id] = document
        if fingerprint:
            prints[item_id] = fingerprint
    return items, prints


def index(
    paths: Iterable[str | Path],
    catalog: str | Path = DEFAULT_CATALOG,
    *,
    prune: bool = False,
    asset_hrefs: AssetHrefs = "relative",
    progress: bool = False,
    title: str | None = None,
    workers: int | None = None,
    lock_timeout: float | None = None,
    labels: str | Path | None = None,
    geocoded_assets: bool = False,
) -> IndexReport:
    """Index ICEYE products found under ``paths`` into the catalog folder ``catalog``.

    Incremental and idempotent: products whose files are unchanged are not read again, and a run that
    changes nothing writes nothing. One bad product never stops the run; it is listed in
    :attr:`IndexReport.failures`. Each product's files are looked up once, its metadata read once and
    its item built and serialised once; each collection's extent and summaries are computed once.

    Parameters
    ----------
    paths
        Product files or folders (searched recursively).
    catalog
        The catalog folder (created if missing).
    prune
        Remove items whose product files no longer exist. Without it they are kept and listed in
        :attr:`IndexReport.vanished_kept`.
    asset_hrefs
        ``"relative"`` (default: the catalog and the data can move together) or ``"absolute"`` (the
        catalog folder can move on its own).
    progress
        Show a progress bar on stderr.
    title
        Title of the root catalog.
    workers
        Processes reading new products (only when there are at least 64 to read). ``None`` (default): one
        per usable core, at most 4, on Linux (forked workers); one process elsewhere. ``1`` reads in this
        process.
    lock_timeout
        One run at a time indexes a catalog: while another holds it, this one warns and waits, at most this
        many seconds when given (0: not at all), then fails with a :class:`CatalogError` naming the other run.
    labels
        A labels source (icecube labels JSON, GeoJSON, STAC label items; :func:`icecube_stac.labels.read_labels`)
        written as STAC label items into the catalog's ``labels`` collection, checked against the products
        (:mod:`icecube_stac.labels._catalog`); without it an existing labels collection is kept.
    geocoded_assets
        Give every GRD item a ``geocoded`` asset: a GDAL warped VRT onto its UTM grid, with projection fields
        (:mod:`icecube_stac.geocode._assets`), so that odc-stac and stackstac can load the items.

    Returns
    -------
    IndexReport

    Raises
    ------
    CatalogError
        When the catalog folder is not one (or holds the products), or another run holds it too long.
    """
    root = Path(catalog)
    if root.is_symlink():
        root = root.resolve()  # swap the real folder; the link keeps pointing at it
    sources = [Path(p) for p in paths]
    _check_location(root, sources)
    label_set = None
    if labels is not None:  # parsed before anything is locked or written: a bad file changes nothing
        from icecube_stac.labels import read_labels

        label_set = read_labels(labels)
    with catalog_lock(root, lock_timeout):
        _check_location(root, sources)  # again: another run may have changed the folder while this one waited
        recover(root)  # a killed run's staging folder goes now, even if this run has nothing to write
        existing = ExistingCatalog(root, asset_hrefs)
        report = IndexReport(catalog=root)
        folders: dict[str, str] = {}
        products, report.failures = discover_products(sources, folders)
        items, prints = _index_products(
            products, existing, root.resolve(), report, (asset_hrefs, progress, auto_workers(workers)), folders
        )
        carry_over(existing, items, prints, report, prune)
        if geocoded_assets:  # a GDAL warped VRT per GRD item (icecube_stac.geocode._assets)
            from icecube_stac.geocode._assets import add_geocoded_assets

            add_geocoded_assets(items, root.resolve(), asset_hrefs, report)
        changed = report.added or report.updated or report.removed or set(items) != set(existing.items)
        if changed or prints != existing.prints or not existing.state_matches or label_set is not None:
            _write_catalog(root, items, prints, existing, title, label_set)
            report.written = True
    return report


def _check_location(root: Path, paths: Sequence[Path]) -> None:
    """Refuse a catalog folder whose replacement would destroy anything but a previous catalog."""
    resolved = root.resolve()
    for path in paths:
        source = path.resolve()
        if source == resolved or resolved in source.parents:
            raise CatalogError(
                f"the catalog folder {root} contains the products to index ({path}); choose a catalog folder "
                "outside the data, e.g. catalogs/NAME"
            )
    if root.is_dir() and any(root.iterdir()) and not (root / STATE_NAME).is_file():
        raise CatalogError(
            f"{root} exists and is not an icecube-stac catalog (no {STATE_NAME}); refusing to replace its "
            "contents. Choose an empty or new folder, e.g. catalogs/NAME"
        )
    if root.exists() and not root.is_dir():
        raise CatalogError(f"{root} exists and is not a folder")


def _by_collection(items: Mapping[str, ItemDocument]) -> dict[str, list[ItemDocument]]:
    """Group items by collection, each group sorted by item id."""
    groups: dict[str, list[ItemDocument]] = {}
    for item_id in sorted(items):
        document = items[item_id]
        groups.setdefault(document.data["collection"], []).append(document)
    return groups


def _checked(document: dict[str, Any], what: str) -> dict[str, Any]:
    found = problems(document)
    if found:
        raise CatalogError(f"{what} would not validate, so nothing was written: {'; '.join(found)}")
    return document


def _write_catalog(
    root: Path,
    items: Mapping[str, ItemDocument],
    prints: Mapping[str, Fingerprint],
    existing: ExistingCatalog,
    title: str | None,
    labels: Any = None,
) -> None:
    """Write the whole catalog into a staging folder from the item documents, then swap it in atomically."""
    with atomic_path(root, overwrite=True) as staging:
        staging.mkdir()
        groups = _by_collection(items)
        collections: dict[str, dict[str, Any]] = {}
        written: dict[str, list[int]] = {}
        for cid, documents in groups.items():
            folder = staging / cid / "items"
            folder.mkdir(parents=True)
            for document in documents:
                item_id = str(document.data["id"])
                path = folder / f"{item_id}.json"
                path.write_bytes(document.raw)
                stat = path.stat()
                written[item_id] = [stat.st_size, stat.st_mtime_ns]
            collection = _checked(collection_document(cid, [d.data for d in documents]), f"collection {cid}")
            (staging / cid / "collection.json").write_bytes(dump_json(collection))
            collections[cid] = collection
        product_items = [items[k].data for k in sorted(items)]
        label_items = None
        # icecube_stac.labels imports dask and xarray (1.1 s): only a run with labels, or a catalog that has a
        # labels collection (labels._items.LABELS_COLLECTION) to carry over, pays for it.
        if labels is not None or (root / "labels" / "collection.json").is_file():
            from icecube_stac.labels._catalog import child_link, write_label_collection

            label_items = write_label_collection(staging, root, labels, product_items)  # labels/ (or carried over)
        root_document = _catalog_dict(sorted(groups), title)
        if label_items is not None:
            root_document["links"].append(child_link())
            collections[label_items.collection["id"]] = label_items.collection
            product_items += label_items.items
        root_document = _checked(root_document, CATALOG_JSON)
        (staging / CATALOG_JSON).write_bytes(dump_json(root_document))
        _write_parquet(staging / PARQUET_NAME, product_items, collections)
        (staging / STATE_NAME).write_bytes(dump_json(existing.state(dict(prints), written)))
        if any("geocoded" in document.data["assets"] for document in items.values()):
            from icecube_stac.geocode._assets import write_geocoded_vrts

            write_geocoded_vrts(staging, root, items)


def read_items(catalog: str | Path) -> list[pystac.Item]:
    """Read every item of a catalog folder, with asset hrefs made absolute (resolved against the item file).

    Parameters
    ----------
    catalog
        The catalog folder or its ``catalog.json``.

    Returns
    -------
    list of pystac.Item
        Sorted by id.
    """
    root = catalog_root(catalog)
    if not (root / CATALOG_JSON).is_file():
        raise CatalogError(f"no catalog at {root}: {root / CATALOG_JSON} does not exist")
    items = []
    for path in sorted(root.glob("*/items/*.json")):
        if path.parent.parent.name == "labels":
            continue  # label items (icecube_stac.labels._catalog) are not products
        item = pystac.Item.from_file(str(path))
        for asset in item.assets.values():
            asset.href = resolve_href(asset.href, path.parent)
        items.append(item)
    return sorted(items, key=lambda i: i.id)
