"""Stage 72: chunk files written past the page cache. ``put_direct`` writes exactly the bytes given, whatever
their length and layout, atomically (a ``.partial`` renamed into place, zarr's ``LocalStore`` semantics), leaves
nothing behind when it fails, and hands the file back to the caller where the file system refuses ``O_DIRECT``.
Where the machine reports free pages to a host (or with ``ICECUBE_STAC_DIRECT_IO=1``) the cube writers' store
writes large chunks that way and everything else as before; the cubes are the same either way."""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from icecube_stac import _direct_io, _zarr_store
from icecube_stac._direct_io import ALIGN, SLICE, direct_io_enabled, put_direct
from icecube_stac.config import load_config
from icecube_stac.cube._direct import write_plan
from icecube_stac.cube._plan import plan_cube
from tests._cube_stacks import item_of, make_product

pytestmark = pytest.mark.skipif(not hasattr(os, "O_DIRECT"), reason="O_DIRECT is a Linux feature")


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


def _flags_recorded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Record the path and flags of every ``os.open`` (from any thread)."""
    opened: list[tuple[str, int]] = []
    real = os.open

    def recorded(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        opened.append((os.fspath(path), flags))
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", recorded)
    return opened


@pytest.mark.parametrize("size", [1, ALIGN - 1, ALIGN, ALIGN + 1, 777_000, SLICE, SLICE + 1, 2 * SLICE + 12_345])
def test_every_length_is_written_exactly_and_atomically(size: int, tmp_path: Path) -> None:
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    target = tmp_path / "sub" / "c" / "0"  # parents created, as zarr's store does
    assert put_direct(target, memoryview(data))
    assert target.read_bytes() == data
    assert _leftovers(target.parent) == []


def test_any_buffer_layout_is_written_as_its_bytes(tmp_path: Path) -> None:
    block = np.arange(-3000, 3000, dtype=np.int16).reshape(2, 3, 1000)[:, 1]  # 2-D int16, C-contiguous
    assert put_direct(tmp_path / "chunk", memoryview(np.ascontiguousarray(block)))
    assert (tmp_path / "chunk").read_bytes() == block.tobytes()


def test_the_file_mode_is_that_of_a_buffered_write(tmp_path: Path) -> None:
    put_direct(tmp_path / "direct", memoryview(b"x" * 5000))
    (tmp_path / "buffered").write_bytes(b"x" * 5000)
    assert (tmp_path / "direct").stat().st_mode == (tmp_path / "buffered").stat().st_mode  # the umask applies


def test_an_existing_file_is_replaced_or_kept_when_exclusive(tmp_path: Path) -> None:
    target = tmp_path / "chunk"
    target.write_bytes(b"old")
    assert put_direct(target, memoryview(b"new" * 3000))
    assert target.read_bytes() == b"new" * 3000
    with pytest.raises(FileExistsError):
        put_direct(target, memoryview(b"other" * 3000), exclusive=True)
    assert target.read_bytes() == b"new" * 3000
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("where", ["open", "write"])
def test_a_file_system_refusing_o_direct_gets_the_file_back_untouched(
    where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open, real_pwrite = os.open, os.pwrite

    def refusing_open(path: Any, flags: int, *args: Any) -> int:
        if flags & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args)

    def refusing_pwrite(fd: int, data: Any, offset: int) -> int:
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(os, "open", refusing_open) if where == "open" else monkeypatch.setattr(
        os, "pwrite", refusing_pwrite
    )
    assert put_direct(tmp_path / "chunk", memoryview(b"x" * 10_000)) is False
    assert list(tmp_path.iterdir()) == []  # nothing left: the caller writes the file itself
    monkeypatch.setattr(os, "pwrite", real_pwrite)


@pytest.mark.parametrize("short", [True, False])
def test_a_failed_write_raises_and_leaves_nothing(short: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(fd: int, data: Any, offset: int) -> int:
        if short:
            return 512  # the device took less than asked: out of space
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "pwrite", failing)
    with pytest.raises(OSError) as caught:
        put_direct(tmp_path / "chunk", memoryview(b"x" * 10_000))
    assert caught.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("setting", "reporting", "expected"),
    [
        (None, False, False),
        (None, True, True),
        ("auto", True, True),
        (" AUTO ", False, False),
        ("", True, True),
        ("1", False, True),
        ("0", True, False),
    ],
)
def test_the_default_follows_free_page_reporting_and_the_variable_forces_either(
    setting: str | None, reporting: bool, expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_direct_io, "_reporting_here", lambda: reporting)
    if setting is None:
        monkeypatch.delenv(_direct_io.ENV, raising=False)
    else:
        monkeypatch.setenv(_direct_io.ENV, setting)
    assert direct_io_enabled() is expected


def test_a_bad_setting_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    from icecube_stac.errors import OutputError

    monkeypatch.setenv(_direct_io.ENV, "yes")
    with pytest.raises(OutputError, match=r"ICECUBE_STAC_DIRECT_IO is 'yes'; use 1 .*, 0 .* or auto"):
        direct_io_enabled()


def _virtio(root: Path, name: str, device: str, features: str, driver: bool = True) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "device").write_text(device + "\n")
    (folder / "features").write_text(features + "\n")
    if driver:
        (folder / "driver").mkdir()


BITS_WITH_REPORTING = "0110010100000000000000000000000010" + "0" * 94  # a Firecracker balloon, as read here


@pytest.mark.parametrize(
    ("devices", "expected"),
    [
        ([("virtio0", "0x0005", BITS_WITH_REPORTING, True)], True),
        ([("virtio0", "0x0002", BITS_WITH_REPORTING, True), ("virtio1", "0x0005", BITS_WITH_REPORTING, True)], True),
        ([("virtio0", "0x0005", BITS_WITH_REPORTING, False)], False),  # no driver bound: nobody reports
        ([("virtio0", "0x0005", "0110000100" + "0" * 118, True)], False),  # a balloon without page reporting
        ([("virtio0", "0x0001", BITS_WITH_REPORTING, True)], False),  # bit 5 of another device means else
        ([("virtio0", "balloon", BITS_WITH_REPORTING, True)], False),  # unreadable id
        ([("virtio0", "0x0005", "01", True)], False),  # too few bits
        ([], False),
    ],
)
def test_free_page_reporting_is_read_from_the_virtio_balloon(
    devices: list[tuple[str, str, str, bool]], expected: bool, tmp_path: Path
) -> None:
    root = tmp_path / "devices"
    root.mkdir()
    for name, device, features, driver in devices:
        _virtio(root, name, device, features, driver)
    assert _direct_io.free_page_reporting(root) is expected
    assert _direct_io.free_page_reporting(tmp_path / "missing") is False  # bare metal, other systems


def test_an_unreadable_driver_link_means_no_reporting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sysfs entry that cannot be looked at (EACCES) says False, as a missing one, instead of raising."""
    root = tmp_path / "devices"
    root.mkdir()
    _virtio(root, "virtio0", "0x0005", BITS_WITH_REPORTING, True)
    real_stat = os.stat

    def stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if str(path).endswith("driver"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    assert _direct_io.free_page_reporting(root) is False


def _store_set(store: Any, key: str, value: bytes, exclusive: bool = False) -> None:
    from zarr.core.buffer import default_buffer_prototype

    buffer = default_buffer_prototype().buffer.from_bytes(value)
    asyncio.run(store.set_if_not_exists(key, buffer) if exclusive else store.set(key, buffer))


def test_the_store_writes_large_files_direct_and_small_ones_with_hints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from icecube_stac._zarr_store import DIRECT_MIN, WritebackStore

    monkeypatch.setenv(_direct_io.ENV, "1")
    monkeypatch.setattr(_zarr_store, "HINT_BATCH", 1)
    hinted: list[Path] = []
    monkeypatch.setattr(_zarr_store, "start_writeback", hinted.extend)
    opened = _flags_recorded(monkeypatch)
    store = WritebackStore(tmp_path / "c.zarr")
    big, small = b"b" * DIRECT_MIN, b"s" * (DIRECT_MIN - 1)
    _store_set(store, "a/c/0", big)
    _store_set(store, "zarr.json", small)
    _store_set(store, "a/c/0", b"other" * DIRECT_MIN, exclusive=True)  # exists: kept, as LocalStore
    assert (tmp_path / "c.zarr/a/c/0").read_bytes() == big
    assert (tmp_path / "c.zarr/zarr.json").read_bytes() == small
    direct = [path for path, flags in opened if flags & os.O_DIRECT]
    assert len(direct) == 2 and all(Path(p).parent == tmp_path / "c.zarr/a/c" for p in direct)
    assert hinted == [tmp_path / "c.zarr/zarr.json"]  # the direct file needs no write-back hint


def test_the_store_falls_back_for_good_where_o_direct_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from icecube_stac._zarr_store import DIRECT_MIN, WritebackStore

    calls: list[Path] = []

    def refused(path: Path, data: memoryview, *, exclusive: bool = False) -> bool:
        calls.append(path)
        return False

    monkeypatch.setenv(_direct_io.ENV, "1")
    monkeypatch.setattr(_zarr_store, "put_direct", refused)
    store = WritebackStore(tmp_path / "c.zarr")
    for k in range(3):
        _store_set(store, f"c/{k}", bytes([k]) * DIRECT_MIN)
    assert [(tmp_path / f"c.zarr/c/{k}").read_bytes() == bytes([k]) * DIRECT_MIN for k in range(3)] == [True] * 3
    assert len(calls) == 1  # asked once; the other files went straight to the buffered write


def test_a_cube_is_the_same_written_direct_or_through_the_page_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "products"
    items = [item_of(make_product(folder, level="SLC", day=d, shape=(512, 384), seed=d)) for d in (2, 5)]
    plan = plan_cube(items, config=load_config({}), chunks={"azimuth": 512, "range": 384})
    cubes = {}
    for setting in ("1", "0"):
        monkeypatch.setenv(_direct_io.ENV, setting)
        opened = _flags_recorded(monkeypatch)
        cubes[setting] = write_plan(plan, tmp_path / f"cube-{setting}.zarr", stac_item=False)
        monkeypatch.undo()
        assert any(flags & os.O_DIRECT for _, flags in opened) is (setting == "1")
    files = {name: sorted(p.relative_to(c) for p in c.rglob("*") if p.is_file()) for name, c in cubes.items()}
    assert files["1"] == files["0"] and len(files["1"]) > 4
    for relative in files["1"]:
        assert (cubes["1"] / relative).read_bytes() == (cubes["0"] / relative).read_bytes(), relative


def test_without_free_page_reporting_large_files_go_through_the_page_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from icecube_stac._zarr_store import DIRECT_MIN, WritebackStore

    monkeypatch.delenv(_direct_io.ENV, raising=False)
    monkeypatch.setattr(_direct_io, "_reporting_here", lambda: False)
    opened = _flags_recorded(monkeypatch)
    _store_set(WritebackStore(tmp_path / "c.zarr"), "a/c/0", b"b" * (4 * DIRECT_MIN))
    assert not any(flags & os.O_DIRECT for _, flags in opened)  # put_direct opens with os.open
    assert (tmp_path / "c.zarr/a/c/0").read_bytes() == b"b" * (4 * DIRECT_MIN)


def test_the_buffers_are_bounded_and_reused_whatever_the_threads(tmp_path: Path) -> None:
    import threading

    from icecube_stac._direct_io import POOL_SIZE

    pool = _direct_io._pool
    lent: list[int] = []
    most = [0]
    lock = threading.Lock()
    real = _direct_io._write_through

    def counted(fd: int, view: memoryview, path: Path, buffer: Any) -> None:
        with lock:
            lent.append(id(buffer))
            most[0] = max(most[0], pool.made - len(pool.free))
        real(fd, view, path, buffer)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_direct_io, "_write_through", counted)
        data = memoryview(b"z" * (SLICE + 5))
        threads = [threading.Thread(target=put_direct, args=(tmp_path / f"c{k}", data)) for k in range(3 * POOL_SIZE)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert [(tmp_path / f"c{k}").read_bytes() == bytes(data) for k in range(3 * POOL_SIZE)] == [True] * 12
    assert pool.made <= POOL_SIZE and most[0] <= POOL_SIZE  # never more than POOL_SIZE buffers, lent or not
    assert len(set(lent)) <= POOL_SIZE and len(lent) == 3 * POOL_SIZE  # the same few, reused
