"""``config.json`` ⇄ :class:`CubeConfig`: the typed, validated description of the cube a user wants.

The keys are those of ICEYE's ``icecube`` toolkit 1.x (``icecube/bin/config.py``, ``POSSIBLE_KEYS``) plus
STAC-native additions. Every key is optional.

icecube 1.x keys (defaults confirmed in ``iceye-ltd/icecube`` @ ``df6affc``, ``icecube/bin/config.py``
``CubeConfig._load_default_params``; the date and angle bounds are inclusive in
``icecube/bin/sar_cube/sar_datacube_metadata.py`` ``select_requested_dates``/``select_requested_angles``):

==========================  ==================  ===========================================================
key                         default             meaning
==========================  ==================  ===========================================================
``start_date``              ``19700101``        first acquisition date, inclusive
``end_date``                today (UTC)         last acquisition date, **inclusive**
``min_incidence_angle``     ``0``               smallest scene-centre incidence angle (degrees), inclusive
``max_incidence_angle``     ``90``              largest scene-centre incidence angle (degrees), inclusive
``temporal_resolution``     ``0``               days between time slots; ``0`` = natural timeline
``coregistered``            ``false``           the stack is already coregistered
``space_overlap``           ``false``           keep only items intersecting the earliest footprint
``temporal_overlap``        ``true``            keep several acquisitions of the same date
==========================  ==================  ===========================================================

Dates are YYYYMMDD integers (``20240301``) or strings (``"20240301"``, ISO ``"2024-03-01"``). As in icecube,
an item is selected when its *acquisition date* (the UTC date of ``acquisition_end_utc``, i.e. the item's
``end_datetime``) lies in ``[start_date, end_date]``, both ends included; :meth:`CubeConfig.time_window` gives
the equivalent half-open UTC interval. icecube took "today" in local time; here it is today in UTC.

STAC-native keys: ``bbox`` or ``intersects`` (area of interest, one of them), ``product_type``,
``orbit_state``, ``look_side``, ``instrument_mode``, ``platforms``, ``polarizations``, ``collections``,
``max_items``, ``filter`` (raw CQL2, ANDed with the rest), ``catalog``, ``headers``, ``timeout``, and the cube
loader keys ``chunks`` and ``fill_value``. :func:`config_json_schema` documents each one.

Errors: every problem is a :class:`~icecube_stac.errors.ConfigError` naming the key, the value and what is
allowed. All problems of a config are collected; a single problem in a mapping is raised as that
``ConfigError``, several problems (or any problem in a file, so that the file is named) as a
:class:`ConfigProblems`, which is a ``ConfigError`` listing every problem on its own line.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import json
import math
import numbers
import os
import re
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, NoReturn
from urllib.parse import urlsplit

import cql2
from shapely.errors import ShapelyError
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity
from shapely.wkt import loads as wkt_loads

from .errors import ConfigError

__all__ = [
    "CONFIG_KEYS",
    "ConfigProblems",
    "ConfigSource",
    "CubeConfig",
    "LookSide",
    "OrbitState",
    "ProductType",
    "config_json_schema",
    "load_config",
]

ProductType = Literal["GRD", "SLC"]
OrbitState = Literal["ascending", "descending"]
LookSide = Literal["left", "right"]

DEFAULT_START_DATE: Final = dt.date(1970, 1, 1)
DEFAULT_CATALOG: Final = "catalogs/default"
DEFAULT_TIMEOUT: Final = 30.0

_PRODUCT_TYPES: Final = ("GRD", "SLC")
_ORBIT_STATES: Final = ("ascending", "descending")
_LOOK_SIDES: Final = ("left", "right")
_INSTRUMENT_MODES: Final = ("stripmap", "spotlight", "scan")
_POLARIZATIONS: Final = ("HH", "VV", "HV", "VH")
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
# Keys people carry over from ICEYE metadata, icecube docs or STAC search bodies.
_KEY_HINTS: Final = {
    "orbit_direction": "orbit_state",
    "sat:orbit_state": "orbit_state",
    "observation_direction": "look_side",
    "acquisition_mode": "instrument_mode",
    "sar:instrument_mode": "instrument_mode",
    "satellite_name": "platforms",
    "platform": "platforms",
    "polarization": "polarizations",
    "sar:polarizations": "polarizations",
    "collection": "collections",
    "geometry": "intersects",
    "aoi": "intersects",
    "limit": "max_items",
    "start_time": "start_date",
    "end_time": "end_date",
    "start": "start_date",
    "end": "end_date",
    "cql2": "filter",
    "url": "catalog",
}

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


# --------------------------------------------------------------------------------------------------------
# The key table: one entry per config.json key drives validation, defaults, to_dict and the JSON Schema.
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Key:
    name: str
    attribute: str
    check: Callable[[str, object], Any]
    schema: dict[str, Any]


def _case_insensitive(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)


def _choice_pattern(choices: Sequence[str]) -> str:
    return "^(" + "|".join(_case_insensitive(c) for c in choices) + ")$"


def _one_or_many(item: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [item, {"type": "array", "items": item}]}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [*schema.get("anyOf", [schema]), {"type": "null"}]}


_DATE_SCHEMA: Final[dict[str, Any]] = {
    "anyOf": [
        {"type": "integer", "minimum": 10000101, "maximum": 99991231},
        {"type": "string", "pattern": "^([0-9]{8}|[0-9]{4}-[0-9]{2}-[0-9]{2})$"},
    ]
}
_ANGLE_SCHEMA: Final[dict[str, Any]] = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": 90},
        {"type": "string", "pattern": r"^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*$"},
    ]
}
_FLAG_SCHEMA: Final[dict[str, Any]] = {"anyOf": [{"type": "boolean"}, {"enum": [0, 1]}]}
_LON: Final = {"type": "number", "minimum": -180, "maximum": 180}
_LAT: Final = {"type": "number", "minimum": -90, "maximum": 90}

_KEYS: Final[tuple[_Key, ...]] = (
    _Key(
        "start_date",
        "start_date",
        _check_date,
        {
            **_DATE_SCHEMA,
            "description": "First acquisition date (UTC date of acquisition_end_utc), inclusive.",
            "examples": [20240301, "20240301", "2024-03-01"],
        },
    ),
    _Key(
        "end_date",
        "end_date",
        _check_date,
        {
            **_DATE_SCHEMA,
            "description": "Last acquisition date, INCLUSIVE (as in icecube 1.x). Defaults to today (UTC). "
            "Must not be before start_date.",
            "examples": [20240331],
        },
    ),
    _Key(
        "min_incidence_angle",
        "min_incidence_angle",
        _check_angle,
        {**_ANGLE_SCHEMA, "description": "Smallest scene-centre incidence angle in degrees, inclusive."},
    ),
    _Key(
        "max_incidence_angle",
        "max_incidence_angle",
        _check_angle,
        {
            **_ANGLE_SCHEMA,
            "description": "Largest scene-centre incidence angle in degrees, inclusive; "
            "must not be below min_incidence_angle (icecube 1.x default: 90).",
        },
    ),
    _Key(
        "temporal_resolution",
        "temporal_resolution",
        _check_temporal_resolution,
        {
            "type": "integer",
            "minimum": 0,
            "description": "Days between time slots of the cube (empty slots are filled); "
            "0 = natural timeline, one slot per acquisition.",
        },
    ),
    _Key(
        "coregistered",
        "coregistered",
        _check_flag,
        {**_FLAG_SCHEMA, "description": "The stack is already coregistered (disables space_overlap)."},
    ),
    _Key(
        "space_overlap",
        "space_overlap",
        _check_flag,
        {**_FLAG_SCHEMA, "description": "Keep only items whose footprint intersects the earliest item's."},
    ),
    _Key(
        "temporal_overlap",
        "temporal_overlap",
        _check_flag,
        {
            **_FLAG_SCHEMA,
            "description": "Keep several acquisitions of the same date; false keeps only the latest one "
            "of each date (icecube 1.x default: true).",
        },
    ),
    _Key(
        "bbox",
        "bbox",
        _check_bbox,
        _nullable(
            {
                "type": "array",
                "prefixItems": [_LON, _LAT, _LON, _LAT],
                "items": False,
                "minItems": 4,
            }
        ),
    ),
    _Key(
        "intersects",
        "intersects",
        _check_intersects,
        _nullable(
            {
                "anyOf": [
                    {
                        "type": "object",
                        "required": ["type"],
                        "properties": {"type": {"enum": list(_GEOMETRY_TYPES)}},
                    },
                    {"type": "string", "minLength": 1},
                ],
            }
        ),
    ),
    _Key(
        "product_type",
        "product_type",
        _check_choice(_PRODUCT_TYPES),
        _nullable({"type": "string", "pattern": _choice_pattern(_PRODUCT_TYPES)}),
    ),
    _Key(
        "orbit_state",
        "orbit_state",
        _check_choice(_ORBIT_STATES),
        _nullable({"type": "string", "pattern": _choice_pattern(_ORBIT_STATES)}),
    ),
    _Key(
        "look_side",
        "look_side",
        _check_choice(_LOOK_SIDES),
        _nullable({"type": "string", "pattern": _choice_pattern(_LOOK_SIDES)}),
    ),
    _Key(
        "instrument_mode",
        "instrument_modes",
        _check_names(_INSTRUMENT_MODES, str.lower),
        _one_or_many({"type": "string", "pattern": _choice_pattern(_INSTRUMENT_MODES)}),
    ),
    _Key(
        "platforms",
        "platforms",
        _check_names(None, str.lower),
        _one_or_many({"type": "string", "minLength": 1}),
    ),
    _Key(
        "polarizations",
        "polarizations",
        _check_names(_POLARIZATIONS, str.upper),
        _one_or_many({"type": "string", "pattern": _choice_pattern(_POLARIZATIONS)}),
    ),
    _Key(
        "collections",
        "collections",
        _check_names(None, str),
        _one_or_many({"type": "string", "minLength": 1}),
    ),
    _Key(
        "max_items",
        "max_items",
        _check_max_items,
        _nullable({"type": "integer", "minimum": 1}),
    ),
    _Key(
        "filter",
        "filter",
        _check_filter,
        _nullable({"anyOf": [{"type": "object", "required": ["op"]}, {"type": "string", "minLength": 1}]}),
    ),
    _Key("catalog", "catalog", _check_catalog, {"type": "string", "minLength": 1}),
    _Key(
        "headers",
        "headers",
        _check_headers,
        {"type": "object", "additionalProperties": {"type": "string"}},
    ),
    _Key("timeout", "timeout", _check_timeout, {"type": "number", "exclusiveMinimum": 0}),
    _Key(
        "chunks",
        "chunks",
        _check_chunks,
        _nullable(
            {
                "type": "object",
                "properties": {d: {"type": "integer", "minimum": 1} for d in _CHUNK_DIMS},
                "additionalProperties": False,
                "minProperties": 1,
            }
        ),
    ),
    _Key("fill_value", "fill_value", _check_fill_value, {"type": ["number", "null"]}),
)

_DESCRIPTIONS: Final = {
    "bbox": "Area of interest [min_lon, min_lat, max_lon, max_lat] in WGS84 degrees (min_lon <= max_lon: "
    "no antimeridian crossing); exclusive with intersects.",
    "intersects": "Area of interest as a GeoJSON geometry or WKT string (lon/lat WGS84); must be valid "
    "and non-empty; exclusive with bbox.",
    "product_type": "Product level: 'GRD' or 'SLC' (any case); null = any.",
    "orbit_state": "Orbit direction: 'ascending' or 'descending' (any case); null = any.",
    "look_side": "Antenna look side: 'left' or 'right' (any case); null = any.",
    "instrument_mode": "Acquisition mode(s) among 'stripmap', 'spotlight', 'scan' (any case); a string or a "
    "list; empty = any.",
    "platforms": "Satellite name(s), e.g. 'ICEYE-X7' (matched lowercase); empty = any.",
    "polarizations": "Polarization(s) among HH, VV, HV, VH; empty = any.",
    "collections": "STAC collection id(s) to search; empty = all.",
    "max_items": "Stop after this many matching items; null = no limit.",
    "filter": "Extra CQL2 condition (CQL2-JSON object or CQL2-text string), ANDed with the other keys.",
    "catalog": "Local STAC catalog (folder or catalog.json) or http(s) URL of a STAC API.",
    "headers": "HTTP headers for a STAC API, e.g. authentication.",
    "timeout": "HTTP timeout in seconds for a STAC API.",
    "chunks": "Cube chunk sizes in pixels per dimension (azimuth, range); null = the loader's choice.",
    "fill_value": "Value of empty pixels and empty time slots; null = the loader's default (NaN).",
}

CONFIG_KEYS: Final[tuple[str, ...]] = tuple(k.name for k in _KEYS)
"""Every key ``config.json`` may hold, in documentation order."""

_BY_NAME: Final = {k.name: k for k in _KEYS}
_BY_ATTRIBUTE: Final = {k.attribute: k for k in _KEYS}


def _today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _empty_headers() -> Mapping[str, str]:
    return types.MappingProxyType({})


# --------------------------------------------------------------------------------------------------------
# CubeConfig
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class CubeConfig:
    """A validated, canonical ``config.json``; build it with :func:`load_config` or :meth:`replace`.

    Constructing it directly also validates and canonicalises every field (``CubeConfig()`` is the default
    config), and a bad field raises :class:`~icecube_stac.errors.ConfigError`. Canonical forms: dates are
    :class:`datetime.date`, sequences are tuples, ``headers`` and ``chunks`` are read-only mappings,
    ``intersects`` and ``filter`` are plain JSON dicts (treat them as read-only).

    Attributes
    ----------
    start_date, end_date
        Acquisition-date range, both ends **inclusive**: an item is selected when the UTC date of its
        acquisition end (``acquisition_end_utc``, the item's ``end_datetime``) lies in it, as in icecube 1.x.
        See :meth:`time_window`.
    min_incidence_angle, max_incidence_angle
        Inclusive range of the scene-centre incidence angle (``view:incidence_angle``), degrees.
    temporal_resolution
        Days between cube time slots (empty slots are filled); 0 = natural timeline.
    coregistered, space_overlap, temporal_overlap
        The icecube selection rules (see the module docstring); defaults False, False, True as in icecube.
    bbox, intersects
        Area of interest, at most one of them (``intersects`` is a GeoJSON geometry dict).
    product_type, orbit_state, look_side
        ``"GRD"``/``"SLC"``, ``"ascending"``/``"descending"``, ``"left"``/``"right"``; None = any.
    instrument_modes, platforms, polarizations, collections
        Allowed values (config keys ``instrument_mode``, ...); empty = any.
    max_items
        Result limit, None = none.
    filter
        Extra CQL2-JSON condition, ANDed with the rest; None = none.
    catalog, headers, timeout
        Where to search: a local catalog path or an http(s) STAC API URL, HTTP headers and timeout.
    chunks, fill_value
        Cube loader options; None = the loader's defaults.
    """

    start_date: dt.date = DEFAULT_START_DATE
    end_date: dt.date = field(default_factory=_today_utc)
    min_incidence_angle: float = 0.0
    max_incidence_angle: float = 90.0
    temporal_resolution: int = 0
    coregistered: bool = False
    space_overlap: bool = False
    temporal_overlap: bool = True
    bbox: tuple[float, float, float, float] | None = None
    intersects: dict[str, Any] | None = None
    product_type: ProductType | None = None
    orbit_state: OrbitState | None = None
    look_side: LookSide | None = None
    instrument_modes: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    polarizations: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()
    max_items: int | None = None
    filter: dict[str, Any] | None = None
    catalog: str = DEFAULT_CATALOG
    headers: Mapping[str, str] = field(default_factory=_empty_headers)
    timeout: float = DEFAULT_TIMEOUT
    chunks: Mapping[str, int] | None = None
    fill_value: float | None = None

    def __post_init__(self) -> None:
        raw = {k.name: getattr(self, k.attribute) for k in _KEYS}
        for attribute, value in _validate(raw).items():
            object.__setattr__(self, attribute, value)

    def __hash__(self) -> int:
        # The generated hash would choke on the dict fields; the canonical JSON identifies a config.
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __repr__(self) -> str:
        shown = {k.attribute: getattr(self, k.attribute) for k in _KEYS}
        # Headers usually carry credentials: keep them out of logs and tracebacks.
        shown["headers"] = {name: "<hidden>" for name in self.headers}
        for name in ("headers", "chunks"):
            if isinstance(shown[name], Mapping):
                shown[name] = dict(shown[name])
        return f"CubeConfig({', '.join(f'{name}={value!r}' for name, value in shown.items())})"

    def to_dict(self) -> dict[str, Any]:
        """Return the config as ``config.json`` data, with every key.

        The result is JSON-serialisable and ``load_config(config.to_dict()) == config``. Dates are written as
        YYYYMMDD integers, as icecube 1.x wrote them.

        Returns
        -------
        dict
            A fresh dict (safe to modify). Note that it includes ``headers``, which may hold credentials.
        """
        return {k.name: _to_json(getattr(self, k.attribute)) for k in _KEYS}

    def replace(self, **changes: Any) -> CubeConfig:
        """Return a copy with some fields changed, validated like :func:`load_config` input.

        Parameters
        ----------
        **changes
            Field names (or config keys, e.g. ``instrument_mode``) and raw values. ``None`` resets a nullable
            field such as ``bbox`` or ``max_items``.

        Returns
        -------
        CubeConfig
            The new config.

        Raises
        ------
        ConfigError
            For an unknown name or a bad value.
        """
        unknown = [_unknown_key(name, value) for name, value in changes.items() if not _lookup(name)]
        if unknown:
            raise _combine(unknown, None)
        by_attribute = {_lookup_required(name).attribute: value for name, value in changes.items()}
        return dataclasses.replace(self, **by_attribute)

    def time_window(self) -> tuple[dt.datetime, dt.datetime]:
        """Return the selected acquisition dates as a half-open UTC datetime interval.

        Returns
        -------
        tuple of datetime
            ``[start_date 00:00Z, end_date + 1 day 00:00Z)``: an acquisition whose end time ``t`` satisfies
            ``start <= t < end`` has an acquisition date within ``[start_date, end_date]``. (For
            ``end_date == date.max`` the end is the last representable instant, ``datetime.max`` in UTC.)
        """
        start = dt.datetime.combine(self.start_date, dt.time(), tzinfo=dt.UTC)
        if self.end_date == dt.date.max:
            return start, dt.datetime.max.replace(tzinfo=dt.UTC)
        end = dt.datetime.combine(self.end_date + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        return start, end


def _to_json(value: object) -> Any:
    if isinstance(value, dt.date):
        return int(value.strftime("%Y%m%d"))
    if isinstance(value, (tuple, list)):
        return [_to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _to_json(v) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------------------------------------
# Validation of a whole config
# --------------------------------------------------------------------------------------------------------


def _lookup(name: str) -> _Key | None:
    return _BY_NAME.get(name) or _BY_ATTRIBUTE.get(name)


def _lookup_required(name: str) -> _Key:
    key = _lookup(name)
    if key is None:
        raise KeyError(name)
    return key


def _unknown_key(name: object, value: object) -> ConfigError:
    if not isinstance(name, str):
        return _problem(str(name), value, "config keys must be strings")
    guess = _KEY_HINTS.get(name.casefold()) or _did_you_mean(name, CONFIG_KEYS)
    if guess is not None:
        return _problem(name, value, f"unknown key; did you mean {guess!r}?")
    return _problem(name, value, "unknown key; known keys: " + ", ".join(CONFIG_KEYS))


def _combine(problems: Sequence[ConfigError], source: str | None) -> ConfigError:
    if len(problems) == 1 and source is None:
        return problems[0]
    return ConfigProblems(problems, source)


def _cross_checks(values: Mapping[str, Any]) -> list[ConfigError]:
    """Check rules between keys; only keys that passed their own check are in ``values``."""
    problems: list[ConfigError] = []
    start, end = values.get("start_date"), values.get("end_date")
    if start is not None and end is not None and end < start:
        rule = "end_date is inclusive and defaults to today, UTC"
        problems.append(
            _problem(
                "end_date",
                _to_json(end),
                f"must not be before start_date {_to_json(start)} ({rule})",
            )
        )
    low, high = values.get("min_incidence_angle"), values.get("max_incidence_angle")
    if low is not None and high is not None and high < low:
        allowed = f"must be >= min_incidence_angle ({low:g} degrees)"
        problems.append(_problem("max_incidence_angle", high, allowed))
    if values.get("bbox") is not None and values.get("intersects") is not None:
        problems.append(
            _problem(
                "intersects",
                values["intersects"],
                "'bbox' is set too; give one area of interest, either 'bbox' or 'intersects'",
            )
        )
    return problems


def _default(attribute: str) -> Any:
    spec = {f.name: f for f in dataclasses.fields(CubeConfig)}[attribute]
    if spec.default_factory is not dataclasses.MISSING:
        return spec.default_factory()
    return spec.default


def _validate(raw: Mapping[Any, Any], source: str | None = None) -> dict[str, Any]:
    """Return canonical field values (by attribute name) for ``raw``, or raise every problem at once."""
    problems = [_unknown_key(name, value) for name, value in raw.items() if name not in _BY_NAME]
    values: dict[str, Any] = {}
    for key in _KEYS:
        if key.name not in raw:
            values[key.attribute] = _default(key.attribute)
            continue
        try:
            values[key.attribute] = key.check(key.name, raw[key.name])
        except ConfigError as exc:
            problems.append(exc)
    problems += _cross_checks(values)
    if problems:
        raise _combine(problems, source)
    return values


# --------------------------------------------------------------------------------------------------------
# Reading config.json
# --------------------------------------------------------------------------------------------------------


class _DuplicateKeyError(ValueError):
    pass


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise _DuplicateKeyError(name)
        result[name] = value
    return result


def _reject_constant(name: str) -> NoReturn:
    # Python's json accepts NaN and Infinity although JSON does not.
    raise ValueError(f"{name} is not valid JSON (JSON numbers must be finite)")


def _read_config_file(path: str) -> dict[str, Any]:
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise _file_problem(path, "no such file") from None
    except IsADirectoryError:
        raise _file_problem(path, "is a folder; expected a JSON file") from None
    except UnicodeDecodeError as exc:
        raise _file_problem(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise _file_problem(path, f"cannot be read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise _file_problem(path, f"invalid JSON at {where}: {exc.msg}") from None
    except _DuplicateKeyError as exc:
        raise _file_problem(
            path, f"duplicate key {exc.args[0]!r} (JSON readers would silently keep only one value)"
        ) from None
    except ValueError as exc:
        raise _file_problem(path, str(exc)) from None
    if not isinstance(data, dict):
        raise _file_problem(path, f"the top level must be a JSON object {{...}}, got {type(data).__name__}")
    return data


ConfigSource = str | os.PathLike[str] | Mapping[str, Any] | None
"""What :func:`load_config` reads: a JSON file path, a mapping, or None for the defaults."""


def load_config(source: ConfigSource = None, **overrides: Any) -> CubeConfig:
    """Read and validate a ``config.json`` (a file, a mapping or nothing) into a :class:`CubeConfig`.

    Parameters
    ----------
    source
        Path of a JSON file, a mapping with the same content, or None for the defaults.
    **overrides
        Config keys applied on top of ``source`` (e.g. ``catalog=`` from a command-line option). Overrides
        whose value is None are ignored, so unset command-line options can be passed straight through; use
        :meth:`CubeConfig.replace` to reset a key to null.

    Returns
    -------
    CubeConfig
        The validated config; keys not given take their defaults (see the module docstring).

    Raises
    ------
    ConfigError
        For a missing or unreadable file, invalid JSON (with line and column) or a non-object top level,
        naming the file (``key`` is ``"<file>"``); for one bad key of a mapping. :class:`ConfigProblems`
        (a ``ConfigError``) when there are several problems or the problems come from a file: its message
        names the file and lists every problem, one per line.
    TypeError
        If ``source`` is neither a path, a mapping nor None.
    """
    where: str | None = None
    if source is None:
        raw: dict[Any, Any] = {}
    elif isinstance(source, (str, os.PathLike)):
        where = os.fspath(source)
        raw = _read_config_file(where)
    elif isinstance(source, Mapping):
        raw = dict(source)
    else:
        raise TypeError(f"load_config() needs a path, a mapping or None, not {type(source).__name__}")
    raw.update((name, value) for name, value in overrides.items() if value is not None)
    return CubeConfig(**_validate(raw, where))


def config_json_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of ``config.json``.

    The schema checks types, ranges, enumerations and unknown keys; :func:`load_config` checks more (calendar
    dates, geometry validity, CQL2 syntax, rules between keys such as ``end_date >= start_date``).

    Returns
    -------
    dict
        A fresh schema dict, with a description and (where static) a default for every key.
    """
    defaults = CubeConfig(end_date=dt.date.max).to_dict()
    properties: dict[str, Any] = {}
    for key in _KEYS:
        schema = json.loads(json.dumps(key.schema))
        schema.setdefault("description", _DESCRIPTIONS.get(key.name, ""))
        if key.name != "end_date":  # its default (today) is not a constant
            schema["default"] = defaults[key.name]
        properties[key.name] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "icecube-stac config.json",
        "description": "Which ICEYE SAR items to search for and how to stack them into a cube. Every key is "
        "optional; the keys of icecube 1.x keep their meaning and defaults.",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
