"""Kill campaign: ``kill -9`` at random moments of ``icecube-stac index`` and ``icecube-stac cube --overwrite``.

Run on demand (not in CI)::

    python fuzz/kill_campaign.py --kills 30      # 30 kills of each command, a few minutes

Index: a catalog grows by a few new products per round; each round starts ``icecube-stac index`` on the
data folder and kills it (SIGKILL) after a random delay within the length of an uninterrupted run. The
catalog folder must then hold exactly the bytes it had before the run, or the complete new state (every
product of the round indexed); every item, collection and the catalog validate offline and items.parquet
lists exactly the item files. The next, uninterrupted run must complete, lose no item, and leave no
staging folder (``.NAME.tmp-*`` / ``.NAME.old-*``) behind.

Cube: two configs give two different cubes A and B of the same catalog; rounds alternate writing A and B
to one ``X.zarr`` with ``--overwrite`` and kill the writer at a random moment. ``open_cube(X.zarr)`` must
then work and its values equal the previous cube or the complete new one, never a mix; the next,
uninterrupted write must leave no staging folder behind.

The table counts kills, kills that landed while the command ran, the states found (previous / new),
and the problems, which must all be zero: broken (neither state, unreadable or invalid), leftovers after
the next run, items lost.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from icecube_stac.output import open_cube  # noqa: E402
from icecube_stac.stac import validate  # noqa: E402
from icecube_stac.testing import ProductSpec, write_product  # noqa: E402

_CLI = "import sys; from icecube_stac.cli import main; sys.exit(main())"


def _command(*args: str) -> list[str]:
    return [sys.executable, "-c", _CLI, *args]


def _environment() -> dict[str, str]:
    # The children import the same icecube_stac as this script (a checkout or a snapshot of one).
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)}


def _snapshot(folder: Path) -> dict[str, str]:
    """Return relative path -> sha256 of every file under a folder (empty if it does not exist)."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _leftovers(target: Path) -> list[str]:
    pattern = re.compile(re.escape(f".{target.name}.") + r"(tmp|old)-")
    return sorted(p.name for p in target.parent.iterdir() if pattern.match(p.name))


def _run(args: list[str], kill_after: float | None) -> tuple[bool, float]:
    """Run a CLI command; kill it with SIGKILL after ``kill_after`` s. Return (killed while running, seconds)."""
    start = time.monotonic()
    process = subprocess.Popen(
        args, env=_environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    if kill_after is None:
        _, err = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(args[3:])} failed ({process.returncode}): {err.decode()[-2000:]}")
        return False, time.monotonic() - start
    try:
        process.wait(timeout=kill_after)
        return False, time.monotonic() - start
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the command and any worker it started
        process.wait()
        return True, time.monotonic() - start
    finally:
        if process.stderr is not None:
            process.stderr.close()


# --------------------------------------------------------------------------------------------------------
# Catalog checks
# --------------------------------------------------------------------------------------------------------


def _catalog_problems(catalog: Path) -> tuple[set[str], list[str]]:
    """Validate a catalog folder offline; return its item ids and the problems found."""
    import pyarrow.parquet as pq

    problems: list[str] = []
    if not (catalog / "catalog.json").is_file():
        return set(), ["no catalog.json"]
    documents = [catalog / "catalog.json", *catalog.glob("*/collection.json"), *catalog.glob("*/items/*.json")]
    for path in documents:
        try:
            validate(json.loads(path.read_text()))
        except Exception as exc:
            problems.append(f"{path.relative_to(catalog)}: {type(exc).__name__}: {str(exc)[:200]}")
    ids = {p.stem for p in catalog.glob("*/items/*.json")}
    parquet_ids: set[str] = set()
    for parquet in catalog.rglob("*.parquet"):
        try:
            parquet_ids |= set(pq.read_table(parquet, columns=["id"]).column("id").to_pylist())
        except Exception as exc:
            problems.append(f"{parquet.name}: {type(exc).__name__}: {exc}")
    if parquet_ids != ids:
        problems.append(f"items.parquet and the item files differ: {sorted(parquet_ids ^ ids)[:5]}")
    return ids, problems


@dataclass
class Tally:
    """What one phase of the campaign found."""

    counts: Counter[str]
    problems: list[str]


def index_campaign(work: Path, kills: int, grow: int, rng: random.Random) -> Tally:
    """Grow a catalog under SIGKILLs of ``icecube-stac index``."""
    pool, data, catalog = work / "pool", work / "data", work / "catalog"
    specs = [
        ProductSpec(
            level="GRD" if n % 3 else "SLC",
            image_id=600000 + n,
            shape=(48, 40),
            seed=n,
            acquisition_start=ProductSpec.acquisition_start.replace(month=1 + n % 12, day=1 + n % 28),
        )
        for n in range((kills + 4) * grow)
    ]
    products = [write_product(spec, pool / f"p{n:04d}") for n, spec in enumerate(specs)]
    data.mkdir()

    def add(count: int) -> None:
        for product in products[:count]:
            if not (data / product.raster.parent.name).exists():
                shutil.copytree(product.raster.parent, data / product.raster.parent.name)

    def expected() -> set[str]:
        return {p.name for p in products if (data / p.raster.parent.name).exists()}

    index = _command("index", str(data), "--catalog", str(catalog), "-q")
    size = 3 * grow
    add(size)
    _, duration = _run(index, None)
    counts: Counter[str] = Counter()
    problems: list[str] = []
    for round_ in range(kills):
        before = _snapshot(catalog)
        before_ids = {p.stem for p in catalog.glob("*/items/*.json")}
        size += grow
        add(size)
        delay = rng.uniform(0.0, duration * 1.1)
        killed, _ = _run(index, delay)
        counts["kills"] += 1
        counts["killed mid-run"] += killed
        after = _snapshot(catalog)
        ids, found = _catalog_problems(catalog)
        if after == before:
            counts["previous state"] += 1
        elif ids == expected() and not found:
            counts["new state"] += 1
        else:
            counts["broken"] += 1
            problems.append(f"index round {round_} (kill at {delay:.2f} s): neither state: {found[:3]}")
        if found and after != before:
            problems.append(f"index round {round_}: invalid catalog: {found[:3]}")
        _, duration = _run(index, None)  # the next run completes
        ids, found = _catalog_problems(catalog)
        if found or ids != expected():
            counts["broken"] += 1
            problems.append(f"index round {round_}: after the next run: {found[:3]} {sorted(expected() ^ ids)[:3]}")
        if before_ids - ids:
            counts["items lost"] += len(before_ids - ids)
            problems.append(f"index round {round_}: items lost: {sorted(before_ids - ids)[:3]}")
        if leftovers := _leftovers(catalog):
            counts["leftovers after next run"] += len(leftovers)
            problems.append(f"index round {round_}: leftovers {leftovers}")
    counts["items in the end"] = len({p.stem for p in catalog.glob("*/items/*.json")})
    return Tally(counts, problems)


# --------------------------------------------------------------------------------------------------------
# Cube checks
# --------------------------------------------------------------------------------------------------------


def _cube_values(path: Path) -> dict[str, Any] | None:
    import numpy as np

    try:
        cube = open_cube(path).load()
    except Exception:
        return None
    values: dict[str, Any] = {str(name): np.asarray(cube[name].values) for name in cube.data_vars}
    values["time"] = np.asarray(cube["time"].values)
    return values


def _same(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    import numpy as np

    if a is None or b is None or a.keys() != b.keys():
        return False
    return all(a[k].shape == b[k].shape and np.array_equal(a[k], b[k], equal_nan=True) for k in a)


def cube_campaign(work: Path, kills: int, rng: random.Random) -> Tally:
    """Alternate two cubes into one Zarr path under SIGKILLs of ``icecube-stac cube --overwrite``."""
    catalog = work / "catalog"
    configs = {}
    for name, end in (("A", 20301231), ("B", 20210620)):
        config = work / f"config{name}.json"
        config.write_text(json.dumps({"catalog": str(catalog), "product_type": "GRD", "end_date": end}))
        configs[name] = config

    def cube(name: str, output: Path) -> list[str]:
        return _command("cube", str(configs[name]), "-o", str(output), "--overwrite", "-q", "--chunks", "16,16")

    reference = {}
    durations = []
    for name in configs:
        _, seconds = _run(cube(name, work / f"ref{name}.zarr"), None)
        durations.append(seconds)
        reference[name] = _cube_values(work / f"ref{name}.zarr")
    if _same(reference["A"], reference["B"]):
        raise RuntimeError("cubes A and B are the same: the campaign could not tell them apart")
    target = work / "X.zarr"
    _run(cube("A", target), None)
    current = "A"
    counts: Counter[str] = Counter()
    problems: list[str] = []
    for round_ in range(kills):
        new = "B" if current == "A" else "A"
        delay = rng.uniform(0.0, max(durations) * 1.1)
        killed, _ = _run(cube(new, target), delay)
        counts["kills"] += 1
        counts["killed mid-run"] += killed
        values = _cube_values(target)
        if _same(values, reference[current]):
            counts["previous state"] += 1
        elif _same(values, reference[new]):
            counts["new state"] += 1
        else:
            counts["broken"] += 1
            problems.append(
                f"cube round {round_} (kill at {delay:.2f} s): {'unreadable' if values is None else 'mixed'}"
            )
        _run(cube(new, target), None)  # the next write completes
        current = new
        if not _same(_cube_values(target), reference[current]):
            counts["broken"] += 1
            problems.append(f"cube round {round_}: the completed write differs from cube {current}")
        if leftovers := _leftovers(target):
            counts["leftovers after next run"] += len(leftovers)
            problems.append(f"cube round {round_}: leftovers {leftovers}")
    return Tally(counts, problems)


def main(argv: list[str] | None = None) -> int:
    """Run both campaigns and print the table; exit status 1 if any problem count is not zero."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=30, help="kills of each command (default 30)")
    parser.add_argument("--grow", type=int, default=3, help="products added per index round (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="icecube-kill-"))
    start = time.monotonic()
    try:
        tallies = {"index": index_campaign(work, args.kills, args.grow, rng)}
        tallies["cube --overwrite"] = cube_campaign(work, args.kills, rng)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    columns = ["kills", "killed mid-run", "previous state", "new state", "broken", "leftovers after next run"]
    columns.append("items lost")
    print(f"kill_campaign: seed {args.seed}, {args.kills} kills per command, {time.monotonic() - start:.0f} s")
    print("| command | " + " | ".join(columns) + " |")
    print("|---|" + "|".join("---:" for _ in columns) + "|")
    for name, tally in tallies.items():
        print(f"| {name} | " + " | ".join(str(tally.counts[c]) for c in columns) + " |")
    final = tallies["index"].counts["items in the end"]
    print(f"catalog items in the end: {final}")
    problems = [p for tally in tallies.values() for p in tally.problems]
    for line in problems:
        print(line)
    bad = sum(t.counts[c] for t in tallies.values() for c in ("broken", "leftovers after next run", "items lost"))
    return 1 if bad or problems else 0


if __name__ == "__main__":
    sys.exit(main())
