"""Items → a lazy ``xarray.Dataset`` in sensor geometry: the cube's plan as xarray variables on a dask graph.

:func:`build_cube` takes items (it never searches: :func:`icecube_stac.pipeline.load_cube` composes
config → search → selection rules → cube). :func:`~icecube_stac.cube._plan.plan_cube` parses each item once,
refuses or skips items whose data are missing, lays out the time axis and takes the grid from the first item in
time order; the dask graph reads windows through the readers (:mod:`icecube_stac.cube._graph`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

import pystac
import xarray as xr

import icecube_stac.calibration  # noqa: F401 - registers the ds.iceye accessor on every cube
from icecube_stac.config import CubeConfig
from icecube_stac.cube._graph import DIMS, dask_array
from icecube_stac.cube._plan import DTYPES, CubePlan, OnMissing, plan_cube, source_dtype_attrs, with_band_scale

__all__ = [
    "DTYPES",
    "PLAN_ATTR",
    "OnMissing",
    "build_cube",
    "cube_of_plan",
    "source_dtype_attrs",
    "with_band_scale",
]

PLAN_ATTR: Final = "_icecube_stac_plan"


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
    # The array remembers its plan and its name (an operation makes a new array; an in-place one renames it):
    # icecube_stac.cube._handover.plan_of.
    setattr(data, PLAN_ATTR, (plan, data.name))
    variable = xr.Variable(DIMS, data, attrs=dict(plan.attrs))
    coords = {name: (dim, values, dict(attrs)) for name, (dim, values, attrs) in plan.coords.items()}
    return xr.Dataset({plan.name: variable}, coords=coords, attrs=dict(plan.dataset_attrs))
