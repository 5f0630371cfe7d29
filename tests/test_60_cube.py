"""Stage 60: STAC items -> lazy (time, azimuth, range) cube; values equal direct reads of the same pixels."""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pystac
import pytest
import xarray as xr

from icecube_stac.catalog import index
from icecube_stac.config import load_config
from icecube_stac.cube import (
    DEFAULT_CHUNKS,
    RasterSource,
    ShapeMismatchWarning,
    SkippedItemWarning,
    TimeSlotWarning,
    build_cube,
    read_block,
)
from icecube_stac.errors import IcecubeStacWarning, LoadError
from icecube_stac.pipeline import load_cube
from icecube_stac.search import search
from icecube_stac.testing import GeneratedProduct
from icecube_stac.vocabulary import Container
from tests._cube_stacks import SHAPE, item_of, make_product, read_grd, read_slc

DIMS = ("time", "azimuth", "range")


@pytest.fixture(scope="module")
def grd_products(tmp_path_factory: pytest.TempPathFactory) -> list[GeneratedProduct]:
    folder = tmp_path_factory.mktemp("grd-stack")
    return [
        make_product(folder, day=2, hour=6, incidence=22.0, seed=1),
        make_product(folder, day=5, hour=18, incidence=31.0, orbit="ASCENDING", look="left", satellite="ICEYE-X14"),
        make_product(folder, day=9, hour=6, incidence=27.5, satellite="ICEYE-X24", seed=3),
    ]


@pytest.fixture(scope="module")
def slc_products(tmp_path_factory: pytest.TempPathFactory) -> list[GeneratedProduct]:
    folder = tmp_path_factory.mktemp("slc-stack")
    return [
        make_product(folder, level="SLC", day=3, incidence=24.0, seed=4),
        make_product(folder, level="SLC", day=7, hour=18, incidence=29.0, orbit="ASCENDING", seed=5),
    ]


@pytest.fixture
def grd_items(grd_products: list[GeneratedProduct]) -> list[pystac.Item]:
    return [item_of(p) for p in grd_products]


@pytest.fixture
def slc_items(slc_products: list[GeneratedProduct]) -> list[pystac.Item]:
    return [item_of(p) for p in slc_products]


def _copy_product(product: GeneratedProduct, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for path in (product.raster, product.xml):
        if path is not None:
            shutil.copy2(path, folder / path.name)
    return folder / product.raster.name


# --------------------------------------------------------------------------------------------------------
# Layout and values
# --------------------------------------------------------------------------------------------------------


def test_grd_cube_layout_and_values(grd_products: list[GeneratedProduct], grd_items: list[pystac.Item]) -> None:
    ds = build_cube(grd_items)
    assert list(ds.data_vars) == ["amplitude"]
    amp = ds["amplitude"]
    assert amp.dims == DIMS and amp.dtype == np.float32
    assert ds.sizes == {"time": 3, "azimuth": SHAPE[0], "range": SHAPE[1]}
    # Default chunks {time: 1, 2048, 2048} clipped to the 64 x 48 raster.
    assert amp.chunks == ((1, 1, 1), (SHAPE[0],), (SHAPE[1],))
    np.testing.assert_array_equal(ds["azimuth"].values, np.arange(SHAPE[0]))
    np.testing.assert_array_equal(ds["range"].values, np.arange(SHAPE[1]))
    values = amp.values
    for step, product in enumerate(grd_products):
        np.testing.assert_array_equal(values[step], read_grd(product.raster))
    assert values.max() > 100  # real speckled DN, not a fill


def test_custom_chunks_give_the_same_values(grd_products: list[GeneratedProduct], grd_items: list[pystac.Item]) -> None:
    ds = build_cube(grd_items, chunks={"time": 2, "azimuth": 20, "range": 16})
    assert ds["amplitude"].chunks == ((2, 1), (20, 20, 20, 4), (16, 16, 16))
    window = ds["amplitude"].isel(azimuth=slice(15, 45), range=slice(10, 40)).values
    for step, product in enumerate(grd_products):
        np.testing.assert_array_equal(window[step], read_grd(product.raster)[15:45, 10:40])


def test_config_chunks_apply_and_argument_wins(grd_items: list[pystac.Item]) -> None:
    config = load_config({"chunks": {"azimuth": 32, "range": 24}})
    assert build_cube(grd_items, config=config)["amplitude"].chunks[1:] == ((32, 32), (24, 24))
    assert build_cube(grd_items, config=config, chunks={"range": 48})["amplitude"].chunks[1:] == ((32, 32), (48,))
    assert DEFAULT_CHUNKS == {"time": 1, "azimuth": 2048, "range": 2048}
    with pytest.raises(ValueError, match="band"):
        build_cube(grd_items, chunks={"band": 1})


def test_slc_cube_is_complex64_of_i_and_q(slc_products: list[GeneratedProduct], slc_items: list[pystac.Item]) -> None:
    ds = build_cube(slc_items, chunks={"azimuth": 40})
    assert list(ds.data_vars) == ["slc"]
    assert ds["slc"].dtype == np.complex64 and ds["slc"].dims == DIMS
    values = ds["slc"].values
    for step, product in enumerate(slc_products):
        expected = read_slc(product.raster)
        np.testing.assert_array_equal(values[step], expected)
        assert np.abs(expected.imag).max() > 0  # both parts carry data
    assert ds["product_type"].values.tolist() == ["SLC", "SLC"]


def test_slc_cube_reads_float32_samples(tmp_path: Path) -> None:
    product = make_product(tmp_path, level="SLC", day=4, slc_dtype="float32", seed=8)
    ds = build_cube([item_of(product)])
    np.testing.assert_array_equal(ds["slc"].values[0], read_slc(product.raster))


def test_building_opens_no_file(grd_items: list[pystac.Item], monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []

    def forbidden(*args: object, **kwargs: object) -> None:
        calls.append(args)
        raise AssertionError("a file was opened while building the cube")

    monkeypatch.setattr("rasterio.open", forbidden)
    monkeypatch.setattr("h5py.File", forbidden)
    monkeypatch.setattr("icecube_stac.readers.get_reader", forbidden)
    monkeypatch.setattr("icecube_stac.cube._blocks.get_reader", forbidden)
    ds = build_cube(grd_items)
    assert calls == [] and ds["amplitude"].sizes["time"] == 3


def test_per_item_coords(grd_products: list[GeneratedProduct], grd_items: list[pystac.Item]) -> None:
    ds = build_cube(grd_items)
    props = [i.properties for i in grd_items]
    assert ds["id"].values.tolist() == [p.name for p in grd_products]
    np.testing.assert_allclose(ds["incidence_angle"].values, [22.0, 31.0, 27.5], atol=1e-6)
    assert ds["orbit_state"].values.tolist() == ["descending", "ascending", "descending"]
    assert ds["look_side"].values.tolist() == ["right", "left", "right"]
    assert ds["platform"].values.tolist() == ["iceye-x7", "iceye-x14", "iceye-x24"]
    assert ds["instrument_mode"].values.tolist() == [p["sar:instrument_mode"] for p in props]
    assert ds["product_type"].values.tolist() == ["GRD"] * 3
    np.testing.assert_array_equal(ds["calibration_factor"].values, [p["iceye:calibration_factor"] for p in props])
    assert all(math.isfinite(v) and v > 0 for v in ds["calibration_factor"].values)
    for step, item in enumerate(grd_items):
        start = pd.Timestamp(item.properties["start_datetime"]).tz_convert(None)
        end = pd.Timestamp(item.properties["end_datetime"]).tz_convert(None)
        assert pd.Timestamp(ds["start_datetime"].values[step]) == start
        assert pd.Timestamp(ds["end_datetime"].values[step]) == end
        assert pd.Timestamp(ds["time"].values[step]) == pd.Timestamp(item.datetime).tz_convert(None)
        stored = json.loads(ds["stac_item"].values[step])
        assert stored["id"] == item.id and stored["properties"] == item.to_dict()["properties"]
        assert ds["metadata_href"].values[step] == str(grd_products[step].xml)
        assert ds["data_href"].values[step] == str(grd_products[step].raster)
    assert all(ds[name].dtype == object for name in ("id", "orbit_state", "stac_item", "metadata_href"))
    assert ds["incidence_angle"].attrs["units"] == "degree"


def test_dataset_attrs_document_the_layout(grd_items: list[pystac.Item]) -> None:
    ds = build_cube(grd_items)
    assert ds.attrs["Conventions"].startswith("CF-1.")
    assert ds.attrs["product_type"] == "GRD"
    assert ds.attrs["coregistered"] == 0
    assert "NOT coregistered" in ds.attrs["sensor_geometry"]
    assert ds.attrs["created_by"].startswith("icecube-stac")
    assert ds["amplitude"].attrs["units"] == "1" and "DN" in ds["amplitude"].attrs["long_name"]
    aligned = build_cube(grd_items, config=load_config({"coregistered": True}))
    assert aligned.attrs["coregistered"] == 1 and "same ground point" in aligned.attrs["sensor_geometry"]


def test_natural_timeline_is_sorted(grd_products: list[GeneratedProduct], grd_items: list[pystac.Item]) -> None:
    ds = build_cube(list(reversed(grd_items)))
    assert ds["id"].values.tolist() == [p.name for p in grd_products]
    assert pd.DatetimeIndex(ds["time"].values).is_monotonic_increasing
    np.testing.assert_array_equal(ds["amplitude"].values[0], read_grd(grd_products[0].raster))


# --------------------------------------------------------------------------------------------------------
# Temporal grid
# --------------------------------------------------------------------------------------------------------


def test_temporal_grid_with_empty_slots(grd_products: list[GeneratedProduct], grd_items: list[pystac.Item]) -> None:
    config = load_config({"start_date": 20240301, "end_date": 20240312, "temporal_resolution": 2})
    ds = build_cube(grd_items, config=config)
    slots = pd.date_range("2024-03-01", "2024-03-12", freq="2D")
    np.testing.assert_array_equal(ds["time"].values, slots.to_numpy())
    # Days 2, 5 and 9 fall into the slots starting 03-01, 03-05 and 03-09.
    placed = {0: grd_products[0], 2: grd_products[1], 4: grd_products[2]}
    values = ds["amplitude"].values
    for slot in range(len(slots)):
        if slot in placed:
            np.testing.assert_array_equal(values[slot], read_grd(placed[slot].raster))
            assert ds["id"].values[slot] == placed[slot].name
        else:
            assert np.isnan(values[slot]).all()
            assert ds["id"].values[slot] == "" and ds["orbit_state"].values[slot] == ""
            assert math.isnan(ds["incidence_angle"].values[slot])
            assert math.isnan(ds["calibration_factor"].values[slot])
            assert np.isnat(ds["start_datetime"].values[slot]) and ds["stac_item"].values[slot] == ""
    assert ds.attrs["temporal_resolution"] == 2


def test_temporal_grid_slc_empty_slots_are_nan_nan_j(
    slc_products: list[GeneratedProduct], slc_items: list[pystac.Item]
) -> None:
    config = load_config({"start_date": 20240301, "end_date": 20240308, "temporal_resolution": 1})
    ds = build_cube(slc_items, config=config)
    assert ds.sizes["time"] == 8
    values = ds["slc"].values
    np.testing.assert_array_equal(values[2], read_slc(slc_products[0].raster))  # day 3
    np.testing.assert_array_equal(values[6], read_slc(slc_products[1].raster))  # day 7
    empty = values[0]
    assert np.isnan(empty.real).all() and np.isnan(empty.imag).all()


def test_two_acquisitions_in_one_slot(grd_products: list[GeneratedProduct], grd_items: list[pystac.Item]) -> None:
    config = load_config({"start_date": 20240301, "end_date": 20240310, "temporal_resolution": 5})
    # Days 2 and 5 share the slot 03-01..03-05.
    with pytest.raises(LoadError) as info:
        build_cube(grd_items, config=config)
    message = str(info.value)
    assert grd_products[0].name in message and grd_products[1].name in message
    assert "temporal_overlap" in message

    latest = config.replace(temporal_overlap=False)
    with pytest.warns(TimeSlotWarning, match=grd_products[0].name):
        ds = build_cube(grd_items, config=latest)
    assert ds["id"].values.tolist() == [grd_products[1].name, grd_products[2].name]
    np.testing.assert_array_equal(ds["amplitude"].values[0], read_grd(grd_products[1].raster))


def test_items_outside_the_grid_are_left_out_with_a_warning(
    grd_products: list[GeneratedProduct], grd_items: list[pystac.Item]
) -> None:
    config = load_config({"start_date": 20240304, "end_date": 20240307, "temporal_resolution": 2})
    with pytest.warns(TimeSlotWarning, match="outside"):
        ds = build_cube(grd_items, config=config)
    assert ds["id"].values.tolist() == [grd_products[1].name, ""]  # slots 03-04 (day 5) and 03-06


def test_zero_resolution_keeps_the_natural_times(grd_items: list[pystac.Item]) -> None:
    config = load_config({"start_date": 20240301, "end_date": 20240331, "temporal_resolution": 0})
    ds = build_cube(grd_items, config=config)
    assert [pd.Timestamp(t) for t in ds["time"].values] == [
        pd.Timestamp(i.datetime).tz_convert(None) for i in grd_items
    ]


# --------------------------------------------------------------------------------------------------------
# Shapes, fill values
# --------------------------------------------------------------------------------------------------------


def test_other_shapes_are_padded_or_cropped(tmp_path: Path) -> None:
    first = make_product(tmp_path, day=1, shape=(64, 48), seed=10)
    taller = make_product(tmp_path, day=2, shape=(70, 40), seed=11)
    wider = make_product(tmp_path, day=3, shape=(50, 52), seed=12)
    with pytest.warns(ShapeMismatchWarning) as caught:
        ds = build_cube([item_of(p) for p in (first, taller, wider)], chunks={"azimuth": 32, "range": 32})
    message = str(caught[0].message)
    assert taller.name in message and wider.name in message and first.name in message
    assert issubclass(ShapeMismatchWarning, IcecubeStacWarning)
    assert ds.sizes == {"time": 3, "azimuth": 64, "range": 48}
    values = ds["amplitude"].values
    np.testing.assert_array_equal(values[0], read_grd(first.raster))
    # 70 x 40 -> rows cropped to 64, columns 40..47 padded.
    np.testing.assert_array_equal(values[1, :, :40], read_grd(taller.raster)[:64])
    assert np.isnan(values[1, :, 40:]).all()
    # 50 x 52 -> rows 50..63 padded, columns cropped to 48.
    np.testing.assert_array_equal(values[2, :50], read_grd(wider.raster)[:, :48])
    assert np.isnan(values[2, 50:]).all()


def test_identical_shapes_give_no_warning(grd_items: list[pystac.Item]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", IcecubeStacWarning)
        build_cube(grd_items, config=load_config({"coregistered": True}))


def test_fill_value_from_argument_and_config(tmp_path: Path) -> None:
    first = make_product(tmp_path, day=1, shape=(64, 48), seed=13)
    small = make_product(tmp_path, day=2, shape=(60, 48), seed=14)
    items = [item_of(first), item_of(small)]
    with pytest.warns(ShapeMismatchWarning):
        assert (build_cube(items, fill_value=0)["amplitude"].values[1, 60:] == 0).all()
    with pytest.warns(ShapeMismatchWarning):
        ds = build_cube(items, config=load_config({"fill_value": -1}))
    assert (ds["amplitude"].values[1, 60:] == -1).all() and ds.attrs["fill_value"] == "-1.0"


# --------------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------------


def test_mixed_grd_and_slc_is_refused(grd_items: list[pystac.Item], slc_items: list[pystac.Item]) -> None:
    with pytest.raises(LoadError) as info:
        build_cube([*grd_items, *slc_items])
    message = str(info.value)
    assert '"product_type": "GRD"' in message and "--product-type" in message
    assert "3 GRD" in message and "2 SLC" in message


def test_missing_asset_raises_or_is_skipped(tmp_path: Path, grd_products: list[GeneratedProduct]) -> None:
    copied = _copy_product(grd_products[1], tmp_path / "copy")
    items = [item_of(grd_products[0]), item_from(copied), item_of(grd_products[2])]
    copied.unlink()
    with pytest.raises(LoadError) as info:
        build_cube(items)
    assert grd_products[1].name in str(info.value) and str(copied) in str(info.value)
    with pytest.warns(SkippedItemWarning, match=grd_products[1].name):
        ds = build_cube(items, on_missing="skip")
    assert ds["id"].values.tolist() == [grd_products[0].name, grd_products[2].name]
    np.testing.assert_array_equal(ds["amplitude"].values[1], read_grd(grd_products[2].raster))
    with pytest.raises(ValueError, match="on_missing"):
        build_cube(items, on_missing="ignore")  # type: ignore[arg-type]


def item_from(raster: Path) -> pystac.Item:
    from icecube_stac.stac import item_from_product

    return item_from_product(raster)


def test_all_items_missing(tmp_path: Path, grd_products: list[GeneratedProduct]) -> None:
    copied = _copy_product(grd_products[0], tmp_path / "gone")
    item = item_from(copied)
    copied.unlink()
    with pytest.warns(SkippedItemWarning), pytest.raises(LoadError, match="none of the 1"):
        build_cube([item], on_missing="skip")


def test_unreadable_file_at_compute_time_names_item_and_path(
    tmp_path: Path, slc_products: list[GeneratedProduct]
) -> None:
    copied = _copy_product(slc_products[0], tmp_path / "bad")
    item = item_from(copied)
    ds = build_cube([item])
    copied.write_bytes(b"not an HDF5 file any more")
    with pytest.raises(LoadError) as info:
        ds["slc"].values  # noqa: B018 - computing is the point
    assert item.id in str(info.value) and str(copied) in str(info.value)


def test_read_block_reports_a_raster_smaller_than_proj_shape(grd_products: list[GeneratedProduct]) -> None:
    lying = RasterSource("liar", str(grd_products[0].raster), Container.LEGACY_GEOTIFF, (SHAPE[0] + 10, SHAPE[1]))
    with pytest.raises(LoadError, match=r"liar.*smaller than its STAC"):
        read_block([lying], (0, SHAPE[0] + 10), (0, SHAPE[1]), "float32", math.nan)
    block = read_block([None, lying], (0, 8), (0, 8), "complex64", math.nan)
    assert block.shape == (2, 8, 8) and np.isnan(block[0].real).all() and np.isnan(block[0].imag).all()


def test_empty_item_list() -> None:
    with pytest.raises(LoadError, match="no items matched the search"):
        build_cube([])
    with pytest.raises(TypeError):
        build_cube("catalogs/default")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------------
# From a config: search + rules
# --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog(
    tmp_path_factory: pytest.TempPathFactory, grd_products: list[GeneratedProduct], slc_products: list[GeneratedProduct]
) -> Path:
    root = tmp_path_factory.mktemp("cube-catalog") / "catalog"
    report = index([p.raster for p in (*grd_products, *slc_products)], root)
    assert report.ok and len(report.added) == 5
    return root


def test_cube_from_a_config(catalog: Path, grd_products: list[GeneratedProduct]) -> None:
    config = load_config({"start_date": 20240301, "end_date": 20240331, "product_type": "GRD", "catalog": str(catalog)})
    ds = load_cube(config)
    assert ds["id"].values.tolist() == [p.name for p in grd_products]
    assert ds.attrs["source_catalog"] == str(catalog)
    np.testing.assert_array_equal(ds["amplitude"].values[2], read_grd(grd_products[2].raster))
    same = build_cube(search(config), config=config)
    xr.testing.assert_identical(ds, same)
    with pytest.raises(TypeError, match="never searches"):
        build_cube(config, config=config)  # type: ignore[arg-type]


def test_config_matching_both_levels_explains_how_to_choose(catalog: Path) -> None:
    config = load_config({"start_date": 20240301, "end_date": 20240331, "catalog": str(catalog)})
    with pytest.raises(LoadError, match="product_type"):
        load_cube(config)


def test_empty_search_is_an_error(catalog: Path) -> None:
    config = load_config({"start_date": 20230101, "end_date": 20230131, "catalog": str(catalog)})
    with pytest.raises(LoadError, match="no items matched the search") as info:
        load_cube(config)
    assert str(catalog) in str(info.value)


def test_temporal_overlap_false_keeps_the_latest_of_a_day(tmp_path: Path) -> None:
    early = make_product(tmp_path, day=6, hour=3, seed=20)
    late = make_product(tmp_path, day=6, hour=15, seed=21)
    items = [item_of(early), item_of(late)]
    assert build_cube(items)["id"].values.tolist() == [early.name, late.name]
    ds = build_cube(items, config=load_config({"temporal_overlap": False}))
    assert ds["id"].values.tolist() == [late.name]
    assert date(2024, 3, 6) == pd.Timestamp(ds["time"].values[0]).date()


# --------------------------------------------------------------------------------------------------------
# Hrefs: file:// URLs, remote URLs, items without proj:shape
# --------------------------------------------------------------------------------------------------------


def test_file_url_hrefs(grd_products: list[GeneratedProduct], slc_products: list[GeneratedProduct]) -> None:
    for product, name, read in ((grd_products[0], "amplitude", read_grd), (slc_products[0], "slc", read_slc)):
        item = item_of(product)
        item.assets["data"].href = product.raster.as_uri()
        np.testing.assert_array_equal(build_cube([item])[name].values[0], read(product.raster))


def test_items_without_proj_shape_are_probed(grd_products: list[GeneratedProduct]) -> None:
    item = item_of(grd_products[0])
    del item.properties["proj:shape"]
    del item.assets["data"].extra_fields["proj:shape"]
    ds = build_cube([item])
    assert ds.sizes["azimuth"] == SHAPE[0] and ds.sizes["range"] == SHAPE[1]
    np.testing.assert_array_equal(ds["amplitude"].values[0], read_grd(grd_products[0].raster))


@pytest.fixture(scope="module")
def http_server(grd_products: list[GeneratedProduct]) -> Iterator[str]:
    """Serve the products' common parent folder over HTTP from a separate process (GDAL holds the GIL)."""
    root = Path(os.path.commonpath([p.raster.parent for p in grd_products]))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with socket.socket() as attempt:
                if attempt.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_remote_grd_is_read_by_gdal(http_server: str, grd_products: list[GeneratedProduct]) -> None:
    product = grd_products[1]
    item = item_of(product)
    item.assets["data"].href = f"{http_server}/{product.raster.parent.name}/{product.raster.name}"
    ds = build_cube([item], chunks={"azimuth": 32})
    assert ds["data_href"].values[0].startswith("http://")
    np.testing.assert_array_equal(ds["amplitude"].values[0], read_grd(product.raster))


def test_unreachable_remote_slc_names_the_item_and_url(slc_products: list[GeneratedProduct]) -> None:
    # aiohttp is a dependency (fsspec's http backend): nothing listens on port 9 of the loopback.
    item = item_of(slc_products[0])
    item.assets["data"].href = "http://127.0.0.1:9/nowhere/product.h5"
    ds = build_cube([item])  # remote hrefs are not probed while building
    with pytest.raises(LoadError) as info:
        ds["slc"].values  # noqa: B018
    assert item.id in str(info.value) and "http://127.0.0.1:9/nowhere/product.h5" in str(info.value)


class _HeldRaster:
    """A raster whose reads are views of an array the reader keeps (as a caching reader might)."""

    def __init__(self, held: np.ndarray) -> None:
        self.held = held
        self.shape = held.shape
        self.dtype = held.dtype

    def read(self, rows: slice, cols: slice) -> np.ndarray:
        return self.held[rows, cols]

    def close(self) -> None:
        pass

    def __enter__(self) -> _HeldRaster:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass


@pytest.mark.parametrize("dtype", ["float32", "complex64"])
def test_read_block_never_hands_out_a_buffer_the_reader_keeps(dtype: str) -> None:
    from icecube_stac.readers import register_reader, unregister_reader

    held = (np.arange(48).reshape(6, 8) + 1).astype(dtype)

    class Reader:
        def open(self, href: str) -> _HeldRaster:
            return _HeldRaster(held)

    register_reader("test-held", Reader())
    try:
        source = RasterSource("held", "held://x", "test-held", (6, 8))
        whole = read_block([source], (0, 6), (0, 8), dtype, math.nan)
        np.testing.assert_array_equal(whole[0], held)
        whole[...] = -1
        assert held[0, 0] == 1 and held[5, 7] == 48  # the reader's array is untouched
        padded = read_block([source], (4, 9), (0, 8), dtype, math.nan)  # past the raster: filled
        np.testing.assert_array_equal(padded[0, :2], held[4:])
        assert np.isnan(padded[0, 2:].real).all()
    finally:
        unregister_reader("test-held")
