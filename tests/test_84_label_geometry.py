"""Labels on coregistered and geocoded cubes: moved exactly as the SAR pixels were (nearest-neighbour cross-checks)."""

from __future__ import annotations

import dataclasses
import json
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from icecube_stac import build_cube, load_config
from icecube_stac.coregister import CoregisterOptions, coregister_cube
from icecube_stac.geocode import geocode_cube
from icecube_stac.labels import (
    CoregistrationPlacement,
    GeocodePlacement,
    attach_labels,
    read_labels,
    slice_geometries,
)
from icecube_stac.stac import item_from_product
from icecube_stac.testing import ProductSpec
from icecube_stac.testing.warped import Warp, write_warped_stack
from tests._cube_stacks import item_of, make_product


def _dn_masks(products: list[Any], folder: Path) -> Path:
    """Each product's own stored DN as its 'mask': attached, the labels must equal the cube's pixels."""
    entries = []
    for p in products:
        with rasterio.open(p.raster) as src:
            dn = src.read(1)
        mask = folder / f"{p.name}.tif"
        profile = {"driver": "GTiff", "width": dn.shape[1], "height": dn.shape[0], "count": 1, "dtype": "uint16"}
        with warnings.catch_warnings():  # a plain raster without georeferencing, on purpose
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            with rasterio.open(mask, "w", **profile) as dst:
                dst.write(dn, 1)
        entries.append({"product_file": p.raster.name, "labels": {"segmentation": str(mask)}})
    path = folder / "labels.json"
    path.write_text(json.dumps(entries))
    return path


def _agreement(labels: np.ndarray, amplitude: np.ndarray) -> float:
    valid = np.isfinite(amplitude) & (amplitude > 0)
    assert valid.mean() > 0.5  # most of the grid holds data: the comparison is not vacuous
    return float((labels[valid] == amplitude[valid]).mean())


def test_labels_follow_the_geocoding(tmp_path: Path) -> None:
    products = [make_product(tmp_path / "data", day=k + 1, seed=k, look="left" if k else "right") for k in range(2)]
    config = load_config({"geocode": {"resampling": "nearest"}})
    ds = geocode_cube([item_of(p) for p in products], config=config)
    out = attach_labels(ds, read_labels(_dn_masks(products, tmp_path)))
    assert out["labels"].dims == ("time", "y", "x") and out["labels"].shape == ds["amplitude"].shape
    amplitude = ds["amplitude"].values
    for t in range(2):  # GDAL's RPC warp (geocode) and the labels' own RPC mapping pick the same product pixels
        assert _agreement(out["labels"].values[t], amplitude[t]) > 0.999
    # A one-pixel box lands within a pixel of where GDAL put that pixel's value.
    doc = [{"product_file": products[0].raster.name, "labels": {"objects": [{"class": "a", "point": [30, 20]}]}}]
    (tmp_path / "p.json").write_text(json.dumps(doc))
    box = attach_labels(ds, read_labels(tmp_path / "p.json"))
    (row,), (col,) = np.nonzero(box["labels"].values[0])
    with rasterio.open(products[0].raster) as src:
        value = src.read(1)[20, 30]
    near = amplitude[0, max(row - 1, 0) : row + 2, max(col - 1, 0) : col + 2]
    assert value in near
    assert isinstance(GeocodePlacement.from_cube(ds), GeocodePlacement)


def _warped(folder: Path, size: int = 256) -> list[Any]:
    base = ProductSpec(level="GRD", shape=(size, size))
    specs = [
        dataclasses.replace(
            base, seed=k + 1, image_id=300_000 + k, acquisition_start=base.acquisition_start + timedelta(days=3 * k)
        )
        for k in range(2)
    ]
    return write_warped_stack(specs, [Warp(), Warp((3.4, -2.2))], folder)


def test_labels_follow_the_coregistration(tmp_path: Path) -> None:
    products = _warped(tmp_path / "data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cube = build_cube([item_from_product(p.raster) for p in products])
    options = CoregisterOptions(enabled=True, model="shift", grid=(5, 5), resampling="nearest")
    ds = coregister_cube(cube, options)
    assert list(ds["coreg_status"].values) == ["reference", "fitted"]
    out = attach_labels(ds, read_labels(_dn_masks(products, tmp_path)))
    amplitude = ds["amplitude"].values
    for t in range(2):
        assert _agreement(out["labels"].values[t], amplitude[t]) > 0.999
    # Vertices: a point of the moved product lands on the reference pixel the model maps onto it.
    placement = CoregistrationPlacement.from_cube(ds)
    offsets = ds["coreg_coefficients"].values[1, :, 0]  # shift model: slice = ref + d
    geometry = slice_geometries(ds)[1]
    rows, cols = placement.points(geometry, np.array([100.0]), np.array([80.0]))
    np.testing.assert_allclose([rows[0], cols[0]], [100.0 - offsets[0], 80.0 - offsets[1]], atol=1e-9)


def test_a_hand_made_affine_model_moves_boxes_and_masks_consistently(tmp_path: Path) -> None:
    products = [make_product(tmp_path / "data", day=k + 1, seed=k) for k in range(2)]
    cube = build_cube([item_of(p) for p in products])
    # The records coregister_cube writes, for an affine model: slice = ref + d(ref).
    coefficients = np.zeros((2, 2, 3))
    coefficients[1] = [[2.0, 0.5, 0.0], [-1.0, 0.0, 0.3]]
    ds = cube.assign_coords(
        coreg_status=("time", np.array(["reference", "fitted"], dtype=object)),
        coreg_coefficients=(("time", "coreg_axis", "coreg_term"), coefficients),
    ).assign_attrs(coregistration_model="affine")
    doc = [
        {
            "product_file": p.raster.name,
            "labels": {"objects": [{"class": "a", "bbox": {"xmin": 20, "ymin": 30, "xmax": 26, "ymax": 33}}]},
        }
        for p in products
    ]
    (tmp_path / "l.json").write_text(json.dumps(doc))
    out = attach_labels(ds, read_labels(tmp_path / "l.json"))
    mask = out["labels"].values
    assert np.argwhere(mask[0]).min(axis=0).tolist() == [30, 20]  # the reference slice is not moved
    # Every reference pixel the mask marks maps (ref + d) into the product's box, and the table's box encloses them.
    rows, cols = np.nonzero(mask[1])
    a, g = 2 * rows / 63 - 1, 2 * cols / 47 - 1
    srow, scol = rows + 2.0 + 0.5 * a, cols - 1.0 + 0.3 * g
    assert ((np.rint(srow) >= 30) & (np.rint(srow) <= 33) & (np.rint(scol) >= 20) & (np.rint(scol) <= 26)).all()
    xmin, ymin, xmax, ymax = out["label_object_bbox"].values[1]
    assert xmin - 1 <= cols.min() and cols.max() <= xmax + 1 and ymin - 1 <= rows.min() and rows.max() <= ymax + 1
