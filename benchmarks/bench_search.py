"""Search benchmark: median query latency of the embedded (DuckDB) and API (pgstac) backends on 100,000 items.

Builds a catalog of N items (default 100,000) without any raster: 80 real items are made from generated
ICEYE metadata (``metadata_fields`` -> ``IceyeMetadata`` -> ``create_item``), one per combination of product
type (GRD/SLC, hence collection), orbit state, look side, incidence band and latitude (5 or 15 deg N), and N
variants are derived from them by changing the id, platform (X2..X30), polarization (mostly VV), acquisition
time (3 years), incidence (10-45 deg) and location (footprints moved over a 20 deg x 20 deg region), so that
every filter is selective.

The items are written as the catalog's ``items.parquet`` (stac-geoparquet, through the same writer as
``icecube_stac.catalog``, rows sorted by id like an indexed catalog; the per-item JSON files are skipped)
and loaded into a throw-away PostgreSQL + pgstac + stac-fastapi-pgstac stack (pypgstac Loader with the
queryables ``publish`` registers). Then, for five typical configs, each turned into one body by
``to_search_body``:

  embedded  LocalCatalog(...).search(body): one client reused (1 warm-up, then EMBEDDED_RUNS timed runs)
  api       StacApi(url).search(body): pystac-client, pages of 500 (1 warm-up, then API_RUNS timed runs)
  baseline  the same selection in plain Python over the N in-memory item dicts (BASELINE_RUNS runs):
            cql2.Expr(body["filter"]).matches({"properties": item["properties"]}) for every item (the filter
            only references properties), AND shapely.intersects of pre-built footprints (a one-off, reported
            apart) with the bbox/intersects, then a sort by (start_datetime, id). It skips the coarse
            ``datetime`` interval of the body, which the exact end_datetime filter implies.
  search()  icecube_stac.search.search(config, backend=<the embedded LocalCatalog>, rules=False): what a
            caller waits for, i.e. the embedded search plus pystac.Item.from_dict of every item
  sorted    the embedded backend on a what-if copy of the parquet sorted by (start_datetime, id) in row
            groups of 10,000 rows, to show what the file layout costs

It prints the one-off costs (item generation, parquet writing, pgstac loading, a new DuckDB client...),
then one row per config: matches, the medians (ms), the ratios to the baseline, and whether every result
list holds the same ids in the same order.

Run:  python benchmarks/bench_search.py [--items 100000] [--no-api]
(the API side needs the ``server`` extra and PostgreSQL 15 + PostGIS from Debian; see
``tests/support/pgstac_server.py``, imported from this checkout). Takes about 5 minutes on 2 idle cores.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import cql2
import numpy as np
import pyarrow.parquet as pq
import pystac
import shapely
from numpy.typing import NDArray
from shapely.geometry import shape

from icecube_stac.catalog import PARQUET_NAME, _catalog_dict, _write_parquet
from icecube_stac.config import load_config
from icecube_stac.metadata import IceyeMetadata
from icecube_stac.publish import _check_schema, _ensure_queryables, _load, _pgstac_db
from icecube_stac.search import LocalCatalog, SearchBackend, StacApi, search, to_search_body
from icecube_stac.stac import collection_id, create_collection, create_item
from icecube_stac.testing import ProductSpec, metadata_fields

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
SORTED_ROW_GROUP = 10_000

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


# --------------------------------------------------------------------------- timing


def timed(func: Callable[[], T], runs: int) -> tuple[list[float], T]:
    """Run ``func`` ``runs`` (>= 1) times; return the durations (s) and the last result."""
    times: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return times, result


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


# --------------------------------------------------------------------------- backends


def write_catalog(root: Path, items: Sequence[dict[str, Any]]) -> Path:
    """Write items.parquet (rows sorted by id, as ``index`` does) and a minimal catalog.json."""
    root.mkdir(parents=True)
    (root / "catalog.json").write_text(json.dumps(_catalog_dict([], "search benchmark")), encoding="utf-8")
    _write_parquet(root / PARQUET_NAME, sorted(items, key=lambda item: str(item["id"])))
    return root / PARQUET_NAME


def write_sorted_copy(parquet: Path, root: Path) -> Path:
    """What-if layout: the same rows sorted by (start_datetime, id), in row groups of SORTED_ROW_GROUP rows."""
    root.mkdir(parents=True)
    (root / "catalog.json").write_text(json.dumps(_catalog_dict([], "search benchmark, sorted")), encoding="utf-8")
    table = pq.read_table(parquet).sort_by([("start_datetime", "ascending"), ("id", "ascending")])
    pq.write_table(table, root / PARQUET_NAME, row_group_size=SORTED_ROW_GROUP)  # keeps the geo metadata
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


# --------------------------------------------------------------------------- baseline


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


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Row:
    name: str
    ids: dict[str, list[str]]
    median_ms: dict[str, float]


def measure_backend(backend: SearchBackend, body: Mapping[str, Any], runs: int) -> tuple[float, list[str]]:
    def run() -> list[str]:
        return [str(item["id"]) for item in backend.search(body)]

    timed(run, 1)  # warm-up
    times, ids = timed(run, runs)
    return statistics.median(times) * 1000, ids


def measure(name: str, backends: Mapping[str, SearchBackend], data: Baseline, runs: Mapping[str, int]) -> Row:
    config = load_config(CONFIGS[name])
    body = to_search_body(config)
    ids: dict[str, list[str]] = {}
    median_ms: dict[str, float] = {}
    for label, backend in backends.items():
        median_ms[label], ids[label] = measure_backend(backend, body, runs[label])
    # What a caller of icecube_stac.search.search() waits for: the same backend plus pystac.Item.from_dict.
    public = functools.partial(search, config, backend=backends["embedded"], rules=False)
    median_ms["search()"], ids["search()"] = measure_backend(_Ids(public), body, runs["embedded"])
    times, ids["baseline"] = timed(lambda: baseline_search(data, body), runs["baseline"])
    median_ms["baseline"] = statistics.median(times) * 1000
    return Row(name, ids, median_ms)


class _Ids:
    """Adapts ``search(config, ...)`` (which returns pystac items) to the backend interface."""

    def __init__(self, run: Callable[[], pystac.ItemCollection]) -> None:
        self.run = run
        self.description = "icecube_stac.search.search()"

    def search(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [{"id": item.id} for item in self.run()]


def first_query(parquet: Path, costs: dict[str, float]) -> None:
    """Time a brand-new LocalCatalog: creating its DuckDB client (extension loading), then its first search."""
    catalog = LocalCatalog(parquet)
    body = to_search_body(load_config(CONFIGS["bbox+3 months"]))
    once("new LocalCatalog: DuckDB client + extensions", catalog._duckdb, costs)
    once("new LocalCatalog: first search after that", lambda: catalog.search(body), costs)


# --------------------------------------------------------------------------- report


def print_costs(costs: Mapping[str, float], files: Mapping[str, Path]) -> None:
    print("\none-off costs")
    for label, seconds in costs.items():
        print(f"  {label:<48} {seconds:8.2f} s")
    for label, path in files.items():
        meta = pq.ParquetFile(path).metadata
        print(
            f"  {label}: {path.stat().st_size / 2**20:.1f} MiB, {meta.num_rows:,} rows in {meta.num_row_groups} "
            "row group(s)"
        )


def _same(row: Row) -> str:
    reference = row.ids["embedded"]
    differing = [f"{k} {len(v)}" for k, v in row.ids.items() if v != reference]
    return "yes" if not differing else "NO: " + ", ".join(differing)


def _cell(ms: Mapping[str, float], key: str, width: int, ratio: bool = False) -> str:
    if key not in ms:
        return f"{'-':>{width}}"
    return f"{ms[key] / ms['baseline']:{width}.3f}" if ratio else f"{ms[key]:{width}.1f}"


def print_table(rows: Sequence[Row], runs: Mapping[str, int]) -> None:
    print(
        f"\nmedian latency per query, ms (embedded {runs['embedded']} runs, API {runs.get('api', 0)} runs, each after "
        f"1 warm-up; baseline {runs['baseline']} runs)"
    )
    header = (
        f"{'config':<20} {'matches':>7} {'embedded':>9} {'API':>8} {'baseline':>9} {'emb/base':>8} {'API/base':>8}"
        f" {'search()':>8} {'emb sorted':>10}  same ids ({'/'.join(rows[0].ids)})"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        ms = row.median_ms
        print(
            f"{row.name:<20} {len(row.ids['embedded']):>7} {_cell(ms, 'embedded', 9)} {_cell(ms, 'api', 8)}"
            f" {_cell(ms, 'baseline', 9)} {_cell(ms, 'embedded', 8, True)} {_cell(ms, 'api', 8, True)}"
            f" {_cell(ms, 'search()', 8)} {_cell(ms, 'sorted', 10)}  {_same(row)}"
        )
    print(
        "search(): icecube_stac.search.search(config, backend=<the same LocalCatalog>, rules=False), i.e. the "
        "embedded column plus pystac.Item.from_dict of every item"
    )
    print(
        f"emb sorted: the embedded backend on a what-if copy of items.parquet sorted by (start_datetime, id) in row "
        f"groups of {SORTED_ROW_GROUP:,} rows (the layout index() writes)"
    )


# --------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--embedded-runs", type=int, default=7)
    parser.add_argument("--api-runs", type=int, default=5)
    parser.add_argument("--baseline-runs", type=int, default=3)
    parser.add_argument("--no-api", action="store_true", help="skip PostgreSQL/pgstac (embedded and baseline only)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    warnings.filterwarnings("ignore", message=SORT_WARNING)
    runs = {"embedded": args.embedded_runs, "sorted": args.embedded_runs, "baseline": args.baseline_runs}
    if not args.no_api:
        runs["api"] = args.api_runs
    print(f"search benchmark: {args.items:,} items, {len(CONFIGS)} configs", flush=True)
    with tempfile.TemporaryDirectory(prefix="icecube-bench-search-") as tmp:
        benchmark(args, Path(tmp), runs)


def benchmark(args: argparse.Namespace, root: Path, runs: Mapping[str, int]) -> None:
    costs: dict[str, float] = {}
    templates = once("template items from generated metadata", make_templates, costs)
    items = once(f"derive {args.items:,} item dicts", lambda: derive_items(templates, args.items, args.seed), costs)
    parquet = once("write items.parquet (stac-geoparquet)", lambda: write_catalog(root / "catalog", items), costs)
    tuned = once("what-if: sorted copy of items.parquet", lambda: write_sorted_copy(parquet, root / "sorted"), costs)
    data = once("baseline: footprints as shapely polygons", lambda: make_baseline(items), costs)
    first_query(parquet, costs)
    files = {"items.parquet": parquet, "sorted copy": tuned}
    backends: dict[str, SearchBackend] = {"embedded": LocalCatalog(parquet), "sorted": LocalCatalog(tuned)}
    if args.no_api:
        search_all(backends, data, runs, costs, files)
        return
    pgstac_api = import_pgstac_harness()
    start = time.perf_counter()
    with pgstac_api() as stack:
        costs["start PostgreSQL + pgstac + API"] = time.perf_counter() - start
        collections = collection_records(templates, items)
        once(f"load {args.items:,} items into pgstac", lambda: load_pgstac(stack.dsn, collections, items), costs)
        backends["api"] = StacApi(stack.url, timeout=120)
        search_all(backends, data, runs, costs, files)


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
    backends: Mapping[str, SearchBackend],
    data: Baseline,
    runs: Mapping[str, int],
    costs: Mapping[str, float],
    files: Mapping[str, Path],
) -> None:
    rows = []
    for name in CONFIGS:
        rows.append(measure(name, backends, data, runs))
        print(f"  measured {name}", flush=True)
    print_costs(costs, files)
    print_table(rows, runs)


if __name__ == "__main__":
    main()
