"""Stage 72: writes never destroy what is not theirs: --overwrite replaces only icecube-stac cubes, temporary
names are unpredictable and survive PID reuse, unknown suffixes are refused, write errors name the path."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import pytest
import xarray as xr

from icecube_stac import _atomic
from icecube_stac._atomic import atomic_path, process_start_time
from icecube_stac.catalog import index
from icecube_stac.cli import main
from icecube_stac.config import load_config
from icecube_stac.cube import build_cube
from icecube_stac.errors import IcecubeStacError, OutputError, OutputExistsError
from icecube_stac.output import open_cube, write_cube
from icecube_stac.testing import demo_specs, write_stack
from tests._cube_stacks import item_of, make_product


@pytest.fixture(scope="module")
def cube(tmp_path_factory: pytest.TempPathFactory) -> xr.Dataset:
    folder = tmp_path_factory.mktemp("safety-products")
    products = [make_product(folder, day=2, seed=50), make_product(folder, day=4, seed=51)]
    return build_cube([item_of(p) for p in products], config=load_config({}))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with products in data/, a catalog in catalogs/default and a GRD config (as a user has)."""
    root = tmp_path_factory.mktemp("safety-project")
    write_stack(demo_specs(n_grd=2, n_slc=0, shape=(16, 12)), root / "data")
    index([root / "data"], root / "catalogs" / "default", progress=False)
    (root / "cfg.json").write_text(json.dumps({"catalog": str(root / "catalogs" / "default")}))
    return root


def _cube_cli(project: Path, output: Path | str, *extra: str) -> int:
    return main(["cube", str(project / "cfg.json"), "-o", str(output), "-q", *extra])


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name != path.name and p.name.startswith(f".{path.name}"))


# ------------------------------------------------------------------------------- --overwrite only our cubes


def test_overwrite_refuses_a_folder_that_is_not_a_cube(
    tmp_path: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "thesis.tex").write_text("x")
    assert _cube_cli(project, keep, "--overwrite") == 1
    assert (keep / "thesis.tex").read_text() == "x"
    err = capsys.readouterr().err
    with pytest.raises(OutputExistsError, match="not a cube written by icecube-stac"):
        write_cube(xr.Dataset(), keep, overwrite=True)  # the writer checks too, not only the CLI
    assert (keep / "thesis.tex").read_text() == "x"
    assert err.startswith("error: ") and str(keep) in err and "not a cube written by icecube-stac" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert _siblings(keep) == []


@pytest.mark.parametrize("name", ["catalogs/default", "data"])
def test_overwrite_refuses_the_catalog_and_the_product_folder(
    project: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = project / name
    before = _tree(folder)
    assert _cube_cli(project, folder, "--overwrite", "--format", "zarr") == 1
    assert _tree(folder) == before
    assert "not a cube written by icecube-stac" in capsys.readouterr().err


def test_overwrite_refuses_a_foreign_netcdf_file(tmp_path: Path, cube: xr.Dataset) -> None:
    foreign = tmp_path / "theirs.nc"
    with h5py.File(foreign, "w") as handle:
        handle.attrs["title"] = "someone else's data"
    before = foreign.read_bytes()
    with pytest.raises(OutputExistsError, match="not a cube written by icecube-stac"):
        write_cube(cube, foreign, overwrite=True)
    assert foreign.read_bytes() == before
    plain = tmp_path / "notes.nc"
    plain.write_text("text")
    with pytest.raises(OutputExistsError, match="not a cube written by icecube-stac"):
        write_cube(cube, plain, overwrite=True)
    assert plain.read_text() == "text"


@pytest.mark.parametrize("first, second", [(".zarr", ".zarr"), (".nc", ".nc"), (".zarr", ".nc")])
def test_overwrite_replaces_our_own_cubes(tmp_path: Path, cube: xr.Dataset, first: str, second: str) -> None:
    target = tmp_path / f"cube{first}"
    write_cube(cube, target)
    write_cube(cube.isel(time=[0]), target, overwrite=True, format="netcdf" if second == ".nc" else "zarr")
    assert open_cube(target).sizes["time"] == 1
    assert _siblings(target) == []


@pytest.mark.filterwarnings("ignore:Consolidated metadata")
def test_overwrite_recognises_cubes_written_before_the_mark(tmp_path: Path, cube: xr.Dataset) -> None:
    # Cubes of earlier versions carry only created_by = "icecube-stac X".
    old = tmp_path / "old.zarr"
    cube.to_zarr(old, consolidated=True)
    write_cube(cube.isel(time=[1]), old, overwrite=True)
    assert open_cube(old).sizes["time"] == 1


def test_the_mark_is_not_part_of_the_opened_cube(tmp_path: Path, cube: xr.Dataset) -> None:
    back = open_cube(write_cube(cube, tmp_path / "c.zarr"))
    assert back.attrs == cube.attrs
    raw = json.loads((tmp_path / "c.zarr" / "zarr.json").read_text())
    assert raw["attributes"]["icecube_stac_writer"].startswith("icecube-stac")


@pytest.mark.parametrize("target", [".", "..", "sub/.."])
def test_dot_targets_are_a_clear_error(
    tmp_path: Path, project: Path, target: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    assert _cube_cli(project, target, "--overwrite") == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and repr(target) in err and "Traceback" not in err


def test_a_symlink_target_is_refused(tmp_path: Path, cube: xr.Dataset) -> None:
    real = write_cube(cube, tmp_path / "real.zarr")
    link = tmp_path / "link.zarr"
    link.symlink_to(real)
    with pytest.raises(OutputExistsError, match="symbolic link"):
        write_cube(cube, link, overwrite=True)
    assert link.is_symlink() and open_cube(real).sizes["time"] == 2


# ------------------------------------------------------------------------------- suffixes


@pytest.mark.parametrize("name", ["c1.tif", "cube.json", "x.zip"])
def test_unknown_suffix_names_the_allowed_ones(
    tmp_path: Path, project: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cube_cli(project, tmp_path / name) == 1
    assert not (tmp_path / name).exists()
    captured = capsys.readouterr()
    assert name in captured.err and ".zarr" in captured.err and ".nc" in captured.err and "--format" in captured.err
    assert "cube:" not in captured.out  # refused before the search and the cube graph


def test_suffix_rules_in_the_api(tmp_path: Path, cube: xr.Dataset) -> None:
    with pytest.raises(OutputError, match=r"'\.tif'.*\.zarr"):
        write_cube(cube, tmp_path / "c1.tif")
    assert (write_cube(cube, tmp_path / "plain") / "zarr.json").is_file()  # no suffix: a Zarr folder
    assert write_cube(cube, tmp_path / "c.NC4").is_file()
    assert write_cube(cube, tmp_path / "c1.tif", format="netcdf").is_file()  # an explicit format wins
    with pytest.raises(IcecubeStacError, match="format"):
        write_cube(cube, tmp_path / "c.zarr", format="tiff")  # type: ignore[arg-type]
    with pytest.raises(IcecubeStacError, match="layout"):
        write_cube(cube, tmp_path / "c.zarr", layout="other")  # type: ignore[arg-type]


def test_help_documents_the_suffixes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["cube", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert ".zarr" in text and ".nc" in text and "no suffix" in text


# ------------------------------------------------------------------------------- errors name the path


def test_disk_full_names_the_path(
    tmp_path: Path, cube: xr.Dataset, monkeypatch: pytest.MonkeyPatch, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import zarr.storage

    async def full(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")  # no filename, as the real one often has

    # Where both writers store every file (xarray's to_zarr, and the command line's direct writer).
    monkeypatch.setattr(zarr.storage.LocalStore, "set", full)
    target = tmp_path / "cube.zarr"
    with pytest.raises(OutputError, match="No space left on device") as info:
        write_cube(cube, target)
    assert str(target) in str(info.value) and info.value.errno == errno.ENOSPC
    assert not target.exists() and _siblings(target) == []
    assert _cube_cli(project, target) == 1
    err = capsys.readouterr().err
    assert str(target) in err and "No space left on device" in err and ": :" not in err


def test_unwritable_folder_names_the_path(tmp_path: Path, cube: xr.Dataset) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match=str(blocker)):
        write_cube(cube, blocker / "cube.zarr")


# ------------------------------------------------------------------------------- temporary names


def test_temporary_names_are_unpredictable_and_private(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    seen: list[Path] = []
    for _ in range(2):
        with atomic_path(target, overwrite=True) as staging:
            staging.write_text("x")
            seen.append(staging)
            folder = staging.parent
            assert folder.parent == tmp_path and folder.name.startswith(".out.json.tmp-")
            assert (folder.stat().st_mode & 0o777) == 0o700
    assert seen[0] != seen[1]
    assert _siblings(target) == []


def test_a_planted_fixed_temporary_is_never_followed(
    tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / ".m.json.tmp").symlink_to(victim)
    monkeypatch.chdir(tmp_path)
    assert main(["search", str(project / "cfg.json"), "-o", "m.json"]) == 0
    assert victim.read_text() == "precious"
    assert json.loads((tmp_path / "m.json").read_text())["type"] == "FeatureCollection"


@pytest.fixture
def other_process() -> Iterator[int]:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield sleeper.pid
    finally:
        sleeper.kill()
        sleeper.wait()


def test_stale_temporaries_are_cleaned_even_when_their_pid_is_reused(tmp_path: Path, other_process: int) -> None:
    target = tmp_path / "cube.zarr"
    start = process_start_time(other_process)
    assert start is not None
    reused = tmp_path / f".cube.zarr.tmp-{other_process}.{start + 1}-abc_1234"  # same PID, another process
    reused.mkdir()
    (reused / "cube.zarr").mkdir()
    live = tmp_path / f".cube.zarr.tmp-{other_process}.{start}-abc_5678"  # that very process: still writing
    live.mkdir()
    with atomic_path(target) as staging:
        staging.mkdir()
    assert not reused.exists() and live.is_dir()


def test_a_target_lost_between_two_renames_comes_back(tmp_path: Path, cube: xr.Dataset) -> None:
    dead = 2**22 + 4242  # above Linux's default pid_max: no such process
    target = tmp_path / "cube.zarr"
    old = write_cube(cube, tmp_path / "other.zarr")
    stale = tmp_path / f".cube.zarr.tmp-{dead}.12345-zz_9999"
    stale.mkdir()
    os.rename(old, stale / "cube.zarr.previous")
    with pytest.raises(OutputExistsError):
        write_cube(cube, target)
    assert not stale.exists() and open_cube(target).sizes["time"] == 2


def test_process_start_time_is_this_processes() -> None:
    mine = process_start_time(os.getpid())
    assert isinstance(mine, int) and mine > 0
    assert process_start_time(2**22 + 4242) is None
    assert _atomic.owner_alive(os.getpid(), mine) and not _atomic.owner_alive(os.getpid(), mine + 1)
