"""One indexing run at a time per catalog: an exclusive lock next to the catalog folder, with a clear wait.

The lock is ``flock`` on ``.<catalog name>.lock`` beside the catalog folder, holding the process id of the
run that holds it. A second run on the same catalog says that it waits (an
:class:`~icecube_stac.errors.IcecubeStacWarning` naming the holder) and then waits for it; with a timeout
it fails with a :class:`~icecube_stac.errors.CatalogError` naming the holder instead of waiting longer.
The second run reads the catalog only once it has the lock, so it sees, and keeps, every item of the first.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from icecube_stac.errors import CatalogError, IcecubeStacWarning

__all__ = ["catalog_lock", "lock_path"]

_POLL_S: Final = 0.05


def lock_path(root: Path) -> Path:
    """Return the lock file of a catalog folder.

    Parameters
    ----------
    root
        The catalog folder.

    Returns
    -------
    pathlib.Path
    """
    return root.parent / f".{root.name}.lock"


def _try(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").split()
    except OSError:
        text = []
    if len(text) >= 2 and text[0].isdigit():
        return f"process {text[0]} on {text[1]}"
    return "another process"


def _wait(fd: int, root: Path, path: Path, timeout: float | None) -> None:
    holder = _holder(path)
    if timeout is not None and timeout <= 0:
        raise CatalogError(_busy(root, path, holder, "now"))
    warnings.warn(
        IcecubeStacWarning(f"catalog {root} is being indexed by {holder}; waiting for that run to finish"),
        stacklevel=4,
    )
    if timeout is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return
    deadline = time.monotonic() + timeout
    while not _try(fd):
        if time.monotonic() >= deadline:
            raise CatalogError(_busy(root, path, holder, f"after waiting {timeout:g} s"))
        time.sleep(_POLL_S)


def _busy(root: Path, path: Path, holder: str, when: str) -> str:
    return (
        f"catalog {root} is being indexed by {holder} ({when}; lock {path}): run again when that run has "
        "finished, or pass a longer lock timeout"
    )


@contextlib.contextmanager
def catalog_lock(root: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the indexing lock of a catalog folder for the duration of the block.

    Parameters
    ----------
    root
        The catalog folder (its parent is created if missing).
    timeout
        Seconds to wait for another run to finish; None (default) waits as long as it takes, 0 fails at once.

    Raises
    ------
    CatalogError
        When another run still holds the lock after ``timeout`` seconds; the message names it.
    """
    root.parent.mkdir(parents=True, exist_ok=True)
    path = lock_path(root)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        if not _try(fd):
            _wait(fd, root, path, timeout)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
