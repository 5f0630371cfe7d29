"""Stage 72: early write-back. Each chunk file the direct writer stores is handed to the kernel's write-back at
once (what it writes is unchanged; the final sync before publishing stays), missing files are skipped, and no
file descriptor is left open."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from icecube_stac._writeback import start_writeback


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
