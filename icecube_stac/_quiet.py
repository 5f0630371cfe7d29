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

So each kind of warning silenced here has a *permanent* ``ignore`` entry, put at the front of the filter list
at first use and left there. Its message slot is a :class:`_ThreadSlot`, whose ``match`` (what the warnings
machinery calls on a filter's message, in the thread that warns) says yes only in a thread inside a block of
its kind (with ``any_thread``, a :class:`_SharedSlot`: in any thread while one is inside, for zarr, which warns
from its event loop's thread). Outside blocks the entry matches nothing, so a list saved and put back with it
does no harm, and no other thread's warning is ignored.

Each block moves the entry back to the front if a filter was put before it since (a caller's
``simplefilter("error")``, pytest's per-test filters); nothing else in the list is touched. Two details keep a
warning raised meanwhile by another thread from missing the entry (both races reproduced in review):

- ``match`` is always a C function (``callable``, which is false for any text, or the pattern's ``match``), so
  the interpreter's walk over the list runs no Python code and no thread moves an entry in the middle of it;
- a move puts a twin of the entry at the front first and only then removes the old one (the two differ in
  their module slot, so ``list.remove`` takes the right one): the list always holds one of them.

What is left: a list a caller's ``catch_warnings`` saved while our entry was not at its front, put back while
one of our blocks runs, leaves that block's warnings to the filters in front of it; the next block moves it
again. A block must end in the thread that began it (a generator holding one, closed by another thread, leaves
the first thread silenced). ``pickle``/``copy.deepcopy`` of ``warnings.filters`` keep our slots as they are
(by reference). A Ctrl-C while a block ends is raised once it has ended (:func:`_leave_surely`).
"""

from __future__ import annotations

import contextlib
import re
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any, Final, cast

__all__ = ["ignoring"]

# Reentrant: a signal handler or a finalizer may enter a block while its thread is in here.
_LOCK: Final = threading.RLock()


class _Slot:
    """What deep copies and pickles of ``warnings.filters`` do with our slots: keep them, by reference."""

    def __copy__(self) -> _Slot:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Slot:
        return self

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return (_slot_of, _KEY_OF[id(self)])


class _ThreadSlot(_Slot, threading.local):
    """A message slot whose ``match`` is this thread's own: a C function only (module doc); no ``__init__``."""

    match: Callable[[str], object] = callable  # false for any text; inside a block, the pattern's match


class _SharedSlot(_Slot):
    """A message slot whose ``match`` is every thread's (``any_thread``)."""

    match: Callable[[str], object] = callable


class _AnyModule(_Slot):
    """A module slot that matches every module, but is not None: the entry's twin (module doc)."""

    match: Callable[[str], object] = id  # always true

    def __reduce__(self) -> str:  # type: ignore[override]
        return "_ANY_MODULE"  # the module's one instance, by name


_ANY_MODULE: Final = _AnyModule()

_Key = tuple[type[Warning], str, bool]
# (category, message pattern, any thread) -> its slot and its two entries (twins, one in the list at a time)
_KINDS: Final[dict[_Key, tuple[_Slot, tuple[Any, ...], tuple[Any, ...]]]] = {}
_KEY_OF: Final[dict[int, _Key]] = {}  # a slot's kind, for pickles only
_OURS: Final[set[int]] = set()  # the ids of every kind's twin entries, kept as kinds are made
_INSIDE: Final = threading.local()  # .tokens: key -> this thread's blocks of that kind
_SHARED_TOKENS: Final[dict[_Key, list[object]]] = {}  # any_thread kinds: every thread's blocks


def _slot_of(category: type[Warning], message: str, any_thread: bool) -> _Slot:
    return _kind((category, message, any_thread))[0]


def _kind(key: _Key) -> tuple[_Slot, tuple[Any, ...], tuple[Any, ...]]:
    with _LOCK:
        kind = _KINDS.get(key)
        if kind is None:
            category, _, any_thread = key
            slot: _Slot = _SharedSlot() if any_thread else _ThreadSlot()
            twins = (("ignore", slot, category, None, 0), ("ignore", slot, category, _ANY_MODULE, 0))
            kind = _KINDS[key] = (slot, *twins)
            _KEY_OF[id(slot)] = key
            _OURS.update(map(id, twins))
        return kind


def _filters() -> list[Any]:
    return cast(list[Any], warnings.filters)  # a list at run time; typeshed says Sequence


def _to_front(key: _Key) -> None:
    """Put the kind's entry before every filter that is not one of ours (a no-op when it already is: usually)."""
    with _LOCK:
        _, first, second = _KINDS[key]
        filters = _filters()
        for item in filters:
            if item is first or item is second:
                return
            if id(item) not in _OURS:
                break
        old = next((item for item in filters if item is first or item is second), None)
        # Not filterwarnings, which first removes an equal filter of the user's (none can be equal: the slot is
        # ours) and resets the modules' registries. An "ignore" caches nothing in them.
        filters.insert(0, second if old is first else first)
        if old is not None:
            with contextlib.suppress(ValueError):
                filters.remove(old)  # only old itself equals old: its twin differs in the module slot


def _enter(key: _Key, token: object, yes: Callable[[str], object]) -> None:
    slot = _KINDS[key][0]
    if key[2]:
        with _LOCK:
            _SHARED_TOKENS.setdefault(key, []).append(token)
            slot.match = yes  # type: ignore[attr-defined]
        return
    tokens = getattr(_INSIDE, "tokens", None)
    if tokens is None:
        tokens = _INSIDE.tokens = {}
    tokens.setdefault(key, []).append(token)
    slot.match = yes  # type: ignore[attr-defined]  # this thread's only: the slot is a threading.local


def _leave(key: _Key, token: object) -> None:
    slot = _KINDS[key][0]
    with _LOCK if key[2] else contextlib.nullcontext():
        tokens = _SHARED_TOKENS.get(key) if key[2] else getattr(_INSIDE, "tokens", {}).get(key)
        if tokens and token in tokens:
            tokens.remove(token)
        if not tokens:
            with contextlib.suppress(AttributeError):  # never entered: nothing was set
                del slot.match  # type: ignore[attr-defined]  # back to the class's: matches nothing


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
    key = (category, message, any_thread)
    _kind(key)
    yes: Callable[[str], object] = re.compile(message, re.I).match if message else id  # id: true for any text
    token = object()
    try:
        # Inside the try: a KeyboardInterrupt before the token is listed leaves nothing to undo, and after it
        # the finally takes it out; the thread never stays counted inside.
        _to_front(key)
        _enter(key, token, yes)
        yield
    finally:
        _leave_surely(key, token)


def _leave_surely(key: _Key, token: object) -> None:
    """Leave the block even if a KeyboardInterrupt lands meanwhile (then raised once left): it is idempotent."""
    interrupted: KeyboardInterrupt | None = None
    while True:
        try:
            _leave(key, token)
            break
        except KeyboardInterrupt as exc:  # half left: a stale token or match would silence the thread for good
            interrupted = exc
    if interrupted is not None:
        raise interrupted
