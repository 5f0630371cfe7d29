"""Bright point targets in generated products, and where the generator's own geometry puts them on the ground.

Geocoding accuracy is tested against the generator's geometry, not against GDAL: :func:`add_point_target`
writes one bright pixel into a written product's raster (legacy GRD GeoTIFF, legacy SLC HDF5, COG GRD or
SLC) at a stored pixel, and :func:`target_lonlat` returns the lon/lat that the zero-Doppler geolocation the
product was generated from (the same one its RPC and GCPs were fitted to) gives that pixel at the
product's average scene height.

Pixels are *stored* raster indices: ``(azimuth line, range sample)`` for legacy products, ``(TIFF row,
TIFF column)`` for COG products (range runs down the rows there, :mod:`icecube_stac.testing.cog`).
"""

from __future__ import annotations

import warnings

import h5py
import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window

from ._geodesy import ecef_to_geodetic
from ._plan import plan_product
from .cog._geometry import _ground
from .cog._plan import plan_cog
from .cog._product import GeneratedCogProduct
from .generator import GeneratedProduct

__all__ = ["TARGET_DN", "add_point_target", "target_lonlat"]

TARGET_DN = 60_000
"""Amplitude written at a target: far above the generated clutter (a few hundred DN) and its point targets."""


def _write_tiff_pixel(path: str, row: int, col: int, bands: dict[int, float], cog: bool) -> None:
    options = {"IGNORE_COG_LAYOUT_BREAK": "YES"} if cog else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "r+", **options) as dst:
            for band, value in bands.items():
                block = np.full((1, 1), value, dtype=dst.dtypes[band - 1])
                dst.write(block, band, window=Window(col, row, 1, 1))


def add_point_target(product: GeneratedProduct | GeneratedCogProduct, row: int, col: int) -> None:
    """Write a bright point target at stored pixel ``(row, col)`` of a written product (in place).

    Parameters
    ----------
    product
        A product from :func:`~icecube_stac.testing.write_product` or
        :func:`~icecube_stac.testing.write_cog_product`.
    row, col
        The stored pixel: legacy (azimuth line, range sample); COG (TIFF row, TIFF column).

    Notes
    -----
    A COG rewritten in place keeps its (now stale) overviews; the full-resolution image holds the target.
    """
    if isinstance(product, GeneratedCogProduct):
        bands = {1: float(TARGET_DN)} if product.spec.level == "GRD" else {1: float(TARGET_DN), 2: 0.0}
        _write_tiff_pixel(str(product.tif), row, col, bands, cog=True)
    elif product.spec.level == "GRD":
        _write_tiff_pixel(str(product.raster), row, col, {1: float(TARGET_DN)}, cog=False)
    else:
        with h5py.File(product.raster, "r+") as h5:
            h5["s_i"][row, col] = np.asarray(TARGET_DN // 2, dtype=h5["s_i"].dtype)
            h5["s_q"][row, col] = np.asarray(TARGET_DN // 2, dtype=h5["s_q"].dtype)


def target_lonlat(product: GeneratedProduct | GeneratedCogProduct, row: float, col: float) -> tuple[float, float]:
    """Return the generator's lon/lat of stored pixel ``(row, col)`` at the product's average scene height.

    Parameters
    ----------
    product
        A written product.
    row, col
        The stored pixel (fractional allowed), as for :func:`add_point_target`.

    Returns
    -------
    tuple of float
        ``(lon, lat)`` in degrees (WGS 84).
    """
    if isinstance(product, GeneratedCogProduct):
        plan = plan_cog(product.spec)
        height = float(product.item["properties"]["iceye:average_scene_height"])  # the COG's own (whole metres)
        lat, lon, _ = _ground(
            plan.legacy, np.array([float(col)]), np.array([float(row)]), np.array([height]), product.spec.look_side
        )
        return float(lon[0]), float(lat[0])
    legacy = plan_product(product.spec, product.name)
    height = float(legacy.fields["avg_scene_height"])
    point = legacy.geometry.locate(
        legacy.tau(np.array([float(row)])), legacy.range_axis.slant_range(np.array([float(col)])), height
    )
    lat, lon, _ = ecef_to_geodetic(point)
    return float(lon[0]), float(lat[0])
