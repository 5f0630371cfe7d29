"""Indexing benchmark: products per second for both generations, each against a baseline measured in the same run.

Generated outside the timed part (``--keep DIR`` reuses them): N small legacy products (GRD GeoTIFF + XML,
every 4th an SLC HDF5 + XML), M legacy products for the unchanged re-index, and C ICEYE COG products (256 x 256,
side-car STAC item; every 4th an SLC). Then, REPEATS times each (medians; the columns take turns run by run):

  legacy   xml baseline   xml.etree.ElementTree.parse() of every XML sidecar (nothing else)
           index          icecube_stac.catalog.index() into a fresh catalog (metadata, items validated,
                          collections, JSON + stac-geoparquet, atomic swap)
           cli            the same as a whole process: python -m icecube_stac.cli index DATA --catalog C -q
  reindex  walk baseline  os.walk + os.stat of every file under the M products (the floor of "what changed?")
           reindex        index() again on the unchanged folder of M products (nothing read, nothing written)
  cog      baseline       per product: rasterio.open the COG (header, tags), json.load the side-car, build a
                          pystac.Item from it and write its JSON (no normalisation, no validation, no catalog)
           index          icecube_stac.catalog.index() of the COG folder into a fresh catalog

With ``--before CHECKOUT`` (a source tree of another commit, e.g. ``git archive d48d088 | tar -x -C /tmp/old``),
the fresh legacy index and the unchanged re-index are also timed with that tree's indexer and, for a fair
comparison, with this one's, each in its own process (imports and a warm-up index of 10 products outside the
timed part), the four taking turns run by run.

Run:  python benchmarks/bench_index.py [--products 1000] [--reindex-products 10000] [--cog-products 1000]
      [--repeats 5] [--keep /tmp/bench-index] [--before /tmp/old]
      (issue 9 goal 8: >= 300 products/s fresh, re-index of 10,000 <= 2 s)
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import pystac
import rasterio

from icecube_stac.catalog import index
from icecube_stac.testing import ProductSpec, write_product
from icecube_stac.testing.cog import CogProductSpec, write_cog_product


def generate(folder: Path, n: int, first: int = 0) -> list[Path]:
    """Write ``n`` legacy products (one folder each) and return their XML sidecars."""
    xmls = []
    for i in range(first, first + n):
        spec = ProductSpec(
            level="GRD" if i % 4 else "SLC",
            image_id=500000 + i,
            acquisition_start=datetime(2023, 1, 1, 5, 0, 0, 250000) + timedelta(hours=7 * i),
            shape=(32, 24),
            incidence_center=15.0 + (i % 25),
            orbit_direction="ASCENDING" if i % 2 else "DESCENDING",
            look_side="left" if i % 3 == 0 else "right",
            seed=i,
        )
        product = write_product(spec, folder / f"{i:05d}")
        assert product.xml is not None
        xmls.append(product.xml)
    return xmls


def generate_cogs(folder: Path, n: int) -> list[Path]:
    """Write ``n`` COG products (256 x 256, side-car item; every 4th an SLC) and return their rasters."""
    tifs = []
    for i in range(n):
        spec = CogProductSpec(
            level="GRD" if i % 4 else "SLC",
            image_id=7100000 + i,
            shape=(256, 256),
            seed=i,
            look_side="left" if i % 3 == 0 else "right",
            orbit_direction="ascending" if i % 2 else "descending",
            acquisition_start=datetime(2025, 1, 1, 5, 0, 0) + timedelta(hours=7 * i),
        )
        tifs.append(write_cog_product(spec, folder / f"{i:05d}").tif)
    return tifs


def _ready(folder: Path, count: int, make: Callable[[Path, int], list[Path]], pattern: str) -> list[Path]:
    """Generate into ``folder`` unless it already holds ``count`` products (``--keep``); return their files."""
    found = sorted(folder.glob(pattern))
    if len(found) == count:
        return found
    shutil.rmtree(folder, ignore_errors=True)
    start = time.perf_counter()
    files = make(folder, count)
    print(f"generated {count} products in {folder} in {time.perf_counter() - start:.1f} s", flush=True)
    return sorted(files)


def cog_baseline(tifs: list[Path], out: Path) -> None:
    """What any COG indexer must do at least: open each raster's header, read its side-car, write an item."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    for tif in tifs:
        with rasterio.open(tif) as src:
            src.tags()
        item = pystac.Item.from_dict(json.loads(tif.with_suffix(".json").read_text()))
        (out / f"{item.id}.json").write_text(json.dumps(item.to_dict(include_self_link=False)))


def walk_baseline(folder: Path) -> int:
    """Stat every file under ``folder``: the least an incremental indexer must do to know nothing changed."""
    count = 0
    for current, _, files in os.walk(folder):
        for name in files:
            os.stat(os.path.join(current, name))
            count += 1
    return count


_RUNNER = """
import json, shutil, sys, time
from pathlib import Path
from icecube_stac.catalog import index
data, catalog, mode, warm = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
shutil.rmtree(warm, ignore_errors=True)
index(sorted(data.iterdir())[:10], warm)  # imports, validators and readers warm, outside the clock
if mode == "fresh":
    shutil.rmtree(catalog, ignore_errors=True)
start = time.perf_counter()
report = index([data], catalog)
seconds = time.perf_counter() - start
assert report.ok and (mode == "ensure" or report.written == (mode == "fresh")), report.summary()
print(json.dumps(seconds))
"""


def in_process_of(tree: Path, data: Path, catalog: Path, mode: str, warm: Path) -> float:
    """Time one index() of ``data`` by the indexer of source tree ``tree``, in a process of its own."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-c", _RUNNER, str(data), str(catalog), mode, str(warm)]
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env, cwd=tree).stdout
    return float(json.loads(out.strip().splitlines()[-1]))


def interleaved(columns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Run each column ``repeats`` times, taking turns, and return each one's median wall time."""
    times: dict[str, list[float]] = {name: [] for name in columns}
    for _ in range(repeats):
        for name, func in columns.items():
            gc.collect()
            start = time.perf_counter()
            func()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def _row(what: str, n: int, seconds: float, base: float | None = None) -> str:
    ratio = "" if base is None else f"  {seconds / base:5.2f}x baseline"
    return f"{what:<44} {seconds:8.3f} s  {n / seconds:10,.0f} /s{ratio}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--reindex-products", type=int, default=10000)
    parser.add_argument("--cog-products", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="folder for the generated products, reused when complete")
    parser.add_argument("--before", type=Path, help="source tree of another commit to compare with")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="icecube-bench-") as tmp:
        work = Path(tmp)
        keep = args.keep or work
        n, m, c = args.products, args.reindex_products, args.cog_products
        legacy = keep / f"legacy-{n}"
        xmls = _ready(legacy, n, lambda f, k: generate(f, k), "*/*.xml")
        many = keep / f"legacy-{m}"
        _ready(many, m, lambda f, k: generate(f, k), "*/*.xml")
        cogs = keep / f"cog-{c}"
        tifs = _ready(cogs, c, generate_cogs, "*/*.tif")

        def fresh(data: Path, catalog: Path, count: int) -> Callable[[], None]:
            def run() -> None:
                shutil.rmtree(catalog, ignore_errors=True)
                report = index([data], catalog)
                assert report.ok and len(report.added) == count, report.summary()

            return run

        def cli() -> None:
            shutil.rmtree(work / "cli", ignore_errors=True)
            command = [sys.executable, "-m", "icecube_stac.cli", "index", str(legacy), "--catalog", str(work / "cli")]
            subprocess.run([*command, "-q"], check=True, stdout=subprocess.DEVNULL)

        many_catalog = keep / f"catalog-{m}"  # with --keep, indexed once and reused (still unchanged) next time

        def reindex() -> None:
            report = index([many], many_catalog)
            assert not report.written and len(report.unchanged) == m, report.summary()

        legacy_times = interleaved(
            {
                "xml": lambda: [ET.parse(path) for path in xmls],
                "index": fresh(legacy, work / "legacy", n),
                "cli": cli,
            },
            args.repeats,
        )
        start = time.perf_counter()
        assert index([many], many_catalog).ok  # the catalog the re-index finds unchanged
        print(f"indexed {m} products once in {time.perf_counter() - start:.1f} s (not timed below)", flush=True)
        reindex_times = interleaved({"walk": lambda: walk_baseline(many), "reindex": reindex}, args.repeats)
        cog_times = interleaved(
            {"baseline": lambda: cog_baseline(tifs, work / "plain"), "index": fresh(cogs, work / "cogcat", c)},
            args.repeats,
        )
        before: dict[str, float] = {}
        if args.before is not None:
            here = Path(__file__).resolve().parents[1]
            trees = {"now": here, "before": args.before.resolve()}
            for name, tree in trees.items():  # each tree's own catalog of the M products, indexed once
                in_process_of(tree, many, keep / f"catalog-{m}-{name}", "ensure", work / "warm")
            runs: dict[str, Callable[[], float]] = {}
            for name, tree in trees.items():
                runs[f"{name} fresh"] = partial(
                    in_process_of, tree, legacy, work / f"fresh-{name}", "fresh", work / "warm"
                )
                runs[f"{name} reindex"] = partial(
                    in_process_of, tree, many, keep / f"catalog-{m}-{name}", "reindex", work / "warm"
                )
            timed: dict[str, list[float]] = {name: [] for name in runs}
            for _ in range(args.repeats):
                for name, run in runs.items():
                    timed[name].append(run())
            before = {name: statistics.median(values) for name, values in timed.items()}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"\nmedians of {args.repeats} runs, {cores} usable cores, default workers")
    print(_row(f"legacy: ElementTree.parse of {n} XML (baseline)", n, legacy_times["xml"]))
    print(_row(f"legacy: index() of {n} into a fresh catalog", n, legacy_times["index"], legacy_times["xml"]))
    print(_row(f"legacy: CLI index of {n} (whole process)", n, legacy_times["cli"], legacy_times["xml"]))
    print(_row(f"reindex: os.walk + stat of {m} products (baseline)", m, reindex_times["walk"]))
    print(_row(f"reindex: unchanged re-index of {m}", m, reindex_times["reindex"], reindex_times["walk"]))
    print(_row(f"cog: rasterio + side-car + pystac of {c} (baseline)", c, cog_times["baseline"]))
    print(_row(f"cog: index() of {c} into a fresh catalog", c, cog_times["index"], cog_times["baseline"]))
    if before:
        print(f"\nthis tree against {args.before} (index() only, each in its own warmed-up process)")
        print(_row(f"before: index() of {n} into a fresh catalog", n, before["before fresh"]))
        print(_row(f"now:    index() of {n} into a fresh catalog", n, before["now fresh"], before["before fresh"]))
        print(_row(f"before: unchanged re-index of {m}", m, before["before reindex"]))
        print(_row(f"now:    unchanged re-index of {m}", m, before["now reindex"], before["before reindex"]))


if __name__ == "__main__":
    main()
