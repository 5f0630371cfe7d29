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

Speed. Each folder is listed once (``os.scandir``): a product's companion files are looked up in that
listing rather than with a ``stat`` each, and a folder's real path is resolved once for all its files. A
file that is a link, or a name that is not printable UTF-8, takes the exact per-file path
(:func:`~icecube_stac.formats.find_product_files`), so the result is the same as looking every file up.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from icecube_stac._index_report import IndexFailure, failure_reason
from icecube_stac.errors import IcecubeStacError
from icecube_stac.formats import (
    _LEVEL_IN_NAME,
    _RASTER_ORDER,
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


@dataclass
class _Folder:
    """One listed folder: the names of its files (links to files included) and which of them are links."""

    path: str
    real: str  # its real path: the input folder's, resolved once, joined with the names walked
    names: frozenset[str]
    links: frozenset[str]

    @cached_property
    def printable(self) -> bool:
        """Whether the folder's path and real path are printable UTF-8."""
        return _printable(self.path) and _printable(self.real)

    def plain(self, files: ProductFiles) -> bool:
        """Tell whether a product's files are no links and have printable UTF-8 names (no per-file checks)."""
        names = [p.name for p in _paths_of(files)]
        return (
            self.printable and not any(name in self.links for name in names) and all(_printable(name) for name in names)
        )


def _printable(text: str) -> bool:
    return printable_path(text) == text  # valid UTF-8 and no control characters


def _paths_of(files: ProductFiles) -> list[Path]:
    sidecar = files.sidecar if isinstance(files, CogProductFiles) else None
    return [p for p in (files.raster, files.xml, files.quicklook, sidecar) if p is not None]


def _inside(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows links, as os.walk sorts entries
    except OSError:
        return False


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def _linked_folder(link: Path, roots: list[Path], failures: list[IndexFailure]) -> None:
    try:
        target = link.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a link loop (Python < 3.13)
        return  # not a folder after all: nothing to walk or report
    if not _inside(target, roots):
        reason = (
            f"symbolic link to a folder outside the input folders ({printable_path(target)}) is not "
            "followed; give that folder as an input to index it"
        )
        failures.append(IndexFailure(printable_path(link), reason))


def _walk(
    folder: Path, roots: list[Path], failures: list[IndexFailure]
) -> Iterator[tuple[str, str, list[os.DirEntry[str]]]]:
    """Yield each folder under ``folder`` (links to folders not followed), its real path and its non-folders."""
    seen: set[tuple[int, int]] = set()

    def report(error: OSError, current: str) -> None:
        where = printable_path(error.filename) if error.filename is not None else printable_path(current)
        failures.append(IndexFailure(where, f"cannot read folder: {error.strerror or error}"))

    stack = [(str(folder), os.path.realpath(folder))]
    while stack:
        current, real = stack.pop()
        try:
            stat = os.stat(current)
            with os.scandir(current) as listing:
                entries = list(listing)
        except OSError as exc:
            report(exc, current)
            continue
        if (stat.st_dev, stat.st_ino) in seen:  # a folder reached twice (bind mounts)
            continue
        seen.add((stat.st_dev, stat.st_ino))
        dirs: list[os.DirEntry[str]] = []
        others: list[os.DirEntry[str]] = []
        for entry in entries:
            (dirs if _is_dir(entry) else others).append(entry)
        dirs.sort(key=lambda e: e.name)
        for entry in dirs:
            if entry.is_symlink():
                _linked_folder(Path(entry.path), roots, failures)
        # A folder that is no link is its parent's real path plus its name: no realpath per folder.
        stack.extend((e.path, os.path.join(real, e.name)) for e in reversed(dirs) if not e.is_symlink())
        yield current, real, others


def _suffix(name: str) -> str:
    """Return the suffix of a file name exactly as :attr:`pathlib.PurePath.suffix` does, without a Path."""
    i = name.rfind(".")
    return name[i:] if 0 < i < len(name) - 1 else ""


def _is_candidate(name: str) -> bool:
    # GDAL writes X.tif.aux.xml next to rasters it has opened (statistics, PAM); they are not ICEYE sidecars.
    suffix = _suffix(name).lower()
    if suffix == ".json":  # only side-cars named the new way: other JSON files are not ICEYE's
        return COG_NAME.match(name) is not None
    return suffix in _PRODUCT_SUFFIXES and not name.lower().endswith(".aux.xml")


def _listed_sibling(path: Path, suffixes: tuple[str, ...], folder: _Folder) -> Path | None:
    """:func:`icecube_stac.formats._sibling` from the folder listing: the first existing name wins."""
    name = path.name
    stem = name[: len(name) - len(_suffix(name))]
    for suffix in suffixes:
        for sibling in (stem + suffix, stem + suffix.upper()):
            if sibling in folder.names:
                return path.with_name(sibling)
    return None


def _listed_quicklook(path: Path, folder: _Folder) -> Path | None:
    stem = _LEVEL_IN_NAME.sub("_QUICKLOOK_", path.stem, count=1)
    for name in (f"{stem}.png", f"{path.stem}.png"):
        if name in folder.names:
            return path.with_name(name)
    return None


def _listed_files(candidate: Path, folder: _Folder) -> ProductFiles | None:
    """:func:`_product_files` from the folder listing (names checked per file only when they need it)."""
    cog = cog_product_files(candidate, folder.names)
    if cog is True:
        return None
    files: ProductFiles
    if isinstance(cog, CogProductFiles):
        files = cog
    elif candidate.suffix.lower() == ".xml":
        raster = _listed_sibling(candidate, _RASTER_ORDER, folder)
        files = ProductFiles(raster, candidate, _listed_quicklook(candidate, folder))
    else:
        xml = _listed_sibling(candidate, (".xml",), folder)
        files = ProductFiles(candidate, xml, _listed_quicklook(candidate, folder))
    if not folder.plain(files):
        _usable_names(ProductFiles(files.raster, files.xml, files.quicklook))  # the exact checks and messages
        if isinstance(files, CogProductFiles):
            _usable_names(ProductFiles(files.raster, files.sidecar))
    return files


def _product_files(candidate: Path, folder: _Folder | None) -> ProductFiles | None:
    """Return the files of the product ``candidate`` is the primary file of (None: part of another, or none)."""
    if folder is not None and candidate.name not in folder.links:
        return _listed_files(candidate, folder)
    cog = cog_product_files(candidate)
    if cog is True:
        return None
    if isinstance(cog, CogProductFiles):
        _usable_names(ProductFiles(cog.raster, cog.sidecar))  # names checked as for legacy products
        return cog
    return find_product_files(candidate)


def _candidates(paths: list[Path], failures: list[IndexFailure]) -> dict[Path, _Folder | None]:
    """Return every candidate file, with its listed folder (None for a file given as an input)."""
    candidates: dict[Path, _Folder | None] = {}
    roots = [path.resolve() for path in paths if path.is_dir()]
    for path in paths:
        if path.is_dir():
            for current, real, entries in _walk(path, roots, failures):
                files = {entry.name: entry for entry in entries if _is_file(entry)}
                links = frozenset(name for name, entry in files.items() if entry.is_symlink())
                folder = _Folder(current, real, frozenset(files), links)
                for entry in entries:
                    if not _is_candidate(entry.name):
                        continue
                    candidate = Path(entry.path)
                    if entry.name in files:
                        candidates.setdefault(candidate, folder)
                    else:
                        failures.append(IndexFailure(printable_path(candidate), "dangling link or not a regular file"))
        elif path.is_file():
            candidates.setdefault(path, None)  # any file given: one of another type is reported as such
        else:
            failures.append(IndexFailure(printable_path(path), "no such file or folder"))
    return candidates


def _sort_key(path: Path) -> list[str]:
    """Sort as :class:`pathlib.PosixPath` does (by parts), from the path text: no parts parsed per path."""
    parts = str(path).split("/")
    if parts[0] == "":
        parts[0] = "/"
    return parts


def _known_primary(candidate: Path, folder: _Folder | None, primaries: set[Path]) -> bool:
    """Tell whether ``candidate`` belongs to a product already found, without looking its files up again."""
    if candidate.suffix.lower() != ".xml":
        return candidate in primaries  # a raster is its product's primary file
    raster = find_raster(candidate) if folder is None else _listed_sibling(candidate, _RASTER_ORDER, folder)
    return raster is not None and raster in primaries


def _resolved(path: Path, folder: _Folder | None) -> Path:
    if folder is None or path.name in folder.links:
        return path.resolve()
    return Path(folder.real, path.name)  # a product's files are in the folder its candidate was listed in


def discover_products(
    paths: Iterable[str | Path], real_folders: dict[str, str] | None = None
) -> tuple[list[ProductFiles], list[IndexFailure]]:
    """Find ICEYE products under files and folders (recursively) and pair rasters with sidecars.

    Links to folders are not followed (one leading out of the input folders is reported); links to files
    are candidates like files. Unreadable folders, dangling links and file names that are not UTF-8 are
    reported as failures rather than skipped silently.

    Parameters
    ----------
    paths
        Files or folders.
    real_folders
        When given, filled with the real path of each folder path (text) walked, for the caller's fingerprints.

    Returns
    -------
    products, failures
        Products sorted by primary path; failures for paths that cannot be read, with printable paths.
    """
    failures: list[IndexFailure] = []
    candidates = _candidates(list(map(Path, paths)), failures)
    products: dict[Path, ProductFiles] = {}
    primaries: set[Path] = set()
    for candidate in sorted(candidates, key=_sort_key):
        folder = candidates[candidate]
        if _known_primary(candidate, folder, primaries):
            continue
        try:
            found = _product_files(candidate, folder)
        except IcecubeStacError as exc:
            shown = printable_path(candidate)
            reason = failure_reason(exc, Path(shown) if getattr(exc, "source", None) == shown else candidate)
            failures.append(IndexFailure(shown, reason))
            primaries.add(candidate)  # its sidecar is the same product: not reported twice
            continue
        if found is None:
            continue
        primaries.add(found.primary)
        products.setdefault(_resolved(found.primary, folder), found)
        if real_folders is not None and folder is not None:
            real_folders[folder.path] = folder.real
    return [products[k] for k in sorted(products, key=_sort_key)], failures
