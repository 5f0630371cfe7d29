"""The rule of the CQL2 ``filter``: bounded before the cql2 parser sees it, then parsed, validated and limited.

The ``cql2`` library (Rust) recurses over its input: a few thousand nested parentheses or ``NOT`` crash
the process. So a filter is first bounded without recursion: CQL2 text by its length and an estimate of
its nesting (a token scan), CQL2-JSON by its depth, its number of values and its size. Only then is it
parsed, into canonical CQL2-JSON, which is checked here against the grammar of the operators the search
backends support: no function calls (``repeat('x', 400000000)`` would reach DuckDB), no arithmetic,
conditions only where conditions go, the right number of arguments. cql2's own ``validate()`` is not
used: on invalid input its error path grows exponentially with nesting (``not`` of a property 14 deep,
or a comparison inside a comparison 3 deep, exhaust gigabytes and abort the process).
"""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import cql2

from ._config_errors import did_you_mean, fail, shown
from ._config_limits import FILTER_MAX_CHARS, FILTER_MAX_DEPTH, FILTER_MAX_INTEGER, FILTER_MAX_VALUES
from ._config_patterns import NON_BLANK, nullable
from ._config_rules import Rule

__all__ = ["CQL2_ARITHMETIC", "CQL2_OPERATORS", "FilterRule", "plain_json", "text_depth"]

CQL2_OPERATORS: Final = frozenset(
    {
        *("and", "or", "not", "=", "<>", "<", "<=", ">", ">=", "like", "between", "in", "isNull"),
        *("casei", "accenti"),
        *("s_intersects", "s_equals", "s_disjoint", "s_touches", "s_within", "s_overlaps", "s_crosses"),
        *("s_contains", "t_after", "t_before", "t_contains", "t_disjoint", "t_during", "t_equals"),
        *("t_finishedBy", "t_finishes", "t_intersects", "t_meets", "t_metBy", "t_overlappedBy"),
        *("t_overlaps", "t_startedBy", "t_starts", "a_equals", "a_contains", "a_containedBy", "a_overlaps"),
    }
)
"""The CQL2 operators a filter may use, as cql2-json spells them; any other ``op`` is refused."""

CQL2_ARITHMETIC: Final = frozenset({"+", "-", "*", "/", "%", "^", "div"})
"""CQL2 arithmetic, refused: no config needs it and DuckDB lacks ``div``."""

_ALLOWED_WORDS: Final = (
    "comparisons (=, <>, <, <=, >, >=), and/or/not, like, between, in, isNull, casei, accenti, "
    "the spatial s_*, temporal t_* and array a_* operators"
)
_FILTER_ALLOWED: Final = "expected a CQL2-JSON object or a CQL2-text string (it is ANDed with the other keys), or null"
_BOUNDS: Final = (
    f"CQL2 filters may be at most {FILTER_MAX_CHARS:,} characters long (CQL2-JSON: written compactly), "
    f"nest at most {FILTER_MAX_DEPTH} levels of objects and arrays and hold at most {FILTER_MAX_VALUES:,} values"
)
_CQL2_POSITION: Final = re.compile(r"-->\s*(\d+):(\d+)")
_TOKEN: Final = re.compile(r"'(?:[^']|'')*'?|\"(?:[^\"]|\"\")*\"?|[A-Za-z_][A-Za-z0-9_:.]*|[0-9][0-9.]*|[<>=!]+|\S")
_OPERATOR_WORDS: Final = frozenset({"NOT", "LIKE", "BETWEEN", "IN", "IS", "DIV"})


def _cql2_reason(exc: BaseException) -> str:
    text = str(exc).strip()
    position = _CQL2_POSITION.search(text)
    expected = re.search(r"=\s*(expected .*)$", text, flags=re.MULTILINE)
    if position and expected:
        return f"CQL2-text parse error at line {position[1]}, column {position[2]}: {expected[1]}"
    return " ".join(text.split())[:300]


class _Group:
    """One parenthesised group of CQL2 text while :func:`text_depth` scans it."""

    def __init__(self, call: bool) -> None:
        self.call = call  # name(...): a function call, an operator node of its own
        self.operators = 0  # operators in the current segment (between AND/OR/commas)
        self.inner = 0  # deepest group in the current segment
        self.deepest = 0
        self.boolean = False

    def end_segment(self) -> None:
        self.deepest = max(self.deepest, 2 * self.operators + max(self.inner, 1))
        self.operators = self.inner = 0

    def depth(self) -> int:
        self.end_segment()
        return self.deepest + (2 if self.boolean else 0)


def text_depth(text: str) -> tuple[int, int]:
    """Estimate, without parsing, how deep the CQL2-JSON of a CQL2 text would nest.

    Each operator of a chain (``NOT NOT ...``, ``- - 1``, ``a = b = c``) counts as an object and its
    ``args`` array, a function call likewise, AND/OR as one level; string literals are skipped. The scan
    is linear and never recurses.

    Parameters
    ----------
    text
        CQL2 text.

    Returns
    -------
    tuple of int
        The estimated depth (equal to the JSON's for ordinary filters) and the deepest parenthesis.
    """
    stack = [_Group(call=False)]
    parentheses = 0
    word_before = False
    for match in _TOKEN.finditer(text):
        token = match[0]
        upper = token.upper()
        group = stack[-1]
        if token == "(":
            stack.append(_Group(call=word_before))
            parentheses = max(parentheses, len(stack) - 1)
        elif token == ")" and len(stack) > 1:
            inner = stack.pop()
            stack[-1].inner = max(stack[-1].inner, inner.depth() + (2 if inner.call else 0))
        elif token == ",":
            group.end_segment()
        elif upper in ("AND", "OR"):
            group.end_segment()
            group.boolean = True
        elif upper in _OPERATOR_WORDS or not (token[0].isalnum() or token[0] in "_'\"" or token == ")"):
            group.operators += 1
        word_before = token[0].isalpha() or token[0] in '_"'
        word_before = word_before and upper not in _OPERATOR_WORDS and upper not in ("AND", "OR")
    while len(stack) > 1:  # unbalanced: cql2 will say so; estimate as if the groups were closed
        inner = stack.pop()
        stack[-1].inner = max(stack[-1].inner, inner.depth() + (2 if inner.call else 0))
    return stack[0].depth(), parentheses


def _number(key: str, whole: object, node: numbers.Real) -> int | float:
    if isinstance(node, numbers.Integral):
        if not -FILTER_MAX_INTEGER <= int(node) < FILTER_MAX_INTEGER:
            fail(key, whole, f"CQL2 integers must lie within [-2**63, 2**63), got {shown(node, 40)}")
        return int(node)
    number = float(node)
    if not math.isfinite(number):
        fail(key, whole, f"CQL2 numbers must be finite, got {number}")
    return number


def _too_big(key: str, whole: object, what: str) -> None:
    fail(key, whole, f"the filter {what}; {_BOUNDS}")


def plain_json(key: str, whole: object, value: object) -> Any:
    """Copy a CQL2-JSON value as plain JSON data within the filter bounds, without recursion.

    Parameters
    ----------
    key
        The config key, for messages.
    whole
        The filter as given, for messages.
    value
        The CQL2-JSON (mappings, sequences, strings, numbers, booleans, None).

    Returns
    -------
    Any
        Dicts with string keys, lists, str, int, float, bool and None only.

    Raises
    ------
    ConfigError
        For non-JSON data, a non-finite number or an integer out of 64-bit range, or a value beyond the
        bounds: :data:`FILTER_MAX_DEPTH`, :data:`FILTER_MAX_VALUES`, :data:`FILTER_MAX_CHARS`.
    """
    count, chars = 0, 0
    root: list[Any] = [None]
    stack: list[tuple[object, Any, Any, int]] = [(value, root, 0, 1)]
    while stack:
        node, parent, slot, depth = stack.pop()
        count += 1
        size = len(node) if isinstance(node, (Mapping, list, tuple)) else 0
        if count + size > FILTER_MAX_VALUES:
            _too_big(key, whole, f"holds more than {FILTER_MAX_VALUES:,} values")
        if size and depth > FILTER_MAX_DEPTH:
            _too_big(key, whole, f"nests more than {FILTER_MAX_DEPTH} levels deep")
        if isinstance(node, Mapping):
            copy: dict[str, Any] = {}
            for name, member in node.items():
                if not isinstance(name, str):
                    fail(key, whole, f"not JSON data (an object key {shown(name, 40)} is no string); {_FILTER_ALLOWED}")
                chars += len(name)
                copy[name] = None
                stack.append((member, copy, name, depth + 1))
            parent[slot] = copy
        elif isinstance(node, (list, tuple)):
            members: list[Any] = [None] * len(node)
            stack.extend((member, members, index, depth + 1) for index, member in enumerate(node))
            parent[slot] = members
        elif isinstance(node, str):
            chars += len(node)
            parent[slot] = node
        elif node is None or isinstance(node, bool):
            parent[slot] = node
        elif isinstance(node, numbers.Real):
            parent[slot] = _number(key, whole, node)
        else:
            fail(key, whole, f"not JSON data (a {type(node).__name__}); {_FILTER_ALLOWED}")
        if chars > FILTER_MAX_CHARS:
            _too_big(key, whole, f"is longer than {FILTER_MAX_CHARS:,} characters")
    written = len(json.dumps(root[0], separators=(",", ":"), ensure_ascii=False))
    if written > FILTER_MAX_CHARS:
        _too_big(key, whole, f"is {written:,} characters long as compact CQL2-JSON")
    return root[0]


def _operator_problem(op: str) -> str:
    guess = did_you_mean(op, sorted(CQL2_OPERATORS)) if len(op) > 1 else None
    if op in CQL2_ARITHMETIC:
        reason = f"CQL2 arithmetic ({op!r}) is not supported"
    elif guess is not None:
        reason = f"unknown CQL2 operator {shown(op, 40)}; did you mean {guess!r}?"
    else:
        reason = f"CQL2 function {shown(op, 40)} is not allowed (no function calls)"
    return f"{reason}; filters may use {_ALLOWED_WORDS}"


def _arity(op: str) -> tuple[int, int]:
    """Return the fewest and most arguments of an allowed operator."""
    if op in ("and", "or"):
        return 2, FILTER_MAX_VALUES
    if op in ("not", "isNull", "casei", "accenti"):
        return 1, 1
    return (3, 3) if op == "between" else (2, 2)


def _check_grammar(key: str, whole: object, canonical: object) -> None:
    """Check the canonical CQL2-JSON against the grammar of the allowed operators, without recursion.

    Conditions (comparisons, like, between, in, isNull, s_*, t_*, a_*, and/or/not, true/false) stand at
    the top and inside and/or/not only; every other argument is a value (a literal, a property, casei or
    accenti, a timestamp, date, interval, bbox, geometry or array). Each operator gets its number of
    arguments. This replaces cql2's ``validate()``, whose error path grows exponentially with nesting
    (a comparison nested in a comparison three deep exhausts gigabytes).
    """
    nodes: list[tuple[object, bool]] = [(canonical, True)]  # (node, stands where a condition goes)
    while nodes:
        node, condition = nodes.pop()
        if isinstance(node, dict) and "op" in node:
            op, args = node["op"], node.get("args")
            if not isinstance(op, str) or op not in CQL2_OPERATORS:
                fail(key, whole, _operator_problem(str(op)))
            value_op = op in ("casei", "accenti")
            if condition == value_op:
                where = "a condition where a value is expected" if condition is False else "a value, not a condition"
                hint = "combine conditions with and/or/not" if not condition else "compare it, e.g. casei(x) = 'y'"
                fail(key, whole, f"invalid CQL2: {op!r} is {where} ({hint}); " + _FILTER_ALLOWED)
            low, high = _arity(op)
            if not isinstance(args, list) or not low <= len(args) <= high:
                count = f"{low}" if low == high else f"at least {low}"
                got = len(args) if isinstance(args, list) else "no list"
                fail(key, whole, f"invalid CQL2: {op!r} takes {count} argument(s), got {got}; " + _FILTER_ALLOWED)
            if op == "in" and not isinstance(args[1], list):
                fail(key, whole, "invalid CQL2: 'in' takes a value and a list of values; " + _FILTER_ALLOWED)
            nodes.extend((arg, op in ("and", "or", "not")) for arg in args)
        elif condition and not isinstance(node, bool):
            what = "a property" if isinstance(node, dict) and "property" in node else f"{shown(node, 60)}"
            fail(key, whole, f"invalid CQL2: {what} is no condition (compare it, e.g. flag = true); " + _FILTER_ALLOWED)
        elif isinstance(node, list):
            nodes.extend((member, False) for member in node)
        elif isinstance(node, dict):
            nodes.extend((member, False) for member in node.values() if isinstance(member, (dict, list)))


def _cql2(key: str, value: object, step: Callable[[], Any]) -> Any:
    """Run one call into cql2, turning its failures into the config error (never letting one out)."""
    try:
        return step()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # cql2 raises plain Exception, and a Rust panic is a BaseException
        fail(key, value, f"invalid CQL2: {_cql2_reason(exc)}; " + _FILTER_ALLOWED)


def _parse(key: str, value: object) -> Any:
    """Return the cql2 expression of a bounded filter (text or plain JSON)."""
    if isinstance(value, str):
        if len(value) > FILTER_MAX_CHARS:
            _too_big(key, value, f"is {len(value):,} characters long")
        depth, parentheses = text_depth(value)
        if max(depth, parentheses) > FILTER_MAX_DEPTH:
            levels = "parentheses, function calls, NOT and chained operators each add levels"
            _too_big(key, value, f"nests about {max(depth, parentheses)} levels deep ({levels})")
        source: str | dict[str, Any] | Any = value
    else:
        source = plain_json(key, value, value)
    return _cql2(key, value, lambda: cql2.Expr(source))


@dataclass(frozen=True)
class FilterRule(Rule):
    """A bounded CQL2 boolean expression (CQL2-JSON or CQL2-text), or null; canonical: CQL2-JSON, lowercase ops."""

    def check(self, key: str, value: object) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, (str, Mapping)):
            fail(key, value, _FILTER_ALLOWED)
        expr = _parse(key, value)
        # cql2's JSON is canonical: operators lowercased ("AND" -> "and"), CQL2-text converted.
        canonical = plain_json(key, value, _cql2(key, value, expr.to_json))
        if not isinstance(canonical, dict) or "op" not in canonical:
            fail(key, value, "expected a CQL2 boolean expression, an object with 'op' and 'args'")
        _check_grammar(key, value, canonical)
        result: dict[str, Any] = canonical
        return result

    def schema(self) -> dict[str, Any]:
        expression = {
            "type": "object",
            "required": ["op", "args"],
            "properties": {"op": {"type": "string"}, "args": {"type": "array"}},
        }
        text = {"type": "string", "pattern": NON_BLANK, "maxLength": FILTER_MAX_CHARS}
        return nullable({"anyOf": [expression, text]})
