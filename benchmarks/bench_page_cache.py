"""Page-cache benchmark: what writing a cube's bytes costs on this machine, by the memory's state and the write mode.

A cube's chunk files go through the page cache (buffered writes), or past it (``O_DIRECT``,
:mod:`icecube_stac._direct_io`) on a machine that reports its free pages to a host, or with
``ICECUBE_STAC_DIRECT_IO=1``. On such a virtual machine, memory freed a moment ago is handed back to the host,
and each page-cache page must then be faulted in again by the host before the kernel can copy into it. This
script measures it, REPEATS rounds (median), each writing ``--mib`` MiB (default 384, a 12-SLC 4096 x 2048
stack's int16 parts) as 8 MiB chunk files with two threads (the cube writer's jobs), then one ``sync(2)``:

buffered, just freed    the previous round's files deleted right before: their pages are reused at once
buffered, after a wait  deleted, then ``--wait`` seconds (default 3): the freed memory is handed back meanwhile
direct, after a wait    the same wait, then ``O_DIRECT`` writes through one reused 8 MiB buffer per thread
                        (``icecube_stac._direct_io.put_direct``, as the store calls it)

and, for each, the time to the last write returning and to the end of the sync (on disk, as a cube must be
before it is published), and the process's CPU time. The baseline is the first row; ratios are against it.

Run:  python benchmarks/bench_page_cache.py [--mib 384] [--repeats 5] [--wait 3] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from icecube_stac._direct_io import put_direct  # from this checkout (sys.path above)

CHUNK = 8 << 20
THREADS = 2


def _buffered(path: Path, data: bytes) -> None:
    with path.open("wb") as f:
        f.write(data)


def _direct(path: Path, data: bytes) -> None:
    if not put_direct(path, memoryview(data)):
        raise SystemExit(f"{path.parent}: this file system refuses O_DIRECT")


def write_round(folder: Path, data: bytes, count: int, write: Callable[[Path, bytes], None]) -> tuple[float, ...]:
    """Write ``count`` chunk files with two threads, then sync; return (writes s, durable s, CPU s)."""

    def job(first: int) -> None:
        for k in range(first, count, THREADS):
            write(folder / f"c{k}", data)

    cpu, start = time.process_time(), time.perf_counter()
    threads = [threading.Thread(target=job, args=(k,)) for k in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    written = time.perf_counter() - start
    os.sync()
    return written, time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mib", type=int, default=384, help="MiB written per round (default 384)")
    parser.add_argument("--repeats", type=int, default=5, help="rounds per mode (default 5, at least 5)")
    parser.add_argument("--wait", type=float, default=3.0, help="seconds between the delete and a cold round")
    parser.add_argument("--workdir", type=Path, help="a folder on the disk to measure (default: a temporary one)")
    args = parser.parse_args()
    if args.repeats < 5:
        parser.error("--repeats must be at least 5 (medians)")
    data = os.urandom(CHUNK)
    count = max(1, (args.mib << 20) // CHUNK)
    modes = (
        ("buffered, just freed", 0.0, _buffered),
        (f"buffered, after {args.wait:g} s", args.wait, _buffered),
        (f"direct, after {args.wait:g} s", args.wait, _direct),
    )
    samples: dict[str, list[tuple[float, ...]]] = {name: [] for name, _, _ in modes}
    with tempfile.TemporaryDirectory(prefix="icecube-bench-pc-", dir=args.workdir) as tmp:
        folder = Path(tmp) / "chunks"
        folder.mkdir()
        write_round(folder, data, count, _buffered)  # warm-up: the files exist to be deleted
        for r in range(args.repeats):
            for name, wait, write in modes:
                shutil.rmtree(folder)
                folder.mkdir()
                os.sync()
                if wait:
                    time.sleep(wait)
                else:  # the files of a round just written, deleted right before: their pages are freed now
                    write_round(folder, data, count, _buffered)
                    shutil.rmtree(folder)
                    folder.mkdir()
                samples[name].append(write_round(folder, data, count, write))
            print(f"  round {r + 1}/{args.repeats}: " + "  ".join(f"{n} {samples[n][-1][1]:.3f} s" for n in samples))
    print(f"\n{count} x 8 MiB files ({count * CHUNK / 2**20:.0f} MiB), {THREADS} threads, medians of {args.repeats}:")
    print("| mode | writes s | on disk s | ratio | CPU s | MiB/s on disk |")
    print("|---|---|---|---|---|---|")
    base = statistics.median(s[1] for s in samples[modes[0][0]])
    for name, rows in samples.items():
        written, durable, cpu = (statistics.median(col) for col in zip(*rows, strict=True))
        rate = count * CHUNK / 2**20 / durable
        print(f"| {name} | {written:.3f} | {durable:.3f} | {durable / base:.2f}x | {cpu:.3f} | {rate:.0f} |")


if __name__ == "__main__":
    main()
