"""Load a local static STAC catalog into a pgstac database, so a STAC API can serve it.

Requires the ``server`` extra (``pypgstac[psycopg]``). Collections are loaded before their
items, asset hrefs are made absolute (a relative href means nothing once served by an API)
and the default method is an upsert, so publishing the same catalog twice is harmless.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import pystac

from icecube_stac.errors import CatalogError, SearchError
from icecube_stac.vocabulary import CATALOG_JSON, Prop, catalog_root, resolve_href

__all__ = [
    "QUERYABLES",
    "PublishMethod",
    "PublishReport",
    "publish",
    "redact_dsn",
]

PublishMethod = Literal["upsert", "insert", "ignore"]

_CONNECT_TIMEOUT_S = 10
# Links the API writes itself from its own URLs; the catalog's (relative, local) ones would be wrong.
_STRUCTURAL_RELS = frozenset({"self", "root", "parent", "child", "item", "items", "collection"})


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
    """

    catalog: Path
    dsn: str
    collections: int
    items: int
    queryables_updated: int
    pgstac_version: str
    removed: int = 0


# --------------------------------------------------------------------------- DSN handling


def redact_dsn(dsn: str) -> str:
    """Hide the password of a PostgreSQL DSN, so the DSN can be shown in messages and logs.

    Parameters
    ----------
    dsn
        A ``postgresql://`` URI or a libpq ``key=value`` string.

    Returns
    -------
    str
        The DSN with the password replaced by ``***``.
    """
    if "://" not in dsn:
        return re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", dsn, flags=re.IGNORECASE)
    parts = urlsplit(dsn)
    if "@" not in parts.netloc:
        return re.sub(r"(password=)[^&]*", r"\1***", dsn, flags=re.IGNORECASE)
    userinfo, hostinfo = parts.netloc.rsplit("@", 1)
    if ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0] + ":***"
    redacted = parts._replace(netloc=f"{userinfo}@{hostinfo}").geturl()
    return re.sub(r"(password=)[^&]*", r"\1***", redacted, flags=re.IGNORECASE)


# --------------------------------------------------------------------------- reading the catalog


def _catalog_file(catalog: str | Path) -> Path:
    """Accept a catalog folder, its ``catalog.json`` (or another catalog file) or its parquet file; return the JSON."""
    path = Path(catalog).expanduser()
    if not (path.is_file() and path.suffix.lower() == ".json"):
        path = catalog_root(path) / CATALOG_JSON
    if not path.is_file():
        raise CatalogError(f"no STAC catalog at {path}: expected a folder holding catalog.json, or the file")
    return path.resolve()


def _read_catalog(path: Path) -> pystac.Catalog:
    try:
        return pystac.Catalog.from_file(str(path))
    except (OSError, ValueError, KeyError, pystac.STACError) as exc:
        raise CatalogError(f"cannot read STAC catalog {path}: {exc}") from exc


def _absolute_href(href: str, owner: pystac.STACObject) -> str | None:
    """Return ``href`` made absolute against the folder of the document holding it (None if it has none)."""
    self_href = owner.get_self_href()
    if self_href is None:
        return href if "://" in href or Path(href).is_absolute() else None
    return resolve_href(href, Path(self_href).parent)


def _absolute_links(obj: pystac.STACObject) -> list[dict[str, Any]]:
    """Non-structural links of an object, with absolute hrefs."""
    links = []
    for link in obj.links:
        if link.rel in _STRUCTURAL_RELS:
            continue
        out = link.to_dict(transform_href=False)
        out["href"] = _absolute_href(out["href"], obj) or out["href"]
        links.append(out)
    return links


def _collection_record(collection: pystac.Collection) -> dict[str, Any]:
    record = collection.to_dict(include_self_link=False, transform_hrefs=False)
    record["links"] = _absolute_links(collection)
    for key, asset in collection.assets.items():
        record["assets"][key]["href"] = _absolute_href(asset.href, collection) or asset.href
    return record


def _item_record(item: pystac.Item, collection_id: str, source: Path) -> dict[str, Any]:
    if item.datetime is None and not (item.properties.get(Prop.START) and item.properties.get(Prop.END)):
        raise CatalogError(
            f"{source}: item {item.id!r} has neither datetime nor start_datetime/end_datetime; "
            "pgstac cannot place it in time"
        )
    record = item.to_dict(include_self_link=False, transform_hrefs=False)
    record["collection"] = collection_id
    record["links"] = _absolute_links(item)
    for key, asset in item.assets.items():
        href = _absolute_href(asset.href, item)
        if href is None:
            raise CatalogError(f"{source}: asset {key!r} of item {item.id!r} has no resolvable href")
        record["assets"][key]["href"] = href
    return record


def _gather(catalog: pystac.Catalog, source: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return the collection and item records of a catalog, checked for what pgstac needs."""
    collections = list(catalog.get_all_collections())
    collection_ids = {c.id for c in collections}
    records = [_collection_record(c) for c in collections]
    items: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for item in catalog.get_items(recursive=True):
        parent = item.get_parent()
        collection_id = item.collection_id or (parent.id if isinstance(parent, pystac.Collection) else None)
        if collection_id not in collection_ids:
            raise CatalogError(
                f"{source}: item {item.id!r} belongs to no collection of the catalog "
                f"(collection {collection_id!r}); pgstac stores items only inside collections"
            )
        assert collection_id is not None
        if (collection_id, item.id) in seen:
            raise CatalogError(f"{source}: item id {item.id!r} appears twice in collection {collection_id!r}")
        seen.add((collection_id, item.id))
        items.append(_item_record(item, collection_id, source))
    return records, items


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
        raise SearchError(f"cannot connect to database {redact_dsn(dsn)}: {exc}".strip()) from exc
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


def publish(
    catalog: str | Path,
    dsn: str,
    *,
    method: PublishMethod = "upsert",
    migrate: bool = False,
    queryables: bool = True,
    prune: bool = False,
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

    Returns
    -------
    PublishReport
        Counts of collections and items loaded.

    Raises
    ------
    CatalogError
        If the catalog is missing or unreadable, or an item has no collection or no time.
    SearchError
        If the database is unreachable, lacks (a matching version of) pgstac, or refuses the data.
    """
    if method not in ("upsert", "insert", "ignore"):
        raise ValueError(f"method must be 'upsert', 'insert' or 'ignore', got {method!r}")
    source = _catalog_file(catalog)
    collections, items = _gather(_read_catalog(source), source)
    psycopg = _server_extra()
    with _pgstac_db(dsn) as db:
        try:
            version = _check_schema(db, dsn, migrate=migrate)
            updated = _ensure_queryables(db) if queryables else 0
            _load(db, collections, items, method)
            removed = _prune(db, collections, items) if prune else 0
        except psycopg.Error as exc:
            raise SearchError(f"loading {source} into {redact_dsn(dsn)} failed: {exc}") from exc
    return PublishReport(
        catalog=source,
        dsn=redact_dsn(dsn),
        collections=len(collections),
        items=len(items),
        queryables_updated=updated,
        pgstac_version=version,
        removed=removed,
    )
