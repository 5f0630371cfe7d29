"""Memory benchmark: peak RSS of ``icecube-stac cube`` on a cube several times larger than a memory limit.

Generates N real products of SIZE x SIZE pixels with distinct image ids and acquisition times (default 96 SLC,
int16, 2048 x 2048: a 3 GiB complex64 cube in memory, 5.1 times the default 600 MiB limit, stored as 1.5 GiB
of int16 parts; generation is timed and kept out of the measurements), indexes them (absolute asset hrefs)
and writes two configs: BIG (every product) and SMALL (the first --small products, default 12). Then REPEATS
rounds (default 3) of, interleaved:

  baseline  a subprocess that imports the CLI's modules, searches and builds the (lazy) BIG cube without
            computing it: the memory every run pays before reading a pixel
  small     ``icecube-stac cube SMALL -o OUT.zarr -q --overwrite``
  big       ``icecube-stac cube BIG -o OUT.zarr -q --overwrite``

Each run is a subprocess watched every --poll seconds (default 0.01): its peak RSS is the kernel's high-water
mark (``VmHWM`` of ``/proc/PID/status`` while it runs, ``ru_maxrss`` from ``os.wait4`` at the end; it misses
no short spike, unlike sampling the current RSS), plus the current RSS of any child process (none with the
local scheduler, bar a ``uname`` helper). The limit is enforced
for real: a run whose peak RSS crosses it is killed and reported as ``KILLED``, and the script exits with
status 1. ``RLIMIT_AS`` is not used (it caps address space, which numpy, BLAS and thread arenas reserve far
beyond what they touch). The ``cube`` command has no memory option: with the local threaded scheduler the
working set is (number of dask threads) x (a few chunk-sized buffers), which --threads (``DASK_NUM_WORKERS``)
bounds; dask's memory budget (``distributed.worker.memory.*``) only exists on a distributed cluster.

It prints, per run and as medians: wall time, peak RSS, peak RSS / cube size and peak RSS / limit. Streaming
means the peak is flat in the cube size (small ~ big) and well below the cube size.

Subprocesses import ``icecube_stac`` from the checkout holding this file (``PYTHONPATH``).

Run:  python benchmarks/bench_memory.py [--level SLC] [--products 96] [--limit-mib 600] [--repeats 3] [--threads 2]
Takes about 3-5 minutes on 2 cores and needs about 3.5 GB of disk (products + one Zarr cube at a time).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import psutil
from bench_cube import cli_command, use_this_checkout  # same folder; shared helpers

MIB = 1 << 20
ITEMSIZE = {"GRD": 4, "SLC": 8}  # the cube in memory: float32 amplitude, complex64 slc
FIRST_ACQUISITION = datetime(2024, 3, 1, 3, 41, 27, 518306)
BASELINE = """
import sys
from icecube_stac import cli, output, pipeline
from icecube_stac.config import load_config
ds = pipeline.load_cube(load_config(sys.argv[1]))
assert ds.sizes["time"] > 0
"""


@dataclass(frozen=True)
class Cube:
    name: str
    config: Path
    steps: int
    nbytes: int  # uncompressed


@dataclass(frozen=True)
class Run:
    seconds: float
    peak: int  # bytes, the kernel's high-water mark
    sampled: int  # bytes, the largest current RSS seen while polling
    killed: bool
    returncode: int


def generate(root: Path, level: Literal["GRD", "SLC"], n: int, small: int, size: int) -> dict[str, Cube]:
    from icecube_stac.catalog import index
    from icecube_stac.testing import ProductSpec, write_stack

    specs = [
        ProductSpec(
            level=level,
            image_id=4_000_000 + 37 * i,
            acquisition_start=FIRST_ACQUISITION + timedelta(days=i, hours=12 * (i % 2), minutes=11 * (i % 5)),
            shape=(size, size),
            incidence_center=18.0 + (i % 15),
            orbit_direction="ASCENDING" if i % 2 else "DESCENDING",
            slc_dtype="int16",
            seed=i,
        )
        for i in range(n)
    ]
    start = time.perf_counter()
    products = write_stack(specs, root / "products")
    seconds = time.perf_counter() - start
    on_disk = sum(p.raster.stat().st_size for p in products) / MIB
    print(f"generated {n} {level} products ({size}x{size}) in {seconds:.1f} s: {on_disk:,.0f} MiB of rasters")
    start = time.perf_counter()
    shutil.rmtree(root / "catalog", ignore_errors=True)  # a --workdir of an earlier run: index afresh
    report = index([root / "products"], root / "catalog", asset_hrefs="absolute")
    assert report.ok and len(report.added) == n, report.summary()
    print(f"indexed them in {time.perf_counter() - start:.1f} s")
    cubes = {}
    for name, count in (("small", small), ("big", n)):
        last = specs[count - 1].acquisition_start
        body = {
            "start_date": (FIRST_ACQUISITION - timedelta(days=1)).date().isoformat(),
            "end_date": last.date().isoformat(),
            "product_type": level,
            "catalog": str(root / "catalog"),
        }
        config = root / f"config_{name}.json"
        config.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        cubes[name] = Cube(name, config, count, count * size * size * ITEMSIZE[level])
    return cubes


def _high_water_mark(pid: int) -> int:
    """Peak RSS so far of one process (``VmHWM``), in bytes; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def _children(root: psutil.Process) -> list[psutil.Process]:
    try:
        return root.children(recursive=True)
    except psutil.Error:
        return []


def _rss(process: psutil.Process) -> int:
    with contextlib.suppress(psutil.Error):
        return int(process.memory_info().rss)
    return 0


def watched(command: Sequence[str], env: Mapping[str, str], limit: int, poll: float, log: Path) -> Run:
    """Run ``command``, tracking the peak RSS of its process tree; kill it once the peak exceeds ``limit``.

    The command's own process is measured by its kernel high-water mark (exact). Its children add their
    current RSS once they have been seen by two consecutive polls: a helper started by ``vfork`` (e.g.
    ``uname -p`` from ``platform.processor()``) shares its parent's memory until it execs, so counting it at
    once would count the parent twice; a real worker process lives far longer than one poll.
    """
    with log.open("w", encoding="utf-8") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        root = psutil.Process(proc.pid)
        peak = sampled = 0
        killed = False
        seen: set[int] = set()
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            children = _children(root)
            settled = [c for c in children if c.pid in seen]
            seen = {c.pid for c in children}
            others = sum(_rss(c) for c in settled)
            peak = max(peak, _high_water_mark(proc.pid) + others)
            sampled = max(sampled, _rss(root) + others)
            if not killed and peak > limit:
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: the whole tree, nothing else
                killed = True
            time.sleep(poll)
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak = max(peak, usage.ru_maxrss * 1024)  # ru_maxrss is in KiB on Linux
    return Run(seconds, peak, sampled, killed or peak > limit, proc.returncode)


def mib(value: float) -> str:
    return f"{value / MIB:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--level", choices=("GRD", "SLC"), default="SLC", help="product type (default SLC)")
    parser.add_argument("--products", type=int, default=96, help="products in the big cube (default 96)")
    parser.add_argument("--small", type=int, default=12, help="products in the small cube (default 12)")
    parser.add_argument("--size", type=int, default=2048, help="raster size N x N (default 2048)")
    parser.add_argument("--limit-mib", type=int, default=600, help="memory limit in MiB (default 600)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each measurement (default 3, at least 3)")
    parser.add_argument("--threads", type=int, help="dask threads (DASK_NUM_WORKERS; default: one per core)")
    parser.add_argument("--poll", type=float, default=0.01, help="seconds between two samples (default 0.01)")
    parser.add_argument("--workdir", type=Path, help="keep everything in this folder (default: a temporary one)")
    args = parser.parse_args()
    if args.repeats < 3:
        parser.error("--repeats must be at least 3 (medians)")
    if not 1 <= args.small < args.products:
        parser.error("--small must be between 1 and --products - 1")
    limit = args.limit_mib * MIB
    env = use_this_checkout()
    if args.threads:
        env["DASK_NUM_WORKERS"] = str(args.threads)
    threads = args.threads or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="icecube-bench-memory-") as tmp:
        root = args.workdir.resolve() if args.workdir else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        cubes = generate(root, args.level, args.products, args.small, args.size)
        big = cubes["big"]
        print(
            f"memory limit {args.limit_mib} MiB; big cube {mib(big.nbytes)} MiB uncompressed "
            f"({big.nbytes / limit:.1f}x the limit); small cube {mib(cubes['small'].nbytes)} MiB; "
            f"{threads} dask thread(s)"
        )
        out = root / "cube.zarr"
        commands = {
            "baseline": [sys.executable, "-c", BASELINE, str(big.config)],
            **{
                name: [*cli_command(), "cube", str(cube.config), "-o", str(out), "-q", "--overwrite"]
                for name, cube in cubes.items()
            },
        }
        runs: dict[str, list[Run]] = {name: [] for name in commands}
        for r in range(args.repeats):
            for name, command in commands.items():
                shutil.rmtree(out, ignore_errors=True)
                os.sync()
                result = watched(command, env, limit, args.poll, root / f"{name}-{r}.log")
                runs[name].append(result)
                nbytes = cubes[name].nbytes if name in cubes else big.nbytes
                state = "KILLED (over the limit)" if result.killed else f"exit {result.returncode}"
                print(
                    f"  round {r + 1}/{args.repeats} {name:8s} {result.seconds:6.1f} s  "
                    f"peak RSS {mib(result.peak):>5} MiB"
                    f"  (sampled {mib(result.sampled):>5})  peak/cube {result.peak / nbytes:.2f}  "
                    f"peak/limit {result.peak / limit:.2f}  {state}"
                )
                if name in cubes and not result.killed and result.returncode == 0:
                    stored = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
                    print(f"      wrote {mib(stored)} MiB of Zarr")
        med = statistics.median
        print(
            f"\nGOAL 6: peak RSS, {threads} dask thread(s), medians of {args.repeats} runs; limit {args.limit_mib} MiB "
            "(goal: big peak <= limit and not above small's)"
        )
        header = ("run", "steps", "cube MiB", "wall s", "peak RSS MiB", "peak/cube", "peak/limit", "killed")
        rows = [header]
        for name, results in runs.items():
            cube = cubes.get(name, big)
            peak = med(r.peak for r in results)
            rows.append(
                (
                    name if name in cubes else "baseline (no compute)",
                    str(cube.steps),
                    mib(cube.nbytes),
                    f"{med(r.seconds for r in results):.1f}",
                    mib(peak),
                    f"{peak / cube.nbytes:.3f}",
                    f"{peak / limit:.2f}",
                    str(sum(r.killed for r in results)),
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        for row in rows:
            print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
        growth = med(r.peak for r in runs["big"]) - med(r.peak for r in runs["small"])
        extra = med(r.peak for r in runs["big"]) - med(r.peak for r in runs["baseline"])
        print(
            f"big - small peak: {mib(growth)} MiB for {mib(big.nbytes - cubes['small'].nbytes)} MiB more cube; "
            f"big - baseline peak (the streaming working set): {mib(extra)} MiB"
        )
        failed = [r for results in runs.values() for r in results if r.killed or r.returncode]
        if failed:
            print(f"FAILED: {len(failed)} run(s) were killed over the limit or exited with an error")
            sys.exit(1)


if __name__ == "__main__":
    main()
