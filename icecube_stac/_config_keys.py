"""The one table of ``config.json`` keys, which drives validation, the error messages and the JSON Schema.

Each :class:`Key` row names a key, the :class:`~icecube_stac.config.CubeConfig` field it fills, its
:class:`~icecube_stac._config_rules.Rule` (which both checks a value and publishes its JSON Schema) and
its description. :mod:`icecube_stac._config_validate` checks configs with these rows and
:func:`json_schema` assembles the published schema from the same rows. Choices come from
:mod:`icecube_stac.vocabulary`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ._config_checks import CatalogRule, ChunksRule, HeadersRule
from ._config_coregister import CoregisterRule
from ._config_cql2 import FilterRule
from ._config_geocode import GeocodeRule
from ._config_geometry import AreaRule, BboxRule
from ._config_labels import LabelsRule
from ._config_limits import (
    CATALOG_MAX_CHARS,
    DATE_RANGE_TEXT,
    FILTER_MAX_CHARS,
    FILTER_MAX_DEPTH,
    FILTER_MAX_VALUES,
    GEOMETRY_MAX_NESTING,
    MAX_COUNT,
    MAX_TEMPORAL_RESOLUTION,
    MAX_TIME_SLOTS,
    MAX_TIMEOUT,
)
from ._config_rules import (
    AngleRule,
    ChoiceRule,
    CountRule,
    DateRule,
    FillValueRule,
    FlagRule,
    NamesRule,
    PositiveNumberRule,
    Rule,
)
from .metadata import MAX_SAMPLES, MAX_SIDE
from .vocabulary import LookSide, OrbitDirection, ProductLevel

__all__ = [
    "CONFIG_KEYS",
    "INSTRUMENT_MODES",
    "KEYS",
    "KEY_HINTS",
    "LOOK_SIDES",
    "ORBIT_STATES",
    "POLARIZATIONS",
    "PRODUCT_TYPES",
    "SCHEMA_LIMITS",
    "Key",
    "json_schema",
    "lookup",
]

PRODUCT_TYPES: Final = tuple(level.value for level in ProductLevel)
ORBIT_STATES: Final = tuple(direction.value for direction in OrbitDirection)
LOOK_SIDES: Final = tuple(side.value for side in LookSide)
INSTRUMENT_MODES: Final = ("stripmap", "spotlight", "scan")
POLARIZATIONS: Final = ("HH", "VV", "HV", "VH")

KEY_HINTS: Final = {
    # Keys people carry over from ICEYE metadata, icecube docs or STAC search bodies.
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

SCHEMA_LIMITS: Final = (
    "the order of two values: end_date >= start_date (end_date defaults to today, UTC), "
    "max_incidence_angle >= min_incidence_angle, bbox min <= max",
    "calendar validity of YYYYMMDD integers (date strings are checked by the schema)",
    "whole numbers written with a fraction (JSON Schema counts 6.0 as the integer 6; the loader wants 6)",
    "WKT strings (parsed with GEOS)",
    "OGC validity of GeoJSON geometries (self-intersections, rings that touch themselves...)",
    "CQL2 syntax, operators and the size and nesting of a CQL2-JSON filter",
    "URL syntax of an http(s) catalog (a host, an IPv6 address in brackets, a port from 0 to 65535)",
    f"the size of the time grid: at most {MAX_TIME_SLOTS:,} slots from start_date to end_date "
    "every temporal_resolution days",
    "CRS names in geocode.crs (a projected or geographic 2-D CRS that pyproj knows)",
    "the number of coregister windows a model needs (grid rows x columns: shift 3, affine 6, polynomial 10)",
    f"the size of the map grid of geocode.bounds at geocode.resolution (at most {MAX_SIDE:,} pixels a side, "
    f"{MAX_SAMPLES:,} in all)",
)
"""What :func:`~icecube_stac.config.load_config` checks beyond the published JSON Schema."""


def _quoted(choices: tuple[str, ...]) -> str:
    return ", ".join(repr(c) for c in choices)


@dataclass(frozen=True)
class Key:
    """One ``config.json`` key.

    Attributes
    ----------
    name
        The key as written in ``config.json``.
    attribute
        The :class:`~icecube_stac.config.CubeConfig` field it fills.
    rule
        Checks a value and publishes its JSON Schema.
    description
        What the key means (the schema's ``description``).
    """

    name: str
    attribute: str
    rule: Rule
    description: str


KEYS: Final[tuple[Key, ...]] = (
    Key(
        "start_date",
        "start_date",
        DateRule(),
        f"First acquisition date (UTC date of acquisition_end_utc), inclusive; {DATE_RANGE_TEXT}.",
    ),
    Key(
        "end_date",
        "end_date",
        DateRule(),
        "Last acquisition date, INCLUSIVE (as in icecube 1.x). Defaults to today (UTC). Must not be before start_date.",
    ),
    Key(
        "min_incidence_angle",
        "min_incidence_angle",
        AngleRule(),
        "Smallest scene-centre incidence angle in degrees, inclusive.",
    ),
    Key(
        "max_incidence_angle",
        "max_incidence_angle",
        AngleRule(),
        "Largest scene-centre incidence angle in degrees, inclusive; must not be below min_incidence_angle "
        "(icecube 1.x default: 90).",
    ),
    Key(
        "temporal_resolution",
        "temporal_resolution",
        CountRule(
            0,
            MAX_TEMPORAL_RESOLUTION,
            f"expected a whole number of days from 0 to {MAX_TEMPORAL_RESOLUTION:,} "
            "(0 = natural timeline, one slot per acquisition)",
        ),
        "Days between time slots of the cube (empty slots are filled); 0 = natural timeline, one slot per "
        f"acquisition. At most {MAX_TEMPORAL_RESOLUTION:,}, and the grid from start_date to end_date at most "
        f"{MAX_TIME_SLOTS:,} slots.",
    ),
    Key("coregistered", "coregistered", FlagRule(), "The stack is already coregistered (disables space_overlap)."),
    Key(
        "space_overlap",
        "space_overlap",
        FlagRule(),
        "Keep only items whose footprint intersects the earliest item's.",
    ),
    Key(
        "temporal_overlap",
        "temporal_overlap",
        FlagRule(),
        "Keep several acquisitions of the same date; false keeps only the latest one of each date "
        "(icecube 1.x default: true).",
    ),
    Key(
        "bbox",
        "bbox",
        BboxRule(),
        "Area of interest [min_lon, min_lat, max_lon, max_lat] in WGS84 degrees (min_lon <= max_lon: "
        "no antimeridian crossing); exclusive with intersects.",
    ),
    Key(
        "intersects",
        "intersects",
        AreaRule(),
        "Area of interest as a GeoJSON geometry or WKT string (lon/lat WGS84); must be valid and non-empty; "
        f"GeometryCollections nest at most {GEOMETRY_MAX_NESTING} levels; exclusive with bbox.",
    ),
    Key(
        "product_type",
        "product_type",
        ChoiceRule(PRODUCT_TYPES),
        f"Product level: {_quoted(PRODUCT_TYPES)} (any case); null = any.",
    ),
    Key(
        "orbit_state",
        "orbit_state",
        ChoiceRule(ORBIT_STATES),
        f"Orbit direction: {_quoted(ORBIT_STATES)} (any case); null = any.",
    ),
    Key(
        "look_side",
        "look_side",
        ChoiceRule(LOOK_SIDES),
        f"Antenna look side: {_quoted(LOOK_SIDES)} (any case); null = any.",
    ),
    Key(
        "instrument_mode",
        "instrument_modes",
        NamesRule(INSTRUMENT_MODES),
        f"Acquisition mode(s) among {_quoted(INSTRUMENT_MODES)} (any case); a string or a list; empty = any.",
    ),
    Key(
        "platforms",
        "platforms",
        NamesRule(None, str.lower),
        "Satellite name(s), e.g. 'ICEYE-X7' (matched lowercase); empty = any.",
    ),
    Key(
        "polarizations",
        "polarizations",
        NamesRule(POLARIZATIONS),
        f"Polarization(s) among {_quoted(POLARIZATIONS)} (any case); empty = any.",
    ),
    Key("collections", "collections", NamesRule(None), "STAC collection id(s) to search; empty = all."),
    Key(
        "max_items",
        "max_items",
        CountRule(
            1, MAX_COUNT, f"expected a whole number from 1 to {MAX_COUNT:,}, or null for no limit", nullable=True
        ),
        "Stop after this many matching items; null = no limit.",
    ),
    Key(
        "filter",
        "filter",
        FilterRule(),
        "Extra CQL2 condition (CQL2-JSON object or CQL2-text string), ANDed with the other keys. Standard "
        "operators only (comparisons, and/or/not, like, between, in, isNull, casei, accenti, s_*, t_*, a_*: no "
        f"function calls, no arithmetic); at most {FILTER_MAX_CHARS:,} characters (CQL2-JSON: written "
        f"compactly), {FILTER_MAX_DEPTH} levels of nesting and {FILTER_MAX_VALUES:,} JSON values.",
    ),
    Key(
        "catalog",
        "catalog",
        CatalogRule(),
        f"Local STAC catalog (folder or catalog.json) or http(s) URL of a STAC API, at most {CATALOG_MAX_CHARS} "
        "characters. A relative path written in a config file is relative to that file's folder; given any "
        "other way (a mapping, the catalog= override, --catalog, or the default catalogs/default) it is "
        "relative to the current directory.",
    ),
    Key("headers", "headers", HeadersRule(), "HTTP headers for a STAC API, e.g. authentication."),
    Key(
        "timeout",
        "timeout",
        PositiveNumberRule(MAX_TIMEOUT, f"expected a number of seconds > 0 and at most {MAX_TIMEOUT:,.0f}"),
        f"HTTP timeout in seconds for a STAC API (at most {MAX_TIMEOUT:,.0f}).",
    ),
    Key(
        "chunks",
        "chunks",
        ChunksRule(),
        f"Cube chunk sizes in pixels per dimension (azimuth, range), 1 to {MAX_COUNT:,}; null = the loader's choice.",
    ),
    Key(
        "fill_value",
        "fill_value",
        FillValueRule(),
        "Value of empty pixels and empty time slots, a finite number within the float32 range (cubes are "
        "float32 or complex64); null = the loader's default (NaN).",
    ),
    Key(
        "coregister",
        "coregister",
        CoregisterRule(),
        "Coregister the stack in radar geometry: false (default), true (defaults) or an object with reference "
        "(item id; default the first slice), window (pixels, default 64), grid ([azimuth, range] windows, "
        "default [6, 6]), model (shift, affine (default), polynomial), resampling (cubic (default), linear, "
        "nearest), on_failure (keep (default: unaligned, NaN quality) or drop), upsample (1/N pixel, default "
        "100) and max_residual (RMS pixels, default 0.5). Ignored with coregistered: true.",
    ),
    Key(
        "geocode",
        "geocode",
        GeocodeRule(),
        "Put the cube on a map grid (dims time, y, x): false (default: sensor geometry), true (UTM zone of the "
        "area of interest or the first footprint, the products' ground pixel spacing) or an object with crs, "
        "resolution ([x, y] or one size, CRS units), bounds ([min_x, min_y, max_x, max_y], needs crs), "
        "resampling, dem (local DEM raster for the RPC heights; default each product's average scene height) "
        "and quantity (amplitude, intensity, beta0, sigma0; default amplitude for GRD, beta0 for SLC).",
    ),
    Key(
        "labels",
        "labels",
        LabelsRule(),
        "Labels to attach to the cube: an icecube 1.x labels JSON, a GeoJSON FeatureCollection (lon/lat, class "
        "property), a STAC label item or a folder of them, or 'catalog' (the catalog's label items); null = none.",
    ),
    Key(
        "labelled",
        "labelled",
        FlagRule(),
        "Keep only products that have labels (in the labels source, or label items in the catalog).",
    ),
)

CONFIG_KEYS: Final[tuple[str, ...]] = tuple(k.name for k in KEYS)
"""Every key ``config.json`` may hold, in documentation order."""

_BY_NAME: Final = {k.name: k for k in KEYS}
_BY_ATTRIBUTE: Final = {k.attribute: k for k in KEYS}


def lookup(name: object, *, attributes: bool = False) -> Key | None:
    """Return the row of a config key (or, with ``attributes``, of a CubeConfig field name).

    Parameters
    ----------
    name
        A config key such as ``instrument_mode``.
    attributes
        Also accept field names such as ``instrument_modes`` (as :meth:`CubeConfig.replace` does).

    Returns
    -------
    Key or None
        None for an unknown name.
    """
    if not isinstance(name, str):
        return None
    return _BY_NAME.get(name) or (_BY_ATTRIBUTE.get(name) if attributes else None)


def json_schema(defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Assemble the JSON Schema (draft 2020-12) of ``config.json`` from the key table.

    Parameters
    ----------
    defaults
        The default of each key as JSON data, by config key; a key missing here gets no ``default``.

    Returns
    -------
    dict
        A fresh schema.
    """
    properties: dict[str, Any] = {}
    for key in KEYS:
        schema = {**key.rule.schema(), "description": key.description}
        if key.name in defaults:
            schema["default"] = defaults[key.name]
        properties[key.name] = schema
    not_null = {"not": {"type": "null"}}
    both_areas = {"required": ["bbox", "intersects"], "properties": {"bbox": not_null, "intersects": not_null}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "icecube-stac config.json",
        "description": "Which ICEYE SAR items to search for and how to stack them into a cube. Every key is "
        "optional; the keys of icecube 1.x keep their meaning and defaults.",
        "$comment": "icecube-stac also checks what JSON Schema cannot express: " + "; ".join(SCHEMA_LIMITS) + ".",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "not": both_areas,
    }
