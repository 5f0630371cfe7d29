"""STAC label items: ``index --labels`` writes a validated ``labels`` collection that cubes read back unchanged."""

from __future__ import annotations

import contextlib
import json
import re
import socket
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st

from icecube_stac import index, load_config, load_cube, search, validate_path
from icecube_stac.cli import main
from icecube_stac.labels import LabelError, attach_labels, read_labels
from icecube_stac.stac import schema_map_file
from tests._cube_stacks import make_product

SHAPE = (64, 48)


def _catalog(tmp_path: Path, n: int = 3) -> list[Any]:
    return [make_product(tmp_path / "data", day=k + 1, seed=k) for k in range(n)]


def _refuse(*args: object, **kwargs: object) -> None:
    raise AssertionError("tried to open a network connection")


def _write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document))
    return path


def _vector_labels(products: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "product_file": products[1].raster.name,
            "labels": {
                "objects": [
                    {"class": "ship", "bbox": {"xmin": 2, "ymin": 5, "xmax": 9, "ymax": 5}},
                    {"class": "oil", "polygon": [[10, 10], [20, 10], [20, 30]]},
                    {"class": "buoy", "point": {"x": 30, "y": 50}},
                    {"classification": ["calm"]},
                ]
            },
        },
        {"product_file": products[2].raster.name, "labels": {"objects": [{"class": "ship", "point": [1, 2]}]}},
    ]


@pytest.mark.filterwarnings("ignore:The 'stac_validator' package has been deprecated:DeprecationWarning")
def test_index_writes_valid_label_items_that_cubes_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stac_validator.validate import StacValidate

    products = _catalog(tmp_path)
    labels = _write(tmp_path / "labels.json", _vector_labels(products))
    index([tmp_path / "data"], tmp_path / "cat", labels=labels)
    root = tmp_path / "cat"
    item = json.loads((root / "labels/items" / f"{products[1].name}-labels.json").read_text())
    props = item["properties"]
    assert item["stac_extensions"] == ["https://stac-extensions.github.io/label/v1.0.1/schema.json"]
    assert props["label:type"] == "vector" and props["label:properties"] == ["class"]
    assert props["label:classes"] == [{"name": "class", "classes": ["buoy", "oil", "ship"]}]
    assert props["label:tasks"] == ["detection", "segmentation", "classification"]
    assert props["icecube:classification"] == ["calm"] and "end_datetime" not in props
    source = next(link for link in item["links"] if link["rel"] == "source")
    assert source["label:assets"] == ["data"]
    assert json.loads((root / "labels/items" / source["href"]).resolve().read_text())["id"] == products[1].name
    geojson = json.loads((root / "labels/items" / item["assets"]["labels"]["href"]).read_text())
    assert [f["properties"]["class"] for f in geojson["features"]] == ["ship", "oil", "buoy"]
    assert geojson["features"][0]["geometry"]["type"] == "Polygon"  # lon/lat outline of the box
    # Every document validates offline, with our validator and with stac-validator and the shipped map.
    assert all(not c.problems for c in validate_path(root)), [c for c in validate_path(root) if c.problems]
    with monkeypatch.context() as offline:
        offline.setattr(socket.socket, "connect", _refuse)
        validator = StacValidate(str(root / "catalog.json"), recursive=True, schema_config=str(schema_map_file()))
        assert validator.run(), validator.message
        assert len(validator.message) == 1 + 2 + 3 + 2  # catalog, 2 collections, 3 products, 2 label items
    # In the parquet too, but never returned as products by a config's search.
    ids = {r[0] for r in duckdb.sql(f"SELECT id FROM '{root / 'items.parquet'}'").fetchall()}
    assert f"{products[1].name}-labels" in ids and len(ids) == 5
    config = load_config({"catalog": str(root), "start_date": 20240101})
    assert [i.id for i in search(config)] == [p.name for p in products]
    # The catalog's label items give the cube exactly what the labels file gives.
    from_catalog = load_cube(config.replace(labels="catalog"))
    from_file = attach_labels(load_cube(config), read_labels(labels))
    np.testing.assert_array_equal(from_catalog["labels"].values, from_file["labels"].values)
    assert from_catalog["labelled"].values.tolist() == [False, True, True]
    assert from_catalog["label_classification"].values.tolist() == from_file["label_classification"].values.tolist()
    for name in ("label_object_class", "label_object_wkt", "label_object_time_index"):
        assert from_catalog[name].values.tolist() == from_file[name].values.tolist()
    # labelled: true (the catalog's label items decide) keeps the two labelled products.
    only = load_cube(load_config({"catalog": str(root), "start_date": 20240101, "labelled": True}))
    assert [str(v) for v in only["id"].values] == [products[1].name, products[2].name]
    # The search applies it too (icecube-stac search lists what the cube would hold), max_items after it.
    first = load_config({"catalog": str(root), "start_date": 20240101, "labelled": True, "max_items": 1})
    assert [i.id for i in search(first)] == [products[1].name]


def test_reindex_keeps_labels_and_a_bad_labels_file_changes_nothing(tmp_path: Path) -> None:
    products = _catalog(tmp_path, 2)
    labels = _write(tmp_path / "labels.json", _vector_labels([*products, products[0]]))
    index([tmp_path / "data"], tmp_path / "cat", labels=labels)
    before = {p: p.read_bytes() for p in sorted((tmp_path / "cat").rglob("*")) if p.is_file()}
    more = make_product(tmp_path / "data", day=9, seed=9)
    index([tmp_path / "data"], tmp_path / "cat")  # a new product, no --labels: the labels collection stays
    kept = tmp_path / "cat/labels/items" / f"{products[1].name}-labels.json"
    assert kept.read_bytes() == before[kept]
    links = json.loads((tmp_path / "cat/catalog.json").read_text())["links"]
    assert any(link["rel"] == "child" and link["href"] == "./labels/collection.json" for link in links)
    snapshot = {p: p.read_bytes() for p in sorted((tmp_path / "cat").rglob("*")) if p.is_file()}
    box = {"class": "a", "bbox": {"xmin": 0, "ymin": 0, "xmax": 99, "ymax": 0}}
    bad = _write(tmp_path / "bad.json", [{"product_file": products[0].raster.name, "labels": {"objects": [box]}}])
    with pytest.raises(LabelError, match=r"entry 0\.labels\.objects\[0\]: vertex \(x=99"):
        index([tmp_path / "data"], tmp_path / "cat", labels=bad)
    (tmp_path / "junk.json").write_text("[{not json")
    with pytest.raises(LabelError, match="not readable JSON"):
        index([tmp_path / "data"], tmp_path / "cat", labels=tmp_path / "junk.json")
    after = {p: p.read_bytes() for p in sorted((tmp_path / "cat").rglob("*")) if p.is_file()}
    assert after == snapshot
    assert more.name in [i.id for i in search(load_config({"catalog": str(tmp_path / "cat"), "start_date": 20240101}))]


def test_raster_label_items_point_at_the_masks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    products = _catalog(tmp_path, 2)
    values = (np.arange(SHAPE[0] * SHAPE[1]).reshape(SHAPE) % 3).astype(np.uint8)
    mask = tmp_path / "masks" / "m.tif"
    mask.parent.mkdir()
    with rasterio.open(mask, "w", driver="GTiff", width=SHAPE[1], height=SHAPE[0], count=1, dtype="uint8") as dst:
        dst.write(values, 1)
    _write(
        tmp_path / "labels.json", [{"product_file": products[0].raster.name, "labels": {"segmentation": "masks/m.tif"}}]
    )
    monkeypatch.chdir(tmp_path)
    assert main(["index", "data", "--catalog", "cat", "--labels", "labels.json", "-q"]) == 0
    item = json.loads((tmp_path / "cat/labels/items" / f"{products[0].name}-labels.json").read_text())
    assert item["properties"]["label:type"] == "raster" and item["properties"]["label:properties"] is None
    assert item["properties"]["label:classes"] == [{"name": None, "classes": [0, 1, 2]}]
    assert (tmp_path / "cat/labels/items" / item["assets"]["labels"]["href"]).resolve() == mask.resolve()
    assert all(not c.problems for c in validate_path(tmp_path / "cat"))
    cube = load_cube(load_config({"catalog": "cat", "start_date": 20240101, "labels": "catalog"}))
    np.testing.assert_array_equal(cube["labels"].values[0], values)
    assert cube["labelled"].values.tolist() == [True, False]


_BAD_LABELS_FILES = {
    "deep": ("[" * 100_000 + "]" * 100_000, r"l3\.json is nested too deeply"),
    "huge-pixel": (
        json.dumps([{"product_file": "a.tif", "labels": {"objects": [{"class": "c", "point": [10**400, 1]}]}}]),
        r"l3\.json: entry 0\.labels\.objects\[0\]\.point\[0\]: <a 1329-bit integer> is not a finite number",
    ),
    "huge-lonlat": (
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"properties": {"class": "c"}, "geometry": {"type": "Point", "coordinates": [-(10**400), 1]}}
                ],
            }
        ),
        r"l3\.json: features\[0\]\.geometry\.coordinates: .* is not a \[longitude, latitude\] position",
    ),
}


@pytest.mark.parametrize("case", sorted(_BAD_LABELS_FILES))
def test_index_reports_a_hostile_labels_file_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    text, message = _BAD_LABELS_FILES[case]
    _catalog(tmp_path, 1)
    (tmp_path / "l3.json").write_text(text)
    monkeypatch.chdir(tmp_path)
    assert main(["index", "data", "--catalog", "cat", "--labels", "l3.json", "-q"]) == 1
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert "Traceback" not in err and len(err.splitlines()) == 1


LABEL_EXT = "https://stac-extensions.github.io/label/v1.0.1/schema.json"


def _label_item(folder: Path, kind: str, item: dict[str, Any], source: dict[str, Any], pixel: Any) -> Path:
    """A label item (vector or raster) with its source item and, for vector, an ``icecube:pixel`` GeoJSON."""
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "source.json", {"type": "Feature", "assets": {"data": {"href": "p.tif"}}, **source})
    feature = {"type": "Feature", "geometry": None, "properties": {"class": "c", "icecube:pixel": pixel}}
    _write(folder / "l.geojson", {"type": "FeatureCollection", "features": [feature]})
    base: dict[str, Any] = {
        "type": "Feature",
        "stac_extensions": [LABEL_EXT],
        "links": [{"rel": "source", "href": "source.json"}],
        "properties": {"label:type": kind, "label:properties": ["class"]},
        "assets": {"labels": {"href": "l.geojson" if kind == "vector" else "m.tif", "roles": ["labels"]}},
    }
    return _write(folder / "item.json", {**base, **item})


_GOOD_PIXEL = {"kind": "bbox", "points": [[1, 2], [3, 4]]}

_BAD_ITEMS = {
    "stac_extensions": ({"stac_extensions": 5}, {}, _GOOD_PIXEL, r"item\.json: stac_extensions: 5 is not a list"),
    "links": ({"links": 5}, {}, _GOOD_PIXEL, r"item\.json: links: 5 is not a list"),
    "link-href": ({"links": [{"rel": "source"}]}, {}, _GOOD_PIXEL, r"item\.json: links\[0\]\.href: None"),
    "properties": ({"properties": []}, {}, _GOOD_PIXEL, r"item\.json: properties: \[\] is not an object"),
    "label:properties": (
        {"properties": {"label:type": "vector", "label:properties": 5}},
        {},
        _GOOD_PIXEL,
        r"item\.json: properties\.label:properties: 5 is not a list",
    ),
    "classification": (
        {"properties": {"label:type": "vector", "icecube:classification": 5}},
        {},
        _GOOD_PIXEL,
        r"item\.json: properties\.icecube:classification: 5 is not a list",
    ),
    "assets": ({"assets": 5}, {}, _GOOD_PIXEL, r"item\.json: assets: 5 is not an object"),
    "labels-href": ({"assets": {"labels": {}}}, {}, _GOOD_PIXEL, r"item\.json: assets\.labels\.href: None"),
    "raster-asset": (
        {"properties": {"label:type": "raster"}, "assets": {"x": 5}},
        {},
        _GOOD_PIXEL,
        r"item\.json: assets\.x: 5 is not an object",
    ),
    "raster-roles": (
        {"properties": {"label:type": "raster"}, "assets": {"x": {"href": "m.tif", "roles": 5}}},
        {},
        _GOOD_PIXEL,
        r"item\.json: assets\.x\.roles: 5 is not a list",
    ),
    "source-assets": ({}, {"assets": {"x": 5}}, _GOOD_PIXEL, r"source\.json: assets\.x: 5 is not an object"),
    "source-not-object": ({}, {"assets": 5}, _GOOD_PIXEL, r"source\.json: assets: 5 is not an object"),
    "pixel-points": (
        {},
        {},
        {"kind": "bbox", "points": [[1, 2, 3], [4]]},
        r"l\.geojson: features\[0\]\.properties\.icecube:pixel\.points\[0\]: \[1, 2, 3\] is not an \[x, y\] pair",
    ),
    "pixel-number": (
        {},
        {},
        {"kind": "point", "points": [[1, float("inf")]]},
        r"l\.geojson: features\[0\]\.properties\.icecube:pixel\.points\[0\]: \[1, inf\] is not an \[x, y\] pair",
    ),
    "pixel-not-list": (
        {},
        {},
        {"kind": "polygon", "points": 5},
        r"l\.geojson: features\[0\]\.properties\.icecube:pixel\.points: 5 is not a list",
    ),
    "pixel-kind": (
        {},
        {},
        {"kind": "circle", "points": [[1, 2]]},
        r"icecube:pixel\.kind: 'circle' is not one of bbox, polygon, point",
    ),
}


def test_well_formed_label_items_read() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("vector", "raster"):
            labels = read_labels(_label_item(Path(tmp) / kind, kind, {}, {}, _GOOD_PIXEL))
            assert labels.kind == kind and labels.entries[0].product_file == "p.tif"


@pytest.mark.parametrize("case", sorted(_BAD_ITEMS))
def test_label_items_with_wrong_types_are_label_errors(tmp_path: Path, case: str) -> None:
    item, source, pixel, message = _BAD_ITEMS[case]
    path = _label_item(tmp_path, "vector", item, source, pixel)
    with pytest.raises(LabelError, match=message):
        read_labels(path)
    with pytest.raises(LabelError, match=message):  # the same in a folder of items
        read_labels(tmp_path)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["href", "roles", "x"]), inner),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(
    field=st.sampled_from(["stac_extensions", "links", "properties", "assets", "source", "pixel", "points"]),
    value=_JSON,
    kind=st.sampled_from(["vector", "raster"]),
)
def test_any_json_in_a_label_item_field_reads_or_is_a_label_error(field: str, value: Any, kind: str) -> None:
    import tempfile

    item = {field: value} if field in ("stac_extensions", "links", "properties", "assets") else {}
    source = {"assets": value} if field == "source" else {}
    pixel = value if field == "pixel" else {"kind": "polygon", "points": value} if field == "points" else _GOOD_PIXEL
    with tempfile.TemporaryDirectory() as tmp, contextlib.suppress(LabelError):  # anything else fails
        read_labels(_label_item(Path(tmp), kind, item, source, pixel))
