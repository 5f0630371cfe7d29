"""Run one step of a command in a forked child process while the command's process imports what comes next.

A plain ``icecube-stac cube`` spends its start-up in two independent halves that each hold the GIL: the search
and the plan (DuckDB, Arrow and pystac imports, the query, parsing the items: ~0.12 s on 12 products) and the
writer's imports (zarr, h5py or rasterio: ~0.1-0.16 s). Threads cannot overlap them; two processes can, on the
two cores the command has. :func:`run_in_child` forks, computes the step in the child, and imports the given
modules in the parent until the child's result is there (measured: the first pixel 0.08 s earlier for SLC, the
whole 12-GRD cube 0.2 s faster, because rasterio is imported beside the search).

The child's result must be picklable (the cube plan is: plain values and numpy arrays). What the child's step
emits comes back with it: its warnings are issued again in the parent, and an :class:`IcecubeStacError` or
``OSError`` is raised in the parent, so the command prints what it printed without the child. Anything else
(an error that does not survive pickling, a child that dies, ``os.fork`` refused) makes the parent compute the
step itself, as if there had been no child, so a bug keeps its real traceback and nothing is ever lost.

The child dies with the parent (``PR_SET_PDEATHSIG``): a command killed by ``kill -9`` or ``SIGTERM`` leaves
no child holding its output pipes. An interrupt is the parent's alone: the child ignores ``SIGINT`` and the
parent, interrupted, ends it with ``SIGTERM``, which the child takes as its one ``KeyboardInterrupt``, so its
clean-up runs as it would in-process (a staging folder is removed) before the parent reports "interrupted".

Only the command's own process forks (``cli.main()`` as the process's entry point, on Linux), never a host
program that calls the library or ``main(argv)``: a fork copies the caller's threads and locks into a state
only this module controls in the command.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import select
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, NoReturn, TypeVar

from icecube_stac.errors import IcecubeStacError

__all__ = ["fork_available", "run_in_child"]

T = TypeVar("T")

# The kinds of failure the command line reports as a message (cli._run): these are raised in the parent as the
# child raised them; any other exception is a bug whose traceback must be the parent's own (see the docstring).
_REPORTED: tuple[type[BaseException], ...] = (IcecubeStacError, OSError)
_READ: int = 1 << 20
# Blocked across the fork, so that no interrupt reaches the child before its handlers are set (see _child).
_RELAYED: frozenset[signal.Signals] = frozenset({signal.SIGINT, signal.SIGTERM})
_PR_SET_PDEATHSIG: int = 1  # linux/prctl.h


@dataclass(frozen=True)
class _Outcome(Generic[T]):
    """What the child sends back: its value or its reported error, and the warnings it issued."""

    value: T | None
    error: BaseException | None
    warned: tuple[tuple[Warning | str, type[Warning], str, int, str | None], ...]  # ..., the issuing module


def fork_available() -> bool:
    """Tell whether this platform forks safely: Linux with ``os.fork`` (macOS frameworks break in a fork)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def _survives_pickling(error: BaseException) -> bool:
    try:
        copy = pickle.loads(pickle.dumps(error))
    except Exception:  # any failure means: let the parent compute it itself
        return False
    return type(copy) is type(error) and str(copy) == str(error)


def _outcome(compute: Callable[[], T]) -> _Outcome[T] | None:
    """Compute in the child, recording warnings; None when the parent must compute the step itself."""
    with warnings.catch_warnings(record=True) as caught:
        try:
            value: T | None = compute()
            error: BaseException | None = None
        except _REPORTED as exc:
            if not _survives_pickling(exc):
                return None
            value, error = None, exc
        except Exception:  # a bug: computed again in the parent, for its real traceback
            return None
    files = _module_names() if caught else {}
    warned = tuple((w.message, w.category, w.filename, w.lineno, files.get(w.filename)) for w in caught)
    return _Outcome(value, error, warned)


def _module_names() -> dict[str, str]:
    """Map each loaded module's file to its name: the module a warning's filters and registry go by."""
    return {
        file: name
        for name, module in list(sys.modules.items())
        if isinstance(file := getattr(module, "__file__", None), str)
    }


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _flushed() -> bool:
    """Flush the standard streams before a fork; False when one cannot be flushed (then there is no fork)."""
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # None: the command was started with the stream closed (``>&-``)
                stream.flush()
    except (OSError, ValueError):  # a broken pipe, a closed file: what is buffered would be written twice
        return False
    return True


def _die_with(parent: int) -> None:
    """Have the kernel kill this child when ``parent`` dies, and exit at once if it is gone already."""
    with contextlib.suppress(Exception):  # no prctl (another libc): the child then outlives a killed parent
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def _child(compute: Callable[[], T], write_fd: int, parent: int, mask: set[int | signal.Signals]) -> NoReturn:
    """Compute, send the pickled outcome (or nothing) and exit without clean-up: the child's whole life."""
    status = 1
    try:
        _die_with(parent)
        # A Ctrl-C reaches the whole process group: the parent relays it as SIGTERM (see _reap), so that the
        # child gets one KeyboardInterrupt, not a second one in the middle of its clean-up.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        outcome = _outcome(compute)
        if outcome is not None:
            _write_all(write_fd, pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))
            status = 0
    except BaseException:  # Ctrl-C, a gone parent (EPIPE), an unpicklable value: no outcome
        pass
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(status)  # no atexit handlers, no finalisation: they belong to the parent


def _warm_up(modules: Sequence[str], read_fd: int) -> None:
    """Import ``modules`` in order until the child's outcome starts to arrive (or all are imported)."""
    ready = select.poll()  # not select.select, which refuses a descriptor above 1023 (many inherited fds)
    ready.register(read_fd, select.POLLIN)
    for name in modules:
        if ready.poll(0):
            return
        # Any failure (a missing optional module, a broken binary one raising ValueError) is left to the code
        # that really needs the module, which then imports it again: a warm-up never changes the outcome.
        with contextlib.suppress(Exception):
            importlib.import_module(name)


def _receive(read_fd: int) -> bytes:
    parts = []
    while block := os.read(read_fd, _READ):
        parts.append(block)
    return b"".join(parts)


def _reap(pid: int, early: bool) -> None:
    """Wait for the child; interrupt it first when the parent leaves ``early`` (Ctrl-C), so it cleans up.

    A second Ctrl-C while the child cleans up (or is stuck in a library) kills it at once.
    """
    try:
        if early:
            os.kill(pid, signal.SIGTERM)  # the child's KeyboardInterrupt (see _child)
        os.waitpid(pid, 0)
    except (ChildProcessError, ProcessLookupError):
        pass
    except BaseException:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        raise


def _replay(outcome: _Outcome[T]) -> T:
    """Issue the child's warnings as its step issued them, then return its value or raise its error.

    Each warning goes by the module that issued it, as ``warnings.warn`` does: a filter naming the module
    matches it, and the module's registry (when loaded here too) remembers it, so the ``default`` action does
    not show it again when this process issues it from the same line.
    """
    for message, category, filename, lineno, module in outcome.warned:
        loaded = sys.modules.get(module) if module is not None else None
        registry = None if loaded is None else vars(loaded).setdefault("__warningregistry__", {})
        warnings.warn_explicit(message, category, filename, lineno, module=module, registry=registry)
    if outcome.error is not None:
        raise outcome.error
    return outcome.value  # type: ignore[return-value]  # None only with an error


def run_in_child(compute: Callable[[], T], warm_ups: Sequence[str] = ()) -> T:
    """Return ``compute()``, computed in a forked child while this process imports ``warm_ups``.

    Parameters
    ----------
    compute
        The step; its result must be picklable. It must not depend on anything the warm-ups change.
    warm_ups
        Modules to import meanwhile, most needed first; the imports stop once the child's result arrives.

    Returns
    -------
    T
        What ``compute()`` returned in the child, or in this process when the child could not deliver it.

    Raises
    ------
    IcecubeStacError, OSError
        What ``compute()`` raised, after the warnings it issued.
    """
    # Another thread may hold a lock at the fork (the stderr buffer's, logging's) that the child then waits
    # for for ever: fork only a process whose threads are its main one (C libraries' idle pools are their own
    # business: OpenBLAS stops its pool at a fork). What is buffered at the fork would be written twice.
    if not fork_available() or threading.active_count() > 1 or not _flushed():
        return compute()
    parent = os.getpid()
    read_fd, write_fd = os.pipe()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _RELAYED)
    try:
        pid = os.fork()
    except OSError:  # a process limit, no memory for the page tables: do it here
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(read_fd)
        os.close(write_fd)
        return compute()
    if pid == 0:
        os.close(read_fd)
        _child(compute, write_fd, parent, mask)
    received = False
    try:
        os.close(write_fd)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        _warm_up(warm_ups, read_fd)
        payload = _receive(read_fd)
        received = True
    finally:
        os.close(read_fd)
        _reap(pid, early=not received)
    try:
        outcome: _Outcome[T] = pickle.loads(payload)  # our own child's bytes, through a private pipe
    except Exception:  # nothing or a part came: the child died or could not send its outcome
        return compute()
    return _replay(outcome)
