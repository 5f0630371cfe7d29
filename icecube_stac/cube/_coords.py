"""The cube's coordinates and attributes: per-item coords along ``time``, pixel coords, CF-style attrs.

Each item's STAC properties become non-dimension coordinates along ``time`` (as stackstac does);
``stac_item`` keeps each item's full JSON so that every product field stays reachable from the cube.
Values come from :class:`~icecube_stac.item.ParsedItem`, never from STAC keys directly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from icecube_stac._redact import redact_url
from icecube_stac.config import CubeConfig
from icecube_stac.cube._timeaxis import TimeAxis, utc_naive
from icecube_stac.item import ParsedItem
from icecube_stac.orientation import ORIENTATION_NOTE
from icecube_stac.vocabulary import ProductLevel

__all__ = ["COORD_ATTRS", "VARIABLE_ATTRS", "dataset_attrs", "item_coords", "pixel_coords", "time_coords"]

VARIABLE_ATTRS: Final[Mapping[ProductLevel, Mapping[str, str]]] = {
    ProductLevel.GRD: {
        "long_name": "GRD amplitude DN as stored (uint16 GeoTIFF, sigma0-scaled)",
        "units": "1",
        "comment": "sigma0 = calibration_factor * (DN * amplitude_scale + amplitude_offset)**2 (ICEYE already "
        "applied sin(incidence); scale 1 and offset 0 for legacy GeoTIFFs); "
        "see icecube_stac.calibration",
    },
    ProductLevel.SLC: {
        "long_name": "single look complex s_i + 1j*s_q (DN, unscaled)",
        "units": "1",
        "comment": "beta0 = calibration_factor * |slc|**2; see icecube_stac.calibration",
    },
}
COORD_ATTRS: Final[Mapping[str, Mapping[str, str]]] = {
    "azimuth": {"long_name": "azimuth line index (0-based row of the grid product)", "units": "1"},
    "range": {"long_name": "range sample index (0-based column of the grid product)", "units": "1"},
    "id": {"long_name": "STAC item id (ICEYE product name)"},
    "incidence_angle": {"long_name": "scene-centre incidence angle (view:incidence_angle)", "units": "degree"},
    "incidence_near": {"long_name": "incidence angle at the first range sample", "units": "degree"},
    "incidence_far": {"long_name": "incidence angle at the last range sample", "units": "degree"},
    "range_samples": {"long_name": "range samples of the product (its own width before padding)", "units": "1"},
    "orbit_state": {"long_name": "orbit direction (sat:orbit_state)"},
    "look_side": {"long_name": "antenna look side (sar:observation_direction)"},
    "platform": {"long_name": "satellite (platform)"},
    "instrument_mode": {"long_name": "acquisition mode (sar:instrument_mode)"},
    "product_type": {"long_name": "product level (product:type)"},
    "start_datetime": {"long_name": "acquisition start (UTC)"},
    "end_datetime": {"long_name": "acquisition end (UTC)"},
    "calibration_factor": {"long_name": "ICEYE radiometric calibration factor (iceye:calibration_factor)"},
    "amplitude_scale": {
        "long_name": "GRD amplitude = DN * amplitude_scale + amplitude_offset (COG band SCALE; 1 legacy)"
    },
    "amplitude_offset": {"long_name": "GRD amplitude offset (COG band OFFSET; 0 for legacy products)"},
    "stac_item": {"long_name": "full STAC item JSON"},
    "data_href": {"long_name": "href of the data asset"},
    "metadata_href": {"long_name": "href of the ICEYE XML metadata asset"},
    "item_href": {"long_name": "href of the STAC item JSON (empty when unknown)"},
}
_NUMBERS: Final = frozenset(
    {"incidence_angle", "incidence_near", "incidence_far", "calibration_factor", "amplitude_scale", "amplitude_offset"}
)
_COUNTS: Final = frozenset({"range_samples"})
_TIMES: Final = frozenset({"start_datetime", "end_datetime"})
# The coordinates of an empty time slot.
_EMPTY: Final[Mapping[str, Any]] = {
    "id": "",
    "orbit_state": "",
    "look_side": "",
    "platform": "",
    "instrument_mode": "",
    "incidence_angle": math.nan,
    "incidence_near": math.nan,
    "incidence_far": math.nan,
    "range_samples": 0,
    "calibration_factor": math.nan,
    "amplitude_scale": math.nan,
    "amplitude_offset": math.nan,
    "product_type": "",
    "start_datetime": None,  # NaT
    "end_datetime": None,
    "stac_item": "",
    "data_href": "",
    "metadata_href": "",
    "item_href": "",
}


def item_coords(item: ParsedItem | None, shape: tuple[int, int] | None = None) -> dict[str, Any]:
    """Return the per-item coordinate values of one time step (the empty values for an empty slot).

    Parameters
    ----------
    item
        The step's parsed item, or None.
    shape
        The ``(azimuth, range)`` shape of its raster, when known.

    Returns
    -------
    dict
        Coordinate name to scalar value, in the cube's coordinate order.
    """
    if item is None:
        return dict(_EMPTY)
    return {
        "id": item.id,
        "orbit_state": item.orbit_state,
        "look_side": item.look_side,
        "platform": item.platform,
        "instrument_mode": item.instrument_mode,
        "incidence_angle": item.incidence_angle,
        "incidence_near": item.incidence_near,
        "incidence_far": item.incidence_far,
        "range_samples": 0 if shape is None else shape[1],
        "calibration_factor": item.calibration_factor,
        "amplitude_scale": item.amplitude_scale,
        "amplitude_offset": item.amplitude_offset,
        "product_type": item.level.value,
        "start_datetime": None if item.start is None else utc_naive(item.start),
        "end_datetime": None if item.end is None else utc_naive(item.end),
        "stac_item": item.stac_json(),
        "data_href": item.data_href,
        "metadata_href": item.metadata_href,
        "item_href": item.item_href,
    }


def _array(name: str, values: Sequence[Any]) -> npt.NDArray[Any]:
    if name in _TIMES:
        return np.array(values, dtype="datetime64[ns]")
    if name in _NUMBERS:
        return np.array(values, dtype=np.float64)
    if name in _COUNTS:
        return np.array(values, dtype=np.int64)
    return np.array(values, dtype=object)  # variable-length strings, as xarray writes them


def time_coords(
    axis: TimeAxis, shapes: Sequence[tuple[int, int] | None] | None = None
) -> dict[str, tuple[str, npt.NDArray[Any], Mapping[str, str]]]:
    """Return ``time`` and the per-item coordinates along it, with their attributes.

    Parameters
    ----------
    axis
        The cube's time axis.
    shapes
        The raster shape of each slot (None for an empty one).

    Returns
    -------
    dict
        ``name -> ("time", values, attrs)``, ready for ``xarray.Dataset(coords=...)``.
    """
    time_attrs = {
        "standard_name": "time",
        "axis": "T",
        "long_name": "time slot start (UTC)" if axis.resolution else "acquisition time (UTC)",
    }
    coords: dict[str, tuple[str, npt.NDArray[Any], Mapping[str, str]]] = {
        "time": ("time", axis.times.astype("datetime64[ns]"), time_attrs)
    }
    rows = [
        item_coords(item, shape) for item, shape in zip(axis.slots, shapes or [None] * len(axis.slots), strict=True)
    ]
    for name in _EMPTY:
        coords[name] = ("time", _array(name, [row[name] for row in rows]), dict(COORD_ATTRS.get(name, {})))
    return coords


def pixel_coords(grid: tuple[int, int]) -> dict[str, tuple[str, npt.NDArray[Any], Mapping[str, str]]]:
    """Return the 0-based integer ``azimuth`` and ``range`` coordinates of a grid."""
    coords: dict[str, tuple[str, npt.NDArray[Any], Mapping[str, str]]] = {
        dim: (dim, np.arange(size, dtype=np.int64), dict(COORD_ATTRS[dim]))
        for dim, size in zip(("azimuth", "range"), grid, strict=True)
    }
    return coords


def _package_version() -> str:
    try:
        return version("icecube-stac")
    except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
        return "0+unknown"


def _geometry_note(coregistered: bool) -> str:
    if coregistered:
        return (
            "sensor geometry (azimuth lines x range samples); the stack was declared coregistered: pixel "
            "(azimuth, range) is the same ground point at every time step"
        )
    return (
        "sensor geometry (azimuth lines x range samples); the products are NOT coregistered, only roughly "
        "co-located: pixel (azimuth, range) is not the same ground point across time. Coregister the stack "
        "before pixel-wise time-series analysis"
    )


def dataset_attrs(level: ProductLevel, config: CubeConfig | None, grid_item: str, fill: float) -> dict[str, Any]:
    """Return the cube's global attributes.

    Parameters
    ----------
    level
        Product level of the stack.
    config
        The config the cube was built with, if any.
    grid_item
        Id of the item that defines the pixel grid.
    fill
        The fill value of padded pixels and empty slots.

    Returns
    -------
    dict
    """
    coregistered = bool(config and config.coregistered)
    resolution = config.temporal_resolution if config is not None else 0
    return {
        "Conventions": "CF-1.11",
        "title": f"ICEYE {level.value} time series in sensor geometry",
        "product_type": level.value,
        "coregistered": int(coregistered),  # netCDF attributes cannot be booleans
        # Not "geometry": that name is a CF attribute (simple geometries) with another meaning.
        "sensor_geometry": _geometry_note(coregistered),
        "orientation": ORIENTATION_NOTE,
        "grid_product": grid_item,
        "temporal_resolution": resolution,
        "time_axis": f"{resolution}-day slots from start_date (empty slots filled)"
        if resolution
        else "natural timeline: one step per acquisition, at the item datetime",
        "fill_value": repr(float(fill)),
        # A catalog URL may carry credentials: they must not travel inside the cube file.
        "source_catalog": "" if config is None else redact_url(config.catalog),
        "created_by": f"icecube-stac {_package_version()}",
        # CF history: the tools that made the data (no time stamp, so that one config always gives one cube).
        "history": f"icecube-stac {_package_version()} build_cube: ICEYE {level.value} STAC items in sensor geometry",
        "references": "https://github.com/iceye-ltd/icecube (layout predecessor)",
    }
