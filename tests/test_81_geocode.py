"""Geocoding: map-grid cubes warped from each product's own RPC or GCP grid (legacy GRD/SLC, COG GRD/SLC).

Accuracy is measured against the generator's zero-Doppler geometry (the one the products' RPC and GCPs were
fitted to), never against GDAL itself: a bright point target written at a known pixel must land within one
output pixel of where that geometry puts it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import pytest
import rasterio
import rioxarray  # noqa: F401 - registers ds.rio
import xarray as xr
from distributed import Client, LocalCluster
from pyproj import Transformer
from rasterio.transform import from_origin

from icecube_stac.catalog import index
from icecube_stac.cli import main
from icecube_stac.config import config_json_schema, load_config
from icecube_stac.errors import ConfigError, LoadError
from icecube_stac.formats.cog import item_from_cog_product
from icecube_stac.geocode import GeocodeOptions, geocode_cube, utm_crs
from icecube_stac.output import open_cube, write_cube
from icecube_stac.pipeline import load_cube
from icecube_stac.stac import item_from_product
from icecube_stac.testing import (
    CogProductSpec,
    GeneratedCogProduct,
    GeneratedProduct,
    ProductSpec,
    write_cog_product,
    write_product,
)
from icecube_stac.testing._rpc import rpc_project
from icecube_stac.testing.targets import add_point_target, target_lonlat

Product = GeneratedProduct | GeneratedCogProduct
TARGET = (22, 17)  # stored pixel of the point target: away from the centre, so a mirrored model would miss


def _item(product: Product) -> pystac.Item:
    if isinstance(product, GeneratedCogProduct):
        return item_from_cog_product(product.tif)
    return item_from_product(product.raster)


def _with_target(product: Product) -> Product:
    add_point_target(product, *TARGET)
    return product


@pytest.fixture(scope="module")
def products(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Product]:
    root = tmp_path_factory.mktemp("geocode")
    legacy = ProductSpec(shape=(64, 48), seed=3)
    made: dict[str, Product] = {
        "legacy-grd": write_product(legacy, root / "grd"),
        "legacy-slc": write_product(
            replace(legacy, level="SLC", look_side="left", incidence_center=28.0), root / "slc"
        ),
    }
    for level in ("GRD", "SLC"):
        for look in ("left", "right"):
            spec = CogProductSpec(level=level, shape=(64, 48), look_side=look)
            made[f"cog-{level.lower()}-{look}"] = write_cog_product(spec, root / f"cog-{level}-{look}")
    return {name: _with_target(product) for name, product in made.items()}


def _peak(ds: xr.Dataset) -> tuple[int, int]:
    values = next(iter(ds.data_vars.values())).values[0]
    i, j = np.unravel_index(np.nanargmax(values), values.shape)
    return int(i), int(j)


def _truth(ds: xr.Dataset, product: Product) -> tuple[float, float]:
    """Return the (row, col) output pixel position of the target according to the generator's geometry."""
    lon, lat = target_lonlat(product, *TARGET)
    x, y = Transformer.from_crs("EPSG:4326", ds.rio.crs, always_xy=True).transform(lon, lat)
    col, row = ~ds.rio.transform() @ (x, y)
    return row - 0.5, col - 0.5  # pixel-centre indices


@pytest.mark.parametrize(
    "name", ["legacy-grd", "cog-grd-left", "cog-grd-right", "legacy-slc", "cog-slc-left", "cog-slc-right"]
)
def test_point_target_lands_within_one_pixel(products: dict[str, Product], name: str) -> None:
    product = products[name]
    ds = geocode_cube([_item(product)], GeocodeOptions())
    row, col = _truth(ds, product)
    peak = _peak(ds)
    assert math.hypot(peak[0] - row, peak[1] - col) <= 1.0, (peak, (row, col))
    assert ds.attrs["geocoded"] == 1 and ds.coords["geolocation"].values[0] == "rpc"
    assert next(iter(ds.data_vars)) == ("amplitude" if "grd" in name else "beta0")


@pytest.mark.parametrize("name", ["legacy-grd", "cog-grd-left", "cog-slc-right"])
def test_rpc_and_gcp_paths_agree(products: dict[str, Product], name: str) -> None:
    item = _item(products[name])
    by_rpc = geocode_cube([item], GeocodeOptions(), geolocation="rpc")
    by_gcp = geocode_cube([item], GeocodeOptions(), geolocation="gcp")
    assert by_gcp.coords["geolocation"].values[0] == "gcp"
    assert by_rpc.rio.transform() == by_gcp.rio.transform()
    a, b = _peak(by_rpc), _peak(by_gcp)
    assert math.hypot(a[0] - b[0], a[1] - b[1]) <= 1.0
    row, col = _truth(by_gcp, products[name])
    assert math.hypot(b[0] - row, b[1] - col) <= 1.0
    # The same footprint, to within the pixels along its edge.
    valid_a = np.isfinite(by_rpc[next(iter(by_rpc.data_vars))].values)
    valid_b = np.isfinite(by_gcp[next(iter(by_gcp.data_vars))].values)
    assert (valid_a != valid_b).sum() <= 0.05 * valid_a.sum()


def test_legacy_slc_has_no_gcps_and_says_so(products: dict[str, Product]) -> None:
    with pytest.raises(LoadError, match=r"has no GCP grid to geocode it with \(it has an RPC\)"):
        geocode_cube([_item(products["legacy-slc"])], GeocodeOptions(), geolocation="gcp")


def test_footprint_exact_fill(products: dict[str, Product]) -> None:
    product = products["legacy-grd"]
    assert isinstance(product, GeneratedProduct)
    ds = geocode_cube([_item(product)], GeocodeOptions(resampling="nearest"), chunks={"y": 16, "x": 16})
    grid = ds["amplitude"].values[0]
    xs, ys = np.meshgrid(ds.x.values, ds.y.values)
    lon, lat = Transformer.from_crs(ds.rio.crs, "EPSG:4326", always_xy=True).transform(xs, ys)
    rpc = dict(product.fields["rpc"])
    line, samp = rpc_project(rpc, lat.ravel(), lon.ravel(), np.full(lon.size, float(rpc["HEIGHT_OFF"])))
    line, samp = line.reshape(lon.shape), samp.reshape(lon.shape)
    n_az, n_rg = product.spec.shape
    inside = (line > 0.6) & (line < n_az - 1.6) & (samp > 0.6) & (samp < n_rg - 1.6)
    outside = (line < -0.6) | (line > n_az - 0.4) | (samp < -0.6) | (samp > n_rg - 0.4)
    assert inside.sum() > 1000 and outside.sum() > 500
    assert np.isfinite(grid[inside]).all()
    assert np.isnan(grid[outside]).all()


def test_small_chunks_read_small_windows_and_give_the_same_cube(products: dict[str, Product]) -> None:
    item = _item(products["cog-grd-right"])
    whole = geocode_cube([item], GeocodeOptions(resampling="nearest"), chunks={"y": -1, "x": -1})
    tiles = geocode_cube([item], GeocodeOptions(resampling="nearest"), chunks={"y": 16, "x": 16})
    assert tiles["amplitude"].data.numblocks[1:] == (math.ceil(whole.sizes["y"] / 16), math.ceil(whole.sizes["x"] / 16))
    graph = dict(tiles["amplitude"].data.__dask_graph__())
    windows = [source.window for task in graph.values() for source in task[0].args[0] if source is not None]
    n_az, n_rg = 64, 48
    # Every task reads a window, most a small part of the product.
    assert windows and np.median([(w[1] - w[0]) * (w[3] - w[2]) for w in windows]) < 0.5 * n_az * n_rg
    a, b = whole["amplitude"].values, tiles["amplitude"].values
    assert (np.isfinite(a) == np.isfinite(b)).mean() > 0.99
    both = np.isfinite(a) & np.isfinite(b)
    assert (a[both] == b[both]).mean() > 0.98  # nearest: equal up to GDAL's approximate transformer (<0.125 px)


def test_sigma0_and_units(products: dict[str, Product]) -> None:
    ds = geocode_cube([_item(products["cog-slc-left"])], GeocodeOptions(quantity="sigma0"))
    beta = geocode_cube([_item(products["cog-slc-left"])], GeocodeOptions(quantity="beta0"))
    ratio = (ds["sigma0"] / beta["beta0"]).values
    incidence = float(ds.coords["incidence_angle"].values[0])
    # sigma0 = beta0 * sin(incidence of each range sample): within the swath's incidence range.
    assert np.nanmedian(ratio) == pytest.approx(math.sin(math.radians(incidence)), rel=0.05)
    assert ds["sigma0"].attrs["grid_mapping"] == "spatial_ref"
    assert ds.x.attrs["units"] == "m" and ds.x.attrs["standard_name"] == "projection_x_coordinate"


def test_grd_amplitude_is_the_dn_so_calibration_helpers_apply_once(products: dict[str, Product]) -> None:
    item = _item(products["cog-grd-left"])
    options = GeocodeOptions(resampling="nearest")
    amplitude = geocode_cube([item], options)
    sigma0 = geocode_cube([item], replace(options, quantity="sigma0"))["sigma0"].values
    scale = float(amplitude.coords["amplitude_scale"].values[0])
    assert scale != 1.0  # a COG band scale: applied exactly once
    np.testing.assert_allclose(amplitude.iceye.sigma0().values, sigma0, rtol=1e-5)
    cog = products["cog-grd-left"]
    assert isinstance(cog, GeneratedCogProduct)
    with rasterio.open(cog.tif) as src:
        stored = set(np.unique(src.read(1)).tolist())
    values = amplitude["amplitude"].values
    assert set(np.unique(values[np.isfinite(values)]).tolist()) <= stored - {0}


def test_complex_and_grd_beta0_refused(products: dict[str, Product]) -> None:
    with pytest.raises(ConfigError, match="coregister it there"):
        load_config({"geocode": {"quantity": "complex"}})
    with pytest.raises(LoadError, match="radar geometry"):
        geocode_cube([_item(products["legacy-slc"])], GeocodeOptions(quantity="complex"))
    with pytest.raises(LoadError, match="beta0 of a GRD"):
        geocode_cube([_item(products["legacy-grd"])], GeocodeOptions(quantity="beta0"))


def test_crs_resolution_and_bounds_options(products: dict[str, Product]) -> None:
    item = _item(products["legacy-grd"])
    auto = geocode_cube([item], GeocodeOptions())
    assert str(auto.rio.crs) == utm_crs(102.61, 16.32) == "EPSG:32648"
    assert auto.rio.resolution() == (2.5, -2.5)  # the products' ground spacing (stripmap GRD)
    x0, y0, _, y1 = auto.rio.bounds()
    assert x0 % 2.5 == 0 and y1 % 2.5 == 0  # snapped to whole pixels
    bx, by = 10 * math.ceil(x0 / 10) + 20, 5 * math.ceil(y0 / 5) + 30  # on the 10 m x 5 m pixel lattice
    bounds = (bx, by, bx + 100, by + 60)
    cut = geocode_cube([item], GeocodeOptions(crs="EPSG:32648", resolution=(10.0, 5.0), bounds=bounds))
    assert cut.sizes == {"time": 1, "y": 12, "x": 10} and cut.rio.resolution() == (10.0, -5.0)
    geo = geocode_cube([item], GeocodeOptions(crs="EPSG:4326"))
    assert geo.rio.crs.to_epsg() == 4326 and geo.x.attrs["units"] == "degrees_east"
    assert 102.6 < float(geo.x.mean()) < 102.62


def test_dem_heights_move_the_target(products: dict[str, Product], tmp_path: Path) -> None:
    product = products["legacy-grd"]
    assert isinstance(product, GeneratedProduct)
    item = _item(product)
    lift = 4.0  # m: about 13 m (5 px) of ground-range shift at 17 deg incidence
    height = float(product.fields["avg_scene_height"]) + lift
    dem = tmp_path / "dem.tif"
    profile: dict[str, Any] = {"driver": "GTiff", "width": 50, "height": 50, "count": 1, "dtype": "float32"}
    with rasterio.open(dem, "w", crs="EPSG:4326", transform=from_origin(102.5, 16.45, 0.005, 0.005), **profile) as dst:
        dst.write(np.full((1, 50, 50), height, np.float32))
    flat = geocode_cube([item], GeocodeOptions(crs="EPSG:32648"))
    raised = geocode_cube([item], GeocodeOptions(crs="EPSG:32648", dem=str(dem)))
    lon, lat = _lonlat_at(product, height)
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True).transform(lon, lat)
    col, row = ~raised.rio.transform() @ (x, y)
    peak = _peak(raised)
    assert math.hypot(peak[0] - (row - 0.5), peak[1] - (col - 0.5)) <= 1.0
    shift = np.subtract(_peak(flat), peak) * 2.5
    assert np.hypot(*shift) > lift / math.tan(math.radians(product.spec.incidence_center)) / 2  # moved
    with pytest.raises(LoadError, match=r"geocode\.dem"):
        geocode_cube([item], GeocodeOptions(dem=str(tmp_path / "missing.tif")))


def _lonlat_at(product: GeneratedProduct, height: float) -> tuple[float, float]:
    from icecube_stac.testing._geodesy import ecef_to_geodetic
    from icecube_stac.testing._plan import plan_product

    plan = plan_product(product.spec, product.name)
    point = plan.geometry.locate(
        plan.tau(np.array([float(TARGET[0])])), plan.range_axis.slant_range(np.array([float(TARGET[1])])), height
    )
    lat, lon, _ = ecef_to_geodetic(point)
    return float(lon[0]), float(lat[0])


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("geocode-catalog")
    for day in (1, 3, 6):
        spec = ProductSpec(
            shape=(80, 64),
            image_id=300000 + day,
            acquisition_start=datetime(2024, 3, day, 3, 41, 27),
            center_lat=16.32 + 0.0002 * day,
            seed=day,
        )
        write_product(spec, root / "data" / str(day))
    report = index([root / "data"], root / "cat", progress=False)
    assert report.ok
    return root


def test_load_cube_writes_georeferenced_zarr_and_netcdf(catalog: Path, tmp_path: Path) -> None:
    config = load_config({"catalog": str(catalog / "cat"), "geocode": {"crs": 32648, "resolution": 5}})
    ds = load_cube(config)
    assert ds["amplitude"].dims == ("time", "y", "x") and ds.sizes["time"] == 3
    # Three slightly shifted footprints on one grid: each step fills its own part, NaN elsewhere.
    valid = np.isfinite(ds["amplitude"].values)
    assert valid.any(axis=0).sum() > valid[0].sum()
    for name, options in (("c.nc", {}), ("c.zarr", {"zarr_format": 2})):
        out = write_cube(ds, tmp_path / name, progress=False, stac_item=False, **options)
        back = open_cube(out)
        assert back.rio.crs.to_epsg() == 32648
        np.testing.assert_array_equal(back["amplitude"].values, ds["amplitude"].values)
        opened = f"netcdf:{out}:amplitude" if name.endswith(".nc") else f'ZARR:"{out}":/amplitude'
        with rasterio.open(opened) as gdal:  # GDAL (and so QGIS) reads the CF grid mapping
            assert gdal.crs.to_epsg() == 32648
            assert gdal.transform.almost_equals(ds.rio.transform())


def test_coregister_is_ignored_with_a_warning(catalog: Path) -> None:
    from icecube_stac.cube import CubeWarning

    config = load_config({"catalog": str(catalog / "cat"), "geocode": True, "coregister": True})
    with pytest.warns(CubeWarning, match="'coregister' is ignored with geocode"):
        ds = load_cube(config)
    assert ds["amplitude"].dims == ("time", "y", "x")


def test_cli_geocode_flag(catalog: Path, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "c.json").write_text(json.dumps({"catalog": str(catalog / "cat")}))
    assert main(["cube", "c.json", "--geocode", "-o", "a.zarr", "-q"]) == 0
    dims = json.loads((workdir / "a.zarr.json").read_text())["properties"]["cube:dimensions"]
    assert dims["x"]["type"] == "spatial" and dims["x"]["reference_system"] == 32648 and dims["x"]["step"] == 2.5
    assert dims["y"]["axis"] == "y" and dims["y"]["step"] == -2.5 and "azimuth" not in dims
    assert main(["cube", "c.json", "--geocode", "EPSG:4326", "-o", "b.nc", "-q", "--no-item"]) == 0
    assert open_cube(workdir / "a.zarr").rio.crs.to_epsg() == 32648
    assert open_cube(workdir / "b.nc").rio.crs.to_epsg() == 4326
    assert main(["cube", "c.json", "--geocode", "{bad", "-o", "c.zarr", "-q"]) == 1
    assert "--geocode: expected a JSON object" in capsys.readouterr().err and not (workdir / "c.zarr").exists()


def test_config_key_round_trip_and_schema() -> None:
    import jsonschema

    config = load_config({"geocode": {"crs": "epsg:32631", "resolution": [10, 20], "resampling": "Cubic"}})
    assert config.geocode == GeocodeOptions(crs="EPSG:32631", resolution=(10.0, 20.0), resampling="cubic")
    assert load_config(config.to_dict()) == config
    assert load_config({"geocode": True}).geocode == GeocodeOptions()
    assert load_config().geocode is False and load_config({"geocode": False}).geocode is False
    with pytest.raises(ConfigError, match="pyproj does not know this CRS"):
        load_config({"geocode": {"crs": "EPSG:0"}})  # a literal config: the schema test sees it too
    schema = config_json_schema()
    jsonschema.validate(config.to_dict() | {"end_date": 20240101}, schema)
    for bad, message in (
        ({"bounds": [0, 0, 1, 1]}, "geocode.crs must be given"),
        ({"crs": "EPSG:4978"}, "projected or geographic"),
        ({"crs": "not a crs"}, "pyproj does not know"),
        ({"resolution": 0}, "pixel size"),
        ({"resampling": "bilinaer"}, "did you mean 'bilinear'"),
        ({"grid": 1}, "geocode.grid"),
        ("UTM", "expected true, false, or an object"),
    ):
        with pytest.raises(ConfigError, match=message):
            load_config({"geocode": bad})


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(n_workers=1, processes=True, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster, set_as_default=False) as connected,
    ):
        yield connected


def test_geocoded_cube_computes_on_distributed_workers(products: dict[str, Product], client: Client) -> None:
    item = _item(products["cog-grd-left"])
    ds = geocode_cube([item], GeocodeOptions(), chunks={"y": 32, "x": 32})
    local = ds["amplitude"].values
    remote = client.compute(ds["amplitude"].data).result()
    np.testing.assert_array_equal(remote, local)


def test_options_built_directly_are_checked_like_json() -> None:
    from icecube_stac._config_geocode import GeocodeRule

    rule = GeocodeRule()
    assert rule.check("geocode", GeocodeOptions(resolution=5)) == GeocodeOptions(resolution=(5.0, 5.0))  # type: ignore[arg-type]
    canonical = GeocodeOptions(crs="EPSG:32648", resolution=(10.0, 5.0), bounds=(0.0, 0.0, 100.0, 50.0))
    assert rule.check("geocode", canonical) == canonical
    for bad, message in (
        (GeocodeOptions(crs="EPSG:32648", bounds=5), r"'geocode\.bounds': got 5; .*four finite numbers"),  # type: ignore[arg-type]
        (GeocodeOptions(resolution="fine"), r"'geocode\.resolution': got 'fine'; .*pixel size"),  # type: ignore[arg-type]
        (GeocodeOptions(resolution=(1.0, 2.0, 3.0)), r"'geocode\.resolution': got \[1\.0, 2\.0, 3\.0\]; .*\[x, y\]"),  # type: ignore[arg-type]
    ):
        with pytest.raises(ConfigError, match=message):
            rule.check("geocode", bad)
        with pytest.raises(ConfigError, match=message):
            load_config().replace(geocode=bad)


def test_a_grid_beyond_the_size_cap_is_refused_before_any_arithmetic_overflows(products: dict[str, Product]) -> None:
    from icecube_stac.geocode._grid import choose_grid

    huge = {"crs": "EPSG:32648", "bounds": [-1e300, -1e300, 1e300, 1e300], "resolution": 1e-9}
    with pytest.raises(ConfigError, match=r"'geocode\.resolution': got 1e-09; .*at most 1,000,000 pixels a side"):
        # a literal config: test_51 sees that the schema accepts it (arithmetic is beyond JSON Schema)
        load_config({"geocode": {"crs": "EPSG:32648", "bounds": [-1e300, -1e300, 1e300, 1e300], "resolution": 1e-9}})
    with pytest.raises(ConfigError, match=r"'geocode\.resolution': got 1000000\.0; .*at most 1,000,000 pixels a side"):
        load_config({"geocode": huge | {"bounds": [-1.7e308, 0, 1.7e308, 1], "resolution": 1e6}})
    with pytest.raises(ConfigError, match=r"'geocode\.resolution': got 1; .*4,000,000,000 pixels in all"):
        load_config({"geocode": huge | {"bounds": [0, 0, 900_000, 900_000], "resolution": 1}})
    assert load_config({"geocode": huge | {"bounds": [0, 0, 1e6, 1], "resolution": 1}}).geocode
    built = GeocodeOptions(crs="EPSG:32648", bounds=(-1e300, -1e300, 1e300, 1e300), resolution=(1e-9, 1e-9))
    with pytest.raises(ConfigError, match=r"'geocode\.resolution': got \[1e-09, 1e-09\]; .*pixels a side"):
        choose_grid(built, [], None)  # options built directly are checked too
    item = _item(products["legacy-grd"])
    for options in (GeocodeOptions(resolution=(1e-9, 1e-9)), GeocodeOptions(crs="EPSG:4326", resolution=(5e-324, 1.0))):
        # bounds from the footprint: only known at load time
        with pytest.raises(LoadError, match=r"geocode\.resolution .*over geocode\.bounds .*footprints.* at most"):
            geocode_cube([item], options)
    with pytest.raises(LoadError, match=r"geocode\.bounds \[-1e\+300, .*at most 1,000,000 pixels a side"):
        geocode_cube([item], GeocodeOptions(crs="EPSG:32648", bounds=(-1e300, 0.0, 1e300, 1.0)))
