"""Stage 70: Zarr / NetCDF round trips (complex64, strings, attrs), icecube 1.x names, atomic writes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

from icecube_stac.config import load_config
from icecube_stac.cube import build_cube
from icecube_stac.errors import IcecubeStacError, LoadError, OutputExistsError
from icecube_stac.output import COMPLEX_ATTR, atomic_path, open_cube, write_cube
from icecube_stac.testing import GeneratedProduct
from tests._cube_stacks import item_of, make_product, read_grd, read_slc


@pytest.fixture(scope="module")
def products(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[GeneratedProduct]]:
    folder = tmp_path_factory.mktemp("out-products")
    return {
        "GRD": [make_product(folder, day=2, seed=40), make_product(folder, day=5, orbit="ASCENDING", seed=41)],
        "SLC": [make_product(folder, level="SLC", day=3, seed=42), make_product(folder, level="SLC", day=6, seed=43)],
    }


def _grid_config() -> Any:
    # A 2-day grid gives empty slots: NaN / NaN+NaN·j pixels, empty strings, NaT and NaN coords.
    return load_config({"start_date": 20240301, "end_date": 20240308, "temporal_resolution": 2})


@pytest.fixture(scope="module")
def grd_cube(products: dict[str, list[GeneratedProduct]]) -> xr.Dataset:
    return build_cube([item_of(p) for p in products["GRD"]], config=_grid_config(), chunks={"azimuth": 40})


@pytest.fixture(scope="module")
def slc_cube(products: dict[str, list[GeneratedProduct]]) -> xr.Dataset:
    return build_cube([item_of(p) for p in products["SLC"]], config=_grid_config(), chunks={"range": 30})


def _assert_same_cube(back: xr.Dataset, original: xr.Dataset) -> None:
    expected = original.compute()
    xr.testing.assert_identical(back.compute(), expected)
    for name, variable in expected.variables.items():
        assert back[name].dtype == variable.dtype, name
    assert back.attrs == expected.attrs


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name != path.name and p.name.startswith(f".{path.name}"))


@pytest.mark.parametrize("suffix", [".zarr", ".nc"])
@pytest.mark.parametrize("level", ["GRD", "SLC"])
def test_round_trip(tmp_path: Path, suffix: str, level: str, grd_cube: xr.Dataset, slc_cube: xr.Dataset) -> None:
    cube = grd_cube if level == "GRD" else slc_cube
    target = write_cube(cube, tmp_path / f"cube{suffix}")
    assert target == tmp_path / f"cube{suffix}"
    assert target.is_dir() == (suffix == ".zarr")
    back = open_cube(target)
    name = "amplitude" if level == "GRD" else "slc"
    assert back[name].chunks is not None  # opened lazily
    _assert_same_cube(back, cube)
    assert back["id"].dtype == object and "" in back["id"].values.tolist()  # string coords with an empty slot
    assert back[name].dtype == (np.float32 if level == "GRD" else np.complex64)
    assert _siblings(target) == []


def test_round_trip_values_are_the_products(
    tmp_path: Path, products: dict[str, list[GeneratedProduct]], slc_cube: xr.Dataset
) -> None:
    back = open_cube(write_cube(slc_cube, tmp_path / "slc.nc"))
    # Slots 03-01 (day 3 is in 03-03), 03-03, 03-05 (day 6), 03-07.
    np.testing.assert_array_equal(back["slc"].values[1], read_slc(products["SLC"][0].raster))
    np.testing.assert_array_equal(back["slc"].values[2], read_slc(products["SLC"][1].raster))
    empty = back["slc"].values[0]
    assert np.isnan(empty.real).all() and np.isnan(empty.imag).all()


def test_netcdf_stores_complex_as_two_tagged_floats(tmp_path: Path, slc_cube: xr.Dataset) -> None:
    target = write_cube(slc_cube, tmp_path / "slc.nc")
    raw = xr.open_dataset(target, engine="h5netcdf")
    assert "slc" not in raw and raw["slc_real"].dtype == np.float32 and raw["slc_imag"].dtype == np.float32
    assert raw["slc_real"].attrs[COMPLEX_ATTR] == "slc:real" and raw["slc_imag"].attrs[COMPLEX_ATTR] == "slc:imag"
    values = slc_cube["slc"].values
    np.testing.assert_array_equal(raw["slc_real"].values, values.real)
    np.testing.assert_array_equal(raw["slc_imag"].values, values.imag)
    raw.close()


def test_format_argument_overrides_the_suffix(tmp_path: Path, grd_cube: xr.Dataset) -> None:
    target = write_cube(grd_cube, tmp_path / "cube.data", format="netcdf")
    assert target.is_file() and target.read_bytes()[:4] == b"\x89HDF"
    _assert_same_cube(open_cube(target), grd_cube)
    folder = write_cube(grd_cube, tmp_path / "no-suffix")
    assert (folder / "zarr.json").is_file()


@pytest.mark.parametrize("suffix", [".zarr", ".nc"])
def test_icecube_layout(
    tmp_path: Path, suffix: str, grd_cube: xr.Dataset, slc_cube: xr.Dataset, products: dict[str, list[GeneratedProduct]]
) -> None:
    grd_path = write_cube(grd_cube, tmp_path / f"grd{suffix}", layout="icecube")
    slc_path = write_cube(slc_cube, tmp_path / f"slc{suffix}", layout="icecube")
    engine = "zarr" if suffix == ".zarr" else "h5netcdf"
    with xr.open_dataset(grd_path, engine=engine) as raw:
        assert set(raw.dims) == {"Band", "Azimuth", "Range"}
        assert list(raw.data_vars) == ["Intensity"] and raw["Intensity"].dims == ("Band", "Azimuth", "Range")
        np.testing.assert_array_equal(raw["Intensity"].values[0], read_grd(products["GRD"][0].raster))
    with xr.open_dataset(slc_path, engine=engine) as raw:
        assert sorted(raw.data_vars) == ["Complex", "Real"]
        z = read_slc(products["SLC"][0].raster)
        np.testing.assert_array_equal(raw["Real"].values[1], z.real)  # s_i
        np.testing.assert_array_equal(raw["Complex"].values[1], z.imag)  # s_q, icecube's name
    _assert_same_cube(open_cube(grd_path), grd_cube)
    _assert_same_cube(open_cube(slc_path), slc_cube)


def test_rewriting_an_opened_cube(tmp_path: Path, slc_cube: xr.Dataset) -> None:
    # Encodings inherited from the first file must not leak into the second one.
    first = open_cube(write_cube(slc_cube, tmp_path / "a.nc"))
    second = open_cube(write_cube(first, tmp_path / "b.zarr"))
    _assert_same_cube(second, slc_cube)


def test_progress_bar(
    tmp_path: Path, grd_cube: xr.Dataset, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Progress goes to stderr, and only when stderr is a terminal: stdout is for results (issue: bars in results).
    write_cube(grd_cube, tmp_path / "quiet.zarr", progress=True)
    assert capsys.readouterr() == ("", "")  # stderr is no terminal under pytest
    monkeypatch.setattr("icecube_stac._progress.progress_wanted", lambda requested: requested)
    write_cube(grd_cube, tmp_path / "p.zarr", progress=True)  # the cube as built: the direct writer's jobs
    out, err = capsys.readouterr()
    assert out == "" and "writing cube" in err and "job" in err
    write_cube(grd_cube.assign_attrs(note="x"), tmp_path / "q.zarr", progress=True)  # through xarray: dask tasks
    out, err = capsys.readouterr()
    assert out == "" and "writing cube" in err and "task" in err


# --------------------------------------------------------------------------------------------------------
# Atomicity
# --------------------------------------------------------------------------------------------------------


def _doomed_cube(tmp_path: Path, products: dict[str, list[GeneratedProduct]]) -> xr.Dataset:
    """A cube whose second product disappears after building: the write fails half-way, in a task."""
    folder = tmp_path / "doomed"
    folder.mkdir()
    rasters = []
    for product in products["GRD"]:
        rasters.append(Path(shutil.copy2(product.raster, folder / product.raster.name)))
        assert product.xml is not None
        shutil.copy2(product.xml, folder / product.xml.name)
    from icecube_stac.stac import item_from_product

    cube = build_cube([item_from_product(r) for r in rasters])
    rasters[1].write_bytes(b"truncated")
    return cube


@pytest.mark.parametrize("suffix", [".zarr", ".nc"])
def test_failed_write_leaves_no_target(
    tmp_path: Path, suffix: str, products: dict[str, list[GeneratedProduct]]
) -> None:
    cube = _doomed_cube(tmp_path, products)
    target = tmp_path / f"cube{suffix}"
    with pytest.raises(LoadError, match=r"truncated|cannot read"):
        write_cube(cube, target)
    assert not target.exists()
    assert _siblings(target) == []


@pytest.mark.parametrize("suffix", [".zarr", ".nc"])
def test_failed_overwrite_keeps_the_old_cube(
    tmp_path: Path, suffix: str, grd_cube: xr.Dataset, products: dict[str, list[GeneratedProduct]]
) -> None:
    target = write_cube(grd_cube, tmp_path / f"cube{suffix}")
    with pytest.raises(LoadError):
        write_cube(_doomed_cube(tmp_path, products), target, overwrite=True)
    _assert_same_cube(open_cube(target), grd_cube)
    assert _siblings(target) == []


def test_interrupted_store_leaves_no_target(
    tmp_path: Path, grd_cube: xr.Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_to_zarr = xr.Dataset.to_zarr

    def interrupted(self: xr.Dataset, store: Any, **kwargs: Any) -> Any:
        real_to_zarr(self.isel(time=slice(0, 1)), store, **{**kwargs, "compute": True})  # half a cube on disk
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.Dataset, "to_zarr", interrupted)
    target = tmp_path / "cube.zarr"
    with pytest.raises(KeyboardInterrupt):
        write_cube(grd_cube.assign_attrs(note="x"), target)  # a changed cube: through xarray
    assert not target.exists() and _siblings(target) == []


def test_existing_target_needs_overwrite(tmp_path: Path, grd_cube: xr.Dataset, slc_cube: xr.Dataset) -> None:
    target = write_cube(grd_cube, tmp_path / "cube.zarr")
    with pytest.raises(OutputExistsError, match="overwrite") as info:
        write_cube(slc_cube, target)
    assert isinstance(info.value, IcecubeStacError) and isinstance(info.value, FileExistsError)
    _assert_same_cube(open_cube(target), grd_cube)
    write_cube(slc_cube, target, overwrite=True)
    _assert_same_cube(open_cube(target), slc_cube)
    assert _siblings(target) == []
    # A cube file can replace a cube folder and back (any other folder is refused: see test_72).
    nc = write_cube(grd_cube, tmp_path / "x.nc", format="zarr")
    write_cube(grd_cube, nc, overwrite=True)
    assert nc.is_file()
    write_cube(grd_cube, nc, overwrite=True, format="zarr")
    assert nc.is_dir()


def test_leftovers_of_killed_writers_are_cleaned_up(tmp_path: Path, grd_cube: xr.Dataset) -> None:
    dead = 2**22 + 12345  # above Linux's default pid_max: no such process
    target = tmp_path / "cube.zarr"
    stale = tmp_path / f".cube.zarr.tmp-{dead}-abcd1234"
    stale.mkdir()
    (stale / "half").write_text("x")
    # Killed between "old cube away" and "new cube in": the old cube is restored.
    old = write_cube(grd_cube, tmp_path / "other.zarr")
    os.rename(old, tmp_path / f".cube.zarr.old-{dead}-abcd1234")
    with pytest.raises(OutputExistsError):
        write_cube(grd_cube, target)
    assert not stale.exists()
    _assert_same_cube(open_cube(target), grd_cube)
    # A temporary of a live writer (this process) is left alone.
    live = tmp_path / f".cube.zarr.tmp-{os.getpid()}-ffff0000"
    live.mkdir()
    write_cube(grd_cube, target, overwrite=True)
    assert live.exists()


def test_atomic_path_for_plain_files(tmp_path: Path) -> None:
    target = tmp_path / "note.txt"
    with atomic_path(target) as staging:
        staging.write_text("one")
    assert target.read_text() == "one"
    with pytest.raises(RuntimeError), atomic_path(target, overwrite=True) as staging:
        staging.write_text("two")
        raise RuntimeError("interrupted")
    assert target.read_text() == "one" and _siblings(target) == []


def test_open_cube_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        open_cube(tmp_path / "nothing.zarr")
    text = tmp_path / "x.nc"
    text.write_text("not netcdf")
    with pytest.raises(ValueError, match="neither"):
        open_cube(text)
