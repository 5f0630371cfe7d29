"""One STAC item-search body → one DuckDB query over a stac-geoparquet file → its rows as an Arrow table.

The query selects what rustac 0.9.8 selected for the same body: ``ids`` and ``collections`` as ``IN``
lists; ``bbox`` and ``intersects`` with ``ST_Intersects``; ``datetime`` ``a/b`` keeping the items whose
``[start_datetime, end_datetime]`` lies within it (``datetime`` when the file has no start/end
columns); ``filter`` (CQL2-JSON) through :mod:`icecube_stac._cql2_sql`; ``sortby`` as ``ORDER BY``
(nulls last) and ``max_items`` as ``LIMIT``. It reads every column except ``links`` (the search
replaces them), casts the STAC datetime columns to ``TIMESTAMP WITH TIME ZONE`` and leaves ``geometry``
as WKB. The spatial extension is loaded only when the body needs it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from icecube_stac._cql2_sql import (
    GEOMETRY,
    envelope,
    quote_identifier,
    quote_string,
    timestamp_literal,
    to_sql,
)
from icecube_stac._duckdb import search_connection
from icecube_stac.errors import SearchError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["DATETIME_COLUMNS", "SKIPPED_COLUMNS", "build_query", "parquet_href", "query_parquet"]

DATETIME_COLUMNS: Final = (
    *("datetime", "start_datetime", "end_datetime", "created", "updated", "expires", "published", "unpublished"),
)
"""Columns read as timestamps whatever their stored type (as rustac does)."""
SKIPPED_COLUMNS: Final = frozenset({"links"})
"""Columns never read: the search gives every item its own links."""

_KEYS: Final = frozenset(
    {"collections", "ids", "bbox", "intersects", "datetime", "filter", "filter-lang", "sortby", "max_items"}
)
_UNSAFE_IN_SQL: Final = re.compile(r"['\\*?\[\]{}]")
_TIMESTAMPTZ: Final = "TIMESTAMP WITH TIME ZONE"
_OPEN: Final = ("", "..")
_SCHEMAS: dict[tuple[int, ...], dict[str, str]] = {}
_SCHEMAS_KEPT: Final = 16


@dataclass(frozen=True)
class Query:
    """The SQL of one search, and whether it needs the spatial extension."""

    sql: str
    spatial: bool


@contextlib.contextmanager
def parquet_href(parquet: Path) -> Iterator[str]:
    """Yield a name for ``parquet`` that DuckDB reads as that one file, whatever characters its path holds.

    Parameters
    ----------
    parquet
        The file.

    Yields
    ------
    str
        ``/proc/self/fd/N`` (digits only: nothing to quote, nothing to glob) where the system has it,
        else the path itself.

    Raises
    ------
    SearchError
        Without ``/proc/self/fd``, for a path holding a quote, a backslash or a glob character.
    """
    if not Path("/proc/self/fd").is_dir():
        if _UNSAFE_IN_SQL.search(str(parquet)):
            raise SearchError(f"cannot search {parquet}: its path holds one of ' \\ * ? [ ] {{ }}; rename the folder")
        yield str(parquet)
        return
    fd = os.open(parquet, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        yield f"/proc/self/fd/{fd}"
    finally:
        os.close(fd)


def query_parquet(parquet: Path, body: Mapping[str, Any], *, links: bool = False) -> pa.Table:
    """Run a search body over one stac-geoparquet file.

    Parameters
    ----------
    parquet
        The file.
    body
        A STAC item-search body using CQL2-JSON (keys: ``collections``, ``ids``, ``bbox``, ``intersects``,
        ``datetime``, ``filter``, ``filter-lang``, ``sortby``, ``max_items``).
    links
        Read the ``links`` column too (the cache of a catalog made elsewhere keeps each item's own links).

    Returns
    -------
    pyarrow.Table
        The matching rows in ``sortby`` order, without ``links`` unless asked.

    Raises
    ------
    SearchError
        Naming the file and what failed: an unsupported key or operator, a bad value, a DuckDB error.
    """
    try:
        with parquet_href(parquet) as href:
            source = f"read_parquet({quote_string(href)})"
            columns = _columns(source, _identity(href, parquet))
            query = build_query(body, source, columns, skipped=frozenset() if links else SKIPPED_COLUMNS)
            table: pa.Table = search_connection(query.spatial).execute(query.sql).fetch_arrow_table()
            return table
    except SearchError as exc:
        raise SearchError(f"search of {parquet} failed: {exc}") from exc
    except Exception as exc:
        raise SearchError(f"search of {parquet} failed: {exc}") from exc


def _columns(source: str, identity: tuple[int, ...]) -> dict[str, str]:
    """Return the file's columns and DuckDB types (remembered per file identity: one query less per search)."""
    known = _SCHEMAS.get(identity)
    if known is None:
        rows = search_connection(spatial=False).execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        known = {str(row[0]): str(row[1]) for row in rows}
        if len(_SCHEMAS) >= _SCHEMAS_KEPT:
            _SCHEMAS.pop(next(iter(_SCHEMAS)))
        _SCHEMAS[identity] = known
    return known


def _identity(href: str, parquet: Path) -> tuple[int, ...]:
    """Device, inode, size, modification and change times of the file read: a rewrite changes them."""
    status = os.stat(href if href.startswith("/proc/self/fd/") else parquet)
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


def build_query(
    body: Mapping[str, Any], source: str, columns: Mapping[str, str], *, skipped: frozenset[str] = SKIPPED_COLUMNS
) -> Query:
    """Write the SQL of a search body.

    Parameters
    ----------
    body
        The search body.
    source
        The SQL table expression to read (``read_parquet('...')``).
    columns
        The file's columns and their DuckDB types.
    skipped
        Columns not read (default :data:`SKIPPED_COLUMNS`).

    Returns
    -------
    Query
    """
    unknown = sorted(set(body) - _KEYS)
    if unknown:
        raise SearchError(f"the embedded search does not support the search key(s) {', '.join(unknown)}")
    if body.get("filter-lang", "cql2-json") != "cql2-json":
        raise SearchError(f"the embedded search takes CQL2-JSON filters, not {body['filter-lang']!r}")
    wheres, spatial = _conditions(body, columns)
    sql = f"SELECT {_select(columns, skipped)} FROM {source}"
    if wheres:
        sql += " WHERE " + " AND ".join(f"({w})" for w in wheres)
    if body.get("sortby"):
        sql += " ORDER BY " + ", ".join(_order(s) for s in body["sortby"])
    if body.get("max_items") is not None:
        sql += f" LIMIT {_count(body['max_items'])}"
    return Query(sql, spatial)


def _select(columns: Mapping[str, str], skipped: frozenset[str]) -> str:
    parts = []
    for name, kind in columns.items():
        if name in skipped:
            continue
        column = quote_identifier(name)
        if name in DATETIME_COLUMNS and kind != _TIMESTAMPTZ:
            parts.append(f"CAST({column} AS {_TIMESTAMPTZ}) AS {column}")
        else:
            parts.append(column)
    return ", ".join(parts)


def _conditions(body: Mapping[str, Any], columns: Mapping[str, str]) -> tuple[list[str], bool]:
    wheres: list[str] = []
    spatial = False
    for key, column in (("ids", "id"), ("collections", "collection")):
        if body.get(key):
            wheres.append(f"{quote_identifier(column)} IN ({', '.join(quote_string(str(v)) for v in body[key])})")
    geometry = f"ST_GeomFromWKB({quote_identifier(GEOMETRY)})"
    if body.get("intersects") is not None:
        shape = quote_string(json.dumps(body["intersects"], separators=(",", ":")))
        wheres.append(f"ST_Intersects({geometry}, ST_GeomFromGeoJSON({shape}))")
        spatial = True
    if body.get("bbox") is not None:
        wheres.append(f"ST_Intersects({geometry}, {envelope(body['bbox'])})")
        spatial = True
    if body.get("datetime"):
        wheres += _datetime(str(body["datetime"]), columns)
    if body.get("filter") is not None:
        condition = to_sql(body["filter"])
        wheres.append(condition.sql)
        spatial = spatial or condition.spatial
    return wheres, spatial


def _datetime(interval: str, columns: Mapping[str, str]) -> list[str]:
    """Keep the items within ``interval`` (``a/b``, ``a/..``, ``../b`` or one instant): start and end inside."""
    first, _, last = interval.partition("/") if "/" in interval else (interval, "/", interval)
    start = "start_datetime" if "start_datetime" in columns else "datetime"
    end = "end_datetime" if "end_datetime" in columns else "datetime"
    wheres = []
    if first not in _OPEN:
        wheres.append(f"{_instant(first)} <= {quote_identifier(start)}")
    if last not in _OPEN:
        wheres.append(f"{_instant(last)} >= {quote_identifier(end)}")
    return wheres


def _instant(text: str) -> str:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise SearchError(f"datetime {text!r} is not an RFC 3339 date-time") from None
    if value.tzinfo is None:
        raise SearchError(f"datetime {text!r} has no time zone (RFC 3339 needs Z or an offset)")
    return timestamp_literal(value.isoformat())


def _order(sortby: object) -> str:
    if not isinstance(sortby, Mapping) or not isinstance(sortby.get("field"), str):
        raise SearchError(f"a sortby entry must be {{'field': ..., 'direction': 'asc'|'desc'}}, got {sortby!r}")
    direction = str(sortby.get("direction", "asc")).lower()
    if direction not in ("asc", "desc"):
        raise SearchError(f"sortby direction must be 'asc' or 'desc', got {direction!r}")
    return f"{quote_identifier(sortby['field'])} {direction.upper()} NULLS LAST"


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SearchError(f"max_items must be a whole number >= 0, got {value!r}")
    return value
