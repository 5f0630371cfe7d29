"""``xr.open_dataset(path, engine="iceye")``: one product, lazily, shaped like a cube slice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from icecube_stac.cube import build_cube
from icecube_stac.testing import GeneratedProduct
from icecube_stac.xarray_backend import IceyeBackendEntrypoint
from tests._cube_stacks import SHAPE, item_of, make_product, read_grd, read_slc


@pytest.fixture(scope="module")
def products(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GeneratedProduct]:
    folder = tmp_path_factory.mktemp("backend")
    return {
        "GRD": make_product(folder, day=3, seed=11),
        "SLC": make_product(folder, level="SLC", day=4, seed=12),
        "SLC32": make_product(folder, level="SLC", day=5, seed=13, slc_dtype="float32"),
    }


def test_engine_is_registered() -> None:
    assert "iceye" in xr.backends.list_engines()


@pytest.mark.parametrize(("key", "variable"), [("GRD", "amplitude"), ("SLC", "slc"), ("SLC32", "slc")])
def test_open_dataset_equals_a_cube_slice(products: dict[str, GeneratedProduct], key: str, variable: str) -> None:
    product = products[key]
    ds = xr.open_dataset(product.raster, engine="iceye")
    assert dict(ds.sizes) == {"azimuth": SHAPE[0], "range": SHAPE[1]}
    cube_slice = build_cube([item_of(product)]).isel(time=0)
    xr.testing.assert_identical(ds.load(), cube_slice.load())
    direct = read_grd(product.raster) if key == "GRD" else read_slc(product.raster)
    np.testing.assert_array_equal(ds[variable].values, direct)


def test_open_dataset_is_lazy_and_reads_windows(products: dict[str, GeneratedProduct]) -> None:
    product = products["SLC"]
    ds = xr.open_dataset(product.raster, engine="iceye")
    assert not isinstance(ds["slc"].variable._data, np.ndarray)  # nothing read yet
    direct = read_slc(product.raster)
    np.testing.assert_array_equal(ds["slc"][5:17:3, ::-2].values, direct[5:17:3, ::-2])
    np.testing.assert_array_equal(ds["slc"][7, 3:9].values, direct[7, 3:9])
    assert ds["slc"][3:3, :].shape == (0, SHAPE[1])
    chunked = xr.open_dataset(product.raster, engine="iceye", chunks={"azimuth": 16})
    assert chunked["slc"].chunks is not None
    np.testing.assert_array_equal(chunked["slc"].values, direct)


def test_open_from_the_xml_sidecar(products: dict[str, GeneratedProduct]) -> None:
    product = products["GRD"]
    assert product.xml is not None
    ds = xr.open_dataset(product.xml, engine="iceye", drop_variables=["stac_item"])
    assert "stac_item" not in ds.coords and ds["id"].item() == product.name
    np.testing.assert_array_equal(ds["amplitude"].values, read_grd(product.raster))


def test_guess_can_open(products: dict[str, GeneratedProduct], tmp_path: Path) -> None:
    entry = IceyeBackendEntrypoint()
    assert entry.guess_can_open(products["GRD"].raster) and entry.guess_can_open(str(products["SLC"].raster))
    assert not entry.guess_can_open(tmp_path / "other.tif") and not entry.guess_can_open(b"bytes")
