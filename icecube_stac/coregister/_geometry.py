"""What coregistration takes from each product's metadata: its corner geolocation and Doppler centroid.

Both come from the product's ICEYE metadata (the XML sidecar, else the GeoTIFF tags or HDF5 datasets:
:func:`icecube_stac.formats.read_metadata`), read once per slice when a cube is coregistered.

* **Coarse offset.** The five ``coord_*`` points (four corners and the centre, each a pixel and its
  latitude/longitude) give each product an affine pixel -> (lon, lat) map; the slice's centre mapped into
  the reference through both maps is the geometric offset. It is used as the starting point of the window
  search when it exceeds :data:`COARSE_THRESHOLD` pixels (footprints that differ by more than a few
  pixels), since the correlation windows only see offsets well within half their size.
* **Doppler centroid.** ``dc_estimate_coeffs`` (lowest order first, in two-way range time minus the
  mid-swath reference time) of the estimate nearest the scene's middle, per range column, converted to
  cycles per azimuth line with ``azimuth_time_interval``: the azimuth phase ramp that SLC resampling
  removes and restores.

A product whose metadata cannot be read (e.g. an item of the COG generation without its ICEYE metadata)
gets no coarse offset (0) and no Doppler (no deramping), and the caller says so in a warning.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from icecube_stac.errors import IcecubeStacError
from icecube_stac.metadata import IceyeMetadata

__all__ = ["COARSE_THRESHOLD", "ProductGeometry", "coarse_offset", "product_geometry"]

F64 = NDArray[np.float64]

COARSE_THRESHOLD: Final = 3.0
"""Pixels: a geometric offset larger than this starts the window search (smaller ones are left to it)."""
_CORNERS: Final = ("coord_first_near", "coord_first_far", "coord_last_near", "coord_last_far", "coord_center")


@dataclass(frozen=True)
class ProductGeometry:
    """One product's geolocation and Doppler, as coregistration uses them.

    Attributes
    ----------
    pixel_to_lonlat
        ``(2, 3)`` affine map of 0-based (row, col, 1) to (lon, lat), fitted to the ``coord_*`` points.
    doppler
        Polynomial coefficients (lowest order first) of the Doppler centroid in cycles per azimuth line as a
        function of the 0-based range column; empty when unknown.
    """

    pixel_to_lonlat: F64 | None
    doppler: tuple[float, ...]

    def cycles_per_line(self, cols: F64) -> F64:
        """Return the Doppler centroid (cycles per azimuth line) at fractional range columns (0 if unknown)."""
        if not self.doppler:
            return np.zeros(np.shape(cols))
        return np.asarray(np.polynomial.polynomial.polyval(np.asarray(cols, dtype=np.float64), self.doppler))


def _affine(meta: IceyeMetadata) -> F64:
    points = [getattr(meta, name) for name in _CORNERS]
    pixels = np.array([[p.row - 1.0, p.col - 1.0, 1.0] for p in points])
    lonlat = np.array([[p.lon, p.lat] for p in points])
    solution, *_ = np.linalg.lstsq(pixels, lonlat, rcond=None)
    return np.asarray(solution.T, dtype=np.float64)


def _doppler(meta: IceyeMetadata, columns: int) -> tuple[float, ...]:
    """Doppler centroid (cycles/line) as a polynomial of the range column, from the middle DC estimate."""
    rate, first, interval = meta.range_sampling_rate, meta.first_pixel_time, meta.azimuth_time_interval
    if not meta.dc_estimate_coeffs or not rate or first is None or not interval:
        return ()
    coeffs = np.asarray(meta.dc_estimate_coeffs[len(meta.dc_estimate_coeffs) // 2], dtype=np.float64)
    # The polynomial runs in two-way range time minus the mid-swath time (iceye_formats.md, Doppler_Centroid).
    cols = np.linspace(0.0, max(columns - 1, 1), 16)
    mid_time = first + (columns - 1) / 2.0 / rate
    hertz = np.polynomial.polynomial.polyval(first + cols / rate - mid_time, coeffs)
    degree = min(len(coeffs) - 1, 3)
    fitted = np.polynomial.polynomial.polyfit(cols, hertz * interval, degree)
    return tuple(float(c) for c in fitted)


def product_geometry(metadata_href: str, data_href: str, columns: int) -> ProductGeometry | None:
    """Read a product's corner geolocation and Doppler centroid from its ICEYE metadata.

    Parameters
    ----------
    metadata_href, data_href
        The item's metadata asset (XML) and data asset; the first local one that reads is used.
    columns
        Range samples of the product (the Doppler polynomial is expressed per column).

    Returns
    -------
    ProductGeometry or None
        None when no local ICEYE metadata can be read.
    """
    from icecube_stac.formats import read_metadata  # the metadata readers: only on this path
    from icecube_stac.vocabulary import local_path

    for href in (metadata_href, data_href):
        path = local_path(href) if href else None
        if path is None or not path.is_file():
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a sidecar fallback is the indexer's to report, not ours
                meta = read_metadata(path)
        except (IcecubeStacError, OSError, ValueError):
            continue
        try:
            affine: F64 | None = _affine(meta)
        except (AttributeError, TypeError, np.linalg.LinAlgError):
            affine = None
        return ProductGeometry(affine, _doppler(meta, columns))
    return None


def coarse_offset(
    reference: ProductGeometry | None, moving: ProductGeometry | None, moving_shape: tuple[int, int]
) -> tuple[float, float]:
    """Return the geometric (azimuth, range) offset ``slice - reference`` at the slice's centre.

    Parameters
    ----------
    reference, moving
        The two products' geometry (either None: no geometric offset).
    moving_shape
        The slice's own raster shape.

    Returns
    -------
    tuple of float
        Pixels; (0, 0) when a geometry is missing or degenerate.
    """
    if reference is None or moving is None or reference.pixel_to_lonlat is None or moving.pixel_to_lonlat is None:
        return 0.0, 0.0
    centre = np.array([(moving_shape[0] - 1) / 2.0, (moving_shape[1] - 1) / 2.0, 1.0])
    lonlat = moving.pixel_to_lonlat @ centre
    linear, origin = reference.pixel_to_lonlat[:, :2], reference.pixel_to_lonlat[:, 2]
    try:
        in_reference = np.linalg.solve(linear, lonlat - origin)
    except np.linalg.LinAlgError:
        return 0.0, 0.0
    offset = centre[:2] - in_reference
    return float(offset[0]), float(offset[1])
