"""Indexing benchmark: products per second, against parsing the same XML files with the standard library.

Generates N small ICEYE products (GRD GeoTIFF + XML and SLC HDF5 + XML), then, REPEATS times each:
  baseline  xml.etree.ElementTree.parse() of every XML sidecar (nothing else)
  index     icecube_stac.catalog.index() into a fresh catalog folder (metadata, items, collections,
            JSON + stac-geoparquet, atomic swap)
  reindex   index() again on the unchanged folder (the incremental no-op path)
and prints medians and ratios. Run:  python benchmarks/bench_index.py [--products 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from icecube_stac.catalog import index
from icecube_stac.testing import ProductSpec, write_product


def generate(folder: Path, n: int) -> list[Path]:
    xmls = []
    for i in range(n):
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


def timed(func: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="icecube-bench-") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        xmls = generate(root / "data", args.products)
        print(f"generated {args.products} products in {time.perf_counter() - start:.1f} s")

        def baseline() -> None:
            for path in xmls:
                ET.parse(path)

        def fresh_index() -> None:
            shutil.rmtree(root / "catalog", ignore_errors=True)
            report = index([root / "data"], root / "catalog")
            assert report.ok and len(report.added) == args.products, report.summary()

        def reindex() -> None:
            report = index([root / "data"], root / "catalog")
            assert not report.written

        base = statistics.median(timed(baseline, args.repeats))
        full = statistics.median(timed(fresh_index, args.repeats))
        again = statistics.median(timed(reindex, args.repeats))
    n = args.products
    print(f"baseline  stdlib ElementTree.parse of {n} XML: median {base:.3f} s  ({n / base:,.0f} files/s)")
    print(
        f"index     fresh catalog of {n} products:      median {full:.3f} s  ({n / full:,.0f} products/s)"
        f"  ratio {full / base:.1f}x baseline"
    )
    print(
        f"reindex   unchanged folder (no-op):          median {again:.3f} s  ({n / again:,.0f} products/s)"
        f"  ratio {again / base:.1f}x baseline"
    )


if __name__ == "__main__":
    main()
