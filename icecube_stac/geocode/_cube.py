"""Items → a lazy map-grid cube ``(time, y, x)``: the composition of the geocoding stage's parts.

The items are parsed, checked and laid on the time axis exactly as :func:`icecube_stac.cube.build_cube`
does (the same helpers); then the map grid is chosen (:mod:`._grid`), each product's geolocation is read
once (:mod:`._model`: the file's header, or the HDF5/XML RPC), every output block gets its source windows
(:mod:`._warp`) and one warp task per block is put in a hand-built dask graph. Coordinates are the
cube's per-item coords along ``time`` plus ``y``/``x`` in CRS units and the CF grid mapping (:mod:`._cf`).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import dask.array as da
import numpy as np
import pystac
import xarray as xr
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from icecube_stac._config_geocode import COMPLEX_REFUSED, GeocodeOptions
from icecube_stac.config import CubeConfig
from icecube_stac.cube._coords import dataset_attrs, time_coords
from icecube_stac.cube._plan import OnMissing, _check_single_level, _fill, _items, _readable, with_band_scale
from icecube_stac.cube._timeaxis import time_axis
from icecube_stac.cube._warnings import CubeWarning
from icecube_stac.errors import LoadError
from icecube_stac.geocode._cf import grid_coords, variable_grid_attrs
from icecube_stac.geocode._grid import MapGrid, area_of_interest, choose_grid
from icecube_stac.geocode._model import Geolocation, ModelChoice, read_geolocation
from icecube_stac.geocode._warp import (
    WarpSettings,
    WarpSource,
    block_windows,
    graph_task,
    probe_net,
    quantity_values,
)
from icecube_stac.item import ParsedItem, parse_item
from icecube_stac.vocabulary import ProductLevel

__all__ = ["DEFAULT_MAP_CHUNKS", "MAP_DIMS", "geocode_cube"]

MAP_DIMS: Final = ("time", "y", "x")
DEFAULT_MAP_CHUNKS: Final[Mapping[str, int]] = {"time": 1, "y": 2048, "x": 2048}
# Chunk sizes named for the sensor grid (the config's chunks, --chunks AZ,RG): azimuth rows are y, range columns x.
_SENSOR_NAMES: Final = {"azimuth": "y", "range": "x"}
_DEFAULT_QUANTITY: Final = {ProductLevel.GRD: "amplitude", ProductLevel.SLC: "beta0"}
_QUANTITY_ATTRS: Final[Mapping[str, Mapping[str, str]]] = {
    "amplitude": {
        "long_name": "amplitude (GRD: the DN as stored, NaN at DN 0; SLC: |slc|)",
        "units": "1",
        "comment": "GRD: sigma0 = calibration_factor * (DN * amplitude_scale + amplitude_offset)**2, as "
        "ds.iceye.sigma0() computes it",
    },
    "intensity": {"long_name": "intensity |DN|^2", "units": "1"},
    "beta0": {"long_name": "radar brightness beta nought (linear)", "units": "1"},
    "sigma0": {"long_name": "backscatter sigma nought (linear)", "units": "1"},
}
_CALIBRATION_COORDS: Final = (
    "calibration_factor",
    "amplitude_scale",
    "amplitude_offset",
    "incidence_angle",
    "incidence_near",
    "incidence_far",
)


def _quantity(options: GeocodeOptions, level: ProductLevel) -> str:
    quantity = options.quantity or _DEFAULT_QUANTITY[level]
    if quantity == "complex":
        raise LoadError("geocode.quantity 'complex': " + COMPLEX_REFUSED)
    # The calibration itself says what a level cannot give (beta0 of a GRD): asked once, on one pixel.
    sample = np.ones((1, 1), np.complex64 if level is ProductLevel.SLC else np.uint16)
    quantity_values(sample, level, quantity, dict.fromkeys(_CALIBRATION_COORDS, 1.0), 0, 1)
    return quantity


def _chunks(config: CubeConfig | None, chunks: Mapping[str, int] | None, grid: MapGrid, steps: int) -> dict[str, int]:
    sizes = dict(DEFAULT_MAP_CHUNKS)
    if config is not None and config.chunks:
        # The config's chunks are named for the sensor grid: azimuth rows are y, range columns are x.
        sizes.update({_SENSOR_NAMES.get(dim, dim): size for dim, size in config.chunks.items()})
    for name, size in (chunks or {}).items():
        dim = _SENSOR_NAMES.get(name, name)
        if dim not in MAP_DIMS:
            raise ValueError(f"chunks: unknown dimension {dim!r} of a geocoded cube; expected some of {list(MAP_DIMS)}")
        if isinstance(size, bool) or not isinstance(size, int) or (size < 1 and size != -1):
            raise ValueError(f"chunks: the {dim} chunk size must be a whole number >= 1 (or -1), got {size!r}")
        sizes[dim] = size
    extents = {"time": steps, "y": grid.height, "x": grid.width}
    return {dim: extents[dim] if sizes[dim] == -1 else min(sizes[dim], extents[dim]) for dim in MAP_DIMS}


def _bounds(extent: int, size: int) -> list[tuple[int, int]]:
    return [(start, min(start + size, extent)) for start in range(0, extent, size)]


def _dem_heights(dem: str | None, scene: float) -> list[float]:
    if dem is None:
        return [scene]
    import rasterio

    try:
        with rasterio.open(dem) as src:
            stats = src.stats(indexes=[1], approx=True)[0]
    except Exception as exc:  # rasterio/GDAL errors of any kind: the message names the key and the file
        raise LoadError(f"geocode.dem: cannot read the DEM raster {dem}: {exc}") from None
    return [scene, float(stats.min), float(stats.max)]


def _coords(item: ParsedItem) -> tuple[tuple[str, float], ...]:
    return tuple((name, float(getattr(item, name))) for name in _CALIBRATION_COORDS)


def _sources(
    present: Sequence[ParsedItem],
    models: Mapping[int, Geolocation],
    settings: WarpSettings,
    rows: Sequence[tuple[int, int]],
    cols: Sequence[tuple[int, int]],
) -> dict[int, dict[tuple[int, int], WarpSource]]:
    """Return, per item (``id()``), the :class:`WarpSource` of every block it reaches."""
    net = probe_net(settings.grid, rows, cols)
    found: dict[int, dict[tuple[int, int], WarpSource]] = {}
    for item in present:
        model = models[id(item)]
        assert item.shape is not None
        heights = _dem_heights(settings.dem, model.height)
        windows = block_windows(model, item.shape, settings, rows, cols, heights, net)
        found[id(item)] = {
            block: WarpSource(
                item.id, item.data_href, item.container, item.level, item.shape, window, model, _coords(item)
            )
            for block, window in windows.items()
        }
    return found


def _array(
    slots: Sequence[ParsedItem | None],
    sources: Mapping[int, Mapping[tuple[int, int], WarpSource]],
    settings: WarpSettings,
    sizes: Mapping[str, int],
) -> da.Array:
    grid = settings.grid
    bounds = [_bounds(len(slots), sizes["time"]), _bounds(grid.height, sizes["y"]), _bounds(grid.width, sizes["x"])]
    plan = [
        [None if s is None else sources[id(s)].get((bi, bj)) for s in slots]
        for bi in range(len(bounds[1]))
        for bj in range(len(bounds[2]))
    ]
    name = "icecube-stac-geocode-" + tokenize(plan, bounds, settings)
    graph: dict[Any, Any] = {}
    for ti, (t0, t1) in enumerate(bounds[0]):
        for bi, rows in enumerate(bounds[1]):
            for bj, cols in enumerate(bounds[2]):
                block = [None if s is None else sources[id(s)].get((bi, bj)) for s in slots[t0:t1]]
                graph[(name, ti, bi, bj)] = graph_task(block, rows, cols, settings)
    chunks = tuple(tuple(stop - start for start, stop in dim) for dim in bounds)
    layer = HighLevelGraph.from_collections(name, graph, dependencies=())
    array: da.Array = da.Array(layer, name, chunks=chunks, meta=np.empty((0, 0, 0), np.float32))  # type: ignore[no-untyped-call]
    return array


def _attrs(
    level: ProductLevel,
    config: CubeConfig | None,
    first: str,
    fill: float,
    settings: WarpSettings,
    options: GeocodeOptions,
    kinds: set[str],
) -> dict[str, Any]:
    attrs = dataset_attrs(level, config, first, fill)
    for name in ("sensor_geometry", "orientation", "grid_product"):
        attrs.pop(name, None)
    grid = settings.grid
    attrs |= {
        "title": f"ICEYE {level.value} time series on a map grid ({grid.crs})",
        "geocoded": 1,
        "geocoding": f"each product warped with GDAL from its own {' / '.join(sorted(kinds))} geolocation "
        f"({'DEM ' + settings.dem if settings.dem else 'at its average scene height'}), {settings.resampling} "
        f"resampling, onto {grid.width} x {grid.height} pixels of {grid.dx:g} x {grid.dy:g} CRS units; pixels "
        "outside every footprint are the fill value",
        "geocode": json.dumps(options.to_json(), sort_keys=True),
        "history": attrs["history"].replace("build_cube", "geocode_cube") + " geocoded onto a map grid",
    }
    return attrs


def geocode_cube(
    source: pystac.ItemCollection | Iterable[pystac.Item],
    options: GeocodeOptions | None = None,
    *,
    config: CubeConfig | None = None,
    chunks: Mapping[str, int] | None = None,
    fill_value: float | None = None,
    on_missing: OnMissing = "raise",
    geolocation: ModelChoice = "auto",
) -> xr.Dataset:
    """Build a lazy time-series cube on one map grid from ICEYE STAC items (GRD or SLC, legacy or COG).

    Parameters
    ----------
    source
        The items (e.g. :func:`~icecube_stac.search.search`'s result).
    options
        The geocoding options; default ``config.geocode`` when it is set, else automatic (UTM, ground spacing).
    config
        Time axis (``temporal_resolution``, dates, ``temporal_overlap``), area of interest (``bbox`` /
        ``intersects``: the UTM zone and the bounds), ``chunks`` (azimuth → y, range → x) and ``fill_value``.
    chunks
        Chunk sizes by dim (``time``, ``y``, ``x``; ``azimuth``/``range`` are taken as ``y``/``x``; -1 = whole);
        default one step × 2048 × 2048.
    fill_value
        Value of pixels no product covers and of empty slots; default NaN.
    on_missing
        As for :func:`~icecube_stac.cube.build_cube`.
    geolocation
        ``"auto"`` (each product's RPC, else its GCP grid), ``"rpc"`` or ``"gcp"``.

    Returns
    -------
    xarray.Dataset
        dims ``(time, y, x)``; one float32 variable named for the quantity (``amplitude``, ``intensity``,
        ``beta0``, ``sigma0``) with ``grid_mapping = "spatial_ref"``; ``x``/``y`` pixel-centre coordinates in
        CRS units; the ``spatial_ref`` grid mapping (CF + GDAL); the per-item coords of ``build_cube``.

    Raises
    ------
    LoadError
        As :func:`build_cube`, and when a product has no geolocation model, the area misses every footprint,
        the grid is too large, or the quantity is not available (complex samples; β0 of a GRD).
    """
    if options is None:
        options = config.geocode if config is not None and isinstance(config.geocode, GeocodeOptions) else None
    options = options or GeocodeOptions()
    if getattr(getattr(config, "coregister", None), "enabled", False):
        warnings.warn(
            "config key 'coregister' is ignored with geocode: every product is placed on the map grid by its own "
            "RPC/GCP geolocation; coregister in radar geometry (geocode: false) for a subpixel-aligned stack",
            CubeWarning,
            stacklevel=2,
        )
    parsed = [with_band_scale(parse_item(item)) for item in _items(source)]
    level = _check_single_level(parsed)
    quantity = _quantity(options, level)
    readable = _readable(parsed, on_missing)
    axis = time_axis([p for p in parsed if id(p) in readable], config)
    present = axis.present
    area = area_of_interest(config.bbox, config.intersects) if config is not None else None
    grid = choose_grid(options, present, area)
    fill = _fill(fill_value, config)
    # Absolute: GDAL opens the DEM inside each task, whose working directory may differ (dask workers).
    dem = None if options.dem is None else str(Path(options.dem).expanduser().resolve())
    settings = WarpSettings(grid, options.resampling, quantity, fill, dem)
    models = {id(item): read_geolocation(item, geolocation) for item in present}
    sizes = _chunks(config, chunks, grid, len(axis.slots))
    rows, cols = _bounds(grid.height, sizes["y"]), _bounds(grid.width, sizes["x"])
    sources = _sources(present, models, settings, rows, cols)
    data = _array(axis.slots, sources, settings, sizes)
    attrs = {**_QUANTITY_ATTRS[quantity], **variable_grid_attrs()}
    variable = xr.Variable(MAP_DIMS, data, attrs=attrs)
    shapes = [None if s is None else s.shape for s in axis.slots]
    coords: dict[str, Any] = {**time_coords(axis, shapes), **grid_coords(grid)}
    coords["geolocation"] = (
        "time",
        np.array([models[id(s)].kind if s else "" for s in axis.slots], dtype=object),
        {"long_name": "geolocation model each product was warped with (rpc or gcp)"},
    )
    kinds: set[str] = {model.kind for model in models.values()}
    return xr.Dataset(
        {quantity: variable},
        coords=coords,
        attrs=_attrs(level, config, present[0].id, fill, settings, options, kinds),
    )
