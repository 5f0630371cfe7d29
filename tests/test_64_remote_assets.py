"""Remote assets: cubes read over HTTP range requests from a real server on 127.0.0.1 (COG and legacy products).

The server is a small ``http.server`` subclass that answers ``Range: bytes=a-b`` with 206 (like
RangeHTTPServer), runs in a daemon thread for the test module only, and times idle sockets out.
GDAL reads COG and legacy GeoTIFF URLs with ``/vsicurl/``; the legacy SLC HDF5 is read through fsspec's
HTTP backend, which needs ``aiohttp``: without it the error must say so.
"""

from __future__ import annotations

import importlib.util
import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pystac
import pytest

from icecube_stac import build_cube
from icecube_stac.errors import LoadError
from icecube_stac.formats.cog import item_from_cog_product
from icecube_stac.iceye_items import IceyeSchemaWarning
from icecube_stac.stac import item_from_product
from icecube_stac.testing import ProductSpec, write_product
from icecube_stac.testing.cog import CogProductSpec, write_cog_product
from tests.support.http_files import RangeHandler, serving_folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("served")
    with serving_folder(root) as base:
        yield base, root


def _remote(item: pystac.Item, base: str, root: Path) -> pystac.Item:
    remote = item.clone()
    for key in ("data",):
        local = Path(remote.assets[key].href)
        remote.assets[key].href = f"{base}/{local.relative_to(root).as_posix()}"
    return remote


def _cog_item(path: Path) -> pystac.Item:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IceyeSchemaWarning)
        return item_from_cog_product(path)


@pytest.mark.parametrize("level", ["GRD", "SLC"])
def test_cog_over_http_range_requests(server: tuple[str, Path], level: str) -> None:
    base, root = server
    product = write_cog_product(CogProductSpec(level=level, shape=(96, 70), look_side="left"), root / f"cog-{level}")
    local = _cog_item(product.tif)
    remote = _remote(local, base, root)
    assert parse_href(remote).startswith("http://127.0.0.1:")
    RangeHandler.ranges.clear()
    name = "amplitude" if level == "GRD" else "slc"
    got = build_cube([remote], chunks={"azimuth": 40})[name].values
    np.testing.assert_array_equal(got, build_cube([local])[name].values)
    assert any(r.startswith(product.tif.name) for r in RangeHandler.ranges)  # GDAL read byte ranges


def parse_href(item: pystac.Item) -> str:
    from icecube_stac.item import parse_item

    return parse_item(item).data_href


def test_legacy_grd_over_http(server: tuple[str, Path]) -> None:
    base, root = server
    product = write_product(ProductSpec(level="GRD", shape=(80, 60), xml=False, quicklook=False), root / "legacy-grd")
    local = item_from_product(product.raster)
    RangeHandler.ranges.clear()
    got = build_cube([_remote(local, base, root)])["amplitude"].values
    np.testing.assert_array_equal(got, build_cube([local])["amplitude"].values)
    assert RangeHandler.ranges


def test_legacy_slc_hdf5_over_http(server: tuple[str, Path]) -> None:
    base, root = server
    product = write_product(ProductSpec(level="SLC", shape=(40, 30), xml=False, quicklook=False), root / "legacy-slc")
    local = item_from_product(product.raster)
    remote = build_cube([_remote(local, base, root)])["slc"]
    # aiohttp (a dependency) gives fsspec its HTTP file system; h5py reads the file through range requests.
    assert importlib.util.find_spec("aiohttp") is not None
    np.testing.assert_array_equal(remote.values, build_cube([local])["slc"].values)


def test_unreachable_remote_cog_names_the_url(server: tuple[str, Path]) -> None:
    base, root = server
    product = write_cog_product(CogProductSpec(level="GRD"), root / "gone")
    remote = _remote(_cog_item(product.tif), base, root)
    os.remove(product.tif)
    with pytest.raises(LoadError, match=re.escape(product.tif.name)):
        build_cube([remote])["amplitude"].values  # noqa: B018
