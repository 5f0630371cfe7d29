"""Number text as ICEYE metadata write it: the pattern and bound of :mod:`icecube_stac._fields`, and a fast path.

A legacy product has ~340 numbers in vectors (state vectors, coefficients, RPC); converted one by one with
:func:`~icecube_stac._fields.as_float` they took ~1 ms of its ~6 ms of indexing (measured). :func:`plain_numbers`
converts a vector whose tokens all pass the very checks ``as_float`` makes, in C calls only.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

__all__ = ["MAX_NUMBER_CHARS", "NUMBER", "plain_numbers"]

MAX_NUMBER_CHARS: Final = 64
NUMBER: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)


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
    if not all(type(item) is str for item in items) or max(map(len, items), default=0) > MAX_NUMBER_CHARS:
        return None
    if not all(map(NUMBER.fullmatch, items)):
        return None
    numbers = tuple(map(float, items))
    return numbers if all(map(math.isfinite, numbers)) else None
