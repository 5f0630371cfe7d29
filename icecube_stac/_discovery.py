r"""Find the ICEYE products under files and folders: each product's files are looked up exactly once.

Folders are walked recursively; every raster and XML sidecar found is a candidate, and candidates are
grouped into products (:class:`~icecube_stac.formats.ProductFiles`) with
:func:`~icecube_stac.formats.find_product_files`, called once per product: a sidecar whose raster already
made a product is not looked up again.

Both generations are found in one walk. A ``.tif`` named the current way (``ICEYE_<geohash6>_<YYYYMMDD
ThhmmssZ>_...``) or with a same-stem ``.json`` side-car is a COG product
(:class:`~icecube_stac.formats._cog_product.CogProductFiles`, the side-car part of it); a side-car named the
new way without its raster is reported when indexed, and ICEYE's companion products (``QLK``, ``THM``,
``CSI``, ``VID``) are not products to index. Every other raster is a legacy product, found as before.

Symbolic links. A link to a folder is never followed: one that points inside an input folder adds nothing
(that folder is walked anyway), and one that points outside every input folder (a link to ``/usr``) is
reported as a failure naming the link and its target, so an index run never wanders out of the folders it
was given and a link loop cannot make it walk forever. A link to a file is a candidate like any file,
wherever it points, as long as it resolves to a regular file: product folders made of links into an
archive are common. Paths in failures are printable (bytes that are not UTF-8 shown as ``\xNN``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from icecube_stac._index_report import IndexFailure, failure_reason
from icecube_stac.errors import IcecubeStacError
from icecube_stac.formats import (
    RASTER_SUFFIXES,
    ProductFiles,
    _usable_names,
    find_product_files,
    find_raster,
    printable_path,
)
from icecube_stac.formats._cog_product import COG_NAME, CogProductFiles, cog_product_files

__all__ = ["discover_products"]

_PRODUCT_SUFFIXES = frozenset({".xml", *RASTER_SUFFIXES})


def _inside(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _walk(folder: Path, roots: list[Path], failures: list[IndexFailure]) -> Iterator[Path]:
    seen: set[tuple[int, int]] = set()

    def report(error: OSError) -> None:
        where = printable_path(error.filename) if error.filename is not None else printable_path(folder)
        failures.append(IndexFailure(where, f"cannot read folder: {error.strerror or error}"))

    for current, dirs, files in os.walk(folder, onerror=report, followlinks=False):
        try:
            stat = os.stat(current)
        except OSError as exc:
            report(exc)
            dirs.clear()
            continue
        if (stat.st_dev, stat.st_ino) in seen:  # a folder reached twice (bind mounts)
            dirs.clear()
            continue
        seen.add((stat.st_dev, stat.st_ino))
        for name in sorted(dirs):
            link = Path(current, name)
            if not link.is_symlink():
                continue
            try:
                target = link.resolve()
            except (OSError, RuntimeError):  # RuntimeError: a link loop (Python < 3.13)
                continue  # not a folder after all: nothing to walk or report
            if not _inside(target, roots):
                reason = (
                    f"symbolic link to a folder outside the input folders ({printable_path(target)}) is not "
                    "followed; give that folder as an input to index it"
                )
                failures.append(IndexFailure(printable_path(link), reason))
        dirs.sort()
        for name in files:
            path = Path(current, name)
            if _is_candidate(path):
                yield path


def _is_candidate(path: Path) -> bool:
    # GDAL writes X.tif.aux.xml next to rasters it has opened (statistics, PAM); they are not ICEYE sidecars.
    suffix = path.suffix.lower()
    if suffix == ".json":  # only side-cars named the new way: other JSON files are not ICEYE's
        return COG_NAME.match(path.name) is not None
    return suffix in _PRODUCT_SUFFIXES and not path.name.lower().endswith(".aux.xml")


def _product_files(candidate: Path) -> ProductFiles | None:
    """Return the files of the product ``candidate`` is the primary file of (None: part of another, or none)."""
    cog = cog_product_files(candidate)
    if cog is True:
        return None
    if isinstance(cog, CogProductFiles):
        _usable_names(ProductFiles(cog.raster, cog.sidecar))  # names checked as for legacy products
        return cog
    return find_product_files(candidate)


def _candidates(paths: list[Path], failures: list[IndexFailure]) -> set[Path]:
    candidates: set[Path] = set()
    roots = [path.resolve() for path in paths if path.is_dir()]
    for path in paths:
        if path.is_dir():
            for candidate in _walk(path, roots, failures):
                if candidate.is_file():
                    candidates.add(candidate)
                else:
                    failures.append(IndexFailure(printable_path(candidate), "dangling link or not a regular file"))
        elif path.is_file():
            candidates.add(path)
        else:
            failures.append(IndexFailure(printable_path(path), "no such file or folder"))
    return candidates


def _known_primary(candidate: Path, primaries: set[Path]) -> bool:
    """Tell whether ``candidate`` belongs to a product already found, without looking its files up again."""
    if candidate.suffix.lower() != ".xml":
        return candidate in primaries  # a raster is its product's primary file
    raster = find_raster(candidate)
    return raster is not None and raster in primaries


def discover_products(paths: Iterable[str | Path]) -> tuple[list[ProductFiles], list[IndexFailure]]:
    """Find ICEYE products under files and folders (recursively) and pair rasters with sidecars.

    Links to folders are not followed (one leading out of the input folders is reported); links to files
    are candidates like files. Unreadable folders, dangling links and file names that are not UTF-8 are
    reported as failures rather than skipped silently.

    Parameters
    ----------
    paths
        Files or folders.

    Returns
    -------
    products, failures
        Products sorted by primary path; failures for paths that cannot be read, with printable paths.
    """
    failures: list[IndexFailure] = []
    candidates = _candidates(list(map(Path, paths)), failures)
    products: dict[Path, ProductFiles] = {}
    primaries: set[Path] = set()
    for candidate in sorted(candidates):
        if _known_primary(candidate, primaries):
            continue
        try:
            found = _product_files(candidate)
        except IcecubeStacError as exc:
            shown = printable_path(candidate)
            reason = failure_reason(exc, Path(shown) if getattr(exc, "source", None) == shown else candidate)
            failures.append(IndexFailure(shown, reason))
            primaries.add(candidate)  # its sidecar is the same product: not reported twice
            continue
        if found is None:
            continue
        files = found
        primaries.add(files.primary)
        products.setdefault(files.primary.resolve(), files)
    return [products[k] for k in sorted(products)], failures
