"""STAC items → a lazy ``xarray.Dataset`` time series in sensor geometry (ARCHITECTURE.md decision 6).

Layout
------
dims ``("time", "azimuth", "range")`` with 0-based integer pixel coords. GRD items give the variable
``amplitude`` (float32 DN exactly as stored in the uint16 GeoTIFF); SLC items give ``slc`` (complex64
``s_i + 1j*s_q``, no scaling), read through :mod:`icecube_stac.formats`. Per-item STAC properties become
non-dimension coords along ``time`` (as stackstac does); ``stac_item`` keeps each item's full JSON.

Grid
----
The first item (in time order) defines the (azimuth, range) grid. Pixel (0, 0) of every product is put at
grid pixel (0, 0); a product with another shape is padded at the end (bottom/right) with the fill value or
cropped, with a :class:`ShapeMismatchWarning`. ``coregistered=true`` in the config states that the stack is
pixel-aligned: shapes are then expected to agree (padding/cropping is a no-op) and ``space_overlap`` is not
applied. ``coregistered=false`` (the default) means the products are only roughly co-located: pixel
(azimuth, range) is *not* the same ground point across time; the dataset attrs say so.

Time
----
``temporal_resolution=0`` keeps the natural timeline (one step per item, at the item's ``datetime``).
``temporal_resolution=N>0`` reproduces icecube's grid: slots every N days from ``start_date`` to
``end_date``; each item goes to the slot containing its acquisition date (the UTC date of its acquisition
end, as icecube dates it); empty slots hold the fill value and empty/NaN coords.

Reading
-------
The dask graph is built by hand: every task calls :func:`read_block` with picklable arguments (hrefs,
windows, dtype, fill) and opens its files by path inside the task, because h5py objects cannot be pickled.
Building a cube therefore opens no file (shapes come from ``proj:shape``) and the same cube computes on a
``dask.distributed`` cluster with worker processes.
"""

from __future__ import annotations

import functools
import json
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Final, Literal, cast
from urllib.parse import urlsplit
from urllib.request import url2pathname

import dask.array as da
import numpy as np
import numpy.typing as npt
import pandas as pd
import pystac
import xarray as xr
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

import icecube_stac.calibration  # noqa: F401 - registers the ds.iceye accessor on every cube
from icecube_stac.config import CubeConfig
from icecube_stac.errors import IcecubeStacWarning, LoadError
from icecube_stac.formats.geotiff import read_grd_window
from icecube_stac.formats.hdf5 import read_slc_window
from icecube_stac.search import apply_selection_rules, search

__all__ = [
    "DEFAULT_CHUNKS",
    "DIMS",
    "CubeWarning",
    "RasterSource",
    "ShapeMismatchWarning",
    "SkippedItemWarning",
    "TimeSlotWarning",
    "build_cube",
    "read_block",
]

Level = Literal["GRD", "SLC"]
OnMissing = Literal["raise", "skip"]

DIMS: Final = ("time", "azimuth", "range")
DEFAULT_CHUNKS: Final[Mapping[str, int]] = {"time": 1, "azimuth": 2048, "range": 2048}
VARIABLES: Final[Mapping[Level, str]] = {"GRD": "amplitude", "SLC": "slc"}
_DTYPES: Final[Mapping[Level, str]] = {"GRD": "float32", "SLC": "complex64"}
# STAC data_type of the data asset (stac.py) and raster suffixes, used when product:type is absent.
_LEVEL_BY_DATA_TYPE: Final[Mapping[str, Level]] = {"uint16": "GRD", "cint16": "SLC", "cfloat32": "SLC"}
_LEVEL_BY_SUFFIX: Final[Mapping[str, Level]] = {".tif": "GRD", ".tiff": "GRD", ".h5": "SLC", ".hdf5": "SLC"}
_ASSET_DATA: Final = "data"
_ASSET_METADATA: Final = "metadata"
_CHOOSE_PRODUCT: Final = (
    'choose one with "product_type": "GRD" or "product_type": "SLC" in config.json '
    "(or --product-type GRD|SLC on the command line)"
)

_VARIABLE_ATTRS: Final[Mapping[Level, Mapping[str, str]]] = {
    "GRD": {
        "long_name": "GRD amplitude DN as stored (uint16 GeoTIFF, sigma0-scaled)",
        "units": "1",
        "comment": "sigma0 = calibration_factor * DN**2 (ICEYE already applied sin(incidence)); "
        "see icecube_stac.calibration",
    },
    "SLC": {
        "long_name": "single look complex s_i + 1j*s_q (DN, unscaled)",
        "units": "1",
        "comment": "beta0 = calibration_factor * |slc|**2; see icecube_stac.calibration",
    },
}
_COORD_ATTRS: Final[Mapping[str, Mapping[str, str]]] = {
    "azimuth": {"long_name": "azimuth line index (0-based row of the grid product)", "units": "1"},
    "range": {"long_name": "range sample index (0-based column of the grid product)", "units": "1"},
    "id": {"long_name": "STAC item id (ICEYE product name)"},
    "incidence_angle": {"long_name": "scene-centre incidence angle (view:incidence_angle)", "units": "degree"},
    "orbit_state": {"long_name": "orbit direction (sat:orbit_state)"},
    "look_side": {"long_name": "antenna look side (sar:observation_direction)"},
    "platform": {"long_name": "satellite (platform)"},
    "instrument_mode": {"long_name": "acquisition mode (sar:instrument_mode)"},
    "product_type": {"long_name": "product level (product:type)"},
    "start_datetime": {"long_name": "acquisition start (UTC)"},
    "end_datetime": {"long_name": "acquisition end (UTC)"},
    "calibration_factor": {"long_name": "ICEYE radiometric calibration factor (iceye:calibration_factor)"},
    "stac_item": {"long_name": "full STAC item JSON"},
    "data_href": {"long_name": "href of the data asset"},
    "metadata_href": {"long_name": "href of the ICEYE XML metadata asset"},
}
# Coord name -> STAC property, for the scalar properties copied as they are.
_TEXT_PROPERTIES: Final = {
    "orbit_state": "sat:orbit_state",
    "look_side": "sar:observation_direction",
    "platform": "platform",
    "instrument_mode": "sar:instrument_mode",
}
_NUMBER_PROPERTIES: Final = {
    "incidence_angle": "view:incidence_angle",
    "calibration_factor": "iceye:calibration_factor",
}


class CubeWarning(IcecubeStacWarning):
    """Base of the recoverable problems met while building a cube."""


class ShapeMismatchWarning(CubeWarning):
    """Some products do not have the grid's shape; they were padded with the fill value or cropped."""


class SkippedItemWarning(CubeWarning):
    """Items were left out because their data asset is missing (``on_missing="skip"``)."""


class TimeSlotWarning(CubeWarning):
    """Items were left out of a time grid: outside ``start_date``..``end_date`` or not the latest of a slot."""


@dataclass(frozen=True)
class RasterSource:
    """Everything a task needs to read one item's pixels: plain values, no open handles (picklable).

    Attributes
    ----------
    item_id
        The STAC item id, for error messages.
    href
        The data asset href: a local path, a ``file://`` URL or a remote URL (http(s), s3, ...).
    level
        ``"GRD"`` (GeoTIFF DN) or ``"SLC"`` (HDF5 ``s_i``/``s_q``).
    shape
        (azimuth, range) shape of the raster, from ``proj:shape``.
    """

    item_id: str
    href: str
    level: Level
    shape: tuple[int, int]


@dataclass(frozen=True)
class _Layer:
    item: pystac.Item
    source: RasterSource
    time: pd.Timestamp  # naive UTC
    acquired: date  # UTC date of the acquisition end: icecube's acquisition date


# --------------------------------------------------------------------------------------------------------
# Reading (runs inside dask tasks, possibly in another process)
# --------------------------------------------------------------------------------------------------------


def _local_path(href: str) -> Path | None:
    """Return the local path of an href, or None when it is remote."""
    parts = urlsplit(href)
    if parts.scheme == "file":
        return Path(url2pathname(parts.path))
    # One-letter "schemes" are Windows drive letters.
    if len(parts.scheme) <= 1:
        return Path(href)
    return None


def _read_window(source: RasterSource, rows: slice, cols: slice) -> npt.NDArray[Any]:
    local = _local_path(source.href)
    if source.level == "GRD":
        # GDAL reads http(s)/s3/gs URLs itself (rasterio maps them to its /vsi* file systems).
        return read_grd_window(local if local is not None else source.href, rows, cols)
    if local is not None:
        return read_slc_window(local, rows, cols)
    import fsspec

    with fsspec.open(source.href, "rb") as fileobj:
        # h5py.File accepts a seekable file object in place of a path; the reader only passes it on.
        return read_slc_window(cast(Any, fileobj), rows, cols)


def _fill_scalar(dtype: np.dtype[Any], fill: float) -> Any:
    # Complex cubes carry the fill in both parts: NaN -> NaN+NaN·j, 0 -> 0+0j.
    return complex(fill, fill) if dtype.kind == "c" else fill


def _read_or_fail(source: RasterSource, rows: slice, cols: slice) -> npt.NDArray[Any]:
    try:
        return _read_window(source, rows, cols)
    except Exception as exc:
        # A bare h5py/GDAL error from a worker says nothing about which item failed.
        message = f"item {source.item_id!r}: cannot read {source.href}: {type(exc).__name__}: {exc}"
    # Raised outside the handler, without __cause__/__context__: dask.distributed pickles the whole chain and
    # replaces the error by a plain Exception when any link (often a library's own error type) cannot be pickled.
    raise LoadError(message)


def read_block(
    sources: Sequence[RasterSource | None],
    rows: tuple[int, int],
    cols: tuple[int, int],
    dtype: str,
    fill: float,
) -> npt.NDArray[Any]:
    """Read one cube block: a window of each time step's raster, padded with ``fill`` where there is none.

    Parameters
    ----------
    sources
        One entry per time step of the block; None for an empty time slot.
    rows, cols
        ``(start, stop)`` of the block in grid pixels. Parts outside a raster's own shape are filled.
    dtype
        Output dtype (``float32`` for GRD, ``complex64`` for SLC).
    fill
        Fill value (in both real and imaginary parts for complex output).

    Returns
    -------
    numpy.ndarray
        Shape ``(len(sources), rows[1] - rows[0], cols[1] - cols[0])``.

    Raises
    ------
    LoadError
        When a raster cannot be read; the message names the item id and the href.
    """
    out_dtype = np.dtype(dtype)
    out = np.full((len(sources), rows[1] - rows[0], cols[1] - cols[0]), _fill_scalar(out_dtype, fill), out_dtype)
    for k, source in enumerate(sources):
        if source is None:
            continue
        row_stop, col_stop = min(rows[1], source.shape[0]), min(cols[1], source.shape[1])
        if row_stop <= rows[0] or col_stop <= cols[0]:
            continue  # the block lies entirely in this product's padding
        data = _read_or_fail(source, slice(rows[0], row_stop), slice(cols[0], col_stop))
        expected = (row_stop - rows[0], col_stop - cols[0])
        if data.shape != expected:
            raise LoadError(
                f"item {source.item_id!r}: reading rows {rows[0]}:{row_stop}, columns {cols[0]}:{col_stop} of "
                f"{source.href} gave shape {data.shape}, not {expected}: the raster is smaller than its STAC "
                f"proj:shape {list(source.shape)}"
            )
        out[k, : expected[0], : expected[1]] = data
    return out


# --------------------------------------------------------------------------------------------------------
# Items -> layers
# --------------------------------------------------------------------------------------------------------


def _resolve_source(
    source: CubeConfig | pystac.ItemCollection | Iterable[pystac.Item], config: CubeConfig | None
) -> tuple[list[pystac.Item], CubeConfig | None]:
    if isinstance(source, CubeConfig):
        if config is not None:
            raise TypeError("build_cube(): give the config either as the source or as config=, not both")
        items = list(search(source))
        if not items:
            raise LoadError(
                f"no items matched the search in {source.catalog}: check the dates, incidence range, product "
                "type and filters of the config (`icecube-stac search CONFIG` lists the matches)"
            )
        return items, source
    if isinstance(source, (str, bytes, Path)) or not isinstance(source, Iterable):
        raise TypeError(
            f"build_cube() needs a CubeConfig, a pystac.ItemCollection or pystac.Items, not {type(source).__name__}"
        )
    items = list(source)
    wrong = [type(i).__name__ for i in items if not isinstance(i, pystac.Item)]
    if wrong:
        raise TypeError(f"build_cube() needs pystac.Item objects, got {', '.join(sorted(set(wrong)))}")
    if not items:
        raise LoadError("no items matched the search (the item list given to build_cube is empty)")
    if config is not None:
        # Idempotent on search() output; needed when the items come from elsewhere.
        items = apply_selection_rules(items, config)
    return items, config


def _level(item: pystac.Item, asset: pystac.Asset | None) -> Level:
    for key in ("product:type", "sar:product_type"):
        value = str(item.properties.get(key) or "").upper()
        if value in ("GRD", "SLC"):
            return cast(Level, value)
    if asset is not None:
        data_type = str(asset.extra_fields.get("data_type", ""))
        if data_type in _LEVEL_BY_DATA_TYPE:
            return _LEVEL_BY_DATA_TYPE[data_type]
        suffix = Path(urlsplit(asset.href).path).suffix.lower()
        if suffix in _LEVEL_BY_SUFFIX:
            return _LEVEL_BY_SUFFIX[suffix]
    raise LoadError(
        f"item {item.id!r}: cannot tell whether it is a GRD or an SLC product (no product:type property, "
        "no data asset data_type, no .tif/.h5 href)"
    )


def _data_asset(item: pystac.Item) -> pystac.Asset | None:
    asset = item.assets.get(_ASSET_DATA)
    if asset is not None:
        return asset
    return next((a for a in item.assets.values() if "data" in (a.roles or [])), None)


def _absolute_href(item: pystac.Item, asset: pystac.Asset) -> str:
    href = asset.get_absolute_href() or asset.href
    return str(href)


def _proj_shape(item: pystac.Item, asset: pystac.Asset) -> tuple[int, int] | None:
    value = asset.extra_fields.get("proj:shape", item.properties.get("proj:shape"))
    if value is None:
        return None
    try:
        naz, nrg = (int(v) for v in value)
    except (TypeError, ValueError):
        raise LoadError(f"item {item.id!r}: proj:shape {value!r} is not [azimuth, range]") from None
    if naz < 1 or nrg < 1:
        raise LoadError(f"item {item.id!r}: proj:shape {value!r} is empty")
    return naz, nrg


def _probe_shape(item_id: str, href: str, level: Level) -> tuple[int, int]:
    """Open a raster for its shape: only for items without ``proj:shape``."""
    try:
        if level == "GRD":
            import rasterio

            local = _local_path(href)
            with rasterio.open(local if local is not None else href) as src:
                return int(src.height), int(src.width)
        import fsspec
        import h5py

        local = _local_path(href)
        with fsspec.open(str(local) if local is not None else href, "rb") as fileobj, h5py.File(fileobj, "r") as h5:
            shape = h5["s_i"].shape
            return int(shape[0]), int(shape[1])
    except Exception as exc:
        raise LoadError(f"item {item_id!r}: cannot read the shape of {href}: {exc}") from exc


def _utc_naive(value: datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(UTC).tz_localize(None)
    return stamp.as_unit("ns")


def _item_time(item: pystac.Item) -> tuple[pd.Timestamp, date]:
    start, end = item.properties.get("start_datetime"), item.properties.get("end_datetime")
    if item.datetime is not None:
        when = item.datetime
    elif start and end:
        t0, t1 = pystac.utils.str_to_datetime(start), pystac.utils.str_to_datetime(end)
        when = t0 + (t1 - t0) / 2
    else:
        raise LoadError(f"item {item.id!r} has neither datetime nor start_datetime/end_datetime")
    acquired = _utc_naive(pystac.utils.str_to_datetime(end)) if end else _utc_naive(when)
    return _utc_naive(when), acquired.date()


def _layers(items: Sequence[pystac.Item], on_missing: OnMissing) -> list[_Layer]:
    levels = {item.id: _level(item, _data_asset(item)) for item in items}
    _check_single_level(items, levels)
    layers: list[_Layer] = []
    skipped: list[str] = []
    for item in items:
        asset = _data_asset(item)
        href = None if asset is None else _absolute_href(item, asset)
        local = None if href is None else _local_path(href)
        # Remote hrefs are not probed here: that would cost a request per item; tasks report them instead.
        if href is None or (local is not None and not local.is_file()):
            what = "has no data asset" if href is None else f"data asset {href} does not exist"
            if on_missing == "raise":
                raise LoadError(
                    f"item {item.id!r}: {what}; fix or re-index the catalog, or leave such items out with "
                    "on_missing='skip' (--skip-missing)"
                )
            skipped.append(f"{item.id} ({href or 'no data asset'})")
            continue
        assert asset is not None
        shape = _proj_shape(item, asset) or _probe_shape(item.id, href, levels[item.id])
        time, acquired = _item_time(item)
        source = RasterSource(item.id, href, levels[item.id], shape)
        layers.append(_Layer(item, source, time, acquired))
    if skipped:
        warnings.warn(
            f"{len(skipped)} item(s) skipped because their data are missing: " + "; ".join(skipped),
            SkippedItemWarning,
            stacklevel=3,
        )
    if not layers:
        raise LoadError(f"none of the {len(items)} matched item(s) has readable data (all were skipped)")
    return sorted(layers, key=lambda layer: (layer.time, layer.item.id))


def _check_single_level(items: Sequence[pystac.Item], levels: Mapping[str, Level]) -> None:
    found = {level: [i.id for i in items if levels[i.id] == level] for level in ("GRD", "SLC")}
    if found["GRD"] and found["SLC"]:
        example = {level: ids[0] for level, ids in found.items()}
        raise LoadError(
            f"the items mix {len(found['GRD'])} GRD product(s) (e.g. {example['GRD']}) and {len(found['SLC'])} "
            f"SLC product(s) (e.g. {example['SLC']}); GRD amplitude and complex SLC cannot share one cube: "
            + _CHOOSE_PRODUCT
        )


# --------------------------------------------------------------------------------------------------------
# Time axis
# --------------------------------------------------------------------------------------------------------


def _time_grid(layers: Sequence[_Layer], config: CubeConfig) -> tuple[pd.DatetimeIndex, list[_Layer | None]]:
    """Assign layers to icecube's N-day slots; return the slot starts and one layer (or None) per slot."""
    days = config.temporal_resolution
    start, end = config.start_date, config.end_date
    slots = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq=f"{days}D", unit="ns")
    by_slot: dict[int, list[_Layer]] = {}
    outside: list[str] = []
    for layer in layers:
        if not start <= layer.acquired <= end:
            outside.append(f"{layer.item.id} ({layer.acquired.isoformat()})")
            continue
        by_slot.setdefault((layer.acquired - start).days // days, []).append(layer)
    if outside:
        warnings.warn(
            f"{len(outside)} item(s) acquired outside start_date {start.isoformat()} .. end_date {end.isoformat()} "
            "are not in the time grid: " + "; ".join(outside),
            TimeSlotWarning,
            stacklevel=3,
        )
    chosen: list[_Layer | None] = [None] * len(slots)
    dropped: list[str] = []
    for slot, members in sorted(by_slot.items()):
        if len(members) > 1:
            if config.temporal_overlap:
                ids = ", ".join(m.item.id for m in members)
                raise LoadError(
                    f"{len(members)} acquisitions fall into the {days}-day time slot starting "
                    f'{slots[slot].date().isoformat()}: {ids}; set "temporal_overlap": false to keep the latest '
                    "of each slot, or use a smaller temporal_resolution"
                )
            members = sorted(members, key=lambda m: (m.item.properties.get("end_datetime", ""), m.time, m.item.id))
            dropped += [m.item.id for m in members[:-1]]
        chosen[slot] = members[-1]
    if dropped:
        warnings.warn(
            f"temporal_overlap is false: kept the latest acquisition of each {days}-day slot and left out "
            + ", ".join(dropped),
            TimeSlotWarning,
            stacklevel=3,
        )
    if not by_slot:
        raise LoadError(
            f"none of the {len(layers)} item(s) was acquired between start_date {start.isoformat()} and "
            f"end_date {end.isoformat()}"
        )
    return slots, chosen


# --------------------------------------------------------------------------------------------------------
# Grid, chunks and the dask graph
# --------------------------------------------------------------------------------------------------------


def _grid_shape(layers: Sequence[_Layer], coregistered: bool) -> tuple[int, int]:
    shape = layers[0].source.shape
    others = [f"{layer.item.id} {layer.source.shape}" for layer in layers if layer.source.shape != shape]
    if others:
        note = (
            "the config says coregistered=true, so identical shapes were expected; check that the stack is "
            "really coregistered. "
            if coregistered
            else ""
        )
        warnings.warn(
            f"{note}The cube grid is {shape} (azimuth, range), the shape of the first product "
            f"{layers[0].item.id}; {len(others)} product(s) of another shape were padded at the end with the fill "
            "value or cropped: " + "; ".join(others),
            ShapeMismatchWarning,
            stacklevel=3,
        )
    return shape


def _chunk_sizes(
    chunks: Mapping[str, int] | None, config: CubeConfig | None, shape: tuple[int, int, int]
) -> dict[str, int]:
    sizes = dict(DEFAULT_CHUNKS)
    if config is not None and config.chunks:
        sizes.update(config.chunks)
    if chunks:
        sizes.update(chunks)
    unknown = sorted(set(sizes) - set(DIMS))
    if unknown:
        raise ValueError(f"chunks: unknown dimension(s) {unknown}; expected some of {list(DIMS)}")
    result: dict[str, int] = {}
    for dim, extent in zip(DIMS, shape, strict=True):
        size = sizes[dim]
        if isinstance(size, bool) or not isinstance(size, int) or (size < 1 and size != -1):
            raise ValueError(f"chunks: the {dim} chunk size must be a whole number >= 1 (or -1 = whole), got {size!r}")
        result[dim] = extent if size == -1 else min(size, extent)  # clipped to the raster
    return result


def _bounds(extent: int, size: int) -> list[tuple[int, int]]:
    return [(start, min(start + size, extent)) for start in range(0, extent, size)]


def _dask_array(
    sources: Sequence[RasterSource | None],
    grid: tuple[int, int],
    sizes: Mapping[str, int],
    dtype: str,
    fill: float,
) -> da.Array:
    extents = (len(sources), *grid)
    bounds = [_bounds(extent, sizes[dim]) for dim, extent in zip(DIMS, extents, strict=True)]
    name = "icecube-stac-read-" + tokenize(tuple(sources), grid, dict(sizes), dtype, fill)
    graph: dict[Any, Any] = {}
    for ti, (t0, t1) in enumerate(bounds[0]):
        block_sources = tuple(sources[t0:t1])
        for ai, rows in enumerate(bounds[1]):
            for ri, cols in enumerate(bounds[2]):
                # A partial hides the arguments from dask's task parser: they are plain data, not keys.
                graph[(name, ti, ai, ri)] = (functools.partial(read_block, block_sources, rows, cols, dtype, fill),)
    chunks = tuple(tuple(stop - start for start, stop in dim_bounds) for dim_bounds in bounds)
    layer = HighLevelGraph.from_collections(name, graph, dependencies=())
    array: da.Array = da.Array(layer, name, chunks=chunks, meta=np.empty((0, 0, 0), dtype=dtype))  # type: ignore[no-untyped-call]
    return array


# --------------------------------------------------------------------------------------------------------
# Coordinates and attributes
# --------------------------------------------------------------------------------------------------------


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _timestamp(value: Any) -> pd.Timestamp | None:
    return _utc_naive(pystac.utils.str_to_datetime(str(value))) if value else None


def _item_coords(layer: _Layer | None) -> dict[str, Any]:
    if layer is None:  # an empty time slot
        return {
            "id": "",
            **dict.fromkeys(_TEXT_PROPERTIES, ""),
            **dict.fromkeys(_NUMBER_PROPERTIES, math.nan),
            "product_type": "",
            "start_datetime": None,  # NaT
            "end_datetime": None,
            "stac_item": "",
            "data_href": "",
            "metadata_href": "",
        }
    item, props = layer.item, layer.item.properties
    metadata = item.assets.get(_ASSET_METADATA)
    return {
        "id": item.id,
        **{name: str(props.get(key) or "") for name, key in _TEXT_PROPERTIES.items()},
        **{name: _float(props.get(key)) for name, key in _NUMBER_PROPERTIES.items()},
        "product_type": layer.source.level,
        "start_datetime": _timestamp(props.get("start_datetime")),
        "end_datetime": _timestamp(props.get("end_datetime")),
        "stac_item": json.dumps(item.to_dict(include_self_link=False, transform_hrefs=False), sort_keys=True),
        "data_href": layer.source.href,
        "metadata_href": "" if metadata is None else str(metadata.get_absolute_href() or metadata.href),
    }


def _time_coords(slots: Sequence[_Layer | None]) -> dict[str, tuple[str, npt.NDArray[Any], Mapping[str, str]]]:
    rows = [_item_coords(layer) for layer in slots]
    coords: dict[str, tuple[str, npt.NDArray[Any], Mapping[str, str]]] = {}
    for name in rows[0]:
        values = [row[name] for row in rows]
        if name in ("start_datetime", "end_datetime"):
            array = np.array(values, dtype="datetime64[ns]")
        elif name in _NUMBER_PROPERTIES:
            array = np.array(values, dtype=np.float64)
        else:
            array = np.array(values, dtype=object)  # variable-length strings, as xarray writes them
        coords[name] = ("time", array, _COORD_ATTRS.get(name, {}))
    return coords


def _fill(fill_value: float | None, config: CubeConfig | None) -> float:
    if fill_value is not None:
        return float(fill_value)
    if config is not None and config.fill_value is not None:
        return float(config.fill_value)
    return math.nan


def _package_version() -> str:
    try:
        return version("icecube-stac")
    except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
        return "0+unknown"


def _dataset_attrs(level: Level, config: CubeConfig | None, grid_item: str, fill: float) -> dict[str, Any]:
    coregistered = bool(config and config.coregistered)
    if coregistered:
        geometry = (
            "sensor geometry (azimuth lines x range samples); the stack was declared coregistered: pixel "
            "(azimuth, range) is the same ground point at every time step"
        )
    else:
        geometry = (
            "sensor geometry (azimuth lines x range samples); the products are NOT coregistered, only roughly "
            "co-located: pixel (azimuth, range) is not the same ground point across time. Coregister the stack "
            "before pixel-wise time-series analysis"
        )
    resolution = config.temporal_resolution if config is not None else 0
    return {
        "Conventions": "CF-1.11",
        "title": f"ICEYE {level} time series in sensor geometry",
        "product_type": level,
        "coregistered": int(coregistered),  # netCDF attributes cannot be booleans
        "geometry": geometry,
        "grid_product": grid_item,
        "temporal_resolution": resolution,
        "time_axis": f"{resolution}-day slots from start_date (empty slots filled)"
        if resolution
        else "natural timeline: one step per acquisition, at the item datetime",
        "fill_value": repr(float(fill)),
        "source_catalog": "" if config is None else config.catalog,
        "created_by": f"icecube-stac {_package_version()}",
        "references": "https://github.com/iceye-ltd/icecube (layout predecessor)",
    }


# --------------------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------------------


def build_cube(
    source: CubeConfig | pystac.ItemCollection | Iterable[pystac.Item],
    *,
    config: CubeConfig | None = None,
    chunks: Mapping[str, int] | None = None,
    fill_value: float | None = None,
    on_missing: OnMissing = "raise",
) -> xr.Dataset:
    """Build a lazy, dask-backed time-series cube from ICEYE STAC items.

    Parameters
    ----------
    source
        A :class:`~icecube_stac.config.CubeConfig` (its catalog is searched with
        :func:`~icecube_stac.search.search` and its rules apply), a ``pystac.ItemCollection`` or an iterable
        of ``pystac.Item``.
    config
        Rules for item sources (temporal grid, ``temporal_overlap``, ``coregistered``, chunks, fill value);
        the selection rules of :func:`~icecube_stac.search.apply_selection_rules` are applied to the items.
        Default: natural timeline, not coregistered.
    chunks
        Chunk sizes by dim (``time``, ``azimuth``, ``range``; -1 = whole dim); overrides the config's
        ``chunks``. Default ``{"time": 1, "azimuth": 2048, "range": 2048}``, clipped to the raster.
    fill_value
        Value of padded pixels and empty time slots (both parts for SLC); overrides the config's
        ``fill_value``. Default NaN (NaN+NaN·j for SLC).
    on_missing
        ``"raise"`` (default): a local data file that does not exist raises :class:`LoadError`;
        ``"skip"``: such items are left out with a :class:`SkippedItemWarning`.

    Returns
    -------
    xarray.Dataset
        dims ``("time", "azimuth", "range")``; variable ``amplitude`` (GRD, float32) or ``slc`` (SLC,
        complex64); per-item coords along ``time`` (``id``, ``incidence_angle``, ``orbit_state``,
        ``look_side``, ``platform``, ``instrument_mode``, ``product_type``, ``start_datetime``,
        ``end_datetime``, ``calibration_factor``, ``stac_item``, ``data_href``, ``metadata_href``).
        Nothing is read until the data are computed (except the shape of a raster whose item lacks
        ``proj:shape``). ``ds.iceye`` gives the calibration helpers of :mod:`icecube_stac.calibration`.

    Raises
    ------
    LoadError
        No items; GRD and SLC items mixed; a missing data file (with ``on_missing="raise"``); two
        acquisitions in one time slot while ``temporal_overlap`` is true. Errors while computing (an
        unreadable file) are also ``LoadError`` naming the item and the href.
    """
    if on_missing not in ("raise", "skip"):
        raise ValueError(f"on_missing must be 'raise' or 'skip', got {on_missing!r}")
    items, config = _resolve_source(source, config)
    layers = _layers(items, on_missing)
    level = layers[0].source.level
    if config is not None and config.temporal_resolution > 0:
        times, slots = _time_grid(layers, config)
    else:
        times, slots = pd.DatetimeIndex([layer.time for layer in layers]), list(layers)
    present = [layer for layer in slots if layer is not None]
    grid = _grid_shape(present, bool(config and config.coregistered))
    fill = _fill(fill_value, config)
    sizes = _chunk_sizes(chunks, config, (len(slots), *grid))
    sources = [None if layer is None else layer.source for layer in slots]
    data = _dask_array(sources, grid, sizes, _DTYPES[level], fill)
    gridded = config is not None and config.temporal_resolution > 0
    time_attrs = {"long_name": "time slot start (UTC)" if gridded else "acquisition time (UTC)"}
    coords: dict[str, Any] = {
        "time": ("time", times.to_numpy(dtype="datetime64[ns]"), time_attrs),
        "azimuth": ("azimuth", np.arange(grid[0], dtype=np.int64), _COORD_ATTRS["azimuth"]),
        "range": ("range", np.arange(grid[1], dtype=np.int64), _COORD_ATTRS["range"]),
        **_time_coords(slots),
    }
    variable = xr.Variable(DIMS, data, attrs=dict(_VARIABLE_ATTRS[level]))
    return xr.Dataset(
        {VARIABLES[level]: variable}, coords=coords, attrs=_dataset_attrs(level, config, present[0].item.id, fill)
    )
