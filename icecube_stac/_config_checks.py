"""The rules of the structured ``config.json`` values: ``catalog``, ``headers`` and ``chunks``.

Like every :class:`~icecube_stac._config_rules.Rule`, each one checks a raw value and publishes the JSON
Schema of what it accepts, both from the same patterns and bounds. Everything here is expressed exactly
by the schema except the URL syntax of an API catalog (parsed as the HTTP client parses it). The CQL2
``filter`` has its own module, :mod:`icecube_stac._config_cql2`.
"""

from __future__ import annotations

import os
import re
import types
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ._config_errors import fail, hide_credentials, one_of, shown, whole_number_hint
from ._config_limits import CATALOG_MAX_CHARS, MAX_COUNT
from ._config_patterns import (
    API_URL_WITH_HOST,
    HEADER_NAME,
    HEADER_VALUE,
    NON_BLANK,
    URL_SCHEME,
    matches,
    nullable,
)
from ._config_rules import Rule, integer
from .vocabulary import is_api_url

__all__ = [
    "CHUNK_DIMS",
    "CatalogRule",
    "ChunksRule",
    "HeadersRule",
]

CHUNK_DIMS: Final = ("azimuth", "range")
"""The cube dimensions ``chunks`` may size (``time`` is always one step per chunk)."""

_CATALOG_ALLOWED: Final = (
    "expected a local catalog path (our catalog folder, any STAC catalog.json or a stac-geoparquet file) or an "
    "http(s):// URL (a STAC API, a catalog.json or a .parquet file)"
)
_HEADERS_ALLOWED: Final = "expected an object of HTTP header names to string values"
_CHUNKS_ALLOWED: Final = 'expected {"azimuth": int, "range": int} with positive sizes (either may be left out), or null'


def _url_problem(url: str) -> str | None:
    """Say why the HTTP client could not use ``url`` (parsed as urllib parses it), or None."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        parts.port  # noqa: B018 - checks the port: digits, 0-65535
    except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535", ...
        return hide_credentials(str(exc))
    if not parts.hostname:
        return "the URL has no host"
    return None


@dataclass(frozen=True)
class CatalogRule(Rule):
    """A local catalog path, or an http(s) URL with a host (any case: ``HTTPS://host/api``).

    The URL may name a STAC API, a static ``catalog.json`` or a stac-geoparquet file; which one it is, is told
    when the catalog is opened (:func:`icecube_stac.search.open_backend`).

    A URL must parse: a host, brackets that enclose a valid IPv6 address, a port from 0 to 65535. Its
    canonical form has no white space around it (a path keeps it: it may be part of a folder name).
    """

    def check(self, key: str, value: object) -> str:
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str) or not matches(NON_BLANK, value):
            fail(key, value, _CATALOG_ALLOWED)
        if len(value) > CATALOG_MAX_CHARS:
            fail(key, value, f"{len(value):,} characters long, at most {CATALOG_MAX_CHARS:,}; " + _CATALOG_ALLOWED)
        if is_api_url(value):
            if not matches(API_URL_WITH_HOST, value):
                fail(key, value, "the URL has no host; " + _CATALOG_ALLOWED)
            if reason := _url_problem(value):
                fail(key, value, f"not a valid URL ({reason}); " + _CATALOG_ALLOWED)
            return value.strip()  # canonical: the same URL without the white space around it
        elif scheme := re.match(URL_SCHEME, value):
            fail(key, value, f"unsupported URL scheme {scheme[0].strip().removesuffix('://')!r}; " + _CATALOG_ALLOWED)
        return value

    def schema(self) -> dict[str, Any]:
        return {
            "type": "string",
            "pattern": NON_BLANK,
            "maxLength": CATALOG_MAX_CHARS,
            "if": {"pattern": URL_SCHEME},
            "then": {"pattern": API_URL_WITH_HOST},
        }


@dataclass(frozen=True)
class HeadersRule(Rule):
    """HTTP header names (tokens) to string values without line breaks; canonical: a read-only mapping."""

    def check(self, key: str, value: object) -> Mapping[str, str]:
        if not isinstance(value, Mapping):
            fail(key, value, _HEADERS_ALLOWED)
        headers: dict[str, str] = {}
        for name, text in value.items():
            if not isinstance(name, str) or not matches(HEADER_NAME, name):
                fail(key, name, "not a valid HTTP header name; " + _HEADERS_ALLOWED)
            if not isinstance(text, str) or not matches(HEADER_VALUE, text):
                # Header values are often secrets: name the header, never echo its value.
                fail(key, {name: "<hidden>"}, "header values must be strings without line breaks")
            headers[name] = text
        return types.MappingProxyType(headers)

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "propertyNames": {"pattern": HEADER_NAME},
            "additionalProperties": {"type": "string", "pattern": HEADER_VALUE},
        }


@dataclass(frozen=True)
class ChunksRule(Rule):
    """Chunk sizes in pixels for some of :data:`CHUNK_DIMS`, or null; canonical: a read-only mapping."""

    def check(self, key: str, value: object) -> Mapping[str, int] | None:
        if value is None:
            return None
        if not isinstance(value, Mapping) or not value:
            fail(key, value, _CHUNKS_ALLOWED)
        chunks: dict[str, int] = {}
        for dim, size in value.items():
            if dim not in CHUNK_DIMS:
                expected = one_of(CHUNK_DIMS, dim, any_case=False, nullable=False)
                fail(key, value, f"unknown dimension {shown(dim, 40)}; {expected}")
            count = integer(size)
            if count is None or not 1 <= count <= MAX_COUNT:
                rule = f"the {dim} chunk size must be a whole number from 1 to {MAX_COUNT:,}{whole_number_hint(size)}; "
                fail(key, value, rule + _CHUNKS_ALLOWED)
            chunks[dim] = count
        return types.MappingProxyType(chunks)

    def schema(self) -> dict[str, Any]:
        sizes = {dim: {"type": "integer", "minimum": 1, "maximum": MAX_COUNT} for dim in CHUNK_DIMS}
        return nullable({"type": "object", "properties": sizes, "additionalProperties": False, "minProperties": 1})
