"""Stage 80: coregistration in radar geometry — accuracy on stacks with known warps, records, policy, CLI."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from skimage.registration import phase_cross_correlation

import icecube_stac
from icecube_stac import build_cube, item_from_product, load_config, open_cube, write_cube
from icecube_stac.catalog import index
from icecube_stac.config import config_json_schema
from icecube_stac.coregister import CoregisterOptions, CoregistrationWarning, coregister_cube
from icecube_stac.coregister._model import evaluate, fit_model
from icecube_stac.coregister._resample import resample_block
from icecube_stac.errors import ConfigError, IcecubeStacWarning, LoadError
from icecube_stac.formats.cog import item_from_cog_product
from icecube_stac.pipeline import load_cube
from icecube_stac.testing import CogProductSpec, GeneratedProduct, ProductSpec, write_cog_product, write_product
from icecube_stac.testing.cog._spec import legacy_spec
from icecube_stac.testing.warped import (
    TruthScene,
    Warp,
    legacy_reference,
    moved_spec,
    true_offsets,
    write_warped_stack,
)

N = 512
WARPS = (
    Warp(),
    Warp((1.37, -0.62)),
    Warp((-0.41, 2.23)),
    Warp.rotation((0.3, 0.2), 0.2, 1.002, (N / 2, N / 2)),  # affine: 0.2 deg rotation, 0.2 % scale
    Warp((25.3, -12.6)),  # footprints 28 px apart: the coarse offset comes from the corner geolocation
)
SHAPES = ((N, N), (N, N), (N - 16, N + 16), (N, N), (N, N))  # slice 2 differs in shape by 3 %


def _specs(level: str, shapes: Any, count: int) -> list[ProductSpec]:
    base = ProductSpec(level=level, shape=(N, N))  # type: ignore[arg-type]
    return [
        dataclasses.replace(
            base,
            shape=shapes[k],
            seed=k + 1,
            image_id=200_000 + k,
            acquisition_start=base.acquisition_start + timedelta(days=3 * k),
        )
        for k in range(count)
    ]


def _cube(products: list[GeneratedProduct]) -> xr.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # shape mismatch: expected here
        return build_cube([item_from_product(p.raster) for p in products])


@pytest.fixture(scope="module")
def grd_stack(tmp_path_factory: pytest.TempPathFactory) -> list[GeneratedProduct]:
    return write_warped_stack(_specs("GRD", SHAPES, len(WARPS)), WARPS, tmp_path_factory.mktemp("grd"))


@pytest.fixture(scope="module")
def grd_result(grd_stack: list[GeneratedProduct]) -> xr.Dataset:
    return coregister_cube(_cube(grd_stack), CoregisterOptions(enabled=True, model="affine", grid=(8, 8)))


def _rms_error(ds: xr.Dataset, k: int, warp: Warp) -> float:
    rr, cc = np.meshgrid(np.arange(16.0, N - 16), np.arange(16.0, N - 16), indexing="ij")
    d_az, d_rg = evaluate(ds["coreg_coefficients"].values[k], str(ds.attrs["coregistration_model"]), (N, N), rr, cc)
    t_az, t_rg = true_offsets(warp, rr, cc)
    return float(np.sqrt(np.mean((d_az - t_az) ** 2 + (d_rg - t_rg) ** 2)))


def test_fitted_offsets_match_the_known_warps(grd_result: xr.Dataset) -> None:
    assert list(grd_result["coreg_status"].values) == ["reference"] + ["fitted"] * (len(WARPS) - 1)
    for k, warp in enumerate(WARPS[1:], start=1):
        assert _rms_error(grd_result, k, warp) <= 0.05, k
        assert grd_result["coreg_windows"].values[k] >= 30
        assert 0 < grd_result["coreg_residual"].values[k] < 0.5
    # The large offset started from the geometry (corner coordinates), within a pixel of the truth.
    assert abs(grd_result["coreg_coarse_azimuth"].values[4] + 25.3) < 1.0
    assert abs(grd_result["coreg_coarse_range"].values[4] - 12.6) < 1.0
    assert grd_result["coreg_coarse_azimuth"].values[1] == 0.0


def _peak(reference: np.ndarray[Any, Any], moving: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    a, b = reference - reference.mean(), moving - moving.mean()
    shift, _, _ = phase_cross_correlation(a, b, upsample_factor=100, normalization=None)  # type: ignore[no-untyped-call]
    return np.asarray(shift)


def test_after_coregistration_every_peak_is_at_zero(grd_result: xr.Dataset) -> None:
    values = grd_result["amplitude"].values
    inner = (slice(40, N - 40), slice(40, N - 40))
    reference = values[0][inner]
    for k in range(1, len(WARPS)):
        moving = values[k][inner]
        assert np.isfinite(moving).all(), k  # the interior is covered, also by the smaller product
        assert np.all(np.abs(_peak(reference, moving)) <= 0.05), k
    before = _cube_values_peak(grd_result)
    assert np.abs(before).max() > 1.0  # the uncoregistered stack really was offset


def _cube_values_peak(ds: xr.Dataset) -> np.ndarray[Any, Any]:
    # Correlate one unaligned product against the reference, as read from its file.
    import rasterio

    with rasterio.open(str(ds["data_href"].values[1])) as one, rasterio.open(str(ds["data_href"].values[0])) as ref:
        a, b = ref.read(1).astype(float)[40:-40, 40:-40], one.read(1).astype(float)[40:-40, 40:-40]
    return _peak(a, b)


def test_records_survive_zarr_and_netcdf(grd_result: xr.Dataset, tmp_path: Path) -> None:
    small = grd_result.isel(azimuth=slice(0, 64), range=slice(0, 64))
    assert "source_dtype" not in small["amplitude"].attrs  # resampled values are not the stored DN
    for name in ("cube.zarr", "cube.nc"):
        write_cube(small, tmp_path / name, stac_item=False)
        back = open_cube(tmp_path / name)
        for coord in ("coreg_offset_azimuth", "coreg_offset_range", "coreg_windows", "coreg_residual"):
            np.testing.assert_array_equal(back[coord].values, small[coord].values)
        np.testing.assert_array_equal(back["coreg_coefficients"].values, small["coreg_coefficients"].values)
        assert list(back["coreg_status"].values) == list(small["coreg_status"].values)
        assert back.attrs["coregistration_reference"] == str(small["id"].values[0])
        np.testing.assert_allclose(back["amplitude"].values, small["amplitude"].values, equal_nan=True)


@pytest.fixture(scope="module")
def small_stack(tmp_path_factory: pytest.TempPathFactory) -> list[GeneratedProduct]:
    folder = tmp_path_factory.mktemp("small")
    size = 256
    specs = [dataclasses.replace(s, shape=(size, size)) for s in _specs("GRD", [(size, size)] * 3, 3)]
    good = write_warped_stack(specs[:2], [Warp(), Warp((0.7, -1.2))], folder)
    other = TruthScene(seed=99, extent=(size, size))  # another place: nothing to correlate with
    return good + write_warped_stack([specs[2]], [Warp()], folder / "other", scene=other)


@pytest.mark.parametrize("policy", ["keep", "drop"])
def test_a_failed_fit_is_kept_or_dropped_with_a_warning(small_stack: list[GeneratedProduct], policy: str) -> None:
    cube = _cube(small_stack)
    options = CoregisterOptions(enabled=True, model="shift", grid=(5, 5), on_failure=policy)  # type: ignore[arg-type]
    with pytest.warns(CoregistrationWarning, match=small_stack[2].name) as caught:
        out = coregister_cube(cube, options)
    fate = {"keep": "kept unaligned with NaN quality", "drop": "is dropped"}[policy]
    assert any(fate in str(w.message) for w in caught)
    if policy == "keep":
        assert list(out["coreg_status"].values) == ["reference", "fitted", "failed"]
        assert np.isnan(out["coreg_residual"].values[2]) and out["coreg_windows"].values[2] == 0
        assert np.isnan(out["coreg_offset_azimuth"].values[2])
        np.testing.assert_array_equal(out["amplitude"].values[2], cube["amplitude"].values[2])  # unaligned
    else:
        assert list(out["id"].values) == [p.name for p in small_stack[:2]]
    assert abs(out["coreg_offset_azimuth"].values[1] + 0.7) < 0.1
    assert abs(out["coreg_offset_range"].values[1] - 1.2) < 0.1


def test_a_raster_too_small_for_any_window_says_so_without_numpy_warnings(tmp_path: Path) -> None:
    """16 x 16 px leave no window inside the pads: each is refused as such, and numpy's mean-of-nothing
    warnings (which the user saw before, with every window called "dark") never show."""
    specs = [dataclasses.replace(s, shape=(16, 16)) for s in _specs("GRD", [(16, 16)] * 2, 2)]
    cube = _cube(write_warped_stack(specs, [Warp(), Warp()], tmp_path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = coregister_cube(cube, CoregisterOptions(enabled=True, model="shift", grid=(3, 3)))
    assert [w.category for w in caught] == [CoregistrationWarning], [str(w.message) for w in caught]
    assert "9 raster too small (under 18 px a side)" in str(caught[0].message)
    assert list(out["coreg_status"].values) == ["reference", "failed"]


def test_worker_processes_give_the_same_cube(small_stack: list[GeneratedProduct]) -> None:
    from distributed import Client, LocalCluster

    cube = _cube(small_stack[:2])
    options = CoregisterOptions(enabled=True, model="shift", grid=(5, 5))
    local = coregister_cube(cube, options)
    # Worker processes: every estimation and resampling task and its arguments are pickled.
    with (
        LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster,  # type: ignore[no-untyped-call]
        Client(cluster),  # type: ignore[no-untyped-call]
    ):
        remote = coregister_cube(cube, options)
        values = remote["amplitude"].values
    np.testing.assert_array_equal(remote["coreg_coefficients"].values, local["coreg_coefficients"].values)
    np.testing.assert_array_equal(values, local["amplitude"].values)


def test_empty_time_slots_are_left_as_they_are(small_stack: list[GeneratedProduct]) -> None:
    items = [item_from_product(p.raster) for p in small_stack[:2]]
    first, last = small_stack[0].spec.acquisition_start, small_stack[1].spec.acquisition_start
    config = load_config({"temporal_resolution": 1, "start_date": f"{first:%Y%m%d}", "end_date": f"{last:%Y%m%d}"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cube = build_cube(items, config=config)
    out = coregister_cube(cube, CoregisterOptions(enabled=True, model="shift", grid=(5, 5)))
    assert list(out["coreg_status"].values) == ["reference", "empty", "empty", "fitted"]
    assert np.isnan(out["amplitude"].values[1]).all() and out["coreg_windows"].values[1] == 0


def test_reference_option_and_unknown_reference(small_stack: list[GeneratedProduct]) -> None:
    cube = _cube(small_stack[:2])
    out = coregister_cube(cube, CoregisterOptions(enabled=True, model="shift", reference=small_stack[1].name))
    assert list(out["coreg_status"].values) == ["fitted", "reference"]
    assert abs(out["coreg_offset_azimuth"].values[0] - 0.7) < 0.1  # the other way round
    with pytest.raises(LoadError, match=r"coregister\.reference.*nope"):
        coregister_cube(cube, CoregisterOptions(enabled=True, reference="nope"))


def _coherence(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> complex:
    return complex(np.sum(a * np.conj(b)) / np.sqrt(np.sum(np.abs(a) ** 2) * np.sum(np.abs(b) ** 2)))


def test_slc_phase_ramp_is_removed_and_restored(tmp_path: Path) -> None:
    size, doppler = 256, 0.3  # a strongly squinted stack: the spectrum sits 0.3 cycles/line off zero
    specs = [
        dataclasses.replace(s, shape=(size, size), slc_dtype="float32") for s in _specs("SLC", [(size, size)] * 2, 2)
    ]
    products = write_warped_stack(specs, [Warp(), Warp((0.43, -0.71))], tmp_path, coherent_doppler=doppler)
    cube = _cube(products)
    out = coregister_cube(cube, CoregisterOptions(enabled=True, model="shift", grid=(5, 5)))
    assert "Doppler" in out.attrs["coregistration_phase"]
    # Amplitude detected at twice the sampling (deramped first): no aliasing bias.
    assert abs(out["coreg_offset_azimuth"].values[1] + 0.43) <= 0.05
    assert abs(out["coreg_offset_range"].values[1] - 0.71) <= 0.05
    inner = (slice(24, size - 24), slice(24, size - 24))
    reference, window = cube["slc"].values[0][inner], cube["slc"].values[1]
    fit = (np.array([[-0.43], [0.71]]), "shift", (size, size))  # the true offset: the phase handling alone
    ramp = (doppler,)  # what the product's metadata give (constant dc_estimate_coeffs)
    assert out.attrs["coregistration_phase"] and np.isclose(
        np.polynomial.polynomial.polyval(100.0, _doppler_of(out, 1)), doppler, atol=1e-6
    )
    deramped = resample_block(window, (0, 0), (0, size), (0, size), fit, 3, ramp)[inner]
    gamma = _coherence(reference, deramped)
    assert abs(gamma) > 0.97 and abs(np.angle(gamma)) < 0.05  # coherent, no phase bias
    plain = resample_block(window, (0, 0), (0, size), (0, size), fit, 3, ())[inner]
    assert abs(_coherence(reference, plain)) < abs(gamma) - 0.05  # without deramping coherence is lost
    assert abs(_coherence(reference, window[inner])) < 0.5  # and the raw pair is decorrelated by the shift


def _doppler_of(ds: xr.Dataset, k: int) -> tuple[float, ...]:
    from icecube_stac.coregister._geometry import product_geometry

    geometry = product_geometry(str(ds["metadata_href"].values[k]), str(ds["data_href"].values[k]), 256)
    assert geometry is not None
    return geometry.doppler


def test_mixed_generation_stack(tmp_path: Path) -> None:
    # A COG-generation GRD and a legacy GRD of the same area 4 x 3 px apart (the regular generators: their own
    # geolocation and speckle; a smooth scene, hence 128 px windows).
    cog = CogProductSpec(level="GRD", shape=(384, 384), seed=3, mode="SM")
    first = write_cog_product(cog, tmp_path / "cog")
    twin = legacy_spec(cog)
    legacy = dataclasses.replace(
        twin, seed=11, image_id=twin.image_id + 1, acquisition_start=twin.acquisition_start + timedelta(days=4)
    )
    legacy = moved_spec(legacy_reference(twin), legacy, Warp((4.0, 3.0)))
    second = write_product(legacy, tmp_path / "legacy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cube = build_cube([item_from_cog_product(first.tif), item_from_product(second.raster)])
    out = coregister_cube(cube, CoregisterOptions(enabled=True, model="shift", window=128, grid=(5, 5)))
    assert list(out["coreg_status"].values) == ["reference", "fitted"]
    assert abs(out["coreg_offset_azimuth"].values[1] + 4.0) < 0.1
    assert abs(out["coreg_offset_range"].values[1] + 3.0) < 0.1
    values = out["amplitude"].values
    inner = (slice(40, -40), slice(40, -40))
    assert np.all(np.abs(_peak(values[0][inner], values[1][inner])) <= 0.1)


def test_an_offset_the_geometry_misses_is_found_by_the_central_window(tmp_path: Path) -> None:
    size = 256
    specs = [dataclasses.replace(s, shape=(size, size)) for s in _specs("GRD", [(size, size)] * 2, 2)]
    warps = [Warp(), Warp((18.4, -11.7))]
    products = write_warped_stack(specs, warps, tmp_path, true_geometry=False)  # corners: the same footprint
    out = coregister_cube(_cube(products), CoregisterOptions(enabled=True, model="shift", grid=(5, 5)))
    assert (out["coreg_coarse_azimuth"].values[1], out["coreg_coarse_range"].values[1]) == (-18.0, 12.0)
    # Fewer windows overlap at an 18 px shift of a 256 px scene: a looser bound than the 512 px stack's.
    assert abs(out["coreg_offset_azimuth"].values[1] + 18.4) <= 0.1
    assert abs(out["coreg_offset_range"].values[1] - 11.7) <= 0.1


def test_polynomial_fit_rejects_outliers() -> None:
    rng = np.random.default_rng(7)
    shape = (400, 300)
    rows, cols = np.meshgrid(np.linspace(20, 380, 7), np.linspace(20, 280, 7), indexing="ij")
    points = np.stack([rows.ravel(), cols.ravel()], axis=1)
    truth = np.array([[1.5, 0.3, -0.2, 0.1, 0.05, -0.08], [-2.0, 0.1, 0.4, -0.06, 0.02, 0.09]])
    d_az, d_rg = evaluate(truth, "polynomial", shape, points[:, 0], points[:, 1])
    offsets = np.stack([d_az, d_rg], axis=1) + rng.normal(0, 0.05, (len(points), 2))
    offsets[[3, 17, 30]] += [[4.0, -3.0], [-2.5, 0.0], [0.0, 6.0]]  # wrong peaks: layover, a moving ship
    offsets[8] = np.nan  # a refused window
    fit = fit_model(points, offsets, shape, "polynomial", 0.5)
    assert fit is not None and fit.used == len(points) - 4
    np.testing.assert_allclose(fit.coefficients, truth, atol=0.05)
    assert fit.residual < 0.1
    assert fit_model(points[:7], offsets[:7], shape, "polynomial", 0.5) is None  # too few windows for 6 terms
    assert fit_model(points, offsets + rng.normal(0, 2.0, offsets.shape), shape, "shift", 0.5) is None


@pytest.mark.parametrize("order", [0, 1, 3])
def test_resampling_by_whole_pixels_is_exact(small_stack: list[GeneratedProduct], order: int) -> None:
    window = _cube(small_stack[:1])["amplitude"].values[0]
    fit = (np.array([[2.0], [-3.0]]), "shift", window.shape)  # slice = reference + (2, -3)
    out = resample_block(window, (0, 0), (0, 100), (10, 110), fit, order, ())
    np.testing.assert_allclose(out, window[2:102, 7:107], rtol=1e-5)
    edge = resample_block(window, (0, 0), (window.shape[0] - 4, window.shape[0]), (0, 8), fit, order, ())
    assert np.isnan(edge[2:]).all() and np.isfinite(edge[:2, 3:]).all()  # beyond the product: NaN


def test_config_key_values_and_schema() -> None:
    assert load_config().coregister.enabled is False
    assert load_config().to_dict()["coregister"] is False
    config = load_config({"coregister": {"model": "shift", "grid": 4, "on_failure": "DROP"}})
    assert config.coregister == CoregisterOptions(enabled=True, model="shift", grid=(4, 4), on_failure="drop")
    assert load_config(config.to_dict()) == config
    assert load_config({"coregister": True}).coregister == CoregisterOptions(enabled=True)
    with pytest.raises(ConfigError, match="polynomial model needs at least 10 windows"):
        load_config({"coregister": {"model": "polynomial", "grid": 3}})  # beyond JSON Schema (test_51's list)
    schema = config_json_schema()["properties"]["coregister"]
    import jsonschema

    for good in (False, True, {"window": 32, "grid": [3, 4]}, config.to_dict()["coregister"]):
        jsonschema.validate(good, schema)
    for bad, where in (
        ({"modle": "shift"}, "unknown option 'modle'"),
        ({"window": 8}, "coregister.window"),
        ({"model": "spline"}, "coregister.model"),
        ({"model": "polynomial", "grid": 3}, "at least 10 windows"),
        ("yes", "expected false, true"),
    ):
        with pytest.raises(ConfigError, match=where):
            load_config({"coregister": bad})
        if not isinstance(bad, dict) or "grid" not in bad:
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.validate(bad, schema)


def _catalog(products: list[GeneratedProduct], root: Path) -> Path:
    catalog = root / "catalog"
    index([str(products[0].raster.parents[1])], catalog)
    return catalog


def test_load_cube_coregisters_and_respects_coregistered(small_stack: list[GeneratedProduct], tmp_path: Path) -> None:
    catalog = _catalog(small_stack, tmp_path)  # the unrelated product too: its fit fails, kept
    config = load_config({"catalog": str(catalog), "coregister": {"model": "shift", "grid": 5}})
    with pytest.warns(CoregistrationWarning, match=small_stack[2].name):
        out = load_cube(config)
    assert list(out["coreg_status"].values) == ["reference", "fitted", "failed"]
    with pytest.warns(CoregistrationWarning, match="coregistered: true"):
        same = load_cube(config.replace(coregistered=True))
    assert "coreg_status" not in same.coords
    with pytest.warns(IcecubeStacWarning, match="'coregister' is ignored with geocode"):  # the geocoding stage's
        mapped = load_cube(config.replace(geocode=True))
    assert "coreg_status" not in mapped.coords and "x" in mapped.dims


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # The package this test imports, whatever the install: a real CLI process (its scipy start-up included).
    root = str(Path(icecube_stac.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    command = [sys.executable, "-m", "icecube_stac.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=300, cwd=cwd, env=env)


def test_cli_cube_with_coregister_end_to_end(small_stack: list[GeneratedProduct], tmp_path: Path) -> None:
    catalog = _catalog(small_stack, tmp_path)
    config = tmp_path / "config.json"
    options = {"model": "shift", "grid": 5, "on_failure": "drop"}
    config.write_text(json.dumps({"catalog": str(catalog), "coregister": options}))
    result = _cli("cube", str(config), "-o", str(tmp_path / "c.zarr"), "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert small_stack[2].name in result.stderr and "dropped" in result.stderr  # the warning names it
    cube = open_cube(tmp_path / "c.zarr")
    assert list(cube["coreg_status"].values) == ["reference", "fitted"]
    assert abs(cube["coreg_offset_range"].values[1] - 1.2) < 0.1
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"catalog": str(catalog)}))
    flag = _cli("cube", str(plain), "-o", str(tmp_path / "f.zarr"), "-q", "--coregister", cwd=tmp_path)
    assert flag.returncode == 0, flag.stderr
    assert open_cube(tmp_path / "f.zarr").attrs["coregistration_model"] == "affine"  # the defaults


def test_options_built_directly_are_bounded_like_json() -> None:
    from icecube_stac._config_coregister import CoregisterRule

    rule = CoregisterRule()
    assert rule.check("coregister", CoregisterOptions(enabled=True, grid=5)) == CoregisterOptions(  # type: ignore[arg-type]
        enabled=True, grid=(5, 5)
    )
    canonical = CoregisterOptions(enabled=True, model="shift", grid=(4, 3), window=32, max_residual=1.0)
    assert rule.check("coregister", canonical) == canonical
    assert rule.check("coregister", CoregisterOptions(enabled=False, window=10**9)) == CoregisterOptions()
    huge = CoregisterOptions(enabled=True, grid=(10**6, 10**6), window=10**9, upsample=10**9)
    with pytest.raises(ConfigError, match=r"'coregister\.window': got 1000000000; .*from 16 to 1024"):
        load_config(coregister=huge)  # before the fix: accepted, then window_origins asked for 7.28 TiB
    for bad, message in (
        (huge, r"'coregister\.window': got 1000000000; .*from 16 to 1024"),
        (CoregisterOptions(enabled=True, grid=(10**6, 10**6)), r"'coregister\.grid': got 1000000; .*from 1 to 64"),
        (CoregisterOptions(enabled=True, upsample=10**9), r"'coregister\.upsample': got 1000000000; .*1 to 1000"),
        (CoregisterOptions(enabled=True, model="x"), r"'coregister\.model': got 'x'; .*'shift'"),  # type: ignore[arg-type]
        (CoregisterOptions(enabled=True, grid="5"), r"'coregister\.grid': got '5'; .*\[azimuth, range\]"),  # type: ignore[arg-type]
        (CoregisterOptions(enabled=True, max_residual=float("nan")), r"'coregister\.max_residual': got nan"),
        (CoregisterOptions(enabled=True, reference=7), r"'coregister\.reference': got 7; .*item id"),  # type: ignore[arg-type]
        (CoregisterOptions(enabled="yes"), r"'coregister\.enabled': got 'yes'; .*true or false"),  # type: ignore[arg-type]
        (CoregisterOptions(enabled=True, model="polynomial", grid=(3, 3)), r"'coregister\.grid'.*at least 10"),
    ):
        with pytest.raises(ConfigError, match=message):
            rule.check("coregister", bad)
        with pytest.raises(ConfigError, match=message):
            load_config().replace(coregister=bad)
    # coregister_cube checks options handed to it directly too, before reading or allocating anything.
    with pytest.raises(ConfigError, match=r"'coregister\.grid': got 1000000"):
        coregister_cube(xr.Dataset(), CoregisterOptions(enabled=True, grid=(10**6, 10**6)))
