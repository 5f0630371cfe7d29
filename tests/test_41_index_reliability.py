"""Stage 41: an index run never writes an invalid catalog, never loses an item, and tells distinct products apart."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pystac
import pytest

import icecube_stac.stac as stac_module
from icecube_stac.catalog import index, read_items
from icecube_stac.errors import CatalogError
from icecube_stac.stac import validate
from icecube_stac.testing import GeneratedProduct, ProductSpec, write_product

ROOT = Path(__file__).resolve().parents[1]


def _products(folder: Path, n: int, start: int = 0, level: str = "GRD") -> list[GeneratedProduct]:
    return [
        write_product(
            ProductSpec(
                level=level,  # type: ignore[arg-type]
                image_id=700000 + start + i,
                acquisition_start=datetime(2024, 4, 1, 6, 0, 0) + timedelta(days=start + i),
                incidence_center=20.0 + i,
                seed=start + i,
            ),
            folder / f"p{start + i}",
        )
        for i in range(n)
    ]


def _every_document_validates(catalog: Path) -> int:
    root = pystac.Catalog.from_file(str(catalog / "catalog.json"))
    validate(root)
    count = 0
    for collection in root.get_collections():
        validate(collection)
        for item in collection.get_items():
            validate(item)
            count += 1
    return count


# --------------------------------------------------------------------------- A1: only valid items are written


def test_an_item_that_does_not_validate_is_a_failure_and_never_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    good, bad = _products(data, 2)
    original = stac_module._sar_properties

    def refused_value(meta: Any) -> dict[str, Any]:
        props = original(meta)
        if meta.product_name == bad.name:
            props["sar:looks_range"] = 1.5  # the sar schema wants an integer
        return props

    monkeypatch.setattr(stac_module, "_sar_properties", refused_value)
    catalog = tmp_path / "cat"
    report = index([data], catalog)
    assert report.added == [good.name]
    (failure,) = report.failures
    assert Path(failure.path) == bad.raster
    assert "does not validate" in failure.reason and "sar:looks_range" in failure.reason
    assert "integer" in failure.reason
    assert _every_document_validates(catalog) == 1
    assert [i.id for i in read_items(catalog)] == [good.name]


def test_a_collection_that_would_not_validate_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import icecube_stac._catalog_files as files_module

    data = tmp_path / "data"
    _products(data, 1)
    catalog = tmp_path / "cat"
    index([data], catalog)
    before = sorted(p.name for p in catalog.rglob("*"))
    _products(data, 1, start=5)
    from icecube_stac._collections import create_collection as original  # the function files_module binds

    def broken(level: Any, items: Any = ()) -> pystac.Collection:
        collection = original(level, items)
        collection.license = ""  # an empty licence is refused by the collection schema
        return collection

    monkeypatch.setattr(files_module, "create_collection", broken)
    with pytest.raises(CatalogError, match=r"collection iceye-grd would not validate.*license"):
        index([data], catalog)
    assert sorted(p.name for p in catalog.rglob("*")) == before


# --------------------------------------------------------------------------- A2: concurrent runs

_RUN = """
import json, sys, time
import icecube_stac.catalog as catalog
data, target, signal, delay, timeout = sys.argv[1:6]
if float(delay) > 0:
    original = catalog._write_parquet
    def slow(*args, **kwargs):
        open(signal, "w").close()  # this run holds the lock and is writing
        time.sleep(float(delay))
        original(*args, **kwargs)
    catalog._write_parquet = slow
try:
    report = catalog.index([data], target, lock_timeout=None if timeout == "none" else float(timeout))
except catalog.CatalogError as exc:
    print(json.dumps({"error": str(exc)}))
    sys.exit(3)
print(json.dumps({"added": report.added, "kept": report.kept}))
"""


def _start(data: Path, catalog: Path, signal: Path, delay: float, timeout: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-c", _RUN, str(data), str(catalog), str(signal), str(delay), timeout]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the first run never started writing"
        time.sleep(0.05)


def test_two_concurrent_runs_wait_and_lose_no_item(tmp_path: Path) -> None:
    first_data, second_data = tmp_path / "a", tmp_path / "b"
    first = _products(first_data, 3)
    second = _products(second_data, 2, start=10)
    catalog, signal = tmp_path / "cat", tmp_path / "writing"
    one = _start(first_data, catalog, signal, 3.0, "none")
    _wait_for(signal, one)
    two = _start(second_data, catalog, tmp_path / "unused", 0.0, "none")
    _, err_one = one.communicate(timeout=180)
    out_two, err_two = two.communicate(timeout=180)
    assert one.returncode == 0 and two.returncode == 0, err_one + err_two
    assert "being indexed by process" in err_two and "waiting" in err_two  # it says why it waits
    assert sorted(json.loads(out_two)["kept"]) == sorted(p.name for p in first)
    ids = sorted(i.id for i in read_items(catalog))
    assert ids == sorted(p.name for p in first + second)
    assert _every_document_validates(catalog) == 5


def test_a_run_that_cannot_wait_fails_naming_the_other_run(tmp_path: Path) -> None:
    data = tmp_path / "a"
    _products(data, 1)
    catalog, signal = tmp_path / "cat", tmp_path / "writing"
    one = _start(data, catalog, signal, 4.0, "none")
    _wait_for(signal, one)
    two = _start(data, catalog, tmp_path / "unused", 0.0, "0.5")
    out_two, _ = two.communicate(timeout=120)
    one.communicate(timeout=120)
    assert two.returncode == 3, out_two
    message = json.loads(out_two)["error"]
    assert f"process {one.pid} on " in message and "after waiting 0.5 s" in message
    assert str(catalog) in message
    with pytest.raises(CatalogError, match="being indexed"):
        import fcntl

        with (tmp_path / ".cat.lock").open("a") as held:
            fcntl.flock(held.fileno(), fcntl.LOCK_EX)
            index([data], catalog, lock_timeout=0)


# --------------------------------------------------------------------------- B5: one product name, several products


def _same_name(products: list[GeneratedProduct]) -> str:
    """Give every product the first one's product_name (as ICEYE's altered test copies have)."""
    name = products[0].name
    for product in products[1:]:
        assert product.xml is not None
        tag = f"<product_name>{name}</product_name>"
        product.xml.write_text(re.sub("<product_name>[^<]*</product_name>", tag, product.xml.read_text()))
    return name


def test_distinct_products_sharing_a_product_name_get_distinct_items(tmp_path: Path) -> None:
    data = tmp_path / "data"
    slcs = _products(data, 3, level="SLC")
    name = _same_name(slcs)
    catalog = tmp_path / "cat"
    report = index([data], catalog)
    assert report.ok, report.summary()
    expected = [name] + [p.raster.stem for p in slcs[1:]]
    assert sorted(report.added) == sorted(expected)
    assert len(report.warnings) == 2 and all("already the item of" in w.reason for w in report.warnings)
    items = {i.id: i for i in read_items(catalog)}
    assert sorted(items) == sorted(expected)
    assert {i.properties.get("iceye:product_name", i.id) for i in items.values()} == {name}
    assert len({i.properties["start_datetime"] for i in items.values()}) == 3
    assert _every_document_validates(catalog) == 3
    # Stable: a second run changes nothing; an identical copy is skipped with a warning.
    import shutil

    shutil.copytree(slcs[2].raster.parent, data / "copy")
    report = index([data], catalog)
    assert not report.written and report.ok and sorted(report.unchanged) == sorted(expected)
    (warning,) = report.warnings
    assert Path(warning.path).parent.name == "copy" and "identical copy" in warning.reason


def test_same_file_names_in_two_folders_get_a_digest_id(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (first,) = _products(data / "x", 1, level="SLC")
    (second,) = _products(tmp_path / "other", 1, start=3, level="SLC")
    # The second product under the first one's file names and product name, with its own content.
    target = data / "y"
    target.mkdir(parents=True)
    for path in (second.raster, second.xml):
        assert path is not None
        (target / path.name.replace(second.name, first.name)).write_bytes(path.read_bytes())
    xml = target / f"{first.name}.xml"
    text = xml.read_text().replace(second.name, first.name)
    xml.write_text(text)
    report = index([data], tmp_path / "cat")
    assert report.ok, report.summary()
    (derived,) = [i for i in report.added if i != first.name]
    assert re.fullmatch(re.escape(first.name) + r"-[0-9a-f]{10}", derived)


def test_a_product_of_the_same_name_from_another_folder_does_not_replace_the_item(tmp_path: Path) -> None:
    first_data, second_data = tmp_path / "a", tmp_path / "b"
    (original,) = _products(first_data, 1)
    (altered,) = _products(second_data, 1, start=4)
    name = _same_name([original, altered])
    catalog = tmp_path / "cat"
    index([first_data], catalog)
    report = index([second_data], catalog)  # another run, another folder, the same product name
    assert report.kept == [name] and report.added == [altered.raster.stem]
    assert sorted(i.id for i in read_items(catalog)) == sorted([name, altered.raster.stem])


def test_an_upgraded_catalog_keeps_the_items_of_other_folders_even_with_prune(tmp_path: Path) -> None:
    from icecube_stac._parquet import legacy_item_hrefs

    first_data, second_data = tmp_path / "a", tmp_path / "b"
    first = _products(first_data, 2)
    second = _products(second_data, 1, start=6)
    catalog = tmp_path / "cat"
    index([first_data], catalog)
    index([second_data], catalog)
    # Make it a catalog of state version 1 (item-file-relative parquet hrefs): fingerprints are not trusted.
    state_file = catalog / ".icecube-index.json"
    state = json.loads(state_file.read_text())
    state_file.write_text(json.dumps(state | {"version": 1}))
    assert legacy_item_hrefs(catalog / "items.parquet")
    report = index([first_data], catalog, prune=True)
    assert report.kept == [second[0].name] and not report.removed
    assert sorted(report.updated + report.unchanged) == sorted(p.name for p in first)
    assert not legacy_item_hrefs(catalog / "items.parquet")  # rewritten the version-2 way
    assert sorted(i.id for i in read_items(catalog)) == sorted(p.name for p in first + second)
    # The kept item is read again (and its fingerprint trusted) when its own folder is indexed next.
    report = index([second_data], catalog)
    assert report.unchanged + report.updated == [second[0].name]


def test_folders_with_spaces_index_and_load(tmp_path: Path) -> None:
    from icecube_stac.config import load_config
    from icecube_stac.cube import build_cube
    from icecube_stac.search import search
    from icecube_stac.testing import ProductSpec, write_product

    product = write_product(ProductSpec(level="GRD", image_id=812345, shape=(24, 16)), tmp_path / "My Products" / "a b")
    report = index([tmp_path / "My Products"], tmp_path / "cat with space", progress=False)
    assert report.ok and len(report.added) == 1, report.summary()
    items = search(load_config({"catalog": str(tmp_path / "cat with space")}))
    assert build_cube(items)["amplitude"].shape == (1, 24, 16)
    assert product.raster.is_file()


def test_a_run_with_nothing_to_write_still_removes_a_killed_runs_staging_folder(tmp_path: Path) -> None:
    # Kill-campaign finding: a run killed mid-write left `.catalog.tmp-…`, and the next run, having no
    # change to write, never reached the writer's own clean-up, so the leftover stayed for good.
    _products(tmp_path / "data", 2)
    catalog = tmp_path / "catalog"
    index([tmp_path / "data"], catalog)
    dead = 2**22 + 4242  # above Linux's default pid_max: no such process
    stale = tmp_path / f".catalog.tmp-{dead}.1-abcd1234"
    stale.mkdir()
    (stale / "catalog.json").write_text("{half")
    live = tmp_path / f".catalog.tmp-{os.getpid()}-ffff0000"
    live.mkdir()
    report = index([tmp_path / "data"], catalog)
    assert not report.written
    assert not stale.exists()
    assert live.exists()  # a writer that still runs keeps its folder
    assert _every_document_validates(catalog) == 2
