"""DuckDB connections that never download anything: the extension files come from PyPI packages.

The ``duckdb`` Python package has ``parquet``, ``icu`` and ``json`` built in; ``spatial`` is the
``duckdb-ext-spatial`` package (a file in the ``duckdb_ext`` namespace package, for DuckDB 1.4.4). A
connection made here has automatic extension installation and loading switched off, so a query can never
reach the network, and loads ``spatial`` from that file when asked: :func:`duckdb_connection` for anyone
who wants to query a catalog's ``items.parquet`` with plain SQL, :func:`search_connection` for the embedded
search, which loads ``spatial`` only for the first query that needs it (loading it takes 0.2-0.9 s).
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Final

from icecube_stac.errors import SearchError

if TYPE_CHECKING:
    import duckdb

__all__ = ["duckdb_connection", "extension_directory", "load_spatial", "search_connection"]

_MISSING: Final = (
    "the DuckDB packages are missing or incomplete: pip install 'duckdb==1.4.4' 'duckdb-ext-spatial==1.4.4.*'"
)
_LOCK: Final = threading.Lock()
_SPATIAL_LOADED: Final[list[bool]] = []  # non-empty once the search database has spatial


@functools.cache
def extension_directory() -> Path:
    """Return the folder of the shipped DuckDB extension files (``duckdb_ext/extensions``).

    Returns
    -------
    Path
        DuckDB's ``extension_directory`` setting: it holds ``v1.4.4/<platform>/spatial.duckdb_extension``.

    Raises
    ------
    SearchError
        When the ``duckdb-ext-spatial`` package is not installed.
    """
    try:
        import duckdb_ext
    except ImportError:  # pragma: no cover - a dependency of the package
        raise SearchError(_MISSING) from None
    return Path(next(iter(duckdb_ext.__path__))) / "extensions"


def _connect(database: str, read_only: bool, **settings: str | bool) -> duckdb.DuckDBPyConnection:
    try:
        import duckdb
    except ImportError:  # pragma: no cover - a dependency of the package
        raise SearchError(_MISSING) from None
    config: dict[str, str | bool | int | float | list[str]] = {
        "extension_directory": str(extension_directory()),
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
        **settings,
    }
    connection = duckdb.connect(database, read_only=read_only, config=config)
    # Comparing dates with timestamps must not depend on the machine's time zone (a global setting:
    # cursors share it; it belongs to the built-in icu extension, so it cannot be part of ``config``).
    connection.execute("SET GLOBAL TimeZone = 'UTC'")
    return connection


def _loaded(connection: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = connection.execute("SELECT loaded FROM duckdb_extensions() WHERE extension_name = ?", [name]).fetchone()
    return bool(row and row[0])


def load_spatial(connection: duckdb.DuckDBPyConnection) -> None:
    """Load the shipped ``spatial`` extension into a connection made here (a no-op when it is loaded).

    Parameters
    ----------
    connection
        A connection from :func:`duckdb_connection` or :func:`search_connection`.

    Raises
    ------
    SearchError
        When the extension file is missing or DuckDB cannot load it.
    """
    if _loaded(connection, "spatial"):
        return
    try:
        connection.execute("LOAD spatial")
    except Exception as exc:
        raise SearchError(f"cannot load DuckDB's spatial extension from {extension_directory()}: {exc}") from exc


def duckdb_connection(
    database: str | Path = ":memory:", *, read_only: bool = False, spatial: bool = True
) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB connection with the extensions icecube-stac ships, fully offline.

    ``INSTALL`` is never needed (and never downloads): ``spatial`` is loaded from the
    ``duckdb-ext-spatial`` package, ``parquet`` and ``icu`` are built into ``duckdb``. The session time
    zone is UTC.

    Parameters
    ----------
    database
        A DuckDB database file, or ``":memory:"`` (default).
    read_only
        Open ``database`` read-only.
    spatial
        Load ``spatial`` (default); without it DuckDB opens in a few milliseconds and reads the
        GeoParquet ``geometry`` column as WKB ``BLOB``.

    Returns
    -------
    duckdb.DuckDBPyConnection
        Keep it in a variable while its relations are used (DuckDB closes a connection nobody holds).

    Raises
    ------
    SearchError
        When the DuckDB packages are missing or the extension cannot be loaded.

    Examples
    --------
    >>> con = duckdb_connection()  # doctest: +SKIP
    >>> con.sql("SELECT id FROM 'catalogs/demo/items.parquet' "  # doctest: +SKIP
    ...         "WHERE ST_Intersects(geometry, ST_MakeEnvelope(102.5, 16.2, 102.7, 16.4))").show()
    """
    connection = _connect(str(database), read_only)
    if spatial:
        load_spatial(connection)
    return connection


def search_connection(spatial: bool) -> duckdb.DuckDBPyConnection:
    """Return a cursor on the process's one search database, with ``spatial`` loaded if asked.

    The database is made on first use; ``spatial`` is loaded into it the first time a query needs it.
    Each call returns a new cursor (DuckDB cursors are not shared between threads). GeoParquet geometry
    stays WKB (``enable_geoparquet_conversion`` off), so every query sees the same column types whether
    ``spatial`` is loaded or not.

    Parameters
    ----------
    spatial
        The query uses ``ST_*`` functions.

    Returns
    -------
    duckdb.DuckDBPyConnection
    """
    with _LOCK:
        database = _search_database()
        if spatial and not _SPATIAL_LOADED:
            load_spatial(database)
            _SPATIAL_LOADED.append(True)  # extensions stay loaded: ask DuckDB once
        return database.cursor()


@functools.cache
def _search_database() -> duckdb.DuckDBPyConnection:
    # Files are opened as /proc/self/fd/N: one name stands for different files over time, so nothing
    # may be cached by file name between queries.
    connection = _connect(":memory:", read_only=False, enable_external_file_cache=False)
    connection.execute("SET GLOBAL enable_geoparquet_conversion = false")
    return connection
