"""Stage 59: ``icecube_stac.duckdb_connection()`` lets plain DuckDB SQL query a catalog's items.parquet with
the shipped extensions and no network; the embedded search loads ``spatial`` only for queries that need it."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import icecube_stac
from icecube_stac.catalog import index
from icecube_stac.testing import demo_specs, write_stack

REPO = Path(__file__).resolve().parents[1]
SPATIAL_QUERY = (
    "SELECT id FROM read_parquet(?) WHERE ST_Intersects(geometry, ST_Buffer(ST_Centroid(ST_GeomFromText(?)), 1)) "
    "ORDER BY id"
)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("duckdb-connection")
    write_stack(demo_specs(n_grd=3, n_slc=1, shape=(16, 12)), root / "data")
    assert index([root / "data"], root / "catalog", progress=False).ok
    return root / "catalog"


def _no_network(*args: Any, **kwargs: Any) -> socket.socket:
    raise OSError("network unavailable in this test")


def _footprint(catalog: Path) -> str:
    item = json.loads(next(catalog.glob("*/items/*.json")).read_text())
    ring = item["geometry"]["coordinates"][0]
    return "POLYGON ((" + ", ".join(f"{x} {y}" for x, y in ring) + "))"


def test_spatial_sql_on_items_parquet_without_network(catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "socket", _no_network)
    monkeypatch.setattr(socket, "create_connection", _no_network)
    connection = icecube_stac.duckdb_connection()
    parquet = str(catalog / "items.parquet")
    rows = connection.execute(SPATIAL_QUERY, [parquet, _footprint(catalog)]).fetchall()
    assert len(rows) == 4  # every footprint of the stack lies within a degree of the first one
    loaded = connection.execute("SELECT extension_name FROM duckdb_extensions() WHERE loaded").fetchall()
    assert {"spatial", "parquet", "icu"} <= {name for (name,) in loaded}
    typed = connection.execute("SELECT typeof(geometry) FROM read_parquet(?) LIMIT 1", [parquet]).fetchone()
    assert typed == ("GEOMETRY",)  # GeoParquet geometry is read as a geometry, ready for ST_* functions


def test_connection_options(catalog: Path, tmp_path: Path) -> None:
    plain = icecube_stac.duckdb_connection(spatial=False)
    loaded = {n for (n,) in plain.execute("SELECT extension_name FROM duckdb_extensions() WHERE loaded").fetchall()}
    assert "spatial" not in loaded
    assert plain.execute("SELECT current_setting('TimeZone')").fetchone() == ("UTC",)
    assert plain.execute("SELECT current_setting('autoinstall_known_extensions')").fetchone() == (False,)
    database = tmp_path / "items.duckdb"
    writer = icecube_stac.duckdb_connection(database)
    writer.execute("CREATE TABLE items AS SELECT * FROM read_parquet(?)", [str(catalog / "items.parquet")])
    writer.close()
    reader = icecube_stac.duckdb_connection(database, read_only=True)
    assert reader.execute("SELECT count(*) FROM items").fetchone() == (4,)


def _run(code: str, *, isolate_network: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", textwrap.dedent(code)]
    if isolate_network:
        command = ["unshare", "--net", "--map-root-user", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO, check=False)


def _has_unshare() -> bool:
    if shutil.which("unshare") is None:
        return False
    return (
        subprocess.run(["unshare", "--net", "--map-root-user", "true"], capture_output=True, check=False).returncode
        == 0
    )


def test_in_a_process_without_any_network(catalog: Path) -> None:
    if not _has_unshare():
        pytest.skip("unshare --net is not available here (the in-process test covers Python's sockets)")
    code = f"""
        import socket, icecube_stac
        try:
            socket.create_connection(("pypi.org", 443), timeout=5)
            raise SystemExit("the network is reachable")
        except OSError:
            pass
        connection = icecube_stac.duckdb_connection()
        connection.execute("INSTALL spatial")  # already there: nothing to download
        rows = connection.execute({SPATIAL_QUERY!r}, [{str(catalog / "items.parquet")!r}, {_footprint(catalog)!r}])
        print(len(rows.fetchall()))
    """
    result = _run(code, isolate_network=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "4"


def test_spatial_is_loaded_only_for_spatial_searches(catalog: Path) -> None:
    code = f"""
        import json, sys
        from icecube_stac import load_config, search
        from icecube_stac._duckdb import search_connection

        def spatial_loaded():
            query = "SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'spatial'"
            return search_connection(spatial=False).execute(query).fetchone()[0]

        catalog = {str(catalog)!r}
        states = []
        configs = {{"product_type": "GRD"}}, {{"filter": "platform LIKE 'iceye%'"}}, {{"bbox": [-180, -90, 180, 90]}}
        for keys in configs:
            states.append([len(search(load_config(keys, catalog=catalog))), spatial_loaded()])
        print(json.dumps(states))
    """
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [[3, False], [4, False], [4, True]]
