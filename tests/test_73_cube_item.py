"""Stage 73: a written cube gets a STAC item beside it that STAC tools and xarray can open."""

from __future__ import annotations

import json
from pathlib import Path

import pystac
import pytest
import xarray as xr
from shapely.geometry import shape

from icecube_stac.catalog import index
from icecube_stac.config import load_config
from icecube_stac.cube_item import CUBE_EXTENSIONS, cube_item_path
from icecube_stac.output import open_cube, write_cube
from icecube_stac.pipeline import load_cube
from icecube_stac.testing import GeneratedProduct
from tests._cube_stacks import make_product


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[GeneratedProduct]]:
    folder = tmp_path_factory.mktemp("cube-item")
    products = [make_product(folder / "data", day=d, seed=90 + d) for d in (2, 4, 9)]
    root = folder / "catalog"
    assert index([folder / "data"], root, progress=False).ok
    return root, products


@pytest.mark.parametrize("suffix", [".zarr", ".nc"])
def test_the_cube_item_describes_and_opens_the_cube(
    tmp_path: Path, catalog: tuple[Path, list[GeneratedProduct]], suffix: str
) -> None:
    root, _products = catalog
    cube = load_cube(load_config({"start_date": 20240301, "end_date": 20240331, "catalog": str(root)}))
    target = write_cube(cube, tmp_path / f"cube{suffix}")
    item = pystac.Item.from_file(str(cube_item_path(target)))
    assert item.id == target.name and set(CUBE_EXTENSIONS) <= set(item.stac_extensions)
    dims = item.properties["cube:dimensions"]
    assert dims["time"]["type"] == "temporal" and len(dims["time"]["values"]) == 3
    assert dims["azimuth"]["extent"] == [0, cube.sizes["azimuth"] - 1]
    assert item.properties["cube:variables"]["amplitude"]["dimensions"] == ["time", "azimuth", "range"]
    assert item.properties["start_datetime"] <= item.properties["end_datetime"]
    footprint = shape(item.geometry)
    for source in cube["stac_item"].values:
        assert footprint.covers(shape(json.loads(str(source))["geometry"]))
    derived = [link for link in item.links if link.rel == "derived_from"]
    assert len(derived) == 3
    assert {pystac.Item.from_file(link.get_absolute_href() or "").id for link in derived} == set(
        cube["id"].values.tolist()
    )
    asset = item.assets["data"]
    assert asset.media_type == ("application/vnd+zarr" if suffix == ".zarr" else "application/x-netcdf")
    opened = xr.open_dataset(asset.get_absolute_href(), **asset.extra_fields["xarray:open_kwargs"])
    assert opened.sizes["time"] == 3
    xr.testing.assert_equal(open_cube(target)["amplitude"], open_cube(asset.get_absolute_href())["amplitude"])


def test_no_item_when_asked_not_to(tmp_path: Path, catalog: tuple[Path, list[GeneratedProduct]]) -> None:
    root, _ = catalog
    cube = load_cube(load_config({"start_date": 20240301, "end_date": 20240331, "catalog": str(root)}))
    target = write_cube(cube, tmp_path / "bare.zarr", stac_item=False)
    assert not cube_item_path(target).exists()
