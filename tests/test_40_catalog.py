"""Stage 40: indexing folders into catalogs/NAME — incremental, idempotent, atomic, failure-tolerant."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pystac
import pytest

from icecube_stac.catalog import index, read_items
from icecube_stac.errors import CatalogError, MetadataError
from icecube_stac.formats.xml import read_xml_metadata
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
    # An identical copy is skipped with a warning (it was a failure before distinct copies got their own ids).
    assert not any("duplicate" in reason or "identical copy" in reason for reason in failed.values())
    (copy,) = [w for w in report.warnings if "identical copy" in w.reason]
    assert {Path(copy.path).parent.name, Path(copy.reason.split(" (item")[0].split()[-1]).parent.name} == {"dup", "p0"}
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
        timeout=120,
    )
    assert result.returncode == 1
    assert "2 added" in result.stdout and "FAILED" in result.stdout and "junk.xml" in result.stdout
    assert "not an ICEYE <Metadata>" in result.stdout


_KILL_SCRIPT = """
import os, sys
import icecube_stac.catalog as catalog
original = catalog._write_parquet
def write_then_die(path, items, *args, **kwargs):
    original(path, items, *args, **kwargs)
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
    result = subprocess.run(
        [sys.executable, "-c", _KILL_SCRIPT, str(data), str(catalog)], env=env, check=False, timeout=120
    )
    assert result.returncode == 9
    assert _tree_digest(catalog) == before
    for item in read_items(catalog):
        validate(item)
    report = index([data], catalog)  # the next run cleans up and completes
    assert len(report.added) == 2
    assert not list(tmp_path.glob(".cat.tmp-*"))


def test_parallel_workers_give_the_same_catalog(tmp_path: Path) -> None:
    from icecube_stac import _index_read

    data = tmp_path / "data"
    _stack(data, 4)
    index([data], tmp_path / "one", workers=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_index_read, "PARALLEL_THRESHOLD", 2)
        index([data], tmp_path / "two", workers=2)
    one, two = _tree_digest(tmp_path / "one"), _tree_digest(tmp_path / "two")
    one.pop(".icecube-index.json"), two.pop(".icecube-index.json")  # records each catalog's own location
    assert one == two


def test_refuses_to_replace_a_folder_that_is_not_a_catalog(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _stack(data, 1)
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "README").write_text("keep me")
    with pytest.raises(CatalogError, match="is not an icecube-stac catalog"):
        index([data], precious)
    assert (precious / "README").read_text() == "keep me"
    with pytest.raises(CatalogError, match="contains the products to index"):
        index([data], data)
    with pytest.raises(CatalogError, match="contains the products to index"):
        index([data], tmp_path)
    assert len(list(data.rglob("*.tif"))) == 1


def test_hostile_or_invalid_sidecar_values_are_named_and_never_written(tmp_path: Path) -> None:
    data = tmp_path / "data"
    good, evil, nan, steep = _stack(data, 4)
    for product, tag, value in (
        (evil, "product_name", "../../../escaped"),
        (nan, "heading", "nan"),
        (steep, "incidence_center", "120.5"),
    ):
        assert product.xml is not None
        text = re.sub(f"<{tag}>[^<]*</{tag}>", f"<{tag}>{value}</{tag}>", product.xml.read_text(), count=1)
        product.xml.write_text(text)
        with pytest.raises(MetadataError):
            read_xml_metadata(product.xml)
    # Each bad sidecar is reported, and its product indexed from the metadata embedded in the raster.
    report = index([data], tmp_path / "cat")
    assert report.ok and sorted(report.added) == sorted(p.name for p in (good, evil, nan, steep))
    warned = {Path(w.path).parent.name: w.reason for w in report.warnings}
    assert "field 'product_name'" in warned[evil.raster.parent.name]
    assert "field 'heading'" in warned[nan.raster.parent.name] and "finite" in warned[nan.raster.parent.name]
    assert "field 'incidence_center'" in warned[steep.raster.parent.name]
    assert "[0, 90]" in warned[steep.raster.parent.name]
    assert good.raster.parent.name not in warned
    assert not list(tmp_path.rglob("escaped*"))
    assert "NaN" not in "".join(p.read_text() for p in (tmp_path / "cat").rglob("*.json"))


def test_orphan_sidecar_with_hostile_name_fails_alone(tmp_path: Path, real_xml: Path) -> None:
    data = tmp_path / "data"
    (good,) = _stack(data, 1)
    text = real_xml.read_text().replace(
        "<product_name>ICEYE_X7_GRD_SM_154171_20211027T183203</product_name>", "<product_name>a/b</product_name>"
    )
    (data / "ICEYE_X7_GRD_SM_9_20240101T000000.xml").write_text(text)
    report = index([data], tmp_path / "cat")
    assert report.added == [good.name]
    assert "field 'product_name'" in report.failures[0].reason


def test_href_mode_and_moved_catalog_are_rewritten(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (product,) = _stack(data, 1)
    index([data], tmp_path / "cat")
    report = index([data], tmp_path / "cat", asset_hrefs="absolute")
    assert report.written and report.updated == [product.name]
    assert Path(read_items(tmp_path / "cat")[0].assets["data"].href) == product.raster
    index([data], tmp_path / "cat")
    shutil.move(tmp_path / "cat", tmp_path / "elsewhere")
    report = index([data], tmp_path / "elsewhere")  # relative hrefs are recomputed for the new location
    assert report.written
    assert Path(read_items(tmp_path / "elsewhere")[0].assets["data"].href).resolve() == product.raster.resolve()


def test_symlinked_folders_not_followed_and_gdal_aux_files_ignored(tmp_path: Path) -> None:
    # Issue 13: a link to /usr walked all of /usr. Folder links are not followed; one that leaves the input
    # folders is reported (and a loop never hangs); the folder itself indexes when given as an input.
    real = tmp_path / "real"
    (product,) = _stack(real, 1)
    data = tmp_path / "data"
    data.mkdir()
    (data / "link").symlink_to(real, target_is_directory=True)
    (data / "loop").symlink_to(data, target_is_directory=True)
    (product.raster.parent / f"{product.raster.name}.aux.xml").write_text("<PAMDataset/>")
    report = index([data], tmp_path / "cat")
    assert report.added == [] and [Path(f.path).name for f in report.failures] == ["link"]
    assert "not followed" in report.failures[0].reason
    report = index([real], tmp_path / "cat")
    assert report.ok, report.summary()
    assert report.added == [product.name]


def test_a_copy_elsewhere_does_not_take_over_the_item(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (product,) = _stack(data, 1)
    index([data], tmp_path / "cat")
    shutil.copytree(product.raster.parent, data / "a_copy")  # sorts before the original folder
    report = index([data], tmp_path / "cat")
    assert report.unchanged == [product.name] and not report.updated
    # Skipped with a warning (an identical copy), no longer a failure.
    assert report.ok and [Path(w.path).parent.name for w in report.warnings] == ["a_copy"]
    assert "identical copy" in report.warnings[0].reason
    assert Path(read_items(tmp_path / "cat")[0].assets["data"].href).resolve() == product.raster.resolve()


def test_corrupt_catalog_file_is_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (product,) = _stack(data, 1)
    index([data], tmp_path / "cat")
    item_file = tmp_path / "cat" / "iceye-grd" / "items" / f"{product.name}.json"
    item_file.write_text("{not json")
    with pytest.raises(CatalogError, match=r"corrupt item file"):
        index([data], tmp_path / "cat")
    (tmp_path / "cat" / ".icecube-index.json").write_text("[]")  # a damaged state file only costs a re-read
    item_file.unlink()
    assert index([data], tmp_path / "cat").added == [product.name]


def test_sidecar_added_later_and_sidecar_problems(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (product,) = _stack(data, 1)
    assert product.xml is not None
    sidecar = product.xml.read_text()
    product.xml.unlink()
    index([data], tmp_path / "cat")
    assert read_items(tmp_path / "cat")[0].properties["iceye:metadata_source"] == "geotiff"
    product.xml.write_text(sidecar)
    report = index([data], tmp_path / "cat")
    assert report.updated == [product.name]
    item = read_items(tmp_path / "cat")[0]
    assert item.properties["iceye:metadata_source"] == "xml" and "metadata" in item.assets
    # A broken sidecar: the raster's own metadata are used, the run says so, the XML is not advertised.
    product.xml.write_text(sidecar.replace("</Metadata>", ""))
    report = index([data], tmp_path / "cat")
    assert report.ok and [w.path for w in report.warnings] == [str(product.raster)]
    assert "malformed XML" in report.warnings[0].reason and "WARNING" in report.summary()
    item = read_items(tmp_path / "cat")[0]
    assert item.properties["iceye:metadata_source"] == "geotiff" and "metadata" not in item.assets
    # A sidecar describing another raster size is refused.
    rows = product.spec.shape[0]
    product.xml.write_text(sidecar.replace(f"<number_of_azimuth_samples>{rows}<", "<number_of_azimuth_samples>999<"))
    report = index([data], tmp_path / "cat")
    assert "holds" in report.failures[0].reason and "number_of_azimuth_samples" in report.failures[0].reason


def _count_calls(monkeypatch: pytest.MonkeyPatch, functions: dict[str, object]) -> dict[str, int]:
    """Count calls of each function, wherever in the package it is called from (every module binding it)."""
    counts = dict.fromkeys(functions, 0)
    for name, original in functions.items():

        def counting(*args: object, _name: str = name, _original: object = original, **kwargs: object) -> object:
            counts[_name] += 1
            return _original(*args, **kwargs)  # type: ignore[operator]

        modules = [m for k, m in list(sys.modules.items()) if k.startswith("icecube_stac") and m is not None]
        bound = [m for m in modules if getattr(m, name, None) is original]
        assert bound, f"{name} is bound in no icecube_stac module"
        for module in bound:
            monkeypatch.setattr(module, name, counting)
    return counts


def test_index_reads_each_product_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import icecube_stac._collections as collections_module
    import icecube_stac.catalog  # noqa: F401  (every stage module loaded before counting)
    from icecube_stac._discovery import _product_files
    from icecube_stac.formats import read_product_metadata
    from icecube_stac.formats.xml import read_xml_fields
    from icecube_stac.stac import create_item

    data = tmp_path / "data"
    products = [
        write_product(
            ProductSpec(
                level=level,  # type: ignore[arg-type]
                image_id=310000 + i,
                acquisition_start=datetime(2024, 3, 1, 6, 0, 0) + timedelta(days=i),
                quicklook=True,
                seed=i,
            ),
            data / f"q{i}",
        )
        for i, level in enumerate(["GRD", "GRD", "GRD", "SLC", "SLC"])
    ]
    assert all(p.xml is not None and p.quicklook is not None for p in products)  # three files per product
    counts = _count_calls(
        monkeypatch,
        {
            "_product_files": _product_files,  # a product's files looked up (in its folder's listing)
            "read_product_metadata": read_product_metadata,
            "read_xml_fields": read_xml_fields,
            "create_item": create_item,
            "collection_summaries": collections_module.collection_summaries,
            "collection_extent": collections_module.collection_extent,
        },
    )
    to_dict, from_dict = pystac.Item.to_dict, pystac.Item.from_dict
    conversions = {"to_dict": 0, "from_dict": 0}

    def counted_to_dict(self: pystac.Item, *args: object, **kwargs: object) -> dict[str, object]:
        conversions["to_dict"] += 1
        return to_dict(self, *args, **kwargs)  # type: ignore[arg-type]

    def counted_from_dict(*args: object, **kwargs: object) -> object:
        conversions["from_dict"] += 1
        return from_dict(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pystac.Item, "to_dict", counted_to_dict)
    monkeypatch.setattr(pystac.Item, "from_dict", classmethod(lambda cls, *a, **k: counted_from_dict(*a, **k)))
    catalog = tmp_path / "cat"
    report = index([data], catalog)
    assert report.ok and len(report.added) == 5
    n = len(products)
    # Files found once, metadata (and each XML) read once, the item built and turned into its dict once per
    # product, never rebuilt from a dict; extent and summaries computed once per collection.
    assert counts == {
        "_product_files": n,
        "read_product_metadata": n,
        "read_xml_fields": n,
        "create_item": n,
        "collection_summaries": 2,
        "collection_extent": 2,
    }
    assert conversions == {"to_dict": n, "from_dict": 0}
    # A no-op re-index looks every product's files up once and reads nothing.
    counts.update(dict.fromkeys(counts, 0))
    conversions.update(to_dict=0, from_dict=0)
    report = index([data], catalog)
    assert not report.written and len(report.unchanged) == n
    assert counts == dict.fromkeys(counts, 0) | {"_product_files": n}
    assert conversions == {"to_dict": 0, "from_dict": 0}
