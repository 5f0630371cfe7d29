"""Silence one kind of warning around a call, safely while other threads do the same.

``warnings.catch_warnings`` saves the process's filter list when a block starts and puts it back when it ends.
Two threads inside such blocks at once put back each other's lists (``tests/test_21_quiet_warnings.py`` shows
both outcomes with ``catch_warnings`` in place of :func:`ignoring`):

- the thread that leaves last can put back the list the other one had made, its filter included, which then
  stays in the user's process for good (a rasterio warning category, or every warning for a block that
  ignored all);
- the other thread's calls run without their filter meanwhile: rasterio's spurious "Dataset has no
  geotransform" warning showed in 1 of 12 geocoded cubes written by two workers (measured).

:func:`ignoring` instead adds one ``ignore`` entry to the list while any thread is inside a block of that kind,
and takes that entry (found by identity, wherever other code has moved it) out when the last one leaves.
Nothing else in the list is touched. The price, kept small by keeping such blocks short: while one runs,
another thread's warning of the same category and message is ignored too.
"""

from __future__ import annotations

import contextlib
import re
import threading
import warnings
from collections.abc import Iterator
from typing import Any, Final, cast

__all__ = ["ignoring"]

_LOCK: Final = threading.Lock()
# (category, message pattern) -> [threads inside, the filter entry they share]
_ACTIVE: Final[dict[tuple[type[Warning], str], list[Any]]] = {}


def _filters() -> list[Any]:
    return cast(list[Any], warnings.filters)  # a list at run time; typeshed says Sequence


def _remove(entry: tuple[Any, ...]) -> None:
    filters = _filters()
    for index, item in enumerate(filters):
        if item is entry:  # by identity: a user's equal filter, if any, stays
            del filters[index]
            return


@contextlib.contextmanager
def ignoring(category: type[Warning], message: str = "") -> Iterator[None]:
    """Ignore warnings of ``category`` (whose text starts with the regex ``message``) while the block runs.

    Parameters
    ----------
    category
        The warning class to ignore (subclasses included, as ``warnings.filterwarnings``).
    message
        A regular expression the start of the warning's text must match; empty for any text.

    Yields
    ------
    None
    """
    key = (category, message)
    with _LOCK:
        shared = _ACTIVE.get(key)
        if shared is None:
            # Not filterwarnings, which first removes an equal filter the user set (then lost with ours). An
            # "ignore" caches nothing in the modules' registries, so neither adding nor removing it needs
            # their reset (the private warnings._filters_mutated).
            entry = ("ignore", re.compile(message, re.I) if message else None, category, None, 0)
            _filters().insert(0, entry)
            shared = _ACTIVE[key] = [0, entry]
        shared[0] += 1
    try:
        yield
    finally:
        with _LOCK:
            shared[0] -= 1
            if shared[0] == 0:
                del _ACTIVE[key]
                _remove(shared[1])
