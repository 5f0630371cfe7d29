"""Stage 40: indexing folders into catalogs/NAME — incremental, idempotent, atomic, failure-tolerant."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pystac
import pytest

from icecube_stac.catalog import index, read_items
from icecube_stac.stac import validate
from icecube_stac.testing import GeneratedProduct, ProductSpec, write_product


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _stack(folder: Path, n: int, level: str = "GRD", start: int = 0) -> list[GeneratedProduct]:
    return [
        write_product(
            ProductSpec(
                level=level,  # type: ignore[arg-type]
                image_id=300000 + start + i,
                acquisition_start=datetime(2024, 3, 1, 6, 0, 0, 123456) + timedelta(days=3 * (start + i)),
                incidence_center=20.0 + i,
                seed=start + i,
            ),
            folder / f"p{start + i}",
        )
        for i in range(n)
    ]


def test_index_writes_a_valid_catalog(tmp_path: Path) -> None:
    data = tmp_path / "data"
    grds = _stack(data, 3)
    slcs = _stack(data, 2, "SLC", start=10)
    catalog = tmp_path / "catalogs" / "default"
    report = index([data], catalog)
    assert report.ok and len(report.added) == 5 and report.written
    root = pystac.Catalog.from_file(str(catalog / "catalog.json"))
    collections = {c.id: c for c in root.get_collections()}
    assert set(collections) == {"iceye-grd", "iceye-slc"}
    for collection in collections.values():
        validate(collection)
        for item in collection.get_items():
            validate(item)
    grd_items = list(collections["iceye-grd"].get_items())
    assert sorted(i.id for i in grd_items) == sorted(p.name for p in grds)
    extent = collections["iceye-slc"].extent.temporal.intervals[0]
    assert extent[0] is not None and extent[0].date() == slcs[0].spec.acquisition_start.date()
    table = pq.read_table(catalog / "items.parquet")
    assert sorted(table.column("id").to_pylist()) == sorted(p.name for p in grds + slcs)
    raw = json.loads((catalog / "iceye-grd" / "items" / f"{grds[0].name}.json").read_text())
    assert not raw["assets"]["data"]["href"].startswith("/")  # relative asset hrefs
    assert {link["rel"] for link in raw["links"]} == {"root", "parent", "collection"}


def test_catalog_can_be_moved(tmp_path: Path) -> None:
    _stack(tmp_path / "project" / "data", 2)
    index([tmp_path / "project" / "data"], tmp_path / "project" / "catalogs" / "c")
    shutil.move(tmp_path / "project", tmp_path / "moved")
    items = read_items(tmp_path / "moved" / "catalogs" / "c")
    assert len(items) == 2
    assert all(Path(i.assets["data"].href).is_file() for i in items)


def test_reindex_is_byte_identical_and_incremental(tmp_path: Path) -> None:
    data = tmp_path / "data"
    products = _stack(data, 3)
    catalog = tmp_path / "cat"
    index([data], catalog)
    before = _tree_digest(catalog)
    report = index([data], catalog)
    assert not report.written and len(report.unchanged) == 3
    assert _tree_digest(catalog) == before
    # A new product is added, a changed one updated; untouched item files keep their bytes.
    _stack(data, 1, start=7)
    changed = products[1]
    assert changed.xml is not None
    text = changed.xml.read_text().replace("<polarization>VV</polarization>", "<polarization>HH</polarization>")
    changed.xml.write_text(text)
    report = index([data], catalog)
    assert report.added == [_stack_name(7)] and report.updated == [changed.name]
    after = _tree_digest(catalog)
    untouched = f"iceye-grd/items/{products[0].name}.json"
    assert after[untouched] == before[untouched]
    item = pystac.Item.from_file(str(catalog / "iceye-grd" / "items" / f"{changed.name}.json"))
    assert item.properties["sar:polarizations"] == ["HH"]


def _stack_name(i: int) -> str:
    return f"ICEYE_X7_GRD_SM_{300000 + i}_{(datetime(2024, 3, 1) + timedelta(days=3 * i)):%Y%m%d}T060000"


def test_vanished_products_removed_only_when_asked(tmp_path: Path) -> None:
    data = tmp_path / "data"
    products = _stack(data, 2)
    catalog = tmp_path / "cat"
    index([data], catalog)
    shutil.rmtree(products[0].raster.parent)
    report = index([data], catalog)
    assert report.vanished_kept == [products[0].name] and len(read_items(catalog)) == 2
    report = index([data], catalog, prune=True)
    assert report.removed == [products[0].name]
    assert [i.id for i in read_items(catalog)] == [products[1].name]
    assert pq.read_table(catalog / "items.parquet").column("id").to_pylist() == [products[1].name]


def test_bad_products_are_reported_and_the_rest_indexed(tmp_path: Path, real_xml: Path) -> None:
    data = tmp_path / "data"
    good = _stack(data, 2)
    bad = data / "bad"
    bad.mkdir()
    (bad / "ICEYE_X7_GRD_SM_1_20240101T000000.xml").write_text("<Metadata><spec_version>")  # malformed, no raster
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><Metadata>&a;</Metadata>'
    (bad / "ICEYE_X7_SLC_SM_2_20240101T000000.xml").write_text(bomb)
    (bad / "ICEYE_X7_SLC_SM_3_20240101T000000.h5").write_bytes(good[0].raster.read_bytes()[:1000])
    shutil.copy(real_xml, bad / real_xml.name)  # a sidecar without its raster
    dup = data / "dup"
    shutil.copytree(good[0].raster.parent, dup)  # the same product id twice
    report = index([data], tmp_path / "cat")
    assert not report.ok
    failed = {Path(f.path).name: f.reason for f in report.failures}
    assert "malformed XML" in failed["ICEYE_X7_GRD_SM_1_20240101T000000.xml"]
    assert "unsafe XML" in failed["ICEYE_X7_SLC_SM_2_20240101T000000.xml"]
    assert "unreadable HDF5" in failed["ICEYE_X7_SLC_SM_3_20240101T000000.h5"]
    assert "raster of this XML sidecar is missing" in failed[real_xml.name]
    assert any("duplicate item id" in reason for reason in failed.values())
    assert sorted(report.added) == sorted(p.name for p in good)


def test_cli_index_exit_status_and_report(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _stack(data, 2)
    (data / "junk.xml").write_text("<notes/>")
    result = subprocess.run(
        [sys.executable, "-m", "icecube_stac.cli", "index", str(data), "--catalog", str(tmp_path / "c"), "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "2 added" in result.stdout and "FAILED" in result.stdout and "junk.xml" in result.stdout
    assert "not an ICEYE <Metadata>" in result.stdout


_KILL_SCRIPT = """
import os, sys
import icecube_stac.catalog as catalog
original = catalog._write_parquet
def write_then_die(path, items):
    original(path, items)
    os._exit(9)  # killed after the new catalog is staged, before it is swapped in
catalog._write_parquet = write_then_die
catalog.index([sys.argv[1]], sys.argv[2])
"""


def test_killed_run_leaves_previous_catalog_intact(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _stack(data, 2)
    catalog = tmp_path / "cat"
    index([data], catalog)
    before = _tree_digest(catalog)
    _stack(data, 2, start=5)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    result = subprocess.run([sys.executable, "-c", _KILL_SCRIPT, str(data), str(catalog)], env=env, check=False)
    assert result.returncode == 9
    assert _tree_digest(catalog) == before
    for item in read_items(catalog):
        validate(item)
    report = index([data], catalog)  # the next run cleans up and completes
    assert len(report.added) == 2
    assert not list(tmp_path.glob(".cat.tmp-*"))


def test_parallel_workers_give_the_same_catalog(tmp_path: Path) -> None:
    from icecube_stac import catalog as catalog_module

    data = tmp_path / "data"
    _stack(data, 4)
    index([data], tmp_path / "one")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(catalog_module, "_PARALLEL_THRESHOLD", 2)
        index([data], tmp_path / "two", workers=2)
    one, two = _tree_digest(tmp_path / "one"), _tree_digest(tmp_path / "two")
    one.pop(".icecube-index.json"), two.pop(".icecube-index.json")  # records each catalog's own location
    assert one == two
