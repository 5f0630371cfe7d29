"""CQL2-JSON → one DuckDB SQL condition over the columns of a stac-geoparquet file.

It translates every operator a config filter may use (:data:`icecube_stac._config_cql2.CQL2_OPERATORS`)
the way rustac 0.9.8 (cql2-rs's DuckDB SQL) did, so the embedded search selects what it selected before:
``in`` as ``IN``, ``like`` as ``LIKE``, ``casei`` as ``lower()``, ``accenti`` as ``strip_accents()``, the
``a_*`` operators as ``list_has_all``/``list_has_any``/list equality, the ``s_*`` operators as the spatial
extension's ``ST_*`` predicates, and the ``t_*`` operators as comparisons of interval ends (an instant ``t``
is the interval ``[t, t]``). Two deliberate differences, both as the CQL2 standard and pgstac have it:
``t_overlaps``/``t_overlappedBy`` are Allen's relations (cql2-rs compared the wrong ends), and ``".."``
opens an interval end (cql2-rs failed on it).

Literals are written into the SQL, quoted (strings and identifiers by doubling their quote character,
floats as ``DOUBLE`` literals), never pasted raw; the GeoParquet ``geometry`` column is WKB and is read
with ``ST_GeomFromWKB``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from icecube_stac.errors import SearchError

__all__ = ["GEOMETRY", "Condition", "envelope", "quote_identifier", "quote_string", "timestamp_literal", "to_sql"]

GEOMETRY: Final = "geometry"

_COMPARISONS: Final = frozenset({"=", "<>", "<", "<=", ">", ">="})
_SPATIAL: Final = {
    "s_intersects": "ST_Intersects",
    "s_equals": "ST_Equals",
    "s_disjoint": "ST_Disjoint",
    "s_touches": "ST_Touches",
    "s_within": "ST_Within",
    "s_overlaps": "ST_Overlaps",
    "s_crosses": "ST_Crosses",
    "s_contains": "ST_Contains",
}
_ARRAYS: Final[dict[str, Callable[[str, str], str]]] = {
    "a_equals": lambda a, b: f"({a} = {b})",
    "a_contains": lambda a, b: f"list_has_all({a}, {b})",
    "a_containedBy": lambda a, b: f"list_has_all({b}, {a})",
    "a_overlaps": lambda a, b: f"list_has_any({a}, {b})",
}
# Interval a = [a1, a2] against interval b = [b1, b2], each end one SQL expression.
_Ends = tuple[str, str]
_TEMPORAL: Final[dict[str, Callable[[_Ends, _Ends], str]]] = {
    "t_after": lambda a, b: f"{b[1]} < {a[0]}",
    "t_before": lambda a, b: f"{a[1]} < {b[0]}",
    "t_contains": lambda a, b: f"{a[0]} < {b[0]} AND {b[1]} < {a[1]}",
    "t_disjoint": lambda a, b: f"NOT ({a[0]} <= {b[1]} AND {a[1]} >= {b[0]})",
    "t_during": lambda a, b: f"{a[0]} > {b[0]} AND {a[1]} < {b[1]}",
    "t_equals": lambda a, b: f"{a[0]} = {b[0]} AND {a[1]} = {b[1]}",
    "t_finishedBy": lambda a, b: f"{a[1]} = {b[1]} AND {a[0]} < {b[0]}",
    "t_finishes": lambda a, b: f"{a[1]} = {b[1]} AND {a[0]} > {b[0]}",
    "t_intersects": lambda a, b: f"{a[0]} <= {b[1]} AND {a[1]} >= {b[0]}",
    "t_meets": lambda a, b: f"{a[1]} = {b[0]}",
    "t_metBy": lambda a, b: f"{a[0]} = {b[1]}",
    "t_overlappedBy": lambda a, b: f"{b[0]} < {a[0]} AND {a[0]} < {b[1]} AND {b[1]} < {a[1]}",
    "t_overlaps": lambda a, b: f"{a[0]} < {b[0]} AND {b[0]} < {a[1]} AND {a[1]} < {b[1]}",
    "t_startedBy": lambda a, b: f"{a[0]} = {b[0]} AND {b[1]} < {a[1]}",
    "t_starts": lambda a, b: f"{a[0]} = {b[0]} AND {a[1]} < {b[1]}",
}
_OPEN: Final = ".."


@dataclass(frozen=True)
class Condition:
    """A SQL boolean expression, and whether it needs DuckDB's spatial extension."""

    sql: str
    spatial: bool


def quote_string(text: str) -> str:
    """Return ``text`` as a SQL string literal.

    Parameters
    ----------
    text
        Any string without NUL characters.

    Returns
    -------
    str
        ``'text'`` with each ``'`` doubled (DuckDB strings know no other escape).

    Raises
    ------
    SearchError
        For a NUL character, which cannot be part of a query.
    """
    if "\x00" in text:
        raise SearchError(f"a search value holds a NUL character: {text[:40]!r}")
    return "'" + text.replace("'", "''") + "'"


def quote_identifier(name: str) -> str:
    """Return a column name as a quoted SQL identifier (``"view:incidence_angle"``)."""
    if "\x00" in name:
        raise SearchError(f"a property name holds a NUL character: {name[:40]!r}")
    return '"' + name.replace('"', '""') + '"'


def timestamp_literal(text: str) -> str:
    """Return an RFC 3339 text as a ``TIMESTAMP WITH TIME ZONE`` literal."""
    return f"CAST({quote_string(text)} AS TIMESTAMP WITH TIME ZONE)"


def to_sql(expression: object) -> Condition:
    """Translate a CQL2-JSON boolean expression.

    Parameters
    ----------
    expression
        CQL2-JSON, as ``CubeConfig.filter`` holds it or a search body's ``filter``.

    Returns
    -------
    Condition

    Raises
    ------
    SearchError
        For an operator or value the embedded search does not support (functions, arithmetic, ...).
    """
    translator = _Translator()
    try:
        sql = translator.value(expression)
    except RecursionError:
        raise SearchError("the CQL2 filter nests too deeply") from None
    return Condition(sql, translator.spatial)


def _unsupported(node: object) -> SearchError:
    shown = json.dumps(node, default=str)
    return SearchError(f"the embedded search does not support this CQL2 expression: {shown[:200]}")


class _Translator:
    """One translation: the SQL of each node, and whether any node was spatial."""

    def __init__(self) -> None:
        self.spatial = False

    def value(self, node: object) -> str:
        if isinstance(node, bool):
            return "TRUE" if node else "FALSE"
        if isinstance(node, int):
            return str(node)
        if isinstance(node, float):
            if not math.isfinite(node):
                raise _unsupported(node)
            return f"CAST({quote_string(repr(node))} AS DOUBLE)"
        if isinstance(node, str):
            return quote_string(node)
        if node is None:
            return "NULL"
        if isinstance(node, list):
            return "[" + ", ".join(self.value(v) for v in node) + "]"
        if isinstance(node, Mapping):
            return self.mapping(node)
        raise _unsupported(node)

    def mapping(self, node: Mapping[str, Any]) -> str:
        if "op" in node:
            return self.operation(str(node["op"]), _args(node))
        if set(node) == {"property"} and isinstance(node["property"], str):
            return quote_identifier(node["property"])
        if set(node) == {"timestamp"} and isinstance(node["timestamp"], str):
            return timestamp_literal(node["timestamp"])
        if set(node) == {"date"} and isinstance(node["date"], str):
            return f"CAST({quote_string(node['date'])} AS DATE)"
        raise _unsupported(node)

    def operation(self, op: str, args: Sequence[Any]) -> str:
        if op in ("and", "or"):
            parts = [f"({self.value(a)})" for a in args]
            return f" {op.upper()} ".join(parts) if parts else ("TRUE" if op == "and" else "FALSE")
        if op == "not" and len(args) == 1:
            return f"NOT ({self.value(args[0])})"
        if op in _COMPARISONS and len(args) == 2:
            return f"({self.value(args[0])} {op} {self.value(args[1])})"
        if op == "like" and len(args) == 2:
            return f"({self.value(args[0])} LIKE {self.value(args[1])})"
        if op == "between" and len(args) == 3:
            low, high = self.value(args[1]), self.value(args[2])
            return f"({self.value(args[0])} BETWEEN {low} AND {high})"
        if op == "in" and len(args) == 2 and isinstance(args[1], list):
            members = ", ".join(self.value(v) for v in args[1])
            return f"({self.value(args[0])} IN ({members}))" if members else "FALSE"
        if op == "isNull" and len(args) == 1:
            return f"({self.value(args[0])} IS NULL)"
        if op == "casei" and len(args) == 1:
            return f"lower({self.value(args[0])})"
        if op == "accenti" and len(args) == 1:
            return f"strip_accents({self.value(args[0])})"
        if op in _ARRAYS and len(args) == 2:
            return _ARRAYS[op](self.value(args[0]), self.value(args[1]))
        if op in _SPATIAL and len(args) == 2:
            self.spatial = True
            return f"{_SPATIAL[op]}({self.geometry(args[0])}, {self.geometry(args[1])})"
        if op in _TEMPORAL and len(args) == 2:
            return "(" + _TEMPORAL[op](self.interval(args[0]), self.interval(args[1])) + ")"
        raise _unsupported({"op": op, "args": list(args)})

    def geometry(self, node: object) -> str:
        """Translate a spatial operand: the geometry column, a GeoJSON geometry or a ``{"bbox": [...]}``."""
        if isinstance(node, Mapping):
            if node.get("property") == GEOMETRY and len(node) == 1:
                return f"ST_GeomFromWKB({quote_identifier(GEOMETRY)})"
            if set(node) == {"bbox"}:
                return envelope(node["bbox"])
            if "type" in node and ("coordinates" in node or "geometries" in node):
                return f"ST_GeomFromGeoJSON({quote_string(json.dumps(node, separators=(',', ':')))})"
        return self.value(node)

    def interval(self, node: object) -> _Ends:
        """Translate a temporal operand into its two ends (an instant is both ends)."""
        if isinstance(node, Mapping) and set(node) == {"interval"}:
            ends = node["interval"]
            if not isinstance(ends, list) or len(ends) != 2:
                raise _unsupported(node)
            return self.instant(ends[0], "-infinity"), self.instant(ends[1], "infinity")
        one = self.instant(node, None)
        return one, one

    def instant(self, node: object, open_end: str | None) -> str:
        if isinstance(node, str):
            if node == _OPEN and open_end is not None:
                return timestamp_literal(open_end)
            return timestamp_literal(node)
        if isinstance(node, Mapping):
            return self.mapping(node)
        raise _unsupported(node)


def _args(node: Mapping[str, Any]) -> Sequence[Any]:
    args = node.get("args", [])
    if not isinstance(args, list):
        raise _unsupported(node)
    return args


def envelope(bbox: object) -> str:
    """Return the SQL polygon of a 2D or 3D bbox (``[west, south, east, north]``, heights ignored).

    Parameters
    ----------
    bbox
        Four or six numbers.

    Returns
    -------
    str
        ``ST_MakeEnvelope(west, south, east, north)``.

    Raises
    ------
    SearchError
        For anything else.
    """
    numbers = list(bbox) if isinstance(bbox, Sequence) and not isinstance(bbox, str) else []
    if len(numbers) not in (4, 6) or not all(_finite_number(v) for v in numbers):
        raise SearchError(f"a bbox must be 4 or 6 finite numbers, got {str(bbox)[:100]}")
    half = len(numbers) // 2  # [west, south, (bottom,) east, north, (top)]
    west, south, east, north = numbers[0], numbers[1], numbers[half], numbers[half + 1]
    corners = ", ".join(f"CAST({quote_string(repr(float(v)))} AS DOUBLE)" for v in (west, south, east, north))
    return f"ST_MakeEnvelope({corners})"


def _finite_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
