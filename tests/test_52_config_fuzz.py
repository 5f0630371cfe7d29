"""Fuzz the config loader: only IcecubeStacError escapes, and the JSON Schema still agrees with the loader.

Hypothesis feeds arbitrary JSON values (nested dicts and lists, unicode, huge integers, NaN and
infinities) to every key, to whole files and to byte-mutated JSON text, and mutates valid configs
(values replaced, nested members replaced, strings and numbers nudged, keys dropped, misspelt or
added). Whatever comes in, ``load_config`` returns a config or raises an
:class:`~icecube_stac.errors.IcecubeStacError`, never echoes a secret, and for JSON data the published
schema accepts it exactly when the loader does, except for the allow-listed rules of test_51. The
longer campaign (the CLI, search, hangs and memory) is ``fuzz/fuzz_configs.py``.
"""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icecube_stac._config_keys import KEYS, lookup
from icecube_stac._config_limits import CONFIG_MAX_DEPTH
from icecube_stac._config_validate import check_value
from icecube_stac.config import CONFIG_KEYS, load_config
from icecube_stac.errors import ConfigError, IcecubeStacError

from .test_51_config_schema import SCHEMA_CANNOT_EXPRESS, VALIDATOR, _depth, _unexplained

SECRET: Final = "S3CR3TFUZZ"
SQUARE = [[102.5, 16.2], [102.7, 16.2], [102.7, 16.4], [102.5, 16.4], [102.5, 16.2]]
VALID: Final[list[dict[str, Any]]] = [
    json.loads((Path(__file__).resolve().parents[1] / "examples" / name).read_text())
    for name in ("config.json", "config_slc_aoi.json")
] + [
    {
        "start_date": "2024-03-01",
        "end_date": 20240415,
        "temporal_resolution": 6,
        "temporal_overlap": False,
        "intersects": {"type": "Polygon", "coordinates": [SQUARE]},
        "platforms": ["ICEYE-X7", "iceye-x14"],
        "polarizations": "vv",
        "filter": {"op": "and", "args": [{"op": ">", "args": [{"property": "view:incidence_angle"}, 20]}, True]},
        "catalog": f"https://fuzz:{SECRET}@stac.example.com/api",
        "headers": {"Authorization": f"Bearer {SECRET}"},
        "timeout": 5,
        "chunks": {"azimuth": 512},
        "fill_value": -9999,
        "geocode": {"crs": "epsg:32648", "resolution": [5, 5.5], "resampling": "Bilinear", "quantity": "sigma0"},
    },
    {
        "bbox": [102.45, 16.15, 102.75, 16.45],
        "filter": "platform IN ('iceye-x7') AND NOT \"view:incidence_angle\" BETWEEN 40 AND 50",
        "max_items": 3,
        "instrument_mode": ["stripmap", "SPOTLIGHT"],
        "orbit_state": "ASCENDING",
        "look_side": "right",
        "product_type": "slc",
        "coregistered": 1,
        "space_overlap": True,
        "collections": ["iceye-grd", "iceye-slc"],
        "labels": "labels/icecube_labels.json",
        "labelled": True,
        "coregister": {"model": "polynomial", "grid": [4, 5], "resampling": "Linear", "on_failure": "drop"},
    },
]

INTERESTING_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\n",
        "\x00",
        "20240301",
        "2024-02-29",
        "16770921",
        "22620411",
        "GRD",
        "ſlc",
        "90",
        "-0",
        "http://[::1",
        "https://h:99999/x",
        f"https://u:{SECRET}@h/api?token={SECRET}",
        "POINT (1 2)",
        "GEOMETRYCOLLECTION (" * 12 + "POINT (1 2)" + ")" * 12,
        "a = 1",
        "NOT " * 20 + "a = 1",
        "(" * 40 + "a = 1" + ")" * 40,
        "repeat('x', 9) = 'x'",
        "a = 1e400",
        "~nosuchuser/c.json",
    ]
)
NUMBERS = (
    st.integers()
    | st.sampled_from([10**400, -(10**400), 2**63, 2**64, -(2**63) - 1, 36_501, 3.5e38, 1e-320])
    | st.floats(allow_nan=True, allow_infinity=True)
)
SCALARS = st.none() | st.booleans() | NUMBERS | st.text(max_size=12) | INTERESTING_TEXT
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(max_size=6) | st.sampled_from(["op", "args", "type", "coordinates", "geometries", "property"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=16,
)
KEY_NAMES = st.sampled_from([*CONFIG_KEYS, "url", "geometry", "strat_date", "", "ſtart_date"]) | st.text(max_size=8)
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _outcome(raw: Any) -> ConfigError | None:
    """Load ``raw``: None when accepted, the ConfigError when refused; anything else fails the test."""
    try:
        load_config(raw)
    except ConfigError as exc:
        assert SECRET not in str(exc), str(exc)
        return exc
    except IcecubeStacError:
        return None
    return None


def _as_json(raw: dict[Any, Any]) -> dict[str, Any] | None:
    if _depth(raw) > CONFIG_MAX_DEPTH:
        return None
    try:
        data = json.loads(json.dumps(raw, allow_nan=False))
    except (TypeError, ValueError):
        return None  # NaN, infinities, integers of thousands of digits: no config.json holds them
    return data if isinstance(data, dict) else None


def _agrees(raw: dict[Any, Any], err: ConfigError | None) -> None:
    data = _as_json(raw)
    if data is None:
        return
    schema_ok = VALIDATOR.is_valid(data)
    if err is None:
        assert schema_ok, [e.message for e in VALIDATOR.iter_errors(data)]
    elif schema_ok:
        assert _unexplained(err, set()) == [], "the schema accepts a config the loader refuses"


@FAST
@given(name=KEY_NAMES, value=JSON_VALUES)
def test_any_value_of_any_key(name: str, value: object) -> None:
    raw = {name: value}
    _agrees(raw, _outcome(raw))
    key = lookup(name)
    if key is not None:
        with contextlib.suppress(ConfigError):
            check_value(key, value)


@FAST
@given(raw=st.dictionaries(KEY_NAMES, JSON_VALUES, max_size=5))
def test_any_mapping(raw: dict[str, Any]) -> None:
    _agrees(raw, _outcome(raw))


def _paths(value: object) -> list[tuple[Any, ...]]:
    """Every path to a member of ``value`` (dict keys and list indexes), outermost first."""
    found: list[tuple[Any, ...]] = []
    stack: list[tuple[object, tuple[Any, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        members = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for slot, member in members:
            found.append((*path, slot))
            stack.append((member, (*path, slot)))
    return found


def _nudge(value: object, how: int) -> object:
    """Change a value slightly without deleting characters (a URL keeps its user-info in place)."""
    if isinstance(value, str):
        return [value.upper(), value.lower(), f" {value}", value + "\n", value + "x", value * 2][how % 6]
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return [-value, value * 10**6, value + 0.5, value * 1e300, 0, value - 1][how % 6]
    if isinstance(value, list):
        return value[:-1] if how % 2 else [*value, value[0] if value else 1]
    return value


@st.composite
def mutated_configs(draw: st.DrawFn) -> dict[str, Any]:
    config = copy.deepcopy(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["replace", "nest", "nudge", "drop", "add", "misspell"]))
        paths = _paths(config)
        if action == "replace":
            config[draw(st.sampled_from(CONFIG_KEYS))] = draw(JSON_VALUES)
        elif action in ("nest", "nudge") and paths:
            path = draw(st.sampled_from(paths))
            parent: Any = config
            for slot in path[:-1]:
                parent = parent[slot]
            old = parent[path[-1]]
            parent[path[-1]] = draw(JSON_VALUES) if action == "nest" else _nudge(old, draw(st.integers(0, 5)))
        elif action == "drop" and config:
            del config[draw(st.sampled_from(sorted(config)))]
        elif action == "add":
            config[draw(st.text(max_size=8))] = draw(JSON_VALUES)
        elif action == "misspell" and config:
            name = draw(st.sampled_from(sorted(config)))
            config[name[:-1] or "x"] = config.pop(name)
    return config


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=mutated_configs())
def test_mutated_valid_configs(raw: dict[str, Any]) -> None:
    _agrees(raw, _outcome(raw))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FAST
@given(value=JSON_VALUES)
def test_any_json_file(folder: Path, value: object) -> None:
    path = folder / "any.json"
    try:
        path.write_text(json.dumps(value))
    except ValueError:  # an integer of thousands of digits: write its digits by hand
        path.write_text('{"max_items": ' + "9" * 5000 + "}")
    _outcome(path)


VALID_TEXT: Final = json.dumps(VALID[2], indent=1)


@FAST
@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(VALID_TEXT)), st.sampled_from('{}[]",:0e-.\\\n tfn@'), st.booleans()),
        min_size=1,
        max_size=6,
    )
)
def test_byte_mutated_json_text(folder: Path, edits: list[tuple[int, str, bool]]) -> None:
    text = VALID_TEXT
    for where, char, insert in edits:
        text = text[:where] + char + text[where + (0 if insert else 1) :]
    path = folder / "text.json"
    path.write_text(text)
    _outcome(path)


def test_the_pool_is_valid_and_the_schema_agrees() -> None:
    for config in VALID:
        assert _outcome(config) is None
        assert VALIDATOR.is_valid(config)
    assert {k.name for k in KEYS} <= {name for config in VALID for name in config}
    assert SCHEMA_CANNOT_EXPRESS  # the allow-list used by _agrees
