"""Stage 54: catalogs made elsewhere (a static catalog.json tree, local or over http, and stac-geoparquet files)
are searched with our selection semantics and build the same cubes as the COGs read locally.

The open-data catalog is generated in ICEYE's layout (scene items bundling grd-cog, slc-cog, quicklooks and
assets with empty hrefs) and served by the range-request server of stage 64 on 127.0.0.1.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import time
import warnings
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import pytest

from icecube_stac import build_cube, load_config, load_cube, search
from icecube_stac._crawl import ExternalCatalogWarning, Fetcher, crawl
from icecube_stac._crawl_cache import CACHE_ENV, CachedCatalog
from icecube_stac._external_catalog import ExternalCatalog, ExternalParquet
from icecube_stac._parquet import write_parquet
from icecube_stac.errors import SearchError
from icecube_stac.formats.cog import item_from_cog_product
from icecube_stac.iceye_items import IceyeSchemaWarning
from icecube_stac.search import LocalCatalog, StacApi, open_backend, to_search_body
from icecube_stac.testing.cog import CogProductSpec, daily_stack_specs, write_opendata_catalog
from tests.support.http_files import RangeHandler, serving

ALL_DATES = {"start_date": 20000101, "end_date": 20991231}
VAR = {"GRD": "amplitude", "SLC": "slc"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("served54")
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory=str(root)))) as base:
        yield base, root


def _specs() -> list[CogProductSpec]:
    stack = daily_stack_specs(3, levels=("GRD", "SLC"))
    other = dataclasses.replace(
        stack[0],
        level="GRD",
        image_id=5200001,
        look_side="left",
        orbit_direction="ascending",
        acquisition_start=datetime(2025, 3, 5, 23, 10, 1),
        incidence_center=36.5,
    )
    return [*stack, other]


@pytest.fixture(scope="module")
def opendata(served: tuple[str, Path]) -> Any:
    return write_opendata_catalog(_specs(), served[1] / "opendata")


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


def _local_cube(opendata: Any, level: str, **keys: Any) -> Any:
    """The same products read locally from their COG and side-car item, in time order."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IceyeSchemaWarning)
        items = [
            item_from_cog_product(p.tif)
            for scene in opendata.scenes
            for p in scene.products
            if p.spec.level == level and all(getattr(p.spec, k) == v for k, v in keys.items())
        ]
    items.sort(key=lambda i: i.properties["start_datetime"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_cube(items)


def _cube(catalog: str, level: str, **extra: Any) -> Any:
    config = load_config({"catalog": catalog, "product_type": level, **ALL_DATES, **extra})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the stack's shapes differ by a pixel: padded, with a warning
        return load_cube(config)


def _locations(opendata: Any, served: tuple[str, Path]) -> dict[str, str]:
    base, root = served
    return {
        "http": f"{base}/{opendata.catalog.relative_to(root).as_posix()}",
        "catalog.json": str(opendata.catalog),
        "folder": str(opendata.root),
    }


@pytest.mark.parametrize("where", ["http", "catalog.json", "folder"])
@pytest.mark.parametrize("level", ["GRD", "SLC"])
def test_open_data_catalog_builds_the_cube_of_the_local_cogs(
    opendata: Any, served: tuple[str, Path], where: str, level: str
) -> None:
    catalog = _locations(opendata, served)[where]
    got = _cube(catalog, level, look_side="right")
    expected = _local_cube(opendata, level, look_side="right")
    assert got.sizes["time"] == 3
    np.testing.assert_array_equal(got[VAR[level]].values, expected[VAR[level]].values)
    np.testing.assert_array_equal(got["time"].values, expected["time"].values)
    # Each product is described by its side-car (grd-json / slc-json): ICEYE's full metadata, calibration included.
    np.testing.assert_array_equal(got["calibration_factor"].values, expected["calibration_factor"].values)
    assert np.isfinite(got["calibration_factor"].values).all()
    # ICEYE keeps the GRD band SCALE in the TIFF header only: the cube reads it there, so sigma0 is that of
    # the locally indexed products (the side-car items carry none; without it sigma0 was NaN).
    if level == "GRD":
        for name in ("amplitude_scale", "amplitude_offset"):
            np.testing.assert_array_equal(got[name].values, expected[name].values)
        assert np.isfinite(got["amplitude_scale"].values).all() and (got["amplitude_scale"].values != 1).all()
        np.testing.assert_allclose(got.iceye.sigma0().values, expected.iceye.sigma0().values, rtol=1e-6)
        assert np.isfinite(got.iceye.sigma0().values).any()
    hrefs = got["data_href"].values.tolist()
    assert all(h.startswith(served[0]) if where == "http" else Path(h).is_file() for h in hrefs)
    assert all(h.endswith(f"_{level}.tif") for h in hrefs), "product_type picks the grd-cog or slc-cog asset"
    ids = got["id"].values.tolist()
    assert ids == [
        f"{scene.stem}_{level}"
        for scene in opendata.scenes
        if scene.item["properties"]["sar:observation_direction"] == "right"
    ]


def test_scene_items_become_one_item_per_product_without_empty_assets(opendata: Any) -> None:
    found = search(load_config({"catalog": str(opendata.catalog), **ALL_DATES}))
    assert len(found) == 7  # 3 scenes of GRD + SLC, one GRD-only scene
    for item in found:
        assert item.properties["product:type"] in ("GRD", "SLC")
        assert item.id == f"{item.properties['icecube:scene_item']}_{item.properties['product:type']}"
        assert all(asset.href for asset in item.assets.values())
        assert "qlk-json" not in item.assets  # an empty href in the scene item
        assert item.assets["data"].href == item.assets[f"{item.properties['product:type'].lower()}-cog"].href
        assert item.get_self_href() is not None and Path(item.get_self_href() or "").is_file()


def _our_catalog(opendata: Any, tmp_path: Path) -> Path:
    """The same normalised items in a catalog folder of our own (items.parquet as the indexer writes it)."""
    items = ExternalCatalog(str(opendata.catalog)).search({})
    folder = tmp_path / "ours"
    folder.mkdir()
    rows = [{k: v for k, v in item.items() if k != "links"} | {"links": []} for item in items]
    write_parquet(folder / "items.parquet", rows)
    return folder


CONFIGS: dict[str, dict[str, Any]] = {
    "all": {},
    "grd": {"product_type": "GRD"},
    "dates on end_datetime": {"start_date": 20250302, "end_date": 20250303},
    "incidence": {"min_incidence_angle": 35},
    "orbit": {"orbit_state": "ascending"},
    "look side": {"look_side": "right", "product_type": "SLC"},
    "bbox": {"bbox": [-20.0, 25.0, -14.0, 31.0]},
    "bbox elsewhere": {"bbox": [0.0, 0.0, 1.0, 1.0]},
    "intersects": {"intersects": "the centre of the first scene"},
    "filter": {"filter": "\"sat:orbit_state\" = 'descending' AND \"product:type\" = 'GRD'"},
    "max_items": {"max_items": 2},
    "latest of a day": {"temporal_overlap": False, "max_items": 3},
    "space overlap": {"space_overlap": True, "product_type": "GRD"},
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_same_selection_as_our_own_catalog(opendata: Any, tmp_path: Path, name: str) -> None:
    ours = _our_catalog(opendata, tmp_path)
    keys = {**ALL_DATES, **CONFIGS[name]}
    if "intersects" in keys:
        west, south, east, north = opendata.scenes[0].item["bbox"]
        keys["intersects"] = {"type": "Point", "coordinates": [(west + east) / 2, (south + north) / 2]}
    external = [i.id for i in search(load_config({**keys, "catalog": str(opendata.catalog)}))]
    own = [i.id for i in search(load_config(keys), backend=LocalCatalog(ours))]
    assert external == own
    if name not in ("all", "bbox", "intersects"):
        assert len(external) < 7, "each config selects"
    assert (external == []) is (name == "bbox elsewhere")


def _scene_rows(opendata: Any) -> list[dict[str, Any]]:
    """The raw scene items with hrefs relative to the catalog root (where the parquet is written)."""
    rows = []
    for scene in opendata.scenes:
        item = copy.deepcopy(scene.item)
        for asset in item["assets"].values():
            if asset["href"]:
                asset["href"] = asset["href"].removeprefix("../../../")
        item["links"] = []
        rows.append(item)
    return rows


@pytest.mark.parametrize("writer", ["stac_geoparquet", "rustac"])
def test_stac_geoparquet_files_build_the_same_cube(
    opendata: Any, served: tuple[str, Path], writer: str, tmp_path: Path
) -> None:
    base, root = served
    path = opendata.root / f"scenes-{writer}.parquet"
    if writer == "rustac":
        import asyncio

        import rustac

        async def write() -> None:
            await rustac.write(str(path), _scene_rows(opendata))

        asyncio.run(write())
    else:
        import stac_geoparquet.arrow

        table = stac_geoparquet.arrow.parse_stac_items_to_arrow(_scene_rows(opendata)).read_all()
        stac_geoparquet.arrow.to_parquet(table, path)
    expected = _local_cube(opendata, "GRD", look_side="right")
    for catalog in (str(path), f"{base}/{path.relative_to(root).as_posix()}"):
        assert isinstance(open_backend(catalog), ExternalParquet)
        got = _cube(catalog, "GRD", look_side="right")
        np.testing.assert_array_equal(got["amplitude"].values, expected["amplitude"].values)
    slc = _cube(str(path), "SLC")
    np.testing.assert_array_equal(slc["slc"].values, _local_cube(opendata, "SLC")["slc"].values)


def _tree(tmp_path: Path, opendata: Any) -> Path:
    """A writable copy of the open-data catalog's JSON documents (assets stay where they are)."""
    out = tmp_path / "tree"
    for path in opendata.root.rglob("*.json"):
        if "stac-items" in path.parts or path.parent.name in ("collections",) or path.name == "catalog.json":
            target = out / path.relative_to(opendata.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    for item in (out / "stac-items").rglob("*.json"):
        data = json.loads(item.read_text())
        for asset in data["assets"].values():
            if asset["href"]:
                asset["href"] = str((opendata.root / item.parent.relative_to(out) / asset["href"]).resolve())
        item.write_text(json.dumps(data))
    return out


def _files(folder: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in folder.rglob("*")}


def test_cache_outside_the_catalog_and_refreshed_when_it_changes(opendata: Any, tmp_path: Path, cache: Path) -> None:
    tree = _tree(tmp_path, opendata)
    before = _files(tree)
    config = load_config({"catalog": str(tree / "catalog.json"), **ALL_DATES})
    assert len(search(config)) == 7
    assert _files(tree) == before, "nothing is written into the catalog"
    cached = list(cache.rglob("items.parquet"))
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    assert len(search(config)) == 7 and cached[0].stat().st_mtime_ns == stamp, "unchanged: the cache is reused"
    # An item changed in place (its SLC product dropped): the next search sees it.
    item_file = next(
        f for f in (tree / "stac-items").rglob("*.json") if "slc-cog" in json.loads(f.read_text())["assets"]
    )
    data = json.loads(item_file.read_text())
    del data["assets"]["slc-cog"]
    item_file.write_text(json.dumps(data))
    os.utime(item_file, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))  # a new mtime even on a coarse clock
    found = search(config)
    assert len(found) == 6 and f"{data['id']}_SLC" not in [i.id for i in found]
    assert f"{data['id']}_GRD" in [i.id for i in found]
    # An item removed from its collection: gone from the next search.
    collection = tree / "collections" / "iceye-sar.json"
    document = json.loads(collection.read_text())
    document["links"] = [link for link in document["links"] if data["id"] not in link["href"]]
    collection.write_text(json.dumps(document))
    assert all(i.properties["icecube:scene_item"] != data["id"] for i in search(config))


def test_the_cache_manifest_never_stores_the_catalog_urls_password(cache: Path) -> None:
    location = "https://user:s3cret@example.com/stac/catalog.json?token=t0ken"
    CachedCatalog(location, cache).write([], lambda path: 0, {})
    entry = CachedCatalog(location, cache)
    text = (entry.entry / "manifest.json").read_text()
    assert "s3cret" not in text and "t0ken" not in text
    manifest = json.loads(text)
    assert manifest["key"] == "https://user:***@example.com/stac/catalog.json?token=***"
    assert entry.manifest() == manifest  # found again: compared by the hash naming the folder
    # Another password redacts the same: its entry never takes this manifest for its own.
    other = CachedCatalog("https://user:other@example.com/stac/catalog.json?token=t0ken", cache)
    other.entry.mkdir(parents=True)
    (other.entry / "manifest.json").write_text(text)
    assert other.manifest() is None
    # A manifest written before (the location in full, no hash) is still read.
    older = {k: v for k, v in manifest.items() if k != "key_sha256"} | {"key": location}
    (entry.entry / "manifest.json").write_text(json.dumps(older))
    assert entry.manifest() == older


def test_http_cache_revalidated_with_conditional_requests(opendata: Any, served: tuple[str, Path], cache: Path) -> None:
    base, root = served
    url = f"{base}/{opendata.catalog.relative_to(root).as_posix()}"
    config = load_config({"catalog": url, "product_type": "GRD", **ALL_DATES})
    assert len(search(config)) == 4
    cached = next(cache.rglob("items.parquet"))
    stamp = cached.stat().st_mtime_ns
    assert len(search(config)) == 4 and cached.stat().st_mtime_ns == stamp
    collection = opendata.collection
    original = collection.read_text()
    try:
        document = json.loads(original)
        document["links"] = [
            link for link in document["links"] if link["rel"] != "item" or "20250305" not in link["href"]
        ]
        collection.write_text(json.dumps(document))
        os.utime(collection, ns=(time.time_ns() + 5 * 10**9, time.time_ns() + 5 * 10**9))  # a later Last-Modified
        assert len(search(config)) == 3
    finally:
        collection.write_text(original)


def _write(path: Path, document: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return path


def _catalog(links: list[dict[str, str]], kind: str = "Catalog", name: str = "c") -> dict[str, Any]:
    document: dict[str, Any] = {"type": kind, "stac_version": "1.0.0", "id": name, "description": "x", "links": links}
    if kind == "Collection":
        document |= {
            "license": "proprietary",
            "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [[None, None]]}},
        }
    return document


def test_bad_catalogs_are_errors_naming_the_href(served: tuple[str, Path], tmp_path: Path) -> None:
    base, root = served
    bad = root / "bad"
    _write(bad / "feature.json", {"type": "Feature", "id": "x"})
    with pytest.raises(SearchError, match=r"bad/feature\.json is neither a STAC API landing page"):
        open_backend(f"{base}/bad/feature.json")
    with pytest.raises(SearchError, match=r"cannot read the catalog .*bad/missing\.json.*404"):
        open_backend(f"{base}/bad/missing.json")
    broken = _write(bad / "broken" / "catalog.json", _catalog([{"rel": "child", "href": "./nowhere/collection.json"}]))
    for catalog in (str(broken), f"{base}/bad/broken/catalog.json"):
        with pytest.raises(
            SearchError, match=r"cannot read the catalog document .*nowhere/collection\.json \(linked from"
        ):
            search(load_config({"catalog": catalog}))
    loop = _write(bad / "loop" / "catalog.json", _catalog([{"rel": "child", "href": "./sub/catalog.json"}]))
    _write(bad / "loop" / "sub" / "catalog.json", _catalog([{"rel": "child", "href": "../catalog.json"}], name="sub"))
    with pytest.raises(
        SearchError, match=r"sub/catalog\.json links .*loop/catalog\.json as a child, which is its own ancestor"
    ):
        search(load_config({"catalog": str(loop)}))
    not_stac = _write(bad / "odd" / "catalog.json", _catalog([{"rel": "child", "href": "./child.json"}]))
    _write(bad / "odd" / "child.json", "[1, 2]")
    with pytest.raises(SearchError, match=r"odd/child\.json \(linked from .*\) is not a STAC catalog or collection"):
        search(load_config({"catalog": str(not_stac)}))
    with pytest.raises(SearchError, match="inside the catalog"):
        ExternalCatalog(str(loop), cache=bad / "loop" / ".cache")


def test_bad_items_are_skipped_with_a_warning_naming_them(opendata: Any, tmp_path: Path) -> None:
    tree = _tree(tmp_path, opendata)
    collection = tree / "collections" / "iceye-sar.json"
    document = json.loads(collection.read_text())
    _write(tree / "stac-items" / "bad" / "truncated.json", '{"type": "Feature", "id": ')
    _write(
        tree / "stac-items" / "bad" / "timeless.json",
        {
            "type": "Feature",
            "stac_version": "1.0.0",
            "id": "t",
            "geometry": None,
            "properties": {},
            "links": [],
            "assets": {},
        },
    )
    for name in ("truncated", "timeless", "absent"):
        document["links"].append({"rel": "item", "href": f"../stac-items/bad/{name}.json"})
    collection.write_text(json.dumps(document))
    with pytest.warns(ExternalCatalogWarning) as caught:
        found = search(load_config({"catalog": str(tree), **ALL_DATES}))
    assert len(found) == 7
    messages = " | ".join(str(w.message) for w in caught)
    for name in ("truncated.json", "timeless.json", "absent.json"):
        assert f"stac-items/bad/{name}" in messages
    assert "neither datetime nor start_datetime" in messages and "not JSON" in messages


_DEEP = ("[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000)


@pytest.mark.parametrize("deep", _DEEP, ids=["array", "object"])
def test_deeply_nested_documents_are_errors_naming_them_or_skipped_items(tmp_path: Path, deep: str) -> None:
    root = _write(tmp_path / "deep" / "catalog.json", deep)
    with pytest.raises(SearchError, match=r"cannot read the catalog document .*deep/catalog\.json: not JSON"):
        crawl(str(root), Fetcher(None, 5))
    _write(tmp_path / "child" / "sub.json", deep)
    parent = _write(tmp_path / "child" / "catalog.json", _catalog([{"rel": "child", "href": "./sub.json"}]))
    with pytest.raises(SearchError, match=r"child/sub\.json \(linked from .*child/catalog\.json\): not JSON"):
        crawl(str(parent), Fetcher(None, 5))
    _write(tmp_path / "items" / "good.json", _plain_item("good"))
    _write(tmp_path / "items" / "deep.json", deep)
    links = [{"rel": "item", "href": "./deep.json"}, {"rel": "item", "href": "./good.json"}]
    catalog = _write(tmp_path / "items" / "catalog.json", _catalog(links))
    with pytest.warns(ExternalCatalogWarning, match=r"skipped the item .*items/deep\.json: not JSON"):
        found = crawl(str(catalog), Fetcher(None, 5))
    assert [i.data["id"] for i in found.items] == ["good"]


def test_a_null_byte_in_a_child_or_item_href_names_it_or_skips_the_item(tmp_path: Path) -> None:
    child = _write(tmp_path / "child" / "catalog.json", _catalog([{"rel": "child", "href": "./a\x00b.json"}]))
    with pytest.raises(SearchError, match=r"document .*child/a\x00b\.json \(linked from .*\): embedded null byte"):
        crawl(str(child), Fetcher(None, 5))
    _write(tmp_path / "items" / "good.json", _plain_item("good"))
    links = [{"rel": "item", "href": "./a\x00b.json"}, {"rel": "item", "href": "./good.json"}]
    catalog = _write(tmp_path / "items" / "catalog.json", _catalog(links))
    with pytest.warns(ExternalCatalogWarning, match=r"skipped the item .*items/a\x00b\.json: embedded null byte"):
        found = crawl(str(catalog), Fetcher(None, 5))
    assert [i.data["id"] for i in found.items] == ["good"]


class _BadLengthHandler(BaseHTTPRequestHandler):
    """Answers every GET with a Content-Length that is not a number."""

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "abc")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"{}")


def test_a_content_length_that_is_not_a_number_is_an_error_naming_the_href() -> None:
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _BadLengthHandler)) as base:
        href = f"{base}/odd/catalog.json"
        with pytest.raises(SearchError, match=r"odd/catalog\.json: invalid Content-Length 'abc'"):
            crawl(href, Fetcher(None, 5))


def test_api_landing_pages_and_plain_urls_route_to_the_api(served: tuple[str, Path]) -> None:
    base, root = served
    landing = {
        "type": "Catalog",
        "id": "api",
        "description": "x",
        "stac_version": "1.0.0",
        "conformsTo": [],
        "links": [],
    }
    _write(root / "api" / "landing.json", landing)
    assert isinstance(open_backend(f"{base}/api/landing.json"), StacApi)
    assert isinstance(open_backend(f"{base}/api"), StacApi)


def test_our_catalogs_are_still_searched_in_place(opendata: Any, tmp_path: Path, cache: Path) -> None:
    ours = _our_catalog(opendata, tmp_path)
    assert isinstance(open_backend(str(ours)), LocalCatalog)
    assert len(open_backend(str(ours)).search(to_search_body(load_config(ALL_DATES)))) == 7
    assert not cache.exists() or not list(cache.rglob("items.parquet"))[1:]  # nothing cached for our own


def test_items_of_another_kind_are_kept_as_they_are(tmp_path: Path) -> None:
    item = pystac.Item(
        "plain",
        {"type": "Point", "coordinates": [1.0, 2.0]},
        [1.0, 2.0, 1.0, 2.0],
        datetime(2024, 5, 1),
        {"product:type": "GRD"},
    )
    item.add_asset("data", pystac.Asset("data/plain.tif", roles=["data"]))
    folder = tmp_path / "plain"
    catalog = pystac.Catalog("plain", "x")
    catalog.add_item(item)
    catalog.normalize_hrefs(str(folder))
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    found = search(load_config({"catalog": str(folder / "catalog.json"), "product_type": "GRD", **ALL_DATES}))
    assert [i.id for i in found] == ["plain"]
    assert found[0].assets["data"].href == str((folder / "plain" / "data" / "plain.tif").resolve())
    assert found[0].properties["end_datetime"] == found[0].properties["datetime"]  # dated by its only instant
    # Properties the item lacks select nothing (as CQL2 says), they do not fail.
    for keys in ({"min_incidence_angle": 10}, {"orbit_state": "ascending"}, {"polarizations": ["VV"]}):
        assert len(search(load_config({"catalog": str(folder), **ALL_DATES, **keys}))) == 0


def _plain_item(name: str) -> dict[str, Any]:
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": name,
        "geometry": {"type": "Point", "coordinates": [1.0, 2.0]},
        "bbox": [1.0, 2.0, 1.0, 2.0],
        "properties": {"datetime": "2024-05-01T00:00:00Z", "product:type": "GRD"},
        "links": [],
        "assets": {"data": {"href": f"{name}.tif", "roles": ["data"]}},
    }


def test_items_with_unusable_geometry_bbox_or_times_are_skipped_and_the_others_found(tmp_path: Path) -> None:
    point = {"type": "Point", "coordinates": [1.0, 2.0]}
    bad: dict[str, dict[str, Any]] = {
        "string_coordinates": {"geometry": {"type": "Polygon", "coordinates": "xx"}},
        "huge_coordinate": {"geometry": {"type": "Point", "coordinates": [10**400, 0]}},
        "nan_coordinate": {"geometry": {"type": "Point", "coordinates": [float("nan"), 0]}},
        "string_bbox": {"bbox": "abcd"},
        "short_bbox": {"bbox": [1.0, 2.0, 3.0]},
        "huge_bbox": {"bbox": [1.0, 2.0, 10**400, 2.0]},
        "bad_start": {"properties": {"datetime": None, "start_datetime": "x", "end_datetime": "2024-05-01T00:00:00Z"}},
        "bad_datetime": {"properties": {"datetime": "yesterday"}},
        "date_only": {"properties": {"datetime": "2024-05-01"}},  # ISO 8601 that dateutil takes, pyarrow not
        "nanoseconds": {"properties": {"datetime": "2024-05-01T00:00:00.123456789Z"}},
        "blob": {"geometry": {"type": "Blob"}},
    }
    folder = tmp_path / "hostile"
    links = [{"rel": "item", "href": "./good.json"}]
    _write(folder / "good.json", _plain_item("good") | {"geometry": point})
    for name, change in bad.items():
        _write(folder / f"{name}.json", _plain_item(name) | change)
        links.append({"rel": "item", "href": f"./{name}.json"})
    catalog = _write(folder / "catalog.json", _catalog(links))
    with pytest.warns(ExternalCatalogWarning) as caught:
        found = search(load_config({"catalog": str(catalog), "product_type": "GRD", **ALL_DATES}))
    assert [i.id for i in found] == ["good"]
    messages = [str(w.message) for w in caught]
    for name in bad:
        assert any(f"hostile/{name}.json" in m for m in messages), name


def test_items_that_cannot_be_stored_are_a_search_error_naming_the_catalog(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    catalog = pystac.Catalog("mixed", "x")
    for name, value in (("a", 1.5), ("b", {"nested": True})):
        when = datetime(2024, 5, 1)
        item = pystac.Item(
            name, {"type": "Point", "coordinates": [1.0, 2.0]}, [1.0, 2.0, 1.0, 2.0], when, {"odd": value}
        )
        item.add_asset("data", pystac.Asset(f"{name}.tif", roles=["data"]))
        catalog.add_item(item)
    catalog.normalize_hrefs(str(folder))
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    with pytest.raises(SearchError, match=r"mixed/catalog\.json: the items cannot be stored as stac-geoparquet"):
        search(load_config({"catalog": str(folder), **ALL_DATES}))


def test_a_raw_scene_item_is_not_guessed_into_a_product(opendata: Any) -> None:
    from icecube_stac.errors import LoadError
    from icecube_stac.item import parse_item

    scene = opendata.scenes[0]
    raw = pystac.Item.from_dict(copy.deepcopy(scene.item))
    with pytest.raises(LoadError, match=rf"{scene.stem}.*open-data scene item.*product_type picks grd-cog or slc-cog"):
        parse_item(raw)


class _Guarded(RangeHandler):
    """Answers only requests carrying the right header; one path never answers within the timeout."""

    def do_GET(self) -> None:
        if self.path.endswith("slow.json"):
            time.sleep(3)
        if self.headers.get("X-Token") != "s3cret":
            self.send_error(401)
            return
        super().do_GET()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """The client gave up on the slow answer (its timeout): nothing to report."""


def test_headers_are_sent_never_shown_and_timeouts_bound_each_request(opendata: Any, served: tuple[str, Path]) -> None:
    _, root = served
    with serving(_QuietServer(("127.0.0.1", 0), partial(_Guarded, directory=str(root)))) as base:
        url = f"{base}/{opendata.catalog.relative_to(root).as_posix()}"
        with pytest.raises(SearchError, match="401") as denied:
            search(load_config({"catalog": url, "headers": {"X-Token": "wrong"}}))
        assert "wrong" not in str(denied.value)
        config = load_config({"catalog": url, "headers": {"X-Token": "s3cret"}, "product_type": "GRD", **ALL_DATES})
        assert len(search(config)) == 4
        _write(root / "slow" / "slow.json", _catalog([]))
        with pytest.raises(SearchError, match=r"slow\.json.*ReadTimeout"):  # the server answers after 3 s
            open_backend(f"{base}/slow/slow.json", headers={"X-Token": "s3cret"}, timeout=0.5)


def test_a_scene_without_a_usable_side_car_is_described_by_its_own_properties(opendata: Any, tmp_path: Path) -> None:
    tree = _tree(tmp_path, opendata)
    item_file = next(
        f for f in (tree / "stac-items").rglob("*.json") if "slc-json" in json.loads(f.read_text())["assets"]
    )
    data = json.loads(item_file.read_text())
    data["assets"]["slc-json"]["href"] = str(tmp_path / "gone" / "side-car.json")
    item_file.write_text(json.dumps(data))
    with pytest.warns(ExternalCatalogWarning, match=r"gone/side-car\.json of the ICEYE scene item .* cannot be used"):
        found = search(load_config({"catalog": str(tree), "product_type": "SLC", **ALL_DATES}))
    by_id = {i.id: i for i in found}
    assert len(by_id) == 3
    fallback = by_id[f"{data['id']}_SLC"]
    assert "iceye:calibration_factor" not in fallback.properties and "icecube:product_item" not in fallback.properties
    others = [i for key, i in by_id.items() if key != fallback.id]
    assert all("iceye:calibration_factor" in i.properties and "icecube:product_item" in i.properties for i in others)
