"""Atomic replacement of a file or folder, shared by the catalog writer and the cube writers.

A writer gets a hidden temporary sibling of the target, writes it completely, and only then is it moved
into place: with one ``rename`` for a new target, with ``renameat2(RENAME_EXCHANGE)`` to swap a folder
that exists (Linux), or with "old away, new in" where that call is missing. A process killed at any point
leaves the previous target whole; the next writer removes what dead writers left behind (and puts back a
folder lost between the two fallback renames).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import re
import secrets
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

from icecube_stac.errors import IcecubeStacError, OutputExistsError

__all__ = ["atomic_path"]

_TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)-[0-9a-f]+")
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 only checks that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _recover(target: Path) -> None:
    """Clean up after writers of ``target`` that were killed: drop their temporaries, restore a lost target."""
    if not target.parent.is_dir():
        return
    for sibling in target.parent.iterdir():
        match = _TEMPORARY.fullmatch(sibling.name)
        if match is None or match["name"] != target.name or _pid_alive(int(match["pid"])):
            continue
        if match["kind"] == "old" and not target.exists():
            os.rename(sibling, target)  # killed between "old away" and "new in": the old one comes back
        else:
            _remove(sibling)


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


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step with renameat2(RENAME_EXCHANGE); False where the call does not exist."""
    libc_name = ctypes.util.find_library("c")
    if not sys.platform.startswith("linux") or libc_name is None:
        return False
    renameat2 = getattr(ctypes.CDLL(libc_name, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL):  # kernel or file system without RENAME_EXCHANGE
        return False
    raise IcecubeStacError(f"cannot swap {a} into {b}: {os.strerror(code)}")


def _swap_in(staging: Path, target: Path, overwrite: bool) -> None:
    if not target.exists() and not target.is_symlink():
        os.rename(staging, target)
        return
    if not overwrite:
        raise OutputExistsError(f"{target} exists; pass overwrite=True (--overwrite) to replace it")
    if staging.is_file() and target.is_file():
        os.replace(staging, target)  # one atomic step for plain files
        return
    if staging.is_dir() and target.is_dir() and _exchange(staging, target):
        return  # staging now holds the previous target, removed by the caller
    backup = target.with_name(f".{target.name}.old-{os.getpid()}-{secrets.token_hex(4)}")
    os.rename(target, backup)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(backup, target)
        raise
    _remove(backup)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of ``target`` to write; move it to ``target`` when the block succeeds.

    Parameters
    ----------
    target
        The final file or folder.
    overwrite
        Replace an existing ``target`` (in one step for files, and for folders on Linux).

    Yields
    ------
    pathlib.Path
        A path that does not exist yet, in the same folder as ``target`` (so the final rename is atomic).

    Raises
    ------
    OutputExistsError
        When ``target`` exists and ``overwrite`` is false (checked before and after the block).
    """
    path = Path(target)
    _recover(path)
    if not overwrite and (path.exists() or path.is_symlink()):
        raise OutputExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        yield staging
        if not staging.exists():
            raise FileNotFoundError(f"nothing was written to {staging}")
        _fsync_tree(staging)
        _swap_in(staging, path, overwrite)
    finally:
        if staging.exists() or staging.is_symlink():
            _remove(staging)
