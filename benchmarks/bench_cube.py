"""End-to-end cube benchmark: ``icecube-stac cube`` to Zarr against a raw rasterio/h5py + zarr floor.

Generates N GRD (uint16 GeoTIFF) and N SLC (int16 HDF5) products of SIZE x SIZE pixels once (default 12 +
12 of 2048 x 2048; the generation and indexing times are printed and kept out of every measurement),
indexes them into a catalog and writes one config per product type (dates covering every product). Then,
for GRD and for SLC, after one untimed warm-up of each path, REPEATS rounds (default 3) of, interleaved:

  cube CLI      ``icecube-stac cube CONFIG --catalog CAT -o OUT.zarr -q --overwrite`` as a subprocess: the
                real user path, i.e. Python start-up and imports, the catalog search, the dask graph,
                reading, conversion, compression and the atomic (fsync'ed) write
  floor CLI     a subprocess running this file's ``floor()``: for each product in time order, read the whole
                raster (rasterio band 1 -> float32 for GRD; h5py ``s_i``/``s_q`` -> complex64 for SLC) and
                assign it to one zarr array of shape (time, azimuth, range) created with the chunk shape,
                zarr format, serializer, compressors and fill value read from the cube the warm-up wrote
                (zarr v3, bytes + zstd level 0 here); sequential, one thread, no fsync
  cube in-proc  ``load_cube(load_config(CONFIG)) + write_cube(...)`` in this process: the library without
                interpreter start-up, imports and the one-off DuckDB client (its extensions are loaded once
                per process, by the warm-up)
  floor in-proc ``floor()`` in this process

Every output folder is removed and ``os.sync()`` called before each run (untimed), so no run pays for the
previous run's write-back. It prints a table of medians and ratios (cube / floor; the goal is <= 1.3x), the
throughput in MB/s of uncompressed cube data, the interpreter start-up of both paths, and checks that the
cube and the floor hold identical values (``np.array_equal`` on the first, middle and last time steps) in
the same time order.

Both paths import ``icecube_stac`` from the checkout holding this file (``PYTHONPATH``), whatever copy an
editable install points at; the first line printed says which.

Run:  python benchmarks/bench_cube.py [--products 12] [--size 2048] [--repeats 3] [--workdir DIR]
Takes about 3-4 minutes on 2 cores (about 300 MB of products and 300 MB of Zarr in a temporary folder).
Other processes on the machine change the timings: the medians and same-run ratios are what to compare.
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

# Only the standard library at module level: the floor subprocess runs this file and must import no more than
# a straightforward script would (numpy, rasterio or h5py, zarr).

Level = Literal["GRD", "SLC"]
LEVELS: tuple[Level, ...] = ("GRD", "SLC")
VARIABLES = {"GRD": "amplitude", "SLC": "slc"}
DTYPES = {"GRD": "float32", "SLC": "complex64"}
ITEMSIZE = {"GRD": 4, "SLC": 8}
FIRST_ACQUISITION = datetime(2024, 3, 1, 3, 41, 27, 518306)
REPO = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------------------------------------
# The floor: what a straightforward script does with the same pixels
# --------------------------------------------------------------------------------------------------------


def _fill_value(value: Any, dtype: str) -> Any:
    """Turn a zarr.json ``fill_value`` into a scalar zarr accepts (``"NaN"``, ``[re, im]``)."""
    if isinstance(value, list):
        return complex(float(value[0]), float(value[1]))
    return float(value) if dtype.startswith("float") else value


def floor(job: dict[str, Any]) -> None:
    """Read every raster of ``job["rasters"]`` whole and write it as one time step of one zarr array."""
    import h5py
    import numpy as np
    import rasterio
    import zarr

    level, rasters, dtype = job["level"], job["rasters"], DTYPES[job["level"]]
    codecs = job["codecs"]
    array = zarr.create_array(
        job["out"],
        shape=(len(rasters), *job["shape"]),
        chunks=tuple(job["chunks"]),
        dtype=dtype,
        zarr_format=3,
        serializer=codecs[0],
        compressors=codecs[1:],
        fill_value=_fill_value(job["fill_value"], dtype),
    )
    for t, path in enumerate(rasters):
        if level == "GRD":
            with rasterio.open(path) as src:
                pixels = src.read(1).astype(np.float32)
        else:
            with h5py.File(path, "r") as h5:
                pixels = np.empty(tuple(job["shape"]), dtype=np.complex64)
                pixels.real = h5["s_i"][()]
                pixels.imag = h5["s_q"][()]
        array[t] = pixels


# --------------------------------------------------------------------------------------------------------
# Set-up
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stack:
    level: str
    rasters: list[Path]  # in acquisition (= cube time) order
    config: Path
    shape: tuple[int, int]

    @property
    def nbytes(self) -> int:
        return len(self.rasters) * self.shape[0] * self.shape[1] * ITEMSIZE[self.level]


def generate(root: Path, n: int, size: int) -> dict[str, Stack]:
    from icecube_stac.catalog import index
    from icecube_stac.testing import ProductSpec, write_stack

    specs = [
        ProductSpec(
            level=level,
            image_id=3_000_000 + 10_000 * k + 100 * i,
            acquisition_start=FIRST_ACQUISITION + timedelta(days=2 * i, hours=12 * k, minutes=7 * i),
            shape=(size, size),
            incidence_center=18.0 + (i % 12),
            orbit_direction="ASCENDING" if k else "DESCENDING",
            slc_dtype="int16",
            seed=1000 * k + i,
        )
        for k, level in enumerate(LEVELS)
        for i in range(n)
    ]
    start = time.perf_counter()
    products = write_stack(specs, root / "products")
    seconds = time.perf_counter() - start
    on_disk = sum(p.raster.stat().st_size for p in products) / 1e6
    print(f"generated {len(products)} products ({n} GRD + {n} SLC, {size}x{size}) in {seconds:.1f} s: {on_disk:.0f} MB")
    start = time.perf_counter()
    report = index([root / "products"], root / "catalog")
    assert report.ok and len(report.added) == len(products), report.summary()
    print(f"indexed them in {time.perf_counter() - start:.1f} s")
    last = max(s.acquisition_start for s in specs)
    stacks: dict[str, Stack] = {}
    for level in LEVELS:
        config = root / f"config_{level}.json"
        body = {
            "start_date": (FIRST_ACQUISITION - timedelta(days=1)).date().isoformat(),
            "end_date": (last + timedelta(days=1)).date().isoformat(),
            "product_type": level,
            "catalog": str(root / "catalog"),
        }
        config.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        mine = sorted((p for p in products if p.spec.level == level), key=lambda p: p.spec.acquisition_start)
        stacks[level] = Stack(level, [p.raster.resolve() for p in mine], config, (size, size))
    return stacks


def cli_command() -> list[str]:
    """The installed ``icecube-stac`` script of this interpreter (the user's path), else ``python -m``."""
    script = Path(sys.executable).parent / "icecube-stac"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "icecube_stac.cli"]


def use_this_checkout() -> dict[str, str]:
    """Make this process and its subprocesses import ``icecube_stac`` from the checkout holding this file.

    An editable install may point at another copy of the project; ``PYTHONPATH`` comes before it.
    Returns the environment for subprocesses.
    """
    sys.path.insert(0, str(REPO))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    import icecube_stac

    where = Path(icecube_stac.__file__).resolve().parent
    assert where == REPO / "icecube_stac", f"icecube_stac imported from {where}, not from {REPO}"
    git = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True)
    print(f"icecube_stac {icecube_stac.__version__} from {where} ({git.stdout.strip() or 'not a git checkout'})")
    return env


def fresh(path: Path) -> None:
    """Remove an output and flush dirty pages, so a run neither finds old data nor pays for old write-back."""
    shutil.rmtree(path, ignore_errors=True)
    os.sync()


def timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def run(command: Sequence[str], env: Mapping[str, str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


def reference_job(stack: Stack, cube: Path, out: Path) -> dict[str, Any]:
    """The floor's job: same rasters, same time order, and the array metadata of the cube just written."""
    meta = json.loads((cube / VARIABLES[stack.level] / "zarr.json").read_text(encoding="utf-8"))
    chunks = meta["chunk_grid"]["configuration"]["chunk_shape"]
    assert meta["zarr_format"] == 3 and meta["chunk_key_encoding"]["configuration"]["separator"] == "/", meta
    return {
        "level": stack.level,
        "rasters": [str(p) for p in stack.rasters],
        "out": str(out),
        "shape": list(stack.shape),
        "chunks": chunks,
        "codecs": meta["codecs"],
        "fill_value": meta["fill_value"],
    }


def describe_codecs(job: dict[str, Any]) -> str:
    parts = [
        f"{c['name']}({', '.join(f'{k}={v}' for k, v in c.get('configuration', {}).items())})" for c in job["codecs"]
    ]
    return f"zarr v3, chunks {tuple(job['chunks'])}, codecs {' -> '.join(parts)}, fill_value {job['fill_value']!r}"


def verify(stack: Stack, cube: Path, floor_out: Path) -> str:
    import numpy as np
    import zarr

    hrefs = [Path(str(h)).resolve() for h in np.asarray(zarr.open_array(cube / "data_href", mode="r")[:])]
    assert hrefs == stack.rasters, "the cube's time order differs from the floor's"
    ours = zarr.open_array(cube / VARIABLES[stack.level], mode="r")
    theirs = zarr.open_array(floor_out, mode="r")
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, (ours.shape, theirs.shape)
    steps = sorted({0, ours.shape[0] // 2, ours.shape[0] - 1})
    for t in steps:
        if not np.array_equal(np.asarray(ours[t]), np.asarray(theirs[t]), equal_nan=True):
            raise AssertionError(f"{stack.level}: time step {t} differs between the cube and the floor")
    return f"{stack.level}: identical values at time steps {steps}, same time order ({len(hrefs)} steps)"


# --------------------------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------------------------


@dataclass
class Result:
    stack: Stack
    cube_cli: list[float]
    floor_cli: list[float]
    cube_in: list[float]
    floor_in: list[float]
    codecs: str
    check: str


def measure(stack: Stack, work: Path, repeats: int, env: Mapping[str, str]) -> Result:
    from icecube_stac.config import load_config
    from icecube_stac.output import write_cube
    from icecube_stac.pipeline import load_cube

    level = stack.level
    cube_out, floor_out = work / f"cube_{level}.zarr", work / f"floor_{level}.zarr"
    job_file = work / f"floor_{level}.json"
    catalog = str(load_config(stack.config).catalog)
    cube_cmd = [*cli_command(), "cube", str(stack.config), "--catalog", catalog, "-o", str(cube_out), "-q"]
    cube_cmd.append("--overwrite")
    floor_cmd = [sys.executable, str(Path(__file__).resolve()), "--floor-job", str(job_file)]

    def cube_cli() -> None:
        run(cube_cmd, env)

    def floor_cli() -> None:
        run(floor_cmd, env)

    def cube_in() -> None:
        write_cube(load_cube(load_config(stack.config)), cube_out, overwrite=True)

    def floor_in() -> None:
        floor(job)

    # Warm-up (untimed): page cache, first-run costs, and the cube whose array metadata the floor copies.
    fresh(cube_out)
    print("  " + run(cube_cmd, env).strip().replace("\n", "\n  "))
    job = reference_job(stack, cube_out, floor_out)
    job_file.write_text(json.dumps(job), encoding="utf-8")
    paths = {cube_cli: cube_out, floor_cli: floor_out, cube_in: cube_out, floor_in: floor_out}
    for func, out in list(paths.items())[1:]:
        fresh(out)
        func()
    times: dict[Callable[[], None], list[float]] = {func: [] for func in paths}
    for r in range(repeats):
        for func, out in paths.items():
            fresh(out)
            times[func].append(timed(func))
        row = "  ".join(f"{func.__name__} {times[func][-1]:.2f} s" for func in paths)
        print(f"  {level} round {r + 1}/{repeats}: {row}")
    # The last runs of each loop were in-process; rewrite with the CLI and the floor subprocess for the check.
    fresh(cube_out)
    run(cube_cmd, env)
    fresh(floor_out)
    run(floor_cmd, env)
    check = verify(stack, cube_out, floor_out)
    return Result(
        stack, times[cube_cli], times[floor_cli], times[cube_in], times[floor_in], describe_codecs(job), check
    )


def startup(repeats: int, env: Mapping[str, str]) -> tuple[float, float]:
    """Median interpreter start-up + imports of the cube CLI path and of the floor script."""
    cube_imports = "import icecube_stac.cli, icecube_stac.config, icecube_stac.cube, icecube_stac.output"
    floor_imports = "import h5py, numpy, rasterio, zarr"
    cube = [timed(lambda: run([sys.executable, "-c", cube_imports], env)) for _ in range(repeats)]
    floor_ = [timed(lambda: run([sys.executable, "-c", floor_imports], env)) for _ in range(repeats)]
    return statistics.median(cube), statistics.median(floor_)


def table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))) for r in rows
    )


def report(results: Sequence[Result], repeats: int, starts: tuple[float, float]) -> None:
    med = statistics.median
    print(f"\nmedians of {repeats} runs (s); ratio = cube / floor (goal <= 1.30); MB/s of uncompressed cube data")
    rows = [
        (
            "type",
            "steps",
            "MB",
            "cube s",
            "floor s",
            "ratio",
            "cube MB/s",
            "floor MB/s",
            "in-proc cube s",
            "in-proc floor s",
            "in-proc ratio",
        )
    ]
    for res in results:
        mb = res.stack.nbytes / 1e6
        c, f, ci, fi = med(res.cube_cli), med(res.floor_cli), med(res.cube_in), med(res.floor_in)
        rows.append(
            (
                res.stack.level,
                str(len(res.stack.rasters)),
                f"{mb:.0f}",
                f"{c:.2f}",
                f"{f:.2f}",
                f"{c / f:.2f}x",
                f"{mb / c:.0f}",
                f"{mb / f:.0f}",
                f"{ci:.2f}",
                f"{fi:.2f}",
                f"{ci / fi:.2f}x",
            )
        )
    print(table(rows))
    print(
        f"start-up (interpreter + imports, median of {repeats}): cube CLI {starts[0]:.2f} s, floor script "
        f"{starts[1]:.2f} s"
    )
    for res in results:
        print(
            f"{res.stack.level} fixed cost of a process (CLI median - in-proc median): cube "
            f"{med(res.cube_cli) - med(res.cube_in):.2f} s, floor {med(res.floor_cli) - med(res.floor_in):.2f} s"
        )
    for res in results:
        spread = ", ".join(f"{t:.2f}" for t in res.cube_cli)
        floor_spread = ", ".join(f"{t:.2f}" for t in res.floor_cli)
        print(f"{res.stack.level} all runs: cube CLI [{spread}]  floor [{floor_spread}]")
    for res in results:
        print(f"{res.stack.level} storage: {res.codecs}")
    for res in results:
        print(f"check {res.check}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--products", type=int, default=12, help="products per type (default 12)")
    parser.add_argument("--size", type=int, default=2048, help="raster size N x N (default 2048)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each path (default 3, at least 3)")
    parser.add_argument("--workdir", type=Path, help="keep everything in this folder (default: a temporary one)")
    parser.add_argument("--floor-job", type=Path, help=argparse.SUPPRESS)  # the floor subprocess
    args = parser.parse_args()
    if args.floor_job:
        floor(json.loads(args.floor_job.read_text(encoding="utf-8")))
        return
    if args.repeats < 3:
        parser.error("--repeats must be at least 3 (medians)")
    env = use_this_checkout()
    with tempfile.TemporaryDirectory(prefix="icecube-bench-cube-") as tmp:
        root = args.workdir.resolve() if args.workdir else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        stacks = generate(root, args.products, args.size)
        results = []
        for level in LEVELS:
            print(f"{level}:")
            results.append(measure(stacks[level], root, args.repeats, env))
        starts = startup(args.repeats, env)
        report(results, args.repeats, starts)


if __name__ == "__main__":
    main()
