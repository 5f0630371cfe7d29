"""Labels: icecube 1.x labels JSON, GeoJSON and STAC label items on the cube's grid, and icecube parity."""

from __future__ import annotations

import json
import os
import re
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from icecube_stac import build_cube, open_cube, write_cube
from icecube_stac.formats.cog import item_from_cog_product
from icecube_stac.iceye_items import IceyeSchemaWarning
from icecube_stac.labels import (
    GridPlacement,
    LabelError,
    SliceGeometry,
    attach_labels,
    geolocation_of,
    parse_geojson_labels,
    parse_icecube_labels,
    read_labels,
    slice_geometries,
)
from icecube_stac.testing.cog import CogProductSpec, write_cog_product
from tests._cube_stacks import item_of, make_product

SHAPE = (64, 48)


def _stack(folder: Path, n: int = 3) -> tuple[list[Any], xr.Dataset]:
    products = [make_product(folder, day=k + 1, seed=k) for k in range(n)]
    return products, build_cube([item_of(p) for p in products])


def _write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document))
    return path


def _mask(path: Path, values: np.ndarray) -> Path:
    driver = "PNG" if path.suffix == ".png" else "GTiff"
    profile = {"driver": driver, "width": values.shape[1], "height": values.shape[0], "count": 1}
    with rasterio.open(path, "w", dtype=values.dtype, **profile) as dst:
        dst.write(values, 1)
    return path


# ----------------------------------------------------------------------------------------------------------
# icecube 1.x reference: the labels cube algorithm of icecube.bin.labels_cube (LabelsDatacube.create_by_metadata,
# get_product_labels_from_json, RasterLabels._create_xdarray_with_mask, VectorLabels.compute_layer_xrdataset),
# reimplemented without pickling: per time slice, the mask band 1 as stored or the entry's labels dict;
# unlabelled slices are the "dummy" layer (NaN mask / {"objects": []}).
# ----------------------------------------------------------------------------------------------------------


def _icecube_labels_type(json_labels: list[dict[str, Any]]) -> str:
    raster = vector = False
    for entry in json_labels:
        first = next(iter(entry["labels"]))
        if first in ("segmentation", "Segmentation", "SEGMENTATION"):
            raster = True
        elif first in ("objects", "Objects", "OBJECTS"):
            vector = True
        else:
            raise ValueError("Could not understood the imported labels format.")
        if raster and vector:
            raise ValueError("Cannot ingest segmentation masks and vector labels at the same time")
    return "raster" if raster else "vector"


def _icecube_slices(json_labels: list[dict[str, Any]], product_fpaths: list[str]) -> list[Any]:
    kind = _icecube_labels_type(json_labels)
    labelled = {e["product_file"] for e in json_labels}
    out: list[Any] = []
    for fpath in product_fpaths:
        name = os.path.basename(fpath)
        if name not in labelled:  # replace_unlabelled_bands_by_NaNs -> compute_dummy_xrdataset
            out.append(None if kind == "raster" else {"objects": []})
            continue
        labels = next(e["labels"] for e in json_labels if e["product_file"] == name)
        if kind == "raster":
            with rasterio.open(labels["segmentation"]) as src:
                out.append(src.read(1))
        else:
            out.append(labels)
    return out


def _table_of(ds: xr.Dataset, t: int) -> list[tuple[str, dict[str, int]]]:
    rows = np.flatnonzero(ds["label_object_time_index"].values == t)
    boxes = ds["label_object_bbox"].values[rows]
    classes = ds["label_object_class"].values[rows]
    keys = ("xmin", "ymin", "xmax", "ymax")
    return [(str(c), {k: int(v) for k, v in zip(keys, b, strict=True)}) for c, b in zip(classes, boxes, strict=True)]


def test_vector_labels_match_icecube_slice_by_slice(tmp_path: Path) -> None:
    products, ds = _stack(tmp_path, 4)
    rng = np.random.default_rng(3)
    json_labels = []
    for p in (products[0], products[2], products[3]):
        objects = []
        for _ in range(12):
            x0, y0 = int(rng.integers(0, SHAPE[1])), int(rng.integers(0, SHAPE[0]))
            x1, y1 = int(rng.integers(x0, SHAPE[1])), int(rng.integers(y0, SHAPE[0]))
            objects.append(
                {"class": f"rand-{'abc'[int(rng.integers(3))]}", "bbox": dict(xmin=x0, ymin=y0, xmax=x1, ymax=y1)}
            )
        objects.append({"class": "rand-a", "bbox": {"xmin": 3, "ymin": 7, "xmax": 9, "ymax": 7}})  # one row high
        json_labels.append({"product_file": p.raster.name, "labels": {"objects": objects}})
    path = _write(tmp_path / "labels.json", json_labels)
    out = attach_labels(ds, read_labels(path))
    reference = _icecube_slices(json_labels, [str(p.raster) for p in products])
    classes = sorted({o["class"] for e in json_labels for o in e["labels"]["objects"]})
    assert json.loads(out["labels"].attrs["label_classes"]) == classes
    mask = out["labels"].values
    for t, expected in enumerate(reference):
        assert _table_of(out, t) == [(o["class"], o["bbox"]) for o in expected["objects"]]
        assert bool(out["labelled"].values[t]) == bool(expected["objects"])
        # The class mask: every box drawn inclusive, in file order (later objects on top).
        drawn = np.zeros(SHAPE, np.uint8)
        for o in expected["objects"]:
            b = o["bbox"]
            drawn[b["ymin"] : b["ymax"] + 1, b["xmin"] : b["xmax"] + 1] = classes.index(o["class"]) + 1
        np.testing.assert_array_equal(mask[t], drawn)
    assert (mask[1] == 0).all() and out["label_classification"].values[1] == ""


def test_raster_labels_match_icecube_and_keep_stored_values(tmp_path: Path) -> None:
    products, ds = _stack(tmp_path, 3)
    rng = np.random.default_rng(0)
    masks = {
        0: _mask(tmp_path / "m0.png", (rng.integers(0, 2, SHAPE) * 255).astype(np.uint8)),  # 0/255 kept as is
        2: _mask(tmp_path / "m2.tif", rng.integers(0, 7, SHAPE).astype(np.uint8)),
    }
    json_labels = [
        {"product_file": products[k].raster.name, "labels": {"segmentation": m.name}} for k, m in masks.items()
    ]
    path = _write(tmp_path / "labels.json", json_labels)
    out = attach_labels(ds, read_labels(path))
    absolute = [{**e, "labels": {"segmentation": str(tmp_path / e["labels"]["segmentation"])}} for e in json_labels]
    reference = _icecube_slices(absolute, [str(p.raster) for p in products])
    assert out["labels"].dtype == np.uint8 and out["labels"].dims == ("time", "azimuth", "range")
    for t, expected in enumerate(reference):
        if expected is None:
            assert not out["labelled"].values[t] and (out["labels"].values[t] == 0).all()
        else:
            assert out["labelled"].values[t]
            np.testing.assert_array_equal(out["labels"].values[t], expected)
    assert set(np.unique(out["labels"].values[0])) == {0, 255}


def test_labels_round_trip_through_zarr_and_netcdf(tmp_path: Path) -> None:
    products, ds = _stack(tmp_path, 2)
    doc = [
        {
            "product_file": products[1].raster.name,
            "labels": {
                "objects": [
                    {"class": "ship", "bbox": {"xmin": 1, "ymin": 2, "xmax": 5, "ymax": 2}},
                    {"class": "oil", "polygon": [[10, 10], [30, 10], [30, 40]]},
                    {"class": "buoy", "point": {"x": 40, "y": 60}},
                    {"classification": ["calm", "day"]},
                ]
            },
        }
    ]
    out = attach_labels(ds, read_labels(_write(tmp_path / "l.json", doc)))
    for name in ("cube.zarr", "cube.nc"):
        write_cube(out, tmp_path / name)
        back = open_cube(tmp_path / name)
        np.testing.assert_array_equal(back["labels"].values, out["labels"].values)
        assert back["labelled"].values.tolist() == [False, True]
        assert json.loads(str(back["label_classification"].values[1])) == ["calm", "day"]
        assert [str(v) for v in back["label_object_class"].values] == ["ship", "oil", "buoy"]
        assert str(back["label_object_wkt"].values[0]) == "POLYGON ((5.5 1.5, 5.5 2.5, 0.5 2.5, 0.5 1.5, 5.5 1.5))"
        assert str(back["label_object_wkt"].values[2]) == "POINT (40 60)"
        assert str(back["label_object_wkt_lonlat"].values[2]).startswith("POINT (102.6")
    # icecube's own layout names the variable as icecube 1.x's labels cube does; open_cube maps it back.
    write_cube(out, tmp_path / "icecube.nc", layout="icecube")
    with xr.open_dataset(tmp_path / "icecube.nc") as raw:
        assert "Labels" in raw.data_vars and "labels" not in raw.data_vars
    np.testing.assert_array_equal(open_cube(tmp_path / "icecube.nc")["labels"].values, out["labels"].values)
    mask = out["labels"].values[1]
    assert mask[60, 40] == 1 and mask[2, 1:6].tolist() == [3] * 5  # buoy=1, oil=2, ship=3 (sorted)
    assert mask[15, 25] == 2 and mask[35, 12] == 0  # inside / outside the triangle


def test_pixel_lonlat_come_from_the_product_geolocation(tmp_path: Path) -> None:
    products, _ = _stack(tmp_path, 1)
    with rasterio.open(products[0].raster) as src:
        gcps, _ = src.gcps  # the GeoTIFF's own GCP grid: an independent geolocation of the same pixels
    gcp = next(g for g in gcps if 5 < g.row < SHAPE[0] - 5 and 5 < g.col < SHAPE[1] - 5)
    x, y = gcp.col - 0.5, gcp.row - 0.5  # GCP pixel/line are at pixel corners: centres are at integers
    geo = geolocation_of(str(products[0].raster), str(products[0].xml))
    assert geo is not None and geo.method == "rpc"
    lon, lat = geo.to_lonlat(np.array([x]), np.array([y]))
    assert abs(lon[0] - gcp.x) < 2e-5 and abs(lat[0] - gcp.y) < 2e-5  # ~2 m: well inside a 2.5 m pixel
    back_x, back_y = geo.to_pixel(lon, lat)
    assert abs(back_x[0] - x) < 0.05 and abs(back_y[0] - y) < 0.05


def test_geojson_features_map_into_each_product(tmp_path: Path) -> None:
    products, ds = _stack(tmp_path, 2)
    geo = geolocation_of(str(products[0].raster), str(products[0].xml))
    assert geo is not None
    xs, ys = np.array([19.6, 24.4, 24.4, 19.6]), np.array([29.6, 29.6, 34.4, 34.4])  # pixels 20..24 x 30..34
    lon, lat = geo.to_lonlat(xs, ys)
    ring = [[float(a), float(b)] for a, b in zip(lon, lat, strict=True)]
    far = [[0.0, 0.0], [0.001, 0.0], [0.001, 0.001]]
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"class": "field"},
                "geometry": {"type": "Polygon", "coordinates": [ring + ring[:1]]},
            },
            {"type": "Feature", "properties": {"class": "sea"}, "geometry": {"type": "Polygon", "coordinates": [far]}},
        ],
    }
    out = attach_labels(ds, read_labels(_write(tmp_path / "f.geojson", doc)))
    mask = out["labels"].values
    assert out["labelled"].values.tolist() == [True, True]  # same scene: the field falls into both
    assert (mask[0, 30:35, 20:25] == 1).all() and mask[0].sum() == 25
    assert list(out["label_object_class"].values) == ["field", "field"]  # the far-away sea is in neither
    assert str(out["label_object_wkt_lonlat"].values[0]).startswith("POLYGON ((102.")


def test_cog_products_stored_transposed_land_in_cube_orientation(tmp_path: Path) -> None:
    spec = CogProductSpec(
        level="GRD", look_side="left", shape=(40, 30), seed=4, acquisition_start=datetime(2025, 11, 10)
    )
    cog = write_cog_product(spec, tmp_path / "cog")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IceyeSchemaWarning)
        ds = build_cube([item_from_cog_product(cog.tif)])
    (geometry,) = slice_geometries(ds)
    assert geometry.orientation.transposed and geometry.orientation.azimuth_reversed
    with rasterio.open(cog.tif) as src:
        stored = src.read(1)
    assert stored.shape == geometry.stored_shape == (30, 40)
    # The stored raster itself as a mask: attached, it must equal the cube's own pixels, element by element.
    mask = _mask(tmp_path / "dn.tif", stored)
    doc = [{"product_file": cog.tif.name, "labels": {"segmentation": str(mask)}}]
    out = attach_labels(ds, read_labels(_write(tmp_path / "m.json", doc)))
    np.testing.assert_array_equal(out["labels"].values[0], ds["amplitude"].values[0].astype(np.uint16))
    # A one-pixel box at stored (x, y) marks the cube pixel holding the stored value at row y, column x.
    x, y = 7, 3
    doc = [
        {
            "product_file": cog.tif.name,
            "labels": {"objects": [{"class": "a", "bbox": dict(xmin=x, ymin=y, xmax=x, ymax=y)}]},
        }
    ]
    out = attach_labels(ds, read_labels(_write(tmp_path / "v.json", doc)))
    (az,), (rg,) = np.nonzero(out["labels"].values[0])
    assert ds["amplitude"].values[0, az, rg] == stored[y, x]
    assert out["label_object_bbox"].values[0].tolist() == [rg, az, rg, az]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"product_file": "x.tif"}, "not a labels file"),
        ([], "a non-empty list"),
        ([{"product_file": "x.tif", "labels": {"objects": []}, "extra": 1}], "entry 0: entries have exactly"),
        ([{"product_file": "x.tif", "labels": {"boxes": []}}], "entry 0.labels: unknown labels key 'boxes'"),
        ([{"product_file": "x.tif", "labels": {"objects": [{"class": "a", "bbox": {"xmin": 1}}]}}], "objects[0].bbox"),
        (
            [
                {
                    "product_file": "x.tif",
                    "labels": {"objects": [{"class": "a", "bbox": dict(xmin=3, ymin=0, xmax=2, ymax=0)}]},
                }
            ],
            "empty box",
        ),
        (
            [{"product_file": "x.tif", "labels": {"objects": [{"class": "a", "point": [1, 2], "score": 1}]}}],
            "unknown key 'score'",
        ),
        (
            [{"product_file": "x.tif", "labels": {"objects": [{"bbox": dict(xmin=0, ymin=0, xmax=0, ymax=0)}]}}],
            "objects[0].class",
        ),
        ([{"product_file": "x.tif", "labels": {"objects": [{"class": "a", "point": {"x": -1, "y": 0}}]}}], "negative"),
        (
            [
                {"product_file": "a.tif", "labels": {"objects": []}},
                {"product_file": "b.tif", "labels": {"segmentation": "m.png"}},
            ],
            "entry 1: cannot ingest segmentation masks and vector labels",
        ),
        ([{"product_file": "a.tif", "labels": {"segmentation": "m.png", "objects": []}}], "cannot be mixed"),
        (
            [
                {"product_file": "a.tif", "labels": {"objects": []}},
                {"product_file": "a.tif", "labels": {"objects": []}},
            ],
            "entry 1",
        ),
        ([{"product_file": "../a.tif", "labels": {"objects": []}}], "entry 0.product_file"),
    ],
)
def test_malformed_labels_name_entry_and_field(tmp_path: Path, document: Any, message: str) -> None:
    with pytest.raises(LabelError, match=re.escape(message)):
        read_labels(_write(tmp_path / "bad.json", document))


def test_labels_that_do_not_fit_the_products_are_refused(tmp_path: Path) -> None:
    products, ds = _stack(tmp_path, 2)
    name = products[0].raster.name
    cases = [
        (
            [{"product_file": "nope.tif", "labels": {"objects": []}}],
            "entry 0.product_file: 'nope.tif' matches no product",
        ),
        (
            [
                {
                    "product_file": name,
                    "labels": {"objects": [{"class": "a", "bbox": dict(xmin=0, ymin=0, xmax=48, ymax=1)}]},
                }
            ],
            r"entry 0.labels.objects\[0\]: vertex \(x=48, y=1\) is outside the raster",
        ),
        ([{"product_file": name, "labels": {"segmentation": "missing.png"}}], "does not exist"),
    ]
    _mask(tmp_path / "small.png", np.zeros((10, 10), np.uint8))
    cases.append(([{"product_file": name, "labels": {"segmentation": "small.png"}}], "is 10 rows x 10 columns"))
    (tmp_path / "junk.png").write_bytes(b"not a png")
    cases.append(([{"product_file": name, "labels": {"segmentation": "junk.png"}}], "cannot read mask"))
    _mask(tmp_path / "float.tif", np.zeros(SHAPE, np.float32))
    cases.append(([{"product_file": name, "labels": {"segmentation": "float.tif"}}], "integer type"))
    for k, (document, message) in enumerate(cases):
        with pytest.raises(LabelError, match=message):
            attach_labels(ds, read_labels(_write(tmp_path / f"l{k}.json", document)))
    assert "labels" not in ds  # nothing half-attached to the input


class _Shift:
    """A per-slice transform: slice t is shifted by t rows (what a coregistration shift model would do)."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.grid_shape = shape

    def points(self, geometry: SliceGeometry, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return rows + geometry.time_index, cols

    def raster(self, geometry: SliceGeometry, values: np.ndarray, fill: int) -> np.ndarray:
        out = GridPlacement(self.grid_shape).raster(geometry, values, fill)
        return np.roll(out, geometry.time_index, axis=0)


def test_a_slice_transform_moves_labels_per_slice(tmp_path: Path) -> None:
    products, ds = _stack(tmp_path, 3)
    box = {"class": "a", "bbox": {"xmin": 4, "ymin": 10, "xmax": 6, "ymax": 12}}
    doc = [{"product_file": p.raster.name, "labels": {"objects": [box]}} for p in products]
    out = attach_labels(ds, read_labels(_write(tmp_path / "l.json", doc)), transform=_Shift(SHAPE))
    for t in range(3):
        rows = np.flatnonzero(out["labels"].values[t].any(axis=1))
        assert rows.tolist() == [10 + t, 11 + t, 12 + t]
        assert out["label_object_bbox"].values[t].tolist() == [4, 10 + t, 6, 12 + t]


def test_load_cube_and_cli_attach_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from icecube_stac import index, load_config, load_cube
    from icecube_stac.cli import main

    products = [make_product(tmp_path / "data", day=k + 1, seed=k) for k in range(3)]
    index([tmp_path / "data"], tmp_path / "cat", progress=False)
    doc = [{"product_file": products[1].raster.name, "labels": {"objects": [{"class": "a", "point": [3, 4]}]}}]
    _write(tmp_path / "labels.json", doc)
    _write(tmp_path / "config.json", {"catalog": "cat", "labels": "labels.json", "start_date": 20240101})
    ds = load_cube(load_config(tmp_path / "config.json"))
    assert ds["labelled"].values.tolist() == [False, True, False] and ds["labels"].values[1, 4, 3] == 1
    only = load_cube(load_config(tmp_path / "config.json", labelled=True))
    assert only.sizes["time"] == 1 and str(only["id"].values[0]) == products[1].name
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "plain.json", {"catalog": "cat", "start_date": 20240101})
    assert main(["cube", "plain.json", "-o", "c.zarr", "--labels", "labels.json", "-q"]) == 0
    assert open_cube(tmp_path / "c.zarr")["labels"].values[1, 4, 3] == 1
    _write(tmp_path / "bad.json", [{"product_file": "nope.tif", "labels": {"objects": []}}])
    assert main(["cube", "plain.json", "-o", "d.zarr", "--labels", "bad.json", "-q"]) != 0
    assert not (tmp_path / "d.zarr").exists()  # nothing written


def test_config_labels_key_is_checked(tmp_path: Path) -> None:
    from icecube_stac import load_config
    from icecube_stac.errors import ConfigError

    _write(tmp_path / "c.json", {"labels": "sub/labels.json"})
    assert load_config(tmp_path / "c.json").labels == str(tmp_path / "sub/labels.json")
    assert load_config({"labels": "catalog"}).labels == "catalog"
    for bad in (3, "", "https://x/labels.json"):
        with pytest.raises(ConfigError, match="labels"):
            load_config({"labels": bad})


def test_gcp_geolocation_agrees_with_the_rpc(tmp_path: Path) -> None:
    from icecube_stac.labels import Geolocation

    products, _ = _stack(tmp_path, 1)
    rpc = geolocation_of(str(products[0].raster), str(products[0].xml))
    with rasterio.open(products[0].raster) as src:
        gcps, crs = src.gcps
    gcp = Geolocation("gcp", (tuple(gcps), crs))
    x, y = np.array([3.0, 24.0, 40.0]), np.array([5.0, 31.0, 60.0])
    assert rpc is not None
    lon_r, lat_r = rpc.to_lonlat(x, y)
    lon_g, lat_g = gcp.to_lonlat(x, y)
    np.testing.assert_allclose(lon_g, lon_r, atol=3e-5)  # a few metres: the GCP grid interpolates the RPC
    np.testing.assert_allclose(lat_g, lat_r, atol=3e-5)
    back_x, back_y = gcp.to_pixel(lon_g, lat_g)
    np.testing.assert_allclose(back_x, x, atol=0.05)
    np.testing.assert_allclose(back_y, y, atol=0.05)


# ----------------------------------------------------------------------------------------------------------
# Hostile labels files: always a LabelError naming the file, the entry, the field and the bad value.
# ----------------------------------------------------------------------------------------------------------

HUGE = 10**400  # a JSON integer no float holds


def test_a_labels_file_nested_too_deeply_is_a_label_error(tmp_path: Path) -> None:
    deep = tmp_path / "l3.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(LabelError, match=r"l3\.json is nested too deeply"):
        read_labels(deep)
    long_number = _write(tmp_path / "digits.json", [])
    long_number.write_text("[" + "7" * 5000 + "]")  # more digits than Python converts: a ValueError, not a decode error
    with pytest.raises(LabelError, match=r"digits\.json is not readable JSON"):
        read_labels(long_number)


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        ({"class": "c", "point": [HUGE, 1]}, r"point\[0\]"),
        ({"class": "c", "point": {"x": 1, "y": -HUGE}}, r"point\.y"),
        ({"class": "c", "bbox": {"xmin": 0, "ymin": 0, "xmax": HUGE, "ymax": 1}}, r"bbox\.xmax"),
        ({"class": "c", "polygon": [[0, 0], [1, 0], [1, 2**53 + 1]]}, r"polygon\[2\]\[1\]"),
    ],
)
def test_huge_integer_pixel_coordinates_are_label_errors(obj: dict[str, Any], field: str) -> None:
    document = [{"product_file": "a.tif", "labels": {"objects": [{"class": "ok", "point": [1, 1]}, obj]}}]
    with pytest.raises(LabelError, match=rf"l\.json: entry 0\.labels\.objects\[1\]\.{field}: .*2\*\*53"):
        parse_icecube_labels(document, "/tmp/l.json")


@pytest.mark.parametrize(
    "geometry",
    [{"type": "Point", "coordinates": [HUGE, 1]}, {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, -HUGE]]]}],
)
def test_huge_integer_geojson_positions_are_label_errors(tmp_path: Path, geometry: dict[str, Any]) -> None:
    feature = {"type": "Feature", "properties": {"class": "c"}, "geometry": geometry}
    path = _write(tmp_path / "g.json", {"type": "FeatureCollection", "features": [feature]})
    with pytest.raises(LabelError, match=r"g\.json: features\[0\]\.geometry\.coordinates.*longitude, latitude"):
        read_labels(path)


_JSON_NUMBERS = st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.booleans() | st.none() | st.text()


@settings(max_examples=200, deadline=None)
@given(x=_JSON_NUMBERS, y=_JSON_NUMBERS)
def test_any_coordinate_parses_or_is_a_label_error(x: Any, y: Any) -> None:
    document = [{"product_file": "a.tif", "labels": {"objects": [{"class": "c", "point": [x, y]}]}}]
    try:
        parsed = parse_icecube_labels(document, "/tmp/l.json").entries[0].objects[0].points[0]
    except LabelError as exc:
        assert "entry 0.labels.objects[0].point" in str(exc)
    else:
        assert parsed == (float(x), float(y)) and all(abs(v) <= 2**53 for v in parsed)
    feature = {"type": "Feature", "properties": {"class": "c"}, "geometry": {"type": "Point", "coordinates": [x, y]}}
    try:
        geo = parse_geojson_labels({"type": "FeatureCollection", "features": [feature]}, "/tmp/g.json")
    except LabelError as exc:
        assert "features[0].geometry.coordinates" in str(exc)
    else:
        assert geo.features[0].lonlat == ((float(x), float(y)),)
