"""Stage 66: the cube command reads its first blocks ahead (icecube_stac._prefetch) while the cube stage is set up.

The plan is exactly the blocks the graph's stored-form tasks ask for, a cube written with blocks read ahead
is byte-identical to one written without, a failing product still fails with the proper LoadError and leaves
nothing behind, read-ahead errors never surface, and the plan stays within its byte cap.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from icecube_stac import _block_reads
from icecube_stac._block_reads import RasterSource, read_source_block
from icecube_stac._encoding import SOURCE_DTYPE_ATTR, stored_parts
from icecube_stac._prefetch import CAP_BYTES, Prefetch, read_plan
from icecube_stac.catalog import index
from icecube_stac.cli import main
from icecube_stac.config import CubeConfig, load_config
from icecube_stac.errors import LoadError
from icecube_stac.output import write_cube
from icecube_stac.pipeline import load_cube
from icecube_stac.search import search
from tests._cube_stacks import make_product

# The last SLC product is smaller than the grid on purpose (padded blocks).
pytestmark = pytest.mark.filterwarnings("ignore::icecube_stac.cube.ShapeMismatchWarning")

SHAPE = (64, 48)
BAND = 16  # azimuth chunk: 4 bands per product, 12 blocks per stack


@pytest.fixture(scope="module")
def catalogs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A GRD and an SLC catalog of three products each (another shape for the last SLC: padding)."""
    root = tmp_path_factory.mktemp("read-ahead")
    found: dict[str, Path] = {}
    for level in ("GRD", "SLC"):
        folder = root / level
        for day in (3, 1, 2):  # indexed out of time order: the plan sorts by time
            shape = (56, 40) if level == "SLC" and day == 3 else SHAPE
            make_product(folder / "data", level=level, day=day, shape=shape, seed=day)
        index([folder / "data"], folder / "catalog", progress=False)
        config = {"catalog": str(folder / "catalog"), "product_type": level, "chunks": {"azimuth": BAND}}
        (folder / "config.json").write_text(json.dumps(config))
        found[level] = folder
    return found


def _config(folder: Path) -> CubeConfig:
    return load_config(folder / "config.json")


def _graph_reads(cube: Any) -> list[tuple[Any, ...]]:
    """The arguments of the stored-form read tasks of a cube's graph, in block order."""
    variable = next(iter(cube.data_vars.values()))
    parts = stored_parts(variable.data, variable.attrs[SOURCE_DTYPE_ATTR])
    assert parts is not None
    graph = parts[0].__dask_graph__()
    reads = []
    for key, task in dict(graph).items():
        if isinstance(key, tuple) and str(key[0]).startswith("icecube-stac-source-"):
            func = task[0] if isinstance(task, tuple) else task
            assert isinstance(func, functools.partial) and func.func is read_source_block
            reads.append((key[1:], func.args))
    return [args for _, args in sorted(reads)]


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _no_read_ahead_left() -> None:
    assert _block_reads.read_ahead == []
    assert not [t for t in threading.enumerate() if t.name == "icecube-stac-prefetch"]


@pytest.mark.parametrize("level", ["GRD", "SLC"])
def test_the_plan_is_the_graphs_first_blocks_within_the_cap(catalogs: dict[str, Path], level: str) -> None:
    config = _config(catalogs[level])
    items = search(config)
    tasks = _graph_reads(load_cube(config))
    plan = read_plan(items, config)
    assert len(tasks) == 12 and [(tuple(s), r, c, d) for s, r, c, d in tasks] == plan  # same blocks, same order
    assert [key[0][0].item_id for key in plan[::4]] == [i.id for i in sorted(items, key=lambda i: str(i.datetime))]
    block = SHAPE[1] * BAND * (2 if level == "GRD" else 4)  # uint16 DN, or two int16 parts
    assert read_plan(items, config, cap_bytes=5 * block) == plan[:5]
    assert read_plan(items, config, cap_bytes=block - 1) == []
    assert read_plan(items, config, {"time": 2}) == []  # several time steps per block: no guess
    assert read_plan(items, config.replace(fill_value=0)) == []  # no stored form with a fill value
    assert CAP_BYTES <= 256 * 2**20


@pytest.mark.parametrize("level", ["GRD", "SLC"])
def test_blocks_read_ahead_give_the_same_store(
    catalogs: dict[str, Path], level: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(catalogs[level])
    write_cube(load_cube(config), tmp_path / "plain.zarr")
    plain_reads: list[tuple[Any, ...]] = []
    plain = _block_reads.read_stored_block

    def counted(*args: Any) -> Any:
        plain_reads.append(args)
        return plain(*args)

    with Prefetch() as prefetch:

        def read_ahead(items: Sequence[Any]) -> None:
            prefetch.start(read_plan(items, config, cap_bytes=7 * SHAPE[1] * BAND * (2 if level == "GRD" else 4)))
            assert prefetch.wait(60)  # every planned block is read before the graph runs
            monkeypatch.setattr(_block_reads, "read_stored_block", counted)  # the tasks' own reads from now on

        write_cube(load_cube(config, on_items=read_ahead), tmp_path / "ahead.zarr")
        assert prefetch.pending == 0  # every block read ahead was taken by its task
    assert len(plain_reads) == 12 - 7  # the blocks beyond the cap, read by the tasks themselves
    assert _tree(tmp_path / "ahead.zarr") == _tree(tmp_path / "plain.zarr")  # byte-identical stores
    _no_read_ahead_left()


@pytest.mark.parametrize("level", ["GRD", "SLC"])
def test_the_cube_command_reads_ahead_and_writes_the_same_cube(
    catalogs: dict[str, Path], level: str, tmp_path: Path
) -> None:
    folder = catalogs[level]
    write_cube(load_cube(_config(folder)), tmp_path / "api.zarr", stac_item=False)
    assert main(["cube", str(folder / "config.json"), "-o", str(tmp_path / "cli.zarr"), "-q", "--no-item"]) == 0
    assert _tree(tmp_path / "cli.zarr") == _tree(tmp_path / "api.zarr")
    _no_read_ahead_left()


def test_a_failing_product_fails_as_without_read_ahead(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    products = [make_product(tmp_path / "data", day=day, shape=SHAPE, seed=day) for day in (1, 2)]
    index([tmp_path / "data"], tmp_path / "catalog", progress=False)
    products[1].raster.write_bytes(b"II*\x00 not a TIFF any more")  # broken after indexing
    config = {"catalog": str(tmp_path / "catalog"), "chunks": {"azimuth": BAND}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    planned: list[int] = []
    start = Prefetch.start

    def recorded(self: Prefetch, plan: Sequence[Any]) -> None:
        planned.append(len(plan))
        start(self, plan)

    monkeypatch.setattr(Prefetch, "start", recorded)
    out = tmp_path / "cube.zarr"
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["cube", str(tmp_path / "config.json"), "-o", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    assert planned == [8]  # the broken product's blocks were planned (and failed) too
    assert err.startswith("error: item ") and products[1].raster.name in err and "cannot read" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no cube, no staging copy left
    _no_read_ahead_left()


def test_read_ahead_errors_never_surface(tmp_path: Path) -> None:
    missing = RasterSource("gone", str(tmp_path / "gone.tif"), "legacy-geotiff", SHAPE)
    key = ((missing,), (0, BAND), (0, SHAPE[1]), "uint16")
    with Prefetch() as prefetch:
        prefetch.start([key])
        assert prefetch.wait(60)
        assert prefetch.take(key) is None  # the failed read is dropped, not raised
        with pytest.raises(LoadError, match="item 'gone': cannot read"):
            read_source_block(*key)  # the task's own read raises the proper error
    _no_read_ahead_left()


def test_closing_drops_what_no_task_took(catalogs: dict[str, Path]) -> None:
    config = _config(catalogs["GRD"])
    plan = read_plan(search(config), config)
    with Prefetch() as prefetch:
        assert _block_reads.read_ahead == [prefetch]
        prefetch.start(plan)
        assert prefetch.wait(60) and prefetch.pending == len(plan)
        first = prefetch.take(plan[0])
        assert first is not None and first.dtype == np.uint16 and first.shape == (1, BAND, SHAPE[1])
        assert prefetch.take(plan[0]) is None  # handed over once
    assert prefetch.pending == 0 and prefetch.take(plan[1]) is None
    prefetch.start(plan)  # a closed prefetch reads nothing more
    assert prefetch.pending == 0
    _no_read_ahead_left()
