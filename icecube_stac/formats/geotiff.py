"""ICEYE GRD GeoTIFFs: metadata from the UPPERCASE GDAL tags and RPC domain, amplitude pixels.

The raster is in sensor geometry (rows = azimuth lines, columns = ground range): it has no
geotransform or CRS, only GCPs and RPCs, so rasterio's ``NotGeoreferencedWarning`` is expected and
silenced here. Vector tags are numpy-repr strings; they are parsed by the metadata converters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Self

import numpy as np
import numpy.typing as npt
import rasterio
from rasterio._err import CPLE_BaseError
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.windows import Window

from icecube_stac._quiet import ignoring
from icecube_stac.errors import MetadataError, UnsupportedProductError
from icecube_stac.formats._regular import require_regular_file
from icecube_stac.metadata import MAX_SAMPLES, MAX_SIDE, IceyeMetadata
from icecube_stac.vocabulary import local_path

__all__ = [
    "GEOTIFF_READER",
    "GeoTiffReader",
    "grd_layout",
    "read_geotiff_fields",
    "read_geotiff_metadata",
    "read_grd_window",
]

# What GDAL raises for a corrupt or hostile file (rasterio's own errors, GDAL's CPLE_* errors, undecodable tags).
_GDAL_ERRORS: Final = (RasterioError, CPLE_BaseError, UnicodeError, ValueError)
# Keys GDAL or rasterio add that are not ICEYE metadata.
_NON_ICEYE = frozenset({"area_or_point", "applied_processing"})


# Product files are untrusted. Only the GTiff driver may open them: a "tif" that is really a GDAL VRT could
# point a band at /etc/passwd or at /vsicurl/ URLs. PAM side files (.aux.xml) are ignored, so a file placed
# beside a raster cannot override its tags, and no directory listing is made to look for side files.
_SAFE_GDAL: Final = {"GDAL_PAM_ENABLED": "NO", "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"}
_GRD_DTYPE: Final = "uint16"


def _open(path: str | Path) -> rasterio.DatasetReader:
    with ignoring(NotGeoreferencedWarning), rasterio.Env(**_SAFE_GDAL):
        return rasterio.open(path, driver="GTiff")


def _check_grd_raster(path: str | Path, src: rasterio.DatasetReader) -> None:
    """Refuse what ICEYE never writes: not exactly 1 uint16 band, or a size beyond any product (header only)."""
    if src.count != 1:
        raise MetadataError(path, f"expected 1 band (GRD amplitude), found {src.count}")
    if src.dtypes[0] != _GRD_DTYPE:
        raise MetadataError(
            path, f"GRD samples are {src.dtypes[0]}; ICEYE GRD GeoTIFFs store uint16 amplitude DN", "data_type"
        )
    naz, nrg = int(src.height), int(src.width)
    if not (1 <= naz <= MAX_SIDE and 1 <= nrg <= MAX_SIDE) or naz * nrg > MAX_SAMPLES:
        raise MetadataError(
            path, f"raster declares {naz} x {nrg} samples; at most {MAX_SIDE} per side and {MAX_SAMPLES} in all"
        )


def read_geotiff_fields(path: str | Path) -> dict[str, Any]:
    """Read the ICEYE tags, RPC and raster layout of a GRD GeoTIFF into raw fields.

    Parameters
    ----------
    path
        The ``.tif`` file.

    Returns
    -------
    dict
        Lowercase ICEYE field names with their tag text; ``rpc`` from the GDAL RPC domain;
        ``data_type`` and ``data_shape`` from the raster itself.

    Raises
    ------
    MetadataError
        When the file is not a readable TIFF.
    UnsupportedProductError
        When the TIFF carries no ICEYE metadata tags.
    """
    require_regular_file(path)
    try:
        with _open(path) as src:
            tags = src.tags()
            rpc = src.tags(ns="RPC")
            raw: dict[str, Any] = {k.lower(): v for k, v in tags.items() if k.lower() not in _NON_ICEYE}
            if "product_level" not in raw and "product_name" not in raw:
                raise UnsupportedProductError(path, "TIFF has no ICEYE metadata tags (PRODUCT_LEVEL, PRODUCT_NAME)")
            _check_grd_raster(path, src)
            dtype, shape = src.dtypes[0], (src.height, src.width)
    except _GDAL_ERRORS as exc:
        raise MetadataError(path, f"unreadable GeoTIFF: {exc}") from None
    if rpc:
        raw["rpc"] = {k.lower(): v for k, v in rpc.items()}
    raw["data_type"] = dtype
    raw["data_shape"] = list(shape)
    # Some products omit the sample counts from the tags; the raster itself is authoritative.
    raw.setdefault("number_of_azimuth_samples", str(shape[0]))
    raw.setdefault("number_of_range_samples", str(shape[1]))
    return raw


def read_geotiff_metadata(path: str | Path) -> IceyeMetadata:
    """Read a GRD GeoTIFF's embedded metadata into :class:`IceyeMetadata`.

    Parameters
    ----------
    path
        The ``.tif`` file.

    Returns
    -------
    IceyeMetadata
    """
    raw = read_geotiff_fields(path)
    meta = IceyeMetadata.from_fields(raw, source=path, source_format="geotiff")
    if tuple(raw["data_shape"]) != meta.shape:
        raise MetadataError(
            path,
            f"raster is {tuple(raw['data_shape'])} but the tags declare {meta.shape}",
            "number_of_azimuth_samples",
        )
    return meta


class _GeoTiffRaster:
    """An open GRD GeoTIFF: band 1 DN (uint16) in azimuth rows x range columns, as ICEYE stores them."""

    def __init__(self, href: str) -> None:
        self.href = href
        local = local_path(href)
        if local is not None:
            require_regular_file(local)
        try:
            # GDAL reads http(s)/s3/gs URLs itself (rasterio maps them to its /vsi* file systems).
            self._src = _open(local if local is not None else href)
        except _GDAL_ERRORS as exc:
            raise MetadataError(href, f"unreadable GeoTIFF: {exc}") from None
        try:
            _check_grd_raster(href, self._src)
        except MetadataError:
            self._src.close()
            raise

    @property
    def shape(self) -> tuple[int, int]:
        """``(azimuth, range)`` size."""
        return int(self._src.height), int(self._src.width)

    @property
    def dtype(self) -> np.dtype[Any]:
        """The stored sample type (uint16 for ICEYE GRDs)."""
        stored: np.dtype[Any] = np.dtype(self._src.dtypes[0])
        return stored

    def read(self, rows: slice, cols: slice) -> npt.NDArray[Any]:
        """Read band 1 in the window ``[rows, cols]`` as stored."""
        data: npt.NDArray[Any] = self._src.read(1, window=Window.from_slices(rows, cols))
        return data

    def close(self) -> None:
        """Close the dataset."""
        self._src.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class GeoTiffReader:
    """The :class:`~icecube_stac.readers.Reader` of legacy GRD GeoTIFFs (``Container.LEGACY_GEOTIFF``)."""

    def open(self, href: str) -> _GeoTiffRaster:
        """Open a GRD GeoTIFF by path or GDAL-readable URL."""
        return _GeoTiffRaster(href)


GEOTIFF_READER: Final = GeoTiffReader()


def grd_layout(path: str | Path) -> tuple[tuple[int, int], str]:
    """Return the (azimuth, range) shape and sample type of a GRD GeoTIFF, reading only its header.

    Parameters
    ----------
    path
        The ``.tif`` file.

    Returns
    -------
    tuple
        ``(shape, dtype name)``.
    """
    with GEOTIFF_READER.open(str(path)) as raster:
        return raster.shape, raster.dtype.name


def read_grd_window(path: str | Path, rows: slice, cols: slice) -> npt.NDArray[np.uint16]:
    """Read a window of GRD amplitude DN (band 1) as stored (uint16).

    Parameters
    ----------
    path
        The GeoTIFF (a local path or any GDAL-readable URL), opened and closed within this call.
    rows, cols
        Azimuth and range slices (step 1) inside the raster.

    Returns
    -------
    numpy.ndarray
    """
    with GEOTIFF_READER.open(str(path)) as raster:
        return raster.read(rows, cols)
