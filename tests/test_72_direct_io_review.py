"""Stage 72 (review): the corners of writing chunk files past the page cache. An interrupted write leaves no
``.partial`` file; a child forked from a writing thread does not share its buffer; a store sent to another
process (a dask worker) decides ``auto`` on the machine that writes while a forced choice travels with it; a
value that is not a zarr ``Buffer`` is refused as ``LocalStore`` refuses it; a full disk names the file."""

from __future__ import annotations

import asyncio
import errno
import os
import pickle
from pathlib import Path
from typing import Any

import pytest
from zarr.core.buffer import default_buffer_prototype

from icecube_stac import _direct_io
from icecube_stac._direct_io import put_direct
from icecube_stac._zarr_store import DIRECT_MIN, WritebackStore


def _direct_opens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the path of every ``os.open`` with ``O_DIRECT`` (from any thread)."""
    opened: list[str] = []
    real = os.open

    def recorded(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & os.O_DIRECT:
            opened.append(os.fspath(path))
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", recorded)
    return opened


def test_an_interrupted_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(fd: int, data: Any, offset: int) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "pwrite", interrupted)
    with pytest.raises(KeyboardInterrupt):
        put_direct(tmp_path / "chunk", memoryview(b"x" * 10_000))
    assert list(tmp_path.iterdir()) == []


def test_a_short_write_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "pwrite", lambda fd, data, offset: 512)
    with pytest.raises(OSError) as caught:
        put_direct(tmp_path / "chunk", memoryview(b"x" * 10_000))
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(tmp_path / "chunk")


def test_a_forked_child_does_not_share_a_pooled_buffer(tmp_path: Path) -> None:
    assert put_direct(tmp_path / "chunk", memoryview(b"parent" * 1000))  # the pool now has a buffer
    with _direct_io._pool.borrowed() as buffer:
        buffer[:6] = b"parent"
    pid = os.fork()
    if pid == 0:  # the child writes its own file through the buffer it inherited
        try:
            put_direct(tmp_path / "child", memoryview(b"child!" * 1000))
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert (tmp_path / "child").read_bytes() == b"child!" * 1000
    assert buffer[:6] == b"parent"  # a shared mapping would hold the child's bytes


def _set(store: WritebackStore, key: str, value: bytes) -> None:
    asyncio.run(store.set(key, default_buffer_prototype().buffer.from_bytes(value)))


def test_a_store_sent_to_another_machine_decides_auto_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_direct_io.ENV, raising=False)
    monkeypatch.setattr(_direct_io, "_reporting_here", lambda: True)  # the client: a VM reporting free pages
    client = WritebackStore(tmp_path / "c.zarr")
    _set(client, "c/0", b"a" * DIRECT_MIN)
    sent = pickle.dumps(client)
    monkeypatch.setattr(_direct_io, "_reporting_here", lambda: False)  # the worker: memory that stays backed
    opened = _direct_opens(monkeypatch)
    _set(pickle.loads(sent), "c/1", b"b" * DIRECT_MIN)
    assert opened == []
    assert (tmp_path / "c.zarr/c/1").read_bytes() == b"b" * DIRECT_MIN


def test_a_forced_choice_travels_with_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_direct_io.ENV, "1")
    sent = pickle.dumps(WritebackStore(tmp_path / "c.zarr"))
    monkeypatch.delenv(_direct_io.ENV)  # a worker started without the variable, on a machine without reporting
    monkeypatch.setattr(_direct_io, "_reporting_here", lambda: False)
    opened = _direct_opens(monkeypatch)
    _set(pickle.loads(sent), "c/0", b"b" * DIRECT_MIN)
    assert [Path(p).parent for p in opened] == [tmp_path / "c.zarr/c"]


def test_a_value_that_is_not_a_buffer_is_refused_as_local_store_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(_direct_io.ENV, "1")
    store = WritebackStore(tmp_path / "c.zarr")
    with pytest.raises(TypeError, match="must be a Buffer instance"):
        asyncio.run(store.set("c/0", b"x" * DIRECT_MIN))  # type: ignore[arg-type]
    assert not (tmp_path / "c.zarr/c").exists()
