"""Run a C-library reader of an untrusted file in a forked child with a time limit (Linux), else in-process.

libhdf5 can loop forever, without returning to Python, on a byte-flipped file (a fuzz campaign found a
global-heap loop on a 30 kB SLC), and could crash the process outright: no Python-level timeout can
interrupt it. :func:`isolated` runs the reader in a ``fork`` of this process and waits for its answer at
most :data:`READ_TIMEOUT` seconds; a child that takes longer is killed and the call raises a
:class:`~icecube_stac.errors.MetadataError` naming the file, as does a child that dies. The answer comes
back pickled from this very process's fork. Where ``fork`` is missing the reader runs in-process.

Forking once per file cost ~10 ms per SLC when indexing (more than reading its metadata). So a reader
that can be pickled by reference (a module-level function) is served by one long-lived forked child per
process (:class:`_Server`), sent each path over a pipe: the same isolation (the library runs in another
process, with the same time limit; a child that loops is killed, one that dies is reported) for a pipe
round trip per file. After any failed or interrupted read the child is replaced, so a file that made
the library fail never shares a library state with the next one, and an answer nobody waited for is
never read as the next file's; a process forked from this one (worker pools) starts its own child.
Readers that cannot be pickled (lambdas, local functions) get a child of their own.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import threading
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
        answer = _answer(reader, path)
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
            raise _too_slow(path, timeout)
        chunk = os.read(pipe, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


_HEADER = 8  # bytes of a message's length prefix


def _answer(reader: Callable[[str | Path], object], path: str | Path) -> tuple[str, object]:
    try:
        return ("ok", reader(path))
    except MetadataError as exc:
        return ("error", exc)
    except Exception as exc:  # reported by the parent as a MetadataError: the file is unreadable
        return ("error", MetadataError(path, f"unreadable file: {type(exc).__name__}: {exc}"))


def _write_message(fd: int, data: bytes) -> None:
    view = memoryview(len(data).to_bytes(_HEADER, "little") + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes | None:
    """Read ``size`` bytes (None at end of file); raise TimeoutError past ``deadline`` (monotonic)."""
    chunks: list[bytes] = []
    while size:
        if deadline is not None:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _serve(requests: int, answers: int) -> None:
    """Answer each pickled ``(reader, path)`` until the parent closes the pipe (the long-lived child)."""
    try:
        while (header := _read_exact(requests, _HEADER, None)) is not None:
            body = _read_exact(requests, int.from_bytes(header, "little"), None)
            if body is None:
                break
            reader, path = pickle.loads(body)  # from the parent that forked this process: trusted
            answer = _answer(reader, path)
            try:
                data = pickle.dumps(answer)
            except Exception as exc:  # an answer that cannot cross the pipe is the reader's bug, named
                data = pickle.dumps(("error", MetadataError(path, f"unreadable file: {type(exc).__name__}: {exc}")))
            _write_message(answers, data)
    finally:
        os._exit(0)  # never the parent's atexit handlers or buffered output


class _Server:
    """One long-lived forked child reading files for this process, and the pipes to it."""

    def __init__(self) -> None:
        request_read, self.requests = os.pipe()
        self.answers, answer_write = os.pipe()
        self.owner = os.getpid()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(self.requests)
            os.close(self.answers)
            _serve(request_read, answer_write)
        os.close(request_read)
        os.close(answer_write)

    def close_pipes(self) -> None:
        for fd in (self.requests, self.answers):
            with contextlib.suppress(OSError):
                os.close(fd)

    def stop(self, kill: bool = False) -> int:
        """End the child (it exits when its pipe closes; ``kill``: at once) and return its wait status."""
        if kill:
            os.kill(self.pid, signal.SIGKILL)
        self.close_pipes()
        _, status = os.waitpid(self.pid, 0)
        return status

    def discard(self) -> None:
        """Kill the child whatever state it and its pipes are in (it may be gone already)."""
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        self.close_pipes()
        with contextlib.suppress(OSError):
            os.waitpid(self.pid, 0)

    def ask(self, reader: Callable[[str | Path], object], request: bytes, path: str | Path, timeout: float) -> object:
        try:
            _write_message(self.requests, request)
            header = _read_exact(self.answers, _HEADER, time.monotonic() + timeout)
            body = None if header is None else _read_exact(self.answers, int.from_bytes(header, "little"), None)
        except TimeoutError:
            self.stop(kill=True)
            raise _too_slow(path, timeout) from None
        except BrokenPipeError:
            body = None
        if body is None:
            raise _crashed(path, self.stop())
        kind, value = pickle.loads(body)  # written by this process's own fork: trusted
        if kind == "error":
            self.stop()  # the next file gets a fresh library state
            assert isinstance(value, MetadataError)
            raise value
        return value


_server: _Server | None = None
_server_lock = threading.Lock()


def _forget_server() -> None:
    """In a forked child: the parent's reader child is not this process's (pools start their own)."""
    global _server
    if _server is not None:
        _server.close_pipes()
    _server = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_server)


def _too_slow(path: str | Path, timeout: float) -> MetadataError:
    return MetadataError(
        path, f"the file could not be read within {timeout:g} s (a corrupt container makes its library loop)"
    )


def _crashed(path: str | Path, status: int) -> MetadataError:
    how = f"signal {-os.waitstatus_to_exitcode(status)}" if os.WIFSIGNALED(status) else "no answer"
    return MetadataError(path, f"the library reading the file crashed ({how}): a corrupt container")


def _served(reader: Callable[[str | Path], _T], request: bytes, path: str | Path, timeout: float) -> _T:
    global _server
    with _server_lock:
        if _server is None or _server.owner != os.getpid():
            _server = _Server()
        server = _server
        try:
            return server.ask(reader, request, path, timeout)  # type: ignore[return-value]
        except MetadataError:
            _server = None  # stopped by ask: the next read forks a fresh child
            raise
        except BaseException:
            # Interrupted (KeyboardInterrupt, a signal handler) between request and answer: the child's
            # answer to this file is still on its way, and the next file must never read it as its own.
            _server = None
            server.discard()
            raise


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
    limit = READ_TIMEOUT if timeout is None else timeout
    try:
        request = pickle.dumps((reader, path))
    except (pickle.PicklingError, AttributeError, TypeError):
        pass  # a lambda or a local function: a child of its own, below
    else:
        return _served(reader, request, path, limit)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(reader, path, write_end)
    os.close(write_end)
    try:
        data = _receive(pid, read_end, path, limit)
    finally:
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
    if not data:
        raise _crashed(path, status)
    kind, value = pickle.loads(data)  # written by this process's own fork just now: trusted
    if kind == "error":
        assert isinstance(value, MetadataError)
        raise value
    return value  # type: ignore[no-any-return]
