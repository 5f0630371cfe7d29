"""Silence one kind of warning around a call, in the calling thread only, whatever other threads do meanwhile.

``warnings.catch_warnings`` saves the process's filter list when a block starts and puts it back when it ends.
Two threads inside such blocks at once put back each other's lists (``tests/test_21_quiet_warnings.py`` shows
both outcomes with ``catch_warnings`` in place of :func:`ignoring`):

- the thread that leaves last can put back the list the other one had made, its filter included, which then
  stays in the user's process for good (a rasterio warning category, or every warning for a block that
  ignored all);
- the other thread's calls run without their filter meanwhile: rasterio's spurious "Dataset has no
  geotransform" warning showed in 1 of 12 geocoded cubes written by two workers (measured).

Adding an entry while a block runs and removing it after (this module's first design) still raced with a
caller's own ``catch_warnings`` in another thread: a block of theirs overlapping ours could save the list with
our entry and put it back after we had left (the entry then stayed), or put back a list without it while we were
inside (the warning then showed). And meanwhile every thread's warnings of that kind were ignored.

So each kind of warning silenced here has one *permanent* ``ignore`` entry, put at the front of the filter list
at first use and left there. Its message slot is a :class:`_Matcher`, whose ``match`` (what the warnings
machinery calls on a filter's message, in the thread that warns) answers only in a thread that is inside a
block of its kind (or, with ``any_thread``, in any thread while one is: for zarr, which warns from its event
loop's thread). Outside such blocks the entry matches nothing, so a list saved and put back with it does no
harm, and no other thread's warning is ignored. Each block moves the entry back to the front if a filter was
added before it since (a caller's ``simplefilter("error")``, or pytest's per-test filters), so the warnings
a reader expects stay silent; nothing else in the list is touched. One case is left: a caller's block that
saved the list before the entry's first use and ends inside one of ours puts back a list without it, and
that one block of ours shows its warnings; the next puts the entry back.
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
# (category, message pattern, any thread) -> the permanent filter entry of that kind
_ENTRIES: Final[dict[tuple[type[Warning], str, bool], tuple[Any, ...]]] = {}


class _Matcher:
    """A filter's message slot that matches only while a block of its kind runs (module doc).

    ``any_thread`` false: only in a thread inside such a block. True: in every thread while one is inside, for
    warnings raised on the caller's behalf by another thread (zarr's, from its event loop).
    """

    def __init__(self, message: str, any_thread: bool) -> None:
        self._pattern = re.compile(message, re.I) if message else None  # as filterwarnings compiles it
        self._any_thread = any_thread
        self._inside = threading.local()  # .blocks: a token per block this thread is inside
        self._everywhere: list[object] = []  # the tokens of every thread's blocks (any_thread only)

    def match(self, text: str) -> bool:
        """Tell whether a warning's text is to be ignored: in a block of this kind, and the text matches."""
        inside = self._everywhere if self._any_thread else getattr(self._inside, "blocks", None)
        if not inside:  # first: the warnings machinery calls this for every warning of the process
            return False
        return self._pattern is None or self._pattern.match(text) is not None

    def enter(self, token: object) -> None:
        """Count a block in (once ``token`` is listed: see :func:`ignoring`)."""
        if self._any_thread:
            self._everywhere.append(token)  # one C call, atomic under the GIL
            return
        blocks = getattr(self._inside, "blocks", None)
        if blocks is None:
            blocks = self._inside.blocks = []
        blocks.append(token)

    def leave(self, token: object) -> None:
        """Count the block of ``token`` out; nothing if it never got in."""
        blocks = self._everywhere if self._any_thread else getattr(self._inside, "blocks", None)
        if blocks:
            with contextlib.suppress(ValueError):
                blocks.remove(token)  # by identity: tokens are plain objects

    def __repr__(self) -> str:
        pattern = self._pattern.pattern if self._pattern else ""
        where = "any thread" if self._any_thread else "threads"
        return f"<icecube_stac ignoring {pattern!r} in {where} inside its blocks>"


def _filters() -> list[Any]:
    return cast(list[Any], warnings.filters)  # a list at run time; typeshed says Sequence


def _entry(category: type[Warning], message: str, any_thread: bool) -> tuple[Any, ...]:
    key = (category, message, any_thread)
    with _LOCK:
        entry = _ENTRIES.get(key)
        if entry is None:
            entry = _ENTRIES[key] = ("ignore", _Matcher(message, any_thread), category, None, 0)
    return entry


def _to_front(entry: tuple[Any, ...]) -> None:
    """Put ``entry`` before every filter that is not one of ours (a no-op when it already is: the usual case)."""
    with _LOCK:
        ours = set(map(id, _ENTRIES.values()))
        filters = _filters()
        for item in filters:
            if item is entry:
                return
            if id(item) not in ours:
                break
        # Not filterwarnings, which first removes an equal filter of the user's (none can be equal: the
        # matcher is ours) and resets the modules' registries. An "ignore" caches nothing in them.
        with contextlib.suppress(ValueError):
            filters.remove(entry)  # one C call: the GIL keeps another thread's change of the list out
        filters.insert(0, entry)


@contextlib.contextmanager
def ignoring(category: type[Warning], message: str = "", *, any_thread: bool = False) -> Iterator[None]:
    """Ignore warnings of ``category`` (whose text starts with the regex ``message``) raised in this thread.

    Only warnings raised by the calling thread while the block runs are ignored; another thread's are not,
    unless it is inside such a block too (or ``any_thread`` says so).

    Parameters
    ----------
    category
        The warning class to ignore (subclasses included, as ``warnings.filterwarnings``).
    message
        A regular expression the start of the warning's text must match; empty for any text.
    any_thread
        Ignore them in every thread while the block runs: for a library that warns from a thread of its own
        (zarr's consolidation notice, raised on its event loop). Keep ``message`` specific then.

    Yields
    ------
    None
    """
    entry = _entry(category, message, any_thread)
    matcher = cast(_Matcher, entry[1])
    token = object()
    try:
        # Inside the try: a KeyboardInterrupt before the token is listed leaves nothing to undo, and after it
        # the finally takes it out; the thread never stays counted inside.
        _to_front(entry)
        matcher.enter(token)
        yield
    finally:
        matcher.leave(token)
