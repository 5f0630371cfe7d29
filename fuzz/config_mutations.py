"""Generate hostile ``config.json`` texts for the fuzz campaign: valid configs, mutated.

:func:`make_case` is deterministic for a seed: it takes a valid config from :data:`POOL`, plants a fake
secret (in ``headers`` always, in the catalog URL's user-info half the time), applies one to four
mutations (values replaced by random or hostile JSON, leaves nudged, keys dropped, misspelt or added,
hostile CQL2, geometries, dates and numbers) and serialises it, sometimes corrupting the JSON text
itself. The campaign then checks that nothing but an ``IcecubeStacError`` comes out, nothing hangs or
blows up memory, and the secret never shows.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["POOL", "SECRET", "Case", "make_case"]

SECRET: Final = "FUZZ-S3CR3T-7f1c"
"""The fake credential planted in every case: it must never appear in any output."""

_SQUARE: Final = [[102.5, 16.2], [102.7, 16.2], [102.7, 16.4], [102.5, 16.4], [102.5, 16.2]]
POOL: Final[list[dict[str, Any]]] = [
    {"start_date": 20240301, "end_date": 20240321, "min_incidence_angle": 15, "max_incidence_angle": 40},
    {"start_date": "2024-03-01", "end_date": "2024-04-15", "product_type": "GRD", "temporal_resolution": 6},
    {
        "start_date": 20240301,
        "end_date": 20240415,
        "product_type": "SLC",
        "temporal_resolution": 3,
        "temporal_overlap": False,
        "bbox": [102.45, 16.15, 102.75, 16.45],
        "orbit_state": "descending",
    },
    {
        "product_type": "GRD",
        "intersects": {"type": "Polygon", "coordinates": [_SQUARE]},
        "platforms": ["ICEYE-X7", "iceye-x14"],
        "polarizations": "vv",
        "filter": {"op": ">", "args": [{"property": "view:incidence_angle"}, 20]},
        "chunks": {"azimuth": 8},
        "fill_value": -9999,
    },
    {
        "filter": "platform IN ('iceye-x7', 'iceye-x14') AND NOT \"view:incidence_angle\" BETWEEN 40 AND 50",
        "max_items": 3,
        "instrument_mode": ["stripmap"],
        "look_side": "right",
        "coregistered": 1,
        "space_overlap": True,
        "collections": ["iceye-grd"],
        "product_type": "GRD",
    },
    {"intersects": "POLYGON ((102.5 16.2, 102.7 16.2, 102.7 16.4, 102.5 16.4, 102.5 16.2))", "timeout": 5},
]
"""Valid configs that match items of the campaign's catalog (``demo_specs``)."""

KEYS: Final = (
    *("start_date", "end_date", "min_incidence_angle", "max_incidence_angle", "temporal_resolution"),
    *("coregistered", "space_overlap", "temporal_overlap", "bbox", "intersects", "product_type"),
    *("orbit_state", "look_side", "instrument_mode", "platforms", "polarizations", "collections"),
    *("max_items", "filter", "catalog", "headers", "timeout", "chunks", "fill_value"),
    *("geocode", "coregister", "labelled"),
)
_HUGE_INT: Final = "9" * 5000  # JSON can hold it, Python's int() refuses it beyond 4300 digits
_TEXTS: Final = (
    *("", " ", "\t\n", "\x00", "\u202e", "é", "ſlc", "GRD", "slc", "Ascending", "left", "SCAN", "hv", "vv"),
    *("20240301", "2024-02-29", "2023-02-29", "16770921", "16770922", "22620411", "22620412", "0", "-0", "90"),
    *("http://[::1", "http://[::1]:8080", "https://h:99999/x", "https://@/x", "ftp://h/x", "~nosuchuser/x"),
    *("catalogs/none", "../../../../etc", "/dev/zero", "/proc/self/mem", "POINT (1 2)", "POINT EMPTY"),
)
_CQL2_TOKENS: Final = (
    *("(", ")", ",", "AND", "OR", "NOT", "=", "<>", "<", ">=", "LIKE", "BETWEEN", "IN", "IS", "NULL", "-", "+", "*"),
    *("platform", '"view:incidence_angle"', "'iceye-x7'", "1", "1e400", "TIMESTAMP('2024-03-01T00:00:00Z')"),
    *("S_INTERSECTS(geometry,", "POINT(1 2)", "T_AFTER(datetime,", "A_OVERLAPS(x,", "CASEI(", "repeat(", "'"),
)


@dataclass(frozen=True)
class Case:
    """One generated config.

    Attributes
    ----------
    index
        The case number.
    text
        The config file's text (often valid JSON, sometimes not).
    mutations
        What was done to the base config, for the report.
    """

    index: int
    text: str
    mutations: tuple[str, ...]


_RAW: dict[str, str] = {}  # placeholder string -> JSON text spliced in after json.dumps (too deep for it)
_SPLICE_DEPTH: Final = 400


def _raw(text: str) -> str:
    token = f"@@raw{len(_RAW)}@@"
    _RAW[token] = text
    return token


def _nested(rng: random.Random, levels: int, leaf: Any) -> Any:
    """``leaf`` inside ``levels`` lists or ``not`` operators (as spliced text when json.dumps would recurse)."""
    if levels > _SPLICE_DEPTH:
        opening, closing = ("[", "]") if rng.random() < 0.5 else ('{"op": "not", "args": [', "]}")
        return _raw(opening * levels + json.dumps(leaf) + closing * levels)
    value = leaf
    for _ in range(levels):
        value = [value] if rng.random() < 0.5 else {"op": "not", "args": [value]}
    return value


def _number(rng: random.Random) -> Any:
    choices = [
        rng.randint(-10, 10),
        rng.randint(-(2**70), 2**70),
        10**400,
        -(10**400),
        2**63,
        2**64,
        1e308,
        1e-320,
        3.4e38,
        3.5e38,
        float("nan"),
        float("inf"),
        rng.uniform(-1e6, 1e6),
        36_500,
        36_501,
        10_001,
        1_000_000_001,
        86_400.5,
    ]
    return rng.choice(choices)


def _json(rng: random.Random, depth: int = 0) -> Any:
    """Return a random JSON value: scalars, small containers, sometimes huge or deep ones."""
    roll = rng.random()
    if roll < 0.2:
        return _number(rng)
    if roll < 0.4:
        return rng.choice(_TEXTS) if rng.random() < 0.6 else "".join(chr(rng.randint(1, 0x2FFF)) for _ in range(8))
    if roll < 0.5:
        return rng.choice([None, True, False])
    if roll < 0.55:
        return rng.choice(["x" * 1_000_000, [0] * 100_000, {str(i): i for i in range(20_000)}])
    if roll < 0.62:
        return _nested(rng, rng.choice([40, 200, 1000, 5000]), 1)
    if depth > 3:
        return None
    if roll < 0.8:
        return [_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    names = [rng.choice(["op", "args", "type", "coordinates", "geometries", "property", "x", ""]) for _ in range(3)]
    return {name: _json(rng, depth + 1) for name in names}


def _collections(levels: int, wkt: bool) -> Any:
    if wkt:
        return "GEOMETRYCOLLECTION (" * levels + "POINT (102.6 16.3)" + ")" * levels
    if levels > _SPLICE_DEPTH:
        point = '{"type": "Point", "coordinates": [102.6, 16.3]}'
        return _raw('{"type": "GeometryCollection", "geometries": [' * levels + point + "]}" * levels)
    geometry: Any = {"type": "Point", "coordinates": [102.6, 16.3]}
    for _ in range(levels):
        geometry = {"type": "GeometryCollection", "geometries": [geometry]}
    return geometry


def _hostile_filter(rng: random.Random) -> Any:
    n = rng.choice([2, 14, 15, 16, 33, 200, 2000, 16_000])
    makers = [
        lambda: "(" * n + "id = 'a'" + ")" * n,
        lambda: "NOT " * n + "platform = 'iceye-x7'",
        lambda: "a = " + "-" * n + "1",
        lambda: "a" + " = a" * n,
        lambda: '"view:incidence_angle" > ' + " + ".join(["1"] * n),
        lambda: _nested(rng, n, {"op": "=", "args": [{"property": "platform"}, "iceye-x7"]}),
        lambda: f"repeat('{'x' * 8}', 400000000) = 'b'",
        lambda: "upper(platform) = 'ICEYE-X7'",
        lambda: {"op": "in", "args": [{"property": "platform"}, ["iceye-x7"] * n]},
        lambda: {"op": "=", "args": [{"property": "a"}, rng.choice([2**64, 10**400, 1e308, -(2**63)])]},
        lambda: " ".join(rng.choice(_CQL2_TOKENS) for _ in range(rng.randint(1, 40))),
        lambda: "platform LIKE '" + "%" * n + "'",
        lambda: "S_INTERSECTS(geometry, " + "GEOMETRYCOLLECTION(" * min(n, 50) + "POINT(1 2)" + ")" * min(n, 50) + ")",
        lambda: (
            "T_AFTER(datetime, TIMESTAMP('" + rng.choice(["1677-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "x"]) + "'))"
        ),
        lambda: "id = '" + "x" * rng.choice([65_000, 65_600, 1_000_000]) + "'",
    ]
    return rng.choice(makers)()


def _hostile(rng: random.Random, config: dict[str, Any]) -> str:
    """Set one key to a value from the findings' families; return what was done."""
    family = rng.choice(["filter", "area", "dates", "numbers", "catalog"])
    if family == "filter":
        config["filter"] = _hostile_filter(rng)
    elif family == "area":
        config.pop("bbox", None)
        n = rng.choice([1, 8, 9, 50, 5000, 100_000])
        polygon = [[[102.5 + i * 1e-6, 16.2] for i in range(rng.choice([3, 4, 100_000]))]]
        polygon[0].append(polygon[0][0])
        choices = [_collections(n, wkt=rng.random() < 0.5), {"type": "Polygon", "coordinates": polygon}]
        choices.append({"type": "Point", "coordinates": [102.6, 16.3, rng.choice([1e308, 10**400, float("inf")])]})
        config["intersects"] = rng.choice(choices)
    elif family == "dates":
        dates = [16770922, 16770921, 22620411, 22620412, 10000101, 99991231, 19700101, "2262-04-11", "1600-01-01"]
        config["start_date"], config["end_date"] = rng.choice(dates), rng.choice(dates)
        config["temporal_resolution"] = rng.choice([0, 1, 3, 36_500, 36_501, 10**30, 2**63])
    elif family == "numbers":
        key = rng.choice(["fill_value", "timeout", "max_items", "chunks", "bbox", "min_incidence_angle"])
        value = _number(rng)
        config[key] = {"azimuth": value} if key == "chunks" else [0, 0, value, 1] if key == "bbox" else value
    else:
        config["catalog"] = rng.choice([f"http://u:{SECRET}@[::1", f"https://{SECRET}@h:99999/api", "http://[::1"])
    return f"hostile {family}"


_VALID_FILTERS: Final = (
    "CASEI(platform) = casei('ICEYE-X14')",
    "platform LIKE 'iceye%' AND \"view:incidence_angle\" BETWEEN 20 AND 30",
    "platform IN ('iceye-x14', 'iceye-x7') OR platform IS NULL",
    "S_INTERSECTS(geometry, BBOX(102, 16, 103, 17))",
    "T_AFTER(datetime, TIMESTAMP('2024-03-10T00:00:00Z'))",
    "A_OVERLAPS(\"sar:polarizations\", ('VV'))",
    {"op": "<", "args": [{"property": "view:incidence_angle"}, 30]},
    {"op": "not", "args": [{"op": "=", "args": [{"property": "sat:orbit_state"}, "ascending"]}]},
)


def _valid(rng: random.Random, key: str) -> Any:
    """Return a value the loader accepts for ``key`` (most of them match items of the catalog)."""
    day = 20240220 + rng.randint(0, 9) + 100 * rng.randint(0, 2)
    values: dict[str, Any] = {
        "start_date": rng.choice([day, str(day), f"{str(day)[:4]}-{str(day)[4:6]}-{str(day)[6:]}", 20240301]),
        "end_date": rng.choice([20240415, "2024-04-30", 20240320]),
        "min_incidence_angle": rng.choice([0, 15, "20", 25.5]),
        "max_incidence_angle": rng.choice([90, 40, "35.0"]),
        "temporal_resolution": rng.choice([0, 0, 1, 3, 6, 12]),
        "coregistered": rng.choice([True, False, 0, 1]),
        "space_overlap": rng.choice([True, False]),
        "temporal_overlap": rng.choice([True, False]),
        "bbox": rng.choice([[102.45, 16.15, 102.75, 16.45], [102.6, 16.3, 102.61, 16.31], [0, 0, 1, 1], None]),
        "intersects": rng.choice([{"type": "Point", "coordinates": [102.61, 16.32]}, "POINT (102.61 16.32)", None]),
        "product_type": rng.choice(["GRD", "slc", "Grd", None]),
        "orbit_state": rng.choice(["ascending", "DESCENDING", None]),
        "look_side": rng.choice(["left", "Right", None]),
        "instrument_mode": rng.choice(["stripmap", ["STRIPMAP", "scan"], []]),
        "platforms": rng.choice([["ICEYE-X7"], "iceye-x14", []]),
        "polarizations": rng.choice(["VV", ["hh", "VV"], []]),
        "collections": rng.choice([["iceye-grd"], "iceye-slc", []]),
        "max_items": rng.choice([1, 3, 100, None]),
        "filter": rng.choice([*_VALID_FILTERS, None]),
        "catalog": "catalogs/default",
        "headers": {"Authorization": f"Bearer {SECRET}"},
        "timeout": rng.choice([1, 30, 0.5]),
        "chunks": rng.choice([{"azimuth": 8}, {"range": 5, "azimuth": 16}, None]),
        "fill_value": rng.choice([0, -9999, 1.5, None]),
        "geocode": rng.choice([False, False, True, "EPSG:32648", {"crs": "EPSG:32648", "resolution": 30}]),
        "coregister": rng.choice([False, False, True, {"model": "shift", "window": 8, "grid": [2, 2]}]),
        "labelled": rng.choice([False, False, True]),
    }
    if values["bbox"] is not None:
        values["intersects"] = None
    return values[key]


def _leaves(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, slot) of ``value``'s members, without recursion."""
    found: list[tuple[Any, Any]] = []
    stack = [value]
    while stack and len(found) < 10_000:
        node = stack.pop()
        members = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for slot, member in members:
            found.append((node, slot))
            stack.append(member)
    return found


def _nudge(rng: random.Random, value: Any) -> Any:
    if isinstance(value, str):
        return rng.choice([value.upper(), value.lower(), f" {value}", value + "\n", value + "x", value * 3])
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        try:
            return rng.choice([-value, value * 10**6, value + 0.5, value * 1e300, 0, value - 1])
        except OverflowError:  # an integer too large for a float
            return -value
    return value


def _mutate(rng: random.Random, config: dict[str, Any]) -> str:
    action = rng.choice(["replace", "nested", "nudge", "drop", "add", "misspell", "hostile", "hostile"])
    if rng.random() < 0.45:
        key = rng.choice(KEYS)
        config[key] = _valid(rng, key)
        if key in ("bbox", "intersects") and config[key] is not None:
            config["intersects" if key == "bbox" else "bbox"] = None
        return f"valid {key}"
    if action == "replace":
        key = rng.choice(KEYS)
        config[key] = _json(rng)
        return f"replace {key}"
    if action in ("nested", "nudge") and (leaves := _leaves(config)):
        container, slot = rng.choice(leaves)
        if container is config.get("headers") or (container is config and slot == "headers"):
            return "skip"  # keep the planted secret where it belongs
        container[slot] = _json(rng) if action == "nested" else _nudge(rng, container[slot])
        return action
    if action == "drop" and config:
        key = rng.choice(sorted(config))
        if key != "headers":
            del config[key]
        return f"drop {key}"
    if action == "add":
        config[rng.choice(["url", "geometry", "strat_date", "", "x" * 300, "ſtart_date"])] = _json(rng)
        return "add"
    if action == "misspell" and config:
        key = rng.choice(sorted(config))
        config[key[:-1] + rng.choice(["", "s", "_"])] = config.pop(key)
        return f"misspell {key}"
    return _hostile(rng, config)


def _corrupt(rng: random.Random, text: str) -> tuple[str, str]:
    roll = rng.random()
    if roll < 0.3:
        where = rng.randrange(len(text) + 1)
        return text[:where] + rng.choice(["{", "}", "[", "]", '"', ",", ":", "\\", "NaN", "1e400"]) + text[
            where:
        ], "text insert"
    if roll < 0.5:
        return text[: rng.randrange(len(text) + 1)], "text truncated"
    if roll < 0.65:
        return "[" * 100_000 + "]" * 100_000, "text deep"
    if roll < 0.8:
        return text.rstrip("}") + ', "max_items": ' + _HUGE_INT + "}", "text huge integer"
    if roll < 0.9:
        return "\ufeff" + text.replace('"', "'", 1), "text quotes"
    return text + text, "text twice"


def make_case(seed: int, index: int) -> Case:
    """Return the ``index``-th case of the campaign with ``seed``.

    Parameters
    ----------
    seed
        The campaign's seed.
    index
        The case number.

    Returns
    -------
    Case
    """
    rng = random.Random(f"{seed}:{index}")
    _RAW.clear()
    config = copy.deepcopy(rng.choice(POOL))
    config["headers"] = {"Authorization": f"Bearer {SECRET}", "X-Api-Key": SECRET}
    if rng.random() < 0.5:
        config["catalog"] = f"https://fuzz:{SECRET}@stac.example.com/api"
    done = [_mutate(rng, config) for _ in range(rng.randint(1, 4))]
    text = json.dumps(config)  # NaN and Infinity come out as JavaScript tokens: invalid JSON, on purpose
    for token, raw in _RAW.items():
        text = text.replace(json.dumps(token), raw)
    if rng.random() < 0.12:
        text, what = _corrupt(rng, text)
        done.append(what)
    return Case(index, text, tuple(done))
