"""The rules of plain ``config.json`` values (dates, angles, counts, flags, choices, name lists, numbers).

A :class:`Rule` is one kind of value. Its :meth:`~Rule.check` turns a raw value into the canonical one or
raises a :class:`~icecube_stac.errors.ConfigError` saying what is allowed, and its :meth:`~Rule.schema`
publishes the JSON Schema of exactly the values :meth:`~Rule.check` accepts, built from the same bounds,
choices and patterns. Checks also accept their own canonical output (``datetime.date``, tuples), so a
:class:`~icecube_stac.config.CubeConfig` built directly can be validated. Structured values (areas, CQL2,
catalog, headers, chunks) have their rules in :mod:`icecube_stac._config_geometry` and
:mod:`icecube_stac._config_checks`.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ._config_errors import fail, one_of, whole_number_hint
from ._config_limits import DATE_FIRST, DATE_LAST, DATE_RANGE_TEXT, FLOAT32_MAX
from ._config_patterns import (
    ANGLE_TEXT,
    DATE_TEXT,
    NON_BLANK,
    choice_pattern,
    matches,
    nullable,
    one_or_many,
)

__all__ = [
    "ANGLE_RANGE",
    "AngleRule",
    "ChoiceRule",
    "CountRule",
    "DateRule",
    "FillValueRule",
    "FlagRule",
    "NamesRule",
    "PositiveNumberRule",
    "Rule",
    "integer",
    "real",
]

ANGLE_RANGE: Final = (0.0, 90.0)
"""Incidence angles allowed, degrees, inclusive (:data:`~icecube_stac._config_patterns.ANGLE_TEXT` too)."""

_DATE_FORMS: Final = "a YYYYMMDD integer (20240301) or string ('20240301' or ISO '2024-03-01')"
_DATE_ALLOWED: Final = f"expected a date as {_DATE_FORMS}, {DATE_RANGE_TEXT}"
_DATE_SHAPES: Final = (re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})"), re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})"))
_DECIMAL: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DATE_INTEGER: Final = {
    "type": "integer",
    "minimum": int(DATE_FIRST.strftime("%Y%m%d")),
    "maximum": int(DATE_LAST.strftime("%Y%m%d")),
}
_FILL_ALLOWED: Final = (
    f"expected a finite number within the float32 range (magnitude at most {FLOAT32_MAX:.7g}), "
    "or null (or NaN) for the loader's default (NaN for float cubes)"
)


class Rule(ABC):
    """One kind of config value: how to check it and the JSON Schema of what the check accepts."""

    @abstractmethod
    def check(self, key: str, value: object) -> Any:
        """Return the canonical form of ``value``.

        Parameters
        ----------
        key
            The config key, for the error message.
        value
            The raw value (JSON data, or the rule's own canonical form).

        Returns
        -------
        Any
            The canonical value.

        Raises
        ------
        ConfigError
            If ``value`` is not allowed; the message says what is.
        """

    @abstractmethod
    def schema(self) -> dict[str, Any]:
        """Return the JSON Schema (draft 2020-12) fragment of the JSON values :meth:`check` accepts.

        Returns
        -------
        dict
            A fresh dict.
        """


def real(value: object) -> float | None:
    """Return a finite float for a real number (never for a bool), else None.

    Parameters
    ----------
    value
        Anything.

    Returns
    -------
    float or None
        None also for infinities, NaN and integers too large for a float (``10**400``).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        number = float(value)
    except (OverflowError, ValueError):
        return None
    return number if math.isfinite(number) else None


def integer(value: object) -> int | None:
    """Return an int for an integral number (never for a bool or a float), else None.

    Parameters
    ----------
    value
        Anything.

    Returns
    -------
    int or None
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return None
    return int(value)


def _date_reason(text: str) -> str:
    """Explain why ``text`` is no :data:`DATE_TEXT`."""
    shape = next((m for p in _DATE_SHAPES if (m := p.fullmatch(text))), None)
    if shape is None:
        return "not in YYYYMMDD form; " + _DATE_ALLOWED
    try:
        dt.date(*(int(part) for part in shape.groups()))
    except ValueError as exc:
        return f"unparsable date ({exc}); {_DATE_ALLOWED}"
    return "outside the dates allowed; " + _DATE_ALLOWED


@dataclass(frozen=True)
class DateRule(Rule):
    """A calendar date: YYYYMMDD integer or string, or ISO string; within :data:`DATE_FIRST`..:data:`DATE_LAST`.

    The bounds are those of pandas' nanosecond timestamps, which the cube's time axis uses.
    """

    def check(self, key: str, value: object) -> dt.date:
        if isinstance(value, dt.datetime):
            fail(key, value, "expected a date without a time of day; " + _DATE_ALLOWED)
        if isinstance(value, dt.date):
            if not DATE_FIRST <= value <= DATE_LAST:
                fail(key, value, "outside the dates allowed; " + _DATE_ALLOWED)
            return value
        if (number := integer(value)) is not None:
            if abs(number) >= 10**12:  # str() of a huge integer is slow, or refused beyond 4300 digits
                fail(key, value, "not in YYYYMMDD form; " + _DATE_ALLOWED)
            text = str(number)
        elif isinstance(value, str):
            text = value
        else:
            fail(key, value, _DATE_ALLOWED + whole_number_hint(value))
        if not matches(DATE_TEXT, text):
            fail(key, value, _date_reason(text))
        digits = text.replace("-", "")
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [dict(_DATE_INTEGER), {"type": "string", "pattern": DATE_TEXT}]}


@dataclass(frozen=True)
class AngleRule(Rule):
    """An angle in degrees within :data:`ANGLE_RANGE`, as a number or a numeric string."""

    def check(self, key: str, value: object) -> float:
        low, high = ANGLE_RANGE
        allowed = f"expected a number of degrees from {low:g} to {high:g}"
        angle = real(value)
        if isinstance(value, str):
            if matches(ANGLE_TEXT, value):
                return float(value)
            if _DECIMAL.fullmatch(value.strip()):
                fail(key, value, allowed + " (inclusive)")
        if angle is None:
            fail(key, value, allowed)
        if not low <= angle <= high:
            fail(key, value, allowed + " (inclusive)")
        return angle

    def schema(self) -> dict[str, Any]:
        low, high = ANGLE_RANGE
        return {
            "anyOf": [
                {"type": "number", "minimum": low, "maximum": high},
                {"type": "string", "pattern": ANGLE_TEXT},
            ]
        }


@dataclass(frozen=True)
class CountRule(Rule):
    """A whole number from ``minimum`` to ``maximum`` (never a bool or a float), or null when ``nullable``."""

    minimum: int
    maximum: int
    allowed: str
    nullable: bool = False

    def check(self, key: str, value: object) -> int | None:
        if value is None and self.nullable:
            return None
        count = integer(value)
        if count is None or not self.minimum <= count <= self.maximum:
            fail(key, value, self.allowed + whole_number_hint(value))
        return count

    def schema(self) -> dict[str, Any]:
        schema = {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}
        return nullable(schema) if self.nullable else schema


@dataclass(frozen=True)
class FlagRule(Rule):
    """A boolean; 0 and 1 are accepted as in icecube 1.x's sample config."""

    def check(self, key: str, value: object) -> bool:
        if isinstance(value, bool):
            return value
        if integer(value) in (0, 1):
            return bool(value)
        allowed = "expected true or false (0 and 1 are accepted as in icecube 1.x)" + whole_number_hint(value)
        if isinstance(value, str):
            allowed += "; write true/false without quotes, a quoted string is not a boolean"
        fail(key, value, allowed)

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [{"type": "boolean"}, {"enum": [0, 1]}]}


@dataclass(frozen=True)
class PositiveNumberRule(Rule):
    """A finite number ``> 0`` and ``<= maximum``."""

    maximum: float
    allowed: str

    def check(self, key: str, value: object) -> float:
        number = real(value)
        if number is None or not 0 < number <= self.maximum:
            fail(key, value, self.allowed)
        return number

    def schema(self) -> dict[str, Any]:
        return {"type": "number", "exclusiveMinimum": 0, "maximum": self.maximum}


@dataclass(frozen=True)
class FillValueRule(Rule):
    """A finite number a float32 holds (an integer stays exact), or null; NaN means null (the default)."""

    def check(self, key: str, value: object) -> float | None:
        nan = isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral) and value != value
        if value is None or nan:
            return None  # NaN is the loader's default: canonical null, so the config stays JSON
        whole = integer(value)
        if whole is not None:
            if abs(whole) > FLOAT32_MAX:
                fail(key, value, _FILL_ALLOWED)
            return whole  # an integer cube (GRD DN) may want an exact integer fill such as 0
        number = real(value)
        if number is None or abs(number) > FLOAT32_MAX:
            fail(key, value, _FILL_ALLOWED)
        return number

    def schema(self) -> dict[str, Any]:
        return {"type": ["number", "null"], "minimum": -FLOAT32_MAX, "maximum": FLOAT32_MAX}


@dataclass(frozen=True)
class ChoiceRule(Rule):
    """One of ``choices`` in any ASCII case (canonical: as spelled in ``choices``), or null."""

    choices: tuple[str, ...]

    def check(self, key: str, value: object) -> str | None:
        if value is None:
            return None
        if isinstance(value, str) and matches(choice_pattern(self.choices), value):
            return {c.lower(): c for c in self.choices}[value.lower()]
        fail(key, value, one_of(self.choices, value))

    def schema(self) -> dict[str, Any]:
        return nullable({"type": "string", "pattern": choice_pattern(self.choices)})


@dataclass(frozen=True)
class NamesRule(Rule):
    """A string or a list of strings; duplicates dropped, order kept.

    Attributes
    ----------
    choices
        The allowed names (any ASCII case, canonical as spelled here), or None for any non-blank string.
    normalise
        The canonical form of a name when ``choices`` is None (e.g. ``str.lower`` for platforms).
    """

    choices: tuple[str, ...] | None
    normalise: Callable[[str], str] = str

    def _item_pattern(self) -> str:
        return NON_BLANK if self.choices is None else choice_pattern(self.choices)

    def check(self, key: str, value: object) -> tuple[str, ...]:
        what = one_of(self.choices, None, nullable=False) if self.choices else "expected non-empty strings"
        allowed = f"expected a string or a list of strings ({what})"
        if isinstance(value, str):
            items: Sequence[object] = [value]
        elif isinstance(value, (list, tuple)):
            items = value
        else:
            fail(key, value, allowed)
        names: list[str] = []
        for item in items:
            if not isinstance(item, str) or not matches(NON_BLANK, item):
                fail(key, item, allowed)
            if self.choices is None:
                name = self.normalise(item)
            elif matches(self._item_pattern(), item):
                name = {c.lower(): c for c in self.choices}[item.lower()]
            else:
                fail(key, item, one_of(self.choices, item, nullable=False))
            if name not in names:
                names.append(name)
        return tuple(names)

    def schema(self) -> dict[str, Any]:
        return one_or_many({"type": "string", "pattern": self._item_pattern()})
