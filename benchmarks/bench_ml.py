"""Patches per second through icecube_stac.ml against reading the same patches straight from Zarr.

    python benchmarks/bench_ml.py [--products 6] [--size 2048] [--patch 256] [--runs 5] [--keep DIR]

Builds a labelled GRD cube (generated products, icecube labels JSON with boxes, chunks of the patch size) and
writes it to Zarr (not timed). Then, interleaved run by run (medians of ``--runs``):

* ``iterable``: ``PatchIterableDataset`` (amplitude channel, one block read per chunk) through a
  ``DataLoader(batch_size=None, num_workers=0)``: float32 image and int64 label tensors;
* ``map``: ``PatchDataset`` (one window read per patch), same loader;
* baseline ``zarr``: for every same patch, ``group["amplitude"][t, r:r+p, c:c+p]`` cast to float32 with DN 0
  set to NaN and ``group["labels"][...]`` cast to int64, with zarr-python alone: the floor of any reader;
* ``iterable, 2 workers``: the iterable dataset with ``num_workers=2`` and ``batch_size=8``, and the peak
  memory of the process tree during that run (main + workers, proportional set size, so that pages the forked
  workers share are counted once; sampled every 5 ms with psutil).

Ratios are patches/s over the baseline's (goal >= 0.8).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import torch
import zarr
from torch.utils.data import DataLoader

from icecube_stac import build_cube, write_cube
from icecube_stac.labels import attach_labels, read_labels
from icecube_stac.ml import PatchDataset, PatchIterableDataset, PatchSpec
from icecube_stac.stac import item_from_product
from icecube_stac.testing import demo_specs, write_product


def _cube(folder: Path, products: int, size: int, patch: int) -> Path:
    target = folder / "cube.zarr"
    if target.exists():
        return target
    made = [write_product(s, folder / "data" / str(s.image_id)) for s in demo_specs(products, 0, shape=(size, size))]
    rng = np.random.default_rng(0)
    entries = []
    for p in made:
        boxes = []
        for _ in range(50):
            x, y = (int(v) for v in rng.integers(0, size - 40, 2))
            boxes.append(
                {"class": f"c{int(rng.integers(4))}", "bbox": {"xmin": x, "ymin": y, "xmax": x + 39, "ymax": y + 19}}
            )
        entries.append({"product_file": p.raster.name, "labels": {"objects": boxes}})
    (folder / "labels.json").write_text(json.dumps(entries))
    ds = build_cube([item_from_product(p.raster) for p in made], chunks={"azimuth": patch, "range": patch})
    return write_cube(attach_labels(ds, read_labels(folder / "labels.json")), target, overwrite=True)


def _through(dataset: Any, workers: int = 0) -> int:
    # One patch at a time in-process (the dataset's own throughput, as the zarr floor reads them); batches of 8
    # with workers, so that each worker hands over whole batches (one shared-memory transfer per batch).
    n = 0
    for _images, labels in DataLoader(dataset, batch_size=8 if workers else None, num_workers=workers):
        n += int(labels.shape[0]) if workers else int(labels.ndim == 2)
    return n


def _zarr_floor(path: Path, index: np.ndarray, patch: int) -> int:
    group = zarr.open_group(str(path), mode="r")
    amplitude, labels = group["amplitude"], group["labels"]
    n = 0
    for t, r, c in index:
        dn = amplitude[t, r : r + patch, c : c + patch]
        image = dn.astype(np.float32)
        image[dn == 0] = np.nan
        label = labels[t, r : r + patch, c : c + patch].astype(np.int64)
        n += int(image.shape[0] > 0 and label.shape[0] > 0)
    return n


def _peak_rss(run: Callable[[], int]) -> tuple[int, float, float]:
    """Run, sampling the memory of this process and its children; return (result, seconds, peak MiB)."""
    me, peak, done = psutil.Process(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                # PSS: pages shared by the forked workers (torch, numpy) counted once, split between them.
                total = sum(p.memory_full_info().pss for p in (me, *me.children(recursive=True)))
            except psutil.Error:
                continue
            peak[0] = max(peak[0], total)
            time.sleep(0.005)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    done.set()
    thread.join()
    return result, seconds, peak[0] / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=6)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--patch", type=int, default=256)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="reuse/keep the generated cube in this folder")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as in DataLoader workers; torch's thread pool only stacks batches here
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = _cube(folder, args.products, args.size, args.patch)
        spec = PatchSpec(size=(args.patch, args.patch), labelled_only=False)
        iterable, mapped = PatchIterableDataset(path, spec), PatchDataset(path, spec)
        index = iterable.index
        n = len(index)
        columns: dict[str, list[float]] = {"iterable": [], "map": [], "zarr": [], "iterable, 2 workers": []}
        peaks: list[float] = []
        for _ in range(args.runs):
            for name, run in (
                ("zarr", lambda: _zarr_floor(path, index, args.patch)),
                ("iterable", lambda: _through(iterable)),
                ("map", lambda: _through(mapped)),
            ):
                started = time.perf_counter()
                assert run() == n
                columns[name].append(n / (time.perf_counter() - started))
            count, seconds, peak = _peak_rss(lambda: _through(iterable, workers=2))
            assert count == n
            columns["iterable, 2 workers"].append(n / seconds)
            peaks.append(peak)
        floor = statistics.median(columns["zarr"])
        print(f"{n} patches of {args.patch}x{args.patch} from {args.products} GRD products of {args.size}x{args.size}")
        print(f"{'path':<22}{'patches/s':>12}{'x zarr':>9}")
        for name, values in columns.items():
            rate = statistics.median(values)
            print(f"{name:<22}{rate:>12.1f}{rate / floor:>9.2f}")
        print(f"peak PSS with 2 workers (process tree): {statistics.median(peaks):.0f} MiB (max {max(peaks):.0f})")


if __name__ == "__main__":
    main()
