"""Helpers shared by the cube, calibration, output and distributed tests: tiny generated stacks and raw reads."""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt
import pystac
import rasterio

from icecube_stac.stac import item_from_product
from icecube_stac.testing import GeneratedProduct, ProductSpec, write_product

SHAPE = (64, 48)
_IMAGE_IDS = itertools.count(510_000, 37)


def make_product(
    folder: Path,
    *,
    level: str = "GRD",
    day: int = 1,
    hour: int = 6,
    shape: tuple[int, int] = SHAPE,
    incidence: float = 25.0,
    orbit: str = "DESCENDING",
    look: str = "right",
    slc_dtype: str = "int16",
    satellite: str = "ICEYE-X7",
    seed: int = 0,
) -> GeneratedProduct:
    spec = ProductSpec(
        level=level,  # type: ignore[arg-type]
        image_id=next(_IMAGE_IDS),
        satellite=satellite,
        acquisition_start=datetime(2024, 3, day, hour, 0, 0),
        shape=shape,
        incidence_center=incidence,
        orbit_direction=orbit,  # type: ignore[arg-type]
        look_side=look,  # type: ignore[arg-type]
        slc_dtype=slc_dtype,  # type: ignore[arg-type]
        seed=seed,
    )
    return write_product(spec, folder / f"{level.lower()}-{spec.image_id}")


def indexed_slc_stack(root: Path, days: tuple[int, ...] = (2, 5, 9)) -> Path:
    """Generate one small SLC product per day under ``root/data``, index them, and return ``root/catalog``."""
    from icecube_stac.catalog import index

    for day in days:
        make_product(root / "data", level="SLC", day=day, shape=(40, 24), seed=day)
    index([root / "data"], root / "catalog", progress=False)
    return root / "catalog"


def item_of(product: GeneratedProduct) -> pystac.Item:
    return item_from_product(product.raster)


def read_grd(path: Path | str) -> npt.NDArray[np.float32]:
    with rasterio.open(path) as src:
        data: npt.NDArray[Any] = src.read(1)
    assert data.dtype == np.uint16
    return data.astype(np.float32)


def read_slc(path: Path | str) -> npt.NDArray[np.complex64]:
    with h5py.File(path, "r") as h5:
        i, q = h5["s_i"][()], h5["s_q"][()]
    return (i.astype(np.float32) + 1j * q.astype(np.float32)).astype(np.complex64)
