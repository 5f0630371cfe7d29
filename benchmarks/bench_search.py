"""Search benchmark: median query latency of the embedded (DuckDB) backend, against baselines of the same run.

Builds a catalog of N items (default 100,000) without any raster: 80 real items are made from generated
ICEYE metadata (``metadata_fields`` -> ``IceyeMetadata`` -> ``create_item``), one per combination of product
type (GRD/SLC, hence collection), orbit state, look side, incidence band and latitude (5 or 15 deg N), and N
variants are derived from them by changing the id, platform (X2..X30), polarization (mostly VV), acquisition
time (3 years), incidence (10-45 deg) and location (footprints moved over a 20 deg x 20 deg region), so that
every filter is selective.

The items are written as the catalog's ``items.parquet`` (stac-geoparquet rows as ``index`` writes them: in
time order, 10k-row groups; the per-item JSON files are skipped). Up to 200,000 items they are also kept in
memory, for the cql2 baseline, and loaded into a throw-away PostgreSQL + pgstac + stac-fastapi-pgstac stack
(pypgstac Loader with the queryables ``publish`` registers); above that they are generated and written in
chunks of 50,000 (bounded memory) and only the embedded side and the SQL baseline run. Then, for each config,
turned into one body by ``to_search_body`` (1 warm-up, then the median of RUNS timed runs for each column,
the columns taking turns; the benchmark's own objects are frozen out of the garbage collector first):

  embedded   LocalCatalog(...).search(body): item dicts with absolute hrefs (the backend interface)
  search()   icecube_stac.search.search(config, backend=<that LocalCatalog>, rules=False): pystac items, what a
             caller of the library waits for
  ids SQL    the baseline: plain DuckDB SQL over the same file returning just the matching ids in order
             (``SELECT id FROM read_parquet(...) WHERE <the same conditions> ORDER BY start_datetime, id``, on
             a connection from icecube_stac.duckdb_connection()): what the engine needs to find the matches
  rustac     the former embedded path, when rustac is installed (``--no-rustac`` skips it): rustac 0.9.8's
             DuckdbClient.search on the same file plus the same href rebasing; "rustac search()" adds
             pystac.Item.from_dict and ItemCollection(clone_items=True), i.e. search() before this change
  cql2       (N <= 200,000) the selection in plain Python over the N in-memory item dicts:
             cql2.Expr(body["filter"]).matches({"properties": ...}) for every item, AND shapely.intersects of
             pre-built footprints with the bbox/intersects, then a sort by (start_datetime, id)
  API        (N <= 200,000, unless --no-api) StacApi(url).search(body): pystac-client on stac-fastapi-pgstac
  before     (--before CHECKOUT) the embedded search (dicts and search()) of another checkout, e.g.
             ``git archive <commit> | tar -x -C /tmp/before``, in a child process on the same file, one
             search per request over a pipe (~0.1 ms of the figure), taking turns with the other columns;
             the child collects its garbage before every timed call of any column, outside the clock (it
             used to do so right after answering, beside the parent's next measured call)

The configs are five typical ones and two that match about 1,500 items whatever N is ("1.5k ..."): their date
window shrinks as N grows. It prints the one-off costs (generation, writing, loading, the parquet's size), the
cost of a fresh process (imports, first non-spatial and first spatial search), then one table: matches, the
medians (ms), the ratios to the ids SQL baseline, and whether every column found the same ids in the same order.

The one-off lines also time the href work of an indexed catalog's layout (Path.resolve per path, as before,
against RealPaths, which LocalCatalog now uses) and reading the state version of an N-product state file
(the whole JSON parsed, as before, against its first bytes).

Run:  python benchmarks/bench_search.py [--items 100000] [--no-api] [--no-rustac] [--before CHECKOUT]
(the API side needs the ``server`` extra and PostgreSQL 15 + PostGIS from Debian; see
``tests/support/pgstac_server.py``, imported from this checkout). 100,000 items: ~6 min on 2 idle cores;
1,000,000 items (``--items 1000000``, embedded and SQL only): ~12 min, 1.5 GiB of memory.
"""

from __future__ import annotations

import argparse
import functools
import gc
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import cql2
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pystac
import shapely
import stac_geoparquet.arrow
from numpy.typing import NDArray
from shapely.geometry import shape

from icecube_stac import duckdb_connection
from icecube_stac._duckdb_search import build_query, parquet_href
from icecube_stac._parquet import parquet_row
from icecube_stac.catalog import _catalog_dict, _write_parquet
from icecube_stac.config import CubeConfig, load_config
from icecube_stac.metadata import IceyeMetadata
from icecube_stac.publish import _check_schema, _ensure_queryables, _load, _pgstac_db
from icecube_stac.search import LocalCatalog, StacApi, search, to_search_body
from icecube_stac.stac import collection_id, create_collection, create_item
from icecube_stac.testing import ProductSpec, metadata_fields
from icecube_stac.vocabulary import PARQUET_NAME, resolve_href

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[1]

LEVELS = ("GRD", "SLC")
ORBITS = ("ASCENDING", "DESCENDING")
LOOKS = ("right", "left")
POLARIZATIONS = ("VV", "HH", "VH", "HV")
POLARIZATION_WEIGHTS = (0.85, 0.10, 0.03, 0.02)  # ICEYE acquires mostly VV
INCIDENCE_BANDS = (13.5, 20.5, 27.5, 34.5, 41.5)  # +/- 3.5 deg jitter: 10-45 deg
INCIDENCE_JITTER = 3.5
# Realistic stripmap footprints: about 15 x 20 km (GRD, 2.5 m pixels) and 9 x 16 km (SLC).
SHAPES = {"GRD": (8000, 6000), "SLC": (12000, 8000)}
TEMPLATE_LATITUDES = (5.0, 15.0)  # templates at two latitudes: variants take the nearer one's footprint shape
TEMPLATE_LON = 110.0
REGION = ((0.0, 20.0), (100.0, 120.0))  # lat range, lon range
EPOCH = datetime(2022, 1, 1, tzinfo=UTC)
SPAN_S = (datetime(2025, 1, 1, tzinfo=UTC) - EPOCH).total_seconds()
SORT_WARNING = "Server does not conform to SORT"
IN_MEMORY_LIMIT = 200_000  # above: streamed generation, embedded + SQL baseline only
CHUNK = 50_000  # items generated and written at a time (a multiple of the 10k row group)
ROW_GROUP = 10_000
DENSITY = 100_000  # the item count the configs' windows are sized for

CONFIGS: dict[str, dict[str, Any]] = {
    "dates+incidence": {
        "start_date": 20230301,
        "end_date": 20230430,
        "min_incidence_angle": 20,
        "max_incidence_angle": 30,
    },
    "bbox+3 months": {"bbox": [108.0, 8.0, 110.0, 10.0], "start_date": 20230101, "end_date": 20230331},
    "GRD+desc+right+AOI": {
        "product_type": "GRD",
        "orbit_state": "descending",
        "look_side": "right",
        "bbox": [104.0, 4.0, 107.0, 7.0],
    },
    "cql2 platform": {"filter": "platform = 'iceye-x14' AND \"view:incidence_angle\" >= 30"},
    "WKT area+year+SLC": {
        "intersects": "POLYGON ((112 12, 115.5 12.5, 115 15.5, 112.5 15, 112 12))",
        "start_date": 20230101,
        "end_date": 20231231,
        "product_type": "SLC",
    },
}


def scaled_configs(n: int) -> dict[str, dict[str, Any]]:
    """The five configs, and above DENSITY items two that still match ~1,500 (their windows shrink with N)."""
    if n <= DENSITY:
        return dict(CONFIGS)
    scale = DENSITY / n
    start = date(2023, 3, 1)
    short = start + timedelta(days=max(0, round(61 * scale) - 1))
    platform_end = date(2022, 1, 1) + timedelta(days=max(0, round(1096 * scale) - 1))
    return {
        **CONFIGS,
        "1.5k dates+incidence": {**CONFIGS["dates+incidence"], "end_date": short.strftime("%Y%m%d")},
        "1.5k platform+dates": {**CONFIGS["cql2 platform"], "end_date": platform_end.strftime("%Y%m%d")},
    }


# --------------------------------------------------------------------------- timing


SETTLE: list[Callable[[], None]] = []  # run before every timed call, outside the clock


def timed(func: Callable[[], T], runs: int) -> tuple[list[float], T]:
    """Run ``func`` ``runs`` (>= 1) times; return the durations (s) and the last result.

    The previous result is freed, and the garbage collected, before the clock starts: freeing thousands of
    items is not the search's cost. (The embedded search pauses the collector while it builds its result, so
    the young-generation pass over the new items, ~10-20 ms for 1,500, comes after it returns.)
    """
    times: list[float] = []
    results: list[T] = []
    for _ in range(runs):
        results.clear()
        gc.collect()  # each run starts clean: no run pays for the garbage collection another one left
        for settle in SETTLE:
            settle()  # a --before child collects its garbage too, and is idle while the clock runs
        start = time.perf_counter()
        results.append(func())
        times.append(time.perf_counter() - start)
    return times, results[0]


def once(label: str, func: Callable[[], T], costs: dict[str, float]) -> T:
    """Run ``func`` once and record its duration under ``label``."""
    times, result = timed(func, 1)
    costs[label] = times[0]
    return result


# --------------------------------------------------------------------------- items


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


@dataclass(frozen=True)
class Template:
    """One real item, and what variants change in it relative to its acquisition start."""

    text: str  # the item as JSON: json.loads gives a fresh deep copy
    collection: str
    level: str
    lat: float
    duration: timedelta
    zero_doppler: tuple[timedelta, timedelta]
    incidence: float


TemplateKey = tuple[str, str, str, float, float]  # level, orbit, look, incidence, latitude


def template_keys() -> list[TemplateKey]:
    return list(itertools.product(LEVELS, ORBITS, LOOKS, INCIDENCE_BANDS, TEMPLATE_LATITUDES))


def make_template(key: TemplateKey, seed: int) -> Template:
    level, orbit, look, incidence, lat = key
    spec = ProductSpec(
        level="GRD" if level == "GRD" else "SLC",
        orbit_direction="ASCENDING" if orbit == "ASCENDING" else "DESCENDING",
        look_side="left" if look == "left" else "right",
        incidence_center=incidence,
        shape=SHAPES[level],
        center_lat=lat,
        center_lon=TEMPLATE_LON,
        acquisition_start=EPOCH.replace(tzinfo=None),
        seed=seed,
    )
    meta = IceyeMetadata.from_fields(metadata_fields(spec), source=f"template {key}", source_format="xml")
    item = create_item(meta, data_href="/data/template.tif", metadata_href="/data/template.xml")
    data = item.to_dict(include_self_link=False, transform_hrefs=False)
    props = data["properties"]
    start = parse(props["start_datetime"])
    return Template(
        text=json.dumps(data),
        collection=collection_id(level),
        level=level,
        lat=lat,
        duration=parse(props["end_datetime"]) - start,
        zero_doppler=(
            parse(props["iceye:zero_doppler_start_datetime"]) - start,
            parse(props["iceye:zero_doppler_end_datetime"]) - start,
        ),
        incidence=float(props["view:incidence_angle"]),
    )


def make_templates() -> list[Template]:
    return [make_template(key, seed) for seed, key in enumerate(template_keys())]


@dataclass(frozen=True)
class Draws:
    """Random choices of every variant, drawn at once."""

    template: NDArray[np.int64]
    satellite: NDArray[np.int64]
    polarization: NDArray[np.int64]
    start_s: NDArray[np.float64]
    incidence_shift: NDArray[np.float64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]


def draw(n: int, seed: int) -> Draws:
    rng = np.random.default_rng(seed)
    lat = rng.uniform(*REGION[0], size=n)
    n_lat = len(TEMPLATE_LATITUDES)
    nearest = np.abs(lat[:, None] - np.array(TEMPLATE_LATITUDES)[None, :]).argmin(axis=1)
    # template_keys() varies the latitude fastest: a random combination of the rest, then the nearer latitude.
    combination = rng.integers(0, len(template_keys()) // n_lat, size=n)
    return Draws(
        template=combination * n_lat + nearest,
        satellite=rng.integers(2, 31, size=n),
        polarization=rng.choice(len(POLARIZATIONS), size=n, p=POLARIZATION_WEIGHTS),
        start_s=np.round(rng.uniform(0.0, SPAN_S, size=n), 6),
        incidence_shift=rng.uniform(-INCIDENCE_JITTER, INCIDENCE_JITTER, size=n),
        lat=lat,
        lon=rng.uniform(*REGION[1], size=n),
    )


def _shift_footprint(item: dict[str, Any], dlon: float, dlat: float) -> None:
    ring = item["geometry"]["coordinates"][0]
    item["geometry"]["coordinates"] = [[[x + dlon, y + dlat] for x, y in ring]]
    west, south, east, north = item["bbox"]
    item["bbox"] = [round(west + dlon, 9), round(south + dlat, 9), round(east + dlon, 9), round(north + dlat, 9)]
    centroid = item["properties"]["proj:centroid"]
    item["properties"]["proj:centroid"] = {"lat": centroid["lat"] + dlat, "lon": centroid["lon"] + dlon}


def _set_times(props: dict[str, Any], template: Template, start: datetime) -> None:
    props["start_datetime"] = iso(start)
    props["end_datetime"] = iso(start + template.duration)
    props["datetime"] = iso(start + template.duration / 2)
    props["iceye:zero_doppler_start_datetime"] = iso(start + template.zero_doppler[0])
    props["iceye:zero_doppler_end_datetime"] = iso(start + template.zero_doppler[1])


def _catalog_links() -> list[dict[str, str]]:
    # The links icecube_stac.catalog writes into every item.
    return [
        {"rel": "root", "href": "../../catalog.json", "type": "application/json", "title": "icecube-stac catalog"},
        {"rel": "parent", "href": "../collection.json", "type": "application/json"},
        {"rel": "collection", "href": "../collection.json", "type": "application/json"},
    ]


def derive(template: Template, index: int, draws: Draws) -> dict[str, Any]:
    item: dict[str, Any] = json.loads(template.text)
    props = item["properties"]
    start = EPOCH + timedelta(seconds=float(draws.start_s[index]))
    _set_times(props, template, start)
    satellite = int(draws.satellite[index])
    props["platform"] = f"iceye-x{satellite}"
    props["sar:polarizations"] = [POLARIZATIONS[int(draws.polarization[index])]]
    shift = float(draws.incidence_shift[index])
    props["view:incidence_angle"] = round(template.incidence + shift, 2)
    props["iceye:incidence_angle_near"] += shift
    props["iceye:incidence_angle_far"] += shift
    _shift_footprint(item, float(draws.lon[index]) - TEMPLATE_LON, float(draws.lat[index]) - template.lat)
    item_id = f"ICEYE_X{satellite}_{template.level}_SM_{1_000_000 + index}_{start:%Y%m%dT%H%M%S}"
    item["id"] = item_id
    item["collection"] = template.collection
    item["links"] = _catalog_links()
    suffix = ".tif" if template.level == "GRD" else ".h5"
    item["assets"]["data"]["href"] = f"/data/iceye/{item_id}/{item_id}{suffix}"
    item["assets"]["data"]["created"] = iso(start + timedelta(hours=2))
    item["assets"]["metadata"]["href"] = f"/data/iceye/{item_id}/{item_id}.xml"
    return item


def derive_items(templates: Sequence[Template], n: int, seed: int) -> list[dict[str, Any]]:
    draws = draw(n, seed)
    return [derive(templates[int(draws.template[i])], i, draws) for i in range(n)]


# --------------------------------------------------------------------------- catalog files


def _catalog_json(root: Path, title: str) -> None:
    root.mkdir(parents=True)
    (root / "catalog.json").write_text(json.dumps(_catalog_dict([], title)), encoding="utf-8")


def write_catalog(root: Path, items: Sequence[dict[str, Any]]) -> Path:
    """Write items.parquet through the catalog's own writer (time order, 10k-row groups) and a catalog.json."""
    _catalog_json(root, "search benchmark")
    _write_parquet(root / PARQUET_NAME, list(items))
    return root / PARQUET_NAME


def write_catalog_streaming(root: Path, templates: Sequence[Template], n: int, seed: int) -> Path:
    """Write N items in chunks (bounded memory), in the layout of the catalog's writer.

    The items are derived in time order, so the chunks follow one another in time; each is sorted by
    (start_datetime, id) and turned into parquet rows by ``parquet_row`` as ``index`` does.
    """
    _catalog_json(root, "search benchmark (streamed)")
    draws = draw(n, seed)
    order = np.argsort(draws.start_s, kind="stable")

    def tables() -> Iterator[pa.Table]:
        schema: pa.Schema | None = None
        for first in range(0, n, CHUNK):
            items = [derive(templates[int(draws.template[i])], int(i), draws) for i in order[first : first + CHUNK]]
            items.sort(key=lambda item: (item["properties"]["start_datetime"], item["id"]))
            rows = [parquet_row(item) for item in items]
            table = stac_geoparquet.arrow.parse_stac_items_to_arrow(rows).read_all()
            if schema is None:
                schema = table.schema
            elif not table.schema.equals(schema):
                table = table.cast(schema)  # the same fields; only the order of struct fields could differ
            yield table

    chunks = tables()
    head = next(chunks)
    tables_in_order = itertools.chain([head], chunks)
    batches = itertools.chain.from_iterable(t.to_batches(max_chunksize=ROW_GROUP) for t in tables_in_order)
    reader = pa.RecordBatchReader.from_batches(head.schema, batches)
    stac_geoparquet.arrow.to_parquet(reader, root / PARQUET_NAME)
    return root / PARQUET_NAME


def collection_records(templates: Sequence[Template], items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The two collections, with summaries from the templates and extents from all items."""
    records = []
    for level in LEVELS:
        cid = collection_id(level)
        members = [i for i in items if i["collection"] == cid]
        samples = [pystac.Item.from_dict(json.loads(t.text)) for t in templates if t.level == level]
        collection = create_collection(level, samples)
        boxes = np.array([i["bbox"] for i in members])
        bbox = [*boxes[:, :2].min(axis=0).tolist(), *boxes[:, 2:].max(axis=0).tolist()]
        start = min(parse(i["properties"]["start_datetime"]) for i in members)
        end = max(parse(i["properties"]["end_datetime"]) for i in members)
        collection.extent = pystac.Extent(pystac.SpatialExtent([bbox]), pystac.TemporalExtent([[start, end]]))
        record = collection.to_dict(include_self_link=False, transform_hrefs=False)
        record["links"] = []
        records.append(record)
    return records


def load_pgstac(dsn: str, collections: list[dict[str, Any]], items: Sequence[dict[str, Any]]) -> None:
    """Load like ``publish`` does (queryables, then upsert), without reading a static catalog."""
    records = ({**item, "links": []} for item in items)  # publish drops the catalog's structural links
    with _pgstac_db(dsn) as db:
        _check_schema(db, dsn, migrate=False)
        _ensure_queryables(db)
        _load(db, collections, list(records), "upsert")


# --------------------------------------------------------------------------- baselines


class IdsSql:
    """The baseline: the matching ids, in order, by plain DuckDB SQL over the same file."""

    def __init__(self, parquet: Path) -> None:
        self.parquet = parquet
        self.connection = duckdb_connection(spatial=True)
        self.connection.execute("SET enable_geoparquet_conversion = false")  # geometry as WKB, as the search has it

    def ids(self, body: Mapping[str, Any]) -> list[str]:
        with parquet_href(self.parquet) as href:
            source = f"read_parquet('{href}')"
            described = self.connection.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
            columns = {str(r[0]): str(r[1]) for r in described}
            sql = build_query(body, source, columns).sql
            ids_only = "SELECT id" + sql[sql.index(" FROM ") :]
            return [str(row[0]) for row in self.connection.execute(ids_only).fetchall()]


@dataclass(frozen=True)
class Baseline:
    """The N items in memory, with their footprints as shapely geometries and their sort keys."""

    properties: list[dict[str, Any]]
    footprints: NDArray[np.object_]
    keys: list[tuple[str, str]]
    ids: list[str]


def make_baseline(items: Sequence[dict[str, Any]]) -> Baseline:
    rings = np.array([item["geometry"]["coordinates"][0] for item in items], dtype=np.float64)
    footprints: NDArray[np.object_] = np.asarray(shapely.polygons(rings), dtype=object)
    return Baseline(
        properties=[{"properties": item["properties"]} for item in items],
        footprints=footprints,
        keys=[(item["properties"]["start_datetime"], item["id"]) for item in items],
        ids=[item["id"] for item in items],
    )


def _aoi(body: Mapping[str, Any]) -> shapely.Geometry | None:
    if "bbox" in body:
        west, south, east, north = (float(v) for v in body["bbox"])
        return shapely.box(west, south, east, north)
    if "intersects" in body:
        geometry: shapely.Geometry = shape(body["intersects"])
        return geometry
    return None


def baseline_search(data: Baseline, body: Mapping[str, Any]) -> list[str]:
    expr = cql2.Expr(body["filter"])
    hits = np.fromiter((expr.matches(p) for p in data.properties), dtype=bool, count=len(data.properties))
    aoi = _aoi(body)
    if aoi is not None:
        hits &= shapely.intersects(data.footprints, aoi)
    order = sorted(np.flatnonzero(hits).tolist(), key=data.keys.__getitem__)
    return [data.ids[i] for i in order]


# --------------------------------------------------------------------------- the former path (rustac)


class RustacPath:
    """``LocalCatalog.search`` and ``search()`` as they were before the embedded search ran its own SQL."""

    def __init__(self, root: Path) -> None:
        import rustac

        from icecube_stac._duckdb import extension_directory

        self.root = root
        client_class: Any = getattr(rustac, "DuckdbClient")  # noqa: B009 - the compiled class, untyped
        self.client = client_class(extension_directory=str(extension_directory()), install_extensions=False)

    def search(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        kwargs = {k.replace("-", "_"): v for k, v in body.items() if k != "filter-lang"}
        with parquet_href(self.root / PARQUET_NAME) as href:
            items: list[dict[str, Any]] = self.client.search(href, **kwargs)
        for item in items:
            item_dir = self.root / str(item.get("collection", "")) / "items"
            href = str((item_dir.parent / "collection.json").resolve())
            item["links"] = [{"rel": "collection", "href": href, "type": "application/json"}]
            for asset in item.get("assets", {}).values():
                asset["href"] = resolve_href(str(asset.get("href", "")), item_dir)
        return items

    def search_items(self, body: Mapping[str, Any]) -> pystac.ItemCollection:
        found = [pystac.Item.from_dict(d, preserve_dict=False, migrate=False) for d in self.search(body)]
        return pystac.ItemCollection(found)  # clone_items=True, as search() had it


def rustac_available() -> bool:
    try:
        import rustac  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Row:
    name: str
    ids: dict[str, list[str]]
    median_ms: dict[str, float]


Measured = Callable[[], Sequence[Any]]


def _id(found: Any) -> str:
    if isinstance(found, str):
        return found
    return str(found["id"] if isinstance(found, dict) else found.id)


def median_ms(run: Measured, runs: int) -> tuple[float, list[str]]:
    """1 warm-up, then the median of ``runs`` timed runs; the ids of the last run."""
    run()
    times, found = timed(run, runs)
    return statistics.median(times) * 1000, [_id(f) for f in found]


Column = Callable[[CubeConfig], Sequence[Any]]


def measure(name: str, config: CubeConfig, columns: Mapping[str, Column], runs: int) -> Row:
    """Time every column ``runs`` times, taking turns (column 1, 2, ..., 1, 2, ...), after one warm-up each.

    Taking turns spreads any change of the machine's load over all columns alike, which keeps the ratios
    fair on a shared host.
    """
    calls = {label: functools.partial(run, config) for label, run in columns.items()}
    ids = {label: [_id(f) for f in call()] for label, call in calls.items()}  # warm-up, and the ids
    times: dict[str, list[float]] = {label: [] for label in calls}
    for _ in range(runs):
        for label, call in calls.items():
            times[label] += timed(call, 1)[0]
    return Row(name, ids, {label: statistics.median(t) * 1000 for label, t in times.items()})


_BEFORE_CHILD = """
import gc, json, sys
sys.path.insert(0, sys.argv[1])
from icecube_stac.config import load_config
from icecube_stac.search import LocalCatalog, search, to_search_body
catalog = LocalCatalog(sys.argv[2])
gc.collect()
gc.freeze()
for line in sys.stdin:
    kind, keys, want_ids = json.loads(line)
    if kind == "settle":  # between timed calls: collect the last result's garbage, then say so
        gc.collect()
        print("[]", flush=True)
        continue
    config = load_config(keys)
    found = catalog.search(to_search_body(config)) if kind == "dicts" else search(config, backend=catalog, rules=False)
    ids = [f["id"] if isinstance(f, dict) else f.id for f in found]
    print(json.dumps(ids if want_ids else len(ids)), flush=True)
    del found  # its cycles (item <-> link owners) wait for the "settle" request, outside every clock
"""


class BeforeCheckout:
    """The embedded search of another checkout (``--before``), in a child process answering one search a line.

    The parent's clock includes one request and answer on a pipe (ids only on the warm-up call; a count
    otherwise), ~0.1 ms. Before every timed call (of any column) the child collects its garbage and says so
    (:data:`SETTLE`): its collection of a result's thousands of item cycles never runs beside a measured call.
    """

    def __init__(self, checkout: Path, parquet: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(checkout)}
        command = [sys.executable, "-c", _BEFORE_CHILD, str(checkout), str(parquet.parent)]
        self.child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.asked: set[tuple[str, str]] = set()
        SETTLE.append(self.settle)

    def settle(self) -> None:
        """Wait until the child has collected the garbage of its last search."""
        assert self.child.stdin is not None and self.child.stdout is not None
        self.child.stdin.write(json.dumps(["settle", {}, False]) + "\n")
        self.child.stdin.flush()
        self.child.stdout.readline()

    def search(self, kind: str, config: CubeConfig, keys: dict[str, Any]) -> list[str]:
        key = (kind, json.dumps(keys, sort_keys=True))
        want_ids = key not in self.asked
        self.asked.add(key)
        assert self.child.stdin is not None and self.child.stdout is not None
        self.child.stdin.write(json.dumps([kind, keys, want_ids]) + "\n")
        self.child.stdin.flush()
        answer = json.loads(self.child.stdout.readline())
        return list(answer) if want_ids else [""] * int(answer)


def columns_for(
    parquet: Path, data: Baseline | None, api: StacApi | None, with_rustac: bool, before: Path | None = None
) -> dict[str, Column]:
    local = LocalCatalog(parquet)
    sql = IdsSql(parquet)
    columns: dict[str, Column] = {
        "embedded": lambda c: local.search(to_search_body(c)),
        "search()": lambda c: search(c, backend=local, rules=False).items,
        "ids SQL": lambda c: sql.ids(to_search_body(c)),
    }
    if before is not None:
        former = BeforeCheckout(before, parquet)
        columns["before dicts"] = lambda c: former.search("dicts", c, CONFIG_KEYS[id(c)])
        columns["before search()"] = lambda c: former.search("items", c, CONFIG_KEYS[id(c)])
    if with_rustac:
        rustac_path = RustacPath(parquet.parent)
        columns["rustac"] = lambda c: rustac_path.search(to_search_body(c))
        columns["rustac search()"] = lambda c: rustac_path.search_items(to_search_body(c)).items
    if data is not None:
        columns["cql2"] = lambda c: baseline_search(data, to_search_body(c))
    if api is not None:
        columns["API"] = lambda c: api.search(to_search_body(c))
    return columns


_FRESH_PROCESS = """
import sys, time
start = time.perf_counter()
from icecube_stac import load_config, search
imported = time.perf_counter()
config = load_config(CONFIG, catalog=sys.argv[1])
found = search(config, rules=False)
print(imported - start, time.perf_counter() - imported, len(found))
"""


def fresh_process(parquet: Path, config: dict[str, Any], runs: int) -> tuple[float, float]:
    """Median seconds of a new interpreter: importing icecube_stac, then its first search (DuckDB start-up)."""
    code = _FRESH_PROCESS.replace("CONFIG", repr(config))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code, str(parquet.parent)], capture_output=True, text=True, check=True, env=env
        )
        imported, searched, _ = out.stdout.split()
        samples.append((float(imported), float(searched)))
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def rebasing_costs(parquet: Path, root: Path, runs: int) -> dict[str, float]:
    """Time the href work of a search result in the layout ``index`` writes, apart from the table.

    The benchmark catalog has absolute hrefs and no item JSON files; an indexed catalog has relative hrefs
    (two assets an item) and a JSON file per item (its self link). For the matches of "dates+incidence",
    in a scratch catalog with those JSON files: ``resolve_href`` + ``Path.resolve`` (what ``LocalCatalog``
    does per item) against ``icecube_stac._realpath.RealPaths`` (the same answers, folders resolved once).
    """
    from icecube_stac._realpath import RealPaths

    found = LocalCatalog(parquet).search(to_search_body(load_config(CONFIGS["dates+incidence"])))
    scratch = root / "layout"
    names = [(str(item["collection"]), str(item["id"])) for item in found]
    for collection, item_id in names:
        (scratch / collection / "items").mkdir(parents=True, exist_ok=True)
        (scratch / collection / "items" / f"{item_id}.json").write_text("{}", encoding="utf-8")
    hrefs = [f"../data/{item_id}/{item_id}.{suffix}" for _, item_id in names for suffix in ("tif", "xml")]

    def per_path() -> list[str]:
        own = [scratch / c / "items" / f"{i}.json" for c, i in names]
        return [str(p.resolve()) for p in own if p.is_file()] + [resolve_href(h, scratch) for h in hrefs]

    def batched() -> list[str]:
        paths, base = RealPaths(), str(scratch)
        own = [f"{base}/{c}/items/{i}.json" for c, i in names]
        return [paths.resolve(p) for p in own if os.path.isfile(p)] + [paths.href(h, base) for h in hrefs]

    label = f"{len(names):,} items' hrefs + self links, index layout"
    before, batch = median_ms(per_path, runs)[0], median_ms(batched, runs)[0]
    return {
        f"{label}: Path.resolve (before)": before / 1000,
        f"{label}: RealPaths (now, in LocalCatalog)": batch / 1000,
        **state_costs(scratch, len(found), runs),
    }


def state_costs(scratch: Path, matches: int, runs: int) -> dict[str, float]:
    """Time reading the state version of an indexed catalog of N products, as each search does.

    The state file ``index`` writes holds one fingerprint per product after its version; before this change
    every search parsed all of it (``json.loads``), now :func:`icecube_stac._parquet.legacy_item_hrefs` reads
    its first bytes. The file here has as many entries as the benchmark has items.
    """
    from icecube_stac._parquet import legacy_item_hrefs
    from icecube_stac.vocabulary import STATE_NAME

    count = max(matches, ARGS_ITEMS[0])
    state: dict[str, Any] = {"version": 2, "catalog": str(scratch), "asset_hrefs": "relative"}
    # As index writes them: per product, [path, size, mtime_ns] of its raster and its XML sidecar.
    state["items"] = {
        f"ICEYE_X7_GRD_SM_{k:07d}_20240301T034127": [
            [
                f"/data/products/ICEYE_X7_SM_{k:07d}_20240301T034127/ICEYE_X7_GRD_SM_{k:07d}.{suffix}",
                size,
                1796122225551406652 + k,
            ]
            for suffix, size in (("tif", 33605928), ("xml", 22311))
        ]
        for k in range(count)
    }
    (scratch / STATE_NAME).write_text(json.dumps(state, indent=2), encoding="utf-8")  # as dump_json
    parquet = scratch / "items.parquet"

    def whole() -> list[str]:
        data = json.loads((scratch / STATE_NAME).read_text(encoding="utf-8"))
        return [str(data.get("version") == 1)]

    label = f"state version of a {count:,}-product state file ({(scratch / STATE_NAME).stat().st_size / 2**20:.0f} MiB)"
    return {
        f"{label}: whole parse (before)": median_ms(whole, runs)[0] / 1000,
        f"{label}: first bytes (now)": median_ms(lambda: [str(legacy_item_hrefs(parquet))], runs)[0] / 1000,
    }


# --------------------------------------------------------------------------- report


def print_costs(costs: Mapping[str, float], parquet: Path) -> None:
    print("\none-off costs")
    for label, seconds in costs.items():
        print(f"  {label:<66} {seconds:8.3f} s")
    meta = pq.ParquetFile(parquet).metadata
    print(
        f"  items.parquet: {parquet.stat().st_size / 2**20:.1f} MiB, {meta.num_rows:,} rows in {meta.num_row_groups} "
        "row group(s)"
    )


def _same(row: Row) -> str:
    reference = row.ids["embedded"]
    differing = [f"{k} {len(v)}" for k, v in row.ids.items() if v != reference]
    return "yes" if not differing else "NO: " + ", ".join(differing)


def _ratio(value: float, base: float, label: str) -> str:
    return "       " if label == "ids SQL" else f" {value / base:5.1f}x"


def print_table(rows: Sequence[Row], runs: int, n: int) -> None:
    labels = list(rows[0].median_ms)
    print(f"\n{n:,} items: median ms per query ({runs} runs after 1 warm-up); x = ratio to the ids SQL baseline")
    header = f"{'config':<22} {'matches':>7}" + "".join(f" {label:>15}" for label in labels) + "  same ids"
    print(header)
    print("-" * len(header))
    for row in rows:
        ms = row.median_ms
        base = ms["ids SQL"]
        cells = "".join(f" {ms[label]:8.1f}" + _ratio(ms[label], base, label) for label in labels)
        print(f"{row.name:<22} {len(row.ids['embedded']):>7}{cells}  {_same(row)}")
    print(
        "embedded: LocalCatalog.search (item dicts); search(): search(config, backend=<the same>, rules=False) "
        "(pystac items); rustac: the same two before this change"
    )


# --------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=7, help="timed runs per column (median; default 7)")
    parser.add_argument("--fresh-runs", type=int, default=5, help="fresh interpreters timed (default 5)")
    parser.add_argument("--no-api", action="store_true", help="skip PostgreSQL/pgstac")
    parser.add_argument("--no-rustac", action="store_true", help="skip the former rustac path")
    parser.add_argument("--only", action="append", help="measure only this config (repeatable)")
    parser.add_argument(
        "--before",
        type=Path,
        help="another checkout (e.g. git archive of an older commit): its embedded search as two more columns",
    )
    parser.add_argument(
        "--keep", type=Path, help="above 200,000 items: write the catalog to this new folder, or reuse the one there"
    )
    return parser.parse_args()


ARGS_ITEMS = [100_000]  # the --items of this run, for the state-file line
CONFIG_KEYS: dict[int, dict[str, Any]] = {}  # config object id -> its keys


def main() -> None:
    args = parse_args()
    ARGS_ITEMS[0] = args.items
    warnings.filterwarnings("ignore", message=SORT_WARNING)
    configs = scaled_configs(args.items)
    if args.only:
        unknown = sorted(set(args.only) - set(configs))
        if unknown:
            raise SystemExit(f"unknown config(s) {unknown}; known: {list(configs)}")
        configs = {name: configs[name] for name in args.only}
    print(f"search benchmark: {args.items:,} items, {len(configs)} configs, load {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="icecube-bench-search-") as tmp:
        benchmark(args, Path(tmp), configs)


def _generated(parquet: Path, n: int) -> bool:
    return parquet.is_file() and pq.ParquetFile(parquet).metadata.num_rows == n


def benchmark(args: argparse.Namespace, root: Path, configs: Mapping[str, dict[str, Any]]) -> None:
    costs: dict[str, float] = {}
    templates = once("template items from generated metadata", make_templates, costs)
    in_memory = args.items <= IN_MEMORY_LIMIT
    items: list[dict[str, Any]] = []
    if in_memory:
        items = once(f"derive {args.items:,} item dicts", lambda: derive_items(templates, args.items, args.seed), costs)
        parquet = once("write items.parquet (stac-geoparquet)", lambda: write_catalog(root / "catalog", items), costs)
    elif args.keep is not None and _generated(args.keep / PARQUET_NAME, args.items):
        parquet = args.keep / PARQUET_NAME  # made by an earlier run with --keep (same --items and --seed)
    else:
        target = args.keep or root / "catalog"
        make = functools.partial(write_catalog_streaming, target, templates, args.items, args.seed)
        parquet = once(f"derive and write {args.items:,} items in chunks", make, costs)
    data = None
    if in_memory:
        data = once("cql2 baseline: footprints as shapely polygons", lambda: make_baseline(items), costs)
    for label, config in (("non-spatial", CONFIGS["dates+incidence"]), ("spatial", CONFIGS["bbox+3 months"])):
        imported, searched = fresh_process(parquet, config, args.fresh_runs)
        costs[f"fresh process ({label}): import icecube_stac (median of {args.fresh_runs})"] = imported
        costs[f"fresh process: first {label} search (median of {args.fresh_runs})"] = searched
    with_rustac = not args.no_rustac and rustac_available()
    if args.no_api or not in_memory:
        search_all(configs, columns_for(parquet, data, None, with_rustac, args.before), args, costs, parquet)
        return
    pgstac_api = import_pgstac_harness()
    start = time.perf_counter()
    with pgstac_api() as stack:
        costs["start PostgreSQL + pgstac + API"] = time.perf_counter() - start
        collections = collection_records(templates, items)
        once(f"load {args.items:,} items into pgstac", lambda: load_pgstac(stack.dsn, collections, items), costs)
        api = StacApi(stack.url, timeout=120)
        search_all(configs, columns_for(parquet, data, api, with_rustac, args.before), args, costs, parquet)


def import_pgstac_harness() -> Callable[..., AbstractContextManager[Any]]:
    """``pgstac_api`` from the test support of this checkout (not part of the runtime package).

    ``python benchmarks/bench_search.py`` puts ``benchmarks/`` on ``sys.path``, not the repository root
    that holds the ``tests`` package, so the root is added here.
    """
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.support.pgstac_server import check_stack_requirements, pgstac_api

    check_stack_requirements()  # says what to install (or use --no-api) before any work is lost
    return pgstac_api


def search_all(
    configs: Mapping[str, dict[str, Any]],
    columns: Mapping[str, Column],
    args: argparse.Namespace,
    costs: Mapping[str, float],
    parquet: Path,
) -> None:
    # The benchmark's own heap (N item dicts for the cql2 baseline and pgstac) would make every full garbage
    # collection cost ~0.3 s, in whichever column it falls: frozen, it is never walked (a search process does
    # not hold it).
    gc.collect()
    gc.freeze()
    rows = []
    for name, keys in configs.items():
        config = load_config(keys)
        CONFIG_KEYS[id(config)] = keys  # what a --before child is sent
        rows.append(measure(name, config, columns, args.runs))
        print(f"  measured {name} (load {os.getloadavg()[0]:.1f})", flush=True)
    print_costs({**costs, **rebasing_costs(parquet, parquet.parent.parent, args.runs)}, parquet)
    print_table(rows, args.runs, args.items)


if __name__ == "__main__":
    main()
