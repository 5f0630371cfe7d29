"""Write one ICEYE-style Cloud-Optimized GeoTIFF with GDAL's COG driver: bands, tiling, overviews, geocoding, metadata.

GRD: one ``uint16`` band, LZW, 512 px tiles, internal overviews, nodata 0, band ``SCALE``/``OFFSET``.
SLC: ``float32`` ``amplitude`` and ``phase`` bands, pixel-interleaved (ICEYE's tiles are 2 MB =
512 x 512 x 2 x 4 bytes), uncompressed, nodata 0. Geocoding is a ModelTiepoint grid in EPSG:4326
(no geotransform) plus the RPC tag, or, for the 2024 preview generation, a ModelTransformation.
GDAL metadata items (dataset and band ``NAME``) land in TIFF tag 42112. Output is byte-deterministic.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from numpy.typing import NDArray
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import Affine

from .._containers import _rpc as legacy_rpc

__all__ = ["CogLayout", "auto_overview_count", "write_cog"]

_WGS84 = CRS.from_epsg(4326)


@dataclass(frozen=True)
class CogLayout:
    """How the COG is laid out and georeferenced.

    Attributes
    ----------
    tile_size
        Tile edge (px).
    compress
        ``"LZW"`` (GRD) or ``"NONE"`` (SLC).
    overviews
        Number of internal overview levels (0: none).
    tiepoints
        ``(n, 5)`` ``col, row, lon, lat, z`` written as GCPs (ModelTiepoint), or ``None``.
    rpc
        RPC00B (legacy upper-case keys) written to the RPC tag, or ``None``.
    transform
        GDAL-order affine written as a ModelTransformation (with EPSG:4326), or ``None``.
    tags
        Dataset GDAL metadata items.
    band_tags
        One mapping of band metadata items (``NAME``) per band.
    scales, offsets
        Band ``SCALE``/``OFFSET``, or ``None`` for none.
    """

    tile_size: int
    compress: str
    overviews: int
    tiepoints: NDArray[np.float64] | None = None
    rpc: Mapping[str, Any] | None = None
    transform: Sequence[float] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    band_tags: Sequence[Mapping[str, str]] = ()
    scales: Sequence[float] | None = None
    offsets: Sequence[float] | None = None


def auto_overview_count(width: int, height: int, tile_size: int) -> int:
    """Return the overview levels GDAL's COG driver makes by default: halve until one tile holds the image."""
    count, size = 0, max(width, height)
    while size > tile_size:
        size = -(-size // 2)
        count += 1
    return count


def _gcps(tiepoints: NDArray[np.float64]) -> list[GroundControlPoint]:
    return [
        GroundControlPoint(row=float(row), col=float(col), x=float(lon), y=float(lat), z=float(z), id=str(k + 1))
        for k, (col, row, lon, lat, z) in enumerate(tiepoints)
    ]


def _creation_options(layout: CogLayout, count: int) -> dict[str, Any]:
    options: dict[str, Any] = {"blocksize": layout.tile_size, "compress": layout.compress}
    if layout.overviews > 0:
        # An explicit count keeps tiny test rasters pyramided and the output independent of GDAL's AUTO rule.
        options |= {"overview_count": layout.overviews, "overview_resampling": "AVERAGE"}
    else:
        options["overviews"] = "NONE"
    if count > 1:
        options["interleave"] = "PIXEL"
    return options


def write_cog(path: Path, bands: NDArray[Any], nodata: float, layout: CogLayout) -> Path:
    """Write ``bands`` (``(count, rows, cols)``, TIFF layout) as a COG at ``path``.

    Parameters
    ----------
    path
        Output ``.tif``.
    bands
        Pixel values, already in TIFF layout (rows = range, columns = azimuth).
    nodata
        Declared no-data value (ICEYE: 0).
    layout
        Tiling, compression, overviews, geocoding and metadata.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    count, rows, cols = bands.shape
    profile: dict[str, Any] = {
        "driver": "COG",
        "width": cols,
        "height": rows,
        "count": count,
        "dtype": bands.dtype.name,
        "nodata": nodata,
        **_creation_options(layout, count),
    }
    if layout.transform is not None:
        lon0, a, b, lat0, d, e = (float(v) for v in layout.transform)
        profile |= {"transform": Affine(a, b, lon0, d, e, lat0), "crs": _WGS84}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            if layout.tiepoints is not None:
                dst.gcps = (_gcps(layout.tiepoints), _WGS84)
            if layout.rpc is not None:
                dst.rpcs = legacy_rpc(layout.rpc)
            dst.update_tags(**layout.tags)
            for index, tags in enumerate(layout.band_tags, start=1):
                dst.update_tags(index, **tags)
            if layout.scales is not None:
                dst.scales = tuple(layout.scales)
            if layout.offsets is not None:
                dst.offsets = tuple(layout.offsets)
            dst.write(bands)
    return path
