"""Progress bars: one style (tqdm) on standard error, shown only when stderr is a terminal.

Indexing counts products and writing a cube counts dask tasks; both go through :func:`progress_wanted`, so
a pipe, a log file or ``-q`` never gets bar characters, and standard output stays for results.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

__all__ = ["DaskProgress", "progress_wanted", "tracked"]

_T = TypeVar("_T")


def progress_wanted(requested: bool) -> bool:
    """Tell whether to draw a bar: it was asked for and standard error is a terminal."""
    try:
        return requested and sys.stderr.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stderr
        return False


def tracked(jobs: Iterable[_T], requested: bool, *, desc: str, unit: str, total: int | None = None) -> Iterator[_T]:
    """Iterate ``jobs`` with a tqdm bar on stderr when :func:`progress_wanted`."""
    if not progress_wanted(requested) or (total is not None and total < 2):
        yield from jobs
        return
    from tqdm import tqdm

    yield from tqdm(jobs, desc=desc, unit=unit, file=sys.stderr, leave=False, total=total)


class DaskProgress:
    """A dask callback drawing a tqdm bar of finished tasks on stderr (a context manager, like dask's own)."""

    def __init__(self, desc: str = "writing", requested: bool = True) -> None:
        self._desc = desc
        self._enabled = progress_wanted(requested)
        self._bar: Any = None
        self._callback: Any = None

    def _start_state(self, dsk: Any, state: Any) -> None:
        from tqdm import tqdm

        total = sum(len(state[key]) for key in ("ready", "waiting", "running", "finished") if key in state)
        self._bar = tqdm(total=total, desc=self._desc, unit="task", file=sys.stderr, leave=False)

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def _finish(self, dsk: Any, state: Any, errored: bool) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> DaskProgress:
        if self._enabled:
            from dask.callbacks import Callback

            self._callback = Callback(  # type: ignore[no-untyped-call]
                start_state=self._start_state, posttask=self._posttask, finish=self._finish
            )
            self._callback.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._callback is not None:
            self._callback.__exit__(*exc_info)
            self._callback = None
        self._finish(None, None, False)
