"""Validate single ``config.json`` values and build the error messages that name the key, value and rule.

Each ``_check_*`` function takes a key name and a raw value and returns the canonical value, or raises a
:class:`~icecube_stac.errors.ConfigError` made by :func:`_problem`. The checks also accept their own canonical
output, so that :class:`~icecube_stac.config.CubeConfig` can re-validate itself. The key table, defaults and
the rules between keys live in :mod:`icecube_stac.config`, which is the public face of this module.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import numbers
import os
import re
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, NoReturn
from urllib.parse import urlsplit

import cql2
from shapely.errors import ShapelyError
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity
from shapely.wkt import loads as wkt_loads

from .errors import ConfigError

__all__ = [
    "_CHUNK_DIMS",
    "_GEOMETRY_TYPES",
    "ConfigProblems",
    "_check_angle",
    "_check_bbox",
    "_check_catalog",
    "_check_choice",
    "_check_chunks",
    "_check_date",
    "_check_fill_value",
    "_check_filter",
    "_check_flag",
    "_check_headers",
    "_check_intersects",
    "_check_max_items",
    "_check_names",
    "_check_temporal_resolution",
    "_check_timeout",
    "_did_you_mean",
    "_file_problem",
    "_problem",
]

_CHUNK_DIMS: Final = ("azimuth", "range")
_GEOMETRY_TYPES: Final = (
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
)
# CQL2 operators as cql2-json spells them; any other "op" is a custom function, which CQL2 allows.
_CQL2_OPERATORS: Final = frozenset(
    {
        *("and", "or", "not", "=", "<>", "<", "<=", ">", ">=", "like", "between", "in", "isNull"),
        *("casei", "accenti", "+", "-", "*", "/", "%", "^", "div"),
        *("s_intersects", "s_equals", "s_disjoint", "s_touches", "s_within", "s_overlaps", "s_crosses"),
        *("s_contains", "t_after", "t_before", "t_contains", "t_disjoint", "t_during", "t_equals"),
        *("t_finishedBy", "t_finishes", "t_intersects", "t_meets", "t_metBy", "t_overlappedBy"),
        *("t_overlaps", "t_startedBy", "t_starts", "a_equals", "a_contains", "a_containedBy", "a_overlaps"),
    }
)

_FILE_KEY: Final = "<file>"
_MAX_SHOWN: Final = 160
_DATE_FORMS: Final = "a YYYYMMDD integer (20240301) or string ('20240301' or ISO '2024-03-01')"
_DATE_ALLOWED: Final = f"expected a date as {_DATE_FORMS}, years 1000-9999"
_YYYYMMDD: Final = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_ISO_DATE: Final = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DECIMAL: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_HEADER_NAME: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_URL_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_CQL2_POSITION: Final = re.compile(r"-->\s*(\d+):(\d+)")


# --------------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------------


class ConfigProblems(ConfigError):
    """Several config problems at once (or problems in a named file); a :class:`ConfigError`.

    ``key``, ``value`` and ``allowed`` are those of the first problem, so code that handles a single
    ``ConfigError`` keeps working.

    Parameters
    ----------
    problems
        The individual problems, in the order keys are documented.
    source
        The config file the problems come from, if any.
    """

    def __init__(self, problems: Sequence[ConfigError], source: str | None = None) -> None:
        if not problems:
            raise ValueError("ConfigProblems needs at least one problem")
        first = problems[0]
        super().__init__(first.key, first.value, first.allowed)
        self.problems: tuple[ConfigError, ...] = tuple(problems)
        self.source = source
        where = f"config file '{source}'" if source else "config"
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        self.args = ("\n".join([f"{count} in {where}:", *(f"  - {p}" for p in problems)]),)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problems, self.source))


class _Shown:
    """Stands in for a value whose repr would swamp an error message (a big polygon, say)."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        text = repr(self.value)
        return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + " ..."


def _problem(key: str, value: object, allowed: str) -> ConfigError:
    err = ConfigError(key, value, allowed)
    # Keep err.value exact for callers; only the message is shortened.
    err.args = (f"config key {key!r}: got {_Shown(value)!r}; {allowed}",)
    return err


def _fail(key: str, value: object, allowed: str) -> NoReturn:
    raise _problem(key, value, allowed)


def _file_problem(path: str, reason: str) -> ConfigError:
    err = ConfigError(_FILE_KEY, path, reason)
    err.args = (f"config file '{path}': {reason}",)
    return err


def _did_you_mean(word: str, candidates: Sequence[str]) -> str | None:
    by_fold = {c.casefold(): c for c in candidates}
    close = difflib.get_close_matches(word.casefold(), list(by_fold), n=1, cutoff=0.6)
    return by_fold[close[0]] if close else None


def _one_of(choices: Sequence[str], word: object, *, any_case: bool = True, nullable: bool = True) -> str:
    text = "expected one of " + ", ".join(repr(c) for c in choices)
    text += " (any case)" if any_case else ""
    text += " or null" if nullable else ""
    if isinstance(word, str) and (guess := _did_you_mean(word, choices)):
        text += f"; did you mean {guess!r}?"
    return text


# --------------------------------------------------------------------------------------------------------
# Per-key checks: (key, raw value) -> canonical value, or raise ConfigError.
# They also accept their own canonical output, so that CubeConfig(...) can re-validate itself.
# --------------------------------------------------------------------------------------------------------


def _real(value: object) -> float | None:
    """Return a finite float for a real number (never for a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _integer(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return None
    return int(value)


def _check_date(key: str, value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        _fail(key, value, "expected a date without a time of day; " + _DATE_ALLOWED)
    if isinstance(value, dt.date):
        day = value
    else:
        if (number := _integer(value)) is not None:
            text = str(number)
        elif isinstance(value, str):
            text = value
        else:
            _fail(key, value, _DATE_ALLOWED)
        match = _YYYYMMDD.fullmatch(text) or _ISO_DATE.fullmatch(text)
        if match is None:
            _fail(key, value, "not in YYYYMMDD form; " + _DATE_ALLOWED)
        year, month, day_of_month = (int(part) for part in match.groups())
        try:
            day = dt.date(year, month, day_of_month)
        except ValueError as exc:
            _fail(key, value, f"unparsable date ({exc}); {_DATE_ALLOWED}")
    if day.year < 1000:
        # A YYYYMMDD integer cannot hold a 3-digit year, so to_dict() could not write it back.
        _fail(key, value, _DATE_ALLOWED)
    return day


def _check_angle(key: str, value: object) -> float:
    allowed = "expected a number of degrees from 0 to 90"
    angle = _real(value)
    if angle is None and isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        angle = float(value)  # icecube 1.x accepted numeric strings such as "20"
    if angle is None:
        _fail(key, value, allowed)
    if not 0.0 <= angle <= 90.0:
        _fail(key, value, allowed + " (inclusive)")
    return angle


def _check_temporal_resolution(key: str, value: object) -> int:
    allowed = "expected a whole number of days >= 0 (0 = natural timeline, one slot per acquisition)"
    days = _integer(value)
    if days is None:
        if isinstance(value, float) and value.is_integer():
            allowed += f", written without a fraction ({int(value)}, not {value})"
        _fail(key, value, allowed)
    if days < 0:
        _fail(key, value, allowed)
    return days


def _check_flag(key: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if _integer(value) in (0, 1):
        return bool(value)  # icecube 1.x's sample config wrote 0/1
    allowed = "expected true or false (0 and 1 are accepted as in icecube 1.x)"
    if isinstance(value, str):
        allowed += "; write true/false without quotes, a quoted string is not a boolean"
    _fail(key, value, allowed)


def _check_bbox(key: str, value: object) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    allowed = "expected [min_lon, min_lat, max_lon, max_lat]: 4 numbers in WGS84 degrees, or null"
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 4:
        _fail(key, value, allowed)
    coords = [_real(v) for v in value]
    if any(c is None for c in coords):
        _fail(key, value, allowed)
    min_lon, min_lat, max_lon, max_lat = (c for c in coords if c is not None)
    if not (-180.0 <= min_lon <= 180.0 and -180.0 <= max_lon <= 180.0):
        _fail(key, value, "longitudes must be within [-180, 180]; " + allowed)
    if not (-90.0 <= min_lat <= 90.0 and -90.0 <= max_lat <= 90.0):
        _fail(key, value, "latitudes must be within [-90, 90]; " + allowed)
    if min_lon > max_lon:
        _fail(
            key,
            value,
            f"min_lon {min_lon} > max_lon {max_lon}: a bbox crossing the antimeridian is not supported; "
            "use 'intersects' with a MultiPolygon split at 180°",
        )
    if min_lat > max_lat:
        _fail(key, value, f"min_lat {min_lat} > max_lat {max_lat}; " + allowed)
    return (min_lon, min_lat, max_lon, max_lat)


_AOI_ALLOWED: Final = "expected a GeoJSON geometry object or a WKT string (lon/lat, WGS84), or null"


def _geometry_from_geojson(key: str, value: Mapping[Any, Any]) -> BaseGeometry:
    kind = value.get("type")
    if kind == "Feature":
        _fail(key, value, "got a GeoJSON Feature; give its 'geometry' member instead")
    if kind == "FeatureCollection":
        _fail(key, value, "got a FeatureCollection; give a single geometry (e.g. a MultiPolygon) instead")
    if kind not in _GEOMETRY_TYPES:
        expected = _one_of(_GEOMETRY_TYPES, kind)
        _fail(key, value, f"'type' {kind!r} is not a GeoJSON geometry type; {expected}")
    member = "geometries" if kind == "GeometryCollection" else "coordinates"
    if member not in value:
        _fail(key, value, f"a GeoJSON {kind} needs a {member!r} member; " + _AOI_ALLOWED)
    try:
        return shape(dict(value))
    except (ShapelyError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        _fail(key, value, f"not a valid GeoJSON {kind} ({exc}); " + _AOI_ALLOWED)


def _geometry_from_wkt(key: str, value: str) -> BaseGeometry:
    try:
        return wkt_loads(value)
    except (ShapelyError, ValueError) as exc:
        _fail(key, value, f"unparsable WKT ({exc}); " + _AOI_ALLOWED)


def _check_intersects(key: str, value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        geometry = _geometry_from_wkt(key, value)
    elif isinstance(value, Mapping):
        geometry = _geometry_from_geojson(key, value)
    else:
        _fail(key, value, _AOI_ALLOWED)
    if geometry.is_empty:
        _fail(key, value, "the geometry is empty; " + _AOI_ALLOWED)
    if not geometry.is_valid:
        # explain_validity says where, e.g. "Self-intersection[0.5 0.5]" for a bow-tie polygon.
        _fail(key, value, f"invalid geometry: {explain_validity(geometry)}; give a valid (OGC) geometry")
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    if not (-180.0 <= min_lon <= max_lon <= 180.0 and -90.0 <= min_lat <= max_lat <= 90.0):
        _fail(key, value, "coordinates must be longitude in [-180, 180] and latitude in [-90, 90]")
    result: dict[str, Any] = json.loads(json.dumps(mapping(geometry)))
    return result


def _check_choice(choices: Sequence[str]) -> Callable[[str, object], str | None]:
    def check(key: str, value: object) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            for choice in choices:
                if value.casefold() == choice.casefold():
                    return choice
        _fail(key, value, _one_of(choices, value))

    return check


def _check_names(
    choices: Sequence[str] | None, normalise: Callable[[str], str]
) -> Callable[[str, object], tuple[str, ...]]:
    """Build a check for a list of names (a single string counts as a one-element list)."""

    def check(key: str, value: object) -> tuple[str, ...]:
        what = _one_of(choices, None, nullable=False) if choices else "expected non-empty strings"
        allowed = f"expected a string or a list of strings ({what})"
        if isinstance(value, str):
            items: Sequence[object] = [value]
        elif isinstance(value, (list, tuple)):
            items = value
        else:
            _fail(key, value, allowed)
        names: list[str] = []
        for item in items:
            if not isinstance(item, str) or not item.strip():
                _fail(key, item, allowed)
            name = normalise(item)
            if choices is not None and name not in choices:
                _fail(key, item, _one_of(choices, item, nullable=False))
            if name not in names:
                names.append(name)
        return tuple(names)

    return check


def _check_max_items(key: str, value: object) -> int | None:
    if value is None:
        return None
    count = _integer(value)
    if count is None or count < 1:
        _fail(key, value, "expected a whole number >= 1, or null for no limit")
    return count


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
        if isinstance(op, str) and op not in _CQL2_OPERATORS:
            guess = _did_you_mean(op, sorted(_CQL2_OPERATORS))
            if guess is not None and len(op) > 1:
                _fail(key, value, f"unknown CQL2 operator {op!r}; did you mean {guess!r}?")
        for child in node.values():
            _check_operators(key, value, child)


# Canonical CQL2-JSON text of filters already accepted, keyed by their input: cql2's validate() takes ~30 ms
# and every CubeConfig re-validates itself, so a cache keeps load_config() and replace() fast.
_ACCEPTED_FILTERS: dict[str, str] = {}
_MAX_ACCEPTED_FILTERS: Final = 256


def _cql2_canonical(key: str, value: object, source: str | dict[str, Any], allowed: str) -> str:
    cache_key = source if isinstance(source, str) else json.dumps(source, sort_keys=True)
    if (known := _ACCEPTED_FILTERS.get(cache_key)) is not None:
        return known
    try:
        expr = cql2.Expr(source)
        expr.validate()
    except Exception as exc:  # cql2 0.6 raises plain Exception for JSON that is no expression at all
        _fail(key, value, f"invalid CQL2: {_cql2_reason(exc)}; " + allowed)
    # cql2's JSON is canonical: operators lowercased ("AND" -> "and"), CQL2-text converted.
    as_json = expr.to_json()
    if not isinstance(as_json, dict) or "op" not in as_json:
        _fail(key, value, "expected a CQL2 boolean expression, an object with 'op' and 'args'")
    _check_operators(key, value, as_json)
    canonical = json.dumps(as_json)
    if len(_ACCEPTED_FILTERS) >= _MAX_ACCEPTED_FILTERS:
        _ACCEPTED_FILTERS.clear()
    _ACCEPTED_FILTERS[cache_key] = _ACCEPTED_FILTERS[json.dumps(as_json, sort_keys=True)] = canonical
    return canonical


def _check_filter(key: str, value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    allowed = "expected a CQL2-JSON object or a CQL2-text string (it is ANDed with the other keys), or null"
    source: str | dict[str, Any]
    if isinstance(value, str):
        source = value
    elif isinstance(value, Mapping):
        try:
            source = json.loads(json.dumps(value))
        except (TypeError, ValueError) as exc:
            _fail(key, value, f"not JSON data ({exc}); " + allowed)
    else:
        _fail(key, value, allowed)
    result: dict[str, Any] = json.loads(_cql2_canonical(key, value, source, allowed))
    return result


def _check_catalog(key: str, value: object) -> str:
    allowed = "expected a local catalog path (folder or catalog.json) or an http(s):// STAC API URL"
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip():
        _fail(key, value, allowed)
    if _URL_SCHEME.match(value):
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https"):
            _fail(key, value, f"unsupported URL scheme {parts.scheme!r}; " + allowed)
        if not parts.netloc:
            _fail(key, value, "the URL has no host; " + allowed)
    return value


def _check_headers(key: str, value: object) -> Mapping[str, str]:
    allowed = "expected an object of HTTP header names to string values"
    if not isinstance(value, Mapping):
        _fail(key, value, allowed)
    headers: dict[str, str] = {}
    for name, text in value.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            _fail(key, name, "not a valid HTTP header name; " + allowed)
        if not isinstance(text, str) or any(c in text for c in "\r\n\0"):
            # Header values are often secrets: name the header, never echo its value.
            _fail(key, {name: "<hidden>"}, "header values must be strings without line breaks")
        headers[name] = text
    return types.MappingProxyType(headers)


def _check_timeout(key: str, value: object) -> float:
    seconds = _real(value)
    if seconds is None or seconds <= 0:
        _fail(key, value, "expected a number of seconds > 0")
    return seconds


def _check_chunks(key: str, value: object) -> Mapping[str, int] | None:
    if value is None:
        return None
    allowed = 'expected {"azimuth": int, "range": int} with positive sizes (either may be left out), or null'
    if not isinstance(value, Mapping) or not value:
        _fail(key, value, allowed)
    chunks: dict[str, int] = {}
    for dim, size in value.items():
        if dim not in _CHUNK_DIMS:
            expected = _one_of(_CHUNK_DIMS, dim, any_case=False, nullable=False)
            _fail(key, value, f"unknown dimension {dim!r}; {expected}")
        count = _integer(size)
        if count is None or count < 1:
            _fail(key, value, f"the {dim} chunk size must be a whole number >= 1; " + allowed)
        chunks[dim] = count
    return types.MappingProxyType(chunks)


def _check_fill_value(key: str, value: object) -> float | None:
    if value is None:
        return None
    whole = _integer(value)
    if whole is not None:
        return whole  # an integer cube (GRD DN) may want an exact integer fill such as 0
    real = _real(value)
    if real is None:
        _fail(key, value, "expected a finite number, or null for the loader's default (NaN for float cubes)")
    return real
