"""Convert one raw ICEYE field value (text, bytes, numbers, numpy values, lists) into a plain Python value.

Every converter takes the value as a format reader found it and returns a ``str``, ``float``, ``int``,
tuple of floats or aware ``datetime``, raising :class:`ValueError` or :class:`TypeError` with a short
reason when the value has the wrong form; :mod:`icecube_stac.metadata` adds the field name and the file.
This module does no I/O.

Values are untrusted, so sizes are checked before anything is converted or allocated. Numbers are
ICEYE's ASCII notation only (``26447``, ``-1.5e-06``: no Arabic-Indic or fullwidth digits, no ``_``
separators, no ``inf``/``nan``) of at most :data:`MAX_NUMBER_CHARS` characters; integers fit int64; a
text value has at most :data:`MAX_TEXT_CHARS` characters and no control or surrogate characters; a
vector has at most :data:`~icecube_stac._field_numbers.MAX_VECTOR_VALUES` values
(:data:`~icecube_stac._field_numbers.MAX_VECTOR_CHARS` characters of text).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, TypeVar

from icecube_stac._field_numbers import (
    MAX_NUMBER_CHARS,
    NUMBER,
    all_text,
    bounded_size,
    bounded_text,
    plain_numbers,
    vector_items,
)

__all__ = [
    "as_angle",
    "as_enum",
    "as_float",
    "as_heading",
    "as_int",
    "as_int_in_range",
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

# Far beyond anything ICEYE writes (the real GRD XML has 37 state vectors, 9 x 4 Doppler coefficients and
# 20 coefficients per RPC polynomial; per-pixel HDF5 vectors are not metadata).
MAX_TEXT_CHARS: Final = 256
INT64_MAX: Final = 2**63 - 1

# ASCII-only (re.ASCII makes \d mean [0-9]) and linear patterns: no nested quantifiers, no backtracking.
_PRODUCT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,200}", re.ASCII)
_MATRIX_ROW = re.compile(r"\[([^\[\]]*)\]")
_TIME = re.compile(r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]00:?00)?", re.ASCII)
# What parse_time reads by datetime.fromisoformat as it is (with at most 6 fraction digits, kept whole).
_PLAIN_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?", re.ASCII)
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
_BAD_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def short(value: Any) -> str:
    """Return a value as text of at most 80 characters, for error messages (never all of a huge value).

    Parameters
    ----------
    value
        Any value.

    Returns
    -------
    str
    """
    if isinstance(value, (bytes, str)):
        text = repr(value[:100])[2 if isinstance(value, bytes) else 1 : -1]
    elif isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) != 0:
        text = f"{type(value).__name__} of {getattr(value, 'size', None) or len(value)} values"
    else:
        text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def as_text(value: Any) -> str:
    """Return a single printable text value (bytes decoded as ASCII), stripped.

    Parameters
    ----------
    value
        Text, bytes or a scalar.

    Returns
    -------
    str
        At most :data:`MAX_TEXT_CHARS` characters, without control or surrogate characters.
    """
    if type(value) is str and len(value) <= MAX_TEXT_CHARS and value.isprintable() and value.strip(" ") == value:
        return value  # the common case, as the checks below would return it (printable: no control/surrogate)
    if isinstance(value, bytes):
        value = value[: MAX_TEXT_CHARS * 4 + 1].decode("ascii", errors="replace")
    if isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) != 0:
        raise ValueError("expected a single text value, got a list")
    text = str(value)
    text = (text if len(text) <= MAX_TEXT_CHARS * 4 else text[: MAX_TEXT_CHARS * 4 + 1]).strip()
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"text longer than {MAX_TEXT_CHARS} characters")
    if _BAD_CHARACTERS.search(text):
        raise ValueError("text holds control or surrogate characters; ICEYE metadata text is printable")
    return text


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


def _scalar(value: Any) -> Any:
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        value = value.item()  # a numpy scalar or 0-d array
    if isinstance(value, bool):
        raise TypeError("expected a number, got a boolean")
    return value


def _number_text(value: str | bytes) -> str:
    text = as_text(value).strip("[]'\" ")
    if len(text) > MAX_NUMBER_CHARS or not NUMBER.fullmatch(text):
        raise ValueError(f"expected a finite ASCII number like 26447 or -1.5e-06 (at most {MAX_NUMBER_CHARS} chars)")
    return text


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
    if type(value) is str and len(value) <= MAX_NUMBER_CHARS and NUMBER.fullmatch(value):
        value = float(value)  # the common case (an XML number): what _number_text would return unchanged
    value = _scalar(value)
    if isinstance(value, int):
        if abs(value) > INT64_MAX:
            raise ValueError("beyond the int64 range of any ICEYE value")
        number = float(value)
    elif isinstance(value, float):
        number = value
    elif isinstance(value, (str, bytes)):
        number = float(_number_text(value))
    else:
        raise TypeError(f"expected a number, got {type(value).__name__}")
    if not math.isfinite(number):
        raise ValueError("expected a finite number")
    return number


def in_range(low: float, high: float, *, above: bool = False) -> Callable[[Any], float]:
    """Return a converter of :func:`as_float` numbers in ``[low, high]`` (``(low, high]`` if ``above``)."""

    def convert(value: Any) -> float:
        number = as_float(value)
        if not (low < number if above else low <= number) or number > high:
            raise ValueError(f"allowed range is {'(' if above else '['}{low:g}, {high:g}]")
        return number

    return convert


as_angle = in_range(0.0, 90.0)  # incidence and look angles
as_heading = in_range(0.0, 360.0)
as_positive = in_range(0.0, math.inf)


def as_product_name(value: Any) -> str:
    """Return a product name that is safe as a STAC id and a file name (letters, digits, ``_-.``)."""
    name = as_text(value)
    # The name becomes the STAC id and a file name: no path separators, no leading dot, nothing exotic.
    if not _PRODUCT_NAME.fullmatch(name):
        raise ValueError(
            "a product name has letters, digits, '_', '-' and '.' only, e.g. ICEYE_X7_GRD_SM_154171_20211027T183203"
        )
    return name


def as_int(value: Any) -> int:
    """Return an int64 integer from an integral number or numeric text (``26447``, ``26447.0``).

    Parameters
    ----------
    value
        The raw value.

    Returns
    -------
    int
        Within the int64 range.
    """
    value = _scalar(value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, (str, bytes)) and _INTEGER.fullmatch(text := _number_text(value)):
        number = int(text)  # exact: no detour through float for big values
    else:
        real = as_float(value)
        if not real.is_integer():
            raise ValueError("expected an integer")
        number = int(real)
    if abs(number) > INT64_MAX:
        raise ValueError("beyond the int64 range of any ICEYE value (|n| < 2**63)")
    return number


def as_int_in_range(low: int, high: int) -> Callable[[Any], int]:
    """Return a converter of :func:`as_int` integers that refuses values outside ``[low, high]``."""

    def convert(value: Any) -> int:
        number = as_int(value)
        if not low <= number <= high:
            raise ValueError(f"allowed range is [{low}, {high}]")
        return number

    return convert


as_positive_int = as_int_in_range(1, INT64_MAX)


def as_version(value: Any) -> str:
    """Return a version as text; a float (HDF5 stores ``spec_version`` as float64) loses its float noise."""
    if isinstance(value, float) or (hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0):
        return f"{as_float(value):.6g}"
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
    try:
        items = vector_items(value)
        fast = plain_numbers(items)
        return fast if fast is not None else tuple(as_float(v) for v in items)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"every value must be a finite number: {exc}") from None


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
    if isinstance(value, (str, bytes)):
        body = bounded_text(value).strip()
        body = body[1:-1] if body.startswith("[") and body.endswith("]") else body
        rows = _MATRIX_ROW.findall(body)
        matrix = tuple(as_vector(r) for r in rows) if rows else (as_vector(body),)
    else:
        if hasattr(value, "tolist"):
            bounded_size(int(getattr(value, "size", 0)))
            value = value.tolist()
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"expected rows of numbers, got {type(value).__name__}")
        bounded_size(len(value))
        matrix = tuple(as_vector(row) for row in value)
    bounded_size(sum(len(row) for row in matrix))
    return matrix


def as_time_vector(value: Any) -> tuple[datetime, ...]:
    """Return UTC times (:func:`parse_time`) from a list or array of time stamps, or the text of one."""
    items = vector_items(value)
    if all_text(items) and all(map(_PLAIN_TIME.fullmatch, items)):
        # The legacy form of every state vector (~40 a product): parsed in C calls, as parse_time would.
        try:
            return tuple(map(datetime.fromisoformat, map("{}+00:00".format, items)))
        except ValueError:
            pass  # a date or time out of range: parse_time says so
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
