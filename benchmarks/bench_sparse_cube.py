"""Sparse cube benchmark: a year of daily slots holding 12 products, whole ``icecube-stac cube`` processes.

A regular time axis (``temporal_resolution``) gives a slot to every step, and ICEYE revisits are irregular: a
year of daily slots for the 12 GRD products of ``bench_cube.py`` (one every 2 days in March 2024) is 366
slots, 354 of them empty. Every chunk of an empty slot is stored (as ``write_cube`` stores them:
``icecube_stac/cube/_fill_chunks.py``), so this measures what the empty slots cost. REPEATS rounds (default 5),
interleaved, each a whole process, after one untimed warm-up of each:

sparse    ``icecube-stac cube SPARSE.json -o OUT.zarr -q --overwrite``: the year, default settings
dense     the same command on the 12 products alone (``bench_cube.py``'s config): no empty slot
plain     one sequential zarr-python script (``plain()``): a 366-slot uint16 array with the cube's chunks and
          codec (Blosc LZ4, bit-shuffle), each product read with rasterio and written into its slot; the empty
          slots are never written (zarr's fill), the least any writer of this cube can do
library   the year through the library in a whole process: ``write_cube(load_cube(load_config(SPARSE)), OUT)``,
          which hands a cube straight from ``build_cube`` to the command's direct writer
xarray    the same script with that hand-over switched off (``icecube_stac.output.direct_writer`` returning
          None): ``write_cube``'s xarray path, what the library did before (every empty chunk encoded by zarr)
lib-dense, xarray-dense   the same two on the 12 products alone
before    with ``--before CHECKOUT``: the sparse command run with that checkout's ``icecube_stac``

Each output is removed and ``os.sync()`` called before each run (untimed). Medians and same-run ratios.

Run:  python benchmarks/bench_sparse_cube.py [--workdir DIR] [--repeats 5] [--before CHECKOUT]
Uses (and generates if missing) the products of ``bench_cube.py`` in --workdir: ~1 GB.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_cube as bc

YEAR = ("2024-01-01", "2024-12-31")
_LIBRARY = (
    "import icecube_stac.output\n{off}"
    "from icecube_stac import load_config, load_cube, write_cube\n"
    "write_cube(load_cube(load_config({config!r})), {out!r}, overwrite=True)\n"
)


def plain(job: dict[str, Any]) -> None:
    """Write the products into their daily slots of a year-long LZ4 Zarr v3 array; leave the rest unwritten."""
    import rasterio
    import zarr
    from zarr.codecs import BloscCodec

    days = (date.fromisoformat(YEAR[1]) - date.fromisoformat(YEAR[0])).days + 1
    group = zarr.open_group(job["out"], mode="w", zarr_format=3)
    array = group.create_array(
        "amplitude",
        shape=(days, *job["shape"]),
        chunks=(1, 2048, 2048),
        dtype="uint16",
        compressors=BloscCodec(cname="lz4", clevel=5, shuffle="bitshuffle"),
        fill_value=0,
    )
    for path, day in zip(job["rasters"], job["days"], strict=True):
        with rasterio.open(path) as src:
            array[day] = src.read(1)


def _days(stack: bc.Stack) -> list[int]:
    """Each product's slot: its acquisition day of the year (``bench_cube.generate`` spaces them 2 days apart)."""
    first = (bc.FIRST_ACQUISITION.date() - date.fromisoformat(YEAR[0])).days
    return [first + 2 * i for i in range(len(stack.rasters))]


def _check(cube: Path, reference: Path, days: list[int]) -> str:
    """Compare the stored DN of the product slots and of two empty ones with the plain script's array."""
    import numpy as np
    import zarr

    ours, theirs = zarr.open_array(cube / "amplitude", mode="r"), zarr.open_array(reference / "amplitude", mode="r")
    for day in [*days, 0, 365]:
        if not np.array_equal(ours[day], theirs[day]):
            return f"DIFFERS from the plain script's at slot {day}"
    return f"stored DN equal to the plain script's at the {len(days)} product slots and 2 empty ones"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each (default 5, at least 5)")
    parser.add_argument("--workdir", type=Path, help="bench_cube.py's products folder (default: a temporary one)")
    parser.add_argument("--before", type=Path, help="another checkout to time the sparse command with")
    parser.add_argument("--job", help=argparse.SUPPRESS)  # the plain script's subprocess
    args = parser.parse_args()
    if args.job:
        plain(json.loads(Path(args.job).read_text(encoding="utf-8")))
        return
    if args.repeats < 5:
        parser.error("--repeats must be at least 5 (medians)")
    env = bc.use_this_checkout()
    with tempfile.TemporaryDirectory(prefix="icecube-bench-sparse-") as tmp:
        root = args.workdir.resolve() if args.workdir else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        stack = bc.generate(root, 12, 4096)["GRD"]
        config = json.loads(stack.config.read_text(encoding="utf-8"))
        sparse = root / "config_GRD_year.json"
        body = {**config, "start_date": YEAR[0], "end_date": YEAR[1], "temporal_resolution": 1}
        sparse.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        job = root / "plain_job.json"
        names = ("sparse", "dense", "plain", "library", "xarray", "lib-dense", "xarray-dense", "before")
        outs = {name: root / f"{name}_year.zarr" for name in names}
        job_body = {"out": str(outs["plain"]), "rasters": [str(p) for p in stack.rasters], "shape": stack.shape}
        job.write_text(json.dumps({**job_body, "days": _days(stack)}), encoding="utf-8")
        cli = [*bc.cli_command(), "cube"]
        commands = {
            "sparse": [*cli, str(sparse), "-o", str(outs["sparse"]), "-q", "--overwrite"],
            "dense": [*cli, str(stack.config), "-o", str(outs["dense"]), "-q", "--overwrite"],
            "plain": [sys.executable, str(Path(__file__).resolve()), "--job", str(job)],
        }
        for name, cfg in (("library", sparse), ("lib-dense", stack.config)):
            commands[name] = [sys.executable, "-c", _LIBRARY.format(off="", config=str(cfg), out=str(outs[name]))]
            xname = "xarray" if name == "library" else "xarray-dense"
            off = "icecube_stac.output.direct_writer = lambda *args: None\n"
            commands[xname] = [sys.executable, "-c", _LIBRARY.format(off=off, config=str(cfg), out=str(outs[xname]))]
        envs = {name: env for name in commands}
        if args.before:
            commands["before"] = [*cli, str(sparse), "-o", str(outs["before"]), "-q", "--overwrite"]
            envs["before"] = {**env, "PYTHONPATH": str(args.before.resolve())}
            bc.compile_package(args.before.resolve())
        print(f"{len(stack.rasters)} GRD products {stack.shape}, a daily axis over {YEAR[0]}..{YEAR[1]}; {bc.load()}")
        times: dict[str, list[float]] = {name: [] for name in commands}
        for name, command in commands.items():  # warm-up
            bc.fresh(outs[name])
            bc.run(command, envs[name])
        for r in range(args.repeats):
            for name, command in commands.items():
                bc.fresh(outs[name])
                times[name].append(bc.run(command, envs[name]))
            print(f"  round {r + 1}/{args.repeats}: " + "  ".join(f"{n} {t[-1]:.2f} s" for n, t in times.items()))
        files = sum(1 for p in outs["sparse"].rglob("*") if p.is_file())
        check = _check(outs["sparse"], outs["plain"], _days(stack))
        med = {name: statistics.median(t) for name, t in times.items()}
        print(f"\nSPARSE CUBE: whole processes, medians of {args.repeats} interleaved runs ({bc.load()})")
        rows = [
            ("sparse (366 slots, 354 empty)", "sparse"),
            ("plain zarr script", "plain"),
            ("dense (12 slots)", "dense"),
        ]
        rows += [(f"before ({args.before})", "before")] if "before" in med else []
        rows += [("library: write_cube(load_cube(...))", "library"), ("library, xarray path", "xarray")]
        rows += [("library dense", "lib-dense"), ("library dense, xarray path", "xarray-dense")]
        for label, name in rows:
            ratio = "" if name == "sparse" else f"  sparse/{name} {med['sparse'] / med[name]:.2f}x"
            print(f"  {label:34s} {med[name]:6.2f} s{ratio}")
        year, dense = med["library"] / med["xarray"], med["lib-dense"] / med["xarray-dense"]
        print(f"  library / its xarray path: the year {year:.2f}x, dense {dense:.2f}x")
        print(f"  the sparse cube: {files} files; {check}")
        for name in ("library", "xarray"):
            print(f"  {name}: {_check(outs[name], outs['plain'], _days(stack))}")
        for name, t in times.items():
            print(f"  {name:7s} all runs: {[round(x, 2) for x in t]}")
        for out in outs.values():
            bc.fresh(out)


if __name__ == "__main__":
    main()
