"""config.json <-> CubeConfig: defaults, canonical forms, every error message, the JSON Schema."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from icecube_stac.config import (
    CONFIG_KEYS,
    ConfigProblems,
    CubeConfig,
    config_json_schema,
    load_config,
)
from icecube_stac.errors import ConfigError, IcecubeStacError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = [ROOT / "examples" / "config.json", ROOT / "examples" / "config_slc_aoi.json"]
TODAY_UTC = dt.datetime.now(dt.UTC).date()

SQUARE_WKT = "POLYGON ((102.5 16.2, 102.7 16.2, 102.7 16.4, 102.5 16.4, 102.5 16.2))"
SQUARE_GEOJSON = {
    "type": "Polygon",
    "coordinates": [[[102.5, 16.2], [102.7, 16.2], [102.7, 16.4], [102.5, 16.4], [102.5, 16.2]]],
}
BOW_TIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}


def error_for(raw: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(raw)
    return info.value


def assert_names(err: ConfigError, key: str, *fragments: str) -> None:
    """The message names the key, shows the value and says what is allowed."""
    message = str(err)
    assert f"config key {key!r}" in message
    assert err.key == key
    for fragment in fragments:
        assert fragment in message, (fragment, message)


# ----------------------------------------------------------------------------------------------------------
# Defaults and canonical forms
# ----------------------------------------------------------------------------------------------------------


def test_defaults_are_icecube_1x_defaults() -> None:
    config = load_config()
    assert config.start_date == dt.date(1970, 1, 1)
    assert config.end_date in {TODAY_UTC, dt.datetime.now(dt.UTC).date()}  # midnight may pass mid-test
    assert (config.min_incidence_angle, config.max_incidence_angle) == (0.0, 90.0)
    assert config.temporal_resolution == 0
    assert (config.coregistered, config.space_overlap, config.temporal_overlap) == (False, False, True)


def test_defaults_of_stac_keys() -> None:
    config = load_config({})
    assert config.bbox is None and config.intersects is None and config.filter is None
    assert config.product_type is None and config.orbit_state is None and config.look_side is None
    assert config.instrument_modes == config.platforms == config.polarizations == config.collections == ()
    assert config.max_items is None
    assert config.catalog == "catalogs/default"
    assert dict(config.headers) == {}
    assert config.timeout == 30.0
    assert config.chunks is None and config.fill_value is None


def test_direct_construction_equals_load_config_defaults() -> None:
    assert CubeConfig() == load_config(None)


@pytest.mark.parametrize("value", [20240301, "20240301", "2024-03-01", dt.date(2024, 3, 1)])
def test_date_forms(value: object) -> None:
    config = load_config({"start_date": value, "end_date": value})
    assert config.start_date == config.end_date == dt.date(2024, 3, 1)
    assert isinstance(config.start_date, dt.date)


def test_int_and_str_dates_give_the_same_config() -> None:
    as_int = load_config({"start_date": 20240301, "end_date": 20240321})
    as_str = load_config({"start_date": "20240301", "end_date": "20240321"})
    assert as_int == as_str


def test_time_window_is_half_open_and_end_inclusive() -> None:
    config = load_config({"start_date": 20240301, "end_date": 20240321})
    start, end = config.time_window()
    assert start == dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    assert end == dt.datetime(2024, 3, 22, tzinfo=dt.UTC)  # the whole of 2024-03-21 is inside
    assert start.tzinfo is dt.UTC and end.tzinfo is dt.UTC


def test_time_window_at_the_last_date() -> None:
    _, end = load_config({"end_date": 22620411}).time_window()
    assert end == dt.datetime(2262, 4, 12, tzinfo=dt.UTC)


def test_single_day() -> None:
    start, end = load_config({"start_date": 20240305, "end_date": 20240305}).time_window()
    assert end - start == dt.timedelta(days=1)


def test_normalisation_of_stac_keys() -> None:
    config = load_config(
        {
            "product_type": "grd",
            "orbit_state": "ASCENDING",
            "look_side": "Right",
            "instrument_mode": "SpotLight",
            "platforms": ["ICEYE-X7", "iceye-x7", "ICEYE-X9"],
            "polarizations": "vv",
            "collections": ["ICEYE-grd"],
            "min_incidence_angle": 15,
            "max_incidence_angle": "40.5",  # icecube 1.x accepted numeric strings
            "coregistered": 1,  # icecube 1.x's sample config wrote 0/1
            "temporal_overlap": 0,
        }
    )
    assert config.product_type == "GRD"
    assert config.orbit_state == "ascending"
    assert config.look_side == "right"
    assert config.instrument_modes == ("spotlight",)
    assert config.platforms == ("iceye-x7", "iceye-x9")
    assert config.polarizations == ("VV",)
    assert config.collections == ("ICEYE-grd",)  # collection ids are case-sensitive
    assert (config.min_incidence_angle, config.max_incidence_angle) == (15.0, 40.5)
    assert config.coregistered is True and config.temporal_overlap is False


def test_config_is_frozen_and_hashable() -> None:
    config = load_config({"bbox": [1, 2, 3, 4], "headers": {"X-Key": "v"}, "chunks": {"azimuth": 512}})
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.start_date = dt.date(2000, 1, 1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.headers["X-Key"] = "other"  # type: ignore[index]
    assert config.bbox == (1.0, 2.0, 3.0, 4.0)
    assert hash(config) == hash(load_config(config.to_dict()))
    assert len({config, load_config(config.to_dict())}) == 1


def test_repr_hides_header_values() -> None:
    headers = {"Authorization": "Bearer s3cr3t"}
    config = load_config({"catalog": "https://stac.example.com", "headers": headers})
    assert "s3cr3t" not in repr(config)
    assert "Authorization" in repr(config)
    assert config.headers["Authorization"] == "Bearer s3cr3t"


def test_repr_hides_catalog_url_credentials() -> None:
    config = load_config({"catalog": "https://user:pa55@stac.example.com/api?token=t0k&limit=5"})
    shown = repr(config)
    assert "pa55" not in shown and "t0k" not in shown
    assert "catalog='https://user:***@stac.example.com/api?token=***&limit=5'" in shown
    assert config.catalog == "https://user:pa55@stac.example.com/api?token=t0k&limit=5"
    assert f"{config}" == shown


def test_input_is_not_aliased() -> None:
    geometry = json.loads(json.dumps(SQUARE_GEOJSON))
    config = load_config({"intersects": geometry})
    geometry["type"] = "Point"
    assert config.intersects is not None and config.intersects["type"] == "Polygon"


# ----------------------------------------------------------------------------------------------------------
# Round trips
# ----------------------------------------------------------------------------------------------------------


def full_config() -> dict[str, Any]:
    return {
        "start_date": 20240301,
        "end_date": "2024-04-10",
        "min_incidence_angle": 15,
        "max_incidence_angle": 40,
        "temporal_resolution": 6,
        "coregistered": False,
        "space_overlap": True,
        "temporal_overlap": False,
        "intersects": SQUARE_WKT,
        "product_type": "SLC",
        "orbit_state": "descending",
        "look_side": "right",
        "instrument_mode": ["stripmap", "spotlight"],
        "platforms": ["ICEYE-X7"],
        "polarizations": ["VV"],
        "collections": ["iceye"],
        "max_items": 100,
        "filter": "view:incidence_angle < 30 AND sat:absolute_orbit > 10",
        "catalog": "https://stac.example.com/api/v1",
        "headers": {"Authorization": "Bearer x"},
        "timeout": 12.5,
        "chunks": {"azimuth": 1024, "range": 2048},
        "fill_value": 0,
    }


def test_to_dict_round_trip() -> None:
    config = load_config(full_config())
    data = config.to_dict()
    assert set(data) == set(CONFIG_KEYS)
    assert json.loads(json.dumps(data)) == data  # JSON-serialisable
    assert data["start_date"] == 20240301 and data["end_date"] == 20240410
    assert data["intersects"]["type"] == "Polygon"
    assert data["filter"]["op"] == "and"
    assert load_config(data) == config
    assert load_config(json.loads(json.dumps(data))) == config


def test_round_trip_through_a_file(tmp_path: Path) -> None:
    config = load_config(full_config())
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config.to_dict(), indent=2))
    assert load_config(path) == config
    assert load_config(str(path)) == config


def test_to_dict_is_a_fresh_copy() -> None:
    config = load_config({"intersects": SQUARE_GEOJSON})
    data = config.to_dict()
    data["intersects"]["type"] = "Point"
    assert config.intersects is not None and config.intersects["type"] == "Polygon"


def test_replace_revalidates() -> None:
    config = load_config({"start_date": 20240301, "end_date": 20240331, "bbox": [1, 2, 3, 4]})
    changed = config.replace(end_date="20240315", instrument_modes="scan", bbox=None, intersects=SQUARE_WKT)
    assert changed.end_date == dt.date(2024, 3, 15)
    assert changed.instrument_modes == ("scan",)
    assert changed.bbox is None and changed.intersects is not None
    assert config.end_date == dt.date(2024, 3, 31)  # the original is untouched
    assert config.replace(instrument_mode=["SCAN"]).instrument_modes == ("scan",)  # config key works too
    with pytest.raises(ConfigError) as info:
        config.replace(end_date=20240201)
    assert_names(info.value, "end_date", "20240201", "start_date 20240301")
    with pytest.raises(ConfigError) as info:
        config.replace(strat_date=20240201)
    assert_names(info.value, "strat_date", "did you mean 'start_date'?")


def test_overrides_apply_on_top_and_none_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"catalog": "from/file", "max_items": 5}))
    config = load_config(path, catalog="https://api.example.com/stac", max_items=None)
    assert config.catalog == "https://api.example.com/stac"
    assert config.max_items == 5
    with pytest.raises(ConfigError) as info:
        load_config(path, timeout=-3)
    assert "config key 'timeout': got -3" in str(info.value)


@given(
    st.tuples(
        st.dates(min_value=dt.date(1677, 9, 22), max_value=dt.date(2262, 4, 11)),
        st.dates(min_value=dt.date(1677, 9, 22), max_value=dt.date(2262, 4, 11)),
    ).map(sorted)
)
def test_any_valid_yyyymmdd_pair_round_trips(pair: list[dt.date]) -> None:
    start, end = pair
    start_int, end_int = (int(f"{d.year:04d}{d.month:02d}{d.day:02d}") for d in (start, end))
    config = load_config({"start_date": start_int, "end_date": end_int})
    assert (config.start_date, config.end_date) == (start, end)
    data = config.to_dict()
    assert (data["start_date"], data["end_date"]) == (start_int, end_int)
    assert load_config(data) == config
    assert load_config({"start_date": str(start_int), "end_date": start.isoformat()}).end_date == start
    window_start, window_end = config.time_window()
    assert (window_end - window_start).days == (end - start).days + 1


# ----------------------------------------------------------------------------------------------------------
# Errors: every message names the key, the value and what is allowed
# ----------------------------------------------------------------------------------------------------------


def test_config_error_is_the_package_error() -> None:
    assert issubclass(ConfigError, IcecubeStacError)
    assert issubclass(ConfigProblems, ConfigError)


@pytest.mark.parametrize(
    ("value", "fragments"),
    [
        (20240230, ["got 20240230", "unparsable date", "day is out of range for month", "YYYYMMDD"]),
        ("20241301", ["got '20241301'", "month must be in 1..12"]),
        ("2024-3-1", ["got '2024-3-1'", "not in YYYYMMDD form", "'2024-03-01'"]),
        (2024031, ["got 2024031", "not in YYYYMMDD form"]),
        (-20240301, ["got -20240301", "not in YYYYMMDD form"]),
        (True, ["got True", "YYYYMMDD integer"]),
        (20240301.0, ["got 20240301.0", "YYYYMMDD integer"]),
        (None, ["got None", "YYYYMMDD integer"]),
        ("09990101", ["got '09990101'", "from 1677-09-22 to 2262-04-11"]),
        (16770921, ["got 16770921", "outside the dates allowed", "from 1677-09-22 to 2262-04-11"]),
        ("2262-04-12", ["got '2262-04-12'", "outside the dates allowed", "nanosecond time axis"]),
        (dt.date(1600, 1, 1), ["outside the dates allowed", "from 1677-09-22"]),
        pytest.param(10**5000, ["got <an integer of about 5000 digits>", "not in YYYYMMDD form"], id="huge-int"),
        (dt.datetime(2024, 3, 1, 12), ["without a time of day"]),
    ],
)
def test_bad_dates(value: object, fragments: list[str]) -> None:
    assert_names(error_for({"start_date": value}), "start_date", *fragments)


def test_end_before_start_names_both() -> None:
    err = error_for({"start_date": 20240301, "end_date": "20240229"})
    assert_names(err, "end_date", "got 20240229", "start_date 20240301", "inclusive")


def test_future_start_with_default_end_explains_the_default() -> None:
    err = error_for({"start_date": 22620101})
    assert_names(err, "end_date", "start_date 22620101", "defaults to today")


@pytest.mark.parametrize(
    ("key", "value", "fragments"),
    [
        ("min_incidence_angle", -1, ["got -1", "from 0 to 90"]),
        ("max_incidence_angle", 90.5, ["got 90.5", "from 0 to 90"]),
        ("min_incidence_angle", "abc", ["got 'abc'", "number of degrees"]),
        ("min_incidence_angle", True, ["got True", "number of degrees"]),
        ("min_incidence_angle", float("nan"), ["got nan", "number of degrees"]),
        ("temporal_resolution", -1, ["got -1", "whole number of days from 0 to 36,500", "natural timeline"]),
        ("temporal_resolution", True, ["got True", "whole number of days"]),
        ("temporal_resolution", 6.0, ["got 6.0", "(6, not 6.0)"]),
        ("temporal_resolution", "6", ["got '6'", "whole number of days"]),
        ("coregistered", "false", ["got 'false'", "true or false", "without quotes"]),
        ("space_overlap", 2, ["got 2", "true or false"]),
        ("temporal_overlap", None, ["got None", "true or false"]),
    ],
)
def test_bad_icecube_values(key: str, value: object, fragments: list[str]) -> None:
    assert_names(error_for({key: value}), key, *fragments)


def test_min_above_max_incidence() -> None:
    err = error_for({"min_incidence_angle": 40, "max_incidence_angle": 15})
    assert_names(err, "max_incidence_angle", "got 15.0", "min_incidence_angle (40 degrees)")


def test_equal_incidence_bounds_are_allowed() -> None:
    config = load_config({"min_incidence_angle": 30, "max_incidence_angle": 30})
    assert config.min_incidence_angle == config.max_incidence_angle == 30.0


@pytest.mark.parametrize(
    ("key", "value", "fragments"),
    [
        ("bbox", [0, 0, 1], ["got [0, 0, 1]", "[min_lon, min_lat, max_lon, max_lat]"]),
        ("bbox", "0,0,1,1", ["got '0,0,1,1'", "4 numbers"]),
        ("bbox", [0, 0, True, 1], ["4 numbers"]),
        ("bbox", [0, 0, 181, 1], ["got [0, 0, 181, 1]", "longitudes must be within [-180, 180]"]),
        ("bbox", [0, -91, 1, 1], ["latitudes must be within [-90, 90]"]),
        ("bbox", [170, 0, -170, 1], ["min_lon 170.0 > max_lon -170.0", "antimeridian", "MultiPolygon"]),
        ("bbox", [0, 2, 1, 1], ["min_lat 2.0 > max_lat 1.0"]),
        ("product_type", "GDR", ["got 'GDR'", "'GRD', 'SLC'", "did you mean 'GRD'?"]),
        ("product_type", 1, ["got 1", "'GRD', 'SLC'"]),
        ("orbit_state", "asc", ["got 'asc'", "'ascending', 'descending'"]),
        ("look_side", "up", ["got 'up'", "'left', 'right'"]),
        ("instrument_mode", ["stripmap", "spotlite"], ["got 'spotlite'", "did you mean 'spotlight'?"]),
        ("instrument_mode", 3, ["got 3", "a string or a list of strings"]),
        ("polarizations", ["VV", "XX"], ["got 'XX'", "'HH', 'VV', 'HV', 'VH'"]),
        ("platforms", ["ICEYE-X7", ""], ["got ''", "non-empty strings"]),
        ("platforms", {"ICEYE-X7": 1}, ["a string or a list of strings"]),
        ("collections", [1], ["got 1", "non-empty strings"]),
        ("max_items", 0, ["got 0", "whole number from 1 to 1,000,000,000", "null for no limit"]),
        ("max_items", True, ["got True", "whole number from 1"]),
        ("catalog", "", ["got ''", "local catalog path", "http(s)://"]),
        ("catalog", "s3://bucket/cat", ["unsupported URL scheme 's3'"]),
        ("catalog", "https://", ["the URL has no host"]),
        ("headers", ["Authorization"], ["object of HTTP header names"]),
        ("headers", {"Bad Name": "x"}, ["got 'Bad Name'", "not a valid HTTP header name"]),
        ("headers", {"X-Count": 3}, ["X-Count", "must be strings"]),
        ("timeout", 0, ["got 0", "seconds > 0"]),
        ("timeout", "10", ["got '10'", "seconds > 0"]),
        ("chunks", {"azimuth": 0}, ["azimuth chunk size must be a whole number from 1 to 1,000,000,000"]),
        ("chunks", {"azimuth": 512, "time": 1}, ["unknown dimension 'time'", "'azimuth', 'range'"]),
        ("chunks", [512, 512], ['{"azimuth": int, "range": int}']),
        ("chunks", {"range": 1.5}, ["range chunk size"]),
        ("fill_value", "nan", ["got 'nan'", "finite number", "null"]),
        ("fill_value", True, ["got True", "finite number"]),
    ],
)
def test_bad_stac_values(key: str, value: object, fragments: list[str]) -> None:
    assert_names(error_for({key: value}), key, *fragments)


def test_header_values_are_never_echoed() -> None:
    err = error_for({"headers": {"Authorization": "Bearer s3cr3t\r\nX-Evil: 1"}})
    assert_names(err, "headers", "Authorization", "without line breaks")
    assert "s3cr3t" not in str(err)


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("strat_date", "start_date"),
        ("Start_Date", "start_date"),
        ("end_dat", "end_date"),
        ("min_incidence", "min_incidence_angle"),
        ("temporal_overlaps", "temporal_overlap"),
        ("instrument_modes", "instrument_mode"),
        ("polarization", "polarizations"),
        ("orbit_direction", "orbit_state"),  # the ICEYE metadata name
        ("platform", "platforms"),
        ("limit", "max_items"),
    ],
)
def test_unknown_key_did_you_mean(key: str, suggestion: str) -> None:
    err = error_for({key: 1})
    assert_names(err, key, "got 1", "unknown key", f"did you mean {suggestion!r}?")


def test_values_of_unknown_keys_are_described_not_shown() -> None:
    err = error_for({"start_dat": "2024-03-01", "heders": {"X-Token": "t0k3n"}})
    assert "config key 'start_dat': got <a string of 10 characters>; unknown key" in str(err)
    assert "config key 'heders': got <an object with 1 member(s)>" in str(err) and "t0k3n" not in str(err)


def test_unknown_key_without_suggestion_lists_known_keys() -> None:
    err = error_for({"zzzz": True})
    assert_names(err, "zzzz", "unknown key", "known keys: start_date, end_date")


def test_all_problems_are_reported_at_once() -> None:
    err = error_for({"strat_date": 1, "end_date": 20240230, "bbox": [1], "timeout": -1})
    assert isinstance(err, ConfigProblems)
    lines = str(err).splitlines()
    assert lines[0] == "4 problems in config:"
    assert len(lines) == 5
    assert [p.key for p in err.problems] == ["strat_date", "end_date", "bbox", "timeout"]
    assert "did you mean 'start_date'?" in lines[1]
    assert "got 20240230" in lines[2]
    assert "config key 'bbox': got [1]" in lines[3]
    assert "config key 'timeout': got -1" in lines[4]
    assert (err.key, err.value) == ("strat_date", 1)  # the first problem, for single-error handlers


def test_long_values_are_shortened_in_messages_only() -> None:
    ring = [[float(i % 7), float(i % 5)] for i in range(300)]
    polygon = {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
    err = error_for({"intersects": polygon})
    assert len(str(err)) < 400
    assert str(err).count(" ...") == 1
    assert err.value == polygon


# ----------------------------------------------------------------------------------------------------------
# Area of interest
# ----------------------------------------------------------------------------------------------------------


def test_wkt_and_geojson_aoi_are_the_same() -> None:
    from_wkt = load_config({"intersects": SQUARE_WKT})
    from_geojson = load_config({"intersects": SQUARE_GEOJSON})
    assert from_wkt.intersects == from_geojson.intersects
    assert from_wkt.intersects is not None and from_wkt.intersects["type"] == "Polygon"
    assert isinstance(from_wkt.intersects["coordinates"], list)  # JSON lists, not shapely's tuples


def test_other_geometry_types() -> None:
    assert load_config({"intersects": "POINT (102.6 16.3)"}).intersects == {
        "type": "Point",
        "coordinates": [102.6, 16.3],
    }
    multi = {"type": "MultiPolygon", "coordinates": [SQUARE_GEOJSON["coordinates"]]}
    assert load_config({"intersects": multi}).intersects == multi


@pytest.mark.parametrize("value", [BOW_TIE, "POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))"])
def test_bow_tie_polygon_is_rejected(value: object) -> None:
    err = error_for({"intersects": value})
    assert_names(err, "intersects", "invalid geometry", "Self-intersection", "valid (OGC) geometry")


@pytest.mark.parametrize(
    ("value", "fragments"),
    [
        ("POLYGON ((0 0, 1 0", ["unparsable WKT", "ParseException"]),
        ("POINT EMPTY", ["the geometry is empty"]),
        ({"type": "Polgon", "coordinates": []}, ["'type' 'Polgon'", "did you mean 'Polygon'?"]),
        ({"coordinates": [1, 2]}, ["'type' None is not a GeoJSON geometry type"]),
        ({"type": "Point"}, ["needs a 'coordinates' member"]),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}, ["not a valid GeoJSON Polygon"]),
        ({"type": "Polygon", "coordinates": []}, ["the geometry is empty"]),
        ({"type": "Feature", "geometry": SQUARE_GEOJSON}, ["give its 'geometry' member"]),
        ({"type": "FeatureCollection", "features": []}, ["give a single geometry"]),
        ("POINT (200 0)", ["longitude in [-180, 180]"]),
        (42, ["GeoJSON geometry object or a WKT string"]),
    ],
)
def test_bad_aoi(value: object, fragments: list[str]) -> None:
    assert_names(error_for({"intersects": value}), "intersects", *fragments)


def test_bbox_and_intersects_together() -> None:
    err = error_for({"bbox": [102.5, 16.2, 102.7, 16.4], "intersects": SQUARE_WKT})
    assert_names(err, "intersects", "'bbox' is set too", "either 'bbox' or 'intersects'")


# ----------------------------------------------------------------------------------------------------------
# CQL2 filter
# ----------------------------------------------------------------------------------------------------------


def test_cql2_json_filter() -> None:
    cql = {"op": "<", "args": [{"property": "view:incidence_angle"}, 30]}
    config = load_config({"filter": cql})
    assert config.filter is not None
    assert config.filter["op"] == "<"
    assert config.filter["args"][0] == {"property": "view:incidence_angle"}


def test_cql2_text_filter_is_converted_to_json() -> None:
    config = load_config({"filter": "sat:absolute_orbit > 10 AND platform = 'iceye-x7'"})
    assert config.filter is not None
    assert config.filter["op"] == "and"
    assert [arg["op"] for arg in config.filter["args"]] == [">", "="]


def test_cql2_operator_case_is_normalised() -> None:
    cql = {
        "op": "AND",
        "args": [{"op": "=", "args": [{"property": "a"}, 1]}, {"op": "=", "args": [{"property": "b"}, 2]}],
    }
    config = load_config({"filter": cql})
    assert config.filter is not None and config.filter["op"] == "and"


@pytest.mark.parametrize(
    ("value", "fragments"),
    [
        ("a = = 1", ["got 'a = = 1'", "CQL2-text parse error at line 1, column 5", "expected"]),
        ({"foo": 1}, ["got {'foo': 1}", "invalid CQL2"]),
        ({"op": "=", "args": [{"property": "a"}]}, ["invalid CQL2", "'=' takes 2 argument(s), got 1"]),
        (
            {"op": "t_intersect", "args": [{"property": "datetime"}, {"timestamp": "2024-03-01T00:00:00Z"}]},
            ["unknown CQL2 operator 't_intersect'", "did you mean 't_intersects'?"],
        ),
        ("true", ["CQL2 boolean expression"]),
        (["a", "=", 1], ["CQL2-JSON object or a CQL2-text string"]),
    ],
)
def test_bad_cql2_filter(value: object, fragments: list[str]) -> None:
    assert_names(error_for({"filter": value}), "filter", *fragments)


def test_custom_cql2_functions_are_refused() -> None:
    # CQL2 lets a server define functions, but they would reach DuckDB as SQL functions (repeat, upper...).
    err = error_for({"filter": "my_function(view:incidence_angle) > 3"})
    assert_names(err, "filter", "CQL2 function 'my_function' is not allowed", "no function calls", "t_*")


# ----------------------------------------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------------------------------------


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"config file '{path}': no such file"
    assert info.value.key == "<file>"


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)


def test_invalid_json_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "start_date": 20240301,\n  "end_date": 20240321,\n}\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    assert "invalid JSON at line 4, column 1" in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"timeout": NaN}', "NaN is not valid JSON"),
        ('{"start_date": 20240301, "start_date": 20240302}', "duplicate key 'start_date'"),
        ("[20240301]", "the top level must be a JSON object"),
        ("", "invalid JSON at line 1, column 1"),
    ],
)
def test_json_pitfalls(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert fragment in str(info.value)


def test_value_problems_in_a_file_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"start_date": 20240230}))
    with pytest.raises(ConfigProblems) as info:
        load_config(path)
    assert str(info.value).splitlines() == [
        f"1 problem in config file '{path}':",
        "  - config key 'start_date': got 20240230; unparsable date (day is out of range for month); "
        "expected a date as a YYYYMMDD integer (20240301) or string ('20240301' or ISO '2024-03-01'), "
        "from 1677-09-22 to 2262-04-11 (the days the cube's nanosecond time axis can hold)",
    ]
    assert info.value.source == str(path)


def test_utf8_bom_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"product_type": "GRD"}).encode())
    assert load_config(path).product_type == "GRD"


def test_wrong_source_type() -> None:
    with pytest.raises(TypeError, match="path, a mapping or None"):
        load_config(42)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------------------
# Examples and JSON Schema
# ----------------------------------------------------------------------------------------------------------


def test_examples_load() -> None:
    grd = load_config(EXAMPLES[0])
    assert grd.product_type == "GRD"
    assert grd.start_date == dt.date(2024, 3, 1) and grd.end_date.month == 3
    assert (grd.min_incidence_angle, grd.max_incidence_angle) == (15.0, 40.0)
    assert grd.temporal_resolution == 0
    slc = load_config(EXAMPLES[1])
    assert slc.product_type == "SLC"
    assert slc.bbox is not None and slc.orbit_state is not None
    assert slc.temporal_resolution == 6
    lon_min, lat_min, lon_max, lat_max = slc.bbox
    assert lon_min < 102.61 < lon_max and lat_min < 16.32 < lat_max


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = config_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert list(schema["properties"]) == list(CONFIG_KEYS)
    for key, prop in schema["properties"].items():
        assert prop["description"], key
        assert key == "end_date" or "default" in prop, key
    assert schema["properties"]["temporal_overlap"]["default"] is True
    assert schema["properties"]["start_date"]["default"] == 19700101
    assert schema["properties"]["catalog"]["default"] == "catalogs/default"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_schema_validates_examples(path: Path) -> None:
    jsonschema.validate(json.loads(path.read_text()), config_json_schema())


def test_schema_accepts_what_load_config_writes() -> None:
    validator = jsonschema.Draft202012Validator(config_json_schema())
    validator.validate(load_config(full_config()).to_dict())
    validator.validate(load_config().to_dict())
    validator.validate(full_config())


@pytest.mark.parametrize(
    "bad",
    [
        {"strat_date": 20240301},
        {"start_date": "1st of March"},
        {"min_incidence_angle": 91},
        {"temporal_resolution": -1},
        {"coregistered": "yes"},
        {"bbox": [0, 0, 1]},
        {"product_type": "GDR"},
        {"polarizations": ["XX"]},
        {"max_items": 0},
        {"timeout": 0},
        {"chunks": {"time": 1}},
        {"headers": {"X": 1}},
    ],
)
def test_schema_and_load_config_both_reject(bad: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, config_json_schema())
    with pytest.raises(ConfigError):
        load_config(bad)


def test_schema_is_a_fresh_copy() -> None:
    config_json_schema()["properties"].clear()
    assert config_json_schema()["properties"]


# ----------------------------------------------------------------------------------------------------------
# A config is validated once
# ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def validation_counts(monkeypatch: pytest.MonkeyPatch) -> tuple[Counter[str], list[int]]:
    """Count the per-key checks (by key) and the cross-key checks (one entry per call)."""
    from icecube_stac import _config_validate

    checks: Counter[str] = Counter()
    cross: list[int] = []
    check_value, cross_checks = _config_validate.check_value, _config_validate.cross_checks

    def counting_check(key: Any, value: object) -> Any:
        checks[key.name] += 1
        return check_value(key, value)

    def counting_cross(values: Any) -> Any:
        cross.append(1)
        return cross_checks(values)

    monkeypatch.setattr(_config_validate, "check_value", counting_check)
    monkeypatch.setattr(_config_validate, "cross_checks", counting_cross)
    return checks, cross


def test_load_config_validates_each_key_once(validation_counts: tuple[Counter[str], list[int]], tmp_path: Path) -> None:
    checks, cross = validation_counts
    config = load_config(full_config())
    assert checks == Counter(dict.fromkeys(full_config(), 1))
    assert cross == [1]
    checks.clear()
    cross.clear()
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"start_date": 20240301, "product_type": "GRD"}))
    load_config(path, catalog="catalogs/demo")
    assert checks == Counter({"start_date": 1, "product_type": 1, "catalog": 1})
    assert cross == [1]
    checks.clear()
    cross.clear()
    load_config()  # defaults are canonical already: nothing to check but the rules between keys
    assert checks == Counter() and cross == [1]
    checks.clear()
    cross.clear()
    assert load_config(config.to_dict()) == config
    assert checks == Counter(dict.fromkeys(CONFIG_KEYS, 1)) and cross == [1]


def test_replace_validates_only_what_changed_once(validation_counts: tuple[Counter[str], list[int]]) -> None:
    config = load_config(full_config())
    checks, cross = validation_counts
    checks.clear()
    cross.clear()
    changed = config.replace(end_date=20240405, instrument_modes="scan", max_items=None)
    assert checks == Counter({"end_date": 1, "instrument_mode": 1, "max_items": 1})
    assert cross == [1]
    assert changed.filter == config.filter and changed.intersects == config.intersects
    checks.clear()
    cross.clear()
    with pytest.raises(ConfigError):
        config.replace(end_date=20240201)  # before start_date: the rules between keys still apply
    assert checks == Counter({"end_date": 1}) and cross == [1]


def test_direct_construction_validates_each_field_once(validation_counts: tuple[Counter[str], list[int]]) -> None:
    checks, cross = validation_counts
    CubeConfig(product_type="grd")
    assert checks == Counter(dict.fromkeys(CONFIG_KEYS, 1)) and cross == [1]


def test_expensive_checks_run_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted where the work is done (CQL2 parsing, WKT parsing, date rule), not only at the entry point."""
    import cql2

    from icecube_stac import _config_geometry
    from icecube_stac._config_rules import DateRule

    counts: Counter[str] = Counter()
    expr, wkt_loads, date_check = cql2.Expr, _config_geometry.wkt_loads, DateRule.check

    def counting(name: str, func: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return func(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(cql2, "Expr", counting("cql2", expr))
    monkeypatch.setattr(_config_geometry, "wkt_loads", counting("wkt", wkt_loads))
    monkeypatch.setattr(DateRule, "check", counting("date", date_check))
    config = load_config(full_config())
    assert counts == Counter({"cql2": 1, "wkt": 1, "date": 2})
    counts.clear()
    config.replace(max_items=5, end_date="2024-04-11")
    assert counts == Counter({"date": 1})
