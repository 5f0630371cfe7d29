"""Stage 74: the direct Zarr writer. A plain cube stored from its plan without xarray, pandas or dask is the store
write_cube(build_cube(...)) makes, file for file. The command line uses it, imports none of the three, and keeps
every safety of the xarray writer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import pytest

from icecube_stac.cli import main
from icecube_stac.config import load_config
from icecube_stac.cube._build import cube_of_plan
from icecube_stac.cube._direct import direct_writable, write_plan
from icecube_stac.cube._plan import CubePlan, plan_cube
from icecube_stac.errors import LoadError, OutputExistsError
from icecube_stac.output import open_cube, write_cube
from icecube_stac.pipeline import load_cube, matching_items
from tests._cube_stacks import indexed_slc_stack, item_of, make_product, read_grd, read_slc

_CHUNKS = {"azimuth": 16, "range": 16}
pytestmark = pytest.mark.filterwarnings("ignore::icecube_stac.cube.ShapeMismatchWarning")  # the padded stacks


def _tree(path: Path) -> dict[str, Any]:
    """Every file of a store: zarr.json parsed (key order aside), chunks as bytes."""
    return {
        str(p.relative_to(path)): json.loads(p.read_text()) if p.name == "zarr.json" else p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def _cube_item(cube: Path) -> dict[str, Any]:
    """The STAC item written beside a cube, without what names the run (creation time, the cube's path)."""
    item: dict[str, Any] = json.loads(cube.with_name(cube.name + ".json").read_text())
    item["properties"].pop("created")
    item["id"] = item["assets"]["data"]["href"] = item["assets"]["data"]["title"] = ""
    return item


def _items(folder: Path, level: str, shapes: list[tuple[int, int]], days: list[int]) -> list[pystac.Item]:
    products = [
        make_product(folder, level=level, day=day, shape=shape, seed=70 + k)
        for k, (shape, day) in enumerate(zip(shapes, days, strict=True))
    ]
    return [item_of(p) for p in products]


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[pystac.Item]]:
    folder = tmp_path_factory.mktemp("direct-products")
    same, mixed = [(40, 24)] * 3, [(40, 24), (33, 20), (40, 24)]
    return {
        "GRD": _items(folder / "grd", "GRD", same, [2, 5, 9]),
        "GRD padded": _items(folder / "grd-padded", "GRD", mixed, [2, 5, 9]),
        "SLC": _items(folder / "slc", "SLC", same, [3, 6, 8]),
        "SLC padded": _items(folder / "slc-padded", "SLC", mixed, [3, 6, 8]),
    }


@pytest.fixture
def xarray_writer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make write_cube take its xarray path even for a cube straight from build_cube (the reference store)."""
    import icecube_stac.output

    monkeypatch.setattr(icecube_stac.output, "direct_writer", lambda *args: None)


def _plan(items: list[pystac.Item], config: dict[str, Any] | None = None, **chunks: int) -> CubePlan:
    return plan_cube(items, config=load_config(config or {}), chunks={**_CHUNKS, **chunks})


# Empty time slots: 3-day slots over 12 days, with acquisitions on days 2, 5 and 9 of March 2024.
_SLOTS = {"temporal_resolution": 3, "start_date": "2024-03-01", "end_date": "2024-03-12"}
# Mostly empty: 1-day slots over 20 days, 3 of them with an acquisition.
_DAILY = {"temporal_resolution": 1, "start_date": "2024-03-01", "end_date": "2024-03-20"}
CASES = [
    ("GRD", None, {}, {}),
    ("GRD padded", None, {}, {}),
    ("SLC", None, {}, {}),
    ("SLC padded", None, {}, {}),
    ("GRD", None, _SLOTS, {}),
    ("SLC", None, _SLOTS, {}),
    ("GRD", "none", _SLOTS, {}),  # uncompressed with empty slots: zarr leaves fill-only chunks out
    ("GRD padded", None, _DAILY, {}),  # empty slots' chunks copied from one encoded chunk of each extent
    ("SLC padded", None, _DAILY, {}),
    ("SLC", "none", _DAILY, {"time": 2}),
    ("SLC", "none", _SLOTS, {}),
    ("GRD", "zstd:3", {}, {"time": 2}),
    ("SLC", "lz4:1", {}, {"time": 2}),
    ("GRD padded", "blosc-zstd", {}, {"azimuth": 32, "range": 24}),
]


@pytest.mark.parametrize(("stack", "compression", "config", "chunks"), CASES)
def test_the_direct_store_is_write_cubes_file_for_file(
    tmp_path: Path,
    stacks: dict[str, list[pystac.Item]],
    stack: str,
    compression: str | None,
    config: dict[str, Any],
    chunks: dict[str, int],
    xarray_writer: None,
) -> None:
    plan = _plan(stacks[stack], config, **chunks)
    assert direct_writable(plan, tmp_path / "d.zarr", format=None, layout="native", zarr_format=3)
    write_plan(plan, tmp_path / "d.zarr", compression=compression, stac_item=False)
    write_cube(cube_of_plan(plan), tmp_path / "x.zarr", compression=compression, stac_item=False)
    direct, reference = _tree(tmp_path / "d.zarr"), _tree(tmp_path / "x.zarr")
    assert sorted(direct) == sorted(reference)
    different = [name for name in direct if direct[name] != reference[name]]
    assert different == []


@pytest.mark.parametrize("stack", ["GRD padded", "SLC padded"])
def test_empty_slots_are_encoded_once_per_chunk_extent(
    tmp_path: Path, stacks: dict[str, list[pystac.Item]], stack: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """17 empty daily slots of 3 x 2 chunks (4 extents: inner, two edges, corner) are not 102 encodings."""
    from icecube_stac.cube import _fill_chunks

    encoded: list[str] = []
    real_get = _fill_chunks.FillChunks._get
    monkeypatch.setattr(_fill_chunks.FillChunks, "_get", lambda self, key: encoded.append(key) or real_get(self, key))
    plan = _plan(stacks[stack], _DAILY)
    assert sum(source is None for source in plan.sources) == 17
    write_plan(plan, tmp_path / "d.zarr", stac_item=False)
    arrays = 1 if stack.startswith("GRD") else 2
    assert len(encoded) == 4 * arrays  # once each, however many writer threads
    name = "amplitude" if arrays == 1 else "slc"
    chunk_files = [p for p in (tmp_path / "d.zarr").glob(f"{name}*/c/*/*/*") if p.is_file()]
    assert len(chunk_files) == 20 * 3 * 2 * arrays  # every chunk stored, as write_cube stores them
    cube, reference = open_cube(tmp_path / "d.zarr"), cube_of_plan(plan)
    np.testing.assert_array_equal(cube[name].values, reference[name].values)


def test_the_cube_reads_back_as_the_products(tmp_path: Path, stacks: dict[str, list[pystac.Item]]) -> None:
    for level in ("GRD padded", "SLC padded"):
        plan = _plan(stacks[level])
        write_plan(plan, tmp_path / f"{level}.zarr", stac_item=False)
        cube = open_cube(tmp_path / f"{level}.zarr")
        hrefs = [str(h) for h in cube["data_href"].values]
        for t, href in enumerate(hrefs):
            source = read_grd(href) if level.startswith("GRD") else read_slc(href)
            got = cube[plan.name][t].values[: source.shape[0], : source.shape[1]]
            expected = np.where(source == 0, np.nan, source) if level.startswith("GRD") else source
            np.testing.assert_array_equal(got, expected)


def test_the_stac_item_is_write_cubes(
    tmp_path: Path, stacks: dict[str, list[pystac.Item]], xarray_writer: None
) -> None:
    plan = _plan(stacks["SLC"])
    write_plan(plan, tmp_path / "d.zarr")
    write_cube(cube_of_plan(plan), tmp_path / "x.zarr")
    assert _cube_item(tmp_path / "d.zarr") == _cube_item(tmp_path / "x.zarr")


@pytest.mark.parametrize(
    ("target", "options", "config"),
    [
        ("cube.nc", {}, {}),
        ("cube.zarr", {"layout": "icecube"}, {}),
        ("cube.zarr", {"zarr_format": 2}, {}),
        ("cube.zarr", {"format": "netcdf"}, {}),
        ("cube.zarr", {}, {"fill_value": 0}),
    ],
)
def test_other_cubes_are_left_to_xarray(
    tmp_path: Path, stacks: dict[str, list[pystac.Item]], target: str, options: dict[str, Any], config: dict[str, Any]
) -> None:
    plan = _plan(stacks["GRD"], config)
    settings: dict[str, Any] = {"format": None, "layout": "native", "zarr_format": 3, **options}
    assert not direct_writable(plan, tmp_path / target, **settings)


def test_float32_slcs_are_left_to_xarray(tmp_path: Path) -> None:
    items = [item_of(make_product(tmp_path, level="SLC", day=d, slc_dtype="float32", seed=d)) for d in (2, 4)]
    plan = _plan(items)
    assert plan.source_dtype == "float32"
    assert not direct_writable(plan, tmp_path / "cube.zarr", format=None, layout="native", zarr_format=3)


def _cli(config: Path, output: Path, *extra: str) -> int:
    return main(["cube", str(config), "-o", str(output), "-q", *extra])


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("direct-project")
    indexed_slc_stack(root)
    (root / "cfg.json").write_text(json.dumps({"catalog": str(root / "catalog"), "product_type": "SLC"}))
    return root


def test_the_command_writes_plain_cubes_without_xarray_pandas_or_dask(
    project: Path, tmp_path: Path, xarray_writer: None
) -> None:
    script = (
        "import sys\nfrom icecube_stac.cli import main\n"
        f"status = main(['cube', {str(project / 'cfg.json')!r}, '-o', {str(tmp_path / 'cube.zarr')!r}, '-q'])\n"
        "print(status, sorted(m for m in ('xarray', 'pandas', 'dask') if m in sys.modules))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert run.stdout.splitlines()[-1] == "0 []", run.stdout + run.stderr
    write_cube(load_cube(load_config(project / "cfg.json")), tmp_path / "reference.zarr")  # through xarray
    assert _tree(tmp_path / "cube.zarr") == _tree(tmp_path / "reference.zarr")
    assert json.loads((tmp_path / "cube.zarr.json").read_text())["properties"]["cube:variables"]["slc"]


def test_a_product_gone_before_its_read_names_it_and_leaves_nothing(project: Path, tmp_path: Path) -> None:
    plan = plan_cube(
        [item_of(make_product(tmp_path / "p", level="GRD", day=d, shape=(40, 24), seed=d)) for d in (2, 4)],
        config=load_config({}),
        chunks=_CHUNKS,
    )
    gone = plan.sources[1]
    assert gone is not None
    Path(gone.href).unlink()
    with pytest.raises(LoadError, match=gone.item_id):
        write_plan(plan, tmp_path / "cube.zarr")
    assert not (tmp_path / "cube.zarr").exists() and not (tmp_path / "cube.zarr.json").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".cube.zarr")] == []


def test_overwrite_replaces_only_our_cubes(project: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "cube.zarr"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert _cli(project / "cfg.json", foreign, "--overwrite") == 1
    assert (foreign / "notes.txt").read_text() == "mine"
    ours = tmp_path / "ours.zarr"
    assert _cli(project / "cfg.json", ours) == 0
    assert _cli(project / "cfg.json", ours) == 1  # exists, no --overwrite
    assert _cli(project / "cfg.json", ours, "--overwrite") == 0
    config = load_config(project / "cfg.json")
    with pytest.raises(OutputExistsError):
        write_plan(plan_cube(matching_items(config), config=config), foreign, overwrite=True)
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize(
    ("scheduler", "num_workers", "jobs"),
    [("synchronous", "", 1), ("Single-Threaded", "4", 1), ("sync", "3", 1), ("threads", "3", 3), ("", "2", 2)],
)
def test_dasks_single_threaded_scheduler_writes_one_block_at_a_time(
    monkeypatch: pytest.MonkeyPatch, scheduler: str, num_workers: str, jobs: int
) -> None:
    # DASK_SCHEDULER=synchronous made the xarray writer compute one block at a time (to bound memory, or to
    # debug); the direct writer, which reads the dask knobs from the environment, must not start more.
    from icecube_stac._workers import writer_workers

    monkeypatch.setenv("DASK_SCHEDULER", scheduler)
    monkeypatch.setenv("DASK_NUM_WORKERS", num_workers)
    assert writer_workers() == jobs


def test_coregister_on_a_coregistered_stack_still_warns(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = json.loads((project / "cfg.json").read_text())
    (tmp_path / "cfg.json").write_text(json.dumps({**config, "coregister": True, "coregistered": True}))
    assert _cli(tmp_path / "cfg.json", tmp_path / "cube.zarr") == 0
    assert "config key 'coregister' is ignored: coregistered: true" in capsys.readouterr().err
    # The same store either way: the warning's path (load_cube) writes what the direct writer would.
    assert _cli(project / "cfg.json", tmp_path / "plain.zarr") == 0
    assert _tree(tmp_path / "cube.zarr").keys() == _tree(tmp_path / "plain.zarr").keys()


def test_a_folder_named_with_colons_is_a_folder(
    tmp_path: Path, stacks: dict[str, list[pystac.Item]], xarray_writer: None
) -> None:
    # zarr reads "a::b" in a path string as a chained URL: both writers and open_cube hand it a store instead.
    folder = tmp_path / "run::2"
    folder.mkdir()
    plan = _plan(stacks["GRD"])
    write_plan(plan, folder / "d.zarr")
    write_cube(cube_of_plan(plan), folder / "x.zarr")
    assert _tree(folder / "d.zarr") == _tree(folder / "x.zarr")
    for name in ("d.zarr", "x.zarr"):
        np.testing.assert_array_equal(
            open_cube(folder / name)["amplitude"].values, cube_of_plan(plan)["amplitude"].values
        )


@pytest.fixture
def direct_calls(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The targets write_cube handed to the direct writer."""
    from icecube_stac.cube import _direct

    calls: list[Path] = []
    real = _direct.write_plan

    def spy(plan: CubePlan, path: Path, **options: Any) -> Path:
        calls.append(Path(path))
        return real(plan, path, **options)

    monkeypatch.setattr(_direct, "write_plan", spy)
    return calls


@pytest.mark.parametrize(("stack", "config"), [("GRD padded", _DAILY), ("SLC", {}), ("SLC padded", _SLOTS)])
def test_write_cube_stores_an_unchanged_cube_with_the_direct_writer(
    tmp_path: Path,
    stacks: dict[str, list[pystac.Item]],
    stack: str,
    config: dict[str, Any],
    direct_calls: list[Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from icecube_stac.cube import build_cube

    cube = build_cube(stacks[stack], config=load_config(config), chunks=_CHUNKS)
    assert write_cube(cube, tmp_path / "d.zarr") == tmp_path / "d.zarr"
    assert direct_calls == [tmp_path / "d.zarr"]
    import icecube_stac.output

    monkeypatch.setattr(icecube_stac.output, "direct_writer", lambda *args: None)
    write_cube(cube, tmp_path / "x.zarr")
    assert direct_calls == [tmp_path / "d.zarr"]
    assert _tree(tmp_path / "d.zarr") == _tree(tmp_path / "x.zarr")
    assert _cube_item(tmp_path / "d.zarr") == _cube_item(tmp_path / "x.zarr")


_CHANGES = {
    "selected": lambda ds: ds.isel(time=slice(0, 2)),
    "dataset attribute": lambda ds: ds.assign_attrs(title="mine"),
    "variable attribute": lambda ds: ds.assign(amplitude=ds["amplitude"].assign_attrs(note="mine")),
    "extra coordinate": lambda ds: ds.assign_coords(site=("time", np.array(["a", "b", "c"], dtype=object))),
    "coordinate changed": lambda ds: ds.assign_coords(incidence_angle=ds["incidence_angle"] + 1),
    "rechunked": lambda ds: ds.assign(amplitude=ds["amplitude"].chunk({"azimuth": 8})),
    "renamed": lambda ds: ds.rename({"amplitude": "dn"}),
    "computed": lambda ds: ds.load(),
    "another variable": lambda ds: ds.assign(twice=ds["amplitude"] * 2),
    # Equal to the plan's by xarray's identical, but not the same: cast values, retyped attributes.
    "coordinate cast": lambda ds: ds.assign_coords(range=ds["range"].astype("uint16")),
    "time coordinate cast": lambda ds: ds.assign_coords(range_samples=ds["range_samples"].astype("int32")),
    "attribute retyped": lambda ds: ds.assign_attrs(coregistered=bool(ds.attrs["coregistered"])),
    "set in place": lambda ds: _set_first_pixel(ds),  # the same dask array object, renamed by dask
}


def _set_first_pixel(ds: Any) -> Any:
    ds["amplitude"].data[0, 0, 0] = 7.0
    return ds


@pytest.mark.parametrize("change", list(_CHANGES))
def test_write_cube_leaves_a_changed_cube_to_xarray(
    tmp_path: Path, stacks: dict[str, list[pystac.Item]], change: str, direct_calls: list[Path]
) -> None:
    from icecube_stac.cube import build_cube

    cube = _CHANGES[change](build_cube(stacks["GRD"], chunks=_CHUNKS))
    write_cube(cube, tmp_path / "x.zarr")
    assert direct_calls == []
    back = open_cube(tmp_path / "x.zarr")
    assert back.attrs.get("title") == cube.attrs.get("title")
    for name, variable in cube.data_vars.items():
        np.testing.assert_array_equal(back[name].values, variable.values)
        assert back[name].attrs.get("note") == variable.attrs.get("note")
    for name in cube.coords:
        np.testing.assert_array_equal(back[name].values, cube[name].values)
        assert back[name].dtype == cube[name].dtype
    assert {k: type(v) for k, v in back.attrs.items() if k in cube.attrs} == {k: type(v) for k, v in cube.attrs.items()}


@pytest.mark.parametrize("setup", ["synchronous scheduler", "one worker", "progress bar"])
def test_write_cube_honours_the_users_dask_setup(
    tmp_path: Path, stacks: dict[str, list[pystac.Item]], setup: str, direct_calls: list[Path]
) -> None:
    import dask
    from dask.diagnostics import ProgressBar

    from icecube_stac.cube import build_cube

    contexts = {
        "synchronous scheduler": lambda: dask.config.set(scheduler="synchronous"),
        "one worker": lambda: dask.config.set(num_workers=1),
        "progress bar": lambda: ProgressBar(out=None),
    }
    cube = build_cube(stacks["GRD"], chunks=_CHUNKS)
    with contexts[setup]():
        write_cube(cube, tmp_path / "x.zarr")
    assert direct_calls == []
    write_cube(cube, tmp_path / "d.zarr")  # outside: handed over, the same store
    assert direct_calls == [tmp_path / "d.zarr"]
    assert _tree(tmp_path / "d.zarr") == _tree(tmp_path / "x.zarr")


def test_a_shallow_copy_or_attribute_kept_as_it_is_still_goes_direct(
    tmp_path: Path, stacks: dict[str, list[pystac.Item]], direct_calls: list[Path]
) -> None:
    from icecube_stac.cube import build_cube

    cube = build_cube(stacks["GRD"], chunks=_CHUNKS)
    same = cube.copy().assign_attrs(dict(cube.attrs))
    write_cube(same, tmp_path / "d.zarr")
    assert direct_calls == [tmp_path / "d.zarr"]
    cube.attrs["title"] = "changed in place"  # the same objects, changed: no longer the plan's cube
    write_cube(cube, tmp_path / "x.zarr")
    assert direct_calls == [tmp_path / "d.zarr"]
    assert open_cube(tmp_path / "x.zarr").attrs["title"] == "changed in place"


@pytest.mark.parametrize(
    ("target", "options"),
    [("cube.nc", {}), ("cube.zarr", {"layout": "icecube"}), ("cube.zarr", {"zarr_format": 2})],
)
def test_write_cube_leaves_other_stores_to_xarray(
    tmp_path: Path,
    stacks: dict[str, list[pystac.Item]],
    target: str,
    options: dict[str, Any],
    direct_calls: list[Path],
) -> None:
    from icecube_stac.cube import build_cube

    write_cube(build_cube(stacks["GRD"], chunks=_CHUNKS), tmp_path / target, **options)
    assert direct_calls == []
    assert (tmp_path / target).exists()
