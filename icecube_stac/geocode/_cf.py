"""CF-1.11 georeferencing of a map-grid cube: ``x``/``y`` coordinates and the ``spatial_ref`` grid mapping.

The grid-mapping variable carries the CF parameters pyproj derives from the CRS (``grid_mapping_name``,
``false_easting``, ...) plus ``crs_wkt`` (CF), ``spatial_ref`` (the WKT under the name GDAL and rioxarray
read first) and ``GeoTransform`` (GDAL's pixel-corner affine), so xarray/rioxarray (``ds.rio.crs``),
GDAL (NetCDF and Zarr drivers) and QGIS all place the cube. Data variables name it in ``grid_mapping``.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

from icecube_stac.geocode._grid import MapGrid

__all__ = ["GRID_MAPPING", "grid_coords", "spatial_dimensions", "variable_grid_attrs"]

GRID_MAPPING: Final = "spatial_ref"
"""Name of the grid-mapping coordinate (rioxarray's default name)."""


def _axis_attrs(grid: MapGrid, axis: str) -> dict[str, str]:
    crs = grid.pyproj_crs()
    if crs.is_geographic:
        names = {"x": ("longitude", "degrees_east"), "y": ("latitude", "degrees_north")}
        standard, units = names[axis]
        return {"standard_name": standard, "long_name": standard, "units": units, "axis": axis.upper()}
    unit = crs.axis_info[0].unit_name if crs.axis_info else "metre"
    return {
        "standard_name": f"projection_{axis}_coordinate",
        "long_name": f"{axis} coordinate of projection (pixel centre)",
        "units": "m" if unit in ("metre", "meter") else unit,
        "axis": axis.upper(),
    }


def _mapping_attrs(grid: MapGrid) -> dict[str, Any]:
    crs = grid.pyproj_crs()
    wkt = crs.to_wkt()
    attrs: dict[str, Any] = {}
    for name, value in crs.to_cf().items():
        if name != "crs_wkt" and isinstance(value, (str, int, float)):
            attrs[name] = value
    t = grid.transform
    attrs |= {
        "crs_wkt": wkt,
        "spatial_ref": wkt,
        "GeoTransform": " ".join(repr(float(v)) for v in (t.c, t.a, t.b, t.f, t.d, t.e)),
        "long_name": f"CRS of the map grid ({grid.crs})",
    }
    return attrs


def grid_coords(grid: MapGrid) -> dict[str, tuple[Any, npt.NDArray[Any], dict[str, Any]]]:
    """Return the ``y``, ``x`` and ``spatial_ref`` coordinates of a grid (xarray ``(dims, data, attrs)``)."""
    return {
        "y": ("y", grid.y(), _axis_attrs(grid, "y")),
        "x": ("x", grid.x(), _axis_attrs(grid, "x")),
        GRID_MAPPING: ((), np.array(0, dtype=np.int32), _mapping_attrs(grid)),
    }


def variable_grid_attrs() -> dict[str, str]:
    """Return the attribute a data variable needs to name its grid mapping."""
    return {"grid_mapping": GRID_MAPPING}


def spatial_dimensions(ds: Any) -> dict[str, Any]:
    """Return the datacube extension's ``x``/``y`` spatial dimensions of a map-grid cube (for its STAC item).

    Parameters
    ----------
    ds
        A cube of :func:`icecube_stac.geocode.geocode_cube` (``x``, ``y`` and ``spatial_ref`` coords).

    Returns
    -------
    dict
        ``{"x": {...}, "y": {...}}``: ``type`` spatial, ``axis``, ``extent`` (pixel centres), ``step`` and
        ``reference_system`` (the EPSG code, else the WKT).
    """
    from pyproj import CRS

    crs = CRS.from_wkt(str(ds.coords[GRID_MAPPING].attrs["crs_wkt"]))
    reference: int | str = crs.to_epsg() or crs.to_wkt()
    dims: dict[str, Any] = {}
    for axis in ("x", "y"):
        values = np.asarray(ds.coords[axis].values, dtype=np.float64)
        step = float(values[1] - values[0]) if values.size > 1 else None
        dims[axis] = {
            "type": "spatial",
            "axis": axis,
            "extent": [float(values.min()), float(values.max())],
            "step": step,
            "reference_system": reference,
            "description": f"{axis} of the pixel centres in {crs.name}",
        }
    return dims
