"""Cube benchmark: ``icecube-stac cube`` to Zarr against a raw floor and an icecube-style script; reads; start-up.

Generates N GRD (uint16 GeoTIFF, SIZE x SIZE) and N SLC (int16 HDF5, SIZE x SIZE/2: azimuth x range) products
once (default 12 + 12 at SIZE 4096: 12 x 4096 x 4096 GRD and 12 x 4096 x 2048 SLC, 403 MB of samples each;
kept in --workdir between runs when given), indexes them into a catalog and writes one config per type.
Generation and indexing are timed and kept out of every measurement. Three sections (``--sections``):

cube (goals 1 and 2)
    For GRD and for SLC, after one untimed warm-up of each path, REPEATS rounds (default 5), interleaved
    (cube, floor, durable, icecube, cube, ...), each a whole process:

    cube      ``icecube-stac cube CONFIG --catalog CAT -o OUT.zarr -q --overwrite``, default settings: Python
              start-up and imports, the catalog search, the graph, reading, the default codec (Blosc LZ4 for
              GRD; none for the int16 parts of these gap-free SLC stacks), the fsync'ed atomic write and the
              process's exit (which skips the interpreter's finalisation)
    floor     one sequential script (this file's ``floor()``): for each product in time order, rasterio band 1
              (uint16) or h5py ``s_i``/``s_q`` (int16) read whole, written uncompressed to Zarr v3 in the source
              dtype (GRD: one uint16 array; SLC: two int16 arrays) with the cube's chunk shape; no fsync
    durable   the floor followed by one ``os.sync()`` (``durable_floor()``): its samples are on disk when it ends,
              as the cube's are (a reference beside the goal's floor, not the goal's baseline)
    icecube   an icecube-1.1.1-style script (``icecube_style()``): the same reads into one in-memory stack,
              one ``xarray.Dataset`` with dims ``Band``/``Azimuth``/``Range`` (``Intensity``, or ``Real`` and
              ``Complex``) in the source dtype, ``to_netcdf`` uncompressed (h5netcdf; netCDF4 is not installed)

    Every output is removed and ``os.sync()`` called before each run (untimed), then the memory is settled as
    ``--memory`` says (untimed):

    natural   nothing more: each process may find warm the pages its own previous output freed moments before
    cold      a ``COLD_SECONDS`` wait: a virtual machine with free page reporting (these Firecracker machines)
              hands the freed memory back to its host meanwhile, and every fresh page must be faulted in
              again, as for a command run after a while. Writing 384 MiB into the page cache takes 0.7-1 s
              then, against 0.1 s with pages freed just before (``benchmarks/README.md``); it moves the floor
              and the cube alike. (Touching and freeing memory before a run does not warm it: freed memory
              was handed back within 0.4 s, measured.)

    Then the cube is opened with
    ``open_cube`` and compared with the floor's arrays at every time step (GRD: the DN, DN 0 -> NaN as the
    storage rule says; SLC: complex-equal), and the dtypes, fill values and codecs on disk are listed.

startup (goal 5)
    REPEATS runs of the cube command on the GRD config through a hook (``python -c HOOK``) that wraps the
    graph's read functions and ``search`` on import, records the wall-clock time of the first read and of the
    search (written by the process that runs it: the command's forked child), and ends the process at the first
    read; the clock starts just before the subprocess is spawned. Interleaved with the floor script (time to its
    first read) and ``python -c pass``.

reads (goal 4)
    One product per source layout (GRD: tiled 256 and striped, uncompressed and LZW; SLC HDF5: contiguous,
    chunked 256 x 256 and chunked 300 rows), each in its own subprocess: the bytes read (``rchar`` of
    ``/proc/self/io``) and time of the cube's read path (``write_cube`` with no compression into a temporary
    Zarr; and the lazy cube computed in memory with one thread), against one whole-file read, and against
    reading the same cube chunk by chunk (each 2048 x 2048 window opened and read on its own).

Both the CLI and the scripts import ``icecube_stac`` from the checkout holding this file (``PYTHONPATH``); the
first line printed says which. Other processes change the timings: the load average is printed with every
round, and the medians and same-run ratios are what to compare.

Run:  python benchmarks/bench_cube.py [--products 12] [--size 4096] [--repeats 5] [--workdir DIR]
                                      [--sections cube startup reads] [--levels GRD SLC]
                                      [--memory natural|cold] [--before CHECKOUT]
About 1 GB of products, 1.2 GB of outputs at a time; ~10 minutes on 2 cores with the defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
from typing import Any

# Only the standard library at module level: the floor and icecube-style subprocesses run this file and import
# no more than a straightforward script would (numpy, rasterio or h5py, zarr or xarray).

LEVELS = ("GRD", "SLC")
SOURCE = {"GRD": "uint16", "SLC": "int16"}
FILL = {"GRD": 0, "SLC": -32768}
PARTS = {"GRD": ("amplitude",), "SLC": ("slc_real", "slc_imag")}
ICECUBE_NAMES = {"GRD": ("Intensity",), "SLC": ("Real", "Complex")}
FIRST_ACQUISITION = datetime(2024, 3, 1, 3, 41, 27, 518306)
REPO = Path(__file__).resolve().parent.parent
BEFORE: dict[str, Any] = {}  # --before CHECKOUT: {"env": ..., "catalog": ...} for the same runs with that code


def shape_of(level: str, size: int) -> tuple[int, int]:
    """(azimuth, range) of a product: GRD SIZE x SIZE, SLC SIZE x SIZE/2 (the issue's stacks)."""
    return (size, size) if level == "GRD" else (size, max(1, size // 2))


def _read_source(level: str, path: str) -> list[Any]:
    """The source samples of one product, whole: [uint16 DN] or [int16 s_i, int16 s_q]."""
    if level == "GRD":
        import rasterio

        with rasterio.open(path) as src:
            return [src.read(1)]
    import h5py

    with h5py.File(path, "r") as h5:
        return [h5["s_i"][()], h5["s_q"][()]]


def _mark_first_read() -> None:
    marks = os.environ.get("BENCH_FIRST_READ")
    if marks:
        Path(marks).write_text(json.dumps({"first_read": time.time()}), encoding="utf-8")


def floor(job: dict[str, Any]) -> None:
    """Sequential floor: read every product whole, write it uncompressed in the source dtype to Zarr v3."""
    import numpy  # noqa: F401 - what the script needs, imported before the first read like a script would
    import zarr

    level, rasters = job["level"], job["rasters"]
    if level == "GRD":
        import rasterio  # noqa: F401
    else:
        import h5py  # noqa: F401
    group = zarr.open_group(job["out"], mode="w", zarr_format=3)
    arrays = [
        group.create_array(
            name,
            shape=(len(rasters), *job["shape"]),
            chunks=tuple(job["chunks"]),
            dtype=SOURCE[level],
            compressors=None,
            fill_value=FILL[level],
        )
        for name in PARTS[level]
    ]
    for t, path in enumerate(rasters):
        if t == 0:
            _mark_first_read()
        for array, part in zip(arrays, _read_source(level, path), strict=True):
            array[t] = part


def durable_floor(job: dict[str, Any]) -> None:
    """The floor, then one ``sync(2)``: its samples on disk before it ends, as the cube command's are."""
    floor(job)
    os.sync()


def icecube_style(job: dict[str, Any]) -> None:
    """icecube 1.1.1's way: the whole stack in memory, one Dataset (Band, Azimuth, Range), to_netcdf."""
    import numpy as np
    import xarray as xr

    level, rasters = job["level"], job["rasters"]
    stacks = [np.empty((len(rasters), *job["shape"]), dtype=SOURCE[level]) for _ in PARTS[level]]
    for t, path in enumerate(rasters):
        for stack, part in zip(stacks, _read_source(level, path), strict=True):
            stack[t] = part
    dims = ("Band", "Azimuth", "Range")
    ds = xr.Dataset(
        {name: (dims, stack) for name, stack in zip(ICECUBE_NAMES[level], stacks, strict=True)},
        coords={"Band": np.arange(len(rasters))},
    )
    ds.to_netcdf(job["out"], engine="h5netcdf")


# The start-up hook (python -c HOOK MARKS cube ...): wraps the graph's read functions and ``search`` when their
# modules are imported, records when they run, and ends the process at the first read.
HOOK = r"""
import json, os, sys, time
_marks = {"start": time.time()}
_out = sys.argv[1]
import importlib.machinery as _machinery

def _dump():
    try:  # the search's marks, written by the process that ran it (the forked child of the cube command)
        with open(_out + ".search") as f:
            for key, value in json.load(f).items():
                _marks.setdefault(key, value)
    except FileNotFoundError:
        pass
    with open(_out, "w") as f:
        json.dump(_marks, f)

import threading
_lock = threading.Lock()

def _reader(func):
    def wrapper(*args, **kwargs):
        _marks.setdefault("first_read", time.time())
        _lock.acquire()  # the first reading thread writes the marks and ends the process; others wait here
        _dump()
        os._exit(0)
    wrapper.__bench__ = True
    return wrapper

def _search(func):
    def wrapper(*args, **kwargs):
        start = time.time()
        try:
            return func(*args, **kwargs)
        finally:
            with open(_out + ".search", "w") as f:
                json.dump({"search_start": start, "search_end": time.time()}, f)
    wrapper.__bench__ = True
    return wrapper

def _patch(module):
    for name in list(vars(module)):
        value = getattr(module, name)
        if not callable(value) or getattr(value, "__bench__", False):
            continue
        if name.startswith("read") and name.endswith("block"):
            setattr(module, name, _reader(value))
        elif name == "search" and module.__name__ != "icecube_stac.search":
            setattr(module, name, _search(value))

class _Finder:
    # The reads of the dask graph (xarray writer) and of the direct Zarr writer; search as the pipeline calls it.
    WATCH = {"icecube_stac.cube._graph", "icecube_stac.cube._direct", "icecube_stac.cube", "icecube_stac.pipeline"}
    def find_spec(self, name, path=None, target=None):
        if name not in self.WATCH:
            return None
        spec = _machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module
        def exec_module(module, _run=run):
            _run(module)
            _patch(module)
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, _Finder())
sys.argv = ["icecube-stac", *sys.argv[2:]]
from icecube_stac.cli import main
_marks["cli_imported"] = time.time()
rc = main()
_marks["end"] = time.time()
_dump()
sys.exit(rc)
"""


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
        """Bytes of source samples (uint16 DN, or both int16 parts)."""
        return len(self.rasters) * self.shape[0] * self.shape[1] * 2 * len(PARTS[self.level])


def generate(root: Path, n: int, size: int) -> dict[str, Stack]:
    """Generate and index the stacks, or reuse those of an earlier run with the same parameters."""
    stamp = root / "stacks.json"
    wanted = {"products": n, "size": size, "version": 3}
    if stamp.is_file() and json.loads(stamp.read_text(encoding="utf-8")).get("params") == wanted:
        saved = json.loads(stamp.read_text(encoding="utf-8"))["stacks"]
        print(f"reusing the {n} + {n} products of {root}")
        return {
            k: Stack(k, [Path(p) for p in v["rasters"]], Path(v["config"]), tuple(v["shape"])) for k, v in saved.items()
        }  # type: ignore[misc]
    from icecube_stac.catalog import index
    from icecube_stac.testing import ProductSpec, write_stack

    shutil.rmtree(root / "products", ignore_errors=True)
    shutil.rmtree(root / "catalog", ignore_errors=True)
    specs = [
        ProductSpec(
            level=level,  # type: ignore[arg-type]
            image_id=3_000_000 + 10_000 * k + 100 * i,
            acquisition_start=FIRST_ACQUISITION + timedelta(days=2 * i, hours=12 * k, minutes=7 * i),
            shape=shape_of(level, size),
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
    on_disk = sum(p.raster.stat().st_size for p in products) / 1e6
    print(
        f"generated {len(products)} products ({n} GRD + {n} SLC) in {time.perf_counter() - start:.1f} s: "
        f"{on_disk:.0f} MB"
    )
    start = time.perf_counter()
    # Absolute asset hrefs: the catalog stays valid wherever the products are read from.
    report = index([root / "products"], root / "catalog", asset_hrefs="absolute")
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
        stacks[level] = Stack(level, [p.raster.resolve() for p in mine], config, shape_of(level, size))
    saved = {
        k: {"rasters": [str(p) for p in s.rasters], "config": str(s.config), "shape": s.shape}
        for k, s in stacks.items()
    }
    stamp.write_text(json.dumps({"params": wanted, "stacks": saved}), encoding="utf-8")
    return stacks


def index_before(root: Path, checkout: Path, env: Mapping[str, str]) -> None:
    """Index the same products with the ``--before`` checkout (its own catalog format) for its cube runs."""
    catalog = root / f"catalog-before-{checkout.name}"
    before_env = {**env, "PYTHONPATH": str(checkout)}
    compile_package(checkout)
    if not catalog.is_dir():
        script = (
            "import sys\nfrom icecube_stac.catalog import index\n"
            "report = index([sys.argv[1]], sys.argv[2], asset_hrefs='absolute')\nassert report.ok, report\n"
        )
        subprocess.run([sys.executable, "-c", script, str(root / "products"), str(catalog)], env=before_env, check=True)
    git = subprocess.run(["git", "-C", str(checkout), "describe", "--always"], capture_output=True, text=True)
    print(f"before: icecube_stac from {checkout} ({git.stdout.strip()}), catalog {catalog}")
    BEFORE.update(env=before_env, catalog=str(catalog))


def cli_command() -> list[str]:
    """The installed ``icecube-stac`` script of this interpreter (the user's path), else ``python -m``."""
    script = Path(sys.executable).parent / "icecube-stac"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "icecube_stac.cli"]


def compile_package(checkout: Path) -> None:
    """Write the bytecode of the checkout's ``icecube_stac`` (``__pycache__``, git-ignored), as pip install does.

    With ``PYTHONDONTWRITEBYTECODE`` set (as here) a source checkout is otherwise compiled again by every
    process, about 0.1 s of each cube run that an installed package does not pay; the baselines import only
    installed packages. Stale bytecode is never used: Python checks each source's size and mtime.
    """
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(checkout / "icecube_stac")], check=True)


def use_this_checkout() -> dict[str, str]:
    """Make this process and its subprocesses import ``icecube_stac`` from the checkout holding this file.

    Returns the environment for subprocesses (``PYTHONPATH`` comes before an editable install).
    """
    sys.path.insert(0, str(REPO))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    compile_package(REPO)
    import icecube_stac

    where = Path(icecube_stac.__file__).resolve().parent
    assert where == REPO / "icecube_stac", f"icecube_stac imported from {where}, not from {REPO}"
    git = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True)
    print(f"icecube_stac {icecube_stac.__version__} from {where} ({git.stdout.strip() or 'not a git checkout'})")
    return env


COLD_SECONDS = 3.0  # free page reporting hands memory freed > ~2 s ago back to the host (measured)


def settle(memory: str) -> None:
    """Leave the memory as ``--memory`` says before a timed run (see the module docstring)."""
    if memory == "cold":
        time.sleep(COLD_SECONDS)


def fresh(path: Path) -> None:
    """Remove an output and flush dirty pages, so a run neither finds old data nor pays for old write-back."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
    os.sync()


CPU_SECONDS: list[float] = []  # user + system CPU of each process run() ran, in order


def run(command: Sequence[str], env: Mapping[str, str]) -> float:
    """Run a whole process; return its wall time (its CPU time is appended to ``CPU_SECONDS``)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_SECONDS.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return seconds


def load() -> str:
    return "load " + "/".join(f"{x:.1f}" for x in os.getloadavg())


def table(title: str, rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print(f"\n{title}")
    for r in rows:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))))


def du(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --------------------------------------------------------------------------------------------------------
# Goals 1 and 2: whole processes, interleaved
# --------------------------------------------------------------------------------------------------------


@dataclass
class CubeResult:
    stack: Stack
    times: dict[str, list[float]]
    cpu: dict[str, list[float]]
    sizes: dict[str, int]
    storage: list[str]
    check: str


def cube_chunks(cube: Path) -> list[int]:
    """The chunk shape of the cube's data variable (any version of the writer)."""
    for name in ("amplitude", "slc_real", "slc"):
        meta = cube / name / "zarr.json"
        if meta.is_file():
            return list(json.loads(meta.read_text(encoding="utf-8"))["chunk_grid"]["configuration"]["chunk_shape"])
    raise AssertionError(f"no data variable in {cube}")


def storage(cube: Path) -> list[str]:
    """Each data array on disk: dtype, fill value and codecs (from zarr.json)."""
    rows = []
    for meta_path in sorted(cube.glob("*/zarr.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("node_type") != "array" or len(meta["shape"]) != 3:
            continue
        codecs = " -> ".join(
            c["name"]
            + "("
            + ",".join(f"{k}={v}" for k, v in sorted(c.get("configuration", {}).items()) if k != "endian")
            + ")"
            for c in meta["codecs"]
        )
        rows.append(
            f"{meta_path.parent.name}: {meta['data_type']}, fill {meta['fill_value']!r}, "
            f"chunks {tuple(meta['chunk_grid']['configuration']['chunk_shape'])}, {codecs}"
        )
    return rows


def verify(stack: Stack, cube: Path, floor_out: Path) -> str:
    """Compare the cube as ``open_cube`` gives it with the floor's source samples, at every time step."""
    import numpy as np
    import zarr

    from icecube_stac.output import open_cube

    back = open_cube(cube)
    hrefs = [Path(str(h)).resolve() for h in back["data_href"].values]
    assert hrefs == stack.rasters, "the cube's time order differs from the floor's"
    group = zarr.open_group(str(floor_out), mode="r")
    variable = back["amplitude" if stack.level == "GRD" else "slc"]
    for t in range(len(stack.rasters)):
        ours = variable[t].values
        if stack.level == "GRD":
            dn = np.asarray(group["amplitude"][t])
            theirs = np.where(dn == 0, np.float32(np.nan), dn.astype(np.float32))
        else:
            theirs = np.empty(stack.shape, np.complex64)
            theirs.real, theirs.imag = group["slc_real"][t], group["slc_imag"][t]
        if ours.dtype != theirs.dtype or not np.array_equal(ours, theirs, equal_nan=True):
            raise AssertionError(f"{stack.level}: time step {t} differs between the cube and the floor")
    what = "DN (0 -> NaN)" if stack.level == "GRD" else "complex s_i + j s_q"
    return f"{stack.level}: open_cube equals the floor's {what} at all {len(hrefs)} time steps, same time order"


def measure_cube(stack: Stack, work: Path, repeats: int, env: Mapping[str, str], memory: str) -> CubeResult:
    level = stack.level
    outs = {
        "cube": work / f"cube_{level}.zarr",
        "floor": work / f"floor_{level}.zarr",
        "durable": work / f"durable_{level}.zarr",
        "icecube": work / f"icecube_{level}.nc",
    }
    cube_cmd = [*cli_command(), "cube", str(stack.config), "-o", str(outs["cube"]), "-q", "--overwrite"]
    commands: dict[str, list[str]] = {"cube": cube_cmd}
    for name, func in (("floor", "floor"), ("durable", "durable"), ("icecube", "icecube_style")):
        job_file = work / f"{name}_{level}.json"
        commands[name] = [sys.executable, str(Path(__file__).resolve()), "--job", func, str(job_file)]
    envs = {name: env for name in commands}
    if BEFORE:
        outs["before"] = work / f"before_{level}.zarr"
        commands["before"] = [*cli_command(), "cube", str(stack.config), "--catalog", BEFORE["catalog"]]
        commands["before"] += ["-o", str(outs["before"]), "-q", "--overwrite"]
        envs["before"] = BEFORE["env"]
        fresh(outs["before"])
        run(commands["before"], envs["before"])  # warm-up
    fresh(outs["cube"])
    run(cube_cmd, env)  # warm-up; its chunk shape is the floor's
    for name in ("floor", "durable", "icecube"):
        job = {
            "level": level,
            "rasters": [str(p) for p in stack.rasters],
            "out": str(outs[name]),
            "shape": list(stack.shape),
            "chunks": cube_chunks(outs["cube"]),
        }
        (work / f"{name}_{level}.json").write_text(json.dumps(job), encoding="utf-8")
        fresh(outs[name])
        run(commands[name], env)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for r in range(repeats):
        for name, command in commands.items():
            fresh(outs[name])
            settle(memory)
            times[name].append(run(command, envs[name]))
            cpu[name].append(CPU_SECONDS[-1])
        row = "  ".join(f"{name} {times[name][-1]:.2f} s" for name in commands)
        print(f"  {level} round {r + 1}/{repeats}: {row}  ({load()})")
    sizes = {name: du(out) for name, out in outs.items()}
    check = verify(stack, outs["cube"], outs["floor"])
    result = CubeResult(stack, times, cpu, sizes, storage(outs["cube"]), check)
    for out in outs.values():
        fresh(out)
    return result


def report_cube(results: Sequence[CubeResult], repeats: int) -> None:
    med = statistics.median
    rows = [
        (
            "type",
            "products",
            "source MB",
            "cube s",
            "floor s",
            "cube/floor",
            "icecube s",
            "cube/icecube",
            "cube MB/s",
            "cube disk MB",
            "floor disk MB",
            "icecube disk MB",
        )
    ]
    for res in results:
        c, f, i = (med(res.times[k]) for k in ("cube", "floor", "icecube"))
        mb = res.stack.nbytes / 1e6
        rows.append(
            (
                res.stack.level,
                f"{len(res.stack.rasters)} x {res.stack.shape[0]}x{res.stack.shape[1]}",
                f"{mb:.0f}",
                f"{c:.2f}",
                f"{f:.2f}",
                f"{c / f:.2f}x",
                f"{i:.2f}",
                f"{c / i:.2f}x",
                f"{mb / c:.0f}",
                f"{res.sizes['cube'] / 1e6:.0f}",
                f"{res.sizes['floor'] / 1e6:.0f}",
                f"{res.sizes['icecube'] / 1e6:.0f}",
            )
        )
    table(
        f"GOAL 1: whole processes, medians of {repeats} interleaved runs "
        "(goal: cube/floor <= 1.00, cube/icecube <= 0.50)",
        rows,
    )
    for res in results:
        for name, values in res.times.items():
            print(f"  {res.stack.level} {name:8s} all runs: [{', '.join(f'{t:.2f}' for t in values)}]")
    rows = [("type", "cube CPU s", "floor CPU s", "cube/floor", "icecube CPU s", "cube/icecube")]
    for res in results:
        c, f, i = (med(res.cpu[k]) for k in ("cube", "floor", "icecube"))
        rows.append((res.stack.level, f"{c:.2f}", f"{f:.2f}", f"{c / f:.2f}x", f"{i:.2f}", f"{c / i:.2f}x"))
    table("CPU time (user + system) of the same runs, medians: less sensitive to other load than wall time", rows)
    rows = [("type", "cube s", "durable floor s", "cube/durable floor", "floor s", "the floor's sync s")]
    for res in results:
        c, d, f = (med(res.times[k]) for k in ("cube", "durable", "floor"))
        rows.append((res.stack.level, f"{c:.2f}", f"{d:.2f}", f"{c / d:.2f}x", f"{f:.2f}", f"{d - f:.2f}"))
    table(
        "Durability: the floor followed by one sync(2), as the cube command syncs before its rename (not the goal's "
        "baseline; it shows what the floor leaves to the disk after it ends)",
        rows,
    )
    if any("before" in res.times for res in results):
        rows = [("type", "before s", "before/floor", "before/icecube", "cube/before", "before CPU s", "before disk MB")]
        for res in results:
            b, c, f, i = (med(res.times[k]) for k in ("before", "cube", "floor", "icecube"))
            size = f"{res.sizes['before'] / 1e6:.0f}"
            rows.append((res.stack.level, f"{b:.2f}", f"{b / f:.2f}x", f"{b / i:.2f}x", f"{c / b:.2f}x"))
            rows[-1] += (f"{med(res.cpu['before']):.2f}", size)
        table("BEFORE (the --before checkout) in the same interleaved runs", rows)
    rows = [("type", "array on disk: dtype, fill, chunks, codecs")]
    rows += [(res.stack.level, line) for res in results for line in res.storage]
    table("GOAL 2: what the cube stores (zarr.json) and the round trip", rows)
    for res in results:
        print(f"  check {res.check}")


# --------------------------------------------------------------------------------------------------------
# Goal 5: fixed cost before the first read
# --------------------------------------------------------------------------------------------------------


def measure_startup(stack: Stack, work: Path, repeats: int, env: Mapping[str, str]) -> None:
    marks = work / "marks.json"
    out = work / "startup.zarr"
    hook = [sys.executable, "-c", HOOK, str(marks), "cube", str(stack.config), "-o", str(out), "-q", "--overwrite"]
    floor_job = work / "floor_startup.json"
    job = {
        "level": stack.level,
        "rasters": [str(p) for p in stack.rasters[:1]],
        "out": str(work / "floor_startup.zarr"),
        "shape": list(stack.shape),
        "chunks": [1, 2048, 2048],
    }
    floor_job.write_text(json.dumps(job), encoding="utf-8")
    floor_cmd = [sys.executable, str(Path(__file__).resolve()), "--job", "floor", str(floor_job)]
    floor_env = {**env, "BENCH_FIRST_READ": str(marks)}
    samples: dict[str, list[float]] = {
        k: []
        for k in (
            "python",
            "total",
            "interpreter",
            "imports",
            "to_search",
            "search",
            "to_read",
            "floor",
            "cpu",
            "floor_cpu",
        )
    }

    def spawn(command: list[str], environment: Mapping[str, str]) -> tuple[float, dict[str, float]]:
        marks.unlink(missing_ok=True)
        Path(f"{marks}.search").unlink(missing_ok=True)
        fresh(out)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.time()
        # In the work folder: ``python -c`` puts the current folder first on sys.path, which would make the hook
        # import the icecube_stac of a checkout the benchmark is started from instead of PYTHONPATH's (--before).
        subprocess.run(command, env=environment, check=True, capture_output=True, cwd=work)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        found = json.loads(marks.read_text(encoding="utf-8")) if marks.exists() else {}
        found["cpu"] = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        return t0, found

    spawn(hook, env)  # warm-up
    for r in range(repeats + 1):
        t0 = time.time()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        samples["python"].append(time.time() - t0)
        t0, m = spawn(hook, env)
        assert "first_read" in m, f"the hook saw no read: {m}"
        samples["total"].append(m["first_read"] - t0)
        samples["interpreter"].append(m["start"] - t0)
        samples["imports"].append(m["cli_imported"] - m["start"])
        samples["to_search"].append(m["search_start"] - m["cli_imported"])
        samples["search"].append(m["search_end"] - m["search_start"])
        samples["to_read"].append(m["first_read"] - m["search_end"])
        samples["cpu"].append(m["cpu"])  # the process ends at its first read: CPU time up to it (+ exit)
        t0, m = spawn(floor_cmd, floor_env)
        samples["floor"].append(m["first_read"] - t0)
        samples["floor_cpu"].append(m["cpu"])  # the floor goes on to read one product: an upper bound
        if BEFORE:
            t0, m = spawn([*hook, "--catalog", BEFORE["catalog"]], BEFORE["env"])
            samples.setdefault("before", []).append(m["first_read"] - t0)
            samples.setdefault("before_search", []).append(m["search_end"] - m["search_start"])
            samples.setdefault("before_cpu", []).append(m["cpu"])
        if r == 0:
            for values in samples.values():
                values.clear()  # a second warm-up round
        else:
            print(
                f"  round {r}/{repeats}: to first read {samples['total'][-1]:.3f} s "
                f"(search {samples['search'][-1]:.3f} s), floor {samples['floor'][-1]:.3f} s  ({load()})"
            )
    fresh(out)
    fresh(work / "floor_startup.zarr")
    med = {k: statistics.median(v) for k, v in samples.items()}
    rows = [("process start -> first pixel read", "median s", "share")]
    parts = (
        ("interpreter start (to the first line)", "interpreter"),
        ("import icecube_stac.cli", "imports"),
        ("cli.main -> search (config, imports of the cube stage)", "to_search"),
        ("search(): DuckDB + query (in the forked child, beside the writer's imports)", "search"),
        ("after search -> first read (plan, what is left of the imports, metadata)", "to_read"),
    )
    rows += [(label, f"{med[key]:.3f}", f"{med[key] / med['total']:.0%}") for label, key in parts]
    rows.append(("total: icecube-stac cube", f"{med['total']:.3f}", "100%"))
    rows.append(("total minus search() (which runs beside the imports)", f"{med['total'] - med['search']:.3f}", ""))
    rows.append(
        ("baseline: floor script to its first read", f"{med['floor']:.3f}", f"ratio {med['total'] / med['floor']:.2f}x")
    )
    rows.append(("reference: python -c pass", f"{med['python']:.3f}", ""))
    rows.append(("CPU s of the cube process (ends at its first read)", f"{med['cpu']:.3f}", ""))
    rows.append(("CPU s of the floor process (reads and writes 1 product)", f"{med['floor_cpu']:.3f}", ""))
    if "before" in med:
        rows.append(
            (
                "BEFORE checkout: total to first read",
                f"{med['before']:.3f}",
                f"cube/before {med['total'] / med['before']:.2f}x",
            )
        )
        rows.append(("BEFORE checkout: of which search()", f"{med['before_search']:.3f}", ""))
        rows.append(("BEFORE checkout: CPU s to first read", f"{med['before_cpu']:.3f}", ""))
    table(
        f"GOAL 5: fixed cost before the first read, {stack.level} config, medians of {repeats} (goal: total <= 0.8 s)",
        rows,
    )


# --------------------------------------------------------------------------------------------------------
# Goal 4: bytes read per source layout
# --------------------------------------------------------------------------------------------------------

LAYOUTS = {
    "GRD tiled 256, raw": {"level": "GRD", "tiled": True},
    "GRD tiled 256, LZW": {"level": "GRD", "tiled": True, "compress": "lzw"},
    "GRD striped, raw": {"level": "GRD", "tiled": False},
    "GRD striped, LZW": {"level": "GRD", "tiled": False, "compress": "lzw"},
    "SLC contiguous": {"level": "SLC"},
    "SLC chunked 256x256": {"level": "SLC", "hdf5_chunks": (256, 256)},
    "SLC chunked 300 rows": {"level": "SLC", "hdf5_chunks": (300, 2048)},
}


def _rchar() -> int:
    with open("/proc/self/io", encoding="ascii") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("rchar:"))


def reads_job(job: dict[str, Any]) -> None:
    """In a subprocess: bytes and time of the cube's reads of one product, against whole and per-chunk reads."""
    import dask
    import numpy as np

    from icecube_stac.cube import build_cube
    from icecube_stac.output import write_cube
    from icecube_stac.stac import item_from_product

    level, path = job["level"], job["raster"]
    cube = build_cube([item_from_product(path)])
    variable = cube["amplitude" if level == "GRD" else "slc"]
    out = Path(job["out"])
    results: dict[str, list[float]] = {}

    def sample(name: str, func: Callable[[], object]) -> None:
        before, start = _rchar(), time.perf_counter()
        func()
        results.setdefault(name, []).append(time.perf_counter() - start)
        results.setdefault(name + " bytes", []).append(_rchar() - before)

    def whole() -> object:
        parts = _read_source(level, path)
        if level == "GRD":
            return parts[0].astype(np.float32)
        pixels = np.empty(parts[0].shape, np.complex64)
        pixels.real, pixels.imag = parts
        return pixels

    def per_chunk() -> object:  # each 2048 x 2048 cube chunk read as its own window, the file opened each time
        az, rg = variable.shape[1:]
        for r0 in range(0, az, 2048):
            for c0 in range(0, rg, 2048):
                rows, cols = slice(r0, min(r0 + 2048, az)), slice(c0, min(c0 + 2048, rg))
                if level == "GRD":
                    import rasterio
                    from rasterio.windows import Window

                    with rasterio.open(path) as src:
                        src.read(1, window=Window.from_slices(rows, cols))
                else:
                    import h5py

                    with h5py.File(path, "r") as h5:
                        h5["s_i"][rows, cols], h5["s_q"][rows, cols]
        return None

    def write() -> object:
        shutil.rmtree(out, ignore_errors=True)
        return write_cube(cube, out, compression="none")

    with dask.config.set(scheduler="synchronous"):
        # Each path warmed up and then repeated on its own: a first call pays imports and fresh memory.
        for name, func in (
            ("cube in memory", lambda: variable.values),
            ("whole file", whole),
            ("per chunk", per_chunk),
            ("cube write", write),
        ):
            for _ in range(job["repeats"] + 1):
                sample(name, func)
    shutil.rmtree(out, ignore_errors=True)
    print(json.dumps({k: statistics.median(v[1:]) for k, v in results.items()}))


def measure_reads(work: Path, size: int, repeats: int, env: Mapping[str, str]) -> None:
    import rasterio
    import rasterio.shutil

    from icecube_stac.testing import ProductSpec, write_product

    rows = [
        (
            "layout",
            "file MB",
            "cube write: read/file",
            "cube in memory: read/file",
            "per chunk: read/file",
            "cube in memory s",
            "whole file s",
            "per chunk s",
            "cube/whole",
            "cube write s",
        )
    ]
    for k, (label, layout) in enumerate(LAYOUTS.items()):
        folder = work / "layouts" / label.replace(" ", "_").replace(",", "")
        level = str(layout["level"])
        stamp = folder / "done"
        if not stamp.exists():
            shutil.rmtree(folder, ignore_errors=True)
            spec = ProductSpec(
                level=level,  # type: ignore[arg-type]
                image_id=5_000_000 + 100 * k,
                acquisition_start=FIRST_ACQUISITION + timedelta(days=k),
                shape=shape_of(level, size) if level == "SLC" else (size, size),
                tiled=bool(layout.get("tiled", True)),
                hdf5_chunks=layout.get("hdf5_chunks"),  # type: ignore[arg-type]
                seed=k,
            )
            product = write_product(spec, folder)
            if layout.get("compress"):
                packed = product.raster.with_suffix(".lzw.tif")
                blocks = {"tiled": True, "blockxsize": 256, "blockysize": 256} if layout["tiled"] else {}
                rasterio.shutil.copy(product.raster, packed, driver="GTiff", compress="LZW", **blocks)
                packed.replace(product.raster)
            stamp.write_text(str(product.raster), encoding="utf-8")
        raster = stamp.read_text(encoding="utf-8")
        job = {"level": level, "raster": raster, "out": str(work / "reads.zarr"), "repeats": repeats}
        result = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--job", "reads_job", json.dumps(job)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        m = json.loads(result.stdout.strip().splitlines()[-1])
        mb = Path(raster).stat().st_size
        rows.append(
            (
                label,
                f"{mb / 1e6:.1f}",
                f"{m['cube write bytes'] / mb:.2f}",
                f"{m['cube in memory bytes'] / mb:.2f}",
                f"{m['per chunk bytes'] / mb:.2f}",
                f"{m['cube in memory']:.3f}",
                f"{m['whole file']:.3f}",
                f"{m['per chunk']:.3f}",
                f"{m['cube in memory'] / m['whole file']:.2f}x",
                f"{m['cube write']:.3f}",
            )
        )
        print(f"  {label}: done ({load()})")
    table(
        f"GOAL 4: bytes read (rchar) / file size and read times, one product, one thread, medians of {repeats} "
        "(goal: read/file = 1.00)",
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--products", type=int, default=12, help="products per type (default 12)")
    parser.add_argument("--size", type=int, default=4096, help="GRD SIZE x SIZE, SLC SIZE x SIZE/2 (default 4096)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each path (default 5, at least 5)")
    parser.add_argument("--workdir", type=Path, help="keep products here between runs (default: a temporary folder)")
    parser.add_argument(
        "--sections", nargs="+", choices=("cube", "startup", "reads"), default=["cube", "startup", "reads"]
    )
    parser.add_argument("--levels", nargs="+", choices=LEVELS, default=list(LEVELS))
    parser.add_argument(
        "--before", type=Path, help="another checkout (e.g. a git worktree of an older commit) to time too"
    )
    parser.add_argument(
        "--memory",
        choices=("natural", "cold"),
        default="natural",
        help="the memory each timed cube-section run finds (see the module docstring; default natural)",
    )
    parser.add_argument("--job", nargs=2, metavar=("FUNC", "JOB"), help=argparse.SUPPRESS)  # subprocesses
    args = parser.parse_args()
    if args.job:
        func, text = args.job
        job = json.loads(text if text.startswith("{") else Path(text).read_text(encoding="utf-8"))
        {"floor": floor, "durable": durable_floor, "icecube_style": icecube_style, "reads_job": reads_job}[func](job)
        return
    if args.repeats < 5:
        parser.error("--repeats must be at least 5 (medians)")
    env = use_this_checkout()
    print(f"{os.cpu_count()} cores, {load()}")
    with tempfile.TemporaryDirectory(prefix="icecube-bench-cube-") as tmp:
        root = args.workdir.resolve() if args.workdir else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        if "cube" in args.sections or "startup" in args.sections:
            stacks = generate(root, args.products, args.size)
            if args.before:
                index_before(root, args.before.resolve(), env)
        if "cube" in args.sections:
            direct = os.environ.get("ICECUBE_STAC_DIRECT_IO", "unset")
            print(f"memory before each timed run: {args.memory}; ICECUBE_STAC_DIRECT_IO={direct} (cube chunk writes)")
            results = []
            for level in args.levels:
                print(f"{level}:")
                results.append(measure_cube(stacks[level], root, args.repeats, env, args.memory))
            report_cube(results, args.repeats)
        if "startup" in args.sections:
            print("start-up:")
            measure_startup(stacks["GRD"], root, args.repeats, env)
        if "reads" in args.sections:
            print("reads:")
            measure_reads(root, args.size, args.repeats, env)
    print(f"\n{load()} at the end")


if __name__ == "__main__":
    main()
