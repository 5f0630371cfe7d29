"""Whether ``write_cube`` may hand a cube to the command line's direct writer, which stores it file for file alike.

A cube exactly as :func:`~icecube_stac.cube._build.cube_of_plan` made it (what ``build_cube`` and ``load_cube``
return) can be written from its plan without dask: a year of daily slots, most of them empty, in 0.3 times the
time (``benchmarks/bench_sparse_cube.py``). The direct writer stores the plan's values, not the dataset's, so
the hand-over is made only when the two cannot differ:

* the data are the plan's own dask array, under the name it was made with (dask's in-place ``__setitem__``
  keeps the object and renames it), the only data variable, with the plan's dims and dtype;
* every coordinate and attribute is the plan's, compared with their dtypes and value types (xarray's
  ``identical`` calls ``0`` and ``False``, or int64 and uint16 values, the same);
* the user's dask setup would not have been used anyway: no scheduler or worker count set in dask's config (a
  ``distributed.Client`` sets one; so do ``DASK_SCHEDULER``/``DASK_NUM_WORKERS``), no dask callbacks active
  (``ProgressBar``, ``Profiler``). Otherwise xarray computes the cube where the user said.

Nothing is computed and no second graph is built to decide.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import dask
import numpy as np
import xarray as xr

from icecube_stac.cube._build import PLAN_ATTR
from icecube_stac.cube._graph import DIMS
from icecube_stac.cube._plan import CubePlan

__all__ = ["direct_writer", "plan_of"]


def _same_value(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind == "O":  # per-item coordinates (ids, hrefs, item JSON): a few hundred values, each typed
            return all(map(_same_value, a.ravel().tolist(), b.ravel().tolist()))
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fcmM"))  # NaN and NaT of empty slots
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def _same_attrs(a: Mapping[Any, Any], b: Mapping[Any, Any]) -> bool:
    return a.keys() == b.keys() and all(_same_value(a[key], b[key]) for key in a)


def _same_coords(ds: xr.Dataset, plan: CubePlan) -> bool:
    if set(ds.coords) != set(plan.coords):
        return False
    for name, (dim, values, attrs) in plan.coords.items():
        coord = ds.coords[name].variable
        if coord.dims != (dim,) or not isinstance(coord.data, np.ndarray) or not _same_attrs(coord.attrs, attrs):
            return False
        if not _same_value(coord.data, xr.Variable((dim,), values).data):  # as cube_of_plan's Dataset made it
            return False
    return True


def plan_of(ds: xr.Dataset) -> CubePlan | None:
    """Return the plan of a cube that is exactly what ``cube_of_plan`` made of it, else None (module doc).

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
    ((name, variable),) = ds.data_vars.items()
    data = variable.data
    mark = getattr(data, PLAN_ATTR, None)
    if not (isinstance(mark, tuple) and len(mark) == 2 and isinstance(mark[0], CubePlan)):
        return None
    plan: CubePlan = mark[0]
    made_as = mark[1]
    if name != plan.name or getattr(data, "name", None) != made_as or variable.dims != DIMS:
        return None
    if variable.dtype != plan.dtype or not _same_attrs(variable.attrs, plan.attrs):
        return None
    if not _same_attrs(ds.attrs, plan.dataset_attrs) or not _same_coords(ds, plan):
        return None
    return plan


def _dask_left_alone() -> bool:
    """Tell whether the user set nothing the direct writer would not honour: a scheduler, workers, callbacks."""
    from dask.callbacks import Callback

    unset = all(dask.config.get(key, None) is None for key in ("scheduler", "get", "num_workers", "pool"))
    return unset and not Callback.active


def direct_writer(
    ds: xr.Dataset, target: Path, format: str | None, layout: str, zarr_format: int
) -> Callable[..., Path] | None:
    """Return ``write_plan`` bound to a cube's plan when the hand-over is safe and stores what write_cube would.

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

    if not _dask_left_alone():
        return None
    plan = plan_of(ds)
    if plan is None or not direct_writable(plan, target, format=format, layout=layout, zarr_format=zarr_format):
        return None
    return functools.partial(write_plan, plan, target)
