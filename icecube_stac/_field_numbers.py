"""Number text and vectors as ICEYE metadata write them: patterns, bounds and the fast paths of :mod:`._fields`.

A legacy product has ~340 numbers in vectors (state vectors, coefficients, RPC); converted one by one with
:func:`~icecube_stac._fields.as_float` they took ~1 ms of its ~6 ms of indexing (measured). :func:`plain_numbers`
converts a vector whose tokens all pass the very checks ``as_float`` makes, in C calls only.
:func:`vector_items` splits a vector's text or flattens its list (a flat list of plain scalars is copied in C)
with its bounds, :data:`MAX_VECTOR_VALUES` values and :data:`MAX_VECTOR_CHARS` characters, checked first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, Final

__all__ = [
    "MAX_NUMBER_CHARS",
    "MAX_VECTOR_CHARS",
    "MAX_VECTOR_VALUES",
    "NUMBER",
    "all_text",
    "bounded_size",
    "bounded_text",
    "plain_numbers",
    "vector_items",
]

MAX_NUMBER_CHARS: Final = 64
MAX_VECTOR_VALUES: Final = 4096
MAX_VECTOR_CHARS: Final = MAX_VECTOR_VALUES * (MAX_NUMBER_CHARS + 2)
_VECTOR_PUNCTUATION: Final = re.compile(r"[\[\]'\",]")
_SCALAR_TYPES: Final = frozenset({str, bytes, int, float})  # exact types: a list or tuple subclass is no scalar
_STR: Final = frozenset({str})  # exact type, checked in C
NUMBER: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)


def all_text(items: list[Any]) -> bool:
    """Tell whether every token is exactly a ``str`` (no subclass), checked in C: the fast paths' first test."""
    return _STR.issuperset(map(type, items))


def plain_numbers(items: list[Any]) -> tuple[float, ...] | None:
    """Return the finite numbers of tokens that are all plain number text, else None (then check one by one).

    Parameters
    ----------
    items
        The tokens of a vector.

    Returns
    -------
    tuple of float or None
        None when any token is not a ``str`` matching :data:`NUMBER` in at most :data:`MAX_NUMBER_CHARS`
        characters, or overflows to infinity: ``as_float`` then names the token.
    """
    if not all_text(items) or max(map(len, items), default=0) > MAX_NUMBER_CHARS:
        return None
    if not all(map(NUMBER.fullmatch, items)):
        return None
    numbers = tuple(map(float, items))
    return numbers if all(map(math.isfinite, numbers)) else None


def vector_items(value: Any) -> list[Any]:
    """Return the flat items (tokens) of text, bytes, a list or an array; sizes are checked before any conversion.

    Parameters
    ----------
    value
        Text or bytes of numbers (brackets, quotes and commas are separators), a number, a list nested at
        most 3 levels deep, or an array.

    Returns
    -------
    list
        At most :data:`MAX_VECTOR_VALUES` items, unconverted.

    Raises
    ------
    ValueError, TypeError
        When a bound is passed or the value is of another kind.
    """
    if isinstance(value, (str, bytes)):
        items: list[Any] = _VECTOR_PUNCTUATION.sub(" ", bounded_text(value)).split()
    elif isinstance(value, (int, float)) or getattr(value, "ndim", None) == 0:
        items = [value]
    else:
        if hasattr(value, "tolist"):
            bounded_size(int(getattr(value, "size", 0)))  # before the array becomes Python objects
            value = value.tolist()
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"expected numbers, got {type(value).__name__}")
        items = _flatten(value)
    bounded_size(len(items))
    return items


def bounded_text(text: str | bytes) -> str:
    """Return a vector's text (bytes decoded as ASCII), at most :data:`MAX_VECTOR_CHARS` characters long."""
    if len(text) > MAX_VECTOR_CHARS:
        raise ValueError(f"text of {len(text)} characters; at most {MAX_VECTOR_CHARS} are allowed for a vector")
    return text.decode("ascii", errors="replace") if isinstance(text, bytes) else text


def bounded_size(count: int) -> None:
    """Refuse more than :data:`MAX_VECTOR_VALUES` values (``ValueError``)."""
    if count > MAX_VECTOR_VALUES:
        raise ValueError(f"{count} values; at most {MAX_VECTOR_VALUES} are allowed")


def _flatten(value: Sequence[Any], depth: int = 0) -> list[Any]:
    bounded_size(len(value))
    if _SCALAR_TYPES.issuperset(map(type, value)):  # a flat list of plain scalars (every XML vector): in C
        return list(value)
    out: list[Any] = []
    for v in value:
        if isinstance(v, (list, tuple)):
            if depth >= 2:
                raise ValueError("nested more than 3 levels deep")
            out.extend(_flatten(v, depth + 1))
        else:
            out.append(v)
        bounded_size(len(out))
    return out
