"""One module per ICEYE file format, and :func:`read_metadata`, which picks the best source.

The XML sidecar is the primary metadata source (full precision); a raster's embedded metadata is
the fallback for products delivered without XML, or whose XML cannot be parsed. A product whose file
names are not valid UTF-8 or hold control characters is refused here (its STAC hrefs and catalog files
could not be written); the error shows the name with such bytes escaped (:func:`printable_path`).
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

from icecube_stac.errors import IcecubeStacWarning, MetadataError, UnsupportedProductError
from icecube_stac.metadata import IceyeMetadata
from icecube_stac.vocabulary import ProductLevel

# The format modules are imported by the functions that need them: rasterio (~0.1 s with the boto3 it probes)
# and h5py are paid only by the stage and product type that read them; a cube of SLCs never imports rasterio.

__all__ = [
    "RASTER_SUFFIXES",
    "ProductFiles",
    "SidecarFallbackWarning",
    "find_product_files",
    "find_raster",
    "printable_path",
    "raster_layout",
    "read_embedded_metadata",
    "read_metadata",
    "read_product_metadata",
]

RASTER_SUFFIXES: dict[str, ProductLevel] = {
    ".tif": ProductLevel.GRD,
    ".tiff": ProductLevel.GRD,
    ".h5": ProductLevel.SLC,
    ".hdf5": ProductLevel.SLC,
}
_RASTER_ORDER = tuple(RASTER_SUFFIXES)
_LEVEL_IN_NAME = re.compile(r"_(GRD|SLC)_", re.IGNORECASE)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


class SidecarFallbackWarning(IcecubeStacWarning):
    """An XML sidecar exists but could not be used; the raster's embedded metadata was used instead."""


@dataclass(frozen=True)
class ProductFiles:
    """The files of one ICEYE product found side by side: raster, XML sidecar, quicklook."""

    raster: Path | None
    xml: Path | None
    quicklook: Path | None = None

    @property
    def primary(self) -> Path:
        """The file that identifies the product: the raster if present, else the XML."""
        path = self.raster or self.xml
        if path is None:
            raise ValueError("a product needs a raster or an XML file")
        return path


def _sibling(path: Path, suffixes: tuple[str, ...]) -> Path | None:
    for suffix in suffixes:
        for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
            if candidate.is_file():
                return candidate
    return None


def _quicklook(path: Path) -> Path | None:
    # ICEYE names the quicklook like the product with the level replaced: ..._QUICKLOOK_SM_...png
    stem = _LEVEL_IN_NAME.sub("_QUICKLOOK_", path.stem, count=1)
    for name in (f"{stem}.png", f"{path.stem}.png"):
        candidate = path.with_name(name)
        if candidate.is_file():
            return candidate
    return None


def printable_path(path: str | Path) -> str:
    r"""Return a path as printable text: bytes that are not UTF-8 and control characters escaped (``\xff``, ``\n``).

    Parameters
    ----------
    path
        Any path (names that are not UTF-8 come from the OS as lone surrogates).

    Returns
    -------
    str
        Encodable as UTF-8, on one line.
    """
    text = os.fsencode(path).decode("utf-8", errors="backslashreplace")
    return _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


def _usable_names(files: ProductFiles) -> ProductFiles:
    """Refuse files whose names (or the names they link to) are not UTF-8 or hold control characters."""
    for path in (files.raster, files.xml, files.quicklook):
        if path is None:
            continue
        for name in (str(path), str(path.resolve())):
            target = "" if name == str(path) else f" (it links to {printable_path(name)})"
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                problem = "is not valid UTF-8"
            else:
                if not _CONTROL.search(name):
                    continue
                problem = "holds control characters (newline, tab...)"
            raise UnsupportedProductError(
                printable_path(path),
                f"file name {problem}{target}, shown with such bytes as \\xNN; rename it: STAC hrefs and "
                "catalog files need printable UTF-8 names",
            )
    return files


def find_product_files(path: str | Path) -> ProductFiles:
    """Find a product's companion files next to any one of them.

    Parameters
    ----------
    path
        A raster (``.tif``/``.h5``) or an XML sidecar.

    Returns
    -------
    ProductFiles
        ``raster`` is ``None`` for an XML whose raster is not there (an orphan sidecar).

    Raises
    ------
    UnsupportedProductError
        For another file type, or when a file's name (or the name it links to) is not valid UTF-8 or holds
        control characters.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xml":
        return _usable_names(ProductFiles(find_raster(path), path, _quicklook(path)))
    if suffix in RASTER_SUFFIXES:
        return _usable_names(ProductFiles(path, _sibling(path, (".xml",)), _quicklook(path)))
    raise UnsupportedProductError(
        printable_path(path),
        f"unknown product file type {printable_path(path.suffix)!r}; expected .xml, {', '.join(RASTER_SUFFIXES)}",
    )


def find_raster(xml: str | Path) -> Path | None:
    """Return the raster an XML sidecar describes (same name, raster suffix, next to it), if it is there.

    Parameters
    ----------
    xml
        An XML sidecar.

    Returns
    -------
    pathlib.Path or None
        The first existing of ``.tif``, ``.tiff``, ``.h5``, ``.hdf5`` (lower, then upper case).
    """
    return _sibling(Path(xml), _RASTER_ORDER)


def read_embedded_metadata(path: str | Path) -> IceyeMetadata:
    """Read the metadata embedded in a raster (GeoTIFF tags or HDF5 datasets), ignoring any sidecar.

    Parameters
    ----------
    path
        A ``.tif``/``.tiff`` GRD or ``.h5``/``.hdf5`` SLC.

    Returns
    -------
    IceyeMetadata
    """
    path = Path(path)
    level = RASTER_SUFFIXES.get(path.suffix.lower())
    if level is ProductLevel.GRD:
        from icecube_stac.formats.geotiff import read_geotiff_metadata

        return read_geotiff_metadata(path)
    if level is ProductLevel.SLC:
        from icecube_stac.formats.hdf5 import read_hdf5_metadata

        return read_hdf5_metadata(path)
    raise UnsupportedProductError(path, f"not an ICEYE raster: expected one of {', '.join(RASTER_SUFFIXES)}")


def read_metadata(path: str | Path) -> IceyeMetadata:
    """Read one ICEYE product's metadata, preferring the XML sidecar.

    Parameters
    ----------
    path
        An ICEYE XML, a GRD ``.tif`` or an SLC ``.h5``. For a raster, a sidecar ``<same name>.xml``
        is used when present; if it cannot be parsed, the embedded metadata is used and a
        :class:`SidecarFallbackWarning` says why.

    Returns
    -------
    IceyeMetadata

    Raises
    ------
    MetadataError
        When no usable metadata is found; the message names the file and the reason.
    """
    return read_product_metadata(find_product_files(path))


def read_product_metadata(files: ProductFiles) -> IceyeMetadata:
    """Read the metadata of a product whose files are already known, preferring the XML sidecar.

    Parameters
    ----------
    files
        The product's files, from :func:`find_product_files`: the sidecar is read when there is one
        (checked against the raster's header); if it cannot be parsed, the raster's embedded metadata is
        used and a :class:`SidecarFallbackWarning` says why.

    Returns
    -------
    IceyeMetadata

    Raises
    ------
    MetadataError
        When no usable metadata is found; the message names the file and the reason.
    """
    from icecube_stac.formats.xml import read_xml_metadata

    if files.raster is None:
        assert files.xml is not None
        return read_xml_metadata(files.xml)
    if files.xml is None:
        return read_embedded_metadata(files.raster)
    try:
        meta = read_xml_metadata(files.xml)
    except MetadataError as exc:
        warnings.warn(
            f"{exc}; using the metadata embedded in {files.raster.name} instead",
            SidecarFallbackWarning,
            stacklevel=2,
        )
        return read_embedded_metadata(files.raster)
    return _checked_against_raster(meta, files.xml, files.raster)


def raster_layout(path: str | Path) -> tuple[tuple[int, int], str]:
    """Return a raster's (azimuth, range) shape and on-disk sample type, reading only its header.

    Parameters
    ----------
    path
        A GRD ``.tif`` or SLC ``.h5``.

    Returns
    -------
    tuple
        ``(shape, dtype name)``, e.g. ``((26447, 17617), "uint16")``.
    """
    path = Path(path)
    if RASTER_SUFFIXES.get(path.suffix.lower()) is ProductLevel.SLC:
        from icecube_stac.formats.hdf5 import slc_layout

        try:
            shape, dtype = slc_layout(path)
        except (OSError, KeyError) as exc:
            raise MetadataError(path, f"unreadable HDF5 file (truncated, not HDF5 or no s_i): {exc}") from None
        return shape, dtype.name  # int16 / float32 whatever the byte order
    from icecube_stac.formats.geotiff import grd_layout

    return grd_layout(path)


def _checked_against_raster(meta: IceyeMetadata, xml: Path, raster: Path) -> IceyeMetadata:
    # The sidecar describes the raster; trust the raster for what it says about itself (pitfall 5).
    expected = RASTER_SUFFIXES[raster.suffix.lower()]
    if meta.product_level is not expected:
        raise MetadataError(
            xml,
            f"sidecar says product_level {meta.product_level.value!r} but its raster {raster.name} is a "
            f"{expected.value} file",
            "product_level",
        )
    shape, dtype = raster_layout(raster)
    if shape != meta.shape:
        raise MetadataError(
            xml,
            f"sidecar declares {meta.shape[0]} x {meta.shape[1]} (azimuth x range) samples but {raster.name} "
            f"holds {shape[0]} x {shape[1]}",
            "number_of_azimuth_samples",
        )
    return replace(meta, extra={**meta.extra, "data_type": dtype})
