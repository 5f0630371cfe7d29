"""Stage 59: search rows → pystac items straight from Arrow (no item dicts in between) equal ``Item.from_dict``
of the item dicts, attribute for attribute; rows the direct path does not cover take the dict path."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import pyarrow as pa
import pystac
import pytest
import stac_geoparquet.arrow

from icecube_stac._arrow_items import table_to_items
from icecube_stac._arrow_pystac import table_to_pystac
from icecube_stac._duckdb_search import query_parquet
from icecube_stac._pystac_objects import _fast, new_asset, new_item, new_link
from icecube_stac._rebase import Rebase
from icecube_stac.config import load_config
from icecube_stac.search import LocalCatalog, search, to_search_body
from tests.test_56_search_backends import CONFIGS
from tests.test_59_embedded_search import SORTBY, _item_state, _odd_item, catalog

__all__ = ["catalog"]  # the indexed catalog fixture of test_59_embedded_search, shared

VERSION_EXTENSION = "https://stac-extensions.github.io/version/v1.2.0/schema.json"


def _reference(local: LocalCatalog, body: dict[str, Any], *, migrate: bool = False) -> list[pystac.Item]:
    return [pystac.Item.from_dict(d, preserve_dict=False, migrate=migrate) for d in local.search(body)]


def _states(items: list[pystac.Item]) -> list[dict[str, Any]]:
    return [_item_state(item) for item in items]


def test_the_constructor_free_objects_are_checked_and_used() -> None:
    assert _fast()  # this pystac's objects are the ones the builders make: the direct path is on


@pytest.mark.parametrize("name", list(CONFIGS))
def test_indexed_catalog_items_equal_from_dict(catalog: Path, name: str) -> None:
    local = LocalCatalog(catalog)
    body = to_search_body(load_config(CONFIGS[name]))
    table = query_parquet(local.parquet, body)
    direct = table_to_pystac(table, Rebase(local.root, local.parquet))
    assert direct is not None  # our own catalogs always take the direct path
    assert _states(direct) == _states(_reference(local, body))
    if direct:
        assert any(link.rel == "self" for link in direct[0].links)  # the indexer's JSON files are linked


def _write(root: Path, items: list[dict[str, Any]]) -> LocalCatalog:
    (root / "odd" / "items").mkdir(parents=True, exist_ok=True)
    table = stac_geoparquet.arrow.parse_stac_items_to_arrow(items).read_all()
    stac_geoparquet.arrow.to_parquet(table, root / "items.parquet")
    return LocalCatalog(root)


def test_unusual_rows_equal_from_dict(tmp_path: Path) -> None:
    """Nulls in lists and structs, an asset only some rows have, extra asset fields, points, whole seconds."""
    items = [
        _odd_item("a", {"type": "Point", "coordinates": [0.5, 0.5]}, "2024-01-01T00:00:00Z", tags=[1, None, 3]),
        _odd_item("b", {"type": "Point", "coordinates": [2.0, 2.0]}, "2024-01-02T00:00:00.120Z", nested={"b": "x"}),
        _odd_item("c", {"type": "Point", "coordinates": [5.5, 6.25]}, "2024-01-03T00:00:00.000001Z", tags=None),
    ]
    items[1]["assets"]["thumbnail"] = {"href": "b.png", "type": "image/png", "extra:list": [None, "y"]}
    items[2]["assets"]["data"]["description"] = "D"
    items[2]["assets"]["data"]["href"] = "/absolute/c.tif"
    (tmp_path / "odd" / "items").mkdir(parents=True)
    (tmp_path / "odd" / "items" / "b.json").write_text("{}", encoding="utf-8")  # a self link for b only
    local = _write(tmp_path, items)
    body = {"sortby": SORTBY}
    found = local.search_items(body)
    assert _states(found) == _states(_reference(local, body))
    assert [len(item.assets) for item in found] == [1, 2, 1]
    assert found[2].assets["data"].href == "/absolute/c.tif"
    assert [[link.rel for link in item.links] for item in found] == [
        ["collection"],
        ["collection", "self"],
        ["collection"],
    ]


def test_rows_of_another_stac_version_take_the_dict_path(tmp_path: Path) -> None:
    old = _odd_item("a", {"type": "Point", "coordinates": [0.5, 0.5]}, "2024-01-01T00:00:00Z")
    old["stac_version"] = "1.0.0"
    local = _write(tmp_path, [old])
    table = query_parquet(local.parquet, {})
    assert table_to_pystac(table, Rebase(local.root, local.parquet)) is None
    assert _states(local.search_items({})) == _states(_reference(local, {}, migrate=True))


def test_a_deprecated_item_warns_on_the_direct_path_too(tmp_path: Path) -> None:
    item = _odd_item("a", {"type": "Point", "coordinates": [0.5, 0.5]}, "2024-01-01T00:00:00Z")
    item["stac_extensions"] = [VERSION_EXTENSION]
    item["properties"] |= {"version": "1", "deprecated": True}
    local = _write(
        tmp_path, [item, _odd_item("b", {"type": "Point", "coordinates": [1.0, 1.0]}, "2024-01-02T00:00:00Z")]
    )
    with pytest.warns(pystac.DeprecatedWarning, match="'a' is deprecated"):
        found = local.search_items({"sortby": SORTBY})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _states(found) == _states(_reference(local, {"sortby": SORTBY}))


def test_an_item_without_datetime_or_interval_fails_as_from_dict_does(tmp_path: Path) -> None:
    item = _odd_item("a", {"type": "Point", "coordinates": [0.5, 0.5]}, "2024-01-01T00:00:00Z")
    item["properties"] = {"datetime": "2024-01-01T00:00:00Z"}
    local = _write(tmp_path, [item])
    table = query_parquet(local.parquet, {}).set_column(
        query_parquet(local.parquet, {}).column_names.index("datetime"),
        "datetime",
        pa.nulls(1, pa.timestamp("us", tz="UTC")),
    )
    with pytest.raises(pystac.STACError, match="If datetime is None"):
        table_to_pystac(table, Rebase(local.root, local.parquet))
    with pytest.raises(pystac.STACError, match="If datetime is None"):
        pystac.Item.from_dict(table_to_items(table)[0], migrate=False)


@pytest.mark.parametrize(
    ("rel", "href"),
    [
        ("self", "/plain/a.json"),
        ("self", "relative/a.json"),  # made absolute against the working directory, as Link does
        ("self", "/with;params/a.json"),
        ("self", "/query?/a.json"),
        ("self", "//network/a.json"),
        ("collection", "back\\slash.json"),
        ("collection", "https://example.com/c.json"),
    ],
)
def test_links_equal_the_constructors(rel: str, href: str) -> None:
    owner = new_item("i", geometry=None, bbox=None, moment=None, properties={"start_datetime": 1, "end_datetime": 2})
    made = new_link(rel, href, owner, media_type="application/json", title="T", extra_fields={"x": 1})
    expected = pystac.Link(rel, href, "application/json", "T", {"x": 1})
    expected.owner = owner
    assert vars(made) == vars(expected)


@pytest.mark.parametrize("href", ["/a/b.tif", "relative/b.tif", "C:\\data\\b.tif", "s3://bucket/b.tif"])
def test_assets_equal_the_constructor(href: str) -> None:
    made = new_asset(href, media_type="image/tiff", title="T", roles=["data"], extra_fields={"proj:shape": [1, 2]})
    expected = pystac.Asset(href, "T", None, "image/tiff", ["data"], {"proj:shape": [1, 2]})
    assert vars(made) == vars(expected)


def test_search_returns_the_direct_items(catalog: Path) -> None:
    config = load_config(CONFIGS[next(iter(CONFIGS))], catalog=str(catalog))
    found = search(config)
    assert all(type(item) is pystac.Item and all(a.owner is item for a in item.assets.values()) for item in found)
    assert json.loads(json.dumps([item.to_dict() for item in found]))  # serialisable as pystac writes them
    assert all(os.path.isabs(a.href) for item in found for a in item.assets.values())
