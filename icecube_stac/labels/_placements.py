"""Slice transforms for coregistered and geocoded cubes: labels moved the way the SAR pixels were moved.

* :class:`CoregistrationPlacement` reads the per-slice offset model a coregistered cube records
  (:mod:`icecube_stac.coregister`: ``coreg_coefficients``, ``coreg_status``, ``coregistration_model``): the
  model says where each reference (grid) pixel lies in the slice, ``slice = ref + d(ref)``. Rasters are
  sampled there (nearest neighbour, as class masks must be); vertices are moved by solving
  ``ref + d(ref) = slice`` by fixed-point iteration (``d`` is a low-order polynomial of sub-pixel to a few
  pixels' variation, so it converges in a few steps). Slices that were not fitted (reference, failed, empty)
  are left in place, as their pixels were.
* :class:`GeocodePlacement` maps through each product's geolocation (:mod:`icecube_stac.labels._geolocation`,
  the RPC at the average scene height, as :mod:`icecube_stac.geocode` warps by default) and the map grid's CRS
  and pixel centres (``x``/``y`` coordinates, ``spatial_ref``): a grid pixel takes the label of the product
  pixel under its centre.

:func:`placement_for` picks one from the cube; :func:`~icecube_stac.labels.attach_labels` uses it when no
transform is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from icecube_stac.labels._geolocation import Geolocation, geolocation_of
from icecube_stac.labels._geometry import (
    GridPlacement,
    SliceGeometry,
    SliceTransform,
    product_to_stored,
    stored_to_product,
)
from icecube_stac.labels._model import LabelError

__all__ = ["CoregistrationPlacement", "GeocodePlacement", "placement_for"]

F64 = npt.NDArray[np.float64]
_ITERATIONS = 20


def _sample(values: npt.NDArray[np.integer], rows: F64, cols: F64, fill: int) -> npt.NDArray[np.integer]:
    r, c = np.rint(rows).astype(np.int64), np.rint(cols).astype(np.int64)
    inside = (r >= 0) & (r < values.shape[0]) & (c >= 0) & (c < values.shape[1])
    out = np.full(rows.shape, fill, dtype=values.dtype)
    out[inside] = values[r[inside], c[inside]]
    return out


@dataclass(frozen=True)
class CoregistrationPlacement:
    """The coregistration of a cube as a slice transform (see the module docstring)."""

    shape: tuple[int, int]
    model: str
    coefficients: F64  # (time, 2, terms), pixels
    fitted: tuple[bool, ...]

    @classmethod
    def from_cube(cls, ds: xr.Dataset) -> CoregistrationPlacement:
        """Read the offset models of a coregistered cube (:func:`icecube_stac.coregister.coregister_cube`)."""
        sar = next(ds[v] for v in ("amplitude", "slc") if v in ds.data_vars)
        status = [str(s) for s in ds["coreg_status"].values]
        coefficients = np.asarray(ds["coreg_coefficients"].values, dtype=np.float64)
        fitted = tuple(s == "fitted" and bool(np.isfinite(coefficients[k]).all()) for k, s in enumerate(status))
        return cls(
            (int(sar.shape[1]), int(sar.shape[2])), str(ds.attrs.get("coregistration_model", "")), coefficients, fitted
        )

    @property
    def grid_shape(self) -> tuple[int, int]:
        """The reference grid."""
        return self.shape

    def _offsets(self, t: int, rows: F64, cols: F64) -> tuple[F64, F64]:
        from icecube_stac.coregister._model import evaluate

        d_az, d_rg = evaluate(self.coefficients[t], self.model, self.shape, rows, cols)
        return np.asarray(d_az, np.float64), np.asarray(d_rg, np.float64)

    def points(self, geometry: SliceGeometry, rows: F64, cols: F64) -> tuple[F64, F64]:
        """Return the reference pixels whose model position is the given slice pixels."""
        t = geometry.time_index
        if not self.fitted[t]:
            return rows, cols
        ref_r, ref_c = np.asarray(rows, np.float64), np.asarray(cols, np.float64)
        for _ in range(_ITERATIONS):
            d_az, d_rg = self._offsets(t, ref_r, ref_c)
            ref_r, ref_c = rows - d_az, cols - d_rg
        return ref_r, ref_c

    def raster(self, geometry: SliceGeometry, values: npt.NDArray[np.integer], fill: int) -> npt.NDArray[np.integer]:
        """Sample the slice (padded or cropped to the grid, as the SAR slice) at each reference pixel's position."""
        slice_grid = GridPlacement(self.shape).raster(geometry, values, fill)
        if not self.fitted[geometry.time_index]:
            return slice_grid
        rows, cols = np.mgrid[0 : self.shape[0], 0 : self.shape[1]].astype(np.float64)
        d_az, d_rg = self._offsets(geometry.time_index, rows, cols)
        return _sample(slice_grid, rows + d_az, cols + d_rg, fill)


@dataclass(frozen=True)
class GeocodePlacement:
    """The map grid of a geocoded cube as a slice transform (see the module docstring)."""

    shape: tuple[int, int]
    x: F64
    y: F64
    crs: str
    _geolocations: dict[int, Geolocation | None] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_cube(cls, ds: xr.Dataset) -> GeocodePlacement:
        """Read the grid (``x``/``y`` pixel centres, ``spatial_ref``) of a geocoded cube."""
        ref = ds["spatial_ref"].attrs if "spatial_ref" in ds.variables else {}
        crs = str(ref.get("crs_wkt") or ref.get("spatial_ref") or "")
        if not crs:
            raise LabelError("the geocoded cube has no spatial_ref crs_wkt: cannot place labels on its map grid")
        x, y = np.asarray(ds["x"].values, np.float64), np.asarray(ds["y"].values, np.float64)
        return cls((len(y), len(x)), x, y, crs)

    @property
    def grid_shape(self) -> tuple[int, int]:
        """``(y, x)`` size."""
        return self.shape

    def _geolocation(self, geometry: SliceGeometry) -> Geolocation:
        t = geometry.time_index
        if t not in self._geolocations:
            self._geolocations[t] = geolocation_of(geometry.data_href, geometry.metadata_href)
        geo = self._geolocations[t]
        if geo is None:
            raise LabelError(f"{geometry.product_file} has no geolocation (RPC, GCPs or transform) to geocode labels")
        return geo

    def _transformer(self, inverse: bool) -> Any:
        from pyproj import Transformer

        return Transformer.from_crs(
            self.crs if inverse else "EPSG:4326", "EPSG:4326" if inverse else self.crs, always_xy=True
        )

    def points(self, geometry: SliceGeometry, rows: F64, cols: F64) -> tuple[F64, F64]:
        """Return fractional grid (row, col) of product pixels (cube orientation)."""
        x, y = product_to_stored(geometry, rows, cols)
        lon, lat = self._geolocation(geometry).to_lonlat(x, y)
        mx, my = self._transformer(inverse=False).transform(lon, lat)
        col = (np.asarray(mx) - self.x[0]) / (self.x[1] - self.x[0])
        row = (np.asarray(my) - self.y[0]) / (self.y[1] - self.y[0])
        return np.asarray(row, np.float64), np.asarray(col, np.float64)

    def raster(self, geometry: SliceGeometry, values: npt.NDArray[np.integer], fill: int) -> npt.NDArray[np.integer]:
        """Give every grid pixel the label of the product pixel under its centre."""
        mx, my = np.meshgrid(self.x, self.y)
        lon, lat = self._transformer(inverse=True).transform(mx.ravel(), my.ravel())
        x, y = self._geolocation(geometry).to_pixel(np.asarray(lon), np.asarray(lat))
        az, rg = stored_to_product(geometry, x, y)
        return _sample(values, az.reshape(self.shape), rg.reshape(self.shape), fill)


def placement_for(ds: xr.Dataset, shape: tuple[int, int], grid_dims: tuple[str, ...]) -> SliceTransform:
    """Return the slice transform a cube's own records call for (coregistration, geocoding, or radar geometry).

    Raises
    ------
    LabelError
        For a grid that is neither radar geometry, coregistered nor geocoded by icecube-stac.
    """
    if "coreg_coefficients" in ds.variables and "coreg_status" in ds.variables:
        return CoregistrationPlacement.from_cube(ds)
    if grid_dims == ("y", "x") and ds.attrs.get("geocoded"):
        return GeocodePlacement.from_cube(ds)
    if grid_dims != ("azimuth", "range"):
        raise LabelError(
            f"the cube's grid is {grid_dims}, neither radar geometry (azimuth, range) nor a geocoded (y, x) grid: "
            "pass the slice transform that produced it (attach_labels(..., transform=...))"
        )
    return GridPlacement(shape)
