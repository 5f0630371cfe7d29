"""Validate ``config.json`` values against the key table: each given key once, then the rules between keys once.

:func:`check_value` is the only place a value is checked and :func:`cross_checks` the only place the rules
between keys are; :func:`validate` calls each once per key given and once per config, for
:func:`~icecube_stac.config.load_config`, :meth:`~icecube_stac.config.CubeConfig.replace` and direct
construction alike, and reports every problem together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from ._config_errors import Withheld, combine, did_you_mean, problem, shown
from ._config_keys import CONFIG_KEYS, KEY_HINTS, KEYS, Key, lookup
from ._config_limits import MAX_TIME_SLOTS
from .errors import ConfigError

__all__ = ["check_value", "cross_checks", "date_number", "validate"]


def check_value(key: Key, value: object) -> Any:
    """Check one value of one key: the only place a config value is validated.

    Parameters
    ----------
    key
        The key's row.
    value
        The raw value.

    Returns
    -------
    Any
        The canonical value.

    Raises
    ------
    ConfigError
        If the value is not allowed.
    """
    return key.rule.check(key.name, value)


def date_number(day: dt.date) -> int:
    """Return a date as the YYYYMMDD integer icecube 1.x wrote.

    Parameters
    ----------
    day
        A date.

    Returns
    -------
    int
    """
    return int(day.strftime("%Y%m%d"))


def cross_checks(values: Mapping[str, Any]) -> list[ConfigError]:
    """Check the rules between keys; a key that failed its own check is absent from ``values``.

    Parameters
    ----------
    values
        Canonical values by CubeConfig field name.

    Returns
    -------
    list of ConfigError
        One problem per broken rule, in documentation order.
    """
    problems: list[ConfigError] = []
    start, end = values.get("start_date"), values.get("end_date")
    if start is not None and end is not None and end < start:
        rule = "end_date is inclusive and defaults to today, UTC"
        allowed = f"must not be before start_date {date_number(start)} ({rule})"
        problems.append(problem("end_date", date_number(end), allowed))
    days = values.get("temporal_resolution")
    if days and start is not None and end is not None and end >= start:
        slots = (end - start).days // days + 1
        if slots > MAX_TIME_SLOTS:
            grid = f"from start_date {date_number(start)} to end_date {date_number(end)} every {days} day(s)"
            allowed = (
                f"the time grid {grid} would have {slots:,} slots, at most {MAX_TIME_SLOTS:,}: use a larger "
                "temporal_resolution or a shorter date range (start_date defaults to 19700101, end_date to "
                "today, UTC)"
            )
            problems.append(problem("temporal_resolution", days, allowed))
    low, high = values.get("min_incidence_angle"), values.get("max_incidence_angle")
    if low is not None and high is not None and high < low:
        problems.append(problem("max_incidence_angle", high, f"must be >= min_incidence_angle ({low:g} degrees)"))
    if values.get("bbox") is not None and values.get("intersects") is not None:
        allowed = "'bbox' is set too; give one area of interest, either 'bbox' or 'intersects'"
        problems.append(problem("intersects", values["intersects"], allowed))
    return problems


def _unknown_key(name: object, raw: object) -> ConfigError:
    # A misspelt key may hold anything, a credential too ("header": {"X-Api-[Key": "..."}): only numbers,
    # booleans and null are shown, other values are described.
    plain = raw is None or isinstance(raw, (bool, int, float))
    value = raw if plain else Withheld(raw)
    if not isinstance(name, str):  # shown, not str(): str() of a 5000-digit integer raises ValueError
        return problem(shown(name, 80), value, "config keys must be strings")
    guess = KEY_HINTS.get(name.casefold()) or did_you_mean(name, CONFIG_KEYS)
    if guess is not None:
        return problem(name, value, f"unknown key; did you mean {guess!r}?")
    return problem(name, value, "unknown key; known keys: " + ", ".join(CONFIG_KEYS))


def validate(
    changes: Mapping[Any, Any],
    base: Mapping[str, Any],
    *,
    source: str | None = None,
    attributes: bool = False,
) -> dict[str, Any]:
    """Check each given key once, then the rules between keys once; report every problem together.

    Parameters
    ----------
    changes
        Raw values by config key (and, with ``attributes``, by CubeConfig field name).
    base
        Canonical values (by field name) of the keys not in ``changes``: the defaults, or the config being
        changed. Base values are trusted: they are not checked again.
    source
        The config file, named by the error.
    attributes
        Accept CubeConfig field names too.

    Returns
    -------
    dict
        ``base`` updated with the canonical values of ``changes``, by field name.

    Raises
    ------
    ConfigError
        For one problem with a mapping; :class:`~icecube_stac.config.ConfigProblems` for several, or any
        problem of a file.
    """
    problems: list[ConfigError] = []
    given: dict[str, object] = {}
    for name, value in changes.items():
        key = lookup(name, attributes=attributes)
        if key is None:
            problems.append(_unknown_key(name, value))
        else:
            given[key.name] = value
    values = dict(base)
    for key in KEYS:
        if key.name not in given:
            continue
        try:
            values[key.attribute] = check_value(key, given[key.name])
        except ConfigError as exc:
            problems.append(exc)
            values.pop(key.attribute, None)
    problems += cross_checks(values)
    if problems:
        raise combine(problems, source)
    return values
