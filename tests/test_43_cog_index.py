"""Stage 43: ``index`` on folders of ICEYE COG products, alone or mixed with legacy products in one catalog.

The catalog of a mixed folder is valid, holds both generations in the same collection per level, is searched with
the same config keys and gives a cube of a mixed GRD stack; every kind of bad COG input is one failure naming the
file and the field, while the rest of the run is indexed.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import rasterio

from icecube_stac.catalog import index, read_items
from icecube_stac.config import load_config
from icecube_stac.pipeline import load_cube
from icecube_stac.search import search
from icecube_stac.stac import validate_path
from icecube_stac.testing import GeneratedProduct, write_product
from icecube_stac.testing.cog import (
    CogProductSpec,
    GeneratedCogProduct,
    azimuth_runs_with_columns,
    legacy_spec,
    write_cog_product,
)

SHAPE = (72, 56)  # (azimuth, range)


def _day(k: int, level: str = "GRD", **changes: Any) -> CogProductSpec:
    spec = CogProductSpec(
        level=level,  # type: ignore[arg-type]
        shape=SHAPE,
        seed=k,
        image_id=7010715 + k,
        look_side="right",
        acquisition_start=datetime(2025, 11, 10 + k, 18, 20, 58),
    )
    return replace(spec, **changes)


def _legacy(spec: CogProductSpec, folder: Path) -> GeneratedProduct:
    return write_product(replace(legacy_spec(spec), xml=True), folder)


def _cog_read(tif: Path, look: str) -> np.ndarray:
    """GRD DN in cube orientation, by rasterio and the documented layout (transpose; azimuth reversed when left)."""
    with rasterio.open(tif) as src:
        values: np.ndarray = src.read(1)
    return values.T if azimuth_runs_with_columns(look) else values.T[::-1]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two COG GRDs (one without side-car), one COG SLC, two legacy GRDs and a legacy SLC, plus companions."""
    data = tmp_path_factory.mktemp("mixed") / "data"
    cogs = [write_cog_product(_day(0), data / "cog0"), write_cog_product(_day(2, with_sidecar=False), data / "cog2")]
    cog_slc = write_cog_product(_day(0, "SLC"), data / "cogslc")
    legacy = [_legacy(_day(1), data / "legacy1"), _legacy(_day(3), data / "legacy3")]
    legacy_slc = _legacy(_day(4, "SLC"), data / "legacyslc")
    # ICEYE's companion products of a scene (quicklook, thumbnail) are not products to index.
    stem = cogs[0].tif.stem.rsplit("_", 1)[0]
    shutil.copy(cogs[0].tif, cogs[0].tif.with_name(f"{stem}_QLK.tif"))
    (cogs[0].tif.parent / f"{stem}_THM.json").write_text("{}")
    (data / "notes.json").write_text('{"not": "an ICEYE file"}')
    catalog = data.parent / "catalog"
    report = index([data], catalog)
    return {
        "data": data,
        "catalog": catalog,
        "report": report,
        "cogs": cogs,
        "cog_slc": cog_slc,
        "legacy": legacy,
        "legacy_slc": legacy_slc,
    }


def test_mixed_folder_gives_one_valid_catalog(mixed: dict[str, Any]) -> None:
    report, catalog = mixed["report"], mixed["catalog"]
    assert report.ok and not report.warnings, report.summary()
    assert len(report.added) == 6
    assert [c.problems for c in validate_path(catalog) if c.problems] == []
    items = {item.id: item for item in read_items(catalog)}
    sidecar_item = items[mixed["cogs"][0].item["id"]]  # ICEYE's own id is kept
    embedded_item = items[mixed["cogs"][1].name]  # from ICEYE_PROPERTIES: the product name
    legacy_items = [items[p.name] for p in mixed["legacy"]]
    assert {sidecar_item.collection_id, embedded_item.collection_id} == {"iceye-grd"}
    assert {i.collection_id for i in legacy_items} == {"iceye-grd"}
    assert items[mixed["cog_slc"].item["id"]].collection_id == "iceye-slc"
    assert items[mixed["legacy_slc"].name].collection_id == "iceye-slc"
    assert sidecar_item.properties["sar:center_frequency"] == pytest.approx(9.65)  # GHz, normalised
    assert sidecar_item.properties["iceye:image_id"] == 7010715
    # Hrefs resolve to the product files; the side-car is the metadata asset.
    assert Path(sidecar_item.assets["data"].href) == mixed["cogs"][0].tif.resolve()
    assert Path(sidecar_item.assets["metadata"].href) == mixed["cogs"][0].json.resolve()
    assert "metadata" not in embedded_item.assets
    raw = json.loads((catalog / "iceye-grd" / "items" / f"{sidecar_item.id}.json").read_text())
    assert not os.path.isabs(raw["assets"]["data"]["href"])  # relative, like legacy items
    # The collection describes both generations' assets, keeping only what they agree on for "data".
    collection = json.loads((catalog / "iceye-grd" / "collection.json").read_text())
    assert {"data", "metadata", "quicklook", "grd-cog", "grd-json"} <= set(collection["item_assets"])
    assert "type" not in collection["item_assets"]["data"]
    assert collection["summaries"]["platform"] == ["iceye-x56"]
    rows = pq.read_table(catalog / "items.parquet", columns=["id", "collection"]).to_pylist()
    assert sorted(r["id"] for r in rows) == sorted(items)


def test_unchanged_reindex_writes_nothing_and_a_changed_side_car_updates(mixed: dict[str, Any]) -> None:
    again = index([mixed["data"]], mixed["catalog"])
    assert not again.written and len(again.unchanged) == 6
    sidecar = mixed["cogs"][0].json
    original = sidecar.read_text()
    data = json.loads(original)
    data["properties"]["iceye:run_name"] = "reprocessed"
    sidecar.write_text(json.dumps(data))  # the side-car is part of the product's fingerprint
    try:
        changed = index([mixed["data"]], mixed["catalog"])
        assert changed.updated == [data["id"]] and changed.written
        item = {i.id: i for i in read_items(mixed["catalog"])}[data["id"]]
        assert item.properties["iceye:run_name"] == "reprocessed"
    finally:
        sidecar.write_text(original)
        assert index([mixed["data"]], mixed["catalog"]).updated == [data["id"]]


def test_search_on_a_mixed_catalog_returns_both_generations(mixed: dict[str, Any]) -> None:
    config = {"catalog": str(mixed["catalog"]), "start_date": 20251101, "end_date": 20251130}
    found = {item.id for item in search(load_config({**config, "product_type": "GRD"}))}
    assert found == {mixed["cogs"][0].item["id"], mixed["cogs"][1].name, *(p.name for p in mixed["legacy"])}
    slc = {item.id for item in search(load_config({**config, "product_type": "SLC"}))}
    assert slc == {mixed["cog_slc"].item["id"], mixed["legacy_slc"].name}
    # Incidence and bbox select by the same keys whatever the generation.
    incidence = mixed["cogs"][0].spec.incidence_center
    window = {"min_incidence_angle": incidence - 0.5, "max_incidence_angle": incidence + 0.5}
    assert {i.id for i in search(load_config({**config, **window}))} == found | slc
    assert list(search(load_config({**config, "min_incidence_angle": incidence + 1}))) == []
    nowhere = search(load_config({**config, "product_type": "GRD", "bbox": [0.0, 0.0, 1.0, 1.0]}))
    assert list(nowhere) == []
    lon, lat = mixed["cogs"][0].spec.center_lon, mixed["cogs"][0].spec.center_lat
    here = search(load_config({**config, "product_type": "GRD", "bbox": [lon - 0.1, lat - 0.1, lon + 0.1, lat + 0.1]}))
    assert {i.id for i in here} == found


def test_load_cube_of_a_mixed_grd_stack(mixed: dict[str, Any]) -> None:
    config = load_config(
        {"catalog": str(mixed["catalog"]), "start_date": 20251101, "end_date": 20251130, "product_type": "GRD"}
    )
    ds = load_cube(config)
    cogs, legacy = mixed["cogs"], mixed["legacy"]
    ids = [cogs[0].item["id"], legacy[0].name, cogs[1].name, legacy[1].name]  # days 0, 1, 2, 3
    assert ds["id"].values.tolist() == ids
    assert ds["amplitude"].shape == (4, *SHAPE)
    for k, product in ((0, cogs[0]), (2, cogs[1])):
        np.testing.assert_array_equal(ds["amplitude"].values[k], _cog_read(product.tif, "right"))
    for k, product in ((1, legacy[0]), (3, legacy[1])):
        with rasterio.open(product.raster) as src:
            np.testing.assert_array_equal(ds["amplitude"].values[k], src.read(1))


# --- bad input at index time: one failure each, naming the file and the field ------------------------------


def _copy(product: GeneratedCogProduct, folder: Path) -> Path:
    folder.mkdir(parents=True)
    for path in (product.tif, product.json):
        if path is not None:
            shutil.copy(path, folder / path.name)
    return folder / product.tif.name


def _set_tags(tif: Path, band: int | None = None, **tags: str) -> None:
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(tif, "r+", IGNORE_COG_LAYOUT_BREAK="YES") as dst:
        if band is None:
            dst.update_tags(**tags)
        else:
            dst.update_tags(band, **tags)


def _edit_sidecar(tif: Path, change: Any) -> Path:
    sidecar = tif.with_suffix(".json")
    data = json.loads(sidecar.read_text())
    change(data)
    sidecar.write_text(json.dumps(data))
    return sidecar


def test_bad_cog_products_fail_alone_naming_file_and_field(tmp_path: Path) -> None:
    src, data = tmp_path / "src", tmp_path / "data"
    grd = write_cog_product(_day(0, shape=(600, 40)), src / "grd")
    slc = write_cog_product(_day(1, "SLC"), src / "slc")
    bare = write_cog_product(_day(2, with_sidecar=False), src / "bare")
    good = write_cog_product(_day(3, mode="QZX7"), data / "unknown-mode")  # an unknown mode code is kept
    expected: dict[str, tuple[Path, str]] = {}

    truncated = _copy(grd, data / "truncated")
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size - 500])
    expected["truncated"] = (truncated, "TileOffsets")

    missing = data / "band-missing"
    missing.mkdir()
    shutil.copy(grd.tif, missing / slc.tif.name)  # one band where the SLC side-car says two
    assert slc.json is not None
    shutil.copy(slc.json, missing / slc.json.name)
    expected["band-missing"] = (missing / slc.tif.name, "bands")

    misnamed = _copy(slc, data / "band-misnamed")
    _set_tags(misnamed, 2, NAME="intensity")
    expected["band-misnamed"] = (misnamed, "NAME")

    sized = _copy(grd, data / "size-mismatch")
    expected["size-mismatch"] = (
        _edit_sidecar(sized, lambda d: d["properties"].update({"proj:shape": [9, 9]})),
        "proj:shape",
    )

    def strip(d: dict[str, Any]) -> None:
        d["properties"] = {k: v for k, v in d["properties"].items() if not k.startswith("iceye:")}

    no_iceye = _copy(grd, data / "no-iceye-fields")
    expected["no-iceye-fields"] = (_edit_sidecar(no_iceye, strip), "iceye:image_id")

    escaping = _copy(bare, data / "broken-escaping")
    _set_tags(escaping, ICEYE_PROPERTIES="&amp;quot;a&amp;quot;")
    expected["broken-escaping"] = (escaping, "ICEYE_PROPERTIES")

    preview = write_cog_product(_day(4, preview_2024=True), data / "preview")
    expected["preview"] = (preview.tif, "METADATA_JSON")

    orphan = data / "orphan" / slc.json.name
    orphan.parent.mkdir()
    shutil.copy(slc.json, orphan)
    expected["orphan"] = (orphan, "assets")

    catalog = tmp_path / "catalog"
    report = index([data], catalog)
    assert report.added == [good.item["id"]]
    failures = {Path(f.path).parent.name: f for f in report.failures}
    assert set(failures) == set(expected), report.summary()
    for case, (path, field) in expected.items():
        failure = failures[case]
        assert Path(failure.path).name in {path.name, path.with_suffix(".tif").name}, case
        assert f"field {field!r}" in failure.reason, (case, failure.reason)
        if path.name != Path(failure.path).name:
            assert path.name in failure.reason, (case, failure.reason)  # the side-car at fault is named
    assert [c.problems for c in validate_path(catalog) if c.problems] == []
    item = read_items(catalog)[0]
    assert item.properties["iceye:processing_mode"] == "QZX7"
    # Failed products are read again next run (never recorded), the good one is not.
    again = index([data], catalog)
    assert len(again.failures) == len(expected) and again.unchanged == [good.item["id"]] and not again.written


def test_tif_with_a_side_car_is_a_cog_product_whatever_its_name(tmp_path: Path) -> None:
    product = write_cog_product(_day(0), tmp_path / "src")
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(product.tif, folder / "scene.tif")
    data = json.loads(product.json.read_text())  # type: ignore[union-attr]
    for asset in data["assets"].values():
        asset["href"] = "scene" + Path(asset["href"]).suffix
    (folder / "scene.json").write_text(json.dumps(data))
    report = index([folder], tmp_path / "catalog")
    assert report.ok and report.added == [data["id"]], report.summary()
    (item,) = read_items(tmp_path / "catalog")
    assert Path(item.assets["data"].href) == (folder / "scene.tif").resolve()
