"""Stage 59: search rows → pystac items straight from Arrow (no item dicts in between) equal ``Item.from_dict``
of the item dicts, attribute for attribute; rows the direct path does not cover take the dict path."""

from __future__ import annotations

import json
import os
import struct
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pystac
import pytest
import stac_geoparquet.arrow
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icecube_stac._arrow_buffers import same_value, simple_polygons
from icecube_stac._arrow_items import array_values, column_values, drop_nulls, field_values, row_dicts, table_to_items
from icecube_stac._arrow_pystac import table_to_pystac
from icecube_stac._duckdb_search import query_parquet
from icecube_stac._items import item_from_dict, parse_datetime
from icecube_stac._pystac_objects import _fast, item_maker, link_maker, new_asset, new_assets, new_item, new_link
from icecube_stac._rebase import Rebase
from icecube_stac._wkb import wkb_to_geojson
from icecube_stac.config import load_config
from icecube_stac.search import LocalCatalog, search, to_search_body
from tests.test_56_search_backends import CONFIGS
from tests.test_59_embedded_search import SORTBY, _item_state, _odd_item, catalog

__all__ = ["catalog"]  # the indexed catalog fixture of test_59_embedded_search, shared

VERSION_EXTENSION = "https://stac-extensions.github.io/version/v1.2.0/schema.json"
_HREF_PARTS = (*"/a.;?#:\\ \t\n\r%@[]&=+~é\x1f", "//", "..", "file:", "http://", "C:")


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


# --------------------------------------------------------------------------- adversarial: foreign rows, odd values

_WKB = bytes.fromhex("0101000000000000000000f03f0000000000000040")  # POINT (1 2)
_MOMENTS = (1_700_000_000_123_456, 0, -62_135_596_800_000_000, 253_402_300_800_000_000, 1)  # ..., year 10000
_TEXT = st.sampled_from(["a", "é", ";", "?", "\n", "\t", " ", "/", "\\", "", "#", ":", "%20"])
_NAMES = st.sampled_from(["data", "geometry", "bbox", "href", "", "x:y"])
_FIELDS = st.sampled_from(["href", "type", "title", "description", "roles", "", "geometry", "proj:shape"])


def _outcome(build: Any) -> tuple[Any, list[tuple[type[Warning], str]]]:
    """The items' states (or the error's type and text) and the warnings, in order."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result: Any = _states(build())
        except Exception as error:  # the error itself is what is compared
            result = (type(error), str(error))
    return result, [(w.category, str(w.message)) for w in caught]


def _same_as_from_dict(root: Path, table: pa.Table, files: list[str] = []) -> None:  # noqa: B006 - read only
    (root / "odd" / "items").mkdir(parents=True, exist_ok=True)
    for name in files:
        (root / "odd" / "items" / f"{name}.json").write_text("{}", encoding="utf-8")
    pq.write_table(table, root / "items.parquet")
    local = LocalCatalog(root)
    assert _outcome(lambda: local.search_items({})) == _outcome(lambda: _reference(local, {}))


def _table(rows: int, **columns: Any) -> pa.Table:
    data: dict[str, Any] = {
        "type": ["Feature"] * rows,
        "stac_version": [pystac.get_stac_version()] * rows,
        "id": [f"i{row}" for row in range(rows)],
        "geometry": pa.array([_WKB] * rows, pa.binary()),
        "collection": ["odd"] * rows,
        "datetime": pa.array([_MOMENTS[0]] * rows, pa.timestamp("us", tz="UTC")),
    }
    data.update(columns)
    return pa.table({name: value for name, value in data.items() if value is not None})


@st.composite
def _assets(draw: st.DrawFn, rows: int) -> pa.Array:
    """An assets struct column: odd asset and field names, nulls anywhere, values of other types."""
    assets = []
    for name in draw(st.lists(_NAMES, min_size=1, max_size=3, unique=True)):
        fields = draw(st.lists(_FIELDS, min_size=1, max_size=4, unique=True))
        kinds = {f: pa.list_(pa.string()) if f in ("roles", "proj:shape") else pa.string() for f in fields}
        if draw(st.booleans()):
            kinds[fields[0]] = pa.int64()
        values = [
            None if draw(st.integers(0, 4)) == 0 else {f: draw(st.none() | _value(kinds[f])) for f in fields}
            for _ in range(rows)
        ]
        assets.append((name, pa.struct(list(kinds.items())), values))
    kind = pa.struct([(name, struct) for name, struct, _ in assets])
    cells = [{name: values[row] for name, _, values in assets} for row in range(rows)]
    return pa.array([None if draw(st.integers(0, 5)) == 0 else cell for cell in cells], kind)


def _value(kind: pa.DataType) -> st.SearchStrategy[Any]:
    if kind == pa.int64():
        return st.integers(-3, 3)
    if pa.types.is_list(kind):
        return st.lists(st.none() | _TEXT, max_size=2)
    return st.lists(_TEXT, max_size=3).map("".join)


@st.composite
def _foreign(draw: st.DrawFn) -> tuple[pa.Table, list[str]]:
    """A stac-geoparquet table as other writers make them, and the ids that get a JSON file."""
    rows = draw(st.integers(1, 4))
    ids = [draw(st.lists(_TEXT, min_size=1, max_size=3).map("".join)) + str(row) for row in range(rows)]
    unit, zone = draw(st.sampled_from(["s", "ms", "us", "ns"])), draw(st.sampled_from(["UTC", "Europe/Berlin", None]))
    scale = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 1}[unit]  # ns: the same ticks (years 1970 ± 292)
    ticks = [draw(st.none() | st.sampled_from(_MOMENTS)) for _ in range(rows)]
    moments = pa.array([None if t is None else t // scale for t in ticks], pa.timestamp(unit, tz=zone))
    interval = draw(st.booleans())
    stamps = pa.array([_MOMENTS[0]] * rows, pa.timestamp("us", tz="UTC")) if interval else None
    extensions = draw(st.sampled_from([None, [], [VERSION_EXTENSION], ["x", VERSION_EXTENSION]]))
    table = _table(
        rows,
        id=ids,
        collection=[draw(st.sampled_from(["odd", None, "o;d"])) for _ in range(rows)],
        datetime=moments,
        start_datetime=stamps,
        end_datetime=stamps,
        stac_extensions=None if extensions is None else pa.array([extensions] * rows, pa.list_(pa.string())),
        deprecated=[draw(st.none() | st.booleans()) for _ in range(rows)],
        assets=draw(_assets(rows)) if draw(st.integers(0, 5)) else None,
        tags=pa.array([draw(st.none() | st.lists(st.none() | _TEXT, max_size=2)) for _ in range(rows)]),
    )
    return table, [name for name in ids if "/" not in name and draw(st.booleans())]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(_foreign())
def test_foreign_tables_equal_from_dict_with_their_errors_and_warnings(case: tuple[pa.Table, list[str]]) -> None:
    table, files = case
    with tempfile.TemporaryDirectory() as folder:
        _same_as_from_dict(Path(folder), table, files)


def test_an_asset_field_without_a_name_is_no_extra_field(tmp_path: Path) -> None:
    # Asset.from_dict keeps extra fields only if any key is truthy (``any(d)``): {"": 1} leaves none.
    kind = pa.struct([("data", pa.struct([("href", pa.string()), ("", pa.int64())]))])
    _same_as_from_dict(tmp_path, _table(1, assets=pa.array([{"data": {"href": "a.tif", "": 1}}], kind)))


def test_link_and_asset_fields_without_a_name_in_item_dicts() -> None:
    data = _odd_item("a", {"type": "Point", "coordinates": [0.5, 0.5]}, "2024-01-01T00:00:00Z")
    data["assets"]["data"][""] = 1
    data["links"] = [{"rel": "collection", "href": "/c.json", "": 2}, {"rel": "x", "href": "/x", "": 3, "k": 4}]
    reference = pystac.Item.from_dict(json.loads(json.dumps(data)), preserve_dict=False, migrate=False)
    assert _item_state(item_from_dict(data)) == _item_state(reference)


def test_self_links_to_json_files_with_tabs_and_newlines_in_their_names(tmp_path: Path) -> None:
    # Link("self", ...) parses the target as a URL, which drops tabs and newlines (WHATWG): as the constructor.
    ids = ["a\tb", "c\nd", "e\rf"]
    _same_as_from_dict(tmp_path, _table(3, id=ids), files=ids)


def test_errors_come_in_row_order(tmp_path: Path) -> None:
    # Row 0: no datetime and no interval (STACError); row 1: year 10000 (dateutil's ValueError). from_dict
    # meets row 0 first.
    moments = pa.array([None, _MOMENTS[3]], pa.timestamp("us", tz="UTC"))
    _same_as_from_dict(tmp_path, _table(2, datetime=moments))


def test_a_type_column_of_lists_fails_as_from_dict(tmp_path: Path) -> None:
    _same_as_from_dict(tmp_path, _table(1, type=pa.array([["Feature"]])))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["self", "collection", "item", "root"]), st.lists(st.sampled_from(_HREF_PARTS)).map("".join))
def test_links_equal_the_constructors_for_any_href(rel: str, href: str) -> None:
    owner = new_item("i", geometry=None, bbox=None, moment=None, properties={"start_datetime": 1, "end_datetime": 2})

    def expected() -> pystac.Link:
        link = pystac.Link(rel, href, "application/json")
        link.owner = owner
        return link

    made = _made(lambda: new_link(rel, href, owner, media_type="application/json"))
    assert made == _made(expected)  # the same attributes, or the same error (urlparse's "Invalid IPv6 URL")
    # The link of a whole search's items, decided once for the href (fast, or the constructor each time).
    assert _made(lambda: link_maker(rel, href, "application/json")(owner)) == made


def _made(make: Any) -> Any:
    try:
        made = make()
    except ValueError as error:
        return str(error)
    return [vars(one) for one in made] if isinstance(made, list) else vars(made)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_HREF_PARTS)).map("".join))
def test_assets_equal_the_constructor_for_any_href(href: str) -> None:
    assert _made(lambda: new_asset(href, roles=["data"])) == _made(lambda: pystac.Asset(href, roles=["data"]))
    made = _made(
        lambda: new_assets([href, "/a.tif"], ["t", None], [None, "T"], ["D", None], [["data"], None], [{}, {}])
    )
    expected = [pystac.Asset(href, None, "D", "t", ["data"], {}), pystac.Asset("/a.tif", "T", None, None, None, {})]
    assert made == _made(lambda: expected)


def test_items_of_the_maker_equal_new_item() -> None:
    when = parse_datetime("2024-01-02T03:04:05.000006Z")
    for collection in ("c", None):
        for moment, properties in ((when, {"k": 1}), (None, {"start_datetime": "a", "end_datetime": "b"})):
            made = item_maker()("i", None, [1.0], moment, dict(properties), ["e"], collection, {"d": new_asset("/a")})
            expected = new_item(
                "i",
                geometry=None,
                bbox=[1.0],
                moment=moment,
                properties=dict(properties),
                stac_extensions=["e"],
                collection=collection,
                assets={"d": new_asset("/a")},
            )
            assert _item_state(made) == _item_state(expected)
            assert vars(made).keys() == vars(expected).keys()


@settings(max_examples=500, deadline=None)
@given(st.from_regex(r"[0-9٣]{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?(Z|z|[+-]\d\d:\d\d)", fullmatch=True))
def test_parse_datetime_is_str_to_datetime(text: str) -> None:
    """Same value and tzinfo type, or the same error (dateutil's), for RFC 3339-like text, valid or not."""

    def outcome(parse: Any) -> Any:
        try:
            value = parse(text)
        except ValueError as error:
            return str(error)
        return value, type(value.tzinfo), value.utcoffset()

    assert outcome(parse_datetime) == outcome(pystac.utils.str_to_datetime)


def test_self_links_through_linked_folders_and_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A catalog reached through a linked folder by a relative path; JSON files that are links (one dangling),
    a folder named like one: self links are the realpath of what isfile accepts, as before."""
    real = tmp_path / "real"
    (real / "odd" / "items" / "d.json").mkdir(parents=True)  # a folder: no self link
    (tmp_path / "elsewhere.json").write_text("{}", encoding="utf-8")
    (real / "odd" / "items" / "a.json").write_text("{}", encoding="utf-8")
    (real / "odd" / "items" / "b.json").symlink_to(tmp_path / "elsewhere.json")
    (real / "odd" / "items" / "c.json").symlink_to("nowhere.json")
    (tmp_path / "link").symlink_to(real)
    pq.write_table(_table(4, id=["a", "b", "c", "d"]), real / "items.parquet")
    monkeypatch.chdir(tmp_path)
    local = LocalCatalog("link")
    found = local.search_items({})
    assert _states(found) == _states(_reference(local, {}))
    selves = [[link.href for link in item.links if link.rel == "self"] for item in found]
    assert selves == [[str(real / "odd" / "items" / "a.json")], [str(tmp_path / "elsewhere.json")], [], []]
    assert found[0].links[0].href == str(real / "odd" / "collection.json")


_ODD = st.sampled_from(["a", "", "/x", "rel/x", "C:\\x", "a\nb", "/a;b", "http://h/x", "2024-01-01T00:00:00Z"])
_JSON = st.none() | _ODD | st.integers(-2, 2) | st.lists(_ODD, max_size=2) | st.dictionaries(_ODD, _ODD, max_size=2)
_WHEN = st.integers() | st.sampled_from(["2024-01-01T00:00:00Z", "2024-01-01T00:00:00+02:00", "2024-13-01T00:00:00Z"])
_LINK = st.dictionaries(
    st.sampled_from(["rel", "href", "type", "title", "", "x"]), st.sampled_from(["self", "item"]) | _JSON
)
_ASSET = st.none() | st.dictionaries(st.sampled_from(["href", "type", "title", "roles", "", "x"]), _JSON, max_size=5)


@st.composite
def _item_dicts(draw: st.DrawFn) -> dict[str, Any]:
    """Item dicts of the current version as a STAC API may send them: valid or not, nulls and odd types anywhere."""
    names = draw(st.lists(st.sampled_from(["datetime", "start_datetime", "end_datetime", "deprecated"]), unique=True))
    data: dict[str, Any] = {
        "type": draw(st.sampled_from(["Feature", "Collection", None])),
        "stac_version": pystac.get_stac_version(),
        "id": draw(_ODD | st.none()),
        "properties": {name: draw(_WHEN if "datetime" in name else _JSON) for name in names},
    }
    optional: dict[str, st.SearchStrategy[Any]] = {
        "geometry": _JSON,
        "stac_extensions": st.lists(_ODD | st.just(VERSION_EXTENSION), max_size=2),
        "collection": _ODD | st.none(),
        "links": st.lists(_LINK, max_size=3),
        "assets": st.dictionaries(_ODD, _ASSET, max_size=3),
        "extra": _JSON,
    }
    return data | {key: draw(value) for key, value in optional.items() if draw(st.booleans())}


@settings(max_examples=300, deadline=None)
@given(_item_dicts())
def test_item_dicts_of_any_shape_as_from_dict(data: dict[str, Any]) -> None:
    """item_from_dict (the dict path, and STAC API results) gives from_dict's item, its error, its warning."""

    def reference() -> list[pystac.Item]:
        return [pystac.Item.from_dict(json.loads(json.dumps(data)), preserve_dict=False, migrate=False)]

    assert _outcome(lambda: [item_from_dict(json.loads(json.dumps(data)))]) == _outcome(reference)


@pytest.mark.parametrize(
    "change",
    [
        {"properties": {"datetime": 66}},  # dateutil's TypeError, not the regular expression's
        {"assets": {"a": None}},  # Asset.from_dict's AttributeError
        {"assets": {"a": {"href": ["x"]}}},  # make_posix_style's TypeError, not an asset with a list href
        {"links": [{"rel": "item", "href": 5}]},  # a Link whose target is no text: its target object
        {"links": [["rel", "href"]]},  # Link.from_dict's error
    ],
)
def test_invalid_item_dicts_as_from_dict(change: dict[str, Any]) -> None:
    data = _odd_item("a", {"type": "Point", "coordinates": [0.5, 0.5]}, "2024-01-01T00:00:00Z") | change

    def reference() -> list[pystac.Item]:
        return [pystac.Item.from_dict(json.loads(json.dumps(data)), preserve_dict=False, migrate=False)]

    assert _outcome(lambda: [item_from_dict(json.loads(json.dumps(data)))]) == _outcome(reference)


# --------------------------------------------------------------------------- columns decoded at once


def _polygon(points: list[tuple[float, float]], order: str = "<") -> bytes:
    code = 1 if order == "<" else 0
    return struct.pack(f"{order}BIII", code, 3, 1, len(points)) + b"".join(
        struct.pack(f"{order}dd", *p) for p in points
    )


_ODD_FLOATS = (float("nan"), -0.0, float("inf"), -float("inf"), 5e-324, 1.7976931348623157e308)


def _bits(value: Any) -> Any:
    """Floats by their bits (NaN equals NaN, -0.0 differs from 0.0), the rest as it is."""
    if isinstance(value, float):
        return struct.pack("<d", value)
    if isinstance(value, dict):
        return {key: _bits(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_bits(inner) for inner in value]
    return value


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(st.tuples(st.sampled_from(_ODD_FLOATS) | st.floats(), st.floats()), min_size=6, max_size=6)),
    st.integers(4, 6),
    st.sampled_from(["same", "sizes", "null", "big-endian", "point"]),
    st.booleans(),
    st.integers(0, 2),
)
def test_footprints_decoded_at_once_equal_wkb_to_geojson(
    rings: list[list[tuple[float, float]]], size: int, variant: str, large: bool, start: int
) -> None:
    """Same-size little-endian one-ring polygons are viewed by numpy; any other column decodes row by row."""
    sizes = [size - (row % 2 if variant == "sizes" else 0) for row in range(len(rings))]
    cells: list[bytes | None] = [_polygon(ring[:points]) for ring, points in zip(rings, sizes, strict=True)]
    if variant == "sizes":
        cells += [_polygon([(0.0, 1.0)] * 4), _polygon([(0.0, 1.0)] * 5)]  # sizes differ whatever was drawn
    if variant == "null" and cells:
        cells[-1] = None
    if variant == "big-endian" and cells:
        cells[0] = _polygon(rings[0][:size], ">")
    if variant == "point":
        cells.append(_WKB)
    array = pa.array([_WKB] * start + cells, pa.large_binary() if large else pa.binary()).slice(start)
    expected = [None if cell is None else wkb_to_geojson(cell) for cell in cells]
    assert (simple_polygons(array) is not None) == (variant == "same" and bool(cells))  # the numpy pass or not
    assert _bits(column_values("geometry", array)) == _bits(expected)


@pytest.mark.parametrize("nulls", ["none", "struct", "field"])
def test_bboxes_decoded_at_once_equal_row_by_row(nulls: str) -> None:
    boxes: list[Any] = [{"xmin": -0.0, "ymin": 1.5, "xmax": float("nan"), "ymax": 3.0}] * 3
    if nulls == "struct":
        boxes[1] = None
    if nulls == "field":
        boxes[2] = {"xmin": 1.0, "ymin": None, "xmax": 2.0, "ymax": 3.0}
    kind = pa.struct([(name, pa.float64()) for name in ("xmin", "ymin", "xmax", "ymax")])
    array = pa.array([boxes[0], *boxes], kind).slice(1)
    expected = [None if box is None else list(box.values()) for box in boxes]
    assert _bits(column_values("bbox", array)) == _bits(expected)


@pytest.mark.parametrize(
    ("values", "kind", "shared"),
    [
        (["a", "a", "a"], pa.string(), True),
        (["", "", ""], pa.large_string(), True),
        (["ab", "ab", "ba"], pa.string(), False),  # one length, other bytes
        (["a", "a", None], pa.string(), False),  # a null is a missing key, not a shared value
        ([0.0, 0.0, -0.0], pa.float64(), False),  # equal numbers, other bits: -0.0 stays -0.0
        ([float("nan")] * 3, pa.float64(), True),
        ([1.5, 1.5, 1.5], pa.float32(), True),
        ([-3, -3, -3], pa.int8(), True),
        ([7, 7, 8], pa.uint64(), False),
        ([True, True, True], pa.bool_(), False),  # bits, not bytes: no shared value (every row converted)
        ([[1], [1], [1]], pa.list_(pa.int64()), False),  # a list is mutable: never shared
    ],
)
def test_a_column_of_one_value_is_shared_only_when_it_is_the_same_immutable_value(
    values: list[Any], kind: pa.DataType, shared: bool
) -> None:
    array = pa.array([values[-1], *values, values[0]], kind).slice(1, len(values))  # an offset into the buffers
    found = same_value(array)
    assert (found is not None) == shared
    if found is not None:
        assert _bits([found.value] * len(values)) == _bits(array.to_pylist())
    rows = row_dicts(["k"], [field_values("k", array)], len(values))
    drop_nulls(rows, {"k": (field_values("k", array), array.null_count > 0)})
    assert _bits(rows) == _bits([{} if value is None else {"k": value} for value in array.to_pylist()])


_LIST_KINDS = (pa.list_(pa.int64()), pa.large_list(pa.float64()), pa.list_(pa.string()), pa.list_(pa.int32()))


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(_LIST_KINDS),
    st.integers(0, 3),
    st.lists(st.sampled_from(["same", "other", "null list", "null value"]), max_size=6),
    st.integers(0, 2),
)
def test_lists_of_one_length_are_cut_as_the_others(kind: pa.DataType, width: int, rows: list[str], start: int) -> None:
    """Lists that all have one length are made without offset pairs; nulls and other lengths as before."""
    sample: Any = "é" if pa.types.is_string(kind.value_type) else -0.0 if pa.types.is_floating(kind.value_type) else 7
    lengths = {"same": width, "other": width + 1, "null value": width, "null list": 0}
    cells = [None if row == "null list" else [None if row == "null value" else sample] * lengths[row] for row in rows]
    array = pa.array([[sample]] * start + cells, kind).slice(start)
    assert _bits(array_values(array)) == _bits(array.to_pylist())


def test_timestamps_of_a_slice_are_read_from_their_own_ticks() -> None:
    ticks = [1_700_000_000_123_000, 1_700_000_000_000_000, 1_700_000_001_000_001, 5]
    array = pa.array(ticks, pa.timestamp("us", tz="UTC")).slice(1, 2)
    assert array_values(array) == ["2023-11-14T22:13:20+00:00", "2023-11-14T22:13:21.000001+00:00"]
