"""COG cube benchmark: ``icecube-stac cube`` on new-generation COG products against a rasterio + zarr floor script.

Generates N GRD (uint16, LZW, 512 px tiles, SIZE x SIZE) and N SLC (float32 amplitude + phase, uncompressed,
512 px tiles, SIZE x SIZE/2: azimuth x range) COG products with ``icecube_stac.testing.cog``, left-looking, over
one area on consecutive days (default 8 + 8 at SIZE 4096: 268 MB of GRD and 537 MB of SLC samples), indexes them
with ``icecube-stac index`` and writes one config per type; kept in ``--workdir`` between runs when given.
Generation and indexing are timed and kept out of every measurement.

For GRD and for SLC, after one untimed warm-up of each path, REPEATS rounds (default 5), interleaved
(cube, floor, read, cube, floor, read, ...), each a whole process:

cube    ``icecube-stac cube CONFIG -o OUT.zarr -q --overwrite``, default settings: start-up and imports, the
        catalog search, the graph, reading through the COG reader, the default codec (Blosc LZ4 bit-shuffle),
        the fsync'ed atomic write and the process's exit. The cube stores GRD as uint16 DN and SLC as complex64
        ``amplitude * exp(1j * phase)``, both in the cube orientation (azimuth, range).
floor   one sequential script (``floor()``): for each product in time order, for each chunk of the cube's chunk
        grid, the COG's internal 512 x 512 tiles covering it read one by one with rasterio (``src.read(window=)``),
        put in the cube orientation (the COG stores azimuth along columns, reversed for left-looking), SLC turned
        into complex64 ``amplitude * exp(1j * phase)`` (in complex64 arithmetic), and the whole chunk written
        uncompressed to Zarr v3 in the cube's dtype (GRD uint16, SLC complex64) and chunk shape; no fsync.
read    information only: the same products read whole with rasterio (``src.read()``), nothing written.

Every output is removed and ``os.sync()`` called before each run (untimed). CPU time (user + system) and peak
RSS are those of each process alone (GNU ``time``). Then the cube's stored arrays are compared with the floor's on
a sample of windows of every time step (GRD: equal; SLC: within 1e-6 of |value|, the cube computes in float64),
and its time order with the floor's. The load average is printed with every round.

Run:  python benchmarks/bench_cog_cube.py [--products 8] [--size 4096] [--repeats 5] [--workdir DIR]
                                          [--levels GRD SLC]
About 0.9 GB of products and 1.3 GB of outputs at a time; ~4 minutes on 2 cores with the defaults (+ 30 s
to generate the products the first time).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench_cube import cli_command, du, fresh, load, table, use_this_checkout  # same folder; shared helpers

# Only the standard library at module level: the floor subprocess imports no more than a plain script would.

LEVELS = ("GRD", "SLC")
DTYPE = {"GRD": "uint16", "SLC": "complex64"}
VARIABLE = {"GRD": "amplitude", "SLC": "slc"}
TILE = 512
FIRST_DAY = datetime(2025, 11, 10, 18, 20, 58)


def shape_of(level: str, size: int) -> tuple[int, int]:
    """(azimuth, range) of a product: GRD SIZE x SIZE, SLC SIZE x SIZE/2."""
    return (size, size) if level == "GRD" else (size, size // 2)


# --------------------------------------------------------------------------------------------------------
# The subprocess jobs
# --------------------------------------------------------------------------------------------------------


def _cube_window(src: Any, level: str, rows: tuple[int, int], cols: tuple[int, int], reversed_: bool) -> Any:
    """Cube window [rows, cols] (azimuth, range) of one COG, read tile by tile, in the cube's dtype."""
    import numpy as np
    from rasterio.windows import Window

    n_az = src.width  # the COG stores azimuth along its columns
    c0, c1 = (n_az - rows[1], n_az - rows[0]) if reversed_ else rows
    r0, r1 = cols
    bands = [1] if level == "GRD" else [1, 2]
    stored = np.empty((len(bands), r1 - r0, c1 - c0), dtype="uint16" if level == "GRD" else "float32")
    for r in range(r0, r1, TILE):
        for c in range(c0, c1, TILE):
            h, w = min(TILE, r1 - r), min(TILE, c1 - c)
            stored[:, r - r0 : r - r0 + h, c - c0 : c - c0 + w] = src.read(bands, window=Window(c, r, w, h))
    values = stored[0] if level == "GRD" else stored[0] * np.exp(np.complex64(1j) * stored[1])
    values = values.T
    return values[::-1] if reversed_ else values


def floor(job: dict[str, Any]) -> None:
    """Sequential floor: each cube chunk assembled from the COG tiles with rasterio, written raw to Zarr v3."""
    import numpy  # noqa: F401 - what the script needs, imported before the first read like a script would
    import rasterio
    import zarr

    level, rasters, (n_az, n_rg) = job["level"], job["rasters"], job["shape"]
    _, ca, cr = job["chunks"]
    group = zarr.open_group(job["out"], mode="w", zarr_format=3)
    array = group.create_array(
        VARIABLE[level],
        shape=(len(rasters), n_az, n_rg),
        chunks=(1, ca, cr),
        dtype=DTYPE[level],
        compressors=None,
        fill_value=0,
    )
    for t, path in enumerate(rasters):
        with rasterio.open(path) as src:
            for a in range(0, n_az, ca):
                for r in range(0, n_rg, cr):
                    rows, cols = (a, min(a + ca, n_az)), (r, min(r + cr, n_rg))
                    array[t, rows[0] : rows[1], cols[0] : cols[1]] = _cube_window(
                        src, level, rows, cols, job["reversed"]
                    )


def full_read(job: dict[str, Any]) -> None:
    """Information: every product read whole with rasterio, nothing written."""
    import rasterio

    for path in job["rasters"]:
        with rasterio.open(path) as src:
            src.read()


# --------------------------------------------------------------------------------------------------------
# Set-up
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stack:
    """One product type's products (in time order), its config and its (azimuth, range) shape."""

    level: str
    rasters: list[Path]
    config: Path
    shape: tuple[int, int]

    @property
    def nbytes(self) -> int:
        """Bytes of source samples (uint16 DN, or float32 amplitude + phase)."""
        return len(self.rasters) * self.shape[0] * self.shape[1] * (2 if self.level == "GRD" else 8)


def generate(root: Path, n: int, size: int, env: Mapping[str, str]) -> dict[str, Stack]:
    """Generate and index the stacks, or reuse those of an earlier run with the same parameters."""
    stamp = root / "cog_stacks.json"
    wanted = {"products": n, "size": size, "version": 1}
    if stamp.is_file() and json.loads(stamp.read_text(encoding="utf-8")).get("params") == wanted:
        saved = json.loads(stamp.read_text(encoding="utf-8"))["stacks"]
        print(f"reusing the {n} + {n} COG products of {root}")
        return {
            k: Stack(k, [Path(p) for p in v["rasters"]], Path(v["config"]), tuple(v["shape"])) for k, v in saved.items()
        }
    from icecube_stac.testing.cog import CogProductSpec, write_cog_product

    for name in ("cog_products", "cog_catalog"):
        shutil.rmtree(root / name, ignore_errors=True)
    start = time.perf_counter()
    stacks: dict[str, Stack] = {}
    for k, level in enumerate(LEVELS):
        rasters = []
        for i in range(n):
            spec = CogProductSpec(
                level=level,  # type: ignore[arg-type]
                image_id=7_100_000 + 10_000 * k + i,
                acquisition_start=FIRST_DAY + timedelta(days=i, minutes=3 * k),
                shape=shape_of(level, size),
                seed=100 * k + i,
            )
            rasters.append(write_cog_product(spec, root / "cog_products" / f"{level}_{i:02d}").tif.resolve())
        config = root / f"cog_config_{level}.json"
        body = {
            "start_date": (FIRST_DAY - timedelta(days=1)).date().isoformat(),
            "end_date": (FIRST_DAY + timedelta(days=n + 1)).date().isoformat(),
            "product_type": level,
            "catalog": str(root / "cog_catalog"),
        }
        config.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        stacks[level] = Stack(level, rasters, config, shape_of(level, size))
    on_disk = sum(p.stat().st_size for s in stacks.values() for p in s.rasters) / 1e6
    print(f"generated {2 * n} COG products in {time.perf_counter() - start:.1f} s: {on_disk:.0f} MB")
    start = time.perf_counter()
    index = [*cli_command(), "index", str(root / "cog_products"), "--catalog", str(root / "cog_catalog")]
    subprocess.run([*index, "--absolute-hrefs", "-q"], env=env, check=True, capture_output=True)
    print(f"indexed them (icecube-stac index) in {time.perf_counter() - start:.1f} s")
    saved = {
        k: {"rasters": [str(p) for p in s.rasters], "config": str(s.config), "shape": s.shape}
        for k, s in stacks.items()
    }
    stamp.write_text(json.dumps({"params": wanted, "stacks": saved}), encoding="utf-8")
    return stacks


@dataclass(frozen=True)
class Run:
    """One whole process: wall seconds, CPU seconds (user + system), peak RSS (bytes)."""

    wall: float
    cpu: float
    rss: int


def run(command: Sequence[str], env: Mapping[str, str], work: Path) -> Run:
    """Run a whole process under GNU ``time``, which reports its own CPU time and peak RSS.

    Not ``os.wait4`` here: a child spawned from this (large) process inherits its RSS high-water mark at exec.
    """
    usage = work / "usage.txt"
    start = time.perf_counter()
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%U %S %M", "-o", str(usage), *command], env=env, capture_output=True
    )
    wall = time.perf_counter() - start
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout!r}{result.stderr!r}")
    user, system, kib = usage.read_text(encoding="ascii").split()[-3:]
    return Run(wall, float(user) + float(system), int(kib) * 1024)


# --------------------------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------------------------


def chunks_of(cube: Path, level: str) -> list[int]:
    """The chunk shape of the cube's data array (from zarr.json)."""
    meta = json.loads((cube / VARIABLE[level] / "zarr.json").read_text(encoding="utf-8"))
    return list(meta["chunk_grid"]["configuration"]["chunk_shape"])


def storage(cube: Path, level: str) -> str:
    """Dtype, fill value, chunks and codecs of the cube's data array (from zarr.json)."""
    meta = json.loads((cube / VARIABLE[level] / "zarr.json").read_text(encoding="utf-8"))
    codecs = " -> ".join(
        c["name"] + "(" + ",".join(f"{k}={v}" for k, v in sorted(c.get("configuration", {}).items())) + ")"
        for c in meta["codecs"]
    )
    chunks = tuple(meta["chunk_grid"]["configuration"]["chunk_shape"])
    return f"{VARIABLE[level]}: {meta['data_type']}, fill {meta['fill_value']!r}, chunks {chunks}, {codecs}"


def verify(stack: Stack, cube: Path, floor_out: Path, windows: int) -> str:
    """Compare the cube's stored array with the floor's on ``windows`` random 256 x 256 windows per time step."""
    import numpy as np
    import zarr

    def array(store: Path, name: str) -> zarr.Array[Any]:
        found = zarr.open_group(str(store), mode="r")[name]
        assert isinstance(found, zarr.Array), f"{store}/{name} is not an array"
        return found

    hrefs = [Path(str(h)).resolve() for h in np.asarray(array(cube, "data_href")[:])]
    assert hrefs == stack.rasters, "the cube's time order differs from the floor's"
    ours, theirs = array(cube, VARIABLE[stack.level]), array(floor_out, VARIABLE[stack.level])
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, (ours.shape, ours.dtype, theirs.dtype)
    rng = np.random.default_rng(0)
    n_az, n_rg = stack.shape
    worst, pixels = 0.0, 0
    for t in range(len(stack.rasters)):
        for w in range(windows):
            a = 0 if w == 0 else int(rng.integers(0, n_az - 256))  # window 0: the corner, where flips show
            r = 0 if w == 0 else int(rng.integers(0, n_rg - 256))
            x, y = np.asarray(ours[t, a : a + 256, r : r + 256]), np.asarray(theirs[t, a : a + 256, r : r + 256])
            pixels += x.size
            if stack.level == "GRD":
                assert np.array_equal(x, y), f"GRD time {t}, window ({a}, {r}): the cube differs from the floor"
                continue
            error = np.abs(x - y) / np.maximum(np.abs(y), np.float32(1e-30))
            worst = max(worst, float(error.max()))
            assert worst <= 1e-6, f"SLC time {t}, window ({a}, {r}): relative difference {worst:.2e}"
    how = "equal" if stack.level == "GRD" else f"max relative difference {worst:.1e}"
    return f"{stack.level}: {pixels:,} sampled pixels ({windows} windows x {len(hrefs)} times) {how}; same order"


@dataclass
class Result:
    """The runs of one stack and what was checked."""

    stack: Stack
    runs: dict[str, list[Run]]
    sizes: dict[str, int]
    storage: str
    check: str


def measure(stack: Stack, work: Path, repeats: int, windows: int, env: Mapping[str, str]) -> Result:
    """Warm up each path once, then ``repeats`` interleaved rounds of whole processes."""
    level = stack.level
    outs = {"cube": work / f"cog_cube_{level}.zarr", "floor": work / f"cog_floor_{level}.zarr"}
    commands = {"cube": [*cli_command(), "cube", str(stack.config), "-o", str(outs["cube"]), "-q", "--overwrite"]}
    fresh(outs["cube"])
    run(commands["cube"], env, work)  # warm-up; its chunk shape is the floor's
    job = {
        "level": level,
        "rasters": [str(p) for p in stack.rasters],
        "out": str(outs["floor"]),
        "shape": list(stack.shape),
        "chunks": chunks_of(outs["cube"], level),
        "reversed": True,  # left-looking (the generator's default): azimuth runs against the COG's columns
    }
    job_file = work / f"cog_floor_{level}.json"
    job_file.write_text(json.dumps(job), encoding="utf-8")
    me = [sys.executable, str(Path(__file__).resolve()), "--job"]
    commands["floor"] = [*me, "floor", str(job_file)]
    commands["read"] = [*me, "full_read", str(job_file)]
    for name in ("floor", "read"):
        fresh(outs["floor"])
        run(commands[name], env, work)  # warm-up
    runs: dict[str, list[Run]] = {name: [] for name in commands}
    for r in range(repeats):
        for name, command in commands.items():
            if name in outs:
                fresh(outs[name])
            else:
                os.sync()
            runs[name].append(run(command, env, work))
        row = "  ".join(f"{name} {runs[name][-1].wall:.2f} s" for name in commands)
        print(f"  {level} round {r + 1}/{repeats}: {row}  ({load()})")
    sizes = {name: du(out) for name, out in outs.items()}
    result = Result(
        stack, runs, sizes, storage(outs["cube"], level), verify(stack, outs["cube"], outs["floor"], windows)
    )
    for out in outs.values():
        fresh(out)
    return result


def report(results: Sequence[Result], repeats: int) -> None:
    """Print the medians table, every run, what the cube stores and the checks."""
    med = statistics.median
    header = "type,products,source MB,cube s,floor s,cube/floor,read s,cube MB/s,cube CPU s,floor CPU s"
    rows: list[tuple[str, ...]] = [(*header.split(","), "cube RSS MB", "floor RSS MB", "cube disk MB", "floor disk MB")]
    for res in results:
        c, f, rd = (med(x.wall for x in res.runs[k]) for k in ("cube", "floor", "read"))
        mb = res.stack.nbytes / 1e6
        rows.append(
            (
                res.stack.level,
                f"{len(res.stack.rasters)} x {res.stack.shape[0]}x{res.stack.shape[1]}",
                f"{mb:.0f}",
                f"{c:.2f}",
                f"{f:.2f}",
                f"{c / f:.2f}x",
                f"{rd:.2f}",
                f"{mb / c:.0f}",
                *(f"{med(x.cpu for x in res.runs[k]):.2f}" for k in ("cube", "floor")),
                *(f"{med(x.rss for x in res.runs[k]) / 1e6:.0f}" for k in ("cube", "floor")),
                f"{res.sizes['cube'] / 1e6:.0f}",
                f"{res.sizes['floor'] / 1e6:.0f}",
            )
        )
    table(f"COG cube: whole processes, medians of {repeats} interleaved runs (goal: cube/floor <= 1.00)", rows)
    for res in results:
        for name, values in res.runs.items():
            print(f"  {res.stack.level} {name:5s} all runs: [{', '.join(f'{x.wall:.2f}' for x in values)}]")
    print("\nwhat the cube stores (zarr.json) and the comparison with the floor")
    for res in results:
        print(f"  {res.stack.level} {res.storage}\n  check {res.check}")


def main() -> None:
    """Parse the command line; generate (or reuse) the stacks; measure; report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--products", type=int, default=8, help="products per type (default 8)")
    parser.add_argument("--size", type=int, default=4096, help="GRD SIZE x SIZE, SLC SIZE x SIZE/2 (default 4096)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each path (default 5, at least 5)")
    parser.add_argument("--windows", type=int, default=8, help="checked windows per time step (default 8)")
    parser.add_argument("--workdir", type=Path, help="keep products here between runs (default: a temporary folder)")
    parser.add_argument("--levels", nargs="+", choices=LEVELS, default=list(LEVELS))
    parser.add_argument("--job", nargs=2, metavar=("FUNC", "JOB"), help=argparse.SUPPRESS)  # subprocesses
    args = parser.parse_args()
    if args.job:
        func, path = args.job
        {"floor": floor, "full_read": full_read}[func](json.loads(Path(path).read_text(encoding="utf-8")))
        return
    if args.repeats < 5:
        parser.error("--repeats must be at least 5 (medians)")
    if args.size < 1024 or args.size % 1024:
        parser.error("--size must be a multiple of 1024 (whole 512 px tiles for GRD and SLC)")
    env = use_this_checkout()
    print(f"{os.cpu_count()} cores, {load()}")
    with tempfile.TemporaryDirectory(prefix="icecube-bench-cog-cube-") as tmp:
        root = args.workdir.resolve() if args.workdir else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        stacks = generate(root, args.products, args.size, env)
        results = []
        for level in args.levels:
            print(f"{level}:")
            results.append(measure(stacks[level], root, args.repeats, args.windows, env))
        report(results, args.repeats)
    print(f"\n{load()} at the end")


if __name__ == "__main__":
    main()
