"""Early write-back: start writing each finished chunk file to disk at once, not all of them at the end.

A cube is moved into place only after one ``sync(2)`` (:mod:`icecube_stac._atomic`), so that a power loss
never publishes chunks that are not on disk. Left to the end, that sync has the whole cube to write, about
0.15-0.2 s for a 400 MB cube here, during which nothing else happens. :func:`start_writeback` asks the kernel
to start writing a file's dirty pages now, without waiting (``posix_fadvise(POSIX_FADV_DONTNEED)``: on Linux
it starts write-back of dirty pages; pages still being written stay cached). The cube writers' Zarr store
(:class:`icecube_stac._zarr_store.WritebackStore`) calls it on each file as soon as it is stored. The disk
then writes them while the next chunks are read and encoded, and the final sync has little left.

Measured and dropped: a background thread calling ``sync(2)`` every 50 ms. A sync commits the file system's
journal, and every chunk file is created and renamed into place (zarr's atomic writes). Renames made during a
commit wait for it, so one cube write in three took twice as long.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["start_writeback"]


def start_writeback(files: Iterable[Path]) -> None:
    """Start the write-back of the files' dirty pages without waiting for it (nothing where unsupported).

    A file that does not exist is skipped: zarr stores no chunk that holds only the fill value when told not
    to. Any OS error is left to the final sync, which makes the files durable and reports failures.
    """
    if not hasattr(os, "posix_fadvise"):
        return  # Windows, macOS: the final sync does all the work
    for file in files:
        try:
            fd = os.open(file, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        except OSError:
            pass  # a file system without write-back hints: the final sync writes it
        finally:
            os.close(fd)
