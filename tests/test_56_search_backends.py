"""Stage 56: the same configs give the same item ids, in the same order, on the embedded catalog and a real
STAC API (PostgreSQL + PostGIS + pgstac served by stac-fastapi-pgstac on 127.0.0.1)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import shapely.wkt
from shapely.geometry import box, shape

from icecube_stac.catalog import index
from icecube_stac.config import load_config
from icecube_stac.errors import SearchError
from icecube_stac.publish import publish
from icecube_stac.search import LocalCatalog, StacApi, search, to_search_body
from icecube_stac.testing import ProductSpec, write_product
from tests.support.pgstac_server import PgstacApi, StacApiServer, pgstac_api

pytestmark = pytest.mark.filterwarnings("ignore:Server does not conform to SORT")

AREA_A = (16.32, 102.61)
AREA_B = (16.95, 103.30)


def _specs() -> list[ProductSpec]:
    specs = []
    sats = ("ICEYE-X7", "ICEYE-X14", "ICEYE-X24")
    for i in range(18):
        lat, lon = AREA_A if i % 3 else AREA_B
        start = datetime(2024, 3, 1, 3, 30, 5, 125000) + timedelta(days=3 * i, hours=12 * (i % 2))
        specs.append(
            ProductSpec(
                level="SLC" if i % 4 == 1 else "GRD",
                image_id=700000 + i,
                satellite=sats[i % 3],
                acquisition_start=start,
                shape=(40, 30),
                incidence_center=16.0 + 1.7 * i,
                orbit_direction="ASCENDING" if i % 2 else "DESCENDING",
                look_side="left" if i % 5 == 0 else "right",
                polarization="HH" if i == 7 else "VV",
                center_lat=lat,
                center_lon=lon,
                seed=i,
            )
        )
    # A second acquisition on the same day as product 4, later, same area (for temporal_overlap=false).
    same_day = specs[4].acquisition_start + timedelta(hours=5)
    specs.append(
        ProductSpec(
            level="GRD",
            image_id=799999,
            satellite="ICEYE-X14",
            acquisition_start=same_day,
            shape=(40, 30),
            incidence_center=27.0,
            center_lat=AREA_A[0],
            center_lon=AREA_A[1],
            seed=99,
        )
    )
    return specs


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("search")
    for spec in _specs():
        write_product(spec, root / "data" / str(spec.image_id))
    report = index([root / "data"], root / "catalog")
    assert report.ok and len(report.added) == 19
    return root / "catalog"


@pytest.fixture(scope="module")
def stack(catalog: Path, pgstac_requirements: None) -> Iterator[tuple[Path, PgstacApi]]:
    with pgstac_api() as api:
        published = publish(catalog, api.dsn)
        assert published.items == 19
        yield catalog, api


@pytest.fixture(scope="module")
def backends(stack: tuple[Path, PgstacApi]) -> tuple[LocalCatalog, StacApi]:
    catalog, api = stack
    return LocalCatalog(catalog), StacApi(api.url, timeout=20)


CONFIGS: dict[str, dict[str, Any]] = {
    "everything": {},
    "date-range": {"start_date": 20240310, "end_date": 20240401},
    "single-day": {"start_date": "20240313", "end_date": "20240313"},
    "incidence-range": {"min_incidence_angle": 20, "max_incidence_angle": 30},
    "incidence-min": {"min_incidence_angle": 35.5},
    "bbox-area-a": {"bbox": [102.5, 16.2, 102.7, 16.4]},
    "wkt-area-b": {"intersects": "POLYGON ((103.2 16.9, 103.4 16.9, 103.4 17.0, 103.2 17.0, 103.2 16.9))"},
    "product-slc": {"product_type": "SLC"},
    "orbit-ascending": {"orbit_state": "ascending"},
    "look-left": {"look_side": "left"},
    "platforms": {"platforms": ["ICEYE-X7", "ICEYE-X24"]},
    "polarization-hh": {"polarizations": ["HH"]},
    "combination": {
        "product_type": "GRD",
        "orbit_state": "descending",
        "look_side": "right",
        "min_incidence_angle": 15,
        "max_incidence_angle": 40,
        "start_date": 20240301,
        "end_date": 20240415,
        "bbox": [102.5, 16.2, 102.7, 16.4],
    },
    "no-match": {"start_date": 20200101, "end_date": 20201231},
    "raw-cql2": {
        "filter": {
            "op": "and",
            "args": [
                {"op": "=", "args": [{"property": "platform"}, "iceye-x14"]},
                {"op": ">", "args": [{"property": "view:incidence_angle"}, 25]},
            ],
        }
    },
    "cql2-text": {"filter": "\"sar:instrument_mode\" = 'stripmap' AND \"sat:orbit_state\" = 'ascending'"},
    "max-items": {"max_items": 4},
    "latest-per-day": {"temporal_overlap": False, "start_date": 20240310, "end_date": 20240316},
    "space-overlap": {"space_overlap": True},
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_same_ids_in_same_order(backends: tuple[LocalCatalog, StacApi], name: str) -> None:
    local, api = backends
    config = load_config(CONFIGS[name])
    local_ids = [i.id for i in search(config, backend=local)]
    api_ids = [i.id for i in search(config, backend=api)]
    assert local_ids == api_ids


# --------------------------------------------------------------------------- expected selections, computed apart
#
# The parity test above cannot see a bug in the search body that both backends run alike. Here the expected
# ids of every config come from the catalog's item JSON files (not items.parquet, which the embedded backend
# reads) through plain Python implementing the README's config semantics ("Search with a config.json"), with
# no code of icecube_stac.search or icecube_stac.config.

# The raw filters of CONFIGS, by hand.
RAW_FILTERS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "raw-cql2": lambda p: p["platform"] == "iceye-x14" and p["view:incidence_angle"] > 25,
    "cql2-text": lambda p: p["sar:instrument_mode"] == "stripmap" and p["sat:orbit_state"] == "ascending",
}
_HANDLED_KEYS = {
    "start_date",
    "end_date",
    "min_incidence_angle",
    "max_incidence_angle",
    "bbox",
    "intersects",
    "product_type",
    "orbit_state",
    "look_side",
    "instrument_mode",
    "platforms",
    "polarizations",
    "collections",
    "filter",
    "max_items",
    "temporal_overlap",
    "space_overlap",
}


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _day(value: int | str) -> date:
    digits = str(value).replace("-", "")
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


def _acquisition_date(item: dict[str, Any]) -> date:
    """icecube dates a product by the UTC date of its acquisition end."""
    return _utc(item["properties"]["end_datetime"]).date()


def _catalog_items(catalog: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(catalog.glob("*/items/*.json"))]


def _expected_ids(items: list[dict[str, Any]], name: str, keys: dict[str, Any]) -> list[str]:
    assert set(keys) <= _HANDLED_KEYS, f"{name}: teach _expected_ids {set(keys) - _HANDLED_KEYS}"
    first = _day(keys.get("start_date", 19700101))
    last = _day(keys["end_date"]) if "end_date" in keys else datetime.now(UTC).date()
    low, high = keys.get("min_incidence_angle", 0), keys.get("max_incidence_angle", 90)
    area = None
    if "bbox" in keys:
        area = box(*keys["bbox"])
    elif "intersects" in keys:
        aoi = keys["intersects"]
        area = shapely.wkt.loads(aoi) if isinstance(aoi, str) else shape(aoi)

    def wanted(item: dict[str, Any]) -> bool:
        p = item["properties"]
        return all(
            (
                first <= _acquisition_date(item) <= last,  # both ends inclusive
                low <= p["view:incidence_angle"] <= high,  # inclusive
                area is None or shape(item["geometry"]).intersects(area),
                "product_type" not in keys or p["product:type"] == keys["product_type"],
                "orbit_state" not in keys or p["sat:orbit_state"] == keys["orbit_state"],
                "look_side" not in keys or p["sar:observation_direction"] == keys["look_side"],
                "instrument_mode" not in keys or p["sar:instrument_mode"] in keys["instrument_mode"],
                # Platforms are the lowercased satellite names; the config may spell them ICEYE-X7.
                "platforms" not in keys or p["platform"] in {x.lower() for x in keys["platforms"]},
                "polarizations" not in keys or bool(set(p["sar:polarizations"]) & set(keys["polarizations"])),
                "collections" not in keys or item["collection"] in keys["collections"],
                "filter" not in keys or RAW_FILTERS[name](p),
            )
        )

    # Ordered by acquisition start, then id.
    selected = sorted(filter(wanted, items), key=lambda i: (_utc(i["properties"]["start_datetime"]), i["id"]))
    if keys.get("temporal_overlap") is False:
        # Only the latest acquisition (by its end) of each acquisition date.
        latest: dict[date, dict[str, Any]] = {}
        for item in selected:
            kept = latest.get(_acquisition_date(item))
            if kept is None or _utc(item["properties"]["end_datetime"]) > _utc(kept["properties"]["end_datetime"]):
                latest[_acquisition_date(item)] = item
        selected = [i for i in selected if latest[_acquisition_date(i)] is i]
    if keys.get("space_overlap") and selected:
        # Only footprints intersecting the earliest one (the configs here are not coregistered).
        reference = shape(selected[0]["geometry"])
        selected = [i for i in selected if shape(i["geometry"]).intersects(reference)]
    if "max_items" in keys:
        selected = selected[: keys["max_items"]]
    return [i["id"] for i in selected]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_embedded_ids_are_the_expected_selection(catalog: Path, name: str) -> None:
    items = _catalog_items(catalog)
    assert len(items) == 19
    expected = _expected_ids(items, name, CONFIGS[name])
    # Each config must select something, and each restricting one must leave something out.
    assert expected or name == "no-match"
    assert len(expected) < len(items) or name == "everything"
    assert [i.id for i in search(load_config(CONFIGS[name]), backend=LocalCatalog(catalog))] == expected


def test_expected_selection_covers_every_raw_filter() -> None:
    assert {name for name, keys in CONFIGS.items() if "filter" in keys} == set(RAW_FILTERS)


def _ids(backends: tuple[LocalCatalog, StacApi], **keys: Any) -> list[str]:
    ids = [i.id for i in search(load_config(keys), backend=backends[0])]
    assert ids == [i.id for i in search(load_config(keys), backend=backends[1])]
    return ids


def test_expected_selections(backends: tuple[LocalCatalog, StacApi]) -> None:
    everything = _ids(backends)
    assert len(everything) == 19
    starts = [name.rsplit("_", 1)[1] for name in everything]
    assert starts == sorted(starts)
    assert _ids(backends, start_date=20200101, end_date=20201231) == []
    slc = _ids(backends, product_type="SLC")
    assert slc and all("_SLC_" in i for i in slc)
    assert _ids(backends, polarizations=["HH"]) == [i for i in everything if "_700007_" in i]
    single = _ids(backends, start_date=20240313, end_date=20240313)
    assert len(single) == 2 and all("20240313" in i for i in single)
    latest = _ids(backends, start_date=20240313, end_date=20240313, temporal_overlap=False)
    assert latest == [single[-1]]
    area_b = _ids(backends, intersects={"type": "Point", "coordinates": [AREA_B[1], AREA_B[0]]})
    assert area_b and all((int(i.split("_")[4]) - 700000) % 3 == 0 for i in area_b)
    overlapping = _ids(backends, space_overlap=True)
    # The earliest acquisition is in area B, so only (overlapping) area-B footprints remain.
    assert overlapping[0] == everything[0] and len(overlapping) >= 3
    assert set(overlapping) <= set(area_b)


def test_search_body_is_backend_neutral() -> None:
    body = to_search_body(load_config({"min_incidence_angle": 20, "product_type": "GRD", "bbox": [0, 0, 1, 1]}))
    assert body["filter-lang"] == "cql2-json"
    assert body["bbox"] == [0, 0, 1, 1]
    assert {"op": ">=", "args": [{"property": "view:incidence_angle"}, 20.0]} in body["filter"]["args"]
    assert {"op": "=", "args": [{"property": "product:type"}, "GRD"]} in body["filter"]["args"]
    assert "query" not in body


def test_unreachable_api_is_a_clear_error() -> None:
    config = load_config({"catalog": "http://127.0.0.1:9/stac", "timeout": 2})
    with pytest.raises(SearchError, match=r"cannot open the STAC API at http://127.0.0.1:9/stac"):
        search(config)


def test_missing_local_catalog_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SearchError, match="no catalog at"):
        search(load_config({"catalog": str(tmp_path / "nowhere")}))


def test_api_without_filter_extension_is_a_clear_error(stack: tuple[Path, PgstacApi]) -> None:
    _, api = stack
    with (
        StacApiServer(api.dsn, extra_env={"ENABLED_EXTENSIONS": "sort,fields"}) as limited,
        pytest.raises(SearchError, match="does not support CQL2 filters"),
    ):
        search(load_config({"catalog": limited.url}))


def test_api_error_does_not_poison_later_searches(backends: tuple[LocalCatalog, StacApi]) -> None:
    _, api = backends
    bad = load_config({"filter": {"op": "a_containedby", "args": [{"property": "sar:polarizations"}, ["VV"]]}})
    with pytest.raises(SearchError, match="search at http"):
        search(bad, backend=api)
    assert len(search(load_config({"product_type": "SLC"}), backend=api)) > 0


def test_last_second_of_end_date_and_max_items_after_rules(tmp_path: Path) -> None:
    late = datetime(2024, 3, 10, 23, 59, 49, 200000)  # a ~10 s stripmap ending just before midnight
    specs = [
        ProductSpec(image_id=810000, acquisition_start=late, shape=(16, 12), seed=1),
        ProductSpec(image_id=810001, acquisition_start=late - timedelta(hours=20), shape=(16, 12), seed=2),
        ProductSpec(image_id=810002, acquisition_start=late - timedelta(hours=10), shape=(16, 12), seed=3),
        ProductSpec(image_id=810003, acquisition_start=late + timedelta(days=1), shape=(16, 12), seed=4),
    ]
    for spec in specs:
        write_product(spec, tmp_path / "data" / str(spec.image_id))
    index([tmp_path / "data"], tmp_path / "cat")
    local = LocalCatalog(tmp_path / "cat")
    day = [i.id for i in search(load_config({"start_date": 20240310, "end_date": 20240310}), backend=local)]
    assert [i.split("_")[4] for i in day] == ["810001", "810002", "810000"]
    latest = load_config({"temporal_overlap": False, "max_items": 2})
    # The cap applies to what the rule keeps: the latest of 03-10, then 03-11.
    assert [i.id.split("_")[4] for i in search(latest, backend=local)] == ["810000", "810003"]


@pytest.mark.usefixtures("pgstac_requirements")
def test_publish_prune_keeps_api_and_catalog_in_step(tmp_path: Path) -> None:
    first, second = (
        write_product(ProductSpec(image_id=820000 + i, shape=(16, 12), seed=i), tmp_path / "data" / str(i))
        for i in range(2)
    )
    catalog = tmp_path / "cat"
    index([tmp_path / "data"], catalog)
    with pgstac_api() as api:
        publish(catalog, api.dsn)
        shutil.rmtree(second.raster.parent)
        index([tmp_path / "data"], catalog, prune=True)
        report = publish(catalog, api.dsn, prune=True)
        assert report.removed == 1
        everything = load_config({})
        assert [i.id for i in search(everything, backend=StacApi(api.url))] == [first.name]
        assert [i.id for i in search(everything, backend=LocalCatalog(catalog))] == [first.name]


# --------------------------------------------------------------------------- every CQL2 operator, both backends
#
# The embedded search translates CQL2-JSON to DuckDB SQL itself (icecube_stac._cql2_sql): each operator a
# config may use must select what pgstac selects. Not here: a_containedBy and s_* against a {"bbox": ...}
# literal (pgstac answers them with an error) and comparisons with a {"date": ...} (pgstac selects nothing).

_P, _INC = {"property": "platform"}, {"property": "view:incidence_angle"}
_SPAN = {"interval": [{"property": "start_datetime"}, {"property": "end_datetime"}]}
# Product 700004 (2024-03-13 03:30:05-03:30:15) straddles the start of this window, 700006 its end.
_WINDOW = {"interval": ["2024-03-13T03:30:10Z", "2024-03-19T03:30:10Z"]}
_SORTBY = [{"field": "start_datetime", "direction": "asc"}, {"field": "id", "direction": "asc"}]
_TEMPORAL = ("t_after", "t_before", "t_contains", "t_disjoint", "t_during", "t_equals", "t_finishedBy", "t_finishes")
_TEMPORAL += ("t_intersects", "t_meets", "t_metBy", "t_overlappedBy", "t_overlaps", "t_startedBy", "t_starts")
_AREA = {
    "type": "Polygon",
    "coordinates": [[[102.6, 16.3], [102.62, 16.3], [102.62, 16.33], [102.6, 16.33], [102.6, 16.3]]],
}
OPERATOR_FILTERS: dict[str, dict[str, Any]] = {
    "<>": {"op": "<>", "args": [_P, "iceye-x7"]},
    "<=": {"op": "<=", "args": [_INC, 25.5]},
    "or": {"op": "or", "args": [{"op": "=", "args": [_P, "iceye-x7"]}, {"op": ">", "args": [_INC, 30]}]},
    "not": {"op": "not", "args": [{"op": "in", "args": [_P, ["iceye-x7", "iceye-x24"]]}]},
    "like": {"op": "like", "args": [_P, "iceye-x1%"]},
    "between": {"op": "between", "args": [_INC, 20, 30]},
    "isNull": {"op": "isNull", "args": [{"property": "proj:code"}]},  # null in every item (no EPSG code)
    "not isNull": {"op": "not", "args": [{"op": "isNull", "args": [{"property": "sar:looks_range"}]}]},
    "casei": {"op": "=", "args": [{"op": "casei", "args": [_P]}, {"op": "casei", "args": ["ICEYE-X7"]}]},
    "accenti": {"op": "=", "args": [{"op": "accenti", "args": [_P]}, {"op": "accenti", "args": ["iceye-x7"]}]},
    "a_equals": {"op": "a_equals", "args": [{"property": "sar:polarizations"}, ["HH"]]},
    "a_contains": {"op": "a_contains", "args": [{"property": "sar:polarizations"}, ["VV"]]},
    "a_overlaps": {"op": "a_overlaps", "args": [{"property": "sar:polarizations"}, ["HH", "VH"]]},
    **{
        op: {"op": op, "args": [{"property": "geometry"}, _AREA]}
        for op in ("s_intersects", "s_disjoint", "s_within", "s_contains", "s_equals", "s_touches", "s_overlaps")
    },
    **{op: {"op": op, "args": [_SPAN, _WINDOW]} for op in _TEMPORAL},
    "t_intersects open": {"op": "t_intersects", "args": [_SPAN, {"interval": ["2024-04-10T00:00:00Z", ".."]}]},
    "t_before instant": {
        "op": "t_before",
        "args": [{"property": "end_datetime"}, {"timestamp": "2024-03-10T00:00:00Z"}],
    },
}


@pytest.mark.parametrize("name", list(OPERATOR_FILTERS))
def test_each_cql2_operator_selects_the_same_items(backends: tuple[LocalCatalog, StacApi], name: str) -> None:
    body = {"filter": OPERATOR_FILTERS[name], "filter-lang": "cql2-json", "sortby": _SORTBY}
    local, api = backends
    assert [i["id"] for i in local.search(body)] == [i["id"] for i in api.search(body)]


def test_allen_overlaps_on_both_backends(backends: tuple[LocalCatalog, StacApi]) -> None:
    local, _ = backends
    for op, product in (("t_overlaps", "700004"), ("t_overlappedBy", "700006")):
        body = {"filter": OPERATOR_FILTERS[op], "sortby": _SORTBY}
        assert [i["id"].split("_")[4] for i in local.search(body)] == [product]
