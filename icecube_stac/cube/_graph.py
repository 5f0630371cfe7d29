"""The cube's dask graph: chunk sizes, one read task per block, each task reading windows through the readers.

The graph is built by hand: every task calls :func:`read_block` with picklable arguments (hrefs,
container names, windows, dtype, fill) and opens its files by href inside the task through
:func:`icecube_stac.readers.get_reader`, because open file handles (h5py, GDAL) cannot be pickled.
Building the graph therefore opens no file, and the same cube computes on a ``dask.distributed``
cluster with worker processes.

Beside the in-memory array (float32 DN, complex64 SLC) the same windows are described once more in the
source dtype (:func:`read_source_block`: uint16 DN with fill 0, or the int16 real/imaginary parts with fill
-32768) and registered with :func:`icecube_stac._encoding.register_stored`: a writer storing the cube in
its source precision computes those directly, with no float round trip and no per-chunk exactness check.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import dask.array as da
import numpy as np
import numpy.typing as npt
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from icecube_stac._encoding import INT16_FILL, register_stored
from icecube_stac.cube._views import leading_part, split_last_axis
from icecube_stac.errors import LoadError
from icecube_stac.readers import get_reader

__all__ = ["DEFAULT_CHUNKS", "DIMS", "RasterSource", "chunk_sizes", "dask_array", "read_block", "read_source_block"]

DIMS: Final = ("time", "azimuth", "range")
DEFAULT_CHUNKS: Final[Mapping[str, int]] = {"time": 1, "azimuth": 2048, "range": 2048}
# Source dtypes with a stored form of their own, and its number of parts (0: the array itself, no part axis).
_STORED_PARTS: Final[Mapping[str, int]] = {"uint16": 0, "int16": 2}


@dataclass(frozen=True)
class RasterSource:
    """Everything a task needs to read one item's pixels: plain values, no open handles (picklable).

    Attributes
    ----------
    item_id
        The STAC item id, for error messages.
    href
        The data asset href: a local path, a ``file://`` URL or a remote URL (http(s), s3, ...).
    container
        The container name that picks the reader (:class:`~icecube_stac.vocabulary.Container`).
    shape
        (azimuth, range) shape of the raster, from ``proj:shape``.
    """

    item_id: str
    href: str
    container: str
    shape: tuple[int, int]


def _fill_scalar(dtype: np.dtype[Any], fill: float) -> Any:
    # Complex cubes carry the fill in both parts: NaN -> NaN+NaN·j, 0 -> 0+0j.
    return complex(fill, fill) if dtype.kind == "c" else fill


def _read_or_fail(source: RasterSource, rows: slice, cols: slice) -> tuple[npt.NDArray[Any], Any]:
    """Read a window; return it with the raster's on-disk sample dtype (None when the reader does not say)."""
    try:
        with get_reader(source.container).open(source.href) as raster:
            return raster.read(rows, cols), getattr(raster, "stored_dtype", None)
    except Exception as exc:
        # A bare h5py/GDAL error from a worker says nothing about which item failed.
        message = f"item {source.item_id!r}: cannot read {source.href}: {type(exc).__name__}: {exc}"
    # Raised outside the handler, without __cause__/__context__: dask.distributed pickles the whole chain and
    # replaces the error by a plain Exception when any link (often a library's own error type) cannot be pickled.
    raise LoadError(message)


def _covers(sources: Sequence[RasterSource | None], rows: tuple[int, int], cols: tuple[int, int]) -> bool:
    """Tell whether the block is one time step that its product covers whole (nothing to fill)."""
    first = sources[0] if len(sources) == 1 else None
    return first is not None and first.shape[0] >= rows[1] and first.shape[1] >= cols[1]


def _spans(
    sources: Sequence[RasterSource | None], rows: tuple[int, int], cols: tuple[int, int]
) -> Iterator[tuple[int, RasterSource, slice, slice]]:
    """Yield ``(time index, source, rows, cols)`` of each time step's window with pixels in the block."""
    for k, source in enumerate(sources):
        if source is None:
            continue
        row_stop, col_stop = min(rows[1], source.shape[0]), min(cols[1], source.shape[1])
        if row_stop <= rows[0] or col_stop <= cols[0]:
            continue  # the block lies entirely in this product's padding
        yield k, source, slice(rows[0], row_stop), slice(cols[0], col_stop)


def _check_shape(source: RasterSource, rows: slice, cols: slice, shape: tuple[int, ...]) -> None:
    expected = (rows.stop - rows.start, cols.stop - cols.start)
    if tuple(shape) != expected:
        raise LoadError(
            f"item {source.item_id!r}: reading rows {rows.start}:{rows.stop}, columns {cols.start}:{cols.stop} of "
            f"{source.href} gave shape {tuple(shape)}, not {expected}: the raster is smaller than its STAC "
            f"proj:shape {list(source.shape)}"
        )


def _windows(
    sources: Sequence[RasterSource | None], rows: tuple[int, int], cols: tuple[int, int]
) -> Iterator[tuple[int, RasterSource, npt.NDArray[Any], Any]]:
    """Yield ``(time index, source, window, stored dtype)`` for each time step with pixels in the block."""
    for k, source, row_span, col_span in _spans(sources, rows, cols):
        data, stored = _read_or_fail(source, row_span, col_span)
        _check_shape(source, row_span, col_span, data.shape)
        yield k, source, data, stored


def _int16_into(source: RasterSource, rows: slice, cols: slice, parts: npt.NDArray[np.int16], k: int) -> None:
    """Read one window's int16 parts into ``parts[:, k]``: straight from the file when the reader can."""
    where = (k, slice(0, rows.stop - rows.start), slice(0, cols.stop - cols.start))
    message = ""
    try:
        with get_reader(source.container).open(source.href) as raster:
            read_into = getattr(raster, "read_int16_into", None)
            fits = raster.shape[0] >= rows.stop and raster.shape[1] >= cols.stop
            if fits and callable(read_into) and read_into(rows, cols, parts, where):
                return
            data, stored = raster.read(rows, cols), getattr(raster, "stored_dtype", None)
    except Exception as exc:
        message = f"item {source.item_id!r}: cannot read {source.href}: {type(exc).__name__}: {exc}"
    if message:  # raised outside the handler, without a chain: see _read_or_fail
        raise LoadError(message)
    _check_shape(source, rows, cols, data.shape)
    parts[(0, *where)], parts[(1, *where)] = _int16_parts(source, data, stored)


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
    if _covers(sources, rows, cols):
        _, _, data, _ = next(_windows(sources, rows, cols))
        # Nothing to fill: the reader's own buffer (cast once), or a copy of one it may still hold.
        own = data.dtype == out_dtype and data.flags.owndata and data.flags.writeable
        return (data if own else data.astype(out_dtype))[np.newaxis]
    out = np.full((len(sources), rows[1] - rows[0], cols[1] - cols[0]), _fill_scalar(out_dtype, fill), out_dtype)
    for k, _, data, _ in _windows(sources, rows, cols):
        out[k, : data.shape[0], : data.shape[1]] = data
    return out


def _exact(source: RasterSource, data: npt.NDArray[Any], dtype: type[np.integer[Any]]) -> npt.NDArray[Any]:
    """Return ``data`` as ``dtype``, refusing a sample that dtype cannot hold (a reader returning other samples)."""
    if data.dtype == dtype:
        return data
    cast = data.astype(dtype)
    if not np.array_equal(cast, data):
        raise LoadError(
            f"item {source.item_id!r}: {source.href} holds samples that are not {np.dtype(dtype).name}, the "
            "sample type its STAC item declares"
        )
    return cast


def _int16_parts(source: RasterSource, data: npt.NDArray[Any], stored: Any) -> tuple[Any, Any]:
    """Split a complex window of int16 samples into int16 parts (checked when the reader does not say so)."""
    if stored is not None and np.dtype(stored) == np.int16:
        return data.real, data.imag  # int16 samples hold exactly in complex64: the cast below is exact
    return _exact(source, data.real, np.int16), _exact(source, data.imag, np.int16)


def read_source_block(
    sources: Sequence[RasterSource | None],
    rows: tuple[int, int],
    cols: tuple[int, int],
    source_dtype: str,
) -> npt.NDArray[Any]:
    """Read one cube block in the source dtype, as a writer stores it: no float round trip.

    Parameters
    ----------
    sources, rows, cols
        As for :func:`read_block`.
    source_dtype
        ``"uint16"`` (GRD DN; padding and empty slots 0, ICEYE's no-data DN) or ``"int16"`` (SLC samples;
        padding and empty slots -32768 in both parts).

    Returns
    -------
    numpy.ndarray
        uint16 of shape ``(len(sources), rows, cols)``, or int16 of shape ``(2, len(sources), rows, cols)``:
        the real parts, then the imaginary parts.

    Raises
    ------
    LoadError
        As :func:`read_block`; also when int16 parts are asked of samples that are not int16.
    """
    shape = (len(sources), rows[1] - rows[0], cols[1] - cols[0])
    if source_dtype == "uint16":
        if _covers(sources, rows, cols):
            _, source, data, _ = next(_windows(sources, rows, cols))
            return _exact(source, data, np.uint16)[np.newaxis]  # the reader's own buffer: no copy, no fill
        out = np.zeros(shape, np.uint16)
        for k, source, data, _ in _windows(sources, rows, cols):
            out[k, : data.shape[0], : data.shape[1]] = _exact(source, data, np.uint16)
        return out
    parts = (
        np.empty((2, *shape), np.int16) if _covers(sources, rows, cols) else np.full((2, *shape), INT16_FILL, np.int16)
    )
    for k, source, row_span, col_span in _spans(sources, rows, cols):
        _int16_into(source, row_span, col_span, parts, k)
    return parts


def chunk_sizes(requested: Sequence[Mapping[str, int] | None], shape: tuple[int, int, int]) -> dict[str, int]:
    """Merge chunk requests (later ones win) over :data:`DEFAULT_CHUNKS` and clip them to the cube.

    Parameters
    ----------
    requested
        Chunk mappings by dim, lowest priority first (e.g. the config's, then the caller's); None skipped.
    shape
        ``(time, azimuth, range)`` extent of the cube.

    Returns
    -------
    dict
        One size per dim; ``-1`` means the whole dim.

    Raises
    ------
    ValueError
        For an unknown dim or a size that is not a whole number >= 1 (or -1).
    """
    sizes = dict(DEFAULT_CHUNKS)
    for chunks in requested:
        sizes.update(chunks or {})
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


def _read_layer(
    prefix: str,
    func: Callable[..., npt.NDArray[Any]],
    sources: Sequence[RasterSource | None],
    bounds: Sequence[Sequence[tuple[int, int]]],
    args: tuple[Any, ...],
    dtype: str,
    parts: int = 0,
) -> da.Array:
    """One ``func(block sources, rows, cols, *args)`` task per block; ``parts`` > 0 adds a leading axis that long."""
    name = prefix + tokenize(tuple(sources), [list(b) for b in bounds], args, dtype, parts)
    lead = (0,) if parts else ()
    graph: dict[Any, Any] = {}
    for ti, (t0, t1) in enumerate(bounds[0]):
        block_sources = tuple(sources[t0:t1])
        for ai, rows in enumerate(bounds[1]):
            for ri, cols in enumerate(bounds[2]):
                # A partial hides the arguments from dask's task parser: they are plain data, not keys.
                graph[(name, *lead, ti, ai, ri)] = (functools.partial(func, block_sources, rows, cols, *args),)
    chunks = tuple(tuple(stop - start for start, stop in dim_bounds) for dim_bounds in bounds)
    if parts:
        chunks = ((parts,), *chunks)
    layer = HighLevelGraph.from_collections(name, graph, dependencies=())
    meta = np.empty((0,) * len(chunks), dtype=dtype)
    array: da.Array = da.Array(layer, name, chunks=chunks, meta=meta)  # type: ignore[no-untyped-call]
    return array


def dask_array(
    sources: Sequence[RasterSource | None],
    grid: tuple[int, int],
    sizes: Mapping[str, int],
    dtype: str,
    fill: float,
    source_dtype: str | None = None,
) -> da.Array:
    """Build the lazy ``(time, azimuth, range)`` array: one :func:`read_block` task per chunk.

    Parameters
    ----------
    sources
        One entry per time step; None for an empty slot.
    grid
        ``(azimuth, range)`` of the cube.
    sizes
        Chunk size per dim (from :func:`chunk_sizes`).
    dtype, fill
        Output dtype and fill value of :func:`read_block`.
    source_dtype
        The products' sample dtype (``uint16`` GRD, ``int16`` SLC): with a NaN fill, the same blocks in that
        dtype (:func:`read_source_block`) are registered as the array's stored form.

    Returns
    -------
    dask.array.Array
    """
    extents = (len(sources), *grid)
    # Each task reads whole rows (full-width bands): strips of a GeoTIFF and rows of a contiguous HDF5 dataset
    # are then decoded once, not once per column chunk (2.5-3x faster on LZW strips and HDF5, measured); the
    # columns are split afterwards into views of the band (icecube_stac.cube._views), which copies nothing.
    read_sizes = {**sizes, "range": grid[1]}
    bounds = [_bounds(extent, read_sizes[dim]) for dim, extent in zip(DIMS, extents, strict=True)]

    array = _read_layer("icecube-stac-read-", read_block, sources, bounds, (dtype, fill), dtype)
    stored: tuple[da.Array, ...] = ()
    if source_dtype in _STORED_PARTS and math.isnan(fill):
        assert source_dtype is not None
        parts = _STORED_PARTS[source_dtype]
        raw = _read_layer(
            "icecube-stac-source-", read_source_block, sources, bounds, (source_dtype,), source_dtype, parts
        )
        stored = tuple(leading_part(raw, i) for i in range(parts)) if parts else (raw,)
    if sizes["range"] < grid[1]:
        # A split of each band into views (a rechunk would copy every slice, and probe for a distributed client,
        # which imports distributed, ~0.3 s).
        array = split_last_axis(array, sizes["range"])
        stored = tuple(split_last_axis(part, sizes["range"]) for part in stored)
    if stored:
        # Every block holds samples when every slot has a product of the grid's shape (none is padding only).
        complete = all(source is not None and source.shape == grid for source in sources)
        register_stored(array, stored, complete=complete)
    return array
