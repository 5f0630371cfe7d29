"""End-to-end: a local static catalog published into pgstac and searched through stac-fastapi-pgstac.

The real stack (PostgreSQL + PostGIS, pgstac 0.10, stac-fastapi-pgstac 7.2, uvicorn) is started
once for the module. Never skipped: when PostgreSQL, PostGIS or the ``server`` extra is missing, every
test that needs them fails with a message naming what to install (the ``pgstac_requirements`` fixture).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pystac
import pytest
from pystac_client import Client
from pystac_client.exceptions import APIError

from icecube_stac.errors import CatalogError, SearchError
from icecube_stac.publish import QUERYABLES, PublishReport, publish, redact_dsn
from tests.support.pgstac_server import (
    PG_BINDIR_ENV,
    PgstacApi,
    PostgresServer,
    ServerError,
    StacApiServer,
    check_stack_requirements,
    find_pg_bindir,
    find_postgis,
    pgstac_api,
    stack_requirements_problem,
)

# pystac-client 0.9 only recognises the v1.0.x sort conformance class; stac-fastapi 7 advertises
# v1.1.0. The sortby is still sent and honoured (see the sort tests), so the warning is noise.
pytestmark = pytest.mark.filterwarnings("ignore:Server does not conform to SORT")


# --------------------------------------------------------------------------- the tiny catalog

# id, collection, start, end, incidence, orbit, look, product, platform, polarizations, lon, lat
_ROWS: list[tuple[str, str, str, str, float, str, str, str, str, list[str], float, float]] = [
    # Spans midnight: datetime is on March 1st, end_datetime on March 2nd.
    (
        "slc-a",
        "iceye-slc",
        "2024-03-01T23:59:50Z",
        "2024-03-02T00:00:05Z",
        20.5,
        "ascending",
        "right",
        "SLC",
        "ICEYE-X2",
        ["VV"],
        10.0,
        50.0,
    ),
    (
        "grd-a",
        "iceye-grd",
        "2024-03-01T12:00:00Z",
        "2024-03-01T12:00:10Z",
        25.0,
        "descending",
        "right",
        "GRD",
        "ICEYE-X9",
        ["VV"],
        10.0,
        50.0,
    ),
    (
        "slc-b",
        "iceye-slc",
        "2024-03-02T10:00:00Z",
        "2024-03-02T10:00:10Z",
        30.0,
        "descending",
        "left",
        "SLC",
        "ICEYE-X7",
        ["VV"],
        10.0,
        50.0,
    ),
    (
        "slc-c",
        "iceye-slc",
        "2024-03-03T10:00:00Z",
        "2024-03-03T10:00:10Z",
        40.0,
        "ascending",
        "right",
        "SLC",
        "ICEYE-X2",
        ["HH"],
        20.0,
        60.0,
    ),
    (
        "grd-b",
        "iceye-grd",
        "2024-03-04T12:00:00Z",
        "2024-03-04T12:00:10Z",
        35.0,
        "ascending",
        "left",
        "GRD",
        "ICEYE-X7",
        ["HH"],
        20.0,
        60.0,
    ),
    (
        "grd-c",
        "iceye-grd",
        "2024-03-05T12:00:00Z",
        "2024-03-05T12:00:10Z",
        45.0,
        "descending",
        "right",
        "GRD",
        "ICEYE-X2",
        ["VV", "VH"],
        10.0,
        50.0,
    ),
]
ALL_BY_TIME = ["grd-a", "slc-a", "slc-b", "slc-c", "grd-b", "grd-c"]


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _square(lon: float, lat: float, size: float = 0.1) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def build_catalog(root: Path) -> Path:
    """Write a self-contained catalog with 2 collections and 6 items; return its folder."""
    catalog = pystac.Catalog(id="tiny", description="pgstac end-to-end test catalog")
    extent = pystac.Extent(
        pystac.SpatialExtent([[10.0, 50.0, 20.1, 60.1]]),
        pystac.TemporalExtent([[_ts("2024-03-01T00:00:00Z"), _ts("2024-03-06T00:00:00Z")]]),
    )
    collections = {
        cid: pystac.Collection(id=cid, description=f"{cid} test collection", extent=extent, license="other")
        for cid in ("iceye-slc", "iceye-grd")
    }
    for collection in collections.values():
        catalog.add_child(collection)
    for iid, cid, start, end, inc, orbit, look, ptype, platform, pols, lon, lat in _ROWS:
        start_dt = _ts(start)
        item = pystac.Item(
            id=iid,
            geometry=_square(lon, lat),
            bbox=[lon, lat, lon + 0.1, lat + 0.1],
            datetime=start_dt + (_ts(end) - start_dt) / 2,
            properties={
                "start_datetime": start,
                "end_datetime": end,
                "view:incidence_angle": inc,
                "sat:orbit_state": orbit,
                "sar:observation_direction": look,
                "sar:instrument_mode": "spotlight",
                "product:type": ptype,
                "platform": platform,
                "sar:polarizations": pols,
            },
        )
        data = root / "data" / f"{iid}.h5"
        data.parent.mkdir(parents=True, exist_ok=True)
        data.write_bytes(b"")
        item.add_asset("data", pystac.Asset(href=str(data), media_type="application/x-hdf5", roles=["data"]))
        collections[cid].add_item(item)
    catalog.normalize_hrefs(str(root / "stac"))
    catalog.make_all_asset_hrefs_relative()
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return root / "stac"


# --------------------------------------------------------------------------- fixtures


class Stack:
    """The running stack plus what the module published into it."""

    def __init__(self, api: PgstacApi, catalog: Path, first: PublishReport, second: PublishReport) -> None:
        self.api = api
        self.catalog = catalog
        self.first = first
        self.second = second
        self.client = Client.open(api.url)

    def ids(self, **search: Any) -> list[str]:
        """Ids of a search, in the server's order, sorted by datetime ascending unless told."""
        search.setdefault("sortby", [{"field": "properties.datetime", "direction": "asc"}])
        search.setdefault("max_items", 100)
        return [item.id for item in self.client.search(**search).items()]

    def filter_ids(self, cql2: dict[str, Any], **search: Any) -> list[str]:
        return self.ids(filter=cql2, filter_lang="cql2-json", **search)

    def rejected(self, cql2: dict[str, Any]) -> APIError:
        """The error of a filter the server cannot run.

        A throw-away client: after a 500, uvicorn closes the keep-alive connection, and the next
        request of the same requests session can then fail with ConnectionResetError.
        """
        client = Client.open(self.api.url)
        with pytest.raises(APIError) as info:
            list(client.search(filter=cql2, filter_lang="cql2-json", max_items=100).items())
        return info.value


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, pgstac_requirements: None) -> Iterator[Stack]:
    catalog = build_catalog(tmp_path_factory.mktemp("catalog"))
    t0 = time.perf_counter()
    with pgstac_api() as api:
        startup = time.perf_counter() - t0
        # Generous: the brief budget is ~20 s; this only catches a start-up that hangs on something.
        assert startup < 60, f"stack took {startup:.1f} s to start"
        first = publish(catalog, api.dsn)
        second = publish(catalog / "catalog.json", api.dsn)
        yield Stack(api, catalog, first, second)


# --------------------------------------------------------------------------- harness


def test_stack_is_on_loopback(stack: Stack) -> None:
    assert stack.api.url.startswith("http://127.0.0.1:")
    assert stack.api.dsn.startswith("postgresql://postgres@127.0.0.1:")
    assert stack.api.pgstac_version == "0.10.0"


@pytest.mark.usefixtures("pgstac_requirements")
def test_postgres_server_cleans_up_after_itself() -> None:
    with PostgresServer(database="scratch", postgis=False, timeout=30) as pg:
        workdir = pg.workdir
        assert workdir is not None and (workdir / "data" / "PG_VERSION").is_file()
        assert pg.dsn.endswith("/scratch")
    assert not workdir.exists()


@pytest.mark.usefixtures("pgstac_requirements")
def test_api_server_surfaces_startup_failure() -> None:
    # Nothing listens on port 1: the app's lifespan fails to connect and uvicorn exits.
    with (
        pytest.raises(ServerError, match=r"stac-fastapi-pgstac exited|did not answer"),
        StacApiServer("postgresql://postgres:secret@127.0.0.1:1/nowhere", timeout=20),
    ):
        pass


_INSTALL = "apt-get install postgresql-15-postgis-3"


def test_postgresql_and_postgis_are_installed() -> None:
    # CI installs them; this one test reports a missing piece as a plain failure, with the fix.
    problem = stack_requirements_problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)


def test_missing_postgres_binaries_name_the_debian_package(tmp_path: Path) -> None:
    nowhere = tmp_path / "no-such-bin"
    with pytest.raises(ServerError, match=r"initdb, pg_ctl, postgres\) not found in .*no-such-bin") as info:
        find_pg_bindir(nowhere)
    assert _INSTALL in str(info.value)
    with pytest.raises(ServerError, match=_INSTALL):
        check_stack_requirements(nowhere)
    # The server fails the same way, before creating anything.
    server = PostgresServer(bindir=nowhere)
    with pytest.raises(ServerError, match=_INSTALL), server:
        pass
    assert server.workdir is None
    with pytest.raises(ServerError, match=_INSTALL), pgstac_api(bindir=nowhere):
        pass


def test_missing_postgres_binaries_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PG_BINDIR_ENV, str(tmp_path / "elsewhere"))
    with pytest.raises(ServerError, match=rf"elsewhere \(from \${PG_BINDIR_ENV}\).*{_INSTALL}"):
        find_pg_bindir()


def _fake_bindir(root: Path, sharedir: Path) -> Path:
    """Server binaries that are never run, and a pg_config that reports ``sharedir``."""
    bindir = root / "bin"
    bindir.mkdir()
    for exe in ("initdb", "pg_ctl", "postgres"):
        (bindir / exe).write_text("#!/bin/sh\nexit 1\n")
    pg_config = bindir / "pg_config"
    pg_config.write_text(f"#!/bin/sh\necho '{sharedir}'\n")
    pg_config.chmod(0o755)
    return bindir


def test_missing_postgis_names_the_debian_package(tmp_path: Path) -> None:
    share = tmp_path / "share"
    (share / "extension").mkdir(parents=True)
    bindir = _fake_bindir(tmp_path, share)
    assert find_pg_bindir(bindir) == bindir
    with pytest.raises(ServerError, match=rf"PostGIS is not installed .*postgis.control.*{_INSTALL}"):
        find_postgis(bindir)
    with pytest.raises(ServerError, match=_INSTALL), PostgresServer(bindir=bindir):
        pass
    (share / "extension" / "postgis.control").write_text("")
    assert find_postgis(bindir) == share / "extension" / "postgis.control"


def test_tests_needing_postgres_fail_instead_of_skipping(tmp_path: Path) -> None:
    # A real pytest run of one stack test on a machine "without PostgreSQL": an error naming the package.
    env = {**os.environ, PG_BINDIR_ENV: str(tmp_path / "no-postgres")}
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"{__file__}::test_stack_is_on_loopback"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert _INSTALL in output, output
    assert "1 error" in output and "skipped" not in output, output


# --------------------------------------------------------------------------- publish


def test_publish_counts_and_is_idempotent(stack: Stack) -> None:
    assert (stack.first.collections, stack.first.items) == (2, 6)
    assert (stack.second.collections, stack.second.items) == (2, 6)
    assert stack.first.queryables_updated == len(QUERYABLES)
    assert stack.second.queryables_updated == 0
    # No duplicates after publishing twice.
    assert stack.ids() == ALL_BY_TIME
    assert sorted(c.id for c in stack.client.get_collections()) == ["iceye-grd", "iceye-slc"]


def test_published_asset_hrefs_are_absolute(stack: Stack) -> None:
    item = next(stack.client.search(ids=["slc-b"]).items())
    href = item.assets["data"].href
    assert Path(href).is_absolute()
    assert Path(href) == (stack.catalog.parent / "data" / "slc-b.h5").resolve()
    # The API writes its own structural links; none of the catalog's relative ones leak through.
    assert all(link.href.startswith("http://127.0.0.1:") for link in item.links)


def test_queryables_are_registered_and_indexed(stack: Stack) -> None:
    queryables = stack.client.get_merged_queryables(["iceye-slc", "iceye-grd"])["properties"]
    for name in QUERYABLES:
        assert name in queryables, name
    assert queryables["view:incidence_angle"]["type"] == "number"
    import psycopg

    with psycopg.connect(stack.api.dsn) as conn:
        rows: dict[str, str | None] = dict(
            conn.execute(
                "SELECT name, property_index_type FROM pgstac.queryables WHERE collection_ids IS NULL"
            ).fetchall()
        )
    assert rows["view:incidence_angle"] == "BTREE"
    assert rows["sar:polarizations"] == "GIN"
    assert rows["end_datetime"] is None  # a column of pgstac.items, indexed by pgstac itself


def test_publish_ignore_keeps_counts(stack: Stack) -> None:
    report = publish(stack.catalog, stack.api.dsn, method="ignore")
    assert (report.collections, report.items) == (2, 6)
    assert stack.ids() == ALL_BY_TIME


def test_publish_insert_twice_fails_with_search_error(stack: Stack) -> None:
    with pytest.raises(SearchError, match=r"loading .* failed"):
        publish(stack.catalog, stack.api.dsn, method="insert")


def test_publish_missing_catalog(tmp_path: Path, stack: Stack) -> None:
    with pytest.raises(CatalogError, match=str(tmp_path / "nope")):
        publish(tmp_path / "nope", stack.api.dsn)


def test_publish_unreachable_database_hides_password(stack: Stack) -> None:
    dsn = "postgresql://someone:hunter2@127.0.0.1:1/db"
    with pytest.raises(SearchError) as info:
        publish(stack.catalog, dsn)
    assert "127.0.0.1:1/db" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_publish_without_pgstac_schema(stack: Stack, tmp_path: Path) -> None:
    import psycopg

    with psycopg.connect(stack.api.dsn, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS bare")
        conn.execute("CREATE DATABASE bare")
    bare = stack.api.dsn.rsplit("/", 1)[0] + "/bare"
    with pytest.raises(SearchError, match="pypgstac migrate"):
        publish(stack.catalog, bare)
    report = publish(stack.catalog, bare, migrate=True)
    assert (report.collections, report.items, report.pgstac_version) == (2, 6, "0.10.0")

    # An upsert replaces changed items in place (in a copy, the module's catalog is shared).
    changed = tmp_path / "changed"
    shutil.copytree(stack.catalog, changed)
    item_file = changed / "iceye-slc" / "slc-b" / "slc-b.json"
    item = json.loads(item_file.read_text())
    item["properties"]["view:incidence_angle"] = 33.25
    item_file.write_text(json.dumps(item))
    assert publish(changed, bare).items == 6
    with psycopg.connect(bare) as conn:
        rows = conn.execute(
            "SELECT id, content->'properties'->>'view:incidence_angle' FROM pgstac.items ORDER BY id"
        ).fetchall()
    angles: dict[str, str] = dict(rows)
    assert len(angles) == 6
    assert angles["slc-b"] == "33.25"


def test_redact_dsn() -> None:
    assert redact_dsn("postgresql://u:p%40ss@h:5/db") == "postgresql://u:***@h:5/db"
    assert redact_dsn("postgresql://u@h/db") == "postgresql://u@h/db"
    assert redact_dsn("host=h password=secret dbname=x") == "host=h password=*** dbname=x"
    assert "secret" not in redact_dsn("postgresql://h/db?password=secret")


# --------------------------------------------------------------------------- search


def test_bbox(stack: Stack) -> None:
    assert stack.ids(bbox=[19.9, 59.9, 20.2, 60.2]) == ["slc-c", "grd-b"]


def test_collections(stack: Stack) -> None:
    assert stack.ids(collections=["iceye-slc"]) == ["slc-a", "slc-b", "slc-c"]


def test_datetime_interval_matches_on_overlap(stack: Stack) -> None:
    # pgstac matches an item whose [start, end] range overlaps the interval, so slc-a (which
    # ends 5 s after midnight) is returned although its datetime is on March 1st.
    assert stack.ids(datetime="2024-03-02T00:00:00Z/2024-03-03T23:59:59Z") == ["slc-a", "slc-b", "slc-c"]


def test_sortby_datetime_descending(stack: Stack) -> None:
    order = stack.ids(sortby=[{"field": "properties.datetime", "direction": "desc"}])
    assert order == ALL_BY_TIME[::-1]


def test_filter_incidence_angle_range(stack: Stack) -> None:
    cql2 = {
        "op": "and",
        "args": [
            {"op": ">=", "args": [{"property": "view:incidence_angle"}, 25]},
            {"op": "<=", "args": [{"property": "view:incidence_angle"}, 40]},
        ],
    }
    assert stack.filter_ids(cql2) == ["grd-a", "slc-b", "slc-c", "grd-b"]


def test_filter_incidence_angle_is_numeric_not_text(stack: Stack) -> None:
    # As text "45" < "5"; as a number it is not. Guards the to_float wrapper.
    cql2 = {"op": "<", "args": [{"property": "view:incidence_angle"}, 5]}
    assert stack.filter_ids(cql2) == []


def test_filter_orbit_state_equals(stack: Stack) -> None:
    cql2 = {"op": "=", "args": [{"property": "sat:orbit_state"}, "ascending"]}
    assert stack.filter_ids(cql2) == ["slc-a", "slc-c", "grd-b"]


def test_filter_platform_in(stack: Stack) -> None:
    cql2 = {"op": "in", "args": [{"property": "platform"}, ["ICEYE-X7", "ICEYE-X9"]]}
    assert stack.filter_ids(cql2) == ["grd-a", "slc-b", "grd-b"]


def test_filter_polarizations_a_overlaps(stack: Stack) -> None:
    cql2 = {"op": "a_overlaps", "args": [{"property": "sar:polarizations"}, ["HH", "VH"]]}
    assert stack.filter_ids(cql2) == ["slc-c", "grd-b", "grd-c"]


def test_filter_polarizations_a_contains(stack: Stack) -> None:
    cql2 = {"op": "a_contains", "args": [{"property": "sar:polarizations"}, ["VH"]]}
    assert stack.filter_ids(cql2) == ["grd-c"]


def test_filter_end_datetime_timestamp(stack: Stack) -> None:
    cql2 = {"op": ">=", "args": [{"property": "end_datetime"}, {"timestamp": "2024-03-02T00:00:00Z"}]}
    assert stack.filter_ids(cql2) == ["slc-a", "slc-b", "slc-c", "grd-b", "grd-c"]


def test_filter_start_datetime_timestamp(stack: Stack) -> None:
    # start_datetime is stored as pgstac's datetime column (the start of the range).
    cql2 = {"op": "<", "args": [{"property": "start_datetime"}, {"timestamp": "2024-03-02T00:00:00Z"}]}
    assert stack.filter_ids(cql2) == ["grd-a", "slc-a"]


def test_filter_combined_with_bbox_and_collection(stack: Stack) -> None:
    cql2 = {
        "op": "and",
        "args": [
            {"op": "=", "args": [{"property": "sar:observation_direction"}, "right"]},
            {"op": "=", "args": [{"property": "product:type"}, "GRD"]},
        ],
    }
    assert stack.filter_ids(cql2, bbox=[9.9, 49.9, 10.2, 50.2]) == ["grd-a", "grd-c"]
    assert stack.filter_ids(cql2, collections=["iceye-slc"]) == []


def test_filter_cql2_text(stack: Stack) -> None:
    text = "\"view:incidence_angle\" >= 35 AND A_OVERLAPS(\"sar:polarizations\", ('HH', 'VH'))"
    # stac-fastapi-pgstac takes cql2-text only on GET; a POST body with it is rejected (422),
    # and pystac-client POSTs by default.
    with pytest.raises(APIError, match="cql2-json"):
        stack.ids(filter=text, filter_lang="cql2-text")
    assert stack.ids(filter=text, filter_lang="cql2-text", method="GET") == ["slc-c", "grd-b", "grd-c"]


def test_filter_casei_function_form(stack: Stack) -> None:
    cql2 = {
        "op": "=",
        "args": [{"op": "casei", "args": [{"property": "sat:orbit_state"}]}, {"op": "casei", "args": ["ASCENDING"]}],
    }
    assert stack.filter_ids(cql2) == ["slc-a", "slc-c", "grd-b"]


def test_filter_t_intersects_on_the_acquisition_range(stack: Stack) -> None:
    cql2 = {
        "op": "t_intersects",
        "args": [
            {"interval": [{"property": "start_datetime"}, {"property": "end_datetime"}]},
            {"interval": ["2024-03-02T00:00:00Z", "2024-03-03T23:59:59Z"]},
        ],
    }
    assert stack.filter_ids(cql2) == ["slc-a", "slc-b", "slc-c"]


# pgstac 0.10.0 gaps, pinned so that an upgrade that fixes (or changes) them is noticed.
_SQUARE_20_60 = [[[19.0, 59.0], [21.0, 59.0], [21.0, 61.0], [19.0, 61.0], [19.0, 59.0]]]


@pytest.mark.parametrize(
    "cql2",
    [
        pytest.param(
            {"op": "a_containedBy", "args": [{"property": "sar:polarizations"}, ["VV", "HH"]]},
            id="a_containedBy-not-supported",
        ),
        pytest.param(
            {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [19.0, 59.0, 21.0, 61.0]}]},
            id="bbox-literal-not-supported",
        ),
        pytest.param(
            {"op": ">=", "args": [{"property": "created"}, {"timestamp": "2024-03-02T00:00:00Z"}]},
            id="timestamp-on-unregistered-property",
        ),
    ],
)
def test_pgstac_gaps_raise_server_errors(stack: Stack, cql2: dict[str, Any]) -> None:
    # pgstac raises, and stac-fastapi-pgstac passes that on as a 500, not as a 400.
    assert stack.rejected(cql2).status_code == 500


@pytest.mark.parametrize(
    "cql2",
    [
        pytest.param({"op": ">=", "args": [{"property": "datetime"}, {"date": "2024-03-02"}]}, id="date-literal"),
        pytest.param(
            {"op": "=", "args": [{"casei": {"property": "sat:orbit_state"}}, {"casei": "ASCENDING"}]},
            id="pre-1.0-casei-form",
        ),
    ],
)
def test_pgstac_gaps_silently_match_nothing(stack: Stack, cql2: dict[str, Any]) -> None:
    assert stack.filter_ids(cql2) == []


def test_pgstac_workarounds_for_the_gaps(stack: Stack) -> None:
    # A bare [minx, miny, maxx, maxy] array or a GeoJSON geometry instead of {"bbox": ...}.
    bare = {"op": "s_intersects", "args": [{"property": "geometry"}, [19.0, 59.0, 21.0, 61.0]]}
    geojson = {
        "op": "s_intersects",
        "args": [{"property": "geometry"}, {"type": "Polygon", "coordinates": _SQUARE_20_60}],
    }
    assert stack.filter_ids(bare) == stack.filter_ids(geojson) == ["slc-c", "grd-b"]
    # {"timestamp": ...} at midnight instead of {"date": ...}.
    ts = {"op": ">=", "args": [{"property": "datetime"}, {"timestamp": "2024-03-02T00:00:00Z"}]}
    assert stack.filter_ids(ts) == ["slc-b", "slc-c", "grd-b", "grd-c"]
    # a_containedBy(p, L) == NOT a_overlaps(p, complement of L) for a known vocabulary.
    not_outside = {
        "op": "not",
        "args": [{"op": "a_overlaps", "args": [{"property": "sar:polarizations"}, ["VH", "HV"]]}],
    }
    assert stack.filter_ids(not_outside) == ["grd-a", "slc-a", "slc-b", "slc-c", "grd-b"]


def test_filter_unknown_operator_is_an_api_error(stack: Stack) -> None:
    cql2 = {"op": "no_such_op", "args": [{"property": "platform"}, "x"]}
    stack.rejected(cql2)


def test_catalog_json_is_untouched_by_publish(stack: Stack) -> None:
    # publish() must not rewrite the local catalog (relative hrefs stay relative on disk).
    item_json = json.loads((stack.catalog / "iceye-slc" / "slc-a" / "slc-a.json").read_text())
    assert not Path(item_json["assets"]["data"]["href"]).is_absolute()


# --------------------------------------------------------------------------- publish: hostile catalogs, DSNs, hrefs


def _copy_catalog(stack: Stack, tmp_path: Path) -> Path:
    copy = tmp_path / "stac"
    shutil.copytree(stack.catalog, copy)
    shutil.copytree(stack.catalog.parent / "data", tmp_path / "data")
    return copy


def _add_link(path: Path, link: dict[str, str]) -> None:
    data = json.loads(path.read_text())
    data["links"].append(link)
    path.write_text(json.dumps(data))


def test_publish_refuses_a_child_link_loop_clearly(stack: Stack, tmp_path: Path) -> None:
    copy = _copy_catalog(stack, tmp_path)
    _add_link(copy / "iceye-slc" / "collection.json", {"rel": "child", "href": "../catalog.json"})
    with pytest.raises(CatalogError, match=r"link loop") as info:  # not a RecursionError
        publish(copy, stack.api.dsn)
    assert "iceye-slc" in str(info.value) and "catalog.json" in str(info.value)


def test_publish_refuses_an_item_link_outside_the_catalog(stack: Stack, tmp_path: Path) -> None:
    copy = _copy_catalog(stack, tmp_path)
    depth = "../" * len(copy.resolve().parts)
    _add_link(copy / "iceye-grd" / "collection.json", {"rel": "item", "href": f"{depth}etc/passwd"})
    with pytest.raises(CatalogError, match=r"leads outside the catalog folder .* \(to /etc/passwd\)"):
        publish(copy, stack.api.dsn)
    (copy / "iceye-grd" / "notes.json").write_text("[1, 2]")
    _add_link(copy / "iceye-slc" / "collection.json", {"rel": "item", "href": "../iceye-grd/notes.json"})
    data = json.loads((copy / "iceye-grd" / "collection.json").read_text())
    data["links"] = data["links"][:-1]
    (copy / "iceye-grd" / "collection.json").write_text(json.dumps(data))
    with pytest.raises(CatalogError, match=r"notes\.json \(linked as 'item' from .*\): expected a STAC item"):
        publish(copy, stack.api.dsn)


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://someone:hunter2@[bad/db",  # urlsplit and libpq both choke on the host
        "postgresql://someone:hunter2@ho st:5432/db",
        "postgresql://someone:hunter2@/db?host=%zz",
        "host=[bad password=hunter2 port=notaport",
    ],
)
def test_publish_with_a_malformed_dsn_is_a_clear_error_without_the_password(
    stack: Stack, dsn: str, tmp_path: Path
) -> None:
    with pytest.raises(SearchError, match="cannot connect to database") as info:
        publish(stack.catalog, dsn)
    assert "hunter2" not in str(info.value) and "***" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no chained driver error
    assert "hunter2" not in redact_dsn(dsn)
    # The command line prints one error line, no traceback, no password.
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-m", "icecube_stac.cli", "publish", "--catalog", str(stack.catalog), "--dsn", dsn],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "hunter2" not in result.stderr + result.stdout
    assert result.stderr.startswith("error: cannot connect to database")


def _items_of(stack: Stack, collection: str) -> list[pystac.Item]:
    return list(Client.open(stack.api.url).search(collections=[collection], max_items=100).items())


def _delete_collection(stack: Stack, collection: str) -> None:
    import psycopg

    with psycopg.connect(stack.api.dsn, autocommit=True) as conn:
        conn.execute("SELECT pgstac.delete_collection(%s)", [collection])


def _renamed_catalog(stack: Stack, tmp_path: Path, suffix: str) -> Path:
    """A copy of the module's catalog whose collections are <id>-<suffix> (so the module's counts stay)."""
    copy = _copy_catalog(stack, tmp_path)
    for path in copy.rglob("*.json"):
        text = path.read_text()
        for cid in ("iceye-slc", "iceye-grd"):
            text = text.replace(f'"{cid}"', f'"{cid}-{suffix}"')
        path.write_text(text)
    return copy


def test_publish_href_base_serves_assets_by_url(stack: Stack, tmp_path: Path) -> None:
    copy = _renamed_catalog(stack, tmp_path, "hrefs")
    try:
        report = publish(copy, stack.api.dsn, href_base="https://data.example.com/project/stac")
        item = next(i for i in _items_of(stack, "iceye-slc-hrefs") if i.id == "slc-b")
        assert item.assets["data"].href == "https://data.example.com/project/data/slc-b.h5"
        assert "https://data.example.com/project/stac" in report.href_base
        mapped = publish(copy, stack.api.dsn, href_base={str(tmp_path / "data"): "https://cdn.example.com/iceye/"})
        item = next(i for i in _items_of(stack, "iceye-slc-hrefs") if i.id == "slc-b")
        assert item.assets["data"].href == "https://cdn.example.com/iceye/slc-b.h5"
        assert mapped.items == 6
        with pytest.raises(CatalogError, match=r"is in none of the href_base folders"):
            publish(copy, stack.api.dsn, href_base={str(tmp_path / "elsewhere"): "https://cdn.example.com/"})
        with pytest.raises(CatalogError, match=r"above what https://h/ can serve"):
            publish(copy, stack.api.dsn, href_base="https://h/")
        with pytest.raises(CatalogError, match=r"href_base URL: got 'not a url'"):
            publish(copy, stack.api.dsn, href_base="not a url")
    finally:
        for cid in ("iceye-slc-hrefs", "iceye-grd-hrefs"):
            _delete_collection(stack, cid)


def test_publish_turns_on_number_matched(stack: Stack, tmp_path: Path) -> None:
    copy = _renamed_catalog(stack, tmp_path, "matched")
    try:
        report = publish(copy, stack.api.dsn)
        assert report.context == "on"
        client = Client.open(stack.api.url)
        assert client.search(collections=["iceye-slc-matched"]).matched() == 3
        assert client.search(collections=["iceye-slc-matched", "iceye-grd-matched"]).matched() == 6
        # A later publish with fewer items: the count is not a stale cached one.
        item_file = copy / "iceye-slc" / "slc-c" / "slc-c.json"
        item_file.unlink()
        collection = copy / "iceye-slc" / "collection.json"
        data = json.loads(collection.read_text())
        data["links"] = [link for link in data["links"] if "slc-c" not in link["href"]]
        collection.write_text(json.dumps(data))
        assert publish(copy, stack.api.dsn, prune=True).removed == 1
        assert Client.open(stack.api.url).search(collections=["iceye-slc-matched"]).matched() == 2
        assert publish(copy, stack.api.dsn, context=None).context == "on"  # left alone, reported
    finally:
        for cid in ("iceye-slc-matched", "iceye-grd-matched"):
            _delete_collection(stack, cid)


def test_publish_report_reads_as_text_and_json(stack: Stack) -> None:
    text = stack.second.summary()
    assert "2 collection(s), 6 item(s)" in text and "pgstac 0.10.0" in text and "numberMatched on" in text
    assert "Report(" not in text and stack.api.dsn.split("@")[-1] in text
    data = json.loads(json.dumps(stack.second.to_dict()))
    assert data["items"] == 6 and data["catalog"] == str(stack.second.catalog) and data["context"] == "on"
