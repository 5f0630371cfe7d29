"""Hostile configs are refused with a ConfigError, before they reach code that would crash, hang or blow up.

Each test reproduces a finding of the config fuzz campaign or a review: CQL2 that crashed or exhausted
memory in the cql2 parser, dates and resolutions pandas' nanosecond time axis cannot hold, numbers that
overflow, nesting that recursed without end, a URL the HTTP client cannot parse, credentials echoed in
messages, and relative catalogs in config files. Inputs that killed the process (SIGSEGV, Rust abort)
run in a child process, so a regression fails the test instead of the test run.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from icecube_stac._config_cql2 import CQL2_OPERATORS, text_depth
from icecube_stac._config_limits import (
    CONFIG_MAX_DEPTH,
    FILTER_MAX_CHARS,
    FILTER_MAX_DEPTH,
    FILTER_MAX_VALUES,
    MAX_TIME_SLOTS,
)
from icecube_stac.cli import main
from icecube_stac.config import ConfigProblems, load_config
from icecube_stac.errors import ConfigError, IcecubeStacError, LoadError

LEAF = {"op": "=", "args": [{"property": "a"}, 1]}


def error_for(raw: Any, **overrides: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(raw, **overrides)
    return info.value


def nested(op: str, levels: int) -> dict[str, Any]:
    """``levels`` nested ``op`` around a comparison: 2 JSON levels each, 3 for the comparison."""
    expression: dict[str, Any] = LEAF
    for _ in range(levels):
        expression = {"op": op, "args": [expression] if op == "not" else [expression, LEAF]}
    return expression


def collections(levels: int) -> dict[str, Any]:
    geometry: dict[str, Any] = {"type": "Point", "coordinates": [1, 2]}
    for _ in range(levels):
        geometry = {"type": "GeometryCollection", "geometries": [geometry]}
    return geometry


def run_isolated(cases: dict[str, Any], tmp_path: Path) -> dict[str, str]:
    """Check each config in a child process (2 GB address space): as a file with ``check-config``, and as
    a mapping with ``load_config``; return ``"<exit status> <stderr>|<mapping error>"`` by case."""
    for name, config in cases.items():
        (tmp_path / f"{name}.json").write_text(config if isinstance(config, str) else json.dumps(config))
    script = textwrap.dedent(
        f"""
        import contextlib, io, json, resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))
        from icecube_stac.cli import main
        from icecube_stac.config import load_config
        from icecube_stac.errors import ConfigError
        results = {{}}
        for name in {sorted(cases)!r}:
            print("running", name, flush=True)
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                status = main(["check-config", {str(tmp_path)!r} + "/" + name + ".json"])
            with open({str(tmp_path)!r} + "/" + name + ".json") as file:
                raw = json.load(file)
            try:
                load_config(raw)
                mapping = "accepted"
            except ConfigError as exc:
                mapping = str(exc)
            results[name] = f"{{status}} {{err.getvalue().strip()}}|{{mapping}}"
        print("RESULTS", json.dumps(results))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"the child died ({done.returncode}): {done.stdout[-300:]} {done.stderr[-500:]}"
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULTS "))
    results: dict[str, str] = json.loads(line.removeprefix("RESULTS "))
    return results


# ----------------------------------------------------------------------------------------------------------
# 1. CQL2: bounded before the parser, standard operators only
# ----------------------------------------------------------------------------------------------------------


def test_cql2_that_crashed_the_process_is_a_config_error(tmp_path: Path) -> None:
    cases = {
        "parentheses": {"filter": "(" * 2000 + "id = 'a'" + ")" * 2000},  # 4 KB: SIGSEGV in the parser
        "not_text": {"filter": "NOT " * 16000 + "id = 'a'"},
        "minus": {"filter": "a = " + "-" * 10000 + "1"},
        "comparisons": {"filter": "a" + " = a" * 6000},
        "not_json_200": {"filter": nested("not", 200)},  # 5 KB: 5.2 GB in cql2's validator
        "not_json_250": {"filter": nested("not", 250)},  # Rust allocation failure: abort
        "wkt": {"intersects": "GEOMETRYCOLLECTION (" * 100_000 + "POINT (1 2)" + ")" * 100_000},  # GEOS
    }
    results = run_isolated(cases, tmp_path)
    for name, result in results.items():
        status, _, messages = result.partition(" ")
        from_file, from_mapping = messages.split("|")
        assert status == "1" and from_file.startswith("error: ") and "config file" in from_file, (name, from_file)
        assert "nests" in from_file and "at most" in from_file, (name, from_file)
        limit = "at most 11" if name == "wkt" else f"nest at most {FILTER_MAX_DEPTH} levels"
        assert "nests" in from_mapping and limit in from_mapping, (name, from_mapping)


def not_of(leaf: object, levels: int) -> dict[str, Any]:
    expression: Any = leaf
    for _ in range(levels):
        expression = {"op": "not", "args": [expression]}
    return dict(expression)


def test_invalid_cql2_that_exhausted_cql2_s_validator(tmp_path: Path) -> None:
    # Found by fuzz/fuzz_configs.py: cql2's validate() is exponential on invalid input (aborts at 3 GB).
    cases = {
        "chained_comparisons": {"filter": "a" + " = a" * 15},
        "comparison_in_comparison": {"filter": {"op": "=", "args": [{"op": "=", "args": [LEAF, 1]}, 1]}},
        "not_of_a_property": {"filter": not_of({"property": "a"}, 14)},
        "like_in_like": {"filter": {"op": "like", "args": [{"op": "like", "args": [{"property": "a"}, "x"]}, "y"]}},
    }
    results = run_isolated(cases, tmp_path)
    for name, result in results.items():
        status, _, messages = result.partition(" ")
        from_file, from_mapping = messages.split("|")
        assert status == "1" and "invalid CQL2" in from_file, (name, from_file)
        assert "invalid CQL2" in from_mapping and ("condition" in from_mapping), (name, from_mapping)


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ("a = a = a", "'=' is a condition where a value is expected"),
        ({"op": "isNull", "args": [{"op": "isNull", "args": [{"property": "a"}]}]}, "a condition where a value"),
        ("casei(platform)", "'casei' is a value, not a condition"),
        ({"op": "and", "args": [{"property": "flag"}, LEAF]}, "a property is no condition"),
        ({"op": "and", "args": [LEAF]}, "'and' takes at least 2 argument(s), got 1"),
        ({"op": "between", "args": [{"property": "a"}, 1]}, "'between' takes 3 argument(s), got 2"),
        ({"op": "in", "args": [{"property": "a"}, 1]}, "'in' takes a value and a list of values"),
        ({"op": "not", "args": [1]}, "1.0 is no condition"),
    ],
)
def test_the_grammar_of_the_allowed_operators(bad: object, fragment: str) -> None:
    err = error_for({"filter": bad})
    assert err.key == "filter" and fragment in str(err)


def test_valid_deep_filters_are_cheap() -> None:
    import resource

    arrays: Any = ["x"]
    for _ in range(28):
        arrays = [arrays]  # cql2's validate() took 720 MB for this valid filter
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    load_config({"filter": {"op": "a_contains", "args": [{"property": "a"}, arrays]}})
    load_config({"filter": nested("not", 14)})
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KB


def test_nesting_limit_of_cql2_json_is_exact() -> None:
    # 14 nested "not" around a comparison nest 2 * 14 + 3 = 31 levels, 15 nest 33.
    assert load_config({"filter": nested("not", 14)}).filter is not None
    assert load_config({"filter": nested("and", 14)}).filter is not None
    err = error_for({"filter": nested("not", 15)})
    assert err.key == "filter"
    assert f"nests more than {FILTER_MAX_DEPTH} levels deep" in str(err)
    assert f"at most {FILTER_MAX_CHARS:,} characters" in str(err) and f"{FILTER_MAX_VALUES:,} values" in str(err)


def test_value_and_size_limits_of_cql2_json() -> None:
    members = [0] * (FILTER_MAX_VALUES - 6)  # the object, "in", args, the property object, "a", the list
    assert load_config({"filter": {"op": "in", "args": [{"property": "a"}, members]}}).filter is not None
    err = error_for({"filter": {"op": "in", "args": [{"property": "a"}, [*members, 0]]}})
    assert f"holds more than {FILTER_MAX_VALUES:,} values" in str(err)
    err = error_for({"filter": {"op": "=", "args": [{"property": "a"}, "x" * FILTER_MAX_CHARS]}})
    assert f"longer than {FILTER_MAX_CHARS:,} characters" in str(err)


def test_cql2_text_limits() -> None:
    assert load_config({"filter": "id = '" + "x" * (FILTER_MAX_CHARS - 100) + "'"}).filter is not None
    err = error_for({"filter": "id = '" + "x" * FILTER_MAX_CHARS + "'"})
    assert "characters long" in str(err) and "got \"id = 'xxx" in str(err)
    assert load_config({"filter": "(" * 30 + "id = 'a'" + ")" * 30}).filter is not None
    assert "nests about 33 levels" in str(error_for({"filter": "(" * 33 + "id = 'a'" + ")" * 33}))


@pytest.mark.parametrize(
    ("text", "json_depth"),
    [
        ("a = 1", 3),
        ("NOT a = 1", 5),
        ("a = 1 AND b = 2", 5),
        ("a IN ('x', 'y')", 3),
        ("casei(a) = 'x'", 5),
        ("NOT (a = 1 AND (b = 2 OR (c = 3 AND (d = 4 OR e = 5))))", 13),
        ("\"view:incidence_angle\" BETWEEN 20 AND 30 OR platform LIKE 'iceye%'", 5),
    ],
)
def test_text_depth_estimates_the_json_depth(text: str, json_depth: int) -> None:
    assert text_depth(text)[0] == json_depth


def test_the_parser_never_sees_an_oversized_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    import cql2

    calls: Counter[str] = Counter()
    expr = cql2.Expr

    def counting(source: Any) -> Any:
        calls["parse"] += 1
        return expr(source)

    monkeypatch.setattr(cql2, "Expr", counting)
    for bad in ("(" * 40 + "a = 1" + ")" * 40, "a = '" + "x" * 70_000 + "'", nested("not", 30)):
        error_for({"filter": bad})
    assert calls == Counter()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("repeat('x', 400000000) = 'b'", "CQL2 function 'repeat' is not allowed"),  # 4 GB in DuckDB
        ("upper(platform) = 'X'", "CQL2 function 'upper' is not allowed"),
        ('"view:incidence_angle" * 2 > 40', "CQL2 arithmetic ('*') is not supported"),
        ('"view:incidence_angle" DIV 2 > 10', "CQL2 arithmetic ('div') is not supported"),
        ("t_intersect(datetime, TIMESTAMP('2024-03-10T00:00:00Z'))", "did you mean 't_intersects'?"),
        ("a = 1e400", "CQL2 numbers must be finite"),
    ],
)
def test_functions_and_arithmetic_are_refused(text: str, fragment: str) -> None:
    err = error_for({"filter": text})
    assert err.key == "filter" and fragment in str(err)


def test_big_integers_in_cql2_json_are_refused() -> None:
    for number in (2**64, 10**400, -(2**63) - 1):
        err = error_for({"filter": {"op": "=", "args": [{"property": "a"}, number]}})
        assert "CQL2 integers must lie within [-2**63, 2**63)" in str(err)
    assert load_config({"filter": {"op": "=", "args": [{"property": "a"}, 2**63 - 1]}}).filter is not None


STANDARD = [
    "CASEI(platform) = casei('ICEYE-X14')",
    "ACCENTI(platform) = accenti('iceye-x14')",
    "platform LIKE 'iceye%' AND \"view:incidence_angle\" BETWEEN 20 AND 30",
    "platform IN ('iceye-x14', 'iceye-x7') OR platform IS NULL OR NOT platform <> 'x'",
    "S_INTERSECTS(geometry, BBOX(102, 16, 103, 17)) AND S_WITHIN(geometry, BBOX(100, 10, 110, 20))",
    "S_CONTAINS(geometry, POINT(102.6 16.3)) OR S_DISJOINT(geometry, POINT(0 0)) OR S_EQUALS(geometry, POINT(0 0))",
    "S_TOUCHES(geometry, POINT(0 0)) OR S_OVERLAPS(geometry, BBOX(1, 2, 3, 4))",
    "S_CROSSES(geometry, LINESTRING(0 0, 1 1))",
    "T_AFTER(datetime, TIMESTAMP('2024-03-10T00:00:00Z')) OR T_BEFORE(datetime, TIMESTAMP('2024-03-10T00:00:00Z'))",
    "T_DURING(datetime, INTERVAL('2024-03-01T00:00:00Z','2024-03-20T00:00:00Z'))",
    "T_EQUALS(datetime, TIMESTAMP('2024-03-10T00:00:00Z'))",
    "T_INTERSECTS(datetime, TIMESTAMP('2024-03-10T00:00:00Z'))",
    "A_OVERLAPS(\"sar:polarizations\", ('VV')) AND A_CONTAINS(\"sar:polarizations\", ('VV'))",
    "A_CONTAINEDBY(\"sar:polarizations\", ('VV','HH')) OR A_EQUALS(\"sar:polarizations\", ('VV'))",
]


@pytest.mark.parametrize("text", STANDARD)
def test_standard_operators_are_allowed(text: str) -> None:
    assert load_config({"filter": text}).filter is not None


def test_every_allowed_operator_parses() -> None:
    temporal = {"op": "t_meets", "args": [{"interval": ["2024-01-01", "2024-02-01"]}, {"property": "d"}]}
    for op in sorted(o for o in CQL2_OPERATORS if o.startswith("t_")):
        assert load_config({"filter": {**temporal, "op": op}}).filter == {**temporal, "op": op}


# ----------------------------------------------------------------------------------------------------------
# 2. Dates and time grids the nanosecond time axis can hold
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [16000101, "1677-09-21", "22620412", 99991231])
def test_dates_outside_nanosecond_timestamps_are_refused(value: object) -> None:
    err = error_for({"start_date": value, "end_date": 22620411})
    assert err.key == "start_date"
    assert "from 1677-09-22 to 2262-04-11" in str(err) and "nanosecond" in str(err)


@pytest.mark.parametrize(
    "raw",
    [
        {"start_date": 16770922, "end_date": 22620411, "temporal_resolution": 36_500},
        {"start_date": 16770922, "end_date": 16770922, "temporal_resolution": 1},
        {"start_date": 22620411, "end_date": 22620411, "temporal_resolution": 7},
        {"start_date": 19700101, "end_date": 19970517, "temporal_resolution": 1},
    ],
)
def test_the_extreme_time_grids_allowed_are_built(raw: dict[str, Any]) -> None:
    from icecube_stac.cube._timeaxis import time_axis

    # No item: the grid is computed, then the cube says none of the items falls on it.
    with pytest.raises(LoadError, match="none of the 0 item"):
        time_axis([], load_config(raw))


@pytest.mark.parametrize("days", [36_501, 10**30, 2**63], ids=["36501", "1e30", "2**63"])
def test_huge_temporal_resolution_is_refused(days: int) -> None:
    err = error_for({"temporal_resolution": days})
    assert err.key == "temporal_resolution" and "from 0 to 36,500" in str(err)


def test_the_time_grid_is_bounded() -> None:
    start = dt.date(2000, 1, 1)
    last = start + dt.timedelta(days=MAX_TIME_SLOTS - 1)  # 10,000 daily slots
    slots = {"start_date": start.isoformat(), "temporal_resolution": 1}
    assert load_config({**slots, "end_date": last.isoformat()}).temporal_resolution == 1
    err = error_for({**slots, "end_date": (last + dt.timedelta(days=1)).isoformat()})
    assert err.key == "temporal_resolution"
    assert f"10,001 slots, at most {MAX_TIME_SLOTS:,}" in str(err) and "larger temporal_resolution" in str(err)
    forgot = error_for({"temporal_resolution": 1})  # from the default 1970-01-01 to today
    assert "start_date 19700101" in str(forgot) and "start_date defaults to 19700101" in str(forgot)


# ----------------------------------------------------------------------------------------------------------
# 3. Numbers: finite and in range everywhere
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("fill_value", 10**400),
        ("fill_value", 1e300),
        ("fill_value", float("inf")),
        ("fill_value", -(10**39)),
        ("bbox", [0, 0, 10**400, 1]),
        ("bbox", [0, 0, float("inf"), 1]),
        ("min_incidence_angle", 10**400),
        ("timeout", 10**400),
        ("timeout", 1e12),
        ("max_items", 10**400),
        ("chunks", {"azimuth": 10**400}),
        ("intersects", {"type": "Point", "coordinates": [1, 2, 10**400]}),
        ("intersects", "POINT Z (1 2 1e400)"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_out_of_range_numbers_are_config_errors(key: str, value: object) -> None:
    err = error_for({key: value})
    assert err.key == key


def test_fill_value_bounds() -> None:
    assert load_config({"fill_value": 3.4028234663852886e38}).fill_value == 3.4028234663852886e38
    assert load_config({"fill_value": -9999}).fill_value == -9999
    nan = load_config({"fill_value": float("nan")})
    assert nan.fill_value is None and nan.to_dict()["fill_value"] is None  # NaN is the default: null
    assert "float32 range" in str(error_for({"fill_value": 1e39}))


def test_numbers_too_large_for_json_floats_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"fill_value": 1e400}')  # Python's json reads it as infinity
    err = error_for(path)
    assert err.key == "<file>" and "the number 1e400 is out of range" in str(err)
    path.write_text('{"max_items": ' + "9" * 5000 + "}")
    assert "an integer of 5,000 digits is out of range" in str(error_for(path))


# ----------------------------------------------------------------------------------------------------------
# 4. Nesting: refused before recursing
# ----------------------------------------------------------------------------------------------------------


def test_deeply_nested_config_file(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    opening = '{"filter": '
    path.write_text(opening + "[" * 100_000 + "]" * 100_000 + "}")
    err = error_for(path)
    assert err.key == "<file>"
    assert f"nests too deeply at line 1, column {len(opening) + CONFIG_MAX_DEPTH}" in str(err)
    path.write_text(json.dumps({"intersects": collections(8), "filter": nested("not", 14)}))
    assert load_config(path).intersects is not None


@pytest.mark.parametrize(
    ("path", "fragment"), [("a\x00b.json", "embedded null byte"), ("~nosuchuser/c.json", "no such")]
)
def test_impossible_paths_are_config_errors(path: str, fragment: str) -> None:
    err = error_for(path)
    assert err.key == "<file>" and fragment in str(err)


@pytest.mark.parametrize("levels", [9, 5000])
def test_deeply_nested_geometry_collections(levels: int) -> None:
    err = error_for({"intersects": collections(levels)})
    assert err.key == "intersects" and "GeometryCollections nest more than 8 levels" in str(err)


def test_eight_nested_geometry_collections_are_fine() -> None:
    assert load_config({"intersects": collections(8)}).intersects == json.loads(json.dumps(collections(8)))
    wkt = "GEOMETRYCOLLECTION (" * 8 + "POINT (1 2)" + ")" * 8
    assert load_config({"intersects": wkt}).intersects is not None
    nine = "GEOMETRYCOLLECTION (" * 9 + "POINT (1 2)" + ")" * 9
    assert "GeometryCollections nest more than 8 levels" in str(error_for({"intersects": nine}))


@pytest.mark.parametrize("key", ["bbox", "platforms", "no_such_key", "headers", "chunks"])
def test_any_deep_value_gives_a_short_message(key: str) -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    err = error_for({key: deep})  # formatting the value used to raise RecursionError
    assert err.key == key and len(str(err)) < 1000


@pytest.mark.parametrize("name", [10**5000, ("a", 1), None], ids=["huge-int", "tuple", "None"])
def test_keys_that_are_no_strings(name: object) -> None:
    err = error_for({name: 1})
    assert "config keys must be strings" in str(err) and len(str(err)) < 200


def test_errors_of_huge_values_are_short() -> None:
    err = error_for({"platforms": [["x"] * 1_000_000]})
    assert len(str(err)) < 1000 and str(err).count("'x'") < 40
    assert "<an integer of about 5000 digits>" in str(error_for({"bbox": [10**5000, 0, 1, 1]}))


# ----------------------------------------------------------------------------------------------------------
# 5. URLs the HTTP client cannot parse, and credentials in messages
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://[::1", "Invalid IPv6 URL"),
        ("http://[not-ipv6]/api", "not a valid URL"),
        ("https://stac.example.com:99999/api", "Port out of range"),
        ("https://stac.example.com:8o/api", "not a valid URL"),
    ],
)
def test_unparsable_api_urls(url: str, fragment: str) -> None:
    err = error_for({"catalog": url})
    assert err.key == "catalog" and fragment in str(err) and "http(s)://" in str(err)


def test_api_urls_are_stripped_of_white_space() -> None:
    # Found by fuzz/fuzz_configs.py: " https://user:secret@host" defeated the CLI's URL redaction.
    assert load_config({"catalog": " https://u:p@stac.example.com/api\n"}).catalog == "https://u:p@stac.example.com/api"
    assert load_config({"catalog": " catalogs/x "}).catalog == " catalogs/x "


def test_catalogs_are_at_most_path_max_long() -> None:
    assert load_config({"catalog": "c" * 4096}).catalog == "c" * 4096
    err = error_for({"catalog": "a." * 30_000})  # the CLI's redaction of "no catalog at ..." was quadratic
    assert err.key == "catalog" and "60,000 characters long, at most 4,096" in str(err)


def test_ipv6_urls_that_parse_are_fine() -> None:
    assert load_config({"catalog": "http://[::1]:8080/api"}).catalog == "http://[::1]:8080/api"


def test_credentials_never_appear_in_config_errors(tmp_path: Path) -> None:
    secret = "s3cr3t-XYZ"
    bad = [
        {"catalog": f"http://user:{secret}@[::1"},
        {"catalog": f"https://user:{secret}@stac.example.com:99999/api"},
        {"catalog": [f"https://{secret}@stac.example.com/api"]},
        {"url": f"https://user:{secret}@stac.example.com/api?token={secret}"},
        {"catalog": f"ftp://user:{secret}@host/x"},
        {"headers": {"Authorization": f"Bearer {secret}\n"}},
        {"{eaders": {"Authorization": f"Bearer {secret}"}},  # found by test_52_config_fuzz
        {"header": {"X-Api-Key": secret}},
        {"auth": f"Bearer {secret}"},
        {"header": {"Authorization": "<x>", "X-Api-[Key": secret}},  # found by fuzz/fuzz_configs.py
        {"tokn": secret},
    ]
    for raw in bad:
        err = error_for(raw)
        assert secret not in str(err) and secret not in repr(err.value), raw
        assert any(mask in str(err) for mask in ("***", "<hidden>", "<a string of", "<an object with")), str(err)
    path = tmp_path / "c.json"
    path.write_text(json.dumps({**bad[0], "timeout": 0}))
    with pytest.raises(ConfigProblems) as info:
        load_config(path)
    assert secret not in str(info.value)


# ----------------------------------------------------------------------------------------------------------
# 6. A relative catalog in a config file is relative to the file's folder
# ----------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from icecube_stac.catalog import index
    from icecube_stac.testing import demo_specs, write_stack

    root = tmp_path_factory.mktemp("relative")
    write_stack(demo_specs(2, 0, shape=(16, 16)), root / "project" / "data")
    index([root / "project" / "data"], root / "project" / "catalog", progress=False)
    (root / "project" / "config.json").write_text(json.dumps({"catalog": "catalog", "product_type": "GRD"}))
    (root / "elsewhere").mkdir()
    return root


def test_relative_catalog_of_a_file_is_next_to_the_file(small_catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(small_catalog / "elsewhere")
    config = load_config("../project/config.json")
    assert Path(config.catalog).resolve() == (small_catalog / "project" / "catalog").resolve()
    assert Path(config.catalog).is_absolute()
    monkeypatch.chdir(small_catalog)
    assert Path(load_config("project/config.json").catalog).resolve() == (small_catalog / "project" / "catalog")


def test_search_from_another_folder_finds_the_items(
    small_catalog: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(small_catalog)
    assert main(["search", "project/config.json", "-o", str(small_catalog / "found.json")]) == 0
    assert len(json.loads((small_catalog / "found.json").read_text())["features"]) == 2


def test_mappings_overrides_and_the_default_stay_relative_to_the_current_folder(
    small_catalog: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(small_catalog / "elsewhere")
    assert load_config({"catalog": "catalog"}).catalog == "catalog"
    assert load_config("../project/config.json", catalog="mine").catalog == "mine"
    (small_catalog / "project" / "defaults.json").write_text("{}")
    assert load_config("../project/defaults.json").catalog == "catalogs/default"
    absolute = str(small_catalog / "x")
    (small_catalog / "project" / "absolute.json").write_text(json.dumps({"catalog": absolute}))
    assert load_config("../project/absolute.json").catalog == absolute
    (small_catalog / "project" / "api.json").write_text(json.dumps({"catalog": "HTTPS://stac.example.com/api"}))
    assert load_config("../project/api.json").catalog == "HTTPS://stac.example.com/api"


def test_the_rule_is_in_the_schema() -> None:
    from icecube_stac.config import config_json_schema

    description = config_json_schema()["properties"]["catalog"]["description"]
    assert "relative to that file's folder" in description and "current directory" in description


def test_every_error_is_in_the_hierarchy() -> None:
    assert issubclass(ConfigProblems, IcecubeStacError)
