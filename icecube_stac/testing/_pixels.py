"""Synthesise GRD amplitudes and SLC I/Q samples of the planned scene, with speckle.

The backscatter is evaluated in ground coordinates through each product's own geolocation, so
products of one area show the same fields, river and point targets in their own sensor geometry.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ._plan import ProductPlan
from ._rpc import rpc_project

__all__ = ["grd_amplitude", "quicklook", "slc_samples"]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

_INCIDENCE_SLOPE_DB = -0.12  # land backscatter falls ~0.1 dB per degree of incidence
_REFERENCE_INCIDENCE = 25.0
_SIDELOBES = ((1, 0.05), (2, 0.01))  # (offset px, relative intensity) of a point-target response
_QUICKLOOK_MAX = 512
_LAYER_STEP_M = 30.0  # the river meanders over >= 350 m, so 30 m nodes interpolate it to ~2 m
_MAX_STEP = 16


def _interp_weights(positions: F64, nodes: F64) -> F64:
    """Dense linear-interpolation matrix from values at ``nodes`` to ``positions`` (extrapolates)."""
    weights = np.zeros((positions.size, nodes.size))
    if nodes.size == 1:
        weights[:, 0] = 1.0
        return weights
    index = np.clip(np.searchsorted(nodes, positions, side="right") - 1, 0, nodes.size - 2)
    frac = (positions - nodes[index]) / (nodes[index + 1] - nodes[index])
    rows = np.arange(positions.size)
    weights[rows, index] = 1.0 - frac
    weights[rows, index + 1] = frac
    return weights


def _pixel_ground_spacing(plan: ProductPlan) -> tuple[float, float]:
    """Approximate ground size (m) of a pixel along azimuth and range."""
    f = plan.fields
    if "range_spacing" in f:
        return float(f["azimuth_spacing"]), float(f["range_spacing"])
    sin_inc = np.sin(np.radians(float(f["incidence_center"])))
    return float(f["azimuth_ground_spacing"]), float(f["slant_range_spacing"]) / float(sin_inc)


def _coarse_nodes(n: int, pixel: float) -> tuple[F64, int]:
    """Node positions every ``step`` pixels (about 30 m on the ground), covering ``0..n-1``."""
    step = int(np.clip(_LAYER_STEP_M // pixel, 1, _MAX_STEP))
    count = -(-(n - 1) // step) + 1
    return np.arange(count, dtype=np.float64) * step, step


def _upsample(coarse: F64, steps: tuple[int, int], shape: tuple[int, int]) -> F32:
    """Separable linear interpolation of node values every ``steps`` pixels to the full grid."""
    if steps == (1, 1):
        return coarse[: shape[0], : shape[1]].astype(np.float32)
    grid = coarse.astype(np.float32)
    for axis, (step, size) in enumerate(zip(steps, shape, strict=True)):
        pixel = np.arange(size)
        lo = pixel // step
        hi = np.minimum(lo + 1, grid.shape[axis] - 1)
        frac = ((pixel % step) / step).astype(np.float32)
        if axis == 0:
            grid = grid[lo] * (1 - frac)[:, None] + grid[hi] * frac[:, None]
        else:
            grid = grid[:, lo] * (1 - frac) + grid[:, hi] * frac
    return np.asarray(grid, dtype=np.float32)


def _mean_intensity(plan: ProductPlan, seed: int) -> F32:
    """Mean sigma0 (linear) per pixel: scene backscatter, incidence trend and point targets.

    The smooth scene layers are evaluated on a ~30 m node grid through the product's geolocation
    (bilinear in the GCP grid) and interpolated to pixels, which is what makes 2048^2 rasters fast.
    """
    naz, nrg = (int(plan.fields["number_of_azimuth_samples"]), int(plan.fields["number_of_range_samples"]))
    az_pixel, rg_pixel = _pixel_ground_spacing(plan)
    rows, row_step = _coarse_nodes(naz, az_pixel)
    cols, col_step = _coarse_nodes(nrg, rg_pixel)
    gx, gy = plan.scene.to_local(plan.gcp_lat, plan.gcp_lon)
    w_rows, w_cols = _interp_weights(rows, plan.gcp_line), _interp_weights(cols, plan.gcp_samp)
    x, y = w_rows @ gx @ w_cols.T, w_rows @ gy @ w_cols.T
    layers = np.stack([_upsample(layer, (row_step, col_step), (naz, nrg)) for layer in plan.scene.layers(x, y)])
    db = plan.scene.compose_db(layers, seed)
    db += (_INCIDENCE_SLOPE_DB * (plan.column_incidence - _REFERENCE_INCIDENCE)).astype(np.float32)
    intensity = np.exp(db * np.float32(np.log(10.0) / 10.0), dtype=np.float32)
    _add_point_targets(plan, intensity, (float(x.min()), float(x.max())), (float(y.min()), float(y.max())))
    return np.asarray(intensity, dtype=np.float32)


def _add_point_targets(
    plan: ProductPlan, intensity: F32, x_range: tuple[float, float], y_range: tuple[float, float]
) -> None:
    tx, ty, gain = plan.scene.point_targets(x_range, y_range)
    if tx.size == 0:
        return
    lat, lon = plan.scene.from_local(tx, ty)
    line, samp = rpc_project(plan.fields["rpc"], lat, lon, plan.scene.height(tx, ty))
    row, col = np.rint(line).astype(np.int64), np.rint(samp).astype(np.int64)
    naz, nrg = intensity.shape
    inside = (row >= 0) & (row < naz) & (col >= 0) & (col < nrg)
    row, col, power = row[inside], col[inside], (gain[inside] ** 2).astype(np.float32)
    intensity[row, col] += power
    for offset, level in _SIDELOBES:
        for dr, dc in ((offset, 0), (-offset, 0), (0, offset), (0, -offset)):
            r, c = row + dr, col + dc
            ok = (r >= 0) & (r < naz) & (c >= 0) & (c < nrg)
            intensity[r[ok], c[ok]] += power[ok] * np.float32(level)


def grd_amplitude(plan: ProductPlan, seed: int) -> NDArray[np.uint16]:
    """Return GRD digital numbers: ``DN**2 * calibration_factor = sigma0`` with multi-look speckle.

    Parameters
    ----------
    plan
        The planned product.
    seed
        Product seed: drives speckle and small temporal changes of the scene.

    Returns
    -------
    numpy.ndarray
        ``uint16`` array ``(azimuth, range)``, never 0 (0 reads as no-data in some tools).
    """
    rng = np.random.default_rng([seed, 2])
    looks = int(plan.fields["azimuth_looks"]) * int(plan.fields["range_looks"])
    intensity = _mean_intensity(plan, seed)
    if looks == 1:
        speckle = rng.standard_exponential(intensity.shape, dtype=np.float32)
    else:
        speckle = rng.standard_gamma(looks, intensity.shape, dtype=np.float32) / np.float32(looks)
    scale = np.float32(1.0 / float(plan.fields["calibration_factor"]))
    dn = np.sqrt(intensity * speckle * scale)
    return np.asarray(np.clip(np.rint(dn), 1, 65535), dtype=np.uint16)


def slc_samples(plan: ProductPlan, seed: int, dtype: str) -> tuple[NDArray[np.generic], NDArray[np.generic]]:
    """Return SLC ``(s_i, s_q)``: circular Gaussian speckle with ``CF * |DN|**2 = beta0``.

    Parameters
    ----------
    plan
        The planned product.
    seed
        Product seed for the speckle.
    dtype
        ``"int16"`` (rounded and clipped) or ``"float32"``.

    Returns
    -------
    tuple of numpy.ndarray
        In-phase and quadrature arrays ``(azimuth, range)``.
    """
    rng = np.random.default_rng([seed, 2])
    beta0 = _mean_intensity(plan, seed) / np.sin(np.radians(plan.column_incidence)).astype(np.float32)
    sigma = np.sqrt(beta0 * np.float32(0.5 / float(plan.fields["calibration_factor"])))
    i = rng.standard_normal(sigma.shape, dtype=np.float32) * sigma
    q = rng.standard_normal(sigma.shape, dtype=np.float32) * sigma
    if dtype == "int16":
        return (
            np.clip(np.rint(i), -32767, 32767).astype(np.int16),
            np.clip(np.rint(q), -32767, 32767).astype(np.int16),
        )
    return i, q


def quicklook(amplitude: NDArray[np.floating] | NDArray[np.integer]) -> NDArray[np.uint8]:
    """Return an 8-bit block-averaged preview, at most 512 px on a side, stretched to 3x the mean."""
    factor = max(1, int(np.ceil(max(amplitude.shape) / _QUICKLOOK_MAX)))
    rows, cols = amplitude.shape[0] // factor, amplitude.shape[1] // factor
    rows, cols = max(rows, 1), max(cols, 1)
    block = np.asarray(amplitude[: rows * factor, : cols * factor], dtype=np.float32)
    small = block.reshape(rows, block.shape[0] // rows, cols, block.shape[1] // cols).mean(axis=(1, 3))
    top = 3.0 * float(small.mean()) or 1.0
    return np.asarray(np.clip(small / top * 255.0, 0, 255), dtype=np.uint8)
