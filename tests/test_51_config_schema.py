"""The published JSON Schema accepts exactly what load_config accepts, over every config the suite uses.

Configs are collected from the test modules themselves (every dict passed to ``load_config``/``error_for``,
with each parametrized value substituted, and the keyword configs of ``_ids``), from ``examples/``, the
demo's built-in config, literal dicts in ``benchmarks/`` and ``examples/*.py``, what ``to_dict`` writes, and
the edge cases in :data:`PROBES`. The only differences allowed are the named rules of
:data:`SCHEMA_CANNOT_EXPRESS`, which are also listed in the schema's ``$comment``.
"""

from __future__ import annotations

import ast
import calendar
import datetime as dt
import functools
import importlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, Final, get_args

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from icecube_stac import demo
from icecube_stac._config_keys import (
    KEYS,
    LOOK_SIDES,
    ORBIT_STATES,
    PRODUCT_TYPES,
    SCHEMA_LIMITS,
    lookup,
)
from icecube_stac._config_limits import CONFIG_MAX_DEPTH, DATE_FIRST, DATE_LAST
from icecube_stac._config_patterns import ANGLE_TEXT, API_URL, DATE_TEXT, digits_between, matches
from icecube_stac._config_validate import check_value
from icecube_stac.config import CONFIG_KEYS, ConfigProblems, LookSide, OrbitState, ProductType, config_json_schema
from icecube_stac.config import load_config as _load_config
from icecube_stac.errors import ConfigError
from icecube_stac.vocabulary import LookSide as LookSideEnum
from icecube_stac.vocabulary import OrbitDirection, ProductLevel, is_api_url

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
CONFIG_CALLS: Final = frozenset({"load_config", "error_for"})  # first positional argument: a config
KEYWORD_CALLS: Final = frozenset({"_ids"})  # keyword arguments: config keys

SQUARE = [[102.5, 16.2], [102.7, 16.2], [102.7, 16.4], [102.5, 16.4], [102.5, 16.2]]


def _collections(levels: int) -> dict[str, Any]:
    """A point inside ``levels`` nested GeometryCollections."""
    geometry: dict[str, Any] = {"type": "Point", "coordinates": [1, 2]}
    for _ in range(levels):
        geometry = {"type": "GeometryCollection", "geometries": [geometry]}
    return geometry


PROBES: Final[list[dict[str, Any]]] = [
    # Whole numbers written with a fraction, for every integer key.
    {"start_date": 20240301.0},
    {"temporal_resolution": 6.0},
    {"max_items": 3.0},
    {"coregistered": 1.0},
    {"chunks": {"azimuth": 512.0}},
    # Calendar dates: strings by the schema's pattern, integers only by the loader.
    {"start_date": "20240229", "end_date": "2024-02-29"},
    {"start_date": "19000229"},
    {"start_date": "20000229"},
    {"start_date": "2023-02-29"},
    {"start_date": "2024-04-31"},
    {"start_date": "20241232"},
    {"start_date": 20230229},
    {"start_date": 20241301},
    {"start_date": "20240301\n"},
    {"start_date": " 20240301"},
    {"start_date": 10000101, "end_date": 99991231},
    {"start_date": 9991231},
    # The days of nanosecond timestamps, 1677-09-22 to 2262-04-11, by integers and strings alike.
    {"start_date": 16770922, "end_date": "2262-04-11"},
    {"start_date": 16770921},
    {"start_date": "1677-09-21"},
    {"end_date": 22620412},
    {"end_date": "22620412"},
    {"start_date": "16000101", "end_date": "16000229"},
    {"start_date": 22620229},
    # Numbers everywhere are bounded (and JSON Schema compares big integers exactly).
    {"temporal_resolution": 36500},
    {"temporal_resolution": 36501},
    {"temporal_resolution": 10**30},
    {"max_items": 1_000_000_000},
    {"max_items": 1_000_000_001},
    {"chunks": {"azimuth": 1_000_000_000, "range": 1_000_000_001}},
    {"timeout": 86400},
    {"timeout": 86400.5},
    {"timeout": 10**400},
    {"min_incidence_angle": 10**400},
    {"bbox": [0, 0, 10**400, 1]},
    {"fill_value": 3.4028234663852886e38},
    {"fill_value": -3.5e38},
    {"fill_value": 10**39},
    {"fill_value": 10**400},
    {"fill_value": 1e300},
    {"intersects": {"type": "Point", "coordinates": [1, 2, 1e308]}},
    {"intersects": {"type": "Point", "coordinates": [1, 2, 10**400]}},
    # The size of the time grid: arithmetic over three keys.
    {"temporal_resolution": 1, "start_date": 19000101, "end_date": 20240101},
    {"temporal_resolution": 1, "start_date": 19900101, "end_date": 20240101},
    {"temporal_resolution": 1, "start_date": 20000101, "end_date": 20240101},
    {"temporal_resolution": 3, "start_date": 16770922, "end_date": 22620411},
    # Angles as numeric strings.
    {"min_incidence_angle": " 20 ", "max_incidence_angle": "90.000"},
    {"min_incidence_angle": "-0", "max_incidence_angle": "+.5"},
    {"min_incidence_angle": "-0.1"},
    {"max_incidence_angle": "90.01"},
    {"max_incidence_angle": "1e1"},
    {"max_incidence_angle": "0090"},
    {"min_incidence_angle": 40, "max_incidence_angle": 30},
    # Choices in any ASCII case, never anything else.
    {"product_type": "sLc", "orbit_state": "DESCENDING", "look_side": "LEFT"},
    {"product_type": "GRD\n"},
    {"product_type": "ſlc"},
    {"product_type": None, "orbit_state": None, "look_side": None},
    {"instrument_mode": [], "platforms": [], "polarizations": [], "collections": []},
    {"instrument_mode": ["SCAN", "scan"], "polarizations": "hv"},
    {"platforms": "  "},
    {"collections": ["a", " "]},
    # Catalogs: local paths, http(s) URLs in any case, with a host.
    {"catalog": "HTTPS://stac.example.com/api"},
    {"catalog": " http://localhost:8080"},
    {"catalog": "Http://"},
    {"catalog": "https:///path"},
    {"catalog": "ftp://example.com/stac"},
    {"catalog": "  "},
    {"catalog": "C:/catalogs/default"},
    {"catalog": "catalogs/with spaces"},
    {"catalog": "http://[::1"},
    {"catalog": "a." * 2048},
    {"catalog": "a." * 2048 + "x"},
    {"catalog": "http://[::1]:8080/api"},
    {"catalog": "http://[not-an-address]/api"},
    {"catalog": "https://stac.example.com:99999/api"},
    {"catalog": "https://stac.example.com:80a/api"},
    {"catalog": "http://@/api"},
    {"catalog": "https://user:s3cr3t@stac.example.com/api"},
    # Headers.
    {"headers": {}},
    {"headers": {"X-Api-Key": "abc", "Accept": ""}},
    {"headers": {"Authorization": "Bearer x\n"}},
    {"headers": {"": "x"}},
    {"headers": {"X-Nul": "a\u0000b"}},
    # Numbers.
    {"timeout": 0.001, "fill_value": -9999},
    {"timeout": -1},
    {"fill_value": 0.5},
    {"max_items": None, "chunks": None, "fill_value": None, "bbox": None, "intersects": None, "filter": None},
    {"chunks": {}},
    {"chunks": {"range": 1}},
    # Areas of interest: GeoJSON structure by the schema, OGC validity only by the loader.
    {"intersects": {"type": "Polygon", "coordinates": [SQUARE]}},
    {"intersects": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]}},
    {"intersects": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}},
    {"intersects": {"type": "Polygon", "coordinates": [[[0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 0, 1]]]}},
    {"intersects": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0, 5], [1, 1], [0, 0]]]}},
    {
        "intersects": {
            "type": "Polygon",
            "coordinates": [[[0, 0], [3, 0], [3, 3], [0, 0]], [[1, 1, 1], [2, 1, 1], [2, 2, 1]]],
        }
    },
    {"intersects": {"type": "Point", "coordinates": ["102.6", "16.3"]}},
    {"intersects": {"type": "Point", "coordinates": [True, 16.3]}},
    {"intersects": {"type": "Point", "coordinates": [102.6]}},
    {"intersects": {"type": "Point", "coordinates": [102.6, 16.3, 5, 1]}},
    {"intersects": {"type": "Point", "coordinates": [102.6, 91]}},
    {"intersects": {"type": "Point", "coordinates": []}},
    {"intersects": {"type": "MultiPoint", "coordinates": [[1, 2], [3, 4]]}},
    {"intersects": {"type": "MultiPoint", "coordinates": [[]]}},
    {"intersects": {"type": "LineString", "coordinates": [[0, 0]]}},
    {"intersects": {"type": "LineString", "coordinates": [[0, 0], [0, 0]]}},
    {"intersects": {"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]], [[2, 2], [3, 3]]]}},
    {"intersects": {"type": "MultiLineString", "coordinates": [[]]}},
    {"intersects": {"type": "MultiPolygon", "coordinates": [[]]}},
    {"intersects": {"type": "MultiPolygon", "coordinates": []}},
    {"intersects": {"type": "polygon", "coordinates": [SQUARE]}},
    {"intersects": {"type": "Polygon", "coordinates": [SQUARE], "bbox": [102.5, 16.2, 102.7, 16.4]}},
    {"intersects": {"type": "GeometryCollection", "geometries": []}},
    {"intersects": {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [1, 2]}]}},
    {
        "intersects": {
            "type": "GeometryCollection",
            "geometries": [
                {"type": "Point", "coordinates": [1, 2]},
                {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [1, 2, 3]}]},
            ],
        }
    },
    {"intersects": {"type": "GeometryCollection", "geometries": [{"type": "Point"}]}},
    {"intersects": {"type": "GeometryCollection", "geometries": {"type": "Point", "coordinates": [1, 2]}}},
    {"intersects": "   "},
    {"intersects": "GEOMETRYCOLLECTION (POINT EMPTY, POINT (1 2))"},
    {"bbox": None, "intersects": "POINT (1 2)"},
    {"bbox": [0, 0, 1, 1], "intersects": None},
    {"bbox": [0, 0, 1, 1, 2]},
    {"bbox": [-180, -90, 180, 90]},
    # CQL2.
    {"filter": "   "},
    {"filter": {"op": "and"}},
    {"filter": {"op": 1, "args": []}},
    {"filter": {"op": "=", "args": [{"property": "platform"}, "iceye-x7"], "note": "extra members are ignored"}},
    {"filter": {"property": "flag"}},
    {"filter": "repeat('a', 400000000) = 'b'"},
    {"filter": '"view:incidence_angle" * 2 > 40'},
    {"filter": "(" * 40 + "id = 'a'" + ")" * 40},
    {"filter": "NOT " * 40 + "id = 'a'"},
    {"filter": "id = '" + "x" * 65_540 + "'"},
    {"filter": "id = '" + "x" * 65_000 + "'"},
    {"filter": "a = 1e400"},
    {"filter": {"op": "=", "args": [{"property": "a"}, 2**64]}},
    {"filter": {"op": "in", "args": [{"property": "a"}, list(range(10_001))]}},
    {
        "filter": {
            "op": "=",
            "args": [{"property": "a"}, [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
        }
    },
    {"filter": "CASEI(platform) = casei('ICEYE-X14') AND T_AFTER(datetime, TIMESTAMP('2024-03-10T00:00:00Z'))"},
    # GeometryCollections nest at most 8 levels.
    {"intersects": _collections(8)},
    {"intersects": _collections(9)},
    {"intersects": "GEOMETRYCOLLECTION (" * 8 + "POINT (1 2)" + ")" * 8},
    {"intersects": "GEOMETRYCOLLECTION (" * 9 + "POINT (1 2)" + ")" * 9},
    {"intersects": "GEOMETRYCOLLECTION (" * 5000 + "POINT (1 2)" + ")" * 5000},
    {"intersects": "POINT Z (1 2 1e400)"},
]


# ----------------------------------------------------------------------------------------------------------
# The allow-list: rules JSON Schema cannot express (the schema accepts, the loader rejects)
# ----------------------------------------------------------------------------------------------------------


def _says(*fragments: str) -> Callable[[ConfigError], bool]:
    return lambda problem: any(fragment in str(problem) for fragment in fragments)


SCHEMA_CANNOT_EXPRESS: Final[dict[str, Callable[[ConfigError], bool]]] = {
    # JSON Schema has no way to compare two values ($data is not part of the standard).
    "order of two values": _says("must not be before start_date", "must be >= min_incidence_angle", "> max_"),
    # No arithmetic: 20240230 is in range; which YYYYMMDD integers are calendar dates needs the calendar.
    "calendar validity of a YYYYMMDD integer": lambda p: isinstance(p.value, int) and "unparsable date" in str(p),
    # JSON Schema's data model: 6.0 *is* the integer 6. The loader wants integers written as such.
    "whole number written with a fraction": _says("written without a fraction"),
    # Parsing WKT needs a WKT parser (GEOS).
    "WKT text": lambda p: p.key == "intersects" and isinstance(p.value, str),
    # Self-intersections and the like need computational geometry.
    "OGC validity of a GeoJSON geometry": _says("invalid geometry:"),
    # Parsing and checking CQL2 needs a CQL2 parser; the depth of nested operators needs recursion.
    "CQL2 text and semantics": lambda p: p.key == "filter" and _says("CQL2")(p),
    # Brackets enclosing a valid IPv6 address, a port below 65536, a host: what urllib parses.
    "URL syntax of an API catalog": lambda p: p.key == "catalog" and _says("not a valid URL")(p),
    # No arithmetic over three keys: (end_date - start_date) // temporal_resolution + 1 slots.
    "size of the time grid": lambda p: p.key == "temporal_resolution" and _says("slots, at most")(p),
    # Which strings and codes name a 2-D map CRS is PROJ's database (pyproj), not a pattern.
    "CRS names": lambda p: p.key == "geocode.crs",
    # A product of two values (grid rows x columns) against a count that depends on a third (the model).
    "windows a coregistration model needs": lambda p: p.key == "coregister.grid" and _says("needs at least")(p),
    # No arithmetic: (max_x - min_x) / resolution pixels, and their product, against the grid-size cap.
    "size of the map grid": lambda p: p.key == "geocode.resolution" and _says("pixels a side")(p),
}


def _problems(err: ConfigError) -> tuple[ConfigError, ...]:
    return err.problems if isinstance(err, ConfigProblems) else (err,)


def _unexplained(err: ConfigError, used: set[str]) -> list[str]:
    """The problems of ``err`` that no allow-listed rule explains (and record which rules did)."""
    left = []
    for problem in _problems(err):
        names = [name for name, explains in SCHEMA_CANNOT_EXPRESS.items() if explains(problem)]
        used.update(names)
        if not names:
            left.append(str(problem))
    return left


# ----------------------------------------------------------------------------------------------------------
# Collecting every config the suite uses
# ----------------------------------------------------------------------------------------------------------


def _parameter_sets(func: object) -> list[dict[str, Any]]:
    """Every combination of a test's ``pytest.mark.parametrize`` values (one empty set if none)."""
    combos: list[dict[str, Any]] = [{}]
    for mark in getattr(func, "pytestmark", []):
        if mark.name != "parametrize":
            continue
        names, rows = mark.args[0], mark.args[1]
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        sets = []
        for row in rows:
            values = row.values if hasattr(row, "marks") else (row,) if len(names) == 1 else row
            sets.append(dict(zip(names, values, strict=True)))
        combos = [{**c, **s} for c in combos for s in sets]
    return combos


def _calls(tree: ast.AST) -> Iterator[tuple[str, ast.Call]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            yield name, node


def _config_expressions(call_name: str, call: ast.Call) -> Iterator[ast.expr | dict[str, ast.expr]]:
    if call_name in CONFIG_CALLS and call.args:
        yield call.args[0]
    if call_name in KEYWORD_CALLS and call.keywords and all(k.arg for k in call.keywords):
        yield {str(k.arg): k.value for k in call.keywords}


def _evaluate(expression: ast.expr | dict[str, ast.expr], namespace: dict[str, Any]) -> object:
    if isinstance(expression, dict):
        return {name: _evaluate(value, namespace) for name, value in expression.items()}
    return eval(compile(ast.Expression(expression), "<config>", "eval"), namespace)


def _from_test_module(path: Path) -> Iterator[object]:
    """Every config passed to load_config/error_for in a test module, each parametrized value substituted."""
    module: ModuleType = importlib.import_module(f"tests.{path.stem}")
    tree = ast.parse(path.read_text())
    scopes: list[tuple[ast.AST, object]] = [(tree, None)]
    scopes += [(node, getattr(module, node.name, None)) for node in tree.body if isinstance(node, ast.FunctionDef)]
    for scope, func in scopes:
        calls = list(_calls(scope)) if func is not None else []
        if func is None:  # module level: only the calls outside functions
            inside = {id(n) for s, _ in scopes[1:] for n in ast.walk(s)}
            calls = [(name, call) for name, call in _calls(tree) if id(call) not in inside]
        for params in _parameter_sets(func):
            for name, call in calls:
                for expression in _config_expressions(name, call):
                    try:
                        yield _evaluate(expression, {**vars(module), **params})
                    except Exception:  # a local variable, e.g. load_config(path): not a literal config
                        continue


def _literal_dicts(path: Path) -> Iterator[object]:
    """Literal dicts passed to load_config in a script (not imported: scripts run on import)."""
    for name, call in _calls(ast.parse(path.read_text())):
        for expression in _config_expressions(name, call):
            if isinstance(expression, ast.expr):
                try:
                    yield ast.literal_eval(expression)
                except ValueError:
                    continue


def _depth(value: object) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((member, depth + 1) for member in (node.values() if isinstance(node, dict) else node))
    return deepest


def _as_json(value: object) -> dict[str, Any] | None:
    """The config as JSON data (what a config.json can hold), or None for a path or non-JSON values."""
    if isinstance(value, (str, Path)) and str(value).endswith(".json") and Path(value).is_file():
        value = json.loads(Path(value).read_text())
    if not isinstance(value, dict) or _depth(value) > CONFIG_MAX_DEPTH:
        return None  # deeper than a config file may nest: no config.json content
    try:
        data = json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        return None  # dates, datetimes, NaN, integers of thousands of digits: not config.json content
    return data if isinstance(data, dict) else None


def _collect() -> dict[str, dict[str, Any]]:
    found: list[object] = []
    for path in sorted(TESTS.glob("test_*.py")):
        if path != Path(__file__).resolve() and "load_config" in path.read_text():
            found += _from_test_module(path)
    for path in [*sorted((ROOT / "benchmarks").glob("*.py")), *sorted((ROOT / "examples").glob("*.py"))]:
        found += _literal_dicts(path)
    found += sorted((ROOT / "examples").glob("*.json"))
    found += [dict(demo.BUILTIN_CONFIG), *PROBES]
    configs: dict[str, dict[str, Any]] = {}
    for value in found:
        data = _as_json(value)
        if data is not None:
            configs.setdefault(json.dumps(data, sort_keys=True), data)
    for data in list(configs.values()):  # what load_config writes is a config too
        try:
            written = _load_config(data).to_dict()
        except ConfigError:
            continue
        configs.setdefault(json.dumps(written, sort_keys=True), written)
    return configs


@functools.cache
def suite_configs() -> dict[str, dict[str, Any]]:
    """Every config of the suite, collected once, on first use (importing this module stays cheap)."""
    return _collect()


VALIDATOR: Final = jsonschema.Draft202012Validator(config_json_schema())


def _loader_error(config: dict[str, Any]) -> ConfigError | None:
    try:
        _load_config(config)
    except ConfigError as exc:
        return exc
    return None


# ----------------------------------------------------------------------------------------------------------
# Schema <=> loader
# ----------------------------------------------------------------------------------------------------------


def test_the_suite_s_configs_are_collected() -> None:
    texts = set(suite_configs())
    assert len(suite_configs()) > 200
    assert json.dumps(json.loads((ROOT / "examples" / "config.json").read_text()), sort_keys=True) in texts
    assert json.dumps(dict(demo.BUILTIN_CONFIG), sort_keys=True) in texts
    assert json.dumps({"strat_date": 1}, sort_keys=True) in texts  # test_50, parametrized
    assert json.dumps({"polarizations": ["HH"]}, sort_keys=True) in texts  # test_56 CONFIGS
    assert json.dumps({"product_type": "SLC"}, sort_keys=True) in texts  # test_56 _ids(...)


def test_schema_accepts_exactly_what_load_config_accepts() -> None:
    stricter, looser, used = [], [], set()
    for text, config in suite_configs().items():
        schema_ok = VALIDATOR.is_valid(config)
        err = _loader_error(config)
        if err is None and not schema_ok:
            stricter.append((text, [e.message for e in VALIDATOR.iter_errors(config)]))
        elif err is not None and schema_ok and (left := _unexplained(err, used)):
            looser.append((text, left))
    assert stricter == [], "the schema rejects configs load_config accepts"
    assert looser == [], "the schema accepts configs load_config rejects, for a rule not in the allow-list"
    assert used == set(SCHEMA_CANNOT_EXPRESS), "an allow-listed rule explains no config: drop it"


def test_each_key_s_schema_accepts_exactly_what_its_check_accepts() -> None:
    stricter, looser = [], []
    pairs = {json.dumps([k, v], sort_keys=True): (k, v) for c in suite_configs().values() for k, v in c.items()}
    for text, (name, value) in pairs.items():
        key = lookup(name)
        if key is None:
            assert not VALIDATOR.is_valid({name: value})
            continue
        schema_ok = VALIDATOR.is_valid({name: value})
        try:
            check_value(key, value)
        except ConfigError as exc:
            if schema_ok and _unexplained(exc, set()):
                looser.append(text)
        else:
            if not schema_ok:
                stricter.append(text)
    assert stricter == []
    assert looser == []


def test_the_allow_list_is_the_schema_s_comment() -> None:
    comment = config_json_schema()["$comment"]
    assert len(SCHEMA_LIMITS) == len(SCHEMA_CANNOT_EXPRESS)
    assert all(limit in comment for limit in SCHEMA_LIMITS)


def test_bbox_and_intersects_exclusivity_is_in_the_schema() -> None:
    assert not VALIDATOR.is_valid({"bbox": [0, 0, 1, 1], "intersects": "POINT (0.5 0.5)"})
    assert VALIDATOR.is_valid({"bbox": None, "intersects": "POINT (0.5 0.5)"})
    assert VALIDATOR.is_valid({"bbox": [0, 0, 1, 1], "intersects": None})


def test_every_property_comes_from_the_key_table() -> None:
    schema = config_json_schema()
    assert list(schema["properties"]) == [k.name for k in KEYS] == list(CONFIG_KEYS)
    for key in KEYS:
        prop = dict(schema["properties"][key.name])
        assert prop.pop("description") == key.description
        prop.pop("default", None)
        assert prop == key.rule.schema()


# ----------------------------------------------------------------------------------------------------------
# The patterns shared by the schema and the loader
# ----------------------------------------------------------------------------------------------------------


def _is_date(text: str) -> bool:
    digits = text.replace("-", "") if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text) else text
    if not re.fullmatch(r"[0-9]{8}", digits):
        return False
    try:
        day = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return False
    return dt.date(1677, 9, 22) <= day <= dt.date(2262, 4, 11)


def test_the_date_range_is_that_of_nanosecond_timestamps() -> None:
    import pandas as pd

    for day in (DATE_FIRST, DATE_LAST):
        pd.date_range(pd.Timestamp(day), pd.Timestamp(day), freq="1D", unit="ns")
    for day in (DATE_FIRST - dt.timedelta(days=1), DATE_LAST + dt.timedelta(days=1)):
        with pytest.raises(pd.errors.OutOfBoundsDatetime):
            pd.Timestamp(day).as_unit("ns")


def test_date_pattern_is_the_calendar() -> None:
    for year in range(1678, 2262):  # February 29 of every year, and the last day of February
        assert matches(DATE_TEXT, f"{year}0229") is calendar.isleap(year), year
        assert matches(DATE_TEXT, f"{year}-02-28")
    years = (999, 1000, 1600, 1676, 1677, 1678, 1700, 1900, 2000, 2023, 2024, 2100, 2261, 2262, 2263, 9999)
    for year in years:
        for month in range(14):
            for day in range(33):
                for text in (f"{year:04d}{month:02d}{day:02d}", f"{year:04d}-{month:02d}-{day:02d}"):
                    assert matches(DATE_TEXT, text) is _is_date(text), text


def test_digit_ranges_are_exact() -> None:
    for low, high, width in [(0, 9999, 4), (1678, 2261, 4), (22, 30, 2), (1, 11, 2), (5, 5, 2), (3, 7, 1)]:
        pattern = re.compile(f"(?:{digits_between(low, high, width)})")
        for number in range(10**width):
            assert (pattern.fullmatch(f"{number:0{width}d}") is not None) is (low <= number <= high)


@given(st.text(alphabet="0123456789-", min_size=8, max_size=10))
def test_date_pattern_matches_the_date_check(text: str) -> None:
    assert matches(DATE_TEXT, text) is _is_date(text)


@given(st.text(alphabet=" +-.0123456789\n", max_size=8) | st.floats(0, 95).map(str))
def test_angle_pattern_matches_the_decimal_range(text: str) -> None:
    decimal = re.fullmatch(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", text.strip())
    assert matches(ANGLE_TEXT, text) is bool(decimal and 0.0 <= float(text) <= 90.0)


@given(st.text(alphabet=" \tHhTtPpSs:/x", max_size=12))
def test_api_url_pattern_is_is_api_url(text: str) -> None:
    assert matches(API_URL, text) is is_api_url(text)


def test_choices_come_from_the_vocabulary() -> None:
    assert PRODUCT_TYPES == tuple(ProductLevel) == get_args(ProductType)
    assert ORBIT_STATES == tuple(OrbitDirection) == get_args(OrbitState)
    assert LOOK_SIDES == tuple(LookSideEnum) == get_args(LookSide)


@pytest.mark.parametrize("catalog", ["HTTPS://stac.example.com/api", " https://stac.example.com"])
def test_api_urls_in_any_case_are_api_urls(catalog: str) -> None:
    assert _load_config({"catalog": catalog}).catalog == catalog.strip()
    assert is_api_url(catalog)
    assert VALIDATOR.is_valid({"catalog": catalog})
