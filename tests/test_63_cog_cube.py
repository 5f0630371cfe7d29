"""Cubes and ``engine="iceye"`` from ICEYE COG products, read window by window through the reader seam."""

from __future__ import annotations

import itertools
import warnings
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr

from icecube_stac import build_cube
from icecube_stac._encoding import SOURCE_DTYPE_ATTR
from icecube_stac.formats.cog import item_from_cog_product
from icecube_stac.iceye_items import IceyeSchemaWarning
from icecube_stac.item import parse_item
from icecube_stac.stac import item_from_product
from icecube_stac.testing import write_product
from icecube_stac.testing.cog import CogProductSpec, azimuth_runs_with_columns, legacy_spec, write_cog_product

pytestmark = pytest.mark.filterwarnings("ignore::icecube_stac.cube._warnings.ShapeMismatchWarning")


def _item(path: Path):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IceyeSchemaWarning)
        return item_from_cog_product(path)


def _direct(tif: Path, look: str) -> np.ndarray:
    """rasterio read + the documented layout: transpose, azimuth reversed for left-looking; SLC A·exp(+iφ)."""
    with rasterio.open(tif) as src:
        raw = src.read().astype(np.float64)
    values = raw[0] if len(raw) == 1 else raw[0] * np.exp(1j * raw[1])
    return values.T if azimuth_runs_with_columns(look) else values.T[::-1]


@pytest.mark.parametrize(("look", "level"), list(itertools.product(["left", "right"], ["GRD", "SLC"])))
def test_cube_of_cog_products_matches_a_direct_read(tmp_path: Path, look: str, level: str) -> None:
    days = [
        CogProductSpec(
            level=level,
            look_side=look,
            shape=(90, 70),
            seed=k,
            image_id=7010715 + k,
            acquisition_start=datetime(2025, 11, 10 + k, 18, 20, 58),
        )
        for k in range(2)
    ]
    products = [write_cog_product(spec, tmp_path / str(k)) for k, spec in enumerate(days)]
    ds = build_cube([_item(p.tif) for p in products], chunks={"azimuth": 32, "range": 25})
    variable = ds["amplitude" if level == "GRD" else "slc"]
    assert variable.dims == ("time", "azimuth", "range") and variable.shape == (2, 90, 70)
    assert variable.data.chunksize[1:] == (32, 25)  # window by window
    for k, product in enumerate(products):
        np.testing.assert_allclose(variable.isel(time=k).values, _direct(product.tif, look), rtol=2e-6, atol=1e-3)
    expected = "uint16" if level == "GRD" else "float32"
    assert variable.attrs[SOURCE_DTYPE_ATTR] == expected
    assert list(ds["look_side"].values) == [look, look]


@pytest.mark.parametrize("look", ["left", "right"])
def test_cog_grd_cube_equals_the_legacy_twin(tmp_path: Path, look: str) -> None:
    spec = CogProductSpec(level="GRD", look_side=look, shape=(80, 60), seed=5)
    cog = write_cog_product(spec, tmp_path / "cog")
    legacy = write_product(legacy_spec(spec), tmp_path / "legacy")
    cog_item, legacy_item = _item(cog.tif), item_from_product(legacy.raster)
    cog_cube, legacy_cube = build_cube([cog_item]), build_cube([legacy_item])
    np.testing.assert_array_equal(cog_cube["amplitude"].values, legacy_cube["amplitude"].values)
    # Radiometry: sigma0 = calibration_factor * (DN * SCALE + OFFSET)**2 gives the legacy twin's sigma0.
    c, g = parse_item(cog_item), parse_item(legacy_item)
    assert (g.amplitude_scale, g.amplitude_offset) == (1.0, 0.0)
    dn = cog_cube["amplitude"].values[0].astype(np.float64)
    cog_sigma0 = c.calibration_factor * (dn * c.amplitude_scale + c.amplitude_offset) ** 2
    np.testing.assert_allclose(cog_sigma0, g.calibration_factor * dn**2, rtol=1e-9)


def test_mixed_legacy_and_cog_grd_stack_builds_one_cube(tmp_path: Path) -> None:
    spec = CogProductSpec(level="GRD", look_side="left", shape=(64, 48), seed=2)
    cog = write_cog_product(spec, tmp_path / "cog")
    later = legacy_spec(
        CogProductSpec(level="GRD", shape=(64, 48), seed=9, image_id=7010999, acquisition_start=datetime(2025, 11, 12))
    )
    legacy = write_product(later, tmp_path / "legacy")
    ds = build_cube([item_from_product(legacy.raster), _item(cog.tif)])
    assert ds["amplitude"].shape == (2, 64, 48)
    assert ds["amplitude"].attrs[SOURCE_DTYPE_ATTR] == "uint16"
    values = ds["amplitude"].values
    np.testing.assert_array_equal(values[0], _direct(cog.tif, "left"))  # the COG is the earlier acquisition
    with rasterio.open(legacy.raster) as src:
        np.testing.assert_array_equal(values[1], src.read(1))


@pytest.mark.parametrize("level", ["GRD", "SLC"])
def test_engine_iceye_opens_cog_products_by_tif_or_json(tmp_path: Path, level: str) -> None:
    product = write_cog_product(CogProductSpec(level=level, look_side="right", shape=(40, 30)), tmp_path)
    name = "amplitude" if level == "GRD" else "slc"
    expected = _direct(product.tif, "right")
    for path in (product.tif, product.json):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IceyeSchemaWarning)
            ds = xr.open_dataset(path, engine="iceye")
        assert ds[name].dims == ("azimuth", "range") and ds[name].shape == (40, 30)
        np.testing.assert_allclose(ds[name][5:17, 3:29].values, expected[5:17, 3:29], rtol=2e-6, atol=1e-3)
        assert str(ds["id"].values) == product.item["id"]
