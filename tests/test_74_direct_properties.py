"""Stage 74: the direct Zarr writer against write_cube(build_cube(...)) on generated stacks. Any mix of shapes,
acquisition days, empty slots, chunk sizes (time chunks > 1, chunks that do not divide the grid or exceed it),
codecs and levels, NaN incidences, items without start/end, non-ASCII ids and hrefs and long item JSON gives the
same store, file for file and byte for byte, and the same cube item; so do COG GRD products, remote hrefs read
over HTTP and an explicit NaN fill. A read that fails mid-write leaves no thread and no staging folder."""

from __future__ import annotations

import json
import math
import shutil
import threading
import warnings
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pystac
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from icecube_stac.config import load_config
from icecube_stac.cube._build import cube_of_plan
from icecube_stac.cube._direct import direct_writable, write_plan
from icecube_stac.cube._plan import CubePlan, plan_cube
from icecube_stac.errors import IcecubeStacError, LoadError
from icecube_stac.formats.cog import item_from_cog_product
from icecube_stac.iceye_items import IceyeSchemaWarning
from icecube_stac.output import open_cube, write_cube
from icecube_stac.stac import item_from_product
from icecube_stac.testing import ProductSpec, write_product
from icecube_stac.testing.cog import CogProductSpec, write_cog_product
from tests._cube_stacks import item_of, make_product
from tests.support.http_files import RangeHandler, serving_folder

pytestmark = pytest.mark.filterwarnings(
    "ignore::icecube_stac.cube.ShapeMismatchWarning", "ignore::icecube_stac.cube.TimeSlotWarning"
)

_SHAPES = [(20, 12), (13, 16), (24, 9), (7, 5)]
_CODECS = st.one_of(
    st.sampled_from([None, "none", "lz4", "zstd", "blosc-zstd"]),
    st.builds("lz4:{}".format, st.integers(1, 9)),
    st.builds("blosc-zstd:{}".format, st.integers(1, 9)),
    st.builds("zstd:{}".format, st.integers(-7, 22)),
)
_MODS = ["", "", "nan incidence", "no start/end", "non-ascii id", "long json"]


def _files(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _item_json(path: Path) -> dict[str, Any]:
    item: dict[str, Any] = json.loads(path.with_name(path.name + ".json").read_text())
    item["properties"].pop("created")
    item["id"] = item["assets"]["data"]["href"] = item["assets"]["data"]["title"] = ""  # the target's own name
    return item


def _assert_same_stores(plan: CubePlan, folder: Path, compression: str | None = None) -> None:
    direct, reference = folder / "direct.zarr", folder / "xarray.zarr"
    assert direct_writable(plan, direct, format=None, layout="native", zarr_format=3)
    write_plan(plan, direct, compression=compression)
    write_cube(cube_of_plan(plan), reference, compression=compression)
    ours, theirs = _files(direct), _files(reference)
    assert sorted(ours) == sorted(theirs)
    assert [name for name in ours if ours[name] != theirs[name]] == []
    assert _item_json(direct) == _item_json(reference)


class _Products:
    """Legacy products made on first use, one per (level, shape, day, hour), in a folder with a non-ASCII name."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made: dict[tuple[str, int, int, int], pystac.Item] = {}

    def item(self, level: str, shape: int, day: int, hour: int, mod: str) -> pystac.Item:
        key = (level, shape, day, hour)
        if key not in self.made:
            product = make_product(
                self.folder / f"{level}-{shape}-{day}-{hour}", level=level, day=day, hour=hour, shape=_SHAPES[shape]
            )
            self.made[key] = item_of(product)
        item = self.made[key].clone()
        if mod == "nan incidence":
            for name in [k for k in item.properties if "incidence" in k]:
                del item.properties[name]
        elif mod == "no start/end":
            del item.properties["start_datetime"], item.properties["end_datetime"]
        elif mod == "non-ascii id":
            item.id += "-Åland-日本"
            item.properties["platform"] = "ICEYE-Ẋ7"
        elif mod == "long json":
            item.properties["notes"] = "é" * 150_000
        return item


@pytest.fixture(scope="module")
def products(tmp_path_factory: pytest.TempPathFactory) -> _Products:
    return _Products(tmp_path_factory.mktemp("direct-props") / "données ß")


@st.composite
def _stacks(draw: st.DrawFn) -> tuple[str, list[tuple[int, int, int, str]], dict[str, Any], dict[str, int]]:
    level = draw(st.sampled_from(["GRD", "SLC"]))
    members = draw(
        st.lists(
            st.tuples(st.integers(0, len(_SHAPES) - 1), st.integers(1, 12), st.integers(0, 23), st.sampled_from(_MODS)),
            min_size=1,
            max_size=4,
        )
    )
    days = draw(st.sampled_from([0, 0, 1, 2, 3, 5]))
    config: dict[str, Any] = {"temporal_overlap": draw(st.booleans())}
    if days:
        start, end = draw(st.integers(1, 4)), draw(st.integers(9, 14))
        config = {
            "temporal_resolution": days,
            "start_date": f"2024-03-{start:02d}",
            "end_date": f"2024-03-{end:02d}",
            "temporal_overlap": False,
        }
    chunks = {
        "time": draw(st.sampled_from([1, 2, 3, -1])),
        "azimuth": draw(st.sampled_from([1, 5, 8, 64, -1])),
        "range": draw(st.sampled_from([3, 16, 100, -1])),
    }
    return level, members, config, chunks


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(stack=_stacks(), compression=_CODECS)
def test_any_plain_stack_is_stored_as_write_cube_stores_it(
    products: _Products,
    tmp_path_factory: pytest.TempPathFactory,
    stack: tuple[str, list[tuple[int, int, int, str]], dict[str, Any], dict[str, int]],
    compression: str | None,
) -> None:
    level, members, config, chunks = stack
    items = [products.item(level, *member) for member in members]
    try:
        plan = plan_cube(items, config=load_config(config), chunks=chunks)
    except IcecubeStacError:
        assume(False)  # e.g. two acquisitions in one slot, or none inside the slots' dates
        return
    folder = tmp_path_factory.mktemp("direct-props-case")
    try:
        _assert_same_stores(plan, folder, compression)
    finally:
        shutil.rmtree(folder)


def test_an_explicit_nan_fill_is_the_default_one(products: _Products, tmp_path: Path) -> None:
    items = [products.item("SLC", 0, day, 6, "") for day in (2, 4)] + [products.item("SLC", 1, 7, 6, "")]
    plan = plan_cube(items, config=load_config({"fill_value": math.nan}), chunks={"azimuth": 8})
    assert math.isnan(plan.fill)
    _assert_same_stores(plan, tmp_path)


def _cog_item(path: Path) -> pystac.Item:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IceyeSchemaWarning)
        return item_from_cog_product(path)


def _cog(folder: Path, k: int, look: Literal["left", "right"], shape: tuple[int, int]) -> pystac.Item:
    spec = CogProductSpec(
        level="GRD",
        look_side=look,
        shape=shape,
        seed=k,
        image_id=7010715 + k,
        acquisition_start=datetime(2024, 3, 10 + k, 18, 20, 58),
    )
    return _cog_item(write_cog_product(spec, folder / f"cog-{k}").tif)


@pytest.mark.parametrize("chunks", [{}, {"azimuth": 7, "range": 9}, {"time": 3, "azimuth": 64}])
def test_cog_grd_stacks_left_and_right_looking_and_mixed_with_legacy(tmp_path: Path, chunks: dict[str, int]) -> None:
    cogs = [_cog(tmp_path, 0, "left", (50, 30)), _cog(tmp_path, 1, "right", (41, 37))]
    legacy = [item_of(make_product(tmp_path / "legacy", day=day, shape=(30, 50), seed=day)) for day in (2, 12)]
    for k, items in enumerate((cogs, cogs + legacy)):
        plan = plan_cube(items, chunks=chunks)
        assert plan.source_dtype == "uint16"
        _assert_same_stores(plan, tmp_path / str(k))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("direct-served")
    with serving_folder(root) as base:
        yield base, root


def _remote(item: pystac.Item, base: str, root: Path) -> pystac.Item:
    remote = item.clone()
    remote.assets["data"].href = f"{base}/{Path(remote.assets['data'].href).relative_to(root).as_posix()}"
    return remote


def test_remote_products_over_http(server: tuple[str, Path], tmp_path: Path) -> None:
    base, root = server
    stacks = {"cog": [_cog(root, k, "left", (60, 40)) for k in range(2)]}
    for level in ("GRD", "SLC"):
        specs = [
            ProductSpec(
                level=level, shape=(40, 30), xml=False, image_id=5100 + k, acquisition_start=datetime(2024, 3, k + 2)
            )
            for k in range(2)
        ]
        stacks[level] = [item_from_product(write_product(s, root / f"{level}-{s.image_id}").raster) for s in specs]
    for name, items in stacks.items():
        RangeHandler.ranges.clear()
        plan = plan_cube([_remote(item, base, root) for item in items], chunks={"azimuth": 16})
        assert all(source is not None and source.href.startswith(base) for source in plan.sources)
        _assert_same_stores(plan, tmp_path / name)
        assert RangeHandler.ranges  # read over HTTP, not from the local copies


def test_a_remote_product_gone_names_its_url_and_leaves_nothing(server: tuple[str, Path], tmp_path: Path) -> None:
    base, root = server
    here, gone = _cog(root, 20, "right", (60, 40)), _cog(root, 21, "right", (60, 40))
    plan = plan_cube([_remote(here, base, root), _remote(gone, base, root)], chunks={"azimuth": 8})
    Path(gone.assets["data"].href).unlink()  # after planning: remote hrefs are first read by the jobs
    with pytest.raises(LoadError, match=Path(gone.assets["data"].href).name):
        write_plan(plan, tmp_path / "cube.zarr")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["x.nc", "x.zarr"])
def test_start_and_end_unknown_for_every_item_are_stored_as_nat(products: _Products, tmp_path: Path, name: str) -> None:
    # xarray cannot encode a datetime variable that is NaT throughout: both writers store NaN CF seconds.
    items = [products.item("GRD", 0, day, 3, "no start/end") for day in (2, 6)]
    plan = plan_cube(items)
    write_cube(cube_of_plan(plan), tmp_path / name, stac_item=False)
    write_plan(plan, tmp_path / "cube.zarr")
    for written in (tmp_path / name, tmp_path / "cube.zarr"):
        back = open_cube(written)
        assert np.isnat(back["start_datetime"].values).all() and np.isnat(back["end_datetime"].values).all()
        np.testing.assert_array_equal(back["time"].values, plan.coords["time"][1])
    item = json.loads((tmp_path / "cube.zarr.json").read_text())
    assert item["properties"]["start_datetime"] == items[0].to_dict()["properties"]["datetime"]


def test_a_read_failing_mid_write_leaves_no_thread_and_no_staging(tmp_path: Path) -> None:
    items = [item_of(make_product(tmp_path / "p", level="SLC", day=day, shape=(64, 24), seed=day)) for day in (2, 3, 4)]
    plan = plan_cube(items, chunks={"azimuth": 4})  # 48 blocks: the failure comes while others are being written
    broken = plan.sources[1]
    assert broken is not None
    Path(broken.href).write_bytes(b"not HDF5" * 64)
    with pytest.raises(LoadError, match=broken.item_id):
        write_plan(plan, tmp_path / "cube.zarr")
    assert [t.name for t in threading.enumerate() if t.name.startswith("icecube-stac-write")] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]
