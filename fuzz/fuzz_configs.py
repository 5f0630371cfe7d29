"""Fuzz campaign for ``config.json``: mutated configs through load_config, check-config, search and cube.

Run it on demand (it is not part of the test suite)::

    python fuzz/fuzz_configs.py --cases 5000            # about 10 minutes on 2 cores
    python fuzz/fuzz_configs.py --cases 200 --seed 7    # a quick look

Cases come from :mod:`config_mutations` (deterministic for ``--seed``). Each runs in a worker process
with an address-space limit (``RLIMIT_AS``) and a watchdog: ``load_config`` on the file, then the CLI
in-process (``icecube_stac.cli.main``): ``check-config``, ``search`` against a tiny generated catalog
(6 GRD + 4 SLC products of 16 x 16 pixels, indexed once), and every ``--cube-every``-th accepted case
``cube``. The table counts crashes outside the ``IcecubeStacError`` hierarchy (an exception escaping,
or the worker dying on a signal), hangs (no answer within ``--timeout``), memory blow-ups
(``MemoryError``, an allocation abort, or a case whose peak RSS grew by more than ``--memory-growth``
MB) and secret leaks (the planted fake credential in any output or message): all should be zero.
Every such case is saved, with its config, under ``--keep``.

With ``--processes K`` (differential mode, :mod:`fork_differential`), every K-th case whose config loads
also runs the real ``cube`` command as a subprocess twice, with ``DASK_NUM_WORKERS=2`` (its search and plan
made in a forked child) and ``DASK_NUM_WORKERS=1`` (all in one process), and counts a case whose exit
status, stdout, stderr or written files differ ("fork vs in-process differences"); a third of these runs
use a second catalog in which one GRD product's data file is missing, half of them ``--skip-missing``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing as mp
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from config_mutations import SECRET, make_case
from fork_differential import differential

_MB = 1024 * 1024


def _status_mb(field: str) -> float:
    """Return a ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``, ``VmSize``) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM starts again from the current RSS


def _make_catalog(root: Path, name: str = "catalog") -> str:
    from icecube_stac.catalog import index
    from icecube_stac.testing import demo_specs, write_stack

    data = root / f"{name}-data" if name != "catalog" else root / "data"
    write_stack(demo_specs(6, 4, shape=(16, 16)), data)
    report = index([data], root / name, progress=False, asset_hrefs="absolute")
    assert report.ok, report.summary()
    return str(root / name)


def _make_holed_catalog(root: Path) -> str:
    """Return a catalog like :func:`_make_catalog`'s whose first GRD product's data file is gone."""
    catalog = _make_catalog(root, "holed")
    min(Path(f"{catalog}-data").rglob("*.tif")).unlink()  # the item stays in the catalog, its data do not
    return catalog


def _cli(argv: list[str]) -> tuple[str, str]:
    """Run the CLI in-process; return its exit status and everything it printed."""
    from icecube_stac.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            status = str(main(argv))
        except SystemExit as exc:  # argparse
            status = f"exit {exc.code}"
    return status, out.getvalue()


def _differential(index: int, seed: int, path: Path, catalogs: tuple[str, str], work: Path, timeout: float) -> Any:
    """Run the cube command forked and in-process on a catalog and options chosen by the case's own draw."""
    rng = random.Random(f"{seed}:{index}:processes")
    catalog = catalogs[rng.random() < 1 / 3]
    return differential(path, catalog, work, ["--skip-missing"] if rng.random() < 0.5 else [], timeout)


def _case(
    index: int, seed: int, catalog: str, work: Path, cubes: list[int], diff: tuple[list[int], str, float] | None = None
) -> dict[str, Any]:
    """Run one case; ``cubes`` counts this worker's accepted cases, and every ``cubes[1]``-th builds a cube.

    ``diff`` (differential mode): this worker's count of loaded configs and ``K``, the holed catalog and the
    seconds per run; every K-th loaded config runs the cube command forked and in-process.
    """
    from icecube_stac.config import load_config
    from icecube_stac.errors import IcecubeStacError

    case = make_case(seed, index)
    path = work / "config.json"
    path.write_text(case.text, encoding="utf-8")
    result: dict[str, Any] = {"index": index, "mutations": case.mutations, "leaks": [], "crash": None}
    result["memory"] = False
    outputs: dict[str, str] = {}
    rss, started = _status_mb("VmRSS"), time.monotonic()
    _reset_peak()
    stage = "load"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                load_config(path)
                result["load"] = "accepted"
            except IcecubeStacError as exc:
                result["load"] = "refused"
                outputs["load"] = f"{exc}\n{exc!r}\n{getattr(exc, 'value', '')!r}"
        outputs["warnings"] = "\n".join(str(w.message) for w in caught)
        stage = "check-config"
        result["check"], outputs["check-config"] = _cli(["check-config", str(path)])
        stage = "search"
        found = work / "found.json"
        found.unlink(missing_ok=True)
        result["search"], outputs["search"] = _cli(["search", str(path), "--catalog", catalog, "-o", str(found)])
        if result["search"] == "0":
            result["matched"] = len(json.loads(found.read_text())["features"])
        if result["load"] == "accepted" and result["search"] == "0" and result["matched"]:
            cubes[0] += 1
        if result["load"] == "accepted" and result.get("matched") and cubes[0] % cubes[1] == 0:
            stage = "cube"
            cube = ["cube", str(path), "--catalog", catalog, "-o", str(work / "cube.zarr"), "--overwrite", "-q"]
            result["cube"], outputs["cube"] = _cli(cube)
        if diff is not None and result["load"] == "accepted":
            diff[0][0] += 1
            if diff[0][0] % diff[0][1] == 0:
                stage = "processes"
                result["processes"] = _differential(index, seed, path, (catalog, diff[1]), work, diff[2])
                runs = (result["processes"]["forked"], result["processes"]["in-process"])
                outputs["processes"] = "\n".join(run[s] for run in runs for s in ("stdout", "stderr"))
    except MemoryError:
        result["memory"] = True
        result["crash"] = f"{stage}: MemoryError"
    except BaseException as exc:  # anything escaping is a crash outside the hierarchy
        tail = "".join(traceback.format_exception(exc)[-3:])
        result["crash"] = f"{stage}: {type(exc).__name__}: {str(exc)[:300]}\n{tail[-1500:]}"
        outputs["crash"] = result["crash"]
    result["leaks"] = [name for name, text in outputs.items() if SECRET.lower() in text.lower()]
    result["seconds"] = time.monotonic() - started
    result["growth_mb"] = _status_mb("VmHWM") - rss
    return result


def _worker(
    conn: Connection,
    seed: int,
    catalog: str,
    memory_mb: int,
    cube_every: int,
    log: str,
    processes: tuple[int, str, float] | None = None,
) -> None:
    """Answer case numbers with results until told to stop (None); runs in its own process."""
    with open(log, "a") as stream:  # Rust panics and aborts write to fd 2
        os.dup2(stream.fileno(), 2)
    work = Path(tempfile.mkdtemp(prefix="case-"))
    cubes = [0, cube_every]
    _case(0, seed, catalog, work, [0, 1])  # warm up: imports, DuckDB extensions, a cube
    limit = int((_status_mb("VmSize") + memory_mb) * _MB)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    conn.send("ready")
    diff = None if processes is None else ([0, processes[0]], processes[1], processes[2])
    while (index := conn.recv()) is not None:
        conn.send(_case(index, seed, catalog, work, cubes, diff))


class _Worker:
    def __init__(self, ctx: Any, options: argparse.Namespace, catalog: str, number: int) -> None:
        self.log = str(Path(options.keep) / f"worker-{number}.log")
        self.conn, child = ctx.Pipe()
        processes = None
        if options.processes:
            processes = (options.processes, options.holed, options.process_timeout)
        args = (child, options.seed, catalog, options.memory, options.cube_every, self.log, processes)
        self.process = ctx.Process(target=_worker, args=args, daemon=True)
        self.process.start()
        if not self.conn.poll(300) or self.conn.recv() != "ready":
            raise RuntimeError(f"worker {number} did not start; see {self.log}")
        self.case: int | None = None
        self.deadline = 0.0

    def give(self, index: int, timeout: float) -> None:
        self.case, self.deadline = index, time.monotonic() + timeout
        self.conn.send(index)

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return Path(self.log).read_text(errors="replace")[-2000:]
        return ""

    def kill(self) -> None:
        self.process.kill()
        self.process.join(10)


def _died(worker: _Worker, index: int) -> dict[str, Any]:
    worker.process.join(10)
    tail = worker.log_tail()
    memory = any(word in tail for word in ("memory allocation of", "MemoryError", "Cannot allocate", "bad_alloc"))
    crash = f"worker died (exit code {worker.process.exitcode}): {tail[-600:]}"
    return {"index": index, "crash": crash, "memory": memory, "leaks": [], "died": True}


def _save(keep: Path, seed: int, result: dict[str, Any], kind: str) -> None:
    case = make_case(seed, result["index"])
    folder = keep / f"{kind}-{result['index']:05d}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(case.text)
    (folder / "result.json").write_text(json.dumps({**result, "mutations": case.mutations}, indent=2, default=str))


def _campaign(options: argparse.Namespace, catalog: str) -> list[dict[str, Any]]:
    ctx = mp.get_context("spawn")
    os.environ["MALLOC_ARENA_MAX"] = "2"  # glibc arenas would reserve 64 MB of address space per thread
    workers = [_Worker(ctx, options, catalog, n) for n in range(options.workers)]
    todo = list(range(options.cases, 0, -1))  # case 0 warms the workers up
    # A differential case also runs the cube command twice, each run with its own time limit.
    timeout = options.timeout + (2 * options.process_timeout if options.processes else 0)
    results: list[dict[str, Any]] = []
    started, reported = time.monotonic(), 0
    while todo or any(w.case is not None for w in workers):
        for worker in workers:
            if worker.case is None and todo:
                worker.give(todo.pop(), timeout)
        busy = [w for w in workers if w.case is not None]
        soonest = min(w.deadline for w in busy) - time.monotonic()
        ready = wait([w.conn for w in busy], timeout=max(soonest, 0.01))
        for number, worker in enumerate(workers):
            if worker.case is None:
                continue
            index = worker.case
            if worker.conn in ready:
                try:
                    results.append(worker.conn.recv())
                    worker.case = None
                    continue
                except (EOFError, OSError):
                    results.append(_died(worker, index))
            elif time.monotonic() > worker.deadline:
                worker.kill()
                results.append({"index": index, "hang": True, "crash": None, "memory": False, "leaks": []})
            else:
                continue
            workers[number] = _Worker(ctx, options, catalog, number)
        if len(results) >= reported + 250:
            reported = len(results)
            rate = reported / (time.monotonic() - started)
            print(f"  {reported}/{options.cases} cases, {rate:.1f}/s", file=sys.stderr, flush=True)
    for worker in workers:
        worker.conn.send(None)
        worker.process.join(10)
    return sorted(results, key=lambda r: r["index"])


def _table(options: argparse.Namespace, results: list[dict[str, Any]], seconds: float) -> str:
    count: Counter[str] = Counter()
    for r in results:
        count["load " + str(r.get("load"))] += 1
        count["check " + str(r.get("check"))] += 1
        count["search " + str(r.get("search"))] += 1
        count["matched"] += r.get("matched", 0) > 0
        if "cube" in r:
            count["cube " + str(r["cube"])] += 1
    crashes = [r for r in results if r.get("crash") and not r.get("memory")]
    memory = [r for r in results if r.get("memory") or r.get("growth_mb", 0) > options.memory_growth]
    hangs = [r for r in results if r.get("hang")]
    leaks = [r for r in results if r.get("leaks")]
    slowest = max(results, key=lambda r: r.get("seconds", 0))
    largest = max(results, key=lambda r: r.get("growth_mb", 0))
    rows = [
        ("cases", f"{len(results)}"),
        ("accepted / refused by load_config", f"{count['load accepted']} / {count['load refused']}"),
        ("check-config exit 0 / 1", f"{count['check 0']} / {count['check 1']}"),
        ("search exit 0 / 1 (>= 1 item matched)", f"{count['search 0']} / {count['search 1']} ({count['matched']})"),
        ("cube exit 0 / 1", f"{count['cube 0']} / {count['cube 1']}"),
        ("crashes outside the hierarchy", f"{len(crashes)}"),
        (f"hangs (> {options.timeout:g} s)", f"{len(hangs)}"),
        (f"memory blow-ups (> {options.memory_growth} MB)", f"{len(memory)}"),
        ("secret leaks", f"{len(leaks)}"),
        ("slowest case", f"{slowest.get('seconds', 0):.2f} s (#{slowest['index']})"),
        ("largest peak RSS growth", f"{largest.get('growth_mb', 0):.0f} MB (#{largest['index']})"),
    ]
    differing: list[dict[str, Any]] = []
    if options.processes:
        differing = _process_rows(results, rows)
    width = max(len(name) for name, _ in rows)
    head = (
        f"config fuzz campaign: seed {options.seed}, {len(results)} cases in {seconds / 60:.1f} min, "
        f"{options.workers} workers, {options.timeout:g} s and {options.memory} MB per case"
    )
    lines = [head, *(f"  {name.ljust(width)}  {value}" for name, value in rows)]
    for kind, bad in (("crash", crashes), ("hang", hangs), ("memory", memory), ("leak", leaks), ("fork", differing)):
        for r in bad:
            _save(Path(options.keep), options.seed, r, kind)
            said = r.get("crash") or r.get("leaks") or r.get("processes", {}).get("differences") or ""
            lines.append(f"  {kind} #{r['index']}: {str(said)[:200]}")
    return "\n".join(lines)


def _process_rows(results: list[dict[str, Any]], rows: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Add the differential mode's rows to ``rows``; return the cases whose two runs differ."""
    done = [r for r in results if "processes" in r]
    differing = [r for r in done if r["processes"]["differences"]]
    status: Counter[str] = Counter(r["processes"]["in-process"]["status"] for r in done)
    skipping = sum(bool(r["processes"]["extra"]) for r in done)
    seconds = {name: [r["processes"][name]["seconds"] for r in done] for name in ("forked", "in-process")}
    median = {name: statistics.median(values) if values else 0.0 for name, values in seconds.items()}
    rows[-2:-2] = [
        ("cube as a process, forked and in-process", f"{len(done)} ({skipping} with --skip-missing)"),
        ("  in-process exit 0 / 1 / other", f"{status['0']} / {status['1']} / {len(done) - status['0'] - status['1']}"),
        ("  median wall time forked / in-process", f"{median['forked']:.2f} s / {median['in-process']:.2f} s"),
        ("fork vs in-process differences", f"{len(differing)}"),
    ]
    return differing


def main() -> int:
    """Run the campaign and print its table.

    Returns
    -------
    int
        0 when there were no crashes, hangs, memory blow-ups, leaks or fork vs in-process differences, else 1.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per case before it counts as a hang")
    parser.add_argument("--memory", type=int, default=3072, help="address space per case, MB (RLIMIT_AS)")
    parser.add_argument("--memory-growth", type=int, default=512, help="peak RSS growth of a case that counts, MB")
    parser.add_argument("--cube-every", type=int, default=10, help="build the cube of every Nth matching case")
    parser.add_argument(
        "--processes",
        type=int,
        default=0,
        metavar="K",
        help="differential mode: every Kth loaded config also runs the cube command forked and in-process",
    )
    parser.add_argument("--process-timeout", type=float, default=120.0, help="seconds per cube command run")
    parser.add_argument("--keep", help="folder for the catalog, worker logs and problem cases (default: a temp dir)")
    options = parser.parse_args()
    root = Path(options.keep or tempfile.mkdtemp(prefix="fuzz-configs-"))
    options.keep = str(root)
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    catalog = _make_catalog(root)
    options.holed = _make_holed_catalog(root) if options.processes else None
    results = _campaign(options, catalog)
    table = _table(options, results, time.monotonic() - started)
    print(table)
    (root / "table.txt").write_text(table + "\n")
    bad = ("crashes outside", "hangs", "memory blow-ups", "secret leaks", "fork vs in-process")
    return 1 if any(line.split()[-1] != "0" for line in table.splitlines() if line.strip().startswith(bad)) else 0


if __name__ == "__main__":
    sys.exit(main())
