"""Read the products an index run has not seen before into catalog documents, in this process or in workers.

Each product is fingerprinted (:func:`fingerprint`: resolved path, size and mtime of each of its files, one
``lstat`` per file that is no link), and each new one read once into its item, its catalog document and
the warnings it raised (:func:`item_or_failure`), validated before it may be written. Many new products are
read by forked worker processes (:func:`read_new`; :func:`auto_workers` picks how many).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import traceback
import warnings
from collections.abc import Iterable, Iterator, Sequence, Sized
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from stat import S_ISLNK
from typing import TypeVar

from icecube_stac._catalog_files import AssetHrefs, Fingerprint, ItemDocument, item_document
from icecube_stac._index_report import failure_reason
from icecube_stac._progress import tracked
from icecube_stac._validation import problems
from icecube_stac._workers import usable_cores
from icecube_stac.errors import IcecubeStacError, IcecubeStacWarning
from icecube_stac.formats import ProductFiles
from icecube_stac.formats._cog_product import CogProductFiles, item_from_cog_files
from icecube_stac.stac import item_from_files

__all__ = [
    "PARALLEL_THRESHOLD",
    "ItemResult",
    "auto_workers",
    "fingerprint",
    "item_or_failure",
    "progress_of",
    "read_new",
]

_T = TypeVar("_T")


def _product_paths(files: ProductFiles) -> tuple[Path | None, ...]:
    sidecar = files.sidecar if isinstance(files, CogProductFiles) else None
    return files.raster, files.xml, files.quicklook, sidecar


def fingerprint(files: ProductFiles, folders: dict[str, str]) -> Fingerprint:
    """Return ``[resolved path, size, mtime_ns]`` of each file: one ``lstat`` per file that is not a link.

    Parameters
    ----------
    files
        The product's files.
    folders
        Real path by folder path (text), completed as folders are resolved (one ``realpath`` per folder).

    Returns
    -------
    Fingerprint
    """
    prints = []
    for path in _product_paths(files):
        if path is None:
            continue
        stat = os.lstat(path)
        if S_ISLNK(stat.st_mode):
            stat, resolved = path.stat(), str(path.resolve())
        else:  # the real path of a file that is no link is its folder's real path (resolved once) + its name
            text = str(path)
            parent = os.path.dirname(text)
            folder = folders.get(parent)
            if folder is None:
                folder = folders[parent] = os.path.realpath(parent or ".")
            resolved = os.path.join(folder, path.name)
        prints.append([resolved, stat.st_size, stat.st_mtime_ns])
    return prints


ItemResult = tuple[str, ItemDocument, list[str]] | str


def item_or_failure(job: tuple[ProductFiles, Path, AssetHrefs]) -> ItemResult:
    """Read one product into (id, catalog document, warnings), or say why it failed (runs in workers too)."""
    files, root, hrefs = job
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", IcecubeStacWarning)
            item = item_from_cog_files(files) if isinstance(files, CogProductFiles) else item_from_files(files)
        document = item_document(item, root, hrefs)
        found = problems(document.data)
        if found:  # an item that does not validate is never written
            return f"its STAC item does not validate, so it is not indexed: {'; '.join(found)}"
        notes = [str(w.message) for w in caught if issubclass(w.category, IcecubeStacWarning)]
        return item.id, document, notes
    except IcecubeStacError as exc:
        return failure_reason(exc, files.primary)
    except Exception as exc:  # one bad product must never abort the run
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return f"unexpected {type(exc).__name__}: {exc} (at {where.filename}:{where.lineno})"


# Below this many products to read, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 64
_AUTO_WORKERS_MAX = 4  # reading is CPU-bound: more processes than cores (or than 4) only add start-up costs


def auto_workers(workers: int | None) -> int:
    """Return the processes to use: ``None`` is one per usable core (at most 4) where ``fork`` is cheap (Linux)."""
    if workers is not None:
        return workers
    if not sys.platform.startswith("linux"):
        return 1  # spawned workers import the package again: slower than reading in-process
    return max(1, min(usable_cores(), _AUTO_WORKERS_MAX))


def read_new(
    products: Sequence[ProductFiles], root: Path, hrefs: AssetHrefs, progress: bool, workers: int
) -> list[ItemResult]:
    """Read each product with :func:`item_or_failure`, in ``workers`` forked processes when there are many.

    Parameters
    ----------
    products
        The products to read.
    root, hrefs
        The (resolved) catalog folder and the asset href mode.
    progress
        Show a progress bar.
    workers
        Processes (1: this one); used only from :data:`PARALLEL_THRESHOLD` products on.

    Returns
    -------
    list
        One result per product, in order.
    """
    jobs = [(files, root, hrefs) for files in products]
    if workers <= 1 or len(jobs) < PARALLEL_THRESHOLD:
        return [item_or_failure(job) for job in progress_of(jobs, progress)]
    # The first product is read here: the readers' imports and the schema validators then exist once, in
    # this process, and every forked worker inherits them instead of importing and compiling its own.
    first = item_or_failure(jobs[0])
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        rest = pool.map(item_or_failure, jobs[1:], chunksize=max(1, len(jobs) // (workers * 8)))
        return [first, *progress_of(rest, progress, total=len(jobs) - 1)]


def progress_of(jobs: Iterable[_T], enabled: bool, total: int | None = None) -> Iterator[_T]:
    """Yield ``jobs``, with a progress bar on stderr when ``enabled`` (and stderr is a terminal)."""
    total = total if total is not None else len(jobs) if isinstance(jobs, Sized) else None
    yield from tracked(jobs, enabled, desc="indexing", unit="product", total=total)
