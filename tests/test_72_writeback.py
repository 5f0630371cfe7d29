"""Stage 72: early write-back. Cube pages are synced in a background thread while the cube is written; the final
sync before the cube is published stays, and the thread never outlives the write."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

import icecube_stac.output as output
from icecube_stac import _atomic
from icecube_stac._writeback import early_writeback
from icecube_stac.config import load_config
from icecube_stac.cube import build_cube
from icecube_stac.output import open_cube, write_cube
from tests._cube_stacks import item_of, make_product

_THREAD = "icecube-stac-writeback"


class _Syncs:
    """Records which thread called os.sync, in order, and still syncs for real."""

    def __init__(self, real: Callable[[], None]) -> None:
        self.real = real
        self.threads: list[str] = []
        self.background = threading.Event()

    def __call__(self) -> None:
        name = threading.current_thread().name
        self.threads.append(name)
        self.real()
        if name == _THREAD:
            self.background.set()


@pytest.fixture
def syncs(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Syncs]:
    recorder = _Syncs(os.sync)
    monkeypatch.setattr(os, "sync", recorder)
    yield recorder


def _alive() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == _THREAD]


def test_syncs_in_its_own_thread_while_the_block_runs(syncs: _Syncs) -> None:
    with early_writeback(interval=0.001):
        assert _alive() == [_THREAD]
        assert syncs.background.wait(30), "the background thread never synced"
    assert _alive() == []
    assert set(syncs.threads) == {_THREAD}


def test_the_thread_is_stopped_when_the_block_fails(syncs: _Syncs) -> None:
    with pytest.raises(RuntimeError, match="boom"), early_writeback(interval=0.001):
        assert syncs.background.wait(30)
        raise RuntimeError("boom")
    assert _alive() == []


def test_disabled_starts_no_thread(syncs: _Syncs) -> None:
    with early_writeback(enabled=False, interval=0.001):
        assert _alive() == []
    assert syncs.threads == []


@pytest.fixture(scope="module")
def cube(tmp_path_factory: pytest.TempPathFactory) -> xr.Dataset:
    folder = tmp_path_factory.mktemp("writeback-products")
    products = [make_product(folder, day=2, seed=60), make_product(folder, day=5, seed=61)]
    return build_cube([item_of(p) for p in products], config=load_config({}))


@pytest.mark.parametrize("name", ["cube.zarr", "cube.nc"])
def test_write_cube_syncs_early_then_once_more_before_publishing(
    tmp_path: Path, cube: xr.Dataset, syncs: _Syncs, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setattr(output, "early_writeback", _with_interval(0.001))
    store, fsync_tree = output._store, _atomic._fsync_tree

    def store_after_a_background_sync(*args: Any, **kwargs: Any) -> Any:
        # The cube's chunks are written only once the background thread has synced: the order below is certain.
        assert syncs.background.wait(30), "no background sync while the cube was being written"
        return store(*args, **kwargs)

    def final_sync(path: Path) -> None:
        syncs.threads.append("final")
        fsync_tree(path)

    monkeypatch.setattr(output, "_store", store_after_a_background_sync)
    monkeypatch.setattr(_atomic, "_fsync_tree", final_sync)
    write_cube(cube, tmp_path / name, stac_item=False)
    assert _alive() == []
    assert syncs.threads[0] == _THREAD
    # The durable sync (sync(2) of the Zarr folder, fsync of the NetCDF file) comes after the last background
    # one: the thread is joined before the cube is published.
    final = syncs.threads.index("final")
    assert _THREAD not in syncs.threads[final:]
    back = open_cube(tmp_path / name)
    np.testing.assert_array_equal(back["amplitude"].values, cube["amplitude"].values)


def _with_interval(interval: float) -> Callable[..., Any]:
    def writeback(*, enabled: bool = True) -> Any:
        return early_writeback(enabled=enabled, interval=interval)

    return writeback


def test_a_failed_write_stops_the_thread_and_publishes_nothing(
    tmp_path: Path, cube: xr.Dataset, syncs: _Syncs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "early_writeback", _with_interval(0.001))

    def failing_store(*args: Any, **kwargs: Any) -> Any:
        assert syncs.background.wait(30)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output, "_store", failing_store)
    with pytest.raises(Exception, match="No space left"):
        write_cube(cube, tmp_path / "cube.zarr", stac_item=False)
    assert _alive() == []
    assert not (tmp_path / "cube.zarr").exists()
    assert [p.name for p in tmp_path.iterdir()] == []
