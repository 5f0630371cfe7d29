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
Dates run from 1677-09-22 to 2262-04-11, the days pandas' nanosecond timestamps (the cube's time axis)
hold; every other number has a bound too (:mod:`icecube_stac._config_limits`), and a CQL2 ``filter`` is
bounded in size and nesting and limited to the standard operators before it is parsed.

A relative ``catalog`` path written in a config file is relative to that file's folder; everywhere else
(a mapping, the ``catalog=`` override, ``--catalog``, the default) it is relative to the current directory.

STAC-native keys: ``bbox`` or ``intersects`` (area of interest, one of them), ``product_type``,
``orbit_state``, ``look_side``, ``instrument_mode``, ``platforms``, ``polarizations``, ``collections``,
``max_items``, ``filter`` (raw CQL2, ANDed with the rest), ``catalog``, ``headers``, ``timeout``, and the cube
loader keys ``chunks`` and ``fill_value``. :func:`config_json_schema` documents each one.

Errors: every problem is a :class:`~icecube_stac.errors.ConfigError` naming the key, the value and what is
allowed. All problems of a config are collected; a single problem in a mapping is raised as that
``ConfigError``, several problems (or any problem in a file, so that the file is named) as a
:class:`ConfigProblems`, which is a ``ConfigError`` listing every problem on its own line.

One key table (:mod:`icecube_stac._config_keys`) drives the checks, their messages and
:func:`config_json_schema`. A config is validated once (:mod:`icecube_stac._config_validate`):
:func:`load_config` checks each given key once and the rules between keys once; :meth:`CubeConfig.replace`
checks only the changed keys, then the rules between keys.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from ._config_coregister import DISABLED as _NO_COREGISTRATION
from ._config_coregister import CoregisterOptions
from ._config_errors import ConfigProblems
from ._config_file import read_config_file
from ._config_geocode import GeocodeOptions
from ._config_keys import CONFIG_KEYS, KEYS, json_schema
from ._config_patterns import URL_SCHEME
from ._config_validate import date_number, validate
from ._redact import redact_url
from .vocabulary import is_api_url

__all__ = [
    "CONFIG_KEYS",
    "DEFAULT_CATALOG",
    "DEFAULT_START_DATE",
    "DEFAULT_TIMEOUT",
    "ConfigProblems",
    "ConfigSource",
    "CubeConfig",
    "LookSide",
    "OrbitState",
    "ProductType",
    "config_json_schema",
    "load_config",
]

# Defined with the messages, but public here: tracebacks, reprs and pickles keep naming icecube_stac.config.
ConfigProblems.__module__ = __name__

ProductType = Literal["GRD", "SLC"]
"""The values of :class:`icecube_stac.vocabulary.ProductLevel`."""
OrbitState = Literal["ascending", "descending"]
"""The values of :class:`icecube_stac.vocabulary.OrbitDirection`."""
LookSide = Literal["left", "right"]
"""The values of :class:`icecube_stac.vocabulary.LookSide`."""

DEFAULT_START_DATE: Final = dt.date(1970, 1, 1)
DEFAULT_CATALOG: Final = "catalogs/default"
DEFAULT_TIMEOUT: Final = 30.0


def _today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _empty_headers() -> Mapping[str, str]:
    return types.MappingProxyType({})


@dataclass(frozen=True, repr=False)
class CubeConfig:
    """A validated, canonical ``config.json``; build it with :func:`load_config` or :meth:`replace`.

    Constructing it directly also validates and canonicalises every field, once (``CubeConfig()`` is the
    default config), and a bad field raises :class:`~icecube_stac.errors.ConfigError`. Canonical forms:
    dates are :class:`datetime.date`, sequences are tuples, ``headers`` and ``chunks`` are read-only
    mappings, ``intersects`` and ``filter`` are plain JSON dicts (treat them as read-only).

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
        ``"GRD"``/``"SLC"``, ``"ascending"``/``"descending"``, ``"left"``/``"right"`` (the values of the
        :mod:`icecube_stac.vocabulary` enums, as plain strings); None = any.
    instrument_modes, platforms, polarizations, collections
        Allowed values (config keys ``instrument_mode``, ...); empty = any.
    max_items
        Result limit, None = none.
    filter
        Extra CQL2-JSON condition, ANDed with the rest; None = none.
    catalog, headers, timeout
        Where to search: a local catalog path or an http(s) STAC API URL, HTTP headers and timeout. A
        relative catalog path read from a config file has been joined to that file's folder (the result
        is absolute); from anywhere else it is relative to the current directory.
    chunks, fill_value
        Cube loader options; None = the loader's defaults.
    coregister
        :class:`~icecube_stac._config_coregister.CoregisterOptions` (``enabled`` False: nothing is done).
    geocode
        False (sensor geometry) or :class:`~icecube_stac._config_geocode.GeocodeOptions` (a map-grid cube).
    labels, labelled
        Labels to attach (a file or folder, ``"catalog"``, or None) and whether only labelled products are
        kept (:mod:`icecube_stac.labels`).
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
    coregister: CoregisterOptions = _NO_COREGISTRATION
    geocode: GeocodeOptions | bool = False  # False, or the parsed options (icecube_stac._config_geocode)
    labels: str | None = None  # a labels file/folder, "catalog", or None (icecube_stac.labels)
    labelled: bool = False

    def __post_init__(self) -> None:
        raw = {k.name: getattr(self, k.attribute) for k in KEYS}
        for attribute, value in validate(raw, {}).items():
            object.__setattr__(self, attribute, value)

    @classmethod
    def _from_valid(cls, values: Mapping[str, Any]) -> CubeConfig:
        """Build a config from canonical values that :func:`validate` returned, without validating again."""
        if values.keys() != _FIELDS:
            raise AssertionError(f"CubeConfig needs every field, got {sorted(values)}")
        config = object.__new__(cls)
        for name, value in values.items():
            object.__setattr__(config, name, value)
        return config

    def _values(self) -> dict[str, Any]:
        return {k.attribute: getattr(self, k.attribute) for k in KEYS}

    def __hash__(self) -> int:
        # The generated hash would choke on the dict fields; the canonical JSON identifies a config.
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __repr__(self) -> str:
        shown = self._values()
        # Headers usually carry credentials: keep them out of logs and tracebacks.
        shown["headers"] = {name: "<hidden>" for name in self.headers}
        for name in ("headers", "chunks"):
            if isinstance(shown[name], Mapping):
                shown[name] = dict(shown[name])
        shown["catalog"] = redact_url(self.catalog)  # a catalog URL may carry a password or a token
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
        return {k.name: _to_json(getattr(self, k.attribute)) for k in KEYS}

    def replace(self, **changes: Any) -> CubeConfig:
        """Return a copy with some fields changed, validated like :func:`load_config` input.

        Only the changed fields are checked (once), then the rules between keys; the others are already
        valid.

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
        return CubeConfig._from_valid(validate(changes, self._values(), attributes=True))

    def time_window(self) -> tuple[dt.datetime, dt.datetime]:
        """Return the selected acquisition dates as a half-open UTC datetime interval.

        Returns
        -------
        tuple of datetime
            ``[start_date 00:00Z, end_date + 1 day 00:00Z)``: an acquisition whose end time ``t`` satisfies
            ``start <= t < end`` has an acquisition date within ``[start_date, end_date]``.
        """
        start = dt.datetime.combine(self.start_date, dt.time(), tzinfo=dt.UTC)
        end = dt.datetime.combine(self.end_date + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        return start, end


_FIELDS: Final = frozenset(f.name for f in dataclasses.fields(CubeConfig))


def _to_json(value: object) -> Any:
    if isinstance(value, CoregisterOptions):
        return value.to_json()
    if isinstance(value, GeocodeOptions):
        return value.to_json()
    if isinstance(value, dt.date):
        return date_number(value)
    if isinstance(value, (tuple, list)):
        return [_to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _to_json(v) for k, v in value.items()}
    return value


def _defaults() -> dict[str, Any]:
    """Return the canonical default of every field (``end_date``: today, UTC), by field name."""
    values: dict[str, Any] = {}
    for spec in dataclasses.fields(CubeConfig):
        factory = spec.default_factory
        values[spec.name] = factory() if factory is not dataclasses.MISSING else spec.default
    return values


def _next_to(config_file: str, catalog: object) -> object:
    """Resolve a relative local catalog path written in ``config_file`` against the file's folder."""
    if not isinstance(catalog, str) or not catalog.strip() or re.match(URL_SCHEME, catalog) or is_api_url(catalog):
        return catalog  # not a local path: the rule reports it as it was written
    if os.path.isabs(catalog):
        return catalog
    folder = os.path.dirname(os.path.expanduser(config_file))
    return os.path.join(os.getcwd(), folder, catalog)


ConfigSource = str | os.PathLike[str] | Mapping[str, Any] | None
"""What :func:`load_config` reads: a JSON file path, a mapping, or None for the defaults."""


def load_config(source: ConfigSource = None, **overrides: Any) -> CubeConfig:
    """Read and validate a ``config.json`` (a file, a mapping or nothing) into a :class:`CubeConfig`.

    Each given key is checked once, then the rules between keys once; keys not given take their defaults.

    Parameters
    ----------
    source
        Path of a JSON file, a mapping with the same content, or None for the defaults.
    **overrides
        Config keys applied on top of ``source`` (e.g. ``catalog=`` from a command-line option). Overrides
        whose value is None are ignored, so unset command-line options can be passed straight through; use
        :meth:`CubeConfig.replace` to reset a key to null.

    Notes
    -----
    A relative ``catalog`` path written in a config *file* is relative to the file's folder, and is
    stored joined to it (absolute). The default ``catalogs/default``, a catalog in a mapping and the
    ``catalog=`` override are relative to the current directory.

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
        raw = read_config_file(where)
        if "catalog" in raw:
            raw["catalog"] = _next_to(where, raw["catalog"])
        if raw.get("labels") not in (None, "catalog"):
            raw["labels"] = _next_to(where, raw["labels"])  # relative to the config file, as catalog is
    elif isinstance(source, Mapping):
        raw = dict(source)
    else:
        raise TypeError(f"load_config() needs a path, a mapping or None, not {type(source).__name__}")
    raw.update((name, value) for name, value in overrides.items() if value is not None)
    return CubeConfig._from_valid(validate(raw, _defaults(), source=where))


def config_json_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of ``config.json``, generated from the key table.

    It accepts exactly what :func:`load_config` accepts, except for the rules JSON Schema cannot express,
    listed in its ``$comment``: the order between two keys (``end_date >= start_date``, incidence bounds,
    bbox corners), calendar validity of YYYYMMDD integers, whole numbers written with a fraction (``6.0``),
    WKT parsing and OGC validity of geometries, CQL2 parsing, operators and nesting, URL syntax of an API
    catalog, and the size of the time grid.

    Returns
    -------
    dict
        A fresh schema dict, with a description and (where static) a default for every key.
    """
    defaults = CubeConfig._from_valid(_defaults()).to_dict()
    del defaults["end_date"]  # its default (today) is not a constant
    return json_schema(defaults)
