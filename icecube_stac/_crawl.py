"""Read a static STAC catalog made elsewhere (a ``catalog.json`` tree), local or over http(s), safely.

:func:`crawl` follows ``child`` links from the root (catalogs and collections) and collects the ``item``
links, then reads every item. It is bounded: at most :data:`MAX_DEPTH` levels of children, at most
:data:`MAX_DOCUMENTS` documents, each at most :data:`MAX_DOCUMENT_BYTES` (a declared ``Content-Length`` or
file size is checked before anything is read); every HTTP request has the config ``timeout`` as connect and
read timeout and the config ``headers`` (never logged or shown).

What is an error and what is skipped:

* the root, or a ``child`` document, that cannot be read, is not JSON or is not a Catalog/Collection: a
  :class:`~icecube_stac.errors.SearchError` naming its href (and the document linking it): the tree would be
  incomplete, and a cube of part of a catalog is silently wrong;
* a ``child`` link back to a document on its own path from the root (a loop): a ``SearchError`` naming both;
  the same document reached twice by other paths is read once;
* an ``item`` document that cannot be read or is not a STAC item: skipped with an
  :class:`ExternalCatalogWarning` naming its href (one bad item never hides the others).

Local paths are read as files (``file://`` URLs too); relative links resolve against the linking document
(as URLs with :func:`urllib.parse.urljoin`, as paths against its folder, symbolic links resolved).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

from icecube_stac._realpath import RealPaths
from icecube_stac._redact import redact_url
from icecube_stac.errors import IcecubeStacWarning, SearchError
from icecube_stac.vocabulary import is_api_url

__all__ = [
    "MAX_DEPTH",
    "MAX_DOCUMENTS",
    "MAX_DOCUMENT_BYTES",
    "CrawledItem",
    "Crawl",
    "ExternalCatalogWarning",
    "Fetcher",
    "Stamp",
    "crawl",
    "local_file",
    "parse_json",
    "shown",
]

MAX_DEPTH: Final = 32
"""Levels of ``child`` links followed below the root."""
MAX_DOCUMENTS: Final = 2_000_000
"""Documents (catalogs, collections and items) read in one crawl."""
MAX_DOCUMENT_BYTES: Final = 64 * 2**20
"""Largest JSON document read."""
_STRUCTURE: Final = ("Catalog", "Collection")
_WORKERS: Final = 8  # item documents read at a time over HTTP (local files: one at a time)


class ExternalCatalogWarning(IcecubeStacWarning):
    """An item of a catalog made elsewhere was skipped (its href and the reason are in the message)."""


def shown(href: str) -> str:
    """Return an href as messages show it: URL credentials redacted."""
    return redact_url(href) if is_api_url(href) else href


@dataclass(frozen=True)
class Stamp:
    """What tells that a document changed: size and mtime of a file; validators and a digest over HTTP."""

    href: str
    size: int = -1
    mtime_ns: int = -1
    etag: str = ""
    last_modified: str = ""
    sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the stamp as JSON values."""
        return {k: getattr(self, k) for k in ("href", "size", "mtime_ns", "etag", "last_modified", "sha256")}


class Fetcher:
    """Read documents by href: local files, or http(s) with the config's headers and timeout.

    Parameters
    ----------
    headers
        HTTP headers sent with every request.
    timeout
        Connect and read timeout of each request, in seconds.
    """

    def __init__(self, headers: Mapping[str, str] | None, timeout: float) -> None:
        self.headers = dict(headers or {})
        self.timeout = float(timeout)
        self._session: Any = None

    def session(self) -> Any:
        """Return the HTTP session (made once, before threads share it)."""
        if self._session is None:
            import requests

            self._session = requests.Session()
            self._session.headers.update(self.headers)
        return self._session

    def get(
        self, href: str, *, limit: int = MAX_DOCUMENT_BYTES, conditional: Stamp | None = None
    ) -> tuple[bytes, Stamp]:
        """Return the bytes of ``href`` and its stamp; b"" with the old stamp when ``conditional`` still holds.

        Raises
        ------
        OSError
            When it cannot be read; the message says why (callers name the href; never the headers).
        """
        if not is_api_url(href):
            return _read_file(local_file(href), href, limit)
        headers: dict[str, str] = {}
        if conditional is not None and conditional.etag:
            headers["If-None-Match"] = conditional.etag
        if conditional is not None and conditional.last_modified:
            headers["If-Modified-Since"] = conditional.last_modified
        try:
            response = self.session().get(href, headers=headers, timeout=(self.timeout, self.timeout), stream=True)
        except Exception as exc:  # requests' exceptions quote the URL: only the exception type is shown
            raise OSError(type(exc).__name__) from None
        with response:
            if response.status_code == 304 and conditional is not None:
                return b"", conditional
            if response.status_code != 200:
                raise OSError(f"HTTP {response.status_code}")
            declared = _content_length(response.headers.get("Content-Length"))
            if declared > limit:
                raise OSError(f"{declared:,} bytes, more than the {limit:,} allowed")
            body = _bounded(response.iter_content(1 << 16), limit)
        stamp = Stamp(
            href,
            size=len(body),
            etag=response.headers.get("ETag", ""),
            last_modified=response.headers.get("Last-Modified", ""),
            sha256=hashlib.sha256(body).hexdigest(),
        )
        return body, stamp


def _content_length(value: str | None) -> int:
    """Return a response's declared size (0 when not given); OSError when it is not a number of bytes."""
    if not value:
        return 0
    text = value.strip()
    if not text.isascii() or not text.isdigit():
        raise OSError(f"invalid Content-Length {value[:40]!r}: not a number of bytes")
    return int(text)


def _bounded(chunks: Any, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise OSError(f"more than the {limit:,} bytes allowed")
        parts.append(chunk)
    return b"".join(parts)


def local_file(href: str) -> str:
    """Return the path of a local href (a path or a ``file://`` URL)."""
    parts = urlsplit(href)
    return url2pathname(parts.path) if parts.scheme.lower() == "file" else href


def _read_file(path: str, href: str, limit: int) -> tuple[bytes, Stamp]:
    try:
        with open(path, "rb") as f:
            status = os.fstat(f.fileno())
            if status.st_size > limit:
                raise OSError(f"{status.st_size:,} bytes, more than the {limit:,} allowed")
            body = f.read(limit + 1)
    except OSError as exc:
        raise OSError(exc.strerror or str(exc)) from None  # the path is the caller's to name
    except ValueError as exc:  # a NUL byte in the href: no file can have that name
        raise OSError(str(exc)) from None
    if len(body) > limit:
        raise OSError(f"more than the {limit:,} bytes allowed")
    return body, Stamp(href, size=status.st_size, mtime_ns=status.st_mtime_ns)


@dataclass(frozen=True)
class CrawledItem:
    """One item document: its JSON, where it was read, and the collection document that linked it (if any)."""

    href: str
    data: dict[str, Any]
    parent: str
    parent_collection: str  # the id of the collection that linked it ("" if a catalog did)


@dataclass
class Crawl:
    """What a crawl read: the structure documents' stamps, the items' stamps and the items."""

    root: str
    structure: list[Stamp] = field(default_factory=list)
    item_stamps: list[Stamp] = field(default_factory=list)
    items: list[CrawledItem] = field(default_factory=list)
    collections: dict[str, str] = field(default_factory=dict)  # collection id -> its document href


class _Resolver:
    """Resolve link hrefs against their document, as URLs or as real local paths."""

    def __init__(self) -> None:
        self.paths = RealPaths()

    def root(self, location: str) -> str:
        if is_api_url(location):
            return location.strip()
        return self.paths.resolve(local_file(location))

    def link(self, href: str, document: str) -> str:
        if is_api_url(document) or is_api_url(href):
            return urljoin(document, href)
        if href.lower().startswith("file:"):
            return self.paths.resolve(local_file(href))
        return self.paths.href(href, os.path.dirname(document))


def parse_json(body: bytes) -> Any:
    """Parse a document's bytes; OSError (the reason) when they are not JSON or nested too deeply to parse."""
    try:
        return json.loads(body)
    except ValueError as exc:
        raise OSError(f"not JSON ({exc})") from None
    except RecursionError:  # arrays or objects nested deeper than the parser's recursion limit
        raise OSError("not JSON (nested deeper than the JSON parser's recursion limit)") from None


def _links(document: Mapping[str, Any], rel: str) -> list[str]:
    links = document.get("links")
    if not isinstance(links, list):
        return []
    return [
        str(link["href"]) for link in links if isinstance(link, Mapping) and link.get("rel") == rel and link.get("href")
    ]


def crawl(location: str, fetcher: Fetcher, *, structure_of: Callable[[str, Any], None] | None = None) -> Crawl:
    """Read the catalog tree rooted at ``location`` and every item it links.

    Parameters
    ----------
    location
        A local ``catalog.json`` (or collection file), or its http(s) URL.
    fetcher
        How documents are read.
    structure_of
        Called with the href and JSON of every catalog or collection read (the root first).

    Returns
    -------
    Crawl

    Raises
    ------
    SearchError
        For the root or a child that cannot be read or is not a catalog or collection, a loop, too deep a
        tree or too many documents; the message names the href.
    """
    resolve = _Resolver()
    root = resolve.root(location)
    result = Crawl(root)
    visited: set[str] = set()
    item_links: dict[str, tuple[str, str]] = {}
    pending: list[tuple[str, str, tuple[str, ...]]] = [(root, "", ())]
    while pending:
        href, parent, ancestors = pending.pop()
        if href in visited:
            continue
        if len(ancestors) > MAX_DEPTH:
            raise SearchError(f"{shown(href)}: the catalog is more than {MAX_DEPTH} levels of child links deep")
        document = _structure_document(href, parent, fetcher, result)
        visited.add(href)
        if structure_of is not None:
            structure_of(href, document)
        collection_id = str(document.get("id", "")) if document.get("type") == "Collection" else ""
        if collection_id:
            result.collections.setdefault(collection_id, href)
        for child in reversed(_links(document, "child")):
            target = resolve.link(child, href)
            if target in ancestors or target == href:
                raise SearchError(f"{shown(href)} links {shown(target)} as a child, which is its own ancestor: a loop")
            pending.append((target, href, (*ancestors, href)))
        for link in _links(document, "item"):
            item_links.setdefault(resolve.link(link, href), (href, collection_id))
        if len(visited) + len(item_links) > MAX_DOCUMENTS:
            raise SearchError(f"{shown(root)}: more than {MAX_DOCUMENTS:,} documents; search a part of it")
    _read_items(item_links, fetcher, result)
    return result


def _structure_document(href: str, parent: str, fetcher: Fetcher, result: Crawl) -> dict[str, Any]:
    via = f" (linked from {shown(parent)})" if parent else ""
    try:
        body, stamp = fetcher.get(href)
        document = parse_json(body)
    except OSError as exc:
        raise SearchError(f"cannot read the catalog document {shown(href)}{via}: {exc}") from None
    if not isinstance(document, dict) or document.get("type") not in _STRUCTURE:
        kind = document.get("type") if isinstance(document, dict) else type(document).__name__
        raise SearchError(
            f"{shown(href)}{via} is not a STAC catalog or collection (type {kind!r}); a static catalog is read "
            "from its catalog.json"
        )
    result.structure.append(stamp)
    return document


def _read_items(links: Mapping[str, tuple[str, str]], fetcher: Fetcher, result: Crawl) -> None:
    def one(href: str) -> tuple[str, Any, Stamp | None, str]:
        try:
            body, stamp = fetcher.get(href)
            return href, parse_json(body), stamp, ""
        except OSError as exc:
            return href, None, None, str(exc)

    hrefs = list(links)
    remote = any(is_api_url(h) for h in hrefs)
    if remote and len(hrefs) > 1:
        fetcher.session()  # one session, made before the workers share it
        with ThreadPoolExecutor(_WORKERS) as pool:
            answers = list(pool.map(one, hrefs))
    else:
        answers = [one(h) for h in hrefs]
    for href, data, stamp, problem in answers:
        if stamp is None or not isinstance(data, dict) or data.get("type") != "Feature":
            reason = problem or f"not a STAC item (type {data.get('type') if isinstance(data, dict) else None!r})"
            warnings.warn(f"skipped the item {shown(href)}: {reason}", ExternalCatalogWarning, stacklevel=3)
            continue
        parent, collection = links[href]
        result.item_stamps.append(stamp)
        result.items.append(CrawledItem(href, data, parent, collection))
