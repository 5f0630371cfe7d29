"""Where product pixels land in the cube: orientation per slice, then the one per-slice geometric seam.

Two steps take a label from its product file to the cube grid, for every time slice:

1. **Orientation** (:func:`stored_to_product`, :func:`mask_to_product`): the product file's stored pixel
   ``(x = column, y = row)`` → the product's cube-oriented ``(azimuth row, range column)``, undoing the same
   flags the readers undo (:class:`icecube_stac.item.Orientation`: transpose, then reverse azimuth, then
   reverse range). ICEYE legacy products are stored as the cube is (identity).
2. **Placement** (:class:`SliceTransform`): the product's cube-oriented pixels → the cube grid of that slice.
   :class:`GridPlacement`, the default, is what :func:`icecube_stac.build_cube` does to pixels in radar
   geometry: pixel ``(a, r)`` stays ``(a, r)``, products larger than the grid are cropped at the bottom/right
   and smaller ones padded. A coregistration model or a geocoding (issue 11) plugs in here: any object with
   ``grid_shape``, ``points`` and ``raster`` that moves a slice's pixels the way it moved the SAR pixels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt
import pystac
import xarray as xr

from icecube_stac.item import AS_STORED, Orientation, parse_item

__all__ = [
    "GridPlacement",
    "SliceGeometry",
    "SliceTransform",
    "mask_to_product",
    "product_to_stored",
    "slice_geometries",
    "stored_to_product",
]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SliceGeometry:
    """One time slice of a cube as the labels see it.

    Attributes
    ----------
    time_index
        Position along ``time``.
    product_file
        The base name of the slice's data asset ("" for an empty slot); icecube's ``product_file``.
    shape
        The product's ``(azimuth, range)`` size in cube orientation ((0, 0) for an empty slot).
    orientation
        How the product file stores the image.
    data_href, metadata_href
        The product's assets (geolocation is read from them on demand).
    """

    time_index: int
    product_file: str
    shape: tuple[int, int]
    orientation: Orientation
    data_href: str
    metadata_href: str

    @property
    def stored_shape(self) -> tuple[int, int]:
        """The product file's ``(rows, columns)``."""
        return (self.shape[1], self.shape[0]) if self.orientation.transposed else self.shape


class SliceTransform(Protocol):
    """Moves one slice's product pixels (cube orientation) onto the cube grid.

    Implemented by :class:`GridPlacement` (radar geometry, no resampling); a coregistration or geocoding
    model implements the same three members and is passed to :func:`icecube_stac.labels.attach_labels`.
    """

    @property
    def grid_shape(self) -> tuple[int, int]:
        """The grid's ``(rows, columns)`` (the SAR variable's last two dims)."""
        ...

    def points(self, geometry: SliceGeometry, rows: F64, cols: F64) -> tuple[F64, F64]:
        """Return grid ``(rows, cols)`` of product pixel coordinates (may fall outside the grid)."""
        ...

    def raster(self, geometry: SliceGeometry, values: npt.NDArray[np.integer], fill: int) -> npt.NDArray[np.integer]:
        """Return a product raster (cube orientation) resampled onto the grid (nearest neighbour, ``fill`` outside)."""
        ...


@dataclass(frozen=True)
class GridPlacement:
    """The radar-geometry placement of :func:`~icecube_stac.build_cube`: identity, cropped or padded."""

    shape: tuple[int, int]

    @property
    def grid_shape(self) -> tuple[int, int]:
        """The cube's ``(azimuth, range)`` size."""
        return self.shape

    def points(self, geometry: SliceGeometry, rows: F64, cols: F64) -> tuple[F64, F64]:
        """Return the coordinates unchanged (pixel (a, r) of a product is pixel (a, r) of the cube)."""
        return rows, cols

    def raster(self, geometry: SliceGeometry, values: npt.NDArray[np.integer], fill: int) -> npt.NDArray[np.integer]:
        """Crop at the bottom/right or pad with ``fill``, as the SAR variable is."""
        out = np.full(self.shape, fill, dtype=values.dtype)
        rows, cols = min(self.shape[0], values.shape[0]), min(self.shape[1], values.shape[1])
        out[:rows, :cols] = values[:rows, :cols]
        return out


def stored_to_product(geometry: SliceGeometry, x: F64, y: F64) -> tuple[F64, F64]:
    """Map stored pixel ``(x, y)`` of a product file to its cube-oriented ``(azimuth, range)``.

    Parameters
    ----------
    geometry
        The slice (its orientation and shape).
    x, y
        Stored column and row coordinates.

    Returns
    -------
    tuple of numpy.ndarray
        ``(azimuth rows, range columns)``.
    """
    o = geometry.orientation
    az, rg = (np.asarray(x, np.float64), np.asarray(y, np.float64)) if o.transposed else (y, x)
    n_az, n_rg = geometry.shape
    if o.azimuth_reversed:
        az = (n_az - 1) - az
    if o.range_reversed:
        rg = (n_rg - 1) - rg
    return np.asarray(az, np.float64), np.asarray(rg, np.float64)


def product_to_stored(geometry: SliceGeometry, az: F64, rg: F64) -> tuple[F64, F64]:
    """Inverse of :func:`stored_to_product`: cube-oriented ``(azimuth, range)`` → stored ``(x, y)``."""
    o = geometry.orientation
    n_az, n_rg = geometry.shape
    az = (n_az - 1) - np.asarray(az, np.float64) if o.azimuth_reversed else np.asarray(az, np.float64)
    rg = (n_rg - 1) - np.asarray(rg, np.float64) if o.range_reversed else np.asarray(rg, np.float64)
    return (az, rg) if o.transposed else (rg, az)


def mask_to_product(geometry: SliceGeometry, stored: npt.NDArray[np.integer]) -> npt.NDArray[np.integer]:
    """Put a mask read as the product file stores it into the product's cube orientation (as the readers do)."""
    o = geometry.orientation
    values = stored.T if o.transposed else stored
    if o.azimuth_reversed:
        values = values[::-1, :]
    if o.range_reversed:
        values = values[:, ::-1]
    return np.ascontiguousarray(values)


def _file_name(href: str) -> str:
    return Path(urlsplit(href).path).name if href else ""


def slice_geometries(ds: xr.Dataset) -> tuple[SliceGeometry, ...]:
    """Return the geometry of every time slice of a cube built by :func:`~icecube_stac.build_cube`.

    Parameters
    ----------
    ds
        A cube with the ``stac_item`` and ``data_href`` coordinates along ``time``.

    Returns
    -------
    tuple of SliceGeometry
        One per time step; empty slots have ``product_file == ""``.
    """
    out: list[SliceGeometry] = []
    items = ds["stac_item"].values if "stac_item" in ds.coords else [""] * ds.sizes["time"]
    for t, text in enumerate(items):
        if not text:
            out.append(SliceGeometry(t, "", (0, 0), AS_STORED, "", ""))
            continue
        parsed = parse_item(pystac.Item.from_dict(json.loads(str(text))))
        href = str(ds["data_href"].values[t]) if "data_href" in ds.coords else parsed.data_href
        meta = str(ds["metadata_href"].values[t]) if "metadata_href" in ds.coords else parsed.metadata_href
        shape = parsed.shape or (int(ds.sizes["azimuth"]), int(ds["range_samples"].values[t]))
        out.append(SliceGeometry(t, _file_name(href), shape, parsed.orientation, href, meta))
    return tuple(out)
