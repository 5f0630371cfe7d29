"""The lazy warp: which source window each output block needs, and the task that warps it with GDAL.

At graph-build time every output block of every product gets its source window: a 9 x 9 net of points over
the block's edges and inside is taken to lon/lat (pyproj) and through the product's own model to pixels
(rasterio's ``RPCTransformer``/``GCPTransformer``, i.e. GDAL's), at the scene height (and at the DEM's
lowest and highest points when a DEM is given), then widened by a margin that covers the resampling kernel.
A block the product does not reach gets no task input at all (only fill).

Each task (:func:`warp_block`) opens its products by href through the reader seam
(:func:`icecube_stac.readers.get_reader`), reads only its window, turns it into the asked quantity with
:mod:`icecube_stac.calibration` (GRD DN 0 → NaN, no-data), and warps it with
:func:`rasterio.warp.reproject` given the window's own RPC or GCPs (the model shifted to the window's
origin). Nothing unpicklable travels in the graph, so it runs on ``dask.distributed`` workers too.
Pixels the product does not cover are the fill value: GDAL leaves what maps outside the raster untouched.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from icecube_stac._quiet import ignoring
from icecube_stac.errors import LoadError
from icecube_stac.geocode._grid import MapGrid
from icecube_stac.geocode._model import Geolocation
from icecube_stac.readers import get_reader
from icecube_stac.vocabulary import CUBE_VARIABLES, ProductLevel

__all__ = ["WarpSettings", "WarpSource", "block_windows", "graph_task", "probe_net", "quantity_values", "warp_block"]

_NET: Final = 9  # points per block side at which the source window is probed
# Source pixels of margin beyond the probed extent, by resampling kernel radius (+2 for the probe's curvature).
_KERNEL: Final[Mapping[str, int]] = {"nearest": 1, "bilinear": 1, "cubic": 2, "cubic_spline": 2, "lanczos": 3}
Window = tuple[int, int, int, int]  # row start, row stop, col start, col stop (cube pixels)


@dataclass(frozen=True)
class WarpSource:
    """One product's part of one output block: everything a task needs, as plain values.

    Attributes
    ----------
    item_id, href, container
        The item, its data href and the container name that picks the reader.
    level
        GRD or SLC.
    shape
        ``(azimuth, range)`` of the product.
    window
        The source window this block needs.
    geolocation
        The product's model in cube pixel space (not yet shifted to the window).
    coords
        Per-item values the calibration needs (``calibration_factor``, ``amplitude_scale``,
        ``amplitude_offset``, ``incidence_angle``, ``incidence_near``, ``incidence_far``).
    """

    item_id: str
    href: str
    container: str
    level: ProductLevel
    shape: tuple[int, int]
    window: Window
    geolocation: Geolocation
    coords: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class WarpSettings:
    """What every task of a cube shares.

    Attributes
    ----------
    grid
        The output map grid.
    resampling
        The GDAL resampling method name.
    quantity
        ``amplitude``, ``intensity``, ``beta0`` or ``sigma0``.
    fill
        The fill value of pixels no product covers.
    dem
        A local DEM raster for the RPC heights, or None (each product's average scene height).
    """

    grid: MapGrid
    resampling: str
    quantity: str
    fill: float
    dem: str | None


def quantity_values(
    data: npt.NDArray[Any],
    level: ProductLevel,
    quantity: str,
    coords: Mapping[str, float],
    col0: int,
    range_samples: int,
) -> npt.NDArray[np.float32]:
    """Return a radar-geometry window as ``quantity`` (float32, NaN at no-data) with :mod:`.calibration`.

    GRD ``amplitude`` is the DN as stored (as in the sensor-geometry cube); the other quantities are calibrated.

    Parameters
    ----------
    data
        The window as the reader returns it (GRD DN, SLC complex).
    level, quantity
        Product level and what to compute.
    coords
        The per-item values of :attr:`WarpSource.coords`.
    col0, range_samples
        The window's first range sample and the product's width (for the per-sample incidence of σ0).

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    LoadError
        When the quantity does not exist for the level (β0 of a GRD).
    """
    if level is ProductLevel.GRD and quantity == "amplitude":
        # The DN as stored, like the sensor cube's amplitude (its amplitude_scale coords and ds.iceye then apply
        # the COG band scale once); DN 0 is ICEYE's no-data and is never interpolated into valid pixels.
        dn = data.astype(np.float32)
        dn[data == 0] = np.nan
        return dn
    import xarray as xr

    from icecube_stac import calibration

    dims = ("time", "azimuth", "range")
    scalar = {name: ("time", np.array([value])) for name, value in coords.items()}
    ds = xr.Dataset(
        {CUBE_VARIABLES[level]: (dims, data[np.newaxis])},
        coords={
            **scalar,
            "range": ("range", np.arange(col0, col0 + data.shape[1])),
            "range_samples": ("time", np.array([range_samples])),
        },
    )
    compute = {
        "amplitude": calibration.amplitude,
        "intensity": calibration.intensity,
        "beta0": calibration.beta0,
        "sigma0": calibration.sigma0,
    }[quantity]
    values: npt.NDArray[np.float32] = np.ascontiguousarray(compute(ds).values[0], dtype=np.float32)
    return values


def _height_options(geolocation: Geolocation, dem: str | None) -> dict[str, Any]:
    if geolocation.kind != "rpc":
        return {}
    return {"RPC_DEM": dem} if dem else {"RPC_HEIGHT": geolocation.height}


def _to_pixels(
    geolocation: Geolocation, lon: npt.NDArray[Any], lat: npt.NDArray[Any], height: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Ground → cube pixel-centre indices with GDAL's own transformer for the product's model."""
    from rasterio.transform import GCPTransformer, RPCTransformer

    def keep(values: Any) -> Any:
        return values  # no rounding: fractional pixels

    if geolocation.kind == "rpc":
        # The heights go in as z (RPC_HEIGHT would be added to them).
        with RPCTransformer(geolocation.rasterio_rpcs()) as transformer:
            rows, cols = transformer.rowcol(lon, lat, zs=np.full(lon.shape, height), op=keep)
    else:
        with GCPTransformer(geolocation.gdal_gcps()) as transformer:
            rows, cols = transformer.rowcol(lon, lat, op=keep)
    # GDAL answers in corner coordinates: the centre of pixel i is i + 0.5.
    return np.asarray(rows, np.float64) - 0.5, np.asarray(cols, np.float64) - 0.5


def probe_net(grid: MapGrid, rows: Sequence[tuple[int, int]], cols: Sequence[tuple[int, int]]) -> Any:
    """Return lon, lat of a ``_NET`` x ``_NET`` net over every block: arrays ``(n_rows, n_cols, NET * NET)``."""
    from pyproj import Transformer

    t = np.linspace(0.0, 1.0, _NET)
    y_edges = np.array([[grid.y0 - (r0 + f * (r1 - r0)) * grid.dy for f in t] for r0, r1 in rows])
    x_edges = np.array([[grid.x0 + (c0 + f * (c1 - c0)) * grid.dx for f in t] for c0, c1 in cols])
    ys = np.broadcast_to(y_edges[:, None, :, None], (len(rows), len(cols), _NET, _NET))
    xs = np.broadcast_to(x_edges[None, :, None, :], (len(rows), len(cols), _NET, _NET))
    to_lonlat = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform(xs.reshape(-1), ys.reshape(-1))
    shape = (len(rows), len(cols), _NET * _NET)
    return np.asarray(lon).reshape(shape), np.asarray(lat).reshape(shape)


def _margin(resampling: str, scale: float) -> int:
    # Averaging methods read every source pixel under an output pixel: the scale ratio wide.
    radius = _KERNEL.get(resampling, math.ceil(max(scale, 1.0)))
    return radius + 2


def block_windows(
    geolocation: Geolocation,
    shape: tuple[int, int],
    settings: WarpSettings,
    rows: Sequence[tuple[int, int]],
    cols: Sequence[tuple[int, int]],
    heights: Sequence[float],
    lonlat: Any,
) -> dict[tuple[int, int], Window]:
    """Return the source window of every output block the product reaches.

    Parameters
    ----------
    geolocation, shape
        The product's model and ``(azimuth, range)`` size.
    settings
        The cube's settings (grid, resampling).
    rows, cols
        ``(start, stop)`` of the block rows and columns of the grid.
    heights
        Heights (m) to probe at: the scene height, or the DEM's extremes too.
    lonlat
        The probe net of :func:`probe_net` for these blocks.

    Returns
    -------
    dict
        ``(block row, block col)`` → ``(row0, row1, col0, col1)``; blocks the product misses are absent.
    """
    lon, lat = lonlat
    pixel_rows, pixel_cols = [], []
    for height in heights:
        r, c = _to_pixels(geolocation, lon.reshape(-1), lat.reshape(-1), height)
        pixel_rows.append(r.reshape(lon.shape))
        pixel_cols.append(c.reshape(lon.shape))
    prow, pcol = np.concatenate(pixel_rows, axis=-1), np.concatenate(pixel_cols, axis=-1)
    windows: dict[tuple[int, int], Window] = {}
    for bi, (r0, r1) in enumerate(rows):
        for bj, (c0, c1) in enumerate(cols):
            br, bc = prow[bi, bj], pcol[bi, bj]
            good = np.isfinite(br) & np.isfinite(bc)
            if not good.any():
                continue
            br, bc = br[good], bc[good]
            span = max(float(np.ptp(br)), float(np.ptp(bc)))
            scale = span / max(r1 - r0, c1 - c0, 1)
            m = _margin(settings.resampling, scale)
            top, bottom = max(math.floor(br.min()) - m, 0), min(math.ceil(br.max()) + m + 1, shape[0])
            left, right = max(math.floor(bc.min()) - m, 0), min(math.ceil(bc.max()) + m + 1, shape[1])
            if top < bottom and left < right:
                windows[(bi, bj)] = (top, bottom, left, right)
    return windows


def _read(source: WarpSource) -> npt.NDArray[Any]:
    r0, r1, c0, c1 = source.window
    try:
        with get_reader(source.container).open(source.href) as raster:
            return raster.read(slice(r0, r1), slice(c0, c1))
    except Exception as exc:
        message = f"item {source.item_id!r}: cannot read {source.href}: {type(exc).__name__}: {exc}"
    raise LoadError(message)  # outside the handler: no unpicklable library error in the chain (see cube._graph)


def _warp_one(source: WarpSource, settings: WarpSettings, out: npt.NDArray[np.float32], row: int, col: int) -> None:
    from rasterio.errors import NotGeoreferencedWarning

    data = _read(source)
    r0, _, c0, _ = source.window
    values = quantity_values(data, source.level, settings.quantity, dict(source.coords), c0, source.shape[1])
    model = source.geolocation.shifted(r0, c0)
    # A source array with GCPs and no geotransform makes rasterio warn; the GCPs are the georeferencing.
    with ignoring(NotGeoreferencedWarning):
        _reproject(values, out, model, settings, row, col)


def _reproject(
    values: npt.NDArray[np.float32],
    out: npt.NDArray[np.float32],
    model: Geolocation,
    settings: WarpSettings,
    row: int,
    col: int,
) -> None:
    from rasterio.enums import Resampling
    from rasterio.warp import reproject

    reproject(
        source=values,
        destination=out,
        src_crs="EPSG:4326",
        src_nodata=np.nan,
        dst_transform=settings.grid.window_transform(row, col),
        dst_crs=settings.grid.crs,
        dst_nodata=settings.fill,
        resampling=Resampling[settings.resampling],
        INIT_DEST="NO_DATA",
        **model.warp_kwargs(),
        **_height_options(model, settings.dem),
    )


def warp_block(
    sources: Sequence[WarpSource | None],
    rows: tuple[int, int],
    cols: tuple[int, int],
    settings: WarpSettings,
) -> npt.NDArray[np.float32]:
    """Warp one output block of every time step of a chunk.

    Parameters
    ----------
    sources
        One entry per time step: the product's window for this block, or None (empty slot, or a product
        that does not reach the block).
    rows, cols
        ``(start, stop)`` of the block in grid pixels.
    settings
        The cube's shared settings.

    Returns
    -------
    numpy.ndarray
        float32 ``(len(sources), rows, cols)``; the fill value where no product covers a pixel.

    Raises
    ------
    LoadError
        When a product cannot be read (naming the item and the href).
    """
    out = np.full((len(sources), rows[1] - rows[0], cols[1] - cols[0]), settings.fill, np.float32)
    for k, source in enumerate(sources):
        if source is not None:
            _warp_one(source, settings, out[k], rows[0], cols[0])
    return out


def graph_task(
    sources: Sequence[WarpSource | None], rows: tuple[int, int], cols: tuple[int, int], settings: WarpSettings
) -> tuple[Any]:
    """Return the dask task of one block (a partial hides the plain-data arguments from dask's parser)."""
    return (functools.partial(warp_block, tuple(sources), rows, cols, settings),)
