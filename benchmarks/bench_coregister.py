"""Coregistration benchmark: throughput (Mpixel/s) against a plain numpy/scipy script, and the accuracy table.

A stack of generated GRD products (``icecube_stac.testing.warped``: one ground truth, known shifts and an
affine warp, independent speckle) is coregistered with :func:`icecube_stac.coregister.coregister_cube`
(windows estimated, every slice resampled and computed). The baseline, in the same run and interleaved,
reads each whole slice into memory with rasterio, runs scikit-image ``phase_cross_correlation`` (two passes,
the same windows and upsampling) and ``scipy.ndimage.map_coordinates`` (cubic) of each whole slice with
the fitted affine model, in numpy, with one BLAS thread as ours. Figures: medians of ``--runs`` interleaved
runs; Mpixel/s = output pixels / s.

    python benchmarks/bench_coregister.py [--size 1024] [--slices 5] [--runs 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from scipy.ndimage import map_coordinates
from skimage.registration import phase_cross_correlation
from threadpoolctl import threadpool_limits

from icecube_stac import build_cube, item_from_product
from icecube_stac.coregister import CoregisterOptions, coregister_cube
from icecube_stac.coregister._estimate import window_origins
from icecube_stac.coregister._model import evaluate, fit_model
from icecube_stac.testing import ProductSpec
from icecube_stac.testing.warped import Warp, true_offsets, write_warped_stack

__all__: list[str] = []


def _warps(n: int, size: int) -> list[Warp]:
    rng = np.random.default_rng(5)
    warps = [Warp()]
    for k in range(1, n):
        shift = (float(rng.uniform(-3, 3)), float(rng.uniform(-3, 3)))
        warps.append(Warp.rotation(shift, 0.1, 1.001, (size / 2, size / 2)) if k % 2 == 0 else Warp(shift))
    return warps


def _baseline(paths: list[Path], options: CoregisterOptions) -> np.ndarray[Any, Any]:
    with rasterio.open(paths[0]) as src:
        ref = src.read(1).astype(np.float64)
    side, origins = window_origins(ref.shape, options.window, options.grid)
    centres = np.asarray(origins + (side - 1) / 2.0, dtype=np.float64)
    out = [ref.astype(np.float32)]
    rr, cc = np.meshgrid(np.arange(ref.shape[0], dtype=float), np.arange(ref.shape[1], dtype=float), indexing="ij")
    for path in paths[1:]:
        with rasterio.open(path) as src:
            mov = src.read(1).astype(np.float64)
        offsets = []
        for r, c in origins:
            a = ref[r : r + side, c : c + side]
            b = mov[r : r + side, c : c + side]
            s, _, _ = phase_cross_correlation(a - a.mean(), b - b.mean(), upsample_factor=4, normalization=None)  # type: ignore[no-untyped-call]
            k = np.rint(-s).astype(int)
            b = mov[r + k[0] : r + k[0] + side, c + k[1] : c + k[1] + side]
            s2, _, _ = phase_cross_correlation(  # type: ignore[no-untyped-call]
                a - a.mean(), b - b.mean(), upsample_factor=options.upsample, normalization=None
            )
            offsets.append(k - s2)
        fit = fit_model(centres, np.array(offsets, dtype=float), ref.shape, "affine", 1.0)
        assert fit is not None
        d_az, d_rg = evaluate(fit.coefficients, "affine", ref.shape, rr, cc)
        out.append(map_coordinates(mov, [rr + d_az, cc + d_rg], order=3, cval=np.nan).astype(np.float32))
    return np.stack(out)


def _ours(items: list[Any], options: CoregisterOptions) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cube = coregister_cube(build_cube(items), options)
    cube["amplitude"].values  # noqa: B018 - compute every resampled pixel
    return cube


def main() -> None:
    """Run the benchmark and print the two tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--slices", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    size = args.size
    warps = _warps(args.slices, size)
    base = ProductSpec(shape=(size, size))
    specs = [
        dataclasses.replace(
            base, seed=k + 1, image_id=300_000 + k, acquisition_start=base.acquisition_start + timedelta(days=k)
        )
        for k in range(args.slices)
    ]
    options = CoregisterOptions(enabled=True, model="affine", grid=(8, 8))
    with tempfile.TemporaryDirectory() as folder:
        products = write_warped_stack(specs, warps, folder)
        items = [item_from_product(p.raster) for p in products]
        paths = [p.raster for p in products]
        ours, plain, cube = [], [], None
        for _ in range(args.runs):
            start = time.perf_counter()
            cube = _ours(items, options)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            with threadpool_limits(limits=1, user_api="blas"):  # as coregister_cube does (tiny matrix products)
                _baseline(paths, options)
            plain.append(time.perf_counter() - start)
    pixels = args.slices * size * size / 1e6
    t_ours, t_plain = statistics.median(ours), statistics.median(plain)
    print(f"stack: {args.slices} GRD slices of {size} x {size}, affine model, 8 x 8 windows of 64 px, cubic")
    print("| | median s | Mpixel/s |\n|---|---|---|")
    print(f"| icecube-stac coregister_cube (computed) | {t_ours:.2f} | {pixels / t_ours:.1f} |")
    print(f"| plain numpy/scipy/skimage script | {t_plain:.2f} | {pixels / t_plain:.1f} |")
    print(f"| ratio (ours / baseline time) | {t_ours / t_plain:.2f} | |")
    print(
        "runs: ours " + " / ".join(f"{t:.2f}" for t in ours) + " s; baseline " + " / ".join(f"{t:.2f}" for t in plain)
    )
    assert cube is not None
    rr, cc = np.meshgrid(np.arange(16.0, size - 16, 8), np.arange(16.0, size - 16, 8), indexing="ij")
    print("\n| slice | true offset at centre (az, rg) | fitted (az, rg) | RMS error px | windows | residual px |")
    print("|---|---|---|---|---|---|")
    for k in range(1, args.slices):
        coef = cube["coreg_coefficients"].values[k]
        d_az, d_rg = evaluate(coef, "affine", (size, size), rr, cc)
        t_az, t_rg = true_offsets(warps[k], rr, cc)
        centre = true_offsets(warps[k], np.array([(size - 1) / 2]), np.array([(size - 1) / 2]))
        rms = float(np.sqrt(np.mean((d_az - t_az) ** 2 + (d_rg - t_rg) ** 2)))
        print(
            f"| {k} | {centre[0][0]:+.3f}, {centre[1][0]:+.3f} | {coef[0][0]:+.3f}, {coef[1][0]:+.3f} | {rms:.4f} "
            f"| {int(cube['coreg_windows'].values[k])} | {float(cube['coreg_residual'].values[k]):.3f} |"
        )


if __name__ == "__main__":
    main()
