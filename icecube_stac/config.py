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
import json
import os
import re
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, NoReturn

from ._config_checks import (
    _CHUNK_DIMS,
    _GEOMETRY_TYPES,
    ConfigProblems,
    _check_angle,
    _check_bbox,
    _check_catalog,
    _check_choice,
    _check_chunks,
    _check_date,
    _check_fill_value,
    _check_filter,
    _check_flag,
    _check_headers,
    _check_intersects,
    _check_max_items,
    _check_names,
    _check_temporal_resolution,
    _check_timeout,
    _did_you_mean,
    _file_problem,
    _problem,
)
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

# Defined with the checks, but public here: tracebacks, reprs and pickles keep naming icecube_stac.config.
ConfigProblems.__module__ = __name__

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
