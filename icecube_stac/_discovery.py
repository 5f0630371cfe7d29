"""Find the ICEYE products under files and folders: each product's files are looked up exactly once.

Folders are walked recursively (symbolic links followed, each folder once); every raster and XML sidecar
found is a candidate, and candidates are grouped into products (:class:`~icecube_stac.formats.ProductFiles`)
with :func:`~icecube_stac.formats.find_product_files`, called once per product: a sidecar whose raster
already made a product is not looked up again.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from icecube_stac._index_report import IndexFailure, failure_reason
from icecube_stac.errors import IcecubeStacError
from icecube_stac.formats import RASTER_SUFFIXES, ProductFiles, find_product_files, find_raster

__all__ = ["discover_products"]

_PRODUCT_SUFFIXES = frozenset({".xml", *RASTER_SUFFIXES})


def _walk(folder: Path, failures: list[IndexFailure]) -> Iterator[Path]:
    seen: set[tuple[int, int]] = set()

    def report(error: OSError) -> None:
        failures.append(IndexFailure(str(error.filename), f"cannot read folder: {error.strerror or error}"))

    for current, dirs, files in os.walk(folder, onerror=report, followlinks=True):
        stat = os.stat(current)
        if (stat.st_dev, stat.st_ino) in seen:  # a symlink loop, or a folder reached twice
            dirs.clear()
            continue
        seen.add((stat.st_dev, stat.st_ino))
        dirs.sort()
        for name in files:
            path = Path(current, name)
            if _is_candidate(path):
                yield path


def _is_candidate(path: Path) -> bool:
    # GDAL writes X.tif.aux.xml next to rasters it has opened (statistics, PAM); they are not ICEYE sidecars.
    return path.suffix.lower() in _PRODUCT_SUFFIXES and not path.name.lower().endswith(".aux.xml")


def _candidates(paths: Iterable[Path], failures: list[IndexFailure]) -> set[Path]:
    candidates: set[Path] = set()
    for path in paths:
        if path.is_dir():
            for candidate in _walk(path, failures):
                if candidate.is_file():
                    candidates.add(candidate)
                else:
                    failures.append(IndexFailure(str(candidate), "dangling link or unreadable file"))
        elif path.is_file():
            candidates.add(path)
        else:
            failures.append(IndexFailure(str(path), "no such file or folder"))
    return candidates


def _known_primary(candidate: Path, primaries: set[Path]) -> bool:
    """Tell whether ``candidate`` belongs to a product already found, without looking its files up again."""
    if candidate.suffix.lower() != ".xml":
        return candidate in primaries  # a raster is its product's primary file
    raster = find_raster(candidate)
    return raster is not None and raster in primaries


def discover_products(paths: Iterable[str | Path]) -> tuple[list[ProductFiles], list[IndexFailure]]:
    """Find ICEYE products under files and folders (recursively) and pair rasters with sidecars.

    Symbolic links to folders are followed (each folder once); unreadable folders and dangling links are
    reported as failures rather than skipped silently.

    Parameters
    ----------
    paths
        Files or folders.

    Returns
    -------
    products, failures
        Products sorted by primary path; failures for paths that cannot be read.
    """
    failures: list[IndexFailure] = []
    candidates = _candidates(map(Path, paths), failures)
    products: dict[Path, ProductFiles] = {}
    primaries: set[Path] = set()
    for candidate in sorted(candidates):
        if _known_primary(candidate, primaries):
            continue
        try:
            files = find_product_files(candidate)
        except IcecubeStacError as exc:
            failures.append(IndexFailure(str(candidate), failure_reason(exc, candidate)))
            continue
        primaries.add(files.primary)
        products.setdefault(files.primary.resolve(), files)
    return [products[k] for k in sorted(products)], failures
