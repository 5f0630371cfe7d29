"""Stage 90: the end-to-end demo and the ``cube``/``demo`` commands."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from PIL import Image

from icecube_stac.catalog import read_items
from icecube_stac.cli import main
from icecube_stac.demo import BUILTIN_CONFIG, DemoResult, find_example_config, run_demo
from icecube_stac.errors import ConfigError
from icecube_stac.output import open_cube
from icecube_stac.testing import demo_specs
from tests._cube_stacks import read_grd

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("demo"), n_grd=4, n_slc=2, shape=(48, 40), echo=False)


def test_demo_outputs(demo: DemoResult) -> None:
    root = demo.workdir
    assert len(demo.products) == 6 and all(p.is_file() for p in demo.products)
    assert all(p.is_relative_to(root / "demo-data") for p in demo.products)
    assert demo.indexed == 6 and len(read_items(root / "catalogs/demo")) == 6
    assert demo.cube == root / "demo-output/cube.zarr" and demo.cube.is_dir()
    assert demo.timeseries_png == root / "demo-output/timeseries.png"
    with Image.open(demo.timeseries_png) as image:
        image.verify()
    with Image.open(demo.timeseries_png) as image:
        assert image.format == "PNG" and image.width > 200 and image.height > 100
        pixels = np.asarray(image.convert("L"))
    assert pixels.std() > 10  # real panels, not a blank canvas


def test_demo_cube_holds_the_matched_products(demo: DemoResult) -> None:
    ds = open_cube(demo.cube)
    assert ds.sizes["time"] == len(demo.matched) >= 2
    assert dict(ds.sizes) == dict(demo.dims) and ds.sizes["azimuth"] == 48 and ds.sizes["range"] == 40
    assert ds["id"].values.tolist() == list(demo.matched)
    assert set(ds["product_type"].values.tolist()) == {"GRD"}  # examples/config.json asks for GRD
    rasters = {p.stem: p for p in demo.products}
    for step, item_id in enumerate(demo.matched):
        np.testing.assert_array_equal(ds["amplitude"].values[step], read_grd(rasters[item_id]))
    assert all(15 <= v <= 40 for v in ds["incidence_angle"].values)


def test_demo_report_and_config(demo: DemoResult) -> None:
    text = demo.report()
    assert "generated 6 products (4 GRD, 2 SLC)" in text and "demo-output/cube.zarr" in text
    assert f"{len(demo.matched)} item(s) matched" in text
    example = find_example_config(demo.workdir)
    assert example == ROOT / "examples/config.json"  # found next to the package
    assert demo.config_source == str(example)
    assert json.loads(example.read_text())["product_type"] == BUILTIN_CONFIG["product_type"]


def test_demo_rerun_is_idempotent(demo: DemoResult) -> None:
    before = open_cube(demo.cube).compute()
    again = run_demo(demo.workdir, n_grd=4, n_slc=2, shape=(48, 40), echo=False)
    assert again.matched == demo.matched
    xr.testing.assert_identical(open_cube(again.cube).compute(), before)
    hidden = [p.name for p in (demo.workdir / "demo-output").iterdir() if p.name.startswith(".")]
    assert hidden == [] and not any(p.name.startswith(".") for p in demo.workdir.iterdir())


def test_demo_prints_its_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--workdir", str(tmp_path), "--grd", "2", "--slc", "1", "--size", "32"]) == 0
    out = capsys.readouterr().out
    assert "generated 3 products (2 GRD, 1 SLC)" in out
    assert (tmp_path / "demo-output/timeseries.png").is_file()


def test_cube_command(demo: DemoResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = ROOT / "examples/config.json"
    catalog = str(demo.workdir / "catalogs/demo")
    out = tmp_path / "cube.nc"
    args = ["cube", str(config), "--catalog", catalog, "-o", str(out), "--chunks", "16,20", "-q"]
    assert main(args) == 0
    assert "amplitude float32" in capsys.readouterr().out
    written = open_cube(out)
    assert written["amplitude"].chunks is not None and written["id"].values.tolist() == list(demo.matched)
    xr.testing.assert_identical(written.compute(), open_cube(demo.cube).compute())
    # Existing output without --overwrite: a clear error, exit status 1 (2 is for command-line usage errors).
    assert main(args) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite", "--layout", "icecube"]) == 0
    with xr.open_dataset(out, engine="h5netcdf") as raw:
        assert "Intensity" in raw.data_vars and "Band" in raw.dims


def test_cube_command_errors(demo: DemoResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "both.json"
    config.write_text(json.dumps({"start_date": 20240301, "end_date": 20240331}))
    catalog = str(demo.workdir / "catalogs/demo")
    assert main(["cube", str(config), "--catalog", catalog, "-o", str(tmp_path / "x.zarr"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "GRD" in err and "SLC" in err and "--product-type" in err
    assert not (tmp_path / "x.zarr").exists()
    with pytest.raises(SystemExit):
        main(["cube", str(config), "-o", "x.zarr", "--chunks", "12"])


def test_large_demo_stacks_keep_valid_image_ids() -> None:
    specs = demo_specs(n_grd=4000, n_slc=400, shape=(16, 16))
    ids = [s.image_id for s in specs]
    assert len(specs) == 4400 and ids == sorted(set(ids)) and ids[-1] <= 9_999_999


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"n_grd": -1}, "n_grd"),
        ({"n_grd": 0, "n_slc": 0}, "n_grd + n_slc"),
        ({"n_slc": 10_001}, "n_slc"),
        ({"shape": (8, 256)}, "shape"),
        ({"n_grd": 2.5}, "n_grd"),
    ],
)
def test_impossible_demo_sizes_are_refused_before_writing(tmp_path: Path, kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(key)):
        run_demo(tmp_path / "demo", echo=False, **kwargs)
    assert not (tmp_path / "demo").exists()
