"""Stage 75: the same cube builds, computes and writes on a dask.distributed cluster of worker processes."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pytest
import xarray as xr
from distributed import Client, LocalCluster

from icecube_stac.config import load_config
from icecube_stac.cube import build_cube
from icecube_stac.errors import LoadError
from icecube_stac.output import open_cube, write_cube
from icecube_stac.stac import item_from_product
from icecube_stac.testing import GeneratedProduct
from tests._cube_stacks import item_of, make_product, read_grd, read_slc


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    # Worker processes: every task and its arguments are pickled, as on a real cluster.
    with (
        LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster, set_as_default=False) as connected,
    ):
        yield connected


@pytest.fixture(scope="module")
def products(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[GeneratedProduct]]:
    folder = tmp_path_factory.mktemp("dist-products")
    return {
        "GRD": [make_product(folder, day=d, seed=50 + d) for d in (2, 4, 7)],
        "SLC": [make_product(folder, level="SLC", day=d, seed=60 + d) for d in (3, 8)],
    }


def test_grd_cube_on_worker_processes(client: Client, products: dict[str, list[GeneratedProduct]]) -> None:
    ds = build_cube([item_of(p) for p in products["GRD"]], chunks={"azimuth": 24, "range": 20})
    pids = set(client.run(os.getpid).values())
    assert os.getpid() not in pids and len(pids) == 2
    remote = ds.compute(scheduler=client)
    local = ds.compute(scheduler="threads")
    xr.testing.assert_identical(remote, local)
    for step, product in enumerate(products["GRD"]):
        np.testing.assert_array_equal(remote["amplitude"].values[step], read_grd(product.raster))


def test_slc_cube_on_worker_processes(client: Client, products: dict[str, list[GeneratedProduct]]) -> None:
    config = load_config({"start_date": 20240301, "end_date": 20240309, "temporal_resolution": 3})
    ds = build_cube([item_of(p) for p in products["SLC"]], config=config, chunks={"azimuth": 32})
    remote = ds.compute(scheduler=client)
    xr.testing.assert_identical(remote, ds.compute(scheduler="threads"))
    np.testing.assert_array_equal(remote["slc"].values[0], read_slc(products["SLC"][0].raster))  # day 3
    np.testing.assert_array_equal(remote["slc"].values[2], read_slc(products["SLC"][1].raster))  # day 8
    assert np.isnan(remote["slc"].values[1].real).all() and np.isnan(remote["slc"].values[1].imag).all()


@pytest.mark.parametrize("suffix", [".zarr", ".nc"])
def test_write_on_the_cluster_equals_local_write(
    client: Client, products: dict[str, list[GeneratedProduct]], tmp_path: Path, suffix: str
) -> None:
    ds = build_cube([item_of(p) for p in products["SLC"]], chunks={"range": 16})
    on_cluster = open_cube(write_cube(ds, tmp_path / f"cluster{suffix}", client=client))
    locally = open_cube(write_cube(ds, tmp_path / f"local{suffix}"))
    xr.testing.assert_identical(on_cluster.compute(), locally.compute())
    assert on_cluster["slc"].dtype == np.complex64
    np.testing.assert_array_equal(on_cluster["slc"].values[1], read_slc(products["SLC"][1].raster))


def test_worker_errors_name_the_item_and_leave_no_cube(
    client: Client, products: dict[str, list[GeneratedProduct]], tmp_path: Path
) -> None:
    source = products["GRD"][1]
    raster = Path(shutil.copy2(source.raster, tmp_path / source.raster.name))
    assert source.xml is not None
    shutil.copy2(source.xml, tmp_path / source.xml.name)
    item = item_from_product(raster)
    ds = build_cube([item_of(products["GRD"][0]), item], chunks={"azimuth": 16})
    raster.write_bytes(b"gone")
    target = tmp_path / "cube.zarr"
    with pytest.raises(LoadError) as info:
        write_cube(ds, target, client=client)
    assert item.id in str(info.value) and str(raster) in str(info.value)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".cube.zarr")] == []


def test_a_default_client_computes_an_unchanged_cube(
    client: Client, products: dict[str, list[GeneratedProduct]], tmp_path: Path
) -> None:
    """A cube straight from build_cube is not handed to the local direct writer while a client is the default."""
    ds = build_cube([item_of(p) for p in products["GRD"]], chunks={"azimuth": 24, "range": 20})
    with client.as_current(), dask.config.set(scheduler=client):
        before = sum(client.run(_executed).values())
        write_cube(ds, tmp_path / "cube.zarr")
        after = sum(client.run(_executed).values())
    assert after > before  # the chunks were computed by the workers
    np.testing.assert_array_equal(
        open_cube(tmp_path / "cube.zarr")["amplitude"].values[0], read_grd(products["GRD"][0].raster)
    )


def _executed(dask_worker: Any) -> int:
    return int(dask_worker.state.executed_count)
