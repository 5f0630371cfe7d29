"""Stage 71: cubes are stored in the source precision, with the chosen codec, and read back unchanged."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import rasterio
import xarray as xr
import zarr

from icecube_stac.cli import main
from icecube_stac.config import load_config
from icecube_stac.cube import build_cube
from icecube_stac.errors import OutputError
from icecube_stac.output import open_cube, write_cube
from icecube_stac.testing import GeneratedProduct
from tests._cube_stacks import item_of, make_product, read_grd, read_slc


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[GeneratedProduct]]:
    folder = tmp_path_factory.mktemp("storage")
    grd = [make_product(folder, day=d, seed=60 + d) for d in (2, 5)]
    with rasterio.open(grd[0].raster, "r+") as dst:  # a no-data margin, as ICEYE GRDs have
        data = dst.read(1)
        data[:, :4] = 0
        dst.write(data, 1)
    return {
        "GRD": grd,
        "SLC": [make_product(folder, level="SLC", day=d, seed=70 + d) for d in (3, 6)],
        "SLC32": [make_product(folder, level="SLC", day=d, seed=80 + d, slc_dtype="float32") for d in (4, 7)],
    }


def _grid() -> Any:
    return load_config({"start_date": 20240301, "end_date": 20240308, "temporal_resolution": 2})


def _cube(stacks: dict[str, list[GeneratedProduct]], key: str, **kwargs: Any) -> xr.Dataset:
    return build_cube([item_of(p) for p in stacks[key]], config=_grid(), chunks={"azimuth": 32}, **kwargs)


def test_grd_is_stored_as_uint16_with_fill_zero(tmp_path: Path, stacks: dict[str, list[GeneratedProduct]]) -> None:
    cube = _cube(stacks, "GRD")
    assert cube["amplitude"].attrs["source_dtype"] == "uint16"
    target = write_cube(cube, tmp_path / "grd.zarr")
    array = zarr.open_group(str(target))["amplitude"]
    assert array.dtype == np.uint16 and array.fill_value == 0
    assert "lz4" in repr(array.compressors)
    back = open_cube(target)
    assert back["amplitude"].dtype == np.float32
    # Slot 03-01 holds day 2, 03-05 day 5; 03-03 and 03-07 are empty.
    first, second = (read_grd(p.raster) for p in stacks["GRD"])
    values = back["amplitude"].values
    np.testing.assert_array_equal(values[0], np.where(first == 0, np.nan, first))  # DN 0 is no-data
    np.testing.assert_array_equal(values[2], second)
    assert np.isnan(values[1]).all() and np.isnan(values[3]).all()
    calibrated = back.iceye.sigma0().values
    np.testing.assert_array_equal(np.isnan(calibrated), np.isnan(cube.iceye.sigma0().values))


@pytest.mark.parametrize("suffix", [".zarr", ".nc"])
def test_int16_slc_is_stored_as_int16_parts(
    tmp_path: Path, stacks: dict[str, list[GeneratedProduct]], suffix: str
) -> None:
    cube = _cube(stacks, "SLC")
    assert cube["slc"].attrs["source_dtype"] == "int16"
    target = write_cube(cube, tmp_path / f"slc{suffix}")
    if suffix == ".zarr":
        group = zarr.open_group(str(target))
        dtypes = {name: group[name].dtype for name in ("slc_real", "slc_imag")}
    else:
        with h5py.File(target) as h5:
            dtypes = {name: h5[name].dtype for name in ("slc_real", "slc_imag")}
            assert h5["slc_real"].compression == "gzip" and h5["slc_real"].shuffle  # NetCDF compressed by default
    assert set(dtypes.values()) == {np.dtype("int16")}
    back = open_cube(target)
    assert back["slc"].dtype == np.complex64 and "slc_real" not in back
    np.testing.assert_array_equal(back["slc"].values[1], read_slc(stacks["SLC"][0].raster))
    np.testing.assert_array_equal(back["slc"].values[2], read_slc(stacks["SLC"][1].raster))
    empty = back["slc"].values[0]
    assert np.isnan(empty.real).all() and np.isnan(empty.imag).all()
    xr.testing.assert_identical(back.compute(), cube.compute())


def test_float32_slc_stays_complex64_in_zarr(tmp_path: Path, stacks: dict[str, list[GeneratedProduct]]) -> None:
    cube = _cube(stacks, "SLC32")
    assert cube["slc"].attrs["source_dtype"] == "float32"
    target = write_cube(cube, tmp_path / "slc32.zarr")
    assert zarr.open_group(str(target))["slc"].dtype == np.complex64
    xr.testing.assert_identical(open_cube(target).compute(), cube.compute())


def test_a_non_nan_fill_keeps_the_in_memory_dtype(tmp_path: Path, stacks: dict[str, list[GeneratedProduct]]) -> None:
    cube = _cube(stacks, "GRD", fill_value=-1)
    target = write_cube(cube, tmp_path / "grd-fill.zarr")
    assert zarr.open_group(str(target))["amplitude"].dtype == np.float32
    xr.testing.assert_identical(open_cube(target).compute(), cube.compute())


def test_changed_samples_are_never_truncated(tmp_path: Path, stacks: dict[str, list[GeneratedProduct]]) -> None:
    cube = _cube(stacks, "GRD")
    derived = cube.assign(amplitude=cube["amplitude"] * 0.5)  # xarray keeps the attrs, source_dtype included
    with pytest.raises(OutputError, match="not a uint16 sample"):
        write_cube(derived, tmp_path / "half.zarr")
    assert not (tmp_path / "half.zarr").exists()
    del derived["amplitude"].attrs["source_dtype"]
    back = open_cube(write_cube(derived, tmp_path / "half.zarr"))
    np.testing.assert_array_equal(back["amplitude"].values, derived["amplitude"].values)


@pytest.mark.parametrize("codec", ["none", "zstd:3", "blosc-zstd", "lz4:9"])
def test_codecs(tmp_path: Path, stacks: dict[str, list[GeneratedProduct]], codec: str) -> None:
    cube = _cube(stacks, "SLC")
    target = write_cube(cube, tmp_path / "c.zarr", compression=codec)
    compressors = zarr.open_group(str(target))["slc_real"].compressors
    assert (compressors == ()) == (codec == "none")
    xr.testing.assert_identical(open_cube(target).compute(), cube.compute())


def test_default_codec_of_int16_slc_parts(tmp_path: Path, stacks: dict[str, list[GeneratedProduct]]) -> None:
    """Zarr stores a gap-free int16 SLC cube uncompressed by default, one with empty slots with LZ4; GRD with LZ4."""
    items = [item_of(p) for p in stacks["SLC"]]
    complete = build_cube(items, chunks={"azimuth": 32, "range": 16})  # natural timeline: no empty slot
    gaps = _cube(stacks, "SLC")  # two-day slots, two of them empty
    for name, cube, lz4 in (("complete", complete, False), ("gaps", gaps, True)):
        target = write_cube(cube, tmp_path / f"{name}.zarr")
        compressors = zarr.open_group(str(target))["slc_real"].compressors
        assert ("lz4" in repr(compressors)) == lz4 and (compressors == ()) != lz4, compressors
        xr.testing.assert_identical(open_cube(target).compute(), cube.compute())
    grd = build_cube([item_of(p) for p in stacks["GRD"]], chunks={"azimuth": 32})
    assert "lz4" in repr(zarr.open_group(str(write_cube(grd, tmp_path / "grd.zarr")))["amplitude"].compressors)
    explicit = write_cube(complete, tmp_path / "explicit.zarr", compression="lz4")
    assert "lz4" in repr(zarr.open_group(str(explicit))["slc_imag"].compressors)


@pytest.mark.parametrize(
    ("codec", "suffix", "match"),
    [("gzip", ".zarr", "expected one of none, lz4"), ("lz4", ".nc", "none, zlib"), ("zstd:99", ".zarr", "-7 to 22")],
)
def test_bad_codecs_are_named(
    tmp_path: Path, stacks: dict[str, list[GeneratedProduct]], codec: str, suffix: str, match: str
) -> None:
    with pytest.raises(OutputError, match=match):
        write_cube(_cube(stacks, "GRD"), tmp_path / f"c{suffix}", compression=codec)
    assert not (tmp_path / f"c{suffix}").exists()


def test_zarr_format_2_opens_in_gdal(tmp_path: Path, stacks: dict[str, list[GeneratedProduct]]) -> None:
    cube = _cube(stacks, "GRD")
    target = write_cube(cube, tmp_path / "v2.zarr", zarr_format=2)
    assert (target / ".zgroup").is_file()
    with rasterio.open(f'ZARR:"{target}":/amplitude') as src:  # GDAL's Zarr driver (3.10 reads v2, not v3)
        assert src.dtypes[0] == "uint16" and (src.height, src.width) == cube["amplitude"].shape[1:]
        np.testing.assert_array_equal(src.read(3), read_grd(stacks["GRD"][1].raster))
    stored = cube["amplitude"].values
    np.testing.assert_array_equal(open_cube(target)["amplitude"].values, np.where(stored == 0, np.nan, stored))


def test_cli_compression_and_zarr_format(tmp_path: Path, stacks: dict[str, list[GeneratedProduct]]) -> None:
    from icecube_stac.catalog import index

    catalog = tmp_path / "catalog"
    assert index([p.raster for p in stacks["GRD"]], catalog, progress=False).ok
    config = tmp_path / "c.json"
    config.write_text('{"start_date": 20240301, "end_date": 20240331, "product_type": "GRD"}')
    out = tmp_path / "cli.zarr"
    argv = ["cube", str(config), "--catalog", str(catalog), "-o", str(out), "-q", "--zarr-format", "2"]
    assert main([*argv, "--compression", "zstd:2"]) == 0
    assert "Zstd" in repr(zarr.open_group(str(out))["amplitude"].compressors)
    assert math.isnan(float(open_cube(out)["amplitude"].values[0, 0, 0]))  # the zeroed margin


def test_cf_time_is_decoded_by_ncdump(tmp_path: Path, stacks: dict[str, list[GeneratedProduct]]) -> None:
    import shutil
    import subprocess

    cube = build_cube([item_of(p) for p in stacks["SLC"]])
    assert cube["time"].attrs["standard_name"] == "time"
    target = write_cube(cube, tmp_path / "t.nc")
    ncdump = shutil.which("ncdump")
    assert ncdump, "ncdump is missing: apt-get install netcdf-bin (README test command)"
    out = subprocess.run(
        [ncdump, "-t", "-v", "time,start_datetime", str(target)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert 'time:units = "seconds since 1970-01-01' in out.stdout
    first = str(cube["time"].values[0])[:17].replace("T", " ")  # ncdump prints "2024-03-03 06:00:4.996778"
    assert f'time = "{first}' in out.stdout  # decoded to a calendar date-time, not a raw number
    back = open_cube(target)
    np.testing.assert_array_equal(back["time"].values, cube["time"].values)  # exact to the nanosecond
    np.testing.assert_array_equal(back["start_datetime"].values, cube["start_datetime"].values)


def _arrays(target: Path) -> dict[str, np.ndarray]:
    group = zarr.open_group(str(target), mode="r")
    return {name: np.asarray(array[...]) for name, array in group.arrays() if array.ndim == 3}


@pytest.mark.parametrize("key", ["GRD", "SLC"])
def test_source_blocks_are_stored_as_they_are_read(
    tmp_path: Path, stacks: dict[str, list[GeneratedProduct]], key: str
) -> None:
    from icecube_stac._encoding import stored_parts

    cube = _cube(stacks, key)
    variable = cube["amplitude" if key == "GRD" else "slc"]
    parts = stored_parts(variable.data, "uint16" if key == "GRD" else "int16")
    assert parts is not None and len(parts) == (1 if key == "GRD" else 2)
    assert all(p.chunks == variable.data.chunks for p in parts)
    fast = write_cube(cube, tmp_path / "fast.zarr")
    # The same values through another graph: cast back from the floats and checked, chunk by chunk.
    slow_cube = cube.assign({variable.name: variable + 0})
    assert stored_parts(slow_cube[variable.name].data, str(parts[0].dtype)) is None
    slow = write_cube(slow_cube, tmp_path / "slow.zarr")
    fast_arrays, slow_arrays = _arrays(fast), _arrays(slow)
    assert fast_arrays.keys() == slow_arrays.keys() and fast_arrays
    for name, values in fast_arrays.items():
        assert values.dtype == slow_arrays[name].dtype == parts[0].dtype
        np.testing.assert_array_equal(values, slow_arrays[name])
    xr.testing.assert_identical(open_cube(fast).compute(), open_cube(slow).compute())


def test_a_selection_is_never_given_the_source_blocks(
    tmp_path: Path, stacks: dict[str, list[GeneratedProduct]]
) -> None:
    cube = _cube(stacks, "SLC")
    reversed_cube = cube.isel(time=slice(None, None, -1))
    back = open_cube(write_cube(reversed_cube, tmp_path / "reversed.zarr"))
    np.testing.assert_array_equal(back["slc"].values, cube["slc"].values[::-1])
    half = cube.isel(azimuth=slice(0, 20), range=slice(3, 30))
    back = open_cube(write_cube(half, tmp_path / "half.zarr"))
    np.testing.assert_array_equal(back["slc"].values, cube["slc"].values[:, :20, 3:30])


@pytest.mark.parametrize(("zarr_format", "dask_imported"), [("3", False), ("2", True)])
def test_cube_command_start_up_imports(
    tmp_path: Path, stacks: dict[str, list[GeneratedProduct]], zarr_format: str, dask_imported: bool
) -> None:
    """The cube command imports neither distributed nor scipy (~0.3 s each, neither is used).

    A plain Zarr v3 cube is written without dask (the direct writer); a Zarr v2 one through xarray and dask, where
    scipy is hidden from dask.array's import probes only: no placeholder is left, so a later import works.
    """
    import subprocess
    import sys

    from icecube_stac.catalog import index

    catalog = tmp_path / "catalog"
    assert index([p.raster for p in stacks["GRD"]], catalog, asset_hrefs="absolute", progress=False).ok
    config = tmp_path / "c.json"
    config.write_text('{"start_date": 20240301, "end_date": 20240331, "product_type": "GRD"}')
    out = tmp_path / "cli.zarr"
    script = (
        "import sys\n"
        "from icecube_stac.cli import main\n"
        f"sys.argv = ['icecube-stac', 'cube', {str(config)!r}, '--catalog', {str(catalog)!r}, '-o', {str(out)!r},"
        f" '-q', '--chunks', '32,16', '--zarr-format', {zarr_format!r}]\n"
        "rc = main()\n"
        "print('dask.array' in sys.modules, 'scipy' in sys.modules)\n"
        "print(sorted(m for m in ('distributed', 'scipy') if sys.modules.get(m) is not None))\n"
        "sys.exit(rc)\n"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=root, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-2:] == [f"{dask_imported} False", "[]"]
    np.testing.assert_array_equal(
        open_cube(out)["amplitude"].values[1], read_grd(stacks["GRD"][1].raster)
    )  # a range split (rechunk) on the way, values as read
