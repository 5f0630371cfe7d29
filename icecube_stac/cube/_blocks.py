"""One cube block read through the readers: the windows of each time step's raster, padded with the fill.

:func:`read_block` gives the in-memory form (float32 DN, complex64 SLC); :func:`read_source_block` the same
windows in the source dtype, as a writer stores them (uint16 DN with fill 0, or the int16 real/imaginary parts
with fill -32768): no float round trip. Both take plain, picklable arguments (:class:`RasterSource`: hrefs,
container names, shapes) and open their files inside the call, so they run as dask tasks on any worker and as
the direct writer's jobs (:mod:`icecube_stac.cube._direct`) alike. Nothing here imports dask or xarray.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from icecube_stac._codecs import INT16_FILL
from icecube_stac.errors import LoadError
from icecube_stac.readers import get_reader

__all__ = ["DEFAULT_CHUNKS", "DIMS", "RasterSource", "block_bounds", "chunk_sizes", "read_block", "read_source_block"]

DIMS: Final = ("time", "azimuth", "range")
DEFAULT_CHUNKS: Final[Mapping[str, int]] = {"time": 1, "azimuth": 2048, "range": 2048}


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


def block_bounds(extent: int, size: int) -> list[tuple[int, int]]:
    return [(start, min(start + size, extent)) for start in range(0, extent, size)]
