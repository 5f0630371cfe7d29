"""An xbatcher generator over a labelled cube, for users who batch with xbatcher (as icecube's notebooks do)."""

from __future__ import annotations

from typing import Any

import xarray as xr

from icecube_stac.ml._spec import BatchError, PatchSpec

__all__ = ["xbatcher_generator"]


def xbatcher_generator(ds: xr.Dataset, spec: PatchSpec | None = None, **kwargs: Any) -> Any:
    """Return an ``xbatcher.BatchGenerator`` of aligned SAR and label patches of a cube.

    Parameters
    ----------
    ds
        A cube with labels (:func:`~icecube_stac.labels.attach_labels` or :func:`~icecube_stac.open_cube`).
    spec
        Patch size, stride (as ``input_overlap = size - stride``) and time window; channels and normalisation
        are left to the user (xbatcher yields the variables as stored).
    kwargs
        Passed on to ``BatchGenerator`` (e.g. ``batch_dims``, ``preload_batch``).

    Returns
    -------
    xbatcher.BatchGenerator
        Each batch a Dataset with the SAR variable and ``labels`` over the same window.
    """
    import xbatcher  # type: ignore[import-untyped]

    spec = spec or PatchSpec()
    sar = next((v for v in ("amplitude", "slc") if v in ds.data_vars), None)
    if sar is None or "labels" not in ds.data_vars:
        raise BatchError("xbatcher_generator needs a cube with a SAR variable (amplitude or slc) and labels")
    dims = ds[sar].dims
    overlap = {dims[1]: spec.size[0] - spec.step[0], dims[2]: spec.size[1] - spec.step[1]}
    if min(overlap.values()) < 0:
        raise BatchError(f"xbatcher needs a stride <= the patch size, got stride {spec.step} for size {spec.size}")
    return xbatcher.BatchGenerator(
        ds[[sar, "labels"]],
        input_dims={"time": spec.time_window, dims[1]: spec.size[0], dims[2]: spec.size[1]},
        input_overlap={"time": spec.time_window - 1, **overlap},
        **kwargs,
    )
