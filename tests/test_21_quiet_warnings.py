"""Stage 2: warnings silenced around reads stay silenced in every thread, and nothing is left behind.

``warnings.catch_warnings`` in two threads at once restores each other's filter lists (``icecube_stac._quiet``):
the harness below, with ``catch_warnings`` in place of ``ignoring``, left the ignore filter in the process and
let warnings through (checked when ``ignoring`` was written). These tests fail on either outcome.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning

from icecube_stac._quiet import ignoring
from icecube_stac.formats.geotiff import _open


class _Noise(UserWarning):
    """A warning class no library issues, so the tests see only their own."""


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
    assert len(after) == len(before) and all(a is b for a, b in zip(after, before, strict=True))


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
        with ignoring(_Noise):
            assert warnings.filters[0] is not mine and mine in warnings.filters
        assert warnings.filters[0] is mine


def test_the_filter_goes_when_the_block_raises_and_nests() -> None:
    before = list(warnings.filters)
    with pytest.raises(KeyError), ignoring(_Noise), ignoring(_Noise):
        assert sum(1 for f in warnings.filters if f[2] is _Noise) == 1  # one entry, shared
        raise KeyError("x")
    assert warnings.filters == before


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
    assert len(after) == len(before) and all(a is b for a, b in zip(after, before, strict=True))
