"""Stage 2: warnings silenced around reads stay silenced in every thread, and nothing else is silenced.

``warnings.catch_warnings`` in two threads at once restores each other's filter lists (``icecube_stac._quiet``):
the harness below, with ``catch_warnings`` in place of ``ignoring``, left the ignore filter in the process and
let warnings through (checked when ``ignoring`` was written). These tests fail on either outcome. The entries
``ignoring`` leaves in the list are inert outside its blocks: the tests check that warnings are shown there.
"""

from __future__ import annotations

import copy
import pickle
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning

from icecube_stac import _quiet
from icecube_stac._quiet import ignoring
from icecube_stac.formats.geotiff import _open


class _Noise(UserWarning):
    """A warning class no library issues, so the tests see only their own."""


class _Other(UserWarning):
    """A second kind, for entries moved by other threads."""


def _in_threads(work: Callable[[], None], threads: int = 4) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors, errors


def _warn() -> None:
    warnings.warn("noise", _Noise, stacklevel=1)


def _theirs(filters: list[object]) -> list[object]:
    """The filters that are not ``ignoring``'s own (inert) entries."""
    ours = {id(entry) for _, *twins in _quiet._KINDS.values() for entry in twins}
    return [item for item in filters if id(item) not in ours]


def _same(after: list[object], before: list[object]) -> bool:
    theirs_after, theirs_before = _theirs(after), _theirs(before)
    return len(theirs_after) == len(theirs_before) and all(
        a is b for a, b in zip(theirs_after, theirs_before, strict=True)
    )


def test_threads_inside_at_once_neither_leak_nor_let_through() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        before = list(warnings.filters)

        def work() -> None:
            for _ in range(500):
                with ignoring(_Noise):
                    time.sleep(0)  # lets the other threads in, as a read inside the block does
                    _warn()

        _in_threads(work)
        after = list(warnings.filters)
        assert [w for w in caught if w.category is _Noise] == []
        _warn()  # outside every block: shown
    assert [str(w.message) for w in caught if w.category is _Noise] == ["noise"]
    assert _same(after, before)


def test_warnings_outside_the_block_are_shown_again() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # shown once per location: an ignored one must not count as shown
        for _ in range(3):
            with ignoring(_Noise):
                _warn()
        _warn()
    assert [str(w.message) for w in caught if w.category is _Noise] == ["noise"]


def test_a_users_equal_filter_is_kept() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", _Noise)
        mine = warnings.filters[0]
        before = list(warnings.filters)
        with ignoring(_Noise):
            assert warnings.filters[0] is not mine and mine in warnings.filters
        assert _same(list(warnings.filters), before)


def test_the_block_ends_when_it_raises_and_nests() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        before = list(warnings.filters)
        with pytest.raises(KeyError), ignoring(_Noise), ignoring(_Noise):
            assert sum(1 for f in warnings.filters if f[2] is _Noise) == 1  # one entry, shared
            with ignoring(_Noise):
                _warn()
            _warn()  # still inside the outer two
            raise KeyError("x")
        assert caught == []
        _warn()
        assert [str(w.message) for w in caught] == ["noise"]
        assert _same(list(warnings.filters), before)


def test_only_the_given_text_is_ignored() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ignoring(_Noise, "Consolidated metadata"):
            warnings.warn("Consolidated metadata is not part of the spec", _Noise, stacklevel=1)
            warnings.warn("something else", _Noise, stacklevel=1)
    assert [str(w.message) for w in caught if w.category is _Noise] == ["something else"]


def test_concurrent_opens_of_a_plain_tiff_never_warn(tmp_path: Path) -> None:
    """The readers' open, as two dask workers run it: rasterio's not-georeferenced warning never shows."""
    path = tmp_path / "plain.tif"
    profile = {"driver": "GTiff", "width": 8, "height": 8, "count": 1, "dtype": "uint16"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(np.ones((1, 8, 8), dtype=np.uint16))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        before = list(warnings.filters)
        with rasterio.open(path):  # the control: this file does warn
            pass
        assert [w.category for w in caught] == [NotGeoreferencedWarning]

        def work() -> None:
            for _ in range(150):
                with _open(path) as src:
                    assert src.width == 8

        _in_threads(work, threads=2)
        after = list(warnings.filters)
    assert [w for w in caught[1:] if w.category is NotGeoreferencedWarning] == []
    assert _same(after, before)


def _warn_in_a_thread() -> None:
    """Warn once from a fresh thread, under the caller's filters."""
    thread = threading.Thread(target=_warn)
    thread.start()
    thread.join()


def test_another_threads_warnings_are_not_ignored_meanwhile() -> None:
    inside, done = threading.Event(), threading.Event()

    def block() -> None:
        with ignoring(_Noise):
            inside.set()
            done.wait(10)
            _warn()  # its own: ignored

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        worker = threading.Thread(target=block)
        worker.start()
        assert inside.wait(10)
        _warn()  # the main thread's, while the worker is inside: shown
        done.set()
        worker.join()
    assert [str(w.message) for w in caught if w.category is _Noise] == ["noise"]


def test_any_thread_ignores_a_warning_raised_for_the_caller_by_another_thread() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ignoring(_Noise, "noise", any_thread=True):
            _warn_in_a_thread()  # as zarr warns from its event loop's thread
        with ignoring(_Noise, "noise"):
            _warn_in_a_thread()  # this thread only: the other thread's warning is shown
        _warn_in_a_thread()
    assert [str(w.message) for w in caught if w.category is _Noise] == ["noise", "noise"]


def test_a_filter_the_caller_adds_later_does_not_unsilence_a_block() -> None:
    with ignoring(_Noise):
        pass  # the entry now exists, as after any earlier read
    with warnings.catch_warnings():
        warnings.simplefilter("error", _Noise)  # in front of it, as pytest's -W error or a user's filter
        with ignoring(_Noise):
            _warn()  # ignored, not raised
            assert sum(1 for item in warnings.filters if item[2] is _Noise and item[1] is not None) == 1  # moved
        with pytest.raises(_Noise):
            _warn()


def test_a_callers_catch_warnings_in_another_thread_neither_keeps_nor_drops_the_filter() -> None:
    """Their block overlapping ours without nesting, in both orders (the first design's leak and let-through)."""
    with ignoring(_Noise):
        pass  # the entry exists, as after any earlier read
    steps = [threading.Event() for _ in range(4)]

    def caller() -> None:  # the user's thread: catch_warnings from step 0 to step 2
        with warnings.catch_warnings():
            steps[0].set()
            steps[1].wait(10)
        steps[2].set()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        user = threading.Thread(target=caller)
        with ignoring(_Noise):  # ours starts before theirs and ends inside it: the leak order
            user.start()
            assert steps[0].wait(10)
        steps[1].set()
        assert steps[2].wait(10)
        user.join()
        _warn()  # after both: shown
        user = threading.Thread(target=caller)
        for step in steps:
            step.clear()
        user.start()
        assert steps[0].wait(10)
        with ignoring(_Noise):  # theirs starts first and ends inside ours: the let-through order
            steps[1].set()
            assert steps[2].wait(10)
            _warn()  # inside ours, with their saved list back in place: ignored
        user.join()
    assert [str(w.message) for w in caught if w.category is _Noise] == ["noise"]


def test_an_interrupt_while_entering_leaves_the_thread_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    real_enter = _quiet._enter

    def interrupted(key: Any, token: object, yes: Any) -> None:
        real_enter(key, token, yes)
        raise KeyboardInterrupt  # as a Ctrl-C landing right after the thread is counted in

    monkeypatch.setattr(_quiet, "_enter", interrupted)
    with pytest.raises(KeyboardInterrupt), ignoring(_Noise):
        pass
    monkeypatch.undo()
    slot = _quiet._KINDS[(_Noise, "", False)][0]
    assert not slot.match("noise")  # type: ignore[attr-defined]  # this thread is counted out
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()  # nothing in front of the entry: it alone decides
        with ignoring(_Noise):
            pass
        _warn()
    assert [str(w.message) for w in caught if w.category is _Noise] == ["noise"]


def test_a_warning_raised_while_other_threads_move_entries_never_misses_its_own() -> None:
    """The interpreter walks the list while other threads move our entries and add theirs (review's race)."""
    switch = sys.getswitchinterval()
    raised = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with ignoring(_Noise), ignoring(_Other):
            pass
        stop = time.monotonic() + 1.0

        def users_filter() -> None:
            while time.monotonic() < stop:
                warnings.filterwarnings("ignore", category=DeprecationWarning)  # in front of ours
                time.sleep(0)

        def mover(category: type[Warning]) -> None:
            while time.monotonic() < stop:
                with ignoring(category):
                    pass

        def warner() -> None:
            nonlocal raised
            with ignoring(_Noise):
                while time.monotonic() < stop:
                    try:
                        _warn()
                    except _Noise:
                        raised += 1

        threads = [threading.Thread(target=users_filter), threading.Thread(target=warner)]
        threads += [threading.Thread(target=mover, args=(category,)) for category in (_Noise, _Other)]
        sys.setswitchinterval(1e-6)
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            sys.setswitchinterval(switch)
    assert raised == 0


def test_copies_and_pickles_of_the_filter_list_keep_our_entries() -> None:
    with ignoring(_Noise):
        pass
    ours = [item for item in warnings.filters if item not in _theirs(list(warnings.filters))]
    assert ours
    copied = copy.deepcopy(list(warnings.filters))
    assert all(any(c[1] is o[1] for c in copied) for o in ours)
    assert all(pickle.loads(pickle.dumps(o))[1] is o[1] for o in ours)


def test_zarrs_consolidation_notice_is_silenced_from_its_event_loop(tmp_path: Path) -> None:
    import zarr

    store = zarr.storage.LocalStore(tmp_path / "c.zarr")
    group = zarr.create_group(store, zarr_format=3)
    group.create_array("x", shape=(2,), dtype="uint8")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        with pytest.raises(UserWarning, match="Consolidated metadata"):  # the control: zarr does warn
            zarr.consolidate_metadata(store, zarr_format=3)
        with ignoring(UserWarning, "Consolidated metadata", any_thread=True):
            zarr.consolidate_metadata(store, zarr_format=3)


def test_an_interrupt_while_leaving_is_raised_once_the_block_has_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    real_leave, calls = _quiet._leave, []

    def interrupted_once(key: Any, token: object) -> None:
        calls.append(key)
        if len(calls) == 1:
            raise KeyboardInterrupt  # as a Ctrl-C landing while the block ends
        real_leave(key, token)

    monkeypatch.setattr(_quiet, "_leave", interrupted_once)
    with pytest.raises(KeyboardInterrupt), ignoring(_Noise):
        pass
    monkeypatch.undo()
    assert len(calls) == 2
    assert not _quiet._KINDS[(_Noise, "", False)][0].match("noise")  # type: ignore[attr-defined]
