"""The composition of the coregistration stage: cube in, coregistered cube out (still lazy).

Steps: find each time step's product (from the cube's own ``stac_item``/``data_href`` coordinates), pick
the reference, read each product's metadata once (corner geolocation for the coarse offset, Doppler
centroid), measure the window offsets of every slice in one dask computation (the windows only), fit each
slice's model, then replace the cube's variable by lazily resampled slices and record the fits.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Sequence
from typing import Any

import dask.array as da
import numpy as np
import pystac
import xarray as xr
from dask.base import compute
from dask.delayed import delayed

from icecube_stac._config_coregister import CoregisterOptions, CoregisterRule
from icecube_stac._encoding import SOURCE_DTYPE_ATTR
from icecube_stac.coregister._estimate import SliceOffsets, measure_slice, reference_windows, window_origins
from icecube_stac.coregister._geometry import COARSE_THRESHOLD, ProductGeometry, coarse_offset, product_geometry
from icecube_stac.coregister._model import fit_model
from icecube_stac.coregister._record import SliceRecord, coregistration_attrs, record_coords
from icecube_stac.coregister._resample import resample_slice
from icecube_stac.cube._graph import RasterSource, dask_array
from icecube_stac.cube._plan import _probe_shape
from icecube_stac.errors import IcecubeStacError, IcecubeStacWarning, LoadError
from icecube_stac.item import parse_item
from icecube_stac.vocabulary import ProductLevel

__all__ = ["CoregistrationWarning", "coregister_cube"]


class CoregistrationWarning(IcecubeStacWarning):
    """A slice could not be coregistered (dropped or kept unaligned), or a product lacks what it needs."""


def _variable(ds: xr.Dataset) -> str:
    for name in ("amplitude", "slc"):
        if name in ds.data_vars:
            return name
    raise LoadError(
        f"coregistration needs a cube with an 'amplitude' or 'slc' variable; got {sorted(str(n) for n in ds.data_vars)}"
    )


def _source(ds: xr.Dataset, k: int) -> RasterSource | None:
    """Return the raster of time step ``k`` (None for an empty slot), from the cube's own coordinates."""
    href = str(ds["data_href"].values[k]) if "data_href" in ds.coords else ""
    if not href:
        return None
    try:
        parsed = parse_item(pystac.Item.from_dict(json.loads(str(ds["stac_item"].values[k]))))
    except (ValueError, KeyError, IcecubeStacError) as exc:
        raise LoadError(f"time step {k}: the cube's stac_item cannot be parsed for coregistration: {exc}") from None
    parsed = dataclasses.replace(parsed, data_href=href)
    return RasterSource(parsed.id, href, parsed.container, parsed.shape or _probe_shape(parsed))


def _reference(ids: Sequence[str], sources: Sequence[RasterSource | None], wanted: str | None) -> int:
    if wanted is None:
        return next(k for k, s in enumerate(sources) if s is not None)
    for k, (item_id, source) in enumerate(zip(ids, sources, strict=True)):
        if item_id == wanted and source is not None:
            return k
    shown = ", ".join(repr(i) for i in ids if i)[:300]
    raise LoadError(f"config key 'coregister.reference': item {wanted!r} is not in the cube; its items are {shown}")


def _geometries(ds: xr.Dataset, sources: Sequence[RasterSource | None]) -> list[ProductGeometry | None]:
    metadata = ds["metadata_href"].values if "metadata_href" in ds.coords else [""] * len(sources)
    return [
        None if s is None else product_geometry(str(meta), s.href, s.shape[1])
        for s, meta in zip(sources, metadata, strict=True)
    ]


def _coarse(ref: ProductGeometry | None, geo: ProductGeometry | None, shape: tuple[int, int]) -> tuple[float, float]:
    offset = coarse_offset(ref, geo, shape)
    return offset if float(np.hypot(*offset)) > COARSE_THRESHOLD else (0.0, 0.0)


def _measure(
    sources: Sequence[RasterSource | None],
    ref: int,
    coarse: Sequence[tuple[float, float]],
    dopplers: Sequence[tuple[float, ...] | None],
    options: CoregisterOptions,
) -> tuple[np.ndarray[Any, Any], int, list[SliceOffsets | None]]:
    """Window offsets of every slice but the reference, computed in one go (windows only are read).

    ``dopplers`` is None for GRD (amplitude as read), else each SLC's Doppler polynomial (detected at 2x).
    """
    reference = sources[ref]
    assert reference is not None
    factor = 1 if dopplers[ref] is None else 2
    side, origins = window_origins(reference.shape, options.window, options.grid)
    windows = delayed(reference_windows, pure=True)(reference, side, origins, factor, dopplers[ref] or ())
    tasks = {
        k: delayed(measure_slice, pure=True)(
            windows, origins, (reference, s), coarse[k], (options.upsample, factor, dopplers[k] or ())
        )
        for k, s in enumerate(sources)
        if s is not None and k != ref
    }
    results = compute(*tasks.values())  # type: ignore[no-untyped-call]
    done = dict(zip(tasks, results, strict=True))
    centres = origins + (side - 1) / 2.0
    return centres, side, [done.get(k) for k in range(len(sources))]


def _fit(
    name: str, measured: SliceOffsets, centres: Any, grid: tuple[int, int], options: CoregisterOptions
) -> SliceRecord:
    fit = fit_model(centres, measured.offsets, grid, options.model, options.max_residual)
    if fit is None:
        usable = int(np.isfinite(measured.offsets[:, 0]).sum())
        refused = ", ".join(f"{n} {why}" for why, n in sorted(measured.refused.items())) or "none"
        fate = "dropped" if options.on_failure == "drop" else "kept unaligned with NaN quality"
        warnings.warn(
            f"coregistration of {name} failed ({usable} of {len(measured.offsets)} windows measured; refused: "
            f"{refused}; no {options.model} fit within {options.max_residual} px RMS): the slice is {fate} "
            "(config key coregister.on_failure)",
            CoregistrationWarning,
            stacklevel=4,
        )
        return SliceRecord("failed")
    return SliceRecord("fitted", fit)


def coregister_cube(ds: xr.Dataset, options: CoregisterOptions) -> xr.Dataset:
    """Coregister a sensor-geometry cube onto one of its slices; lazy except for the window offsets.

    Parameters
    ----------
    ds
        A cube of :func:`~icecube_stac.cube.build_cube` (dims time, azimuth, range).
    options
        The ``coregister`` config value; disabled options return ``ds`` unchanged.

    Returns
    -------
    xarray.Dataset
        The cube with every fitted slice resampled onto the reference grid, the ``coreg_*`` coordinates
        (:mod:`icecube_stac.coregister._record`) and ``coregistration_*`` attributes. Failed slices are
        dropped or kept unaligned (``options.on_failure``), each with a :class:`CoregistrationWarning`.

    Raises
    ------
    LoadError
        When the cube has no slice with data, the reference item is not in it, or a product cannot be read.
    ConfigError
        When options built in Python are out of bounds (checked like the config key, before any allocation).
    """
    options = CoregisterRule().check("coregister", options)
    if not options.enabled:
        return ds
    name = _variable(ds)
    data = ds[name].data
    sources = [_source(ds, k) for k in range(ds.sizes["time"])]
    if all(s is None for s in sources):
        raise LoadError("coregistration needs at least one time step with data; the cube has none")
    ids = [str(i) for i in ds["id"].values]
    ref = _reference(ids, sources, options.reference)
    level = str(ds.attrs.get("product_type", ProductLevel.GRD.value))
    geometries = _geometries(ds, sources)
    grid = (ds.sizes["azimuth"], ds.sizes["range"])
    coarse = [
        (0.0, 0.0) if s is None else _coarse(geometries[ref], geo, s.shape)
        for s, geo in zip(sources, geometries, strict=True)
    ]
    slc = level == ProductLevel.SLC.value
    if slc:
        missing = [ids[k] for k, g in enumerate(geometries) if sources[k] is not None and (g is None or not g.doppler)]
        if missing:
            warnings.warn(
                f"no Doppler centroid for {', '.join(missing)}: their SLC phase ramp is taken as 0 when resampling",
                CoregistrationWarning,
                stacklevel=2,
            )
    dopplers = [(g.doppler if g is not None else ()) if slc else None for g in geometries]
    centres, _, measured = _measure(sources, ref, coarse, dopplers, options)
    records: list[SliceRecord] = []
    slices: list[da.Array] = []
    chunks = (data.chunks[1][0], data.chunks[2][0])
    sizes = {"time": 1, "azimuth": chunks[0], "range": chunks[1]}
    for k, source in enumerate(sources):
        offsets = measured[k]
        if source is None or offsets is None:
            status = "empty" if source is None else "reference"
            records.append(SliceRecord(status, None, coarse[k]))
            slices.append(data[k])
            continue
        record = dataclasses.replace(_fit(ids[k], offsets, centres, grid, options), coarse=offsets.start)
        records.append(record)
        if record.fit is None:
            slices.append(data[k])
            continue
        whole = dask_array([source], source.shape, sizes, str(data.dtype), np.nan)[0]
        fit = (record.fit.coefficients, options.model, grid)
        slices.append(resample_slice(whole, grid, chunks, fit, options.resampling, dopplers[k] or ()))
    stacked = da.stack(slices).rechunk(data.chunks)  # type: ignore[no-untyped-call]
    attrs = {k: v for k, v in ds[name].attrs.items() if k != SOURCE_DTYPE_ATTR}  # resampled: no longer exact DN
    out = ds.assign({name: (ds[name].dims, stacked, attrs)}).assign_coords(record_coords(records, options.model))
    out.attrs.update(coregistration_attrs(options, ids[ref], level))
    if options.on_failure == "drop":
        out = out.isel(time=[k for k, r in enumerate(records) if r.status != "failed"])
    return out
