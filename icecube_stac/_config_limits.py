"""Every bound a ``config.json`` value must respect, in one place, so checks, messages and schema agree.

The bounds keep hostile or mistaken configs from reaching code that would crash, hang or exhaust memory
(the CQL2 parser, pandas' nanosecond time axis, float32 cubes, recursive JSON readers), while staying
far beyond anything a person writes by hand. The checks that use them live in the rule modules; the
JSON Schema publishes the same numbers.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

__all__ = [
    "CATALOG_MAX_CHARS",
    "CONFIG_MAX_DEPTH",
    "DATE_FIRST",
    "DATE_LAST",
    "DATE_RANGE_TEXT",
    "FILTER_MAX_CHARS",
    "FILTER_MAX_DEPTH",
    "FILTER_MAX_INTEGER",
    "FILTER_MAX_VALUES",
    "FLOAT32_MAX",
    "FLOAT64_MAX",
    "GEOMETRY_MAX_NESTING",
    "MAX_COUNT",
    "MAX_TEMPORAL_RESOLUTION",
    "MAX_TIMEOUT",
    "MAX_TIME_SLOTS",
    "SUGGEST_MAX_CHARS",
    "WKT_MAX_PARENTHESES",
]

DATE_FIRST: Final = dt.date(1677, 9, 22)
"""First date allowed: the first whole day pandas' nanosecond timestamps hold (from 1677-09-21 00:12:43)."""

DATE_LAST: Final = dt.date(2262, 4, 11)
"""Last date allowed: the last day whose midnight pandas' nanosecond timestamps hold (to 2262-04-11 23:47)."""

DATE_RANGE_TEXT: Final = (
    f"from {DATE_FIRST.isoformat()} to {DATE_LAST.isoformat()} (the days the cube's nanosecond time axis can hold)"
)

MAX_TEMPORAL_RESOLUTION: Final = 36_500
"""Largest ``temporal_resolution``, in days (100 years)."""

MAX_TIME_SLOTS: Final = 10_000
"""Most slots a time grid may have: ``(end_date - start_date) // temporal_resolution + 1`` (27 years of
daily slots). Forgetting ``start_date`` (1970) with a daily grid asks for 20,000 mostly empty slots, which
take a minute and half a gigabyte even for 16 x 16-pixel products."""

MAX_COUNT: Final = 1_000_000_000
"""Largest ``max_items`` and chunk size (chunks are clipped to the raster anyway)."""

CATALOG_MAX_CHARS: Final = 4096
"""Longest ``catalog``: Linux's PATH_MAX (a longer path cannot be opened; messages quote the catalog)."""

MAX_TIMEOUT: Final = 86_400.0
"""Largest HTTP ``timeout``, seconds (one day; sockets refuse much larger values)."""

FLOAT32_MAX: Final = 3.4028234663852886e38
"""Largest finite float32: cubes are float32 or complex64, so a ``fill_value`` must fit."""

FLOAT64_MAX: Final = 1.7976931348623157e308
"""Largest finite float64: the bound of numbers without a tighter one (GeoJSON heights)."""

FILTER_MAX_CHARS: Final = 65_536
"""Longest CQL2 text, and longest CQL2-JSON filter once written as compact JSON, in characters."""

FILTER_MAX_DEPTH: Final = 32
"""Deepest CQL2 filter: nested JSON objects and arrays of its CQL2-JSON (``{"op": "=", "args":
[{"property": "a"}, 1]}`` is 3 deep); CQL2 text is estimated the same way before it is parsed."""

FILTER_MAX_VALUES: Final = 10_000
"""Most JSON values (objects, arrays, strings, numbers, booleans, nulls) in a CQL2-JSON filter."""

FILTER_MAX_INTEGER: Final = 2**63
"""Integers in a filter must lie in ``[-2**63, 2**63)`` (64-bit, what the backends compare)."""

GEOMETRY_MAX_NESTING: Final = 8
"""Deepest nesting of GeoJSON/WKT GeometryCollections (a GeometryCollection of Points is 1)."""

WKT_MAX_PARENTHESES: Final = GEOMETRY_MAX_NESTING + 3
"""Deepest parentheses in WKT: the collections, then a MULTIPOLYGON's three levels."""

CONFIG_MAX_DEPTH: Final = 64
"""Deepest nesting of JSON objects and arrays in a config file (a CQL2 filter needs at most 33)."""

SUGGEST_MAX_CHARS: Final = 64
"""Longest misspelling for which a "did you mean" is computed (longer text is no near miss)."""
