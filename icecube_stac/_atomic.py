"""Atomic writes: the one way icecube-stac writes a file or folder (catalog, cube, search output).

A writer gets a path inside a private staging folder, created exclusively next to the target (``mkdtemp``:
an unpredictable name, mode 0700, so nothing can be planted in it), writes it completely, and only then is
it moved into place: with one ``rename`` for a new target or a file replacing a file, with
``renameat2(RENAME_EXCHANGE)`` to swap out a folder (Linux), or with "old away, new in" where that call is
missing. A process killed at any point leaves the previous target whole.

Only absent targets, regular files and real folders are ever replaced: a symbolic link, device, fifo or
socket at the target is refused (:func:`write_bytes` writes *into* a character device or fifo, such as
``/dev/stdout``, instead). Callers may refuse more with ``check`` (the cube writer replaces only cubes).

Staging folders are named ``.NAME.tmp-PID.START-RANDOM``, START being the writer's start time from
``/proc/PID/stat``: the next writer of the same target removes the staging folders of writers that are gone
(and puts back a target lost between the two fallback renames), even when their PID now belongs to another
process. Every :class:`OSError` is reported as an :class:`~icecube_stac.errors.OutputError` naming the target.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import functools
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from icecube_stac.errors import IcecubeStacError, OutputError, OutputExistsError

__all__ = [
    "atomic_path",
    "check_target",
    "owner_alive",
    "process_start_time",
    "recover",
    "target_path",
    "write_bytes",
]

_RENAME_EXCHANGE: Final = 2
_AT_FDCWD: Final = -100
_PREVIOUS: Final = ".previous"  # suffix of the replaced target inside a staging folder
# Names that stand for this process's standard streams: written to the open descriptor, never renamed over.
_STREAMS: Final = {"-": 1, "/dev/stdout": 1, "/dev/fd/1": 1, "/proc/self/fd/1": 1}
_STREAMS_ERR: Final = {"/dev/stderr": 2, "/dev/fd/2": 2, "/proc/self/fd/2": 2}


def process_start_time(pid: int) -> int | None:
    """Return when process ``pid`` started (clock ticks since boot, ``/proc/PID/stat`` field 22).

    Parameters
    ----------
    pid
        A process id.

    Returns
    -------
    int or None
        None when there is no such process, or no ``/proc`` to ask.
    """
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()  # the command name (field 2) may hold spaces and parentheses
    return int(fields[19]) if len(fields) > 19 and fields[19].isdigit() else None


def owner_alive(pid: int, start: int | None) -> bool:
    """Tell whether the writer that named a staging folder still runs.

    Parameters
    ----------
    pid, start
        From the folder's name; ``start`` is None for names of earlier versions (PID only).

    Returns
    -------
    bool
        True while that very process runs (a reused PID with another start time is not it).
    """
    if start is not None and Path("/proc/self/stat").exists():
        return process_start_time(pid) == start
    try:
        os.kill(pid, 0)  # signal 0 only checks that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _staging_pattern(target: Path) -> re.Pattern[str]:
    # Current names (.NAME.tmp-PID.START-RANDOM) and those of earlier versions (.NAME.tmp|old-PID-HEX).
    name = re.escape(f".{target.name}.")
    return re.compile(name + r"(?P<kind>tmp|old)-(?P<pid>\d+)(?:\.(?P<start>\d+))?-[0-9a-z_]+")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _ours(path: Path) -> bool:
    try:
        return path.lstat().st_uid == os.geteuid()
    except OSError:
        return False


def _restore(leftover: Path, target: Path) -> None:
    """Put back a target that a killed writer had moved away (before its new one was in)."""
    if target.exists() or target.is_symlink() or not leftover.exists() or not _ours(leftover):
        return
    os.rename(leftover, target)


def _recover(target: Path) -> None:
    """Clean up after writers of ``target`` that are gone: drop their staging folders, restore a lost target."""
    if not target.parent.is_dir():
        return
    pattern = _staging_pattern(target)
    for sibling in target.parent.iterdir():
        match = pattern.fullmatch(sibling.name)
        if match is None or not _ours(sibling):
            continue
        start = int(match["start"]) if match["start"] else None
        if owner_alive(int(match["pid"]), start):
            continue
        if match["kind"] == "old":
            _restore(sibling, target)
        elif sibling.is_dir() and not sibling.is_symlink():
            _restore(sibling / f"{target.name}{_PREVIOUS}", target)
        _remove(sibling)


def recover(target: str | os.PathLike[str]) -> None:
    """Clean up what killed writers of ``target`` left behind, even when nothing new is written.

    Writers recover before they write; a caller that may decide to write nothing (an index run with no
    change) calls this first, so a staging folder of a killed run never outlives the next run.
    """
    _recover(Path(target))


def _fsync_tree(path: Path) -> None:
    # The rename must never publish files that are not on disk yet. One sync(2) flushes a folder of
    # thousands of files far faster than an fsync each (2 ms a file here).
    if path.is_dir() and hasattr(os, "sync"):
        os.sync()
        return
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for file in files:
        with file.open("rb") as handle:
            os.fsync(handle.fileno())


@functools.cache
def _renameat2() -> Any:
    libc_name = ctypes.util.find_library("c")
    if not sys.platform.startswith("linux") or libc_name is None:
        return None
    return getattr(ctypes.CDLL(libc_name, use_errno=True), "renameat2", None)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step with renameat2(RENAME_EXCHANGE); False where the call does not exist."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL):  # kernel or file system without RENAME_EXCHANGE
        return False
    raise OSError(code, os.strerror(code), str(b))


def check_target(path: Path, overwrite: bool, check: Callable[[Path], None] | None) -> None:
    """Refuse a target that must not be replaced (see :func:`atomic_path`).

    A link, device, fifo or socket is never replaced; an existing file or folder only with ``overwrite``
    and when ``check`` (if given) does not raise.

    Raises
    ------
    OutputExistsError
        Naming ``path`` and why.
    """
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise OutputExistsError(f"{path} is a symbolic link; icecube-stac never replaces a link: write to its target")
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise OutputExistsError(f"{path} is a device, fifo or socket, not a file or folder that can be replaced")
    if not overwrite:
        raise OutputExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    if check is not None:
        check(path)


def _swap_in(staging: Path, target: Path) -> None:
    """Move the complete ``staging`` to ``target``; a replaced target ends up inside the staging folder."""
    if not target.exists():
        os.rename(staging, target)
    elif staging.is_file() and target.is_file():
        os.replace(staging, target)  # one atomic step for plain files
    elif not _exchange(staging, target):
        previous = staging.with_name(staging.name + _PREVIOUS)
        os.rename(target, previous)
        try:
            os.rename(staging, target)
        except BaseException:
            os.rename(previous, target)
            raise


def _write_error(target: Path, exc: OSError) -> OutputError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    inner = f" (at {exc.filename})" if exc.filename and str(exc.filename) != str(target) else ""
    error = OutputError(f"cannot write {target}: {reason}{inner}")
    error.errno = exc.errno
    return error


def target_path(target: str | os.PathLike[str]) -> Path:
    """Return ``target`` as a path, refusing ``.``, ``..`` and ``/``, which name folders holding other things.

    Raises
    ------
    OutputError
        For such a name.
    """
    path = Path(target)
    if path.name in ("", ".", ".."):
        raise OutputError(
            f"cannot write to {os.fspath(target)!r}: that names a folder that holds other things; "
            "name a new file or folder (e.g. cube.zarr)"
        )
    return path


@contextlib.contextmanager
def atomic_path(
    target: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    check: Callable[[Path], None] | None = None,
) -> Iterator[Path]:
    """Yield a path to write in a private staging folder; move it to ``target`` when the block succeeds.

    Parameters
    ----------
    target
        The final file or folder.
    overwrite
        Replace an existing ``target`` (in one step for files, and for folders on Linux).
    check
        Called with an existing ``target`` before it is replaced (before and after the block); raises
        :class:`OutputExistsError` when it must not be. Default: any regular file or real folder may be.

    Yields
    ------
    pathlib.Path
        A path that does not exist yet, with the target's name, on the target's file system.

    Raises
    ------
    OutputExistsError
        When ``target`` exists and may not be replaced (checked before and after the block).
    OutputError
        When anything cannot be written; the message names ``target``.
    """
    path = target_path(target)
    try:
        _recover(path)
        check_target(path, overwrite, check)
        path.parent.mkdir(parents=True, exist_ok=True)
        start = process_start_time(os.getpid()) or 0
        folder = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-{os.getpid()}.{start}-", dir=path.parent))
    except IcecubeStacError:
        raise
    except OSError as exc:
        raise _write_error(path, exc) from exc
    staging = folder / path.name
    try:
        yield staging
        if not staging.exists():
            raise OutputError(f"cannot write {path}: the writer produced nothing")
        _fsync_tree(staging)
        check_target(path, overwrite, check)
        _swap_in(staging, path)
    except IcecubeStacError:
        raise
    except OSError as exc:
        raise _write_error(path, exc) from exc
    finally:
        _remove(folder)


def _write_stream(fd: int, data: bytes) -> None:
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _open_stream(path: Path) -> int | None:
    """Open an existing character device or fifo for writing; None when ``path`` is not one."""
    try:
        mode = path.stat().st_mode  # follows links: /dev/stdout -> /proc/self/fd/1 -> pipe or terminal
    except OSError:
        return None
    if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        return None
    fd = os.open(path, os.O_WRONLY | os.O_NOCTTY)  # no O_CREAT, no O_TRUNC: nothing is created or cut
    if not (stat.S_ISCHR(os.fstat(fd).st_mode) or stat.S_ISFIFO(os.fstat(fd).st_mode)):
        os.close(fd)  # replaced by something else since the check
        raise OutputExistsError(f"{path} changed while it was opened; not writing to it")
    return fd


def _regular_file_only(path: Path) -> None:
    if not path.is_file():
        raise OutputExistsError(f"{path} is a folder; name a file to write (or - for standard output)")


def write_bytes(target: str | os.PathLike[str], data: bytes, *, overwrite: bool = True) -> bool:
    """Write ``data`` to a file atomically, or into a stream (``-``, ``/dev/stdout``, a fifo, a device).

    Parameters
    ----------
    target
        ``-`` or ``/dev/stdout`` (standard output), an existing character device or fifo (written into, never
        replaced), or a regular file (replaced atomically through :func:`atomic_path`).
    data
        The bytes.
    overwrite
        Replace an existing regular file.

    Returns
    -------
    bool
        True when the data went into a stream, False when a file was written.

    Raises
    ------
    OutputError
        When it cannot be written; the message names ``target``. A folder, a socket or a symbolic link to
        anything but a stream is refused.
    """
    text = os.fspath(target)
    path = Path(text)
    try:
        fd = _STREAMS.get(text, _STREAMS_ERR.get(text))
        if fd is not None:
            _write_stream(fd, data)
            return True
        fd = _open_stream(path)
        if fd is not None:
            try:
                _write_stream(fd, data)
            finally:
                os.close(fd)
            return True
    except IcecubeStacError:
        raise
    except OSError as exc:
        raise _write_error(path, exc) from exc
    with atomic_path(path, overwrite=overwrite, check=_regular_file_only) as staging:
        staging.write_bytes(data)
    return False
