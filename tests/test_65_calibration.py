"""Stage 65: calibration helpers against numpy formulas on generated products; wrong products are refused."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr

import icecube_stac.calibration  # noqa: F401 - registers ds.iceye
from icecube_stac.calibration import amplitude, beta0, intensity, phase, product_type, sigma0, to_db
from icecube_stac.config import load_config
from icecube_stac.cube import build_cube
from icecube_stac.errors import LoadError
from icecube_stac.testing import GeneratedProduct
from tests._cube_stacks import item_of, make_product, read_grd, read_slc


@pytest.fixture(scope="module")
def grd(tmp_path_factory: pytest.TempPathFactory) -> tuple[xr.Dataset, list[GeneratedProduct]]:
    folder = tmp_path_factory.mktemp("cal-grd")
    products = [make_product(folder, day=2, seed=30), make_product(folder, day=6, incidence=33.0, seed=31)]
    return build_cube([item_of(p) for p in products]), products


@pytest.fixture(scope="module")
def slc(tmp_path_factory: pytest.TempPathFactory) -> tuple[xr.Dataset, list[GeneratedProduct]]:
    folder = tmp_path_factory.mktemp("cal-slc")
    products = [
        make_product(folder, level="SLC", day=3, incidence=21.0, seed=32),
        make_product(folder, level="SLC", day=8, incidence=34.0, seed=33),
    ]
    config = load_config({"start_date": 20240301, "end_date": 20240310, "temporal_resolution": 5})
    return build_cube([item_of(p) for p in products], config=config), products


def _cf(product: GeneratedProduct) -> float:
    return float(product.fields["calibration_factor"])


def test_grd_sigma0_is_cf_times_dn_squared(grd: tuple[xr.Dataset, list[GeneratedProduct]]) -> None:
    ds, products = grd
    result = sigma0(ds)
    assert result.chunks is not None  # lazy
    assert result.name == "sigma0" and result.dtype == np.float32
    for step, product in enumerate(products):
        dn = read_grd(product.raster).astype(np.float64)
        expected = _cf(product) * dn**2  # no sin(incidence): ICEYE already applied it
        np.testing.assert_allclose(result.values[step], expected, rtol=2e-6)
    np.testing.assert_array_equal(ds.iceye.sigma0().values, result.values)


def test_grd_amplitude_and_intensity(grd: tuple[xr.Dataset, list[GeneratedProduct]]) -> None:
    ds, products = grd
    dn = read_grd(products[0].raster)
    np.testing.assert_array_equal(amplitude(ds).values[0], dn)
    np.testing.assert_allclose(intensity(ds).values[0], dn.astype(np.float64) ** 2, rtol=1e-7)
    assert ds.iceye.product_type == product_type(ds) == "GRD"


def test_grd_beta0_and_phase_are_refused(grd: tuple[xr.Dataset, list[GeneratedProduct]]) -> None:
    ds, _ = grd
    with pytest.raises(LoadError, match="sigma0") as info:
        beta0(ds)
    assert "incidence" in str(info.value)
    with pytest.raises(LoadError, match="SLC"):
        phase(ds)
    with pytest.raises(LoadError, match="sigma0"):
        ds.iceye.beta0()


def test_slc_beta0_sigma0_phase(slc: tuple[xr.Dataset, list[GeneratedProduct]]) -> None:
    ds, products = slc
    assert ds.sizes["time"] == 2
    for step, product in enumerate(products):
        z = read_slc(product.raster).astype(np.complex128)
        power = z.real**2 + z.imag**2
        expected_beta0 = _cf(product) * power
        np.testing.assert_allclose(beta0(ds).values[step], expected_beta0, rtol=2e-6)
        incidence = math.radians(float(product.fields["incidence_center"]))
        centre = sigma0(ds, incidence_model="centre").values[step]
        np.testing.assert_allclose(centre, expected_beta0 * math.sin(incidence), rtol=2e-6)
        np.testing.assert_allclose(amplitude(ds).values[step], np.abs(z), rtol=1e-6)
        np.testing.assert_allclose(intensity(ds).values[step], power, rtol=1e-6)
        np.testing.assert_allclose(phase(ds).values[step], np.angle(z), atol=1e-6)
    assert "scene-centre" in sigma0(ds, incidence_model="centre").attrs["comment"]
    assert "each range sample" in sigma0(ds).attrs["comment"]
    assert phase(ds).attrs["units"] == "rad" and phase(ds).dtype == np.float32
    np.testing.assert_array_equal(ds.iceye.beta0().values, beta0(ds).values)


def test_empty_slots_stay_nan(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("cal-gap")
    product = make_product(folder, level="SLC", day=4, seed=34)
    config = load_config({"start_date": 20240301, "end_date": 20240304, "temporal_resolution": 1})
    ds = build_cube([item_of(product)], config=config)
    values = sigma0(ds).values
    assert np.isnan(values[:3]).all() and np.isfinite(values[3]).all()


def test_to_db() -> None:
    x = xr.DataArray(np.array([100.0, 1.0, 0.01, 0.0, -3.0, np.nan]), dims="x", name="sigma0")
    result = to_db(x)
    np.testing.assert_allclose(result.values[:3], [20.0, 0.0, -20.0])
    assert np.isnan(result.values[3:]).all()
    assert result.name == "sigma0_db" and result.attrs["units"] == "dB"


def test_to_db_is_lazy(grd: tuple[xr.Dataset, list[GeneratedProduct]]) -> None:
    ds, products = grd
    db = ds.iceye.to_db(ds.iceye.sigma0())
    assert db.chunks is not None
    dn = read_grd(products[1].raster).astype(np.float64)
    with np.errstate(divide="ignore"):
        expected = np.where(dn > 0, 10 * np.log10(_cf(products[1]) * dn**2), np.nan)
    np.testing.assert_allclose(db.values[1], expected, atol=1e-4)


def test_not_a_cube() -> None:
    with pytest.raises(LoadError, match="not an icecube-stac cube"):
        product_type(xr.Dataset({"foo": ("x", [1.0])}))


def test_slc_sigma0_uses_the_incidence_of_each_range_sample(tmp_path_factory: pytest.TempPathFactory) -> None:
    # The near/far incidences of the real ICEYE XML in shared/reference (a stripmap swath of 4.4 degrees).
    folder = tmp_path_factory.mktemp("cal-range")
    product = make_product(folder, level="SLC", day=4, seed=35, incidence=17.02742328957619)
    item = item_of(product)
    item.properties["iceye:incidence_angle_near"] = 14.803895552358817
    item.properties["iceye:incidence_angle_far"] = 19.205960060369136
    ds = build_cube([item])
    theta = ds.iceye.incidence().values[0]
    n = ds.sizes["range"]
    np.testing.assert_allclose(theta[[0, -1]], [14.803895552358817, 19.205960060369136], atol=1e-9)
    np.testing.assert_allclose(theta[(n - 1) // 2 : n // 2 + 1].mean(), 17.02742328957619, atol=0.05)
    assert np.all(np.diff(theta) > 0)
    per_range, centre = sigma0(ds).values[0], sigma0(ds, incidence_model="centre").values[0]
    edge_db = 10 * np.log10(per_range[:, [0, -1]] / centre[:, [0, -1]]).mean(axis=0)
    # The bias of the scene-centre approximation at the swath edges: about -0.6 dB near, +0.5 dB far.
    np.testing.assert_allclose(edge_db, [-0.60, 0.52], atol=0.02)
    with pytest.raises(ValueError, match="incidence_model"):
        sigma0(ds, incidence_model="local")  # type: ignore[arg-type]


def test_grd_dn_zero_is_no_data_in_calibrated_views(tmp_path: Path) -> None:
    product = make_product(tmp_path, day=5, seed=36)
    with rasterio.open(product.raster, "r+") as dst:
        data = dst.read(1)
        data[:3] = 0  # ICEYE fills the no-data margin of a GRD with DN 0
        dst.write(data, 1)
    ds = build_cube([item_of(product)])
    assert (ds["amplitude"].values[0, :3] == 0).all()  # the stored DN are kept
    for view in (amplitude(ds), intensity(ds), sigma0(ds)):
        values = view.values[0]
        assert np.isnan(values[:3]).all() and np.isfinite(values[3:]).all(), view.name
        assert "no-data" in view.attrs["comment"]
    expected = _cf(product) * data[3:].astype(np.float64) ** 2
    np.testing.assert_allclose(float(sigma0(ds).mean()), expected.mean(), rtol=1e-5)


@pytest.mark.parametrize("look", ["right", "left"])
def test_sarpy_orientation_equals_sarpy(tmp_path: Path, look: str) -> None:
    from sarpy.io.complex.iceye import ICEYEReader

    products = [make_product(tmp_path, level="SLC", day=d, look=look, seed=40 + d) for d in (2, 3)]
    ds = build_cube([item_of(p) for p in products])
    assert "not flipped" in ds.attrs["orientation"]
    view = ds.iceye.to_sarpy_orientation()
    assert view["slc"].dims == ("time", "range", "azimuth")
    for step, product in enumerate(products):
        np.testing.assert_array_equal(view["slc"].values[step], ICEYEReader(str(product.raster))[:, :])
    np.testing.assert_array_equal(ds["slc"].values, build_cube([item_of(p) for p in products])["slc"].values)
