"""Run a C-library reader of an untrusted file in a forked child with a time limit (Linux), else in-process.

libhdf5 can loop forever, without returning to Python, on a byte-flipped file (a fuzz campaign found a
global-heap loop on a 30 kB SLC), and could crash the process outright: no Python-level timeout can
interrupt it. :func:`isolated` runs the reader in a ``fork`` of this process and waits for its answer at
most :data:`READ_TIMEOUT` seconds; a child that takes longer is killed and the call raises a
:class:`~icecube_stac.errors.MetadataError` naming the file, as does a child that dies. The answer comes
back pickled from this very process's fork. Where ``fork`` is missing the reader runs in-process.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from icecube_stac.errors import MetadataError

__all__ = ["READ_TIMEOUT", "isolated"]

READ_TIMEOUT: float = 30.0
"""Seconds a reader may take on one file (the metadata of a real product are read in milliseconds)."""

_T = TypeVar("_T")


def _child(reader: Callable[[str | Path], _T], path: str | Path, out: int) -> None:
    try:
        try:
            answer: tuple[str, object] = ("ok", reader(path))
        except MetadataError as exc:
            answer = ("error", exc)
        except Exception as exc:  # reported by the parent as a MetadataError: the file is unreadable
            answer = ("error", MetadataError(path, f"unreadable file: {type(exc).__name__}: {exc}"))
        with os.fdopen(out, "wb") as pipe:
            pipe.write(pickle.dumps(answer))
    finally:
        os._exit(0)  # never the parent's atexit handlers or buffered output


def _receive(pid: int, pipe: int, path: str | Path, timeout: float) -> bytes:
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while True:
        ready, _, _ = select.select([pipe], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            os.kill(pid, signal.SIGKILL)
            raise MetadataError(
                path, f"the file could not be read within {timeout:g} s (a corrupt container makes its library loop)"
            )
        chunk = os.read(pipe, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def isolated(reader: Callable[[str | Path], _T], path: str | Path, timeout: float | None = None) -> _T:
    """Return ``reader(path)``, computed in a forked child that may take at most ``timeout`` seconds.

    Parameters
    ----------
    reader
        A function of the path whose answer can be pickled.
    path
        The file, used in error messages.
    timeout
        Seconds; default :data:`READ_TIMEOUT` (read when called).

    Returns
    -------
    object
        What ``reader`` returned.

    Raises
    ------
    MetadataError
        What ``reader`` raised, or when the child took too long or died.
    """
    if not hasattr(os, "fork"):
        return reader(path)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(reader, path, write_end)
    os.close(write_end)
    try:
        data = _receive(pid, read_end, path, READ_TIMEOUT if timeout is None else timeout)
    finally:
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
    if not data:
        how = f"signal {-os.waitstatus_to_exitcode(status)}" if os.WIFSIGNALED(status) else "no answer"
        raise MetadataError(path, f"the library reading the file crashed ({how}): a corrupt container")
    kind, value = pickle.loads(data)  # written by this process's own fork just now: trusted
    if kind == "error":
        assert isinstance(value, MetadataError)
        raise value
    return value  # type: ignore[no-any-return]
