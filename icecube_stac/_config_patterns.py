"""The regular expressions and JSON Schema fragments that both the config loader and its JSON Schema use.

A text rule of ``config.json`` (a date, a numeric string, a choice, an HTTP header, a URL) is written
once here as a pattern. The published JSON Schema carries the pattern (``"pattern"``), and the loader
decides with :func:`matches`, which applies a pattern exactly as JSON Schema validators do (a search, not
a full match; the patterns anchor themselves), so the two cannot disagree.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from typing import Any, Final

from ._config_limits import DATE_FIRST, DATE_LAST

__all__ = [
    "ANGLE_TEXT",
    "API_URL",
    "API_URL_WITH_HOST",
    "DATE_TEXT",
    "HEADER_NAME",
    "HEADER_VALUE",
    "NON_BLANK",
    "URL_SCHEME",
    "any_case",
    "choice_pattern",
    "date_pattern",
    "digits_between",
    "matches",
    "nullable",
    "one_or_many",
    "whole",
]

END: Final = r"(?![\s\S])"
"""End of the text in every regex dialect (Python's ``$`` also matches before a final newline)."""


def whole(body: str) -> str:
    """Return a pattern that matches the whole text, and only text that ``body`` matches entirely.

    Parameters
    ----------
    body
        A regular expression (the common subset of Python's ``re`` and ECMA-262).

    Returns
    -------
    str
    """
    return f"^(?:{body}){END}"


def any_case(word: str) -> str:
    """Return a pattern body matching ``word`` in any ASCII case (``[Gg][Rr][Dd]``).

    Parameters
    ----------
    word
        A literal word.

    Returns
    -------
    str
    """
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)


def choice_pattern(choices: Sequence[str]) -> str:
    """Return a pattern matching exactly one of ``choices``, in any ASCII case.

    Parameters
    ----------
    choices
        The allowed words.

    Returns
    -------
    str
    """
    return whole("|".join(any_case(c) for c in choices))


def matches(pattern: str, text: str) -> bool:
    """Apply a pattern as JSON Schema's ``"pattern"`` keyword does (``re.search``).

    Parameters
    ----------
    pattern
        One of this module's patterns.
    text
        The string to test.

    Returns
    -------
    bool
    """
    return re.search(pattern, text) is not None


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """Return ``schema`` widened to accept null as well.

    Parameters
    ----------
    schema
        A JSON Schema fragment.

    Returns
    -------
    dict
    """
    return {"anyOf": [*schema.get("anyOf", [schema]), {"type": "null"}]}


def one_or_many(item: dict[str, Any]) -> dict[str, Any]:
    """Return a schema accepting one ``item`` or a list of them.

    Parameters
    ----------
    item
        The schema of one element.

    Returns
    -------
    dict
    """
    return {"anyOf": [item, {"type": "array", "items": item}]}


NON_BLANK: Final = r"\S"
"""A string with at least one character that is not white space (Python's ``str.strip`` keeps it)."""


def digits_between(low: int, high: int, width: int) -> str:
    """Return a pattern body matching the ``width``-digit, zero-padded numbers from ``low`` to ``high``.

    Parameters
    ----------
    low, high
        Inclusive bounds, ``0 <= low <= high < 10**width``.
    width
        Number of digits.

    Returns
    -------
    str
        For example ``digits_between(22, 30, 2)`` is ``2[2-9]|30``.
    """
    lo, hi = f"{low:0{width}d}", f"{high:0{width}d}"
    if lo == "0" * width and hi == "9" * width:
        return f"[0-9]{{{width}}}" if width > 1 else "[0-9]"
    if width == 1:
        return lo if lo == hi else f"[{lo}-{hi}]"
    rest = width - 1
    if lo[0] == hi[0]:
        return f"{lo[0]}(?:{digits_between(int(lo[1:]), int(hi[1:]), rest)})"
    parts = [f"{lo[0]}(?:{digits_between(int(lo[1:]), 10**rest - 1, rest)})"]
    if int(hi[0]) - int(lo[0]) > 1:
        parts.append(f"{digits_between(int(lo[0]) + 1, int(hi[0]) - 1, 1)}[0-9]{{{rest}}}")
    parts.append(f"{hi[0]}(?:{digits_between(0, int(hi[1:]), rest)})")
    return "|".join(parts)


# February 29 only in leap years: the Gregorian rule on four digits.
_LEAP_YEAR: Final = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)"


def _whole_years(first: int, last: int, sep: str) -> str:
    years = f"(?:{digits_between(first, last, 4)})"
    long_month = f"(?:0[13578]|1[02]){sep}(?:0[1-9]|[12][0-9]|3[01])"
    short_month = f"(?:0[469]|11){sep}(?:0[1-9]|[12][0-9]|30)"
    february = f"02{sep}(?:0[1-9]|1[0-9]|2[0-8])"
    # The lookahead keeps, of those years, the leap ones (both match the same four digits).
    return f"{years}{sep}(?:{long_month}|{short_month}|{february})|(?={_LEAP_YEAR}){years}{sep}02{sep}29"


def _part_of_year(first: dt.date, last: dt.date, sep: str) -> str:
    months = []
    for month in range(first.month, last.month + 1):
        low = first.day if month == first.month else 1
        high = last.day if month == last.month else calendar.monthrange(first.year, month)[1]
        months.append(f"{month:02d}{sep}(?:{digits_between(low, high, 2)})")
    return f"{first.year:04d}{sep}(?:{'|'.join(months)})"


def date_pattern(first: dt.date, last: dt.date, sep: str) -> str:
    """Return a pattern body matching the calendar dates from ``first`` to ``last`` as ``YYYY<sep>MM<sep>DD``.

    Parameters
    ----------
    first, last
        Inclusive bounds (years 1000-9999).
    sep
        ``""`` for YYYYMMDD, ``"-"`` for ISO dates.

    Returns
    -------
    str
    """
    if first.year == last.year:
        return _part_of_year(first, last, sep)
    parts = [_part_of_year(first, dt.date(first.year, 12, 31), sep)]
    if last.year - first.year > 1:
        parts.append(_whole_years(first.year + 1, last.year - 1, sep))
    parts.append(_part_of_year(dt.date(last.year, 1, 1), last, sep))
    return "|".join(parts)


DATE_TEXT: Final = whole(f"{date_pattern(DATE_FIRST, DATE_LAST, '')}|{date_pattern(DATE_FIRST, DATE_LAST, '-')}")
"""A calendar date as ``YYYYMMDD`` or ISO ``YYYY-MM-DD`` from :data:`DATE_FIRST` to :data:`DATE_LAST`."""

ANGLE_TEXT: Final = whole(
    r"\s*(?:\+?(?:0*(?:[0-9]|[1-8][0-9])(?:\.[0-9]*)?|0*90(?:\.0*)?|\.[0-9]+)|-(?:0+(?:\.0*)?|\.0+))\s*"
)
"""A plain decimal number from 0 to 90 inclusive, as text (icecube 1.x accepted ``"20"``); ``-0`` is 0."""

HEADER_NAME: Final = whole(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""An HTTP header name (an RFC 9110 token)."""

HEADER_VALUE: Final = whole(r"[^\r\n\x00]*")
"""An HTTP header value: no line breaks (header injection) and no NUL."""

URL_SCHEME: Final = r"^\s*[A-Za-z][A-Za-z0-9+.-]*://"
"""Text that starts like a URL (``scheme://``), after optional white space."""

API_URL: Final = r"^\s*[Hh][Tt][Tt][Pp][Ss]?://"
"""An http(s) URL in any case: the text :func:`icecube_stac.vocabulary.is_api_url` routes to a STAC API."""

API_URL_WITH_HOST: Final = API_URL + r"[^\s/?#]"
"""An http(s) URL with a host."""
