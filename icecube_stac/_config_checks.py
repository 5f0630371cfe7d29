"""The rules of the structured ``config.json`` values: the CQL2 ``filter``, ``catalog``, ``headers``, ``chunks``.

Like every :class:`~icecube_stac._config_rules.Rule`, each one checks a raw value and publishes the JSON
Schema of what it accepts, both from the same patterns and bounds. CQL2 is parsed with the ``cql2``
library, which no JSON Schema can do; everything else here is expressed exactly by the schema.
"""

from __future__ import annotations

import json
import os
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import cql2

from ._config_errors import did_you_mean, fail, one_of, whole_number_hint
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
    "CQL2_OPERATORS",
    "CatalogRule",
    "ChunksRule",
    "FilterRule",
    "HeadersRule",
]

CHUNK_DIMS: Final = ("azimuth", "range")
"""The cube dimensions ``chunks`` may size (``time`` is always one step per chunk)."""

CQL2_OPERATORS: Final = frozenset(
    {
        *("and", "or", "not", "=", "<>", "<", "<=", ">", ">=", "like", "between", "in", "isNull"),
        *("casei", "accenti", "+", "-", "*", "/", "%", "^", "div"),
        *("s_intersects", "s_equals", "s_disjoint", "s_touches", "s_within", "s_overlaps", "s_crosses"),
        *("s_contains", "t_after", "t_before", "t_contains", "t_disjoint", "t_during", "t_equals"),
        *("t_finishedBy", "t_finishes", "t_intersects", "t_meets", "t_metBy", "t_overlappedBy"),
        *("t_overlaps", "t_startedBy", "t_starts", "a_equals", "a_contains", "a_containedBy", "a_overlaps"),
    }
)
"""CQL2 operators as cql2-json spells them; any other ``op`` is a custom function, which CQL2 allows."""

_CQL2_POSITION: Final = re.compile(r"-->\s*(\d+):(\d+)")
_FILTER_ALLOWED: Final = "expected a CQL2-JSON object or a CQL2-text string (it is ANDed with the other keys), or null"
_CATALOG_ALLOWED: Final = "expected a local catalog path (folder or catalog.json) or an http(s):// STAC API URL"
_HEADERS_ALLOWED: Final = "expected an object of HTTP header names to string values"
_CHUNKS_ALLOWED: Final = 'expected {"azimuth": int, "range": int} with positive sizes (either may be left out), or null'


def _cql2_reason(exc: Exception) -> str:
    text = str(exc).strip()
    position = _CQL2_POSITION.search(text)
    expected = re.search(r"=\s*(expected .*)$", text, flags=re.MULTILINE)
    if position and expected:
        return f"CQL2-text parse error at line {position[1]}, column {position[2]}: {expected[1]}"
    return " ".join(text.split())


def _check_operators(key: str, value: object, node: object) -> None:
    """Reject an ``op`` that is a near miss of a CQL2 operator (such as ``"AND"`` or ``"t_intersect"``)."""
    if isinstance(node, list):
        for child in node:
            _check_operators(key, value, child)
    elif isinstance(node, dict):
        op = node.get("op")
        if isinstance(op, str) and op not in CQL2_OPERATORS:
            guess = did_you_mean(op, sorted(CQL2_OPERATORS))
            if guess is not None and len(op) > 1:
                fail(key, value, f"unknown CQL2 operator {op!r}; did you mean {guess!r}?")
        for child in node.values():
            _check_operators(key, value, child)


@dataclass(frozen=True)
class FilterRule(Rule):
    """A CQL2 boolean expression (CQL2-JSON or CQL2-text), or null; canonical: CQL2-JSON, lowercase ops."""

    def check(self, key: str, value: object) -> dict[str, Any] | None:
        if value is None:
            return None
        source: str | dict[str, Any]
        if isinstance(value, str):
            source = value
        elif isinstance(value, Mapping):
            try:
                source = json.loads(json.dumps(value))
            except (TypeError, ValueError) as exc:
                fail(key, value, f"not JSON data ({exc}); " + _FILTER_ALLOWED)
        else:
            fail(key, value, _FILTER_ALLOWED)
        try:
            expr = cql2.Expr(source)
            expr.validate()
        except Exception as exc:  # cql2 0.6 raises plain Exception for JSON that is no expression at all
            fail(key, value, f"invalid CQL2: {_cql2_reason(exc)}; " + _FILTER_ALLOWED)
        # cql2's JSON is canonical: operators lowercased ("AND" -> "and"), CQL2-text converted.
        result = expr.to_json()
        if not isinstance(result, dict) or "op" not in result:
            fail(key, value, "expected a CQL2 boolean expression, an object with 'op' and 'args'")
        _check_operators(key, value, result)
        canonical: dict[str, Any] = json.loads(json.dumps(result))
        return canonical

    def schema(self) -> dict[str, Any]:
        expression = {
            "type": "object",
            "required": ["op", "args"],
            "properties": {"op": {"type": "string"}, "args": {"type": "array"}},
        }
        return nullable({"anyOf": [expression, {"type": "string", "pattern": NON_BLANK}]})


@dataclass(frozen=True)
class CatalogRule(Rule):
    """A local catalog path, or an http(s) STAC API URL with a host (any case: ``HTTPS://host/api``)."""

    def check(self, key: str, value: object) -> str:
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str) or not matches(NON_BLANK, value):
            fail(key, value, _CATALOG_ALLOWED)
        if is_api_url(value):
            if not matches(API_URL_WITH_HOST, value):
                fail(key, value, "the URL has no host; " + _CATALOG_ALLOWED)
        elif scheme := re.match(URL_SCHEME, value):
            fail(key, value, f"unsupported URL scheme {scheme[0].strip().removesuffix('://')!r}; " + _CATALOG_ALLOWED)
        return value

    def schema(self) -> dict[str, Any]:
        return {
            "type": "string",
            "pattern": NON_BLANK,
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
                fail(key, value, f"unknown dimension {dim!r}; {expected}")
            count = integer(size)
            if count is None or count < 1:
                rule = f"the {dim} chunk size must be a whole number >= 1{whole_number_hint(size)}; "
                fail(key, value, rule + _CHUNKS_ALLOWED)
            chunks[dim] = count
        return types.MappingProxyType(chunks)

    def schema(self) -> dict[str, Any]:
        sizes = {dim: {"type": "integer", "minimum": 1} for dim in CHUNK_DIMS}
        return nullable({"type": "object", "properties": sizes, "additionalProperties": False, "minProperties": 1})
