"""Stage 72: early write-back. Each file either cube writer stores in Zarr is handed to the kernel's write-back at
once (what it writes is unchanged; the final sync before publishing stays), missing files are skipped, no file
descriptor is left open, and the store still pickles for distributed workers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from icecube_stac import _zarr_store
from icecube_stac._writeback import start_writeback
from icecube_stac.config import load_config
from icecube_stac.cube._build import cube_of_plan
from icecube_stac.cube._direct import write_plan
from icecube_stac.cube._plan import plan_cube
from icecube_stac.output import write_cube
from tests._cube_stacks import item_of, make_product


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="write-back hints are a POSIX (Linux) feature")
def test_each_existing_file_is_handed_to_write_back_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = [tmp_path / f"chunk-{k}" for k in range(3)]
    for k, file in enumerate(files):
        file.write_bytes(bytes([k]) * 4096)
    calls: list[tuple[int, int, int, int]] = []
    real = os.posix_fadvise

    def recorded(fd: int, offset: int, length: int, advice: int) -> None:
        calls.append((os.fstat(fd).st_ino, offset, length, advice))
        real(fd, offset, length, advice)

    monkeypatch.setattr(os, "posix_fadvise", recorded)
    open_before = len(os.listdir("/proc/self/fd"))
    start_writeback([files[0], tmp_path / "missing", files[1], files[2]])
    assert [c[0] for c in calls] == [f.stat().st_ino for f in files]
    assert {c[1:] for c in calls} == {(0, 0, os.POSIX_FADV_DONTNEED)}
    assert len(os.listdir("/proc/self/fd")) == open_before
    assert [f.read_bytes() for f in files] == [bytes([k]) * 4096 for k in range(3)]  # contents untouched


def test_a_file_system_without_hints_is_left_to_the_final_sync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "chunk"
    file.write_bytes(b"x" * 100)

    def unsupported(fd: int, offset: int, length: int, advice: int) -> None:
        raise OSError(95, "Operation not supported")

    monkeypatch.setattr(os, "posix_fadvise", unsupported, raising=False)
    start_writeback([file])  # no error: the sync before the cube is published makes it durable
    assert file.read_bytes() == b"x" * 100


def _recorded_fadvise(monkeypatch: pytest.MonkeyPatch) -> set[int]:
    """Record the inode of every file handed to write-back (the writers' threads included)."""
    seen: set[int] = set()
    real = os.posix_fadvise

    def recorded(fd: int, offset: int, length: int, advice: int) -> None:
        seen.add(os.fstat(fd).st_ino)
        real(fd, offset, length, advice)

    monkeypatch.setattr(os, "posix_fadvise", recorded)
    return seen


def _stored_files(cube: Path) -> set[int]:
    return {p.stat().st_ino for p in cube.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def slc_items(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    folder = tmp_path_factory.mktemp("writeback-products")
    return [item_of(make_product(folder, level="SLC", day=d, shape=(40, 24), seed=d)) for d in (2, 5, 9)]


def _write(writer: str, items: list[Any], cube: Path) -> None:
    plan = plan_cube(items, config=load_config({}), chunks={"azimuth": 16, "range": 16})
    if writer == "direct":
        write_plan(plan, cube, stac_item=False)
    else:
        write_cube(cube_of_plan(plan), cube, zarr_format=3 if writer.endswith("v3") else 2, stac_item=False)


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="write-back hints are a POSIX (Linux) feature")
@pytest.mark.parametrize("writer", ["direct", "xarray v3", "xarray v2"])
def test_every_file_a_writer_stores_starts_its_write_back(
    writer: str, slc_items: list[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_zarr_store, "HINT_BATCH", 1)  # every file a batch of its own
    seen = _recorded_fadvise(monkeypatch)
    cube = tmp_path / "cube.zarr"
    _write(writer, slc_items, cube)
    chunks = {p.stat().st_ino for p in cube.rglob("*") if p.is_file() and p.name not in ("zarr.json", ".zmetadata")}
    assert len(chunks) >= 3 * 3 * 2 * 2  # the data chunks of both parts, at least
    assert _stored_files(cube) <= seen  # every stored file, metadata included, started its write-back


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="write-back hints are a POSIX (Linux) feature")
@pytest.mark.parametrize("writer", ["direct", "xarray v3"])
def test_hints_go_in_batches_and_only_the_last_partial_one_is_left_to_the_sync(
    writer: str, slc_items: list[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A hint per file cost ~0.3 ms: 2.2 s for the 6,930 tiny chunks of a mostly empty cube (measured).
    batch = 4096
    monkeypatch.setattr(_zarr_store, "HINT_BATCH", batch)
    batches: list[int] = []
    hinted: set[Path] = set()

    def recorded(files: list[Path]) -> None:
        batches.append(sum(f.stat().st_size for f in files))
        # Stored in the staging folder (.cube.zarr.tmp-.../cube.zarr), then moved into place: keep the path inside.
        hinted.update(
            next(Path(*f.parts[i + 2 :]) for i, d in enumerate(f.parts) if d.startswith(".cube")) for f in files
        )
        start_writeback(files)

    monkeypatch.setattr(_zarr_store, "start_writeback", recorded)
    cube = tmp_path / "cube.zarr"
    _write(writer, slc_items, cube)
    files = {p: p.stat().st_size for p in cube.rglob("*") if p.is_file()}
    assert batches and all(size >= batch for size in batches)  # one hint per full batch of bytes
    assert len(batches) < len(files) / 4  # far fewer hints than files (chunks of 512 bytes)
    assert sum(size for p, size in files.items() if p.relative_to(cube) not in hinted) < batch  # the final sync's


def test_the_store_pickles_for_distributed_workers_and_reads_stay_plain(tmp_path: Path) -> None:
    import pickle

    from zarr.storage import LocalStore

    from icecube_stac._cube_target import zarr_store
    from icecube_stac._zarr_store import WritebackStore

    store = zarr_store(tmp_path / "c.zarr")
    copy = pickle.loads(pickle.dumps(store))
    assert type(copy) is WritebackStore and copy == store and not copy.read_only
    reader = zarr_store(tmp_path / "c.zarr", read_only=True)
    assert type(reader) is LocalStore and reader.read_only
