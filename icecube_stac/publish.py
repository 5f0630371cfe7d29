"""Load a local static STAC catalog into a pgstac database, so a STAC API can serve it.

Requires the ``server`` extra (``pypgstac[psycopg]``). Collections are loaded before their items, asset
hrefs are made absolute (a relative href means nothing once served by an API) or, with ``href_base``, the
URLs the data are served at; the default method is an upsert, so publishing the same catalog twice is
harmless. The catalog is read safely (:mod:`icecube_stac._publish_records`: no link loops, no links out of
its folder). pgstac's ``context`` setting is turned on, so searches report ``numberMatched``. Every failure
is an :class:`~icecube_stac.errors.IcecubeStacError` whose message never shows the DSN's password.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from icecube_stac._dsn import redact_dsn, scrub
from icecube_stac._publish_records import HrefBase, gather
from icecube_stac.errors import CatalogError, SearchError
from icecube_stac.vocabulary import CATALOG_JSON, Prop, catalog_root

__all__ = [
    "QUERYABLES",
    "Context",
    "PublishMethod",
    "PublishReport",
    "publish",
    "redact_dsn",
]

PublishMethod = Literal["upsert", "insert", "ignore"]
Context = Literal["on", "auto", "off"]
"""pgstac's ``context`` setting: whether searches count their matches (``numberMatched``)."""

_CONNECT_TIMEOUT_S = 10


@dataclass(frozen=True)
class _Queryable:
    """One row of ``pgstac.queryables`` that applies to every collection."""

    definition: Mapping[str, Any]
    wrapper: str
    # None for the fields pgstac keeps as columns of ``items``, which it indexes itself.
    index: Literal["BTREE", "GIN"] | None


_TEXT = "to_text"
QUERYABLES: Mapping[str, _Queryable] = {
    Prop.INCIDENCE: _Queryable(
        {"title": "Incidence angle", "type": "number", "description": "Degrees from nadir"},
        "to_float",
        "BTREE",
    ),
    Prop.ORBIT_STATE: _Queryable({"title": "Orbit state", "type": "string"}, _TEXT, "BTREE"),
    Prop.LOOK_SIDE: _Queryable({"title": "Observation direction", "type": "string"}, _TEXT, "BTREE"),
    Prop.INSTRUMENT_MODE: _Queryable({"title": "Instrument mode", "type": "string"}, _TEXT, "BTREE"),
    Prop.PRODUCT_TYPE: _Queryable({"title": "Product type", "type": "string"}, _TEXT, "BTREE"),
    Prop.PLATFORM: _Queryable({"title": "Platform", "type": "string"}, _TEXT, "BTREE"),
    # Arrays are matched with @> / && (a_contains / a_overlaps), which only GIN can serve.
    Prop.POLARIZATIONS: _Queryable(
        {"title": "Polarizations", "type": "array", "items": {"type": "string"}}, "to_text_array", "GIN"
    ),
    Prop.START: _Queryable({"title": "Start datetime", "type": "string", "format": "date-time"}, "to_tstz", None),
    Prop.END: _Queryable({"title": "End datetime", "type": "string", "format": "date-time"}, "to_tstz", None),
}
"""The properties registered as queryables for every collection, with their pgstac wrapper and index."""


@dataclass(frozen=True)
class PublishReport:
    """What :func:`publish` loaded.

    Attributes
    ----------
    catalog
        The ``catalog.json`` that was read.
    dsn
        The database, with any password hidden.
    collections
        Number of collections loaded (inserted, updated or left alone, per the method).
    items
        Number of items loaded.
    queryables_updated
        Queryables that had to be created or changed (0 when they were already in place).
    pgstac_version
        Version of the pgstac schema in the database.
    removed
        Items deleted from the database because the catalog no longer has them (``prune=True``).
    context
        pgstac's ``context`` setting after publishing (None when left alone).
    href_base
        Where asset hrefs point: ``"local paths"`` or the URL(s) given as ``href_base``.
    """

    catalog: Path
    dsn: str
    collections: int
    items: int
    queryables_updated: int
    pgstac_version: str
    removed: int = 0
    context: str | None = None
    href_base: str = "local paths"

    def summary(self) -> str:
        """Say what was published, in two lines."""
        removed = f", {self.removed} removed" if self.removed else ""
        counts = "numberMatched on" if self.context in ("on", "auto") else "numberMatched off"
        return (
            f"published {self.catalog} to {self.dsn} (pgstac {self.pgstac_version}): {self.collections} "
            f"collection(s), {self.items} item(s){removed}\n"
            f"asset hrefs: {self.href_base}; {self.queryables_updated} queryable(s) updated; {counts}"
            + (f" (context={self.context})" if self.context else "")
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON values (``--json``)."""
        data = dataclasses.asdict(self)
        data["catalog"] = str(self.catalog)
        return data


# --------------------------------------------------------------------------- reading the catalog


def _catalog_file(catalog: str | Path) -> Path:
    """Accept a catalog folder, its ``catalog.json`` (or another catalog file) or its parquet file; return the JSON."""
    path = Path(catalog).expanduser()
    if not (path.is_file() and path.suffix.lower() == ".json"):
        path = catalog_root(path) / CATALOG_JSON
    if not path.is_file():
        raise CatalogError(f"no STAC catalog at {path}: expected a folder holding catalog.json, or the file")
    return path.resolve()


# --------------------------------------------------------------------------- database


def _server_extra() -> Any:
    """Import psycopg, checking that the optional pgstac dependencies are installed."""
    try:
        import psycopg
        import psycopg.types.json
        import pypgstac  # noqa: F401
    except ImportError as exc:
        raise SearchError("publishing to pgstac needs the server extra: pip install 'icecube-stac[server]'") from exc
    return psycopg


@contextlib.contextmanager
def _pgstac_db(dsn: str) -> Iterator[Any]:
    """Open a ``PgstacDB`` on ``dsn``, failing fast and clearly when the server is unreachable."""
    psycopg = _server_extra()
    from pypgstac.db import PgstacDB

    try:
        bounded = psycopg.conninfo.make_conninfo(dsn, connect_timeout=_CONNECT_TIMEOUT_S)
        # A direct probe: PgstacDB's pool would retry quietly for 30 s before giving up.
        with psycopg.connect(bounded) as probe:
            probe.execute("SELECT 1")
    except psycopg.Error as exc:
        # from None: the driver's error may quote the DSN, password included, in a traceback.
        raise SearchError(scrub(f"cannot connect to database {redact_dsn(dsn)}: {exc}".strip(), dsn)) from None
    db = PgstacDB(dsn=bounded)
    try:
        db.connect()
        yield db
    finally:
        pool = db.pool
        db.disconnect()
        # disconnect() forgets the pool without closing it, which would leak its worker thread.
        if pool is not None:
            pool.close()


def _check_schema(db: Any, dsn: str, *, migrate: bool) -> str:
    """Return the pgstac version, migrating first if asked; refuse a missing or foreign schema."""
    from pypgstac.migrate import Migrate
    from pypgstac.version import __version__ as pypgstac_version

    version: str | None = db.version
    if version is None or (migrate and version != pypgstac_version):
        if not migrate:
            raise SearchError(
                f"database {redact_dsn(dsn)} has no pgstac schema; run `pypgstac migrate --dsn ...` "
                "or call publish(..., migrate=True)"
            )
        version = str(Migrate(db).run_migration())
    if version != "unreleased" and version.split(".")[:2] != pypgstac_version.split(".")[:2]:
        raise SearchError(
            f"database {redact_dsn(dsn)} has pgstac {version} but pypgstac is {pypgstac_version}; "
            "their major.minor versions must match (run `pypgstac migrate` or publish(..., migrate=True))"
        )
    return version


def _ensure_queryables(db: Any) -> int:
    """Register :data:`QUERYABLES` for every collection; rows already right are left untouched.

    Returns
    -------
    int
        How many queryables were created or changed.
    """
    jsonb = _server_extra().types.json.Jsonb
    conn = db.connect()
    rows = conn.execute(
        "SELECT name, definition, property_wrapper, property_index_type FROM pgstac.queryables "
        "WHERE collection_ids IS NULL AND name = ANY(%s)",
        [list(QUERYABLES)],
    ).fetchall()
    current = {name: (definition, wrapper, index) for name, definition, wrapper, index in rows}
    changed = 0
    for name, q in QUERYABLES.items():
        if current.get(name) == (dict(q.definition), q.wrapper, q.index):
            continue
        # upsert_queryable replaces the row (and rebuilds its index) rather than updating it,
        # so it is only called when something differs, keeping republishing cheap.
        conn.execute(
            "SELECT pgstac.upsert_queryable(%s, %s, %s, %s, NULL, NULL)",
            [name, jsonb(dict(q.definition)), q.wrapper, q.index],
        )
        changed += 1
    return changed


def _load(db: Any, collections: list[dict[str, Any]], items: list[dict[str, Any]], method: str) -> None:
    from pypgstac.load import Loader, Methods

    loader = Loader(db=db)
    if collections:
        loader.load_collections(iter(collections), insert_mode=Methods(method))
    if items:
        loader.load_items(iter(items), insert_mode=Methods(method))


def _prune(db: Any, collections: list[dict[str, Any]], items: list[dict[str, Any]]) -> int:
    keep = [item["id"] for item in items]
    names = [collection["id"] for collection in collections]
    rows = list(
        db.query(
            "SELECT pgstac.delete_item(id, collection) FROM pgstac.items "
            "WHERE collection = ANY(%s) AND NOT (id = ANY(%s))",
            [names, keep],
        )
    )
    return len(rows)


def _set_context(db: Any, context: Context | None) -> str | None:
    """Set pgstac's ``context`` (and forget counts cached before this load); return the setting in force."""
    if context is None:
        rows = list(db.query("SELECT pgstac.get_setting('context')"))
        return None if not rows or rows[0][0] is None else str(rows[0][0])
    conn = db.connect()
    conn.execute(
        "INSERT INTO pgstac.pgstac_settings (name, value) VALUES ('context', %s) "
        "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
        [context],
    )
    # pgstac caches the count of each search for a day: after a load, those counts are stale.
    conn.execute("UPDATE pgstac.search_wheres SET statslastupdated = NULL")
    return context


def _href_label(href_base: str | Mapping[str, str] | None) -> str:
    if href_base is None:
        return "local paths"
    if isinstance(href_base, str):
        return f"{href_base} (the catalog folder's URL)"
    return ", ".join(f"{folder} -> {url}" for folder, url in href_base.items())


def publish(
    catalog: str | Path,
    dsn: str,
    *,
    method: PublishMethod = "upsert",
    migrate: bool = False,
    queryables: bool = True,
    prune: bool = False,
    href_base: str | Mapping[str, str] | None = None,
    context: Context | None = "on",
) -> PublishReport:
    """Load every collection and item of a local static STAC catalog into pgstac.

    Parameters
    ----------
    catalog
        The catalog folder, or its ``catalog.json``.
    dsn
        PostgreSQL DSN of a database holding the pgstac schema.
    method
        ``"upsert"`` replaces existing collections/items of the same ids (publishing twice
        is harmless); ``"insert"`` fails on an existing id; ``"ignore"`` keeps existing rows.
    migrate
        Install or upgrade the pgstac schema first (needs a role allowed to create extensions).
    queryables
        Register :data:`QUERYABLES` (with indexes) so filters on those properties are typed
        and indexed; idempotent.
    prune
        Delete items of the catalog's collections that the catalog no longer holds (after
        ``index --prune``), so the API and the local catalog answer the same searches.
    href_base
        Where the data are served, so that published asset hrefs work for API clients (STAC Browser):
        a URL at which the catalog folder is served (the data keeping their place relative to it), or a
        mapping ``{local folder: URL}``. None (default) publishes local absolute paths.
    context
        pgstac's ``context`` setting, database-wide: ``"on"`` (default) makes every search count its
        matches (``numberMatched``; pystac-client's ``matched()``), ``"auto"`` counts only when the
        planner's estimate is below pgstac's thresholds, ``"off"`` never; None leaves it as it is.

    Returns
    -------
    PublishReport
        Counts of collections and items loaded; ``summary()`` for people, ``to_dict()`` for JSON.

    Raises
    ------
    CatalogError
        If the catalog is missing or unreadable (a link loop, a link out of its folder, a file that is not
        STAC), an item has no collection or no time, or a file lies outside every ``href_base`` folder.
    SearchError
        If the database is unreachable, lacks (a matching version of) pgstac, or refuses the data.
    """
    if method not in ("upsert", "insert", "ignore"):
        raise ValueError(f"method must be 'upsert', 'insert' or 'ignore', got {method!r}")
    if context not in ("on", "auto", "off", None):
        raise ValueError(f"context must be 'on', 'auto', 'off' or None, got {context!r}")
    source = _catalog_file(catalog)
    collections, items = gather(source, HrefBase(href_base, source.parent))
    psycopg = _server_extra()
    with _pgstac_db(dsn) as db:
        try:
            version = _check_schema(db, dsn, migrate=migrate)
            updated = _ensure_queryables(db) if queryables else 0
            _load(db, collections, items, method)
            removed = _prune(db, collections, items) if prune else 0
            setting = _set_context(db, context)
        except (psycopg.Error, ValueError, TypeError, KeyError) as exc:
            message = f"loading {source} into {redact_dsn(dsn)} failed: {type(exc).__name__}: {exc}"
            raise SearchError(scrub(message, dsn)) from None
    return PublishReport(
        catalog=source,
        dsn=redact_dsn(dsn),
        collections=len(collections),
        items=len(items),
        queryables_updated=updated,
        pgstac_version=version,
        removed=removed,
        context=setting,
        href_base=_href_label(href_base),
    )
