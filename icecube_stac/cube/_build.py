"""Items → a lazy ``xarray.Dataset`` in sensor geometry: the cube's plan as xarray variables on a dask graph.

:func:`build_cube` takes items (it never searches: :func:`icecube_stac.pipeline.load_cube` composes
config → search → selection rules → cube). :func:`~icecube_stac.cube._plan.plan_cube` parses each item once,
refuses or skips items whose data are missing, lays out the time axis and takes the grid from the first item in
time order; the dask graph reads windows through the readers (:mod:`icecube_stac.cube._graph`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Final

import pystac
import xarray as xr

import icecube_stac.calibration  # noqa: F401 - registers the ds.iceye accessor on every cube
from icecube_stac.config import CubeConfig
from icecube_stac.cube._graph import DIMS, dask_array
from icecube_stac.cube._plan import DTYPES, CubePlan, OnMissing, plan_cube, source_dtype_attrs, with_band_scale

__all__ = [
    "DTYPES",
    "OnMissing",
    "build_cube",
    "cube_of_plan",
    "direct_writer",
    "plan_of",
    "source_dtype_attrs",
    "with_band_scale",
]

_PLAN_ATTR: Final = "_icecube_stac_plan"


def build_cube(
    source: pystac.ItemCollection | Iterable[pystac.Item],
    *,
    config: CubeConfig | None = None,
    chunks: Mapping[str, int] | None = None,
    fill_value: float | None = None,
    on_missing: OnMissing = "raise",
) -> xr.Dataset:
    """Build a lazy, dask-backed time-series cube from ICEYE STAC items.

    Parameters
    ----------
    source
        A ``pystac.ItemCollection`` or an iterable of ``pystac.Item`` (e.g. the result of
        :func:`~icecube_stac.search.search`). To search a config's catalog and build in one call, use
        :func:`icecube_stac.pipeline.load_cube`.
    config
        Load options: the time axis (``temporal_resolution``, ``start_date``/``end_date``,
        ``temporal_overlap``), ``coregistered``, ``chunks``, ``fill_value``. Its search keys and the
        ``space_overlap`` selection rule are not applied here (the search applies them). Default: natural
        timeline, overlaps kept, not coregistered.
    chunks
        Chunk sizes by dim (``time``, ``azimuth``, ``range``; -1 = whole dim); overrides the config's
        ``chunks``. Default ``{"time": 1, "azimuth": 2048, "range": 2048}``, clipped to the raster.
    fill_value
        Value of padded pixels and empty time slots (both parts for SLC); overrides the config's
        ``fill_value``. Default NaN (NaN+NaN·j for SLC).
    on_missing
        ``"raise"`` (default): a local data file that does not exist raises :class:`LoadError`;
        ``"skip"``: such items are left out with a :class:`SkippedItemWarning`.

    Returns
    -------
    xarray.Dataset
        dims ``("time", "azimuth", "range")``; variable ``amplitude`` (GRD, float32) or ``slc`` (SLC,
        complex64); per-item coords along ``time`` (``id``, ``incidence_angle``, ``orbit_state``,
        ``look_side``, ``platform``, ``instrument_mode``, ``product_type``, ``start_datetime``,
        ``end_datetime``, ``calibration_factor``, ``stac_item``, ``data_href``, ``metadata_href``).
        Nothing is read until the data are computed (except the shape of a raster whose item lacks
        ``proj:shape``). ``ds.iceye`` gives the calibration helpers of :mod:`icecube_stac.calibration`.

    Raises
    ------
    LoadError
        No items; GRD and SLC items mixed; a missing data file (with ``on_missing="raise"``); two
        acquisitions in one time slot while ``temporal_overlap`` is true. Errors while computing (an
        unreadable file) are also ``LoadError`` naming the item and the href.
    """
    plan = plan_cube(source, config=config, chunks=chunks, fill_value=fill_value, on_missing=on_missing)
    return cube_of_plan(plan)


def cube_of_plan(plan: CubePlan) -> xr.Dataset:
    """Return the lazy, dask-backed ``xarray.Dataset`` of a :class:`~icecube_stac.cube._plan.CubePlan`."""
    data = dask_array(list(plan.sources), plan.grid, plan.sizes, plan.dtype, plan.fill, plan.source_dtype)
    # The array remembers its plan (any operation on it makes a new array, without it): see plan_of.
    setattr(data, _PLAN_ATTR, plan)
    variable = xr.Variable(DIMS, data, attrs=dict(plan.attrs))
    coords = {name: (dim, values, dict(attrs)) for name, (dim, values, attrs) in plan.coords.items()}
    return xr.Dataset({plan.name: variable}, coords=coords, attrs=dict(plan.dataset_attrs))


def plan_of(ds: xr.Dataset) -> CubePlan | None:
    """Return the plan of a cube that is exactly what :func:`cube_of_plan` made of it, else None.

    ``write_cube`` then stores it with the command line's direct writer (the same store, without dask). The
    data must be the plan's own dask array and everything else (names, coordinates, attributes) identical:
    a cube the user selected from, rechunked, relabelled or extended is written through xarray as before.

    Parameters
    ----------
    ds
        Any dataset.

    Returns
    -------
    CubePlan or None
    """
    if len(ds.data_vars) != 1:
        return None
    plan = getattr(next(iter(ds.data_vars.values())).data, _PLAN_ATTR, None)
    if not isinstance(plan, CubePlan):
        return None
    # The data compare by their dask names (nothing is computed); the coordinates are small numpy arrays.
    return plan if ds.identical(cube_of_plan(plan)) else None


def direct_writer(
    ds: xr.Dataset, target: Path, format: str | None, layout: str, zarr_format: int
) -> Callable[..., Path] | None:
    """Return ``write_plan`` bound to the plan of a cube :func:`plan_of` knows, if it stores it as write_cube would.

    Parameters
    ----------
    ds
        The cube ``write_cube`` was given.
    target, format, layout, zarr_format
        Its arguments (see :func:`~icecube_stac.cube._direct.direct_writable`).

    Returns
    -------
    callable or None
        ``write_plan(plan, target, **options)`` to call with the remaining options, or None.
    """
    from icecube_stac.cube._direct import direct_writable, write_plan

    plan = plan_of(ds)
    if plan is None or not direct_writable(plan, target, format=format, layout=layout, zarr_format=zarr_format):
        return None
    return functools.partial(write_plan, plan, target)
