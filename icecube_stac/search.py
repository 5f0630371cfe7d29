"""CubeConfig → one STAC item-search body → the local catalog or a STAC API → icecube selection rules.

:func:`to_search_body` is the only place that turns a config into a query. Two backends execute the
very same body: :class:`LocalCatalog` (the catalog's stac-geoparquet file, searched in-process by
DuckDB, fully offline: :mod:`icecube_stac._duckdb_search` writes the SQL, :mod:`icecube_stac._cql2_sql`
the filter, :mod:`icecube_stac._arrow_items` turns the rows into item dicts and
:mod:`icecube_stac._arrow_pystac` straight into pystac items) and :class:`StacApi` (any
STAC API through pystac-client). Everything a CQL2 filter can express is sent as CQL2; only the icecube
rules that compare items with each other (:func:`apply_selection_rules`) run afterwards.

Safety: the parquet file is opened here and handed to DuckDB as ``/proc/self/fd/N``, so no quote or glob
character of its path reaches the query. :class:`StacApi` (in :mod:`icecube_stac._stac_api`) ends a whole
search within ``timeout`` seconds and never shows URL credentials.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pystac

from icecube_stac._items import item_from_dict
from icecube_stac._selection import apply_selection_rules, has_selection_rules
from icecube_stac._stac_api import StacApi
from icecube_stac.config import CubeConfig
from icecube_stac.errors import SearchError
from icecube_stac.vocabulary import PARQUET_NAME, ProductLevel, Prop, catalog_root, is_api_url

if TYPE_CHECKING:
    from icecube_stac.labels import LabelSet

__all__ = [
    "LocalCatalog",
    "SearchBackend",
    "StacApi",
    "apply_selection_rules",
    "open_backend",
    "search",
    "to_search_body",
]

# pgstac sorts "datetime" by start_datetime whenever an item has one, DuckDB by the item datetime: sorting
# explicitly by start_datetime (then id) gives one order on every backend.
SORTBY: list[dict[str, str]] = [
    {"field": Prop.START, "direction": "asc"},
    {"field": "id", "direction": "asc"},
]


def _timestamp(value: datetime) -> dict[str, str]:
    return {"timestamp": value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def _prop(name: str) -> dict[str, str]:
    return {"property": name}


def _filters(config: CubeConfig) -> list[dict[str, Any]]:
    start, stop = config.time_window()
    # icecube dates an acquisition by its end (acquisition_end_utc), end date inclusive.
    args: list[dict[str, Any]] = [
        {"op": ">=", "args": [_prop(Prop.END), _timestamp(start)]},
        {"op": "<", "args": [_prop(Prop.END), _timestamp(stop)]},
    ]
    if config.min_incidence_angle > 0:
        args.append({"op": ">=", "args": [_prop(Prop.INCIDENCE), config.min_incidence_angle]})
    if config.max_incidence_angle < 90:
        args.append({"op": "<=", "args": [_prop(Prop.INCIDENCE), config.max_incidence_angle]})
    equals = {
        Prop.PRODUCT_TYPE: config.product_type,
        Prop.ORBIT_STATE: config.orbit_state,
        Prop.LOOK_SIDE: config.look_side,
    }
    args += [{"op": "=", "args": [_prop(k), v]} for k, v in equals.items() if v is not None]
    if config.product_type is None:
        # Products only: STAC label items of the same catalog or API (pgstac gives them an end_datetime) are not.
        args.append({"op": "in", "args": [_prop(Prop.PRODUCT_TYPE), [level.value for level in ProductLevel]]})
    members = {Prop.INSTRUMENT_MODE: config.instrument_modes, Prop.PLATFORM: config.platforms}
    args += [{"op": "in", "args": [_prop(k), list(v)]} for k, v in members.items() if v]
    if config.polarizations:
        args.append({"op": "a_overlaps", "args": [_prop(Prop.POLARIZATIONS), list(config.polarizations)]})
    if config.filter is not None:
        args.append(dict(config.filter))
    return args


def to_search_body(config: CubeConfig) -> dict[str, Any]:
    """Build the STAC item-search body of a config (the same for every backend).

    Parameters
    ----------
    config
        A validated config.

    Returns
    -------
    dict
        ``collections``, ``bbox`` or ``intersects``, ``datetime`` (a coarse interval; the exact icecube
        date rule is in the filter), ``filter`` (CQL2-JSON), ``filter-lang``, ``sortby`` (datetime, then
        id) and ``max_items`` when set.
    """
    _, stop = config.time_window()
    # A coarse prefilter the backends can answer from their time index; it must never be narrower than the
    # rule (the end_datetime filter). Backends test different item times against it (pgstac: [start, end]
    # overlap; DuckDB: the item datetime), and any of them is <= the acquisition end: so it is bounded above
    # only. A lower bound would drop a long acquisition ending inside the window but starting before it.
    interval = f"../{_timestamp(stop)['timestamp']}"
    body: dict[str, Any] = {"datetime": interval, "sortby": [dict(s) for s in SORTBY]}
    if config.collections:
        body["collections"] = list(config.collections)
    if config.bbox is not None:
        body["bbox"] = list(config.bbox)
    if config.intersects is not None:
        body["intersects"] = dict(config.intersects)
    body["filter"] = {"op": "and", "args": _filters(config)}
    body["filter-lang"] = "cql2-json"
    if config.max_items is not None and not has_selection_rules(config):
        # With selection rules the cap applies to what they keep, so search() cuts after them instead.
        body["max_items"] = config.max_items
    return body


class SearchBackend(Protocol):
    """Something that executes a STAC item-search body and returns item dicts in the requested order."""

    def search(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Run ``body`` and return the matching items as dicts with absolute asset hrefs."""
        ...

    @property
    def description(self) -> str:
        """Where the backend searches, for messages."""
        ...


class LocalCatalog:
    """In-process search of a catalog folder's ``items.parquet`` (stac-geoparquet) with DuckDB.

    Parameters
    ----------
    catalog
        The catalog folder, its ``catalog.json`` or the parquet file itself.
    """

    def __init__(self, catalog: str | Path) -> None:
        path = Path(catalog)
        root = catalog_root(path)
        self.root = root
        self.parquet = path if path.suffix == ".parquet" else root / PARQUET_NAME
        if not (root / "catalog.json").is_file() and not self.parquet.is_file():
            raise SearchError(
                f"no catalog at {root}: neither catalog.json nor items.parquet exists there; "
                "index products first (icecube-stac index PATH --catalog ...)"
            )

    @property
    def description(self) -> str:
        """The catalog folder."""
        return str(self.root)

    def search(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Run a search body against the parquet file.

        Parameters
        ----------
        body
            A body from :func:`to_search_body` (or any STAC item-search body using CQL2-JSON).

        Returns
        -------
        list of dict
            Items with absolute asset hrefs, in ``sortby`` order.
        """
        with _without_gc():
            return self._dicts(body)

    def search_items(self, body: Mapping[str, Any]) -> list[pystac.Item]:
        """Run a search body and return pystac items (what :func:`search` uses).

        Parameters
        ----------
        body
            As for :meth:`search`.

        Returns
        -------
        list of pystac.Item
            The items of :meth:`search`, in the same order, equal to ``Item.from_dict`` of its dicts;
            built straight from the Arrow rows (:mod:`icecube_stac._arrow_pystac`) when they allow it.
        """
        if not self.parquet.is_file():
            return []  # an indexed catalog without any product
        from icecube_stac._arrow_items import table_to_items
        from icecube_stac._arrow_pystac import table_to_pystac
        from icecube_stac._duckdb_search import query_parquet
        from icecube_stac._rebase import Rebase

        with _without_gc():
            table = query_parquet(self.parquet, body)
            rebase = Rebase(self.root, self.parquet)
            items = table_to_pystac(table, rebase)
            if items is None:  # rows of another STAC version, or columns of other kinds
                items = _to_items([rebase.item(item) for item in table_to_items(table)])
            return items

    def _dicts(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        if not self.parquet.is_file():
            return []  # an indexed catalog without any product
        from icecube_stac._arrow_items import table_to_items
        from icecube_stac._duckdb_search import query_parquet
        from icecube_stac._rebase import Rebase

        rebase = Rebase(self.root, self.parquet)
        return [rebase.item(item) for item in table_to_items(query_parquet(self.parquet, body))]


@contextlib.contextmanager
def _without_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while thousands of (acyclic) item dicts are built.

    Each collection pass walks every live object; a large result triggered dozens of them (1.5-2x the time).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def open_backend(
    catalog: str | Path,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    cache: str | os.PathLike[str] | None = None,
) -> SearchBackend:
    """Return the backend for a catalog location: our catalog folder, a catalog made elsewhere, or a STAC API.

    Parameters
    ----------
    catalog
        A local catalog (our folder, a ``catalog.json`` tree, a stac-geoparquet file), the URL of a STAC API,
        of a ``catalog.json`` or of a ``.parquet`` file (see :mod:`icecube_stac._external_catalog`).
    headers, timeout
        HTTP headers and timeout (seconds).
    cache
        Where catalogs made elsewhere are cached (default: ``$ICECUBE_STAC_CACHE``, else
        ``$XDG_CACHE_HOME/icecube-stac`` or ``~/.cache/icecube-stac``).

    Returns
    -------
    SearchBackend
    """
    from icecube_stac._external_catalog import external_backend

    text = str(catalog)
    external: SearchBackend | None = external_backend(text, headers=headers, timeout=timeout, cache=cache)
    if external is not None:
        return external
    if is_api_url(text):
        return StacApi(text, headers=headers, timeout=timeout)
    return LocalCatalog(text)


def _to_items(found: Sequence[dict[str, Any]]) -> list[pystac.Item]:
    # Migration costs ~0.3 ms an item; only items of another STAC version need it.
    current = pystac.get_stac_version()  # read from the environment: once, not per item
    return [
        item_from_dict(data)
        if data.get("stac_version") == current
        else pystac.Item.from_dict(data, preserve_dict=False, migrate=True)
        for data in found
    ]


def _found_items(backend: SearchBackend, body: Mapping[str, Any]) -> list[pystac.Item]:
    """Return the backend's results as pystac items (through its ``search_items`` when it has one)."""
    search_items = getattr(backend, "search_items", None)
    if callable(search_items):
        items: list[pystac.Item] = search_items(body)
        return items
    return _to_items(backend.search(body))


def search(
    config: CubeConfig,
    *,
    backend: SearchBackend | None = None,
    rules: bool = True,
    labels: LabelSet | None = None,
) -> pystac.ItemCollection:
    """Search the config's catalog (or ``backend``) and apply the icecube selection rules.

    Parameters
    ----------
    config
        A validated config; ``config.catalog`` chooses the backend unless ``backend`` is given.
    backend
        An explicit backend.
    rules
        Apply :func:`apply_selection_rules` (default) and ``labelled``, or return the raw search results.
    labels
        With ``labelled: true``, the labels that decide which products are labelled; default those the
        config names (``labels``, else the catalog's label items).

    Returns
    -------
    pystac.ItemCollection
        Ordered by acquisition time, then id.
    """
    backend = backend or open_backend(config.catalog, headers=config.headers, timeout=config.timeout)
    found = _found_items(backend, to_search_body(config))
    selected = apply_selection_rules(found, config) if rules else found
    if rules and config.labelled:
        from icecube_stac.labels._pipeline import labelled_items, labels_for  # only for labelled searches

        label_set = labels if labels is not None else labels_for(config)
        selected = list(labelled_items(pystac.ItemCollection(selected, clone_items=False), label_set))
    kept = selected[: config.max_items] if config.max_items is not None else selected
    # The items were just made for this collection: cloning them (pystac's default) would only copy them.
    return pystac.ItemCollection(kept, clone_items=False)
