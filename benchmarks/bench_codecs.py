"""Codec benchmark: stored size, write time and read time of each Zarr codec on generated ICEYE samples.

Data (generated once with ``icecube_stac.testing``, kept in --workdir when given):

  GRD        one uint16 GRD of SIZE x SIZE DN (multi-look speckle over the generator's scene)
  GRD real   the same DN with a no-data margin of zeros as real GRDs have: a slanted swath edge on both
             sides (8-14 % of the columns) and wedges at the first and last lines
  SLC        the int16 ``s_i`` and ``s_q`` of one SLC of SIZE x SIZE/2 (circular Gaussian speckle)

Each codec writes the data as one Zarr v3 array of shape (1, azimuth, range) with the cube's chunks
(1, 2048, 2048) through zarr-python, as ``write_cube`` does (SLC: the two int16 parts as two arrays), then
reads it back whole; REPEATS interleaved rounds (default 5; every codec once per round), the output removed
and ``os.sync()`` called between runs (untimed). Times are medians, single process; the first codec of the list,
``none``, is the baseline (ratio 1.00). Codecs: none; zstd levels 1 and 3; Blosc LZ4 (levels 1, 5) and Blosc
zstd (level 1), each with byte shuffle and bit shuffle. ``write_cube``'s names: ``none``, ``zstd:1``,
``zstd:3``, ``lz4`` (= Blosc LZ4 level 5, byte shuffle), ``blosc-zstd`` (level 1, byte shuffle).

Run:  python benchmarks/bench_codecs.py [--size 4096] [--repeats 5] [--workdir DIR]
Takes about 3-4 minutes on 2 cores; needs ~200 MB of disk.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
CHUNKS = (1, 2048, 2048)


def codecs() -> dict[str, Callable[[], list[Any] | None]]:
    from zarr.codecs import BloscCodec, ZstdCodec

    table: dict[str, Callable[[], list[Any] | None]] = {"none": lambda: None}
    for level in (1, 3):
        table[f"zstd:{level}"] = lambda level=level: [ZstdCodec(level=level)]
    for cname, level in (("lz4", 1), ("lz4", 5), ("zstd", 1)):
        for shuffle in ("shuffle", "bitshuffle"):
            name = f"blosc-{cname}:{level} {'byte' if shuffle == 'shuffle' else 'bit'}-shuffle"
            table[name] = lambda c=cname, lv=level, s=shuffle: [BloscCodec(cname=c, clevel=lv, shuffle=s)]
    return table


def real_like(dn: np.ndarray) -> np.ndarray:
    """DN with ICEYE-like no-data margins: slanted swath edges left and right, wedges at the first/last lines."""
    out = dn.copy()
    naz, nrg = out.shape
    rows = np.arange(naz)[:, None] / naz
    cols = np.arange(nrg)[None, :] / nrg
    out[(cols < 0.08 + 0.06 * rows) | (cols > 0.90 - 0.04 * rows)] = 0
    out[(rows < 0.03 * (1 - cols)) | (rows > 1 - 0.03 * cols)] = 0
    return out


def generate(root: Path, size: int) -> dict[str, list[np.ndarray]]:
    import h5py
    import rasterio

    from icecube_stac.testing import ProductSpec, write_product

    data: dict[str, list[np.ndarray]] = {}
    start = time.perf_counter()
    for level, shape in (("GRD", (size, size)), ("SLC", (size, max(1, size // 2)))):
        folder = root / f"{level}-{size}"
        if not folder.is_dir():
            spec = ProductSpec(level=level, shape=shape, seed=7, acquisition_start=datetime(2024, 3, 1, 3, 41, 27))  # type: ignore[arg-type]
            write_product(spec, folder)
        raster = next(p for p in folder.iterdir() if p.suffix in (".tif", ".h5"))
        if level == "GRD":
            with rasterio.open(raster) as src:
                dn = src.read(1)
            data["GRD"] = [dn]
            data["GRD real"] = [real_like(dn)]
        else:
            with h5py.File(raster, "r") as h5:
                data["SLC"] = [h5["s_i"][()], h5["s_q"][()]]
    print(f"data ready in {time.perf_counter() - start:.1f} s: GRD {size}x{size} uint16, SLC {size}x{size // 2} int16")
    zeros = float(np.mean(data["GRD real"][0] == 0))
    print(f"GRD real: {zeros:.0%} of the pixels are no-data (DN 0)")
    return data


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure(
    parts: list[np.ndarray], make: Callable[[], list[Any] | None], out: Path
) -> tuple[float, float, int, float, float]:
    """Write and read back one codec: wall write s, wall read s, bytes stored, CPU write s, CPU read s."""
    import zarr

    shutil.rmtree(out, ignore_errors=True)
    os.sync()
    start, cpu = time.perf_counter(), time.process_time()
    group = zarr.open_group(out, mode="w", zarr_format=3)
    arrays = []
    for k, part in enumerate(parts):
        array = group.create_array(
            f"part{k}",
            shape=(1, *part.shape),
            chunks=tuple(min(c, n) for c, n in zip(CHUNKS, (1, *part.shape), strict=True)),  # clipped, as the cube's
            dtype=part.dtype,
            compressors=make(),
            fill_value=0,
        )
        array[0] = part
        arrays.append(array)
    write, write_cpu = time.perf_counter() - start, time.process_time() - cpu
    size = du(out)
    start, cpu = time.perf_counter(), time.process_time()
    for array, part in zip(arrays, parts, strict=True):
        back = array[0]
        assert np.array_equal(back, part), "round trip changed the samples"
    read, read_cpu = time.perf_counter() - start, time.process_time() - cpu
    shutil.rmtree(out, ignore_errors=True)
    return write, read, size, write_cpu, read_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="GRD SIZE x SIZE, SLC SIZE x SIZE/2 (default 4096)")
    parser.add_argument("--repeats", type=int, default=5, help="rounds (default 5, at least 5)")
    parser.add_argument("--workdir", type=Path, help="keep the generated products here (default: temporary)")
    args = parser.parse_args()
    if args.repeats < 5:
        parser.error("--repeats must be at least 5 (medians)")
    sys.path.insert(0, str(REPO))
    print(f"{os.cpu_count()} cores, load {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="icecube-bench-codecs-") as tmp:
        root = args.workdir.resolve() if args.workdir else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        data = generate(root, args.size)
        table = codecs()
        results: dict[tuple[str, str], list[tuple[float, float, int, float, float]]] = {}
        for r in range(args.repeats + 1):  # round 0 warms up
            for kind, parts in data.items():
                for name, make in table.items():
                    sample = measure(parts, make, root / "codec.zarr")
                    if r:
                        results.setdefault((kind, name), []).append(sample)
            load = "/".join(f"{x:.1f}" for x in os.getloadavg())
            print(f"  round {r}/{args.repeats} done (load {load})" if r else f"  warm-up done (load {load})")
        for kind, parts in data.items():
            raw = sum(p.nbytes for p in parts)
            base_w = statistics.median(s[0] for s in results[(kind, "none")])
            base_r = statistics.median(s[1] for s in results[(kind, "none")])
            base_wc = statistics.median(s[3] for s in results[(kind, "none")])
            header = ("codec", "stored MB", "size ratio", "write s", "write/none", "write CPU s", "CPU/none")
            rows = [(*header, "read s", "read/none", "read CPU s")]
            for name in table:
                samples = results[(kind, name)]
                w, rd, size, wc, rc = (statistics.median(s[i] for s in samples) for i in range(5))
                rows.append(
                    (
                        name,
                        f"{size / 1e6:.1f}",
                        f"{size / raw:.3f}",
                        f"{w:.3f}",
                        f"{w / base_w:.2f}x",
                        f"{wc:.3f}",
                        f"{wc / base_wc:.2f}x",
                        f"{rd:.3f}",
                        f"{rd / base_r:.2f}x",
                        f"{rc:.3f}",
                    )
                )
            widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
            print(f"\nGOAL 3: {kind}, {raw / 1e6:.0f} MB of samples, medians of {args.repeats} (baseline: none)")
            for row in rows:
                print(
                    "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
                )


if __name__ == "__main__":
    main()
