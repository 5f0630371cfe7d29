"""Chunk files written past the page cache (``O_DIRECT``), opt-in with ``ICECUBE_STAC_DIRECT_IO=1``.

A cube is published only once its files are on disk (one ``sync(2)``, :mod:`icecube_stac._atomic`), so a
buffered write copies every chunk into page-cache pages only for the kernel to write them out moments later.
Those pages are fresh memory. On a virtual machine that hands freed memory back to its host (free page
reporting, as on the Firecracker machines this project is measured on), each must first be faulted in again
by the host: writing 384 MiB into the page cache took 0.72-0.97 s instead of 0.09-0.13 s, depending only on
how long ago the memory was freed (measured; ``benchmarks/README.md``). Written with ``O_DIRECT`` from one
reused buffer per thread, the same bytes reached the disk in 0.19-0.22 s with two threads whatever the
memory's state, at a tenth of the CPU, and a 12-SLC cube took 0.90 s instead of 1.30 s.

It is not the default: with memory already backed (any machine without free page reporting, or memory
freed moments before), buffered writes overlap the disk with the reads better, and the same cube took 0.64 s
buffered against 0.82 s direct (medians of 9, measured). Nor is the cube in the page cache once written
direct: a later read comes from the disk (in exchange, a cube larger than RAM evicts nothing).

:func:`put_direct` writes one file with zarr's ``LocalStore`` semantics (a ``.partial`` file renamed into
place). ``O_DIRECT`` needs block-aligned memory, offsets and lengths: the bytes go through a page-aligned
buffer of :data:`SLICE` bytes per thread, the last block is padded with zeros, and the file is truncated to
its length. Where the file system refuses ``O_DIRECT`` (``EINVAL``), nothing is left behind and the caller
writes the file the usual way.
"""

from __future__ import annotations

import errno
import mmap
import os
import threading
import uuid
from pathlib import Path
from typing import Final

__all__ = ["ALIGN", "SLICE", "direct_io_enabled", "put_direct"]

ALIGN: Final = 4096
"""Alignment of memory, offsets and lengths: the largest logical block size of common disks."""
SLICE: Final = 8 << 20
"""Bytes written per system call, through one page-aligned buffer per writing thread."""
ENV: Final = "ICECUBE_STAC_DIRECT_IO"
"""``1`` writes the cube writers' chunk files past the page cache; anything else (or unset) through it."""

_local = threading.local()


def direct_io_enabled() -> bool:
    """Tell whether cube chunk files are written with ``O_DIRECT``: with ``ICECUBE_STAC_DIRECT_IO=1``, on Linux."""
    return hasattr(os, "O_DIRECT") and os.environ.get(ENV, "").strip() == "1"


def _buffer() -> mmap.mmap:
    buffer: mmap.mmap | None = getattr(_local, "buffer", None)
    if buffer is None:  # anonymous mappings are page-aligned; one per thread, reused for every file
        buffer = _local.buffer = mmap.mmap(-1, SLICE)
    return buffer


def _write_all(fd: int, view: memoryview) -> None:
    buffer = _buffer()
    aligned = memoryview(buffer)
    try:
        for offset in range(0, len(view), SLICE):
            piece = view[offset : offset + SLICE]
            size = len(piece)
            padded = -(-size // ALIGN) * ALIGN
            aligned[:size] = piece
            aligned[size:padded] = bytes(padded - size)  # the padding past the end is truncated away below
            if os.pwrite(fd, aligned[:padded], offset) != padded:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # a short direct write: out of space
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
            _write_all(fd, view)
        finally:
            os.close(fd)
        if exclusive:
            os.link(partial, path)  # FileExistsError if path exists, as zarr's LocalStore
            partial.unlink()
        else:
            partial.replace(path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        if error.errno == errno.EINVAL:  # refused at the first write (some file systems accept the open)
            return False
        raise
    return True
