"""Lazy resampling of a slice onto the reference grid, one dask task per output chunk.

Each output chunk maps its pixels through the slice's fitted model (:mod:`._model`), reads only the
part of the slice's raster that they land in plus a margin (:data:`MARGIN` pixels, enough for the cubic
B-spline's prefilter to settle), and interpolates there with :func:`scipy.ndimage.map_coordinates`:
order 3 (cubic B-spline, the default), 1 (bilinear) or 0 (nearest). Pixels whose interpolation support
touches no-data (NaN, GRD DN 0) or falls outside the slice are NaN.

SLC slices are complex: their azimuth spectrum is centred on the Doppler centroid, not on 0, while a
B-spline passes low frequencies best. Before interpolation the azimuth phase ramp
``exp(2j*pi*f_dc(col)*line)`` (``f_dc`` in cycles per line, per range column, from the product's Doppler
centroid) is removed; the real and imaginary parts of the deramped samples are interpolated separately,
and the ramp is restored at the resampled position ``(line + d_az, col + d_rg)``, so each output sample
keeps the phase history of the point it shows. Nothing else is done to the phase (no flat-earth or
topographic phase is removed). Without a known Doppler centroid the ramp is taken as 0.
"""

from __future__ import annotations

import math
from typing import Any, Final

import dask.array as da
import numpy as np
from dask.delayed import delayed
from numpy.typing import NDArray

from icecube_stac.coregister._model import evaluate
from icecube_stac.coregister._scipy import map_coordinates

__all__ = ["MARGIN", "ORDERS", "resample_slice"]

F64 = NDArray[np.float64]

MARGIN: Final = 12
ORDERS: Final = {"nearest": 0, "linear": 1, "cubic": 3}
_PROBES: Final = 9  # model evaluated on a 9 x 9 lattice of each chunk to bound its source window


def _ramp(doppler: tuple[float, ...], lines: F64, cols: F64) -> NDArray[np.complex128]:
    if not doppler:
        return np.ones(np.broadcast_shapes(np.shape(lines), np.shape(cols)), dtype=np.complex128)
    cycles = np.polynomial.polynomial.polyval(cols, doppler)
    return np.asarray(np.exp(2j * np.pi * cycles * lines))


def _interpolate(values: F64, where: F64, order: int) -> F64:
    return map_coordinates(values, where, order=order, mode="nearest", prefilter=order > 1)


def resample_block(
    window: NDArray[Any],
    origin: tuple[int, int],
    rows: tuple[int, int],
    cols: tuple[int, int],
    fit: tuple[F64, str, tuple[int, int]],
    order: int,
    doppler: tuple[float, ...],
) -> NDArray[Any]:
    """Resample one output chunk from a window of the slice (a dask task).

    Parameters
    ----------
    window
        The slice's pixels (float32 GRD DN or complex64 SLC) from ``origin`` on.
    origin
        The window's first (row, col) in the slice.
    rows, cols
        ``(start, stop)`` of the output chunk on the reference grid.
    fit
        ``(coefficients, model, reference shape)`` of the slice's offset model.
    order
        Spline order of :func:`scipy.ndimage.map_coordinates`.
    doppler
        Doppler centroid polynomial (cycles/line per range column; empty: none).

    Returns
    -------
    numpy.ndarray
        The chunk, in the window's dtype.
    """
    coefficients, model, shape = fit
    rr, cc = np.arange(*rows, dtype=np.float64)[:, None], np.arange(*cols, dtype=np.float64)[None, :]
    d_az, d_rg = evaluate(coefficients, model, shape, rr, cc)
    lines, samples = rr + d_az, cc + d_rg
    where = np.stack([lines - origin[0], samples - origin[1]])
    valid = np.isfinite(window) & (window != 0)
    good = (where[0] >= 0) & (where[0] <= window.shape[0] - 1) & (where[1] >= 0) & (where[1] <= window.shape[1] - 1)
    if not valid.all():  # the no-data mask is interpolated only where there is some (it costs a second pass)
        good &= _interpolate(valid.astype(np.float64), where, min(order, 1)) > 0.999
    if np.iscomplexobj(window):
        grid_lines = np.arange(origin[0], origin[0] + window.shape[0], dtype=np.float64)[:, None]
        grid_cols = np.arange(origin[1], origin[1] + window.shape[1], dtype=np.float64)[None, :]
        flat = np.where(valid, window, 0) * np.conj(_ramp(doppler, grid_lines, grid_cols))
        value = _interpolate(flat.real, where, order) + 1j * _interpolate(flat.imag, where, order)
        out: NDArray[Any] = value * _ramp(doppler, lines, samples)
    else:
        out = _interpolate(np.where(valid, window, 0).astype(np.float64), where, order)
    return np.where(good, out, np.nan).astype(window.dtype)


def _source_window(
    fit: tuple[F64, str, tuple[int, int]], rows: tuple[int, int], cols: tuple[int, int], extent: tuple[int, int]
) -> tuple[int, int, int, int] | None:
    """Return the slice window (row0, row1, col0, col1) an output chunk needs, or None when it lies outside."""
    coefficients, model, shape = fit
    pr = np.linspace(rows[0], rows[1] - 1, _PROBES)
    pc = np.linspace(cols[0], cols[1] - 1, _PROBES)
    rr, cc = np.meshgrid(pr, pc, indexing="ij")
    d_az, d_rg = evaluate(coefficients, model, shape, rr, cc)
    r0, r1 = math.floor(float((rr + d_az).min())) - MARGIN, math.ceil(float((rr + d_az).max())) + MARGIN + 1
    c0, c1 = math.floor(float((cc + d_rg).min())) - MARGIN, math.ceil(float((cc + d_rg).max())) + MARGIN + 1
    r0, r1, c0, c1 = max(r0, 0), min(r1, extent[0]), max(c0, 0), min(c1, extent[1])
    return None if r1 - r0 < 2 or c1 - c0 < 2 else (r0, r1, c0, c1)


def resample_slice(
    source: da.Array,
    grid: tuple[int, int],
    chunks: tuple[int, int],
    fit: tuple[F64, str, tuple[int, int]],
    resampling: str,
    doppler: tuple[float, ...],
) -> da.Array:
    """Return the slice resampled onto the reference grid, lazily.

    Parameters
    ----------
    source
        The slice's whole raster, ``(rows, cols)`` dask array in its own shape.
    grid
        The reference grid (the cube's azimuth, range).
    chunks
        Output chunk sizes (azimuth, range).
    fit
        ``(coefficients, model, reference shape)``.
    resampling
        ``nearest``, ``linear`` or ``cubic``.
    doppler
        Doppler centroid polynomial for SLC deramping (empty: none).

    Returns
    -------
    dask.array.Array
        ``grid``-shaped, the source's dtype.
    """
    order = ORDERS[resampling]
    blocks: list[list[da.Array]] = []
    for r0 in range(0, grid[0], chunks[0]):
        row: list[da.Array] = []
        rows = (r0, min(r0 + chunks[0], grid[0]))
        for c0 in range(0, grid[1], chunks[1]):
            cols = (c0, min(c0 + chunks[1], grid[1]))
            shape = (rows[1] - rows[0], cols[1] - cols[0])
            window = _source_window(fit, rows, cols, source.shape)
            if window is None:
                row.append(da.full(shape, np.nan, dtype=source.dtype))  # type: ignore[no-untyped-call]
                continue
            part = source[window[0] : window[1], window[2] : window[3]]
            task = delayed(resample_block, pure=True)(part, window[::2], rows, cols, fit, order, doppler)
            row.append(da.from_delayed(task, shape, dtype=source.dtype))  # type: ignore[no-untyped-call]
        blocks.append(row)
    result: da.Array = da.block(blocks)  # type: ignore[no-untyped-call]
    return result
