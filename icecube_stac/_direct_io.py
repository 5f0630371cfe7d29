"""Chunk files written past the page cache (``O_DIRECT``) where the page cache is costly: VMs that report free pages.

A cube is published only once its files are on disk (one ``sync(2)``, :mod:`icecube_stac._atomic`), so a
buffered write copies every chunk into page-cache pages only for the kernel to write them out moments later.
Those pages are fresh memory. On a virtual machine that hands freed memory back to its host (virtio-balloon
free page reporting, as on the Firecracker machines this project is measured on, where memory freed 0.4 s
earlier was already handed back), each must first be faulted in again by the host: writing 384 MiB into the
page cache took 0.7-1 s instead of 0.1 s for pages freed just before (``benchmarks/bench_page_cache.py``).
Written with ``O_DIRECT`` from a few reused buffers, the same bytes reach the disk whatever the
memory's state, at a fraction of the CPU. The 12-SLC cube of ``bench_cube.py`` then took 0.88 s instead of
1.14 s (CPU 1.14 instead of 1.67 s) when run after a pause, and 0.79 against 0.76 s back to back (medians of 7).

So the default (``ICECUBE_STAC_DIRECT_IO`` unset or ``auto``) is ``O_DIRECT`` exactly where the kernel reports
free pages to a host (:func:`free_page_reporting`), and buffered writes elsewhere: with memory that stays
backed, the page cache costs little, overlaps the disk with the reads, and keeps the new cube cached for
the read that usually follows. ``1`` or ``0`` force either. Written direct, a cube is not in the page cache
(a later read comes from the disk; a cube larger than memory evicts nothing).

:func:`put_direct` writes one file with zarr's ``LocalStore`` semantics (a ``.partial`` file renamed into
place). ``O_DIRECT`` needs block-aligned memory, offsets and lengths: the bytes go through a page-aligned
buffer of :data:`SLICE` bytes (one of :data:`POOL_SIZE`), the last block is padded with zeros, and the file is
truncated to its length. Where the file system refuses ``O_DIRECT`` (``EINVAL``), nothing is left behind and
the caller writes the file the usual way.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import mmap
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from icecube_stac.errors import OutputError

__all__ = [
    "ALIGN",
    "ENV",
    "POOL_SIZE",
    "SLICE",
    "direct_io_enabled",
    "direct_io_setting",
    "free_page_reporting",
    "put_direct",
]

ALIGN: Final = 4096
"""Alignment of memory, offsets and lengths: the largest logical block size of common disks."""
SLICE: Final = 8 << 20
"""Bytes written per system call, through one of at most :data:`POOL_SIZE` page-aligned buffers."""
POOL_SIZE: Final = 4
"""Direct writes at a time: enough to keep a disk busy (two writer jobs store two chunks each), 32 MiB held."""
ENV: Final = "ICECUBE_STAC_DIRECT_IO"
"""``1``: chunk files past the page cache; ``0``: through it; ``auto`` (or unset): as :func:`free_page_reporting`."""
VIRTIO_DEVICES: Final = Path("/sys/bus/virtio/devices")
_BALLOON: Final = 0x0005  # the virtio device id of a memory balloon
_F_REPORTING: Final = 5  # VIRTIO_BALLOON_F_REPORTING: the balloon takes the pages the guest reports free


def free_page_reporting(devices: Path = VIRTIO_DEVICES) -> bool:
    """Tell whether this machine hands its free memory back to a host: a bound virtio balloon with page reporting.

    ``devices`` is the sysfs folder of virtio devices; each holds ``device`` (the id, ``0x0005`` for a balloon),
    ``features`` (the negotiated feature bits as a string of 0 and 1, bit 0 first) and, when a driver is bound,
    ``driver``. False where there is no such folder (bare metal, other systems).
    """
    try:
        candidates = sorted(devices.iterdir())
    except OSError:
        return False
    for device in candidates:
        try:
            kind = int((device / "device").read_text(encoding="ascii").strip(), 16)
            bits = (device / "features").read_text(encoding="ascii").strip()
        except (OSError, ValueError):
            continue
        # os.path.exists, not Path.exists, which on Python 3.11 raises an EACCES instead of saying False.
        if kind == _BALLOON and bits[_F_REPORTING : _F_REPORTING + 1] == "1" and os.path.exists(device / "driver"):
            return True
    return False


@functools.cache
def _reporting_here() -> bool:
    return free_page_reporting()  # a property of the machine: read once per process


def direct_io_setting() -> bool | None:
    """Read ``ICECUBE_STAC_DIRECT_IO``: True (``1``), False (``0``) or None (``auto`` or unset: as the machine).

    Raises
    ------
    OutputError
        When the variable is set to anything but ``1``, ``0`` or ``auto``.
    """
    setting = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if setting not in ("1", "0", "auto"):
        raise OutputError(
            f"environment variable {ENV} is {os.environ[ENV]!r}; use 1 (cube chunks written past the page "
            "cache), 0 (through it) or auto (past it where the machine reports free pages to a host; the default)"
        )
    return None if setting == "auto" else setting == "1"


def direct_io_enabled(setting: bool | None = None) -> bool:
    """Tell whether cube chunk files are written with ``O_DIRECT`` (Linux), in this process on this machine.

    ``setting`` is a choice already read (:func:`direct_io_setting`, e.g. by the process that sent a store to
    a dask worker); None reads ``ICECUBE_STAC_DIRECT_IO`` here, and ``auto`` asks this machine
    (:func:`free_page_reporting`).

    Raises
    ------
    OutputError
        When the variable is read and set to anything but ``1``, ``0`` or ``auto``.
    """
    chosen = direct_io_setting() if setting is None else setting
    if not hasattr(os, "O_DIRECT"):
        return False
    return _reporting_here() if chosen is None else chosen


class _Pool:
    """At most :data:`POOL_SIZE` page-aligned buffers, made on first need and reused for every file.

    Reused, their pages stay backed (a fresh mapping per file would pay the very faults this module avoids);
    bounded, they hold at most ``POOL_SIZE * SLICE`` bytes for the process's life, however many threads
    zarr writes from (CPU count + 4). A writer finding all of them lent waits for one.
    """

    def __init__(self) -> None:
        self.free: list[mmap.mmap] = []
        self.made = 0
        self.returned = threading.Condition()

    @contextlib.contextmanager
    def borrowed(self) -> Iterator[mmap.mmap]:
        with self.returned:
            while not self.free and self.made >= POOL_SIZE:
                self.returned.wait()
            if self.free:
                buffer = self.free.pop()
            else:  # anonymous mappings are page-aligned; private, so a forked child never shares one
                buffer = mmap.mmap(-1, SLICE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
                self.made += 1
        try:
            yield buffer
        finally:
            with self.returned:
                self.free.append(buffer)
                self.returned.notify()


_pool = _Pool()


def _fresh_pool_in_child() -> None:
    global _pool
    _pool = _Pool()  # the parent's lock may have been held by another thread at the fork


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_fresh_pool_in_child)


def _write_all(fd: int, view: memoryview, path: Path) -> None:
    with _pool.borrowed() as buffer:
        _write_through(fd, view, path, buffer)


def _write_through(fd: int, view: memoryview, path: Path, buffer: mmap.mmap) -> None:
    aligned = memoryview(buffer)
    try:
        for offset in range(0, len(view), SLICE):
            piece = view[offset : offset + SLICE]
            size = len(piece)
            padded = -(-size // ALIGN) * ALIGN
            aligned[:size] = piece
            aligned[size:padded] = bytes(padded - size)  # the padding past the end is truncated away below
            if os.pwrite(fd, aligned[:padded], offset) != padded:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))  # a short write: out of space
        if len(view) % ALIGN:
            os.ftruncate(fd, len(view))
    finally:
        aligned.release()


def put_direct(path: Path, data: memoryview, *, exclusive: bool = False) -> bool:
    """Write ``data`` to ``path`` past the page cache, atomically; False (nothing written) where unsupported.

    Parameters
    ----------
    path
        The file to write; its parent folders are created.
    data
        The bytes (any C-contiguous buffer).
    exclusive
        Raise ``FileExistsError`` if ``path`` exists (zarr's ``set_if_not_exists``).

    Returns
    -------
    bool
        True once written; False if the file system refuses ``O_DIRECT``, the caller then writes the file itself.

    Raises
    ------
    OSError
        Any other failure to write (no space, permissions...); the partial file is removed.
    """
    view = data.cast("B") if data.format != "B" or data.ndim != 1 else data
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{uuid.uuid4().hex}.partial")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_DIRECT | os.O_CLOEXEC
    try:
        fd = os.open(partial, flags, 0o666)  # as open(..., "wb"): the umask applies
    except OSError as error:
        if error.errno == errno.EINVAL:
            return False
        raise
    try:
        try:
            _write_all(fd, view, path)
        finally:
            os.close(fd)
        if exclusive:
            os.link(partial, path)  # FileExistsError if path exists, as zarr's LocalStore
            partial.unlink()
        else:
            partial.replace(path)
    except BaseException as error:  # KeyboardInterrupt too: no .partial file is left behind
        partial.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.errno == errno.EINVAL:  # refused at the first write (some
            return False  # file systems accept the open)
        raise
    return True
