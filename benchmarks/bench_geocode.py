"""Geocoding benchmark: the lazy map-grid cube against ``rasterio.warp.reproject`` of the same products, same run.

Generates N legacy GRD products (uint16 GeoTIFF, SIZE x SIZE, stripmap 2.5 m, slightly shifted footprints over
one area; kept in --workdir between runs when given) and their STAC items. Then REPEATS interleaved rounds
(ours, baseline, ours, baseline, ...), after one untimed warm-up of each:

ours      ``geocode_cube(items, GeocodeOptions(crs=UTM, resolution=2.5))`` and ``.values`` of its variable: the
          grid choice, each product's RPC read from its header, the source windows of every 2048 x 2048 block,
          then the dask graph computed with the default threaded scheduler (every task opens its product,
          reads its window, masks DN 0 and warps it with GDAL)
baseline  for each product in time order: rasterio band 1 read whole as float32 and one
          ``rasterio.warp.reproject(..., rpcs=src.rpcs, RPC_HEIGHT=<average scene height>, src_nodata=0,
          num_threads=2)`` onto exactly the same grid (transform, shape, CRS) into one preallocated stack:
          what a user would write by hand with the same library, given both cores

Both use bilinear resampling and GDAL's default approximate transformer (0.125 px). The outputs are compared
after the rounds (footprint masks and the median absolute difference of the common pixels). The load average
is printed with every round; compare the medians and the ratio of the same run.

Run:  python benchmarks/bench_geocode.py [--products 4] [--size 2048] [--repeats 5] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import rasterio
import rioxarray  # noqa: F401 - ds.rio
from rasterio.enums import Resampling
from rasterio.warp import reproject

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from icecube_stac.geocode import GeocodeOptions, geocode_cube
from icecube_stac.stac import item_from_product
from icecube_stac.testing import ProductSpec, write_product


def products(folder: Path, count: int, size: int) -> list[pystac.Item]:
    base = ProductSpec(shape=(size, size), xml=True, quicklook=False)
    items = []
    for k in range(count):
        spec = replace(
            base,
            image_id=500000 + k,
            acquisition_start=datetime(2024, 3, 1, 3, 41, 27) + timedelta(days=3 * k),
            center_lat=16.32 + 0.002 * (k % 3),
            center_lon=102.61 + 0.002 * (k // 3),
            seed=k,
        )
        target = folder / f"p{k}"
        tif = next(target.glob("*.tif"), None) if target.is_dir() else None
        if tif is None:
            tif = write_product(spec, target).raster
        items.append(item_from_product(tif))
    return items


def ours(items: list[pystac.Item], options: GeocodeOptions) -> tuple[np.ndarray[Any, Any], Any]:
    ds = geocode_cube(items, options)
    return ds["amplitude"].values, ds


def baseline(items: list[pystac.Item], grid: Any) -> np.ndarray[Any, Any]:
    transform, crs, (height, width) = grid
    out = np.full((len(items), height, width), np.nan, np.float32)
    for k, item in enumerate(items):
        with rasterio.open(item.assets["data"].href) as src:
            band = src.read(1).astype(np.float32)
            rpcs = src.rpcs
        reproject(
            band,
            out[k],
            rpcs=rpcs,
            src_crs="EPSG:4326",
            src_nodata=0,
            dst_transform=transform,
            dst_crs=crs,
            dst_nodata=np.nan,
            resampling=Resampling.bilinear,
            num_threads=2,
            RPC_HEIGHT=float(item.properties["iceye:average_scene_height"]),
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=4)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    folder = args.workdir or Path(tempfile.mkdtemp(prefix="bench-geocode-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"icecube_stac from {Path(__file__).resolve().parents[1]}; products in {folder}")
    start = time.perf_counter()
    items = products(folder, args.products, args.size)
    print(f"{len(items)} GRD products of {args.size} x {args.size} ready in {time.perf_counter() - start:.1f} s")
    options = GeocodeOptions(crs="EPSG:32648", resolution=(2.5, 2.5))
    cube, ds = ours(items, options)  # warm-up (and the grid both sides use)
    grid = (ds.rio.transform(), ds.rio.crs, (ds.sizes["y"], ds.sizes["x"]))
    reference = baseline(items, grid)  # warm-up
    mpix = cube.size / 1e6
    print(f"grid {ds.rio.crs} {ds.sizes['x']} x {ds.sizes['y']} px x {ds.sizes['time']} steps ({mpix:.1f} Mpixel)")
    times: dict[str, list[float]] = {"ours": [], "baseline": []}
    for round_ in range(args.repeats):
        for name in ("ours", "baseline"):
            t0 = time.perf_counter()
            if name == "ours":
                ours(items, options)
            else:
                baseline(items, grid)
            times[name].append(time.perf_counter() - t0)
        load = os.getloadavg()[0]
        last = {name: values[-1] for name, values in times.items()}
        print(f"round {round_ + 1}: ours {last['ours']:.2f} s, baseline {last['baseline']:.2f} s (load {load:.1f})")
    same_mask = float((np.isfinite(cube) == np.isfinite(reference)).mean())
    both = np.isfinite(cube) & np.isfinite(reference)
    diff = float(np.median(np.abs(cube[both] - reference[both])))
    level = float(np.median(reference[both]))
    med = {name: statistics.median(values) for name, values in times.items()}
    print()
    print("| path | median s | Mpixel/s |")
    print("|---|---|---|")
    for name in ("ours", "baseline"):
        print(f"| {name} | {med[name]:.2f} | {mpix / med[name]:.1f} |")
    print(f"| ratio ours / baseline | **{med['ours'] / med['baseline']:.2f}x** (goal <= 1.2x) | |")
    print(f"footprints equal on {same_mask:.2%} of the pixels; median |ours - baseline| {diff:.2f} DN", end="")
    print(f" (median value {level:.0f} DN)")


if __name__ == "__main__":
    main()
