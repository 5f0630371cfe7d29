"""Image orientation: the cube's convention, and the view other SAR tools (sarpy) use for the same data.

The cube (and ``engine="iceye"``) puts azimuth lines in acquisition-time order down the rows and range
samples near → far along the columns, exactly as ICEYE's legacy GeoTIFF and HDF5 products store them;
left-looking products are **not** flipped, so a left-looking image is the mirror of a map view.
sarpy's ICEYE reader (SICD convention) returns ``raw.T`` for right-looking products and ``raw[::-1].T``
for left-looking ones: rows are range, columns azimuth, and left-looking azimuth runs backwards.
:func:`to_sarpy_orientation` gives that view of a cube, so values can be compared pixel for pixel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # annotations only: the cube's plan quotes ORIENTATION_NOTE without importing xarray
    import xarray as xr

from icecube_stac.errors import LoadError

__all__ = ["ORIENTATION_NOTE", "to_sarpy_orientation"]

ORIENTATION_NOTE: Final = (
    "rows (azimuth): azimuth lines in acquisition-time order; columns (range): range samples near to far; "
    "as ICEYE legacy products store them, left-looking data not flipped. sarpy/SICD arrays are the transpose "
    "(range, azimuth), with azimuth reversed for left-looking products: icecube_stac.orientation."
    "to_sarpy_orientation"
)


def _flip_left_looking(data: xr.DataArray, left: xr.DataArray) -> xr.DataArray:
    # Reverse azimuth positionally (the coordinate keeps its order: it is sarpy's column index).
    flipped = data.isel(azimuth=slice(None, None, -1)).assign_coords(azimuth=data["azimuth"])
    out = flipped.where(left, data)
    out.attrs = dict(data.attrs)
    return out


def to_sarpy_orientation(ds: xr.Dataset) -> xr.Dataset:
    """Return a cube in sarpy's orientation: dims ``(time, range, azimuth)``, left-looking azimuth reversed.

    Lazy: only views and a per-slice selection are added to the graph. On a padded grid (products of
    different shapes) a left-looking slice is reversed over the whole grid width, padding included.

    Parameters
    ----------
    ds
        A cube with dims ``(time, azimuth, range)`` and the ``look_side`` coordinate along time.

    Returns
    -------
    xarray.Dataset
        ``ds[var][t]`` equals sarpy's ``reader[:, :]`` of that product.

    Raises
    ------
    LoadError
        When ``ds`` lacks the dims or the ``look_side`` coordinate.
    """
    if not {"time", "azimuth", "range"} <= set(ds.dims) or "look_side" not in ds.coords:
        raise LoadError("to_sarpy_orientation needs a cube with dims (time, azimuth, range) and a look_side coord")
    left = ds.coords["look_side"] == "left"
    variables = {
        name: _flip_left_looking(var, left).transpose("time", "range", "azimuth")
        if {"azimuth", "range"} <= set(var.dims)
        else var
        for name, var in ds.data_vars.items()
    }
    out = ds.assign(variables)
    out.attrs = {**ds.attrs, "orientation": "sarpy/SICD: rows range, columns azimuth, left-looking azimuth reversed"}
    return out
