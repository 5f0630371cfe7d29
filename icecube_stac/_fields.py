"""Convert one raw ICEYE field value (text, bytes, numbers, numpy values, lists) into a plain Python value.

Every converter takes the value as a format reader found it and returns a ``str``, ``float``, ``int``,
tuple of floats or aware ``datetime``, raising :class:`ValueError` or :class:`TypeError` with a short
reason when the value has the wrong form; :mod:`icecube_stac.metadata` adds the field name and the file.
This module does no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "as_angle",
    "as_enum",
    "as_float",
    "as_heading",
    "as_int",
    "as_lower",
    "as_matrix",
    "as_positive",
    "as_positive_int",
    "as_processor_version",
    "as_product_name",
    "as_text",
    "as_time_vector",
    "as_upper",
    "as_vector",
    "as_version",
    "in_range",
    "parse_time",
    "short",
]

_E = TypeVar("_E", bound=StrEnum)

_PRODUCT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,200}")
_VECTOR_PUNCTUATION = re.compile(r"[\[\]'\",]")
_MATRIX_ROW = re.compile(r"\[([^\[\]]*)\]")
_TIME = re.compile(r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]00:?00)?")


def short(value: Any) -> str:
    """Return a value as text of at most 80 characters, for error messages.

    Parameters
    ----------
    value
        Any value.

    Returns
    -------
    str
    """
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def as_text(value: Any) -> str:
    """Return a single text value (bytes decoded as ASCII), stripped.

    Parameters
    ----------
    value
        Text, bytes or a scalar.

    Returns
    -------
    str
    """
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace")
    if isinstance(value, (list, tuple)):
        raise ValueError("expected a single text value, got a list")
    return str(value).strip()


def as_lower(value: Any) -> str:
    """Return :func:`as_text` lowercased."""
    return as_text(value).lower()


def as_upper(value: Any) -> str:
    """Return :func:`as_text` uppercased."""
    return as_text(value).upper()


def as_enum(kind: type[_E], *, upper: bool = False) -> Callable[[Any], _E]:
    """Return a converter of text to a member of ``kind``, case-insensitively.

    Parameters
    ----------
    kind
        A string enum whose values are all lowercase (or all uppercase, with ``upper=True``).
    upper
        Compare uppercased text.

    Returns
    -------
    callable
    """

    def convert(value: Any) -> _E:
        text = as_upper(value) if upper else as_lower(value)
        try:
            return kind(text)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in kind)
            raise ValueError(f"allowed values are {allowed} (case-insensitive)") from None

    return convert


def as_float(value: Any) -> float:
    """Return a finite number from a number, a numpy scalar or numeric text (brackets and quotes ignored).

    Parameters
    ----------
    value
        The raw value.

    Returns
    -------
    float
    """
    if isinstance(value, bool):
        raise TypeError("expected a number, got a boolean")
    if isinstance(value, (int, float)):
        number = float(value)
    elif hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        number = float(value.item())
    else:
        number = float(as_text(value).strip("[]'\" "))
    if not math.isfinite(number):
        raise ValueError("expected a finite number")
    return number


def in_range(low: float, high: float) -> Callable[[Any], float]:
    """Return a converter of numbers that refuses values outside ``[low, high]``.

    Parameters
    ----------
    low, high
        Inclusive bounds.

    Returns
    -------
    callable
    """

    def convert(value: Any) -> float:
        number = as_float(value)
        if not low <= number <= high:
            raise ValueError(f"allowed range is [{low:g}, {high:g}]")
        return number

    return convert


as_angle = in_range(0.0, 90.0)  # incidence and look angles
as_heading = in_range(0.0, 360.0)
as_positive = in_range(0.0, math.inf)


def as_product_name(value: Any) -> str:
    """Return a product name that is safe as a STAC id and a file name.

    Parameters
    ----------
    value
        The raw ``product_name``.

    Returns
    -------
    str
    """
    name = as_text(value)
    # The name becomes the STAC id and a file name: no path separators, no leading dot, nothing exotic.
    if not _PRODUCT_NAME.fullmatch(name):
        raise ValueError(
            "a product name has letters, digits, '_', '-' and '.' only, e.g. ICEYE_X7_GRD_SM_154171_20211027T183203"
        )
    return name


def as_int(value: Any) -> int:
    """Return an integer from an integral number or numeric text."""
    number = as_float(value)
    if not number.is_integer():
        raise ValueError("expected an integer")
    return int(number)


def as_positive_int(value: Any) -> int:
    """Return a positive integer."""
    number = as_int(value)
    if number <= 0:
        raise ValueError("expected a positive integer")
    return number


def as_version(value: Any) -> str:
    """Return a version as text; a float (HDF5 stores ``spec_version`` as float64) loses its float noise."""
    if isinstance(value, float) or (hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0):
        return f"{float(value):.6g}"
    return as_text(value)


def as_processor_version(value: Any) -> str:
    """Return the bare processor version: XML/GeoTIFF say ``ICEYE_P_1.43``, HDF5 says 1.43."""
    return as_version(value).removeprefix("ICEYE_P_")


def as_vector(value: Any) -> tuple[float, ...]:
    """Return finite numbers from a list, an array, a number or the text of a list.

    Parameters
    ----------
    value
        A numpy array or its repr (``"[ 1.  2.]"``), a Python list or its repr, or space-separated
        numbers. Every token must be a number: a stray word is an error, not silently dropped.

    Returns
    -------
    tuple of float
    """
    if isinstance(value, str):
        value = _VECTOR_PUNCTUATION.sub(" ", value).split()
    elif hasattr(value, "tolist"):
        value = value.tolist()
    elif isinstance(value, (int, float)):
        value = [value]
    numbers = np.asarray(_flatten(value), dtype=np.float64)  # parses numeric text too, and raises on junk
    if not np.isfinite(numbers).all():
        raise ValueError("expected finite numbers")
    return tuple(numbers.tolist())


def _flatten(value: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for v in value:
        if isinstance(v, (list, tuple)):
            out.extend(_flatten(v))
        else:
            out.append(v)
    return out


def as_matrix(value: Any) -> tuple[tuple[float, ...], ...]:
    """Return rows of finite numbers from a 2-D array, nested lists or the numpy repr of a 2-D array.

    Parameters
    ----------
    value
        The raw value; in text, one ``[...]`` group per row inside the outer brackets.

    Returns
    -------
    tuple of tuple of float
    """
    if isinstance(value, str):
        body = value.strip()
        body = body[1:-1] if body.startswith("[") and body.endswith("]") else body
        rows = _MATRIX_ROW.findall(body)
        return tuple(as_vector(r) for r in rows) if rows else (as_vector(body),)
    if hasattr(value, "tolist"):
        value = value.tolist()
    return tuple(as_vector(row) for row in value)


def as_time_vector(value: Any) -> tuple[datetime, ...]:
    """Return UTC times from a list or array of time stamps, or the text of one.

    Parameters
    ----------
    value
        The raw value.

    Returns
    -------
    tuple of datetime
    """
    if isinstance(value, str):
        items = _VECTOR_PUNCTUATION.sub(" ", value).split()
    else:
        if hasattr(value, "tolist"):
            value = value.tolist()
        items = [as_text(v) for v in _flatten(value)] if not isinstance(value, bytes) else [as_text(value)]
    return tuple(parse_time(t) for t in items)


def parse_time(value: Any) -> datetime:
    """Parse an ICEYE UTC time stamp into an aware :class:`datetime`.

    Accepts the legacy naive form with 0–6 fractional digits (``2021-10-27T18:32:03.611924``,
    ``2021-10-28T08:30:21``) and the newer ``Z``-suffixed form, also with fewer fractional digits.

    Parameters
    ----------
    value
        Text or bytes.

    Returns
    -------
    datetime
        Timezone-aware, in UTC.
    """
    text = as_text(value).strip("'\"")
    match = _TIME.fullmatch(text)
    if not match:
        raise ValueError("expected a UTC time like 2021-10-27T18:32:03.611924")
    base, fraction, _ = match.groups()
    parsed = datetime.fromisoformat(base.replace(" ", "T"))
    micro = int((fraction or "0").ljust(6, "0")[:6])
    return parsed.replace(microsecond=micro, tzinfo=UTC)
