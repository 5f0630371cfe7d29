"""The indexer's ``geocoded`` assets: a GDAL warped VRT per GRD item, loaded by odc-stac and stackstac."""

from __future__ import annotations

import json
import math
import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import odc.stac
import pystac
import pytest
import rasterio
import rioxarray  # noqa: F401 - registers ds.rio
import stackstac
from pyproj import Transformer

from icecube_stac.catalog import index, read_items
from icecube_stac.cli import main
from icecube_stac.errors import CatalogError
from icecube_stac.geocode import GeocodeOptions, geocode_cube
from icecube_stac.geocode._assets import ASSET_GEOCODED, stackstac_options
from icecube_stac.stac import validate_path
from icecube_stac.testing import CogProductSpec, GeneratedProduct, ProductSpec, write_cog_product, write_product
from icecube_stac.testing.targets import add_point_target, target_lonlat

TARGET = (40, 30)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[GeneratedProduct]]:
    root = tmp_path_factory.mktemp("geocoded-assets") / "data"
    products = []
    for day in (2, 5, 9):
        spec = ProductSpec(
            shape=(96, 80),
            image_id=400000 + day,
            acquisition_start=datetime(2024, 4, day, 3, 41, 27),
            center_lat=16.32 + 0.0002 * day,
            seed=day,
        )
        product = write_product(spec, root / str(day))
        add_point_target(product, *TARGET)
        products.append(product)
    slc = ProductSpec(level="SLC", shape=(64, 48), image_id=400100, acquisition_start=datetime(2024, 4, 3, 3, 41))
    write_product(slc, root / "slc")
    return root, products


@pytest.fixture(scope="module")
def catalog(data: tuple[Path, list[GeneratedProduct]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("geocoded-catalog") / "cat"
    report = index([data[0]], folder, geocoded_assets=True)
    assert report.ok and len(report.added) == 4
    return folder


def _grd(items: list[pystac.Item]) -> list[pystac.Item]:
    return [item for item in items if item.properties["product:type"] == "GRD"]


def test_assets_validate_and_match_their_vrt(catalog: Path) -> None:
    checked = validate_path(catalog)
    assert checked and all(entry.ok for entry in checked), [entry for entry in checked if not entry.ok]
    items = read_items(catalog)
    grd = _grd(items)
    assert len(grd) == 3 and all(ASSET_GEOCODED not in item.assets for item in items if item not in grd)
    for item in grd:
        asset = item.assets[ASSET_GEOCODED]
        fields = asset.extra_fields
        assert fields["proj:code"] == "EPSG:32648" and "data" in (asset.roles or [])
        with rasterio.open(asset.href) as vrt:
            assert vrt.driver == "VRT" and vrt.crs.to_epsg() == 32648
            assert list(vrt.shape) == fields["proj:shape"]
            assert vrt.transform.almost_equals(rasterio.Affine(*fields["proj:transform"]))
            assert list(vrt.bounds) == pytest.approx(fields["proj:bbox"])
            assert vrt.dtypes[0] == "uint16" and vrt.nodata == 0
    # The VRT holds no pixels: it names the product, relative to itself.
    text = (catalog / "iceye-grd" / "geocoded" / f"{grd[0].id}.vrt").read_text()
    assert 'relativeToVRT="1"' in text and '<Option name="SRC_METHOD">RPC</Option>' in text
    assert len(text) < 50_000


def test_vrt_pixels_sit_where_the_products_geometry_says(
    catalog: Path, data: tuple[Path, list[GeneratedProduct]]
) -> None:
    items = {item.id: item for item in _grd(read_items(catalog))}
    for product in data[1]:
        item = items[product.name]
        with rasterio.open(item.assets[ASSET_GEOCODED].href) as vrt:
            values = vrt.read(1)
            transform = vrt.transform
        i, j = np.unravel_index(np.argmax(values), values.shape)
        lon, lat = target_lonlat(product, *TARGET)
        x, y = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True).transform(lon, lat)
        col, row = ~transform @ (x, y)
        assert math.hypot(i - (row - 0.5), j - (col - 0.5)) <= 1.0
        # Same grid as geocode_cube's: the same pixels, up to uint16 rounding and GDAL's approximations.
        cube = geocode_cube([item], GeocodeOptions())
        assert cube.rio.transform() == transform
        ours = cube["amplitude"].values[0]
        both = np.isfinite(ours) & (values > 0)
        assert both.sum() > 0.95 * np.isfinite(ours).sum()
        assert np.median(np.abs(ours[both] - values[both])) < 0.05 * np.median(values[both])


def test_odc_stac_loads_the_stack_with_no_other_argument(catalog: Path) -> None:
    items = _grd(read_items(catalog))
    ds = odc.stac.load(items, bands=[ASSET_GEOCODED])
    assert ds[ASSET_GEOCODED].dims == ("time", "y", "x") and ds.sizes["time"] == 3
    assert ds.odc.geobox.crs.epsg == 32648 and ds.odc.geobox.resolution.x == 2.5
    values = ds[ASSET_GEOCODED].values.astype(float)
    assert (values > 0).mean(axis=(1, 2)).min() > 0.2  # every step holds its product


def test_stackstac_stacks_them_given_the_crs_and_pixel_size(catalog: Path) -> None:
    items = _grd(read_items(catalog))
    assert stackstac_options(items) == {"epsg": 32648, "resolution": 2.5}
    stack = stackstac.stack(items, assets=[ASSET_GEOCODED], **stackstac_options(items))
    assert stack.sizes["time"] == 3 and stack.sizes["band"] == 1
    assert stack.attrs["crs"] == "epsg:32648" and stack.attrs["transform"].a == 2.5
    assert np.nanmax(stack.values) > 1000  # the point targets
    with pytest.raises(CatalogError, match="no 'geocoded' asset"):
        stackstac_options(read_items(catalog))  # the SLC has none


def test_reindex_is_idempotent_adds_assets_later_and_moves_with_the_data(
    data: tuple[Path, list[GeneratedProduct]], tmp_path: Path
) -> None:
    folder = tmp_path / "work"
    shutil.copytree(data[0], folder / "data")
    plain = index([folder / "data"], folder / "cat")
    assert plain.ok and not any(ASSET_GEOCODED in item.assets for item in read_items(folder / "cat"))
    later = index([folder / "data"], folder / "cat", geocoded_assets=True)
    assert sorted(later.updated) == sorted(product.name for product in data[1]) and later.written
    vrt = folder / "cat" / "iceye-grd" / "geocoded" / f"{data[1][0].name}.vrt"
    before = vrt.read_bytes()
    again = index([folder / "data"], folder / "cat", geocoded_assets=True)
    assert not again.written and len(again.unchanged) == 4
    assert main(["index", str(folder / "data"), "--catalog", str(folder / "cat"), "--geocoded-assets", "-q"]) == 0
    assert vrt.read_bytes() == before
    moved = tmp_path / "moved"
    shutil.move(folder, moved)
    item = next(i for i in read_items(moved / "cat") if i.id == data[1][0].name)
    with rasterio.open(item.assets[ASSET_GEOCODED].href) as reopened:
        assert reopened.read(1).max() > 1000
    assert (
        json.loads((moved / "cat" / "iceye-grd" / "items" / f"{item.id}.json").read_text())["assets"][ASSET_GEOCODED][
            "href"
        ]
        == f"../geocoded/{item.id}.vrt"
    )


def test_cog_grd_items_get_a_geocoded_vrt_too(tmp_path: Path) -> None:
    product = write_cog_product(CogProductSpec(level="GRD", shape=(256, 200)), tmp_path / "data")
    add_point_target(product, 50, 120)  # TIFF row (range) 50, column (azimuth) 120: the stored layout
    assert index([tmp_path / "data"], tmp_path / "cat", geocoded_assets=True).ok
    (item,) = read_items(tmp_path / "cat")
    checked = validate_path(tmp_path / "cat")
    assert all(entry.ok for entry in checked)
    with rasterio.open(item.assets[ASSET_GEOCODED].href) as vrt:
        values, transform, crs = vrt.read(1), vrt.transform, vrt.crs
    assert crs.to_epsg() == 32718 and item.assets[ASSET_GEOCODED].extra_fields["proj:code"] == "EPSG:32718"
    i, j = np.unravel_index(np.argmax(values), values.shape)
    lon, lat = target_lonlat(product, 50, 120)
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    col, row = ~transform @ (x, y)
    assert math.hypot(i - (row - 0.5), j - (col - 0.5)) <= 1.0
