"""Search catalogs made elsewhere exactly as our own: a static ``catalog.json`` tree or a stac-geoparquet file.

:func:`external_backend` decides what a config ``catalog`` names:

* a local folder holding ``items.parquet`` or our state file, or a ``.parquet`` next to our state file: our
  own catalog (None here: :class:`icecube_stac.search.LocalCatalog` searches it in place);
* a local ``catalog.json`` (or a folder holding one), or an http(s) URL of a ``.json`` document that is a
  Catalog or Collection: :class:`ExternalCatalog`, which crawls the tree (:mod:`icecube_stac._crawl`);
  a ``.json`` URL whose document is a STAC API landing page (``conformsTo``, or a ``search`` link) is
  searched as the API it is; anything else is a :class:`~icecube_stac.errors.SearchError` naming the URL;
* any other local ``.parquet`` file, or an http(s) URL ending in ``.parquet``/``.geoparquet``:
  :class:`ExternalParquet`.

Both turn the items into our searchable rows (:mod:`icecube_stac._external_items`: absolute hrefs, ICEYE
scene items split per product) and write them once to the cache (:mod:`icecube_stac._crawl_cache`),
which DuckDB then searches with the very same SQL as our own catalogs: same config, same selection.

When the cache is refreshed (checked before every search):

* local tree: when the size or modification time of any document read (catalogs, collections and items)
  changed or a document vanished (a new item needs a new link, so its collection file changes too);
* http tree: when a catalog or collection document changed: each is asked again with ``If-None-Match`` /
  ``If-Modified-Since`` (a ``304`` means unchanged; else its SHA-256 is compared). Item documents are not
  asked again: an item changed in place under unchanged collections is noticed only once the cache entry is
  removed (``rm -r`` the cache folder, or point ``ICECUBE_STAC_CACHE`` elsewhere);
* parquet file: its size and modification time (local), or the same conditional request (http).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import pystac

from icecube_stac._crawl import CrawledItem, Fetcher, Stamp, crawl, local_file, shown
from icecube_stac._crawl_cache import CachedCatalog, cache_folder, stamps
from icecube_stac._external_items import prepare_items
from icecube_stac.errors import SearchError
from icecube_stac.vocabulary import CATALOG_JSON, PARQUET_NAME, STATE_NAME, Prop, is_api_url

__all__ = ["ExternalCatalog", "ExternalParquet", "external_backend", "write_items_parquet"]

_PARQUET_SUFFIXES: Final = (".parquet", ".geoparquet")
_MAX_PARQUET_BYTES: Final = 4 * 2**30
_ROW_GROUP: Final = 10_000


def _filtered() -> dict[str, Any]:
    import pyarrow as pa

    text, number = pa.string, pa.float64
    return {
        Prop.PRODUCT_TYPE: text,
        Prop.ORBIT_STATE: text,
        Prop.LOOK_SIDE: text,
        Prop.INSTRUMENT_MODE: text,
        Prop.PLATFORM: text,
        Prop.INCIDENCE: number,
        Prop.POLARIZATIONS: lambda: pa.list_(pa.string()),
    }


def write_items_parquet(path: Path, items: list[dict[str, Any]]) -> int:
    """Write item dicts as stac-geoparquet in (start time, id) order and 10k-row groups; return the count.

    Raises
    ------
    SearchError
        When the items cannot be stored (e.g. one property with values of incompatible types).
    """
    from shapely.errors import ShapelyError  # stac_geoparquet reads geometries with shapely

    if not items:
        return 0
    try:
        return _write_items(path, items)
    except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError, ShapelyError) as exc:  # pyarrow too
        raise SearchError(f"the items cannot be stored as stac-geoparquet: {type(exc).__name__}: {exc}") from None


def _write_items(path: Path, items: list[dict[str, Any]]) -> int:
    import pyarrow as pa
    import stac_geoparquet.arrow

    filtered = _filtered()

    def when(item: dict[str, Any]) -> str:
        properties = item["properties"]
        return str(properties.get(Prop.START) or properties.get("datetime") or "")

    ordered = sorted(items, key=lambda i: (when(i), str(i["id"])))
    table = stac_geoparquet.arrow.parse_stac_items_to_arrow(ordered).read_all()
    for name, kind in filtered.items():
        # Every property a config filters on is a column, null where an item lacks it: the filter then just
        # does not match such items (as CQL2 says), instead of failing on a column the file never had.
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, type=kind()))
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=_ROW_GROUP))
    stac_geoparquet.arrow.to_parquet(reader, path)
    return len(ordered)


class _CachedSearch:
    """Search the cache entry of a catalog made elsewhere, refreshing it first when its source changed."""

    fetcher: Fetcher
    cache: CachedCatalog
    location: str

    @property
    def description(self) -> str:
        """Where the catalog is (URL credentials redacted)."""
        return shown(self.location)

    def _refresh(self) -> None:
        raise NotImplementedError

    def _fresh(self, manifest: dict[str, Any]) -> bool:
        raise NotImplementedError

    def _rows(self) -> Path | None:
        manifest = self.cache.manifest()
        if manifest is None or not self._fresh(manifest):
            self._refresh()
            manifest = self.cache.manifest()
            if manifest is None:
                raise SearchError(f"the catalog cache {self.cache.entry} of {self.description} cannot be read back")
        return self.cache.parquet if manifest.get("items") else None

    def search(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Run a search body (as :meth:`icecube_stac.search.LocalCatalog.search`): item dicts, absolute hrefs."""
        from icecube_stac._arrow_items import table_to_items
        from icecube_stac._duckdb_search import query_parquet

        parquet = self._rows()
        if parquet is None:
            return []
        try:
            return table_to_items(query_parquet(parquet, body, links=True))
        except SearchError as exc:
            raise SearchError(f"{exc} (the cache of {self.description})") from None

    def search_items(self, body: Mapping[str, Any]) -> list[pystac.Item]:
        """Run a search body and return pystac items, in the same order."""
        from icecube_stac.search import _to_items, _without_gc

        with _without_gc():
            return _to_items(self.search(body))


def _unchanged_files(sources: list[Stamp]) -> bool:
    for stamp in sources:
        try:
            status = os.stat(local_file(stamp.href))
        except OSError:
            return False
        if (status.st_size, status.st_mtime_ns) != (stamp.size, stamp.mtime_ns):
            return False
    return True


def _unchanged_urls(sources: list[Stamp], fetcher: Fetcher) -> bool:
    for stamp in sources:
        try:
            body, now = fetcher.get(stamp.href, conditional=stamp)
        except OSError:
            return False
        if body and now.sha256 != stamp.sha256:
            return False
    return True


class ExternalCatalog(_CachedSearch):
    """A static STAC catalog made elsewhere (``catalog.json`` tree), local or http(s), searched from the cache.

    Parameters
    ----------
    location
        The ``catalog.json`` (or a collection document), a folder holding ``catalog.json``, or its URL.
    headers, timeout
        HTTP headers and the timeout of each request (seconds).
    cache
        The cache folder (default :func:`~icecube_stac._crawl_cache.cache_folder`).
    """

    def __init__(
        self,
        location: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        cache: str | os.PathLike[str] | None = None,
    ) -> None:
        self.remote = is_api_url(location)
        text = location.strip() if self.remote else os.path.realpath(local_file(location))
        if not self.remote and os.path.isdir(text):
            text = os.path.join(text, CATALOG_JSON)
        self.location = text
        self.fetcher = Fetcher(headers, timeout)
        self.cache = CachedCatalog(text, cache_folder(cache), None if self.remote else os.path.dirname(text))

    def _fresh(self, manifest: dict[str, Any]) -> bool:
        sources = stamps(manifest)
        if self.remote:
            return _unchanged_urls(sources, self.fetcher)
        return _unchanged_files(sources)

    def _refresh(self) -> None:
        found = crawl(self.location, self.fetcher)
        items = prepare_items(found.items, found.collections, fetcher=self.fetcher)
        # Local trees are checked file by file; remote ones by their catalog and collection documents.
        sources = found.structure + ([] if self.remote else found.item_stamps)
        try:
            self.cache.write(sources, lambda path: write_items_parquet(path, items), {"crawled": len(found.items)})
        except SearchError as exc:
            raise SearchError(f"{self.description}: {exc}") from None


class ExternalParquet(_CachedSearch):
    """A stac-geoparquet file made elsewhere (local or http(s)), its rows turned into ours in the cache.

    Relative hrefs in the file resolve against the file's own folder (or URL).

    Parameters
    ----------
    location
        The file or its URL.
    headers, timeout, cache
        As for :class:`ExternalCatalog`.
    """

    def __init__(
        self,
        location: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        cache: str | os.PathLike[str] | None = None,
    ) -> None:
        self.remote = is_api_url(location)
        self.location = location.strip() if self.remote else os.path.realpath(local_file(location))
        if not self.remote and not os.path.isfile(self.location):
            raise SearchError(f"no stac-geoparquet file at {self.location}")
        self.fetcher = Fetcher(headers, timeout)
        root = None if self.remote else os.path.dirname(self.location)
        self.cache = CachedCatalog(self.location, cache_folder(cache), root)

    def _fresh(self, manifest: dict[str, Any]) -> bool:
        sources = stamps(manifest)
        if self.remote:
            return _unchanged_urls(sources, self.fetcher)
        return _unchanged_files(sources)

    def _refresh(self) -> None:
        def write(path: Path) -> int:
            source = self.location
            if self.remote:
                try:
                    body, stamp = self.fetcher.get(self.location, limit=_MAX_PARQUET_BYTES)
                except OSError as exc:
                    raise SearchError(f"cannot read the stac-geoparquet file {self.description}: {exc}") from None
                source = str(path.with_name("source.parquet"))
                Path(source).write_bytes(body)
            else:
                status = os.stat(self.location)
                stamp = Stamp(self.location, size=status.st_size, mtime_ns=status.st_mtime_ns)
            sources.append(stamp)
            try:
                count = write_items_parquet(path, self._items(Path(source)))
            finally:
                if source != self.location:
                    os.remove(source)
            return count

        sources: list[Stamp] = []
        self.cache.write(sources, write, {})

    def _items(self, source: Path) -> list[dict[str, Any]]:
        from icecube_stac._arrow_items import table_to_items
        from icecube_stac._duckdb_search import query_parquet

        try:
            rows = table_to_items(query_parquet(source, {}, links=True))
        except SearchError as exc:
            raise SearchError(f"{self.description} is not a stac-geoparquet file DuckDB can read: {exc}") from None
        crawled = [CrawledItem(self.location, row, "", "") for row in rows]
        return prepare_items(crawled, {}, self_links=False, fetcher=self.fetcher)


def _ours(folder: Path) -> bool:
    return (folder / STATE_NAME).is_file() or (folder / PARQUET_NAME).is_file()


def _remote_json(url: str, headers: Mapping[str, str] | None, timeout: float, cache: Any) -> Any:
    """Open a ``.json`` URL: a STAC API landing page, or a static catalog or collection."""
    from icecube_stac._crawl import parse_json
    from icecube_stac._stac_api import StacApi

    try:
        document = parse_json(Fetcher(headers, timeout).get(url)[0])
    except OSError as exc:
        raise SearchError(f"cannot read the catalog {shown(url)}: {exc}") from None
    links = document.get("links") if isinstance(document, dict) else None
    rels = {str(link.get("rel")) for link in links or [] if isinstance(link, dict)}
    if isinstance(document, dict) and ("conformsTo" in document or "search" in rels):
        return StacApi(url, headers=headers, timeout=timeout)
    if isinstance(document, dict) and document.get("type") in ("Catalog", "Collection"):
        return ExternalCatalog(url, headers=headers, timeout=timeout, cache=cache)
    raise SearchError(
        f"{shown(url)} is neither a STAC API landing page (conformsTo, a search link) nor a static STAC catalog "
        "or collection (type Catalog or Collection)"
    )


def external_backend(
    location: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    cache: str | os.PathLike[str] | None = None,
) -> Any:
    """Return the backend of a catalog made elsewhere, or None for our own catalogs and plain API URLs.

    Parameters
    ----------
    location
        The config ``catalog``.
    headers, timeout, cache
        HTTP headers, per-request timeout (seconds), cache folder.

    Returns
    -------
    ExternalCatalog, ExternalParquet, StacApi or None
    """
    if is_api_url(location):
        url_path = urlsplit(location.strip()).path.lower()
        if url_path.endswith(_PARQUET_SUFFIXES):
            return ExternalParquet(location, headers=headers, timeout=timeout, cache=cache)
        if url_path.endswith(".json"):
            return _remote_json(location.strip(), headers, timeout, cache)
        return None
    path = Path(local_file(location))
    if path.is_dir():
        if _ours(path) or not (path / CATALOG_JSON).is_file():
            return None
        return ExternalCatalog(str(path), headers=headers, timeout=timeout, cache=cache)
    if path.suffix.lower() in _PARQUET_SUFFIXES and path.is_file() and not (path.parent / STATE_NAME).is_file():
        return ExternalParquet(str(path), headers=headers, timeout=timeout, cache=cache)
    if path.suffix.lower() == ".json" and path.is_file() and not _ours(path.parent):
        return ExternalCatalog(str(path), headers=headers, timeout=timeout, cache=cache)
    return None
