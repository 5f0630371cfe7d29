"""Read a cube's first blocks in a background thread while the cube stage is still being imported and set up.

``icecube-stac cube`` spends most of a second after its search importing xarray, pandas, dask and zarr and
building the graph, on one core. Reading pixels (GDAL, HDF5) mostly runs without the GIL, so the command
starts reading the blocks its graph will ask for first right after the search, on another thread
(:class:`Prefetch`), and the graph's read tasks take them over instead of reading them again.

The read plan (:func:`read_plan`) mirrors what :func:`icecube_stac.cube.build_cube` and the writer do in
the default case, without importing them: one time step per block, full-width bands of the azimuth chunk
size, the stored (source dtype) form that ``write_cube`` writes when the fill is NaN. It is a guess, and a
safe one: a block is handed over only to a task asking for exactly its ``(sources, rows, cols, dtype)``
(:func:`icecube_stac._block_reads.read_source_block`), which makes the same call a task would make, so the
cube is bit-identical; a task whose block was not (or not yet) read ahead reads it itself; a read-ahead that
fails is dropped silently and the task's own read raises the proper :class:`~icecube_stac.errors.LoadError`.
The blocks planned add up to at most ``cap_bytes`` (:data:`CAP_BYTES`), and closing the prefetch (the end
of the ``with`` block, whether the write succeeded or not) stops the thread and drops what no task took.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import CancelledError, Future
from types import TracebackType
from typing import Any, Final, Self

import numpy.typing as npt

from icecube_stac import _block_reads
from icecube_stac._block_reads import DIMS, BlockKey, RasterSource, block_bounds, chunk_sizes, source_dtype_of
from icecube_stac.readers import get_reader
from icecube_stac.vocabulary import local_path

__all__ = ["CAP_BYTES", "Prefetch", "read_plan"]

# Bytes of samples read ahead at most (8 blocks of the default 2048-row bands of a 4096-wide GRD): the cube
# command's peak memory grows by at most this much, well inside bench_memory.py's 600 MiB limit beside the
# ~310 MiB an SLC cube write needs. 32, 96 and 192 MiB gave the same wall times on a warm page cache.
CAP_BYTES: Final = 128 * 2**20
_ITEMSIZE: Final[Mapping[str, int]] = {"uint16": 2, "int16": 4}  # bytes per pixel of the stored form (both parts)


def _ordered_sources(items: Iterable[Any]) -> list[tuple[RasterSource, str]] | None:
    """Each item's raster source and source dtype, in cube time order; None when the guess would be poor."""
    from icecube_stac.item import parse_item

    parsed = [parse_item(item) for item in items]
    if not parsed or len({p.level for p in parsed}) != 1:
        return None  # build_cube refuses mixed levels
    dtype = source_dtype_of((p.container, p.data_type) for p in parsed)
    if dtype is None or dtype not in _ITEMSIZE:
        return None  # no stored form (float32 SLCs): the writer computes float blocks
    ordered: list[tuple[RasterSource, str]] = []
    for p in sorted(parsed, key=lambda p: (p.time, p.id)):  # the natural time axis's order
        local = local_path(p.data_href) if p.data_href else None
        if p.shape is not None and local is not None and local.is_file():  # remote: no guess, no request
            ordered.append((RasterSource(p.id, p.data_href, p.container, p.shape), dtype))
    return ordered


def read_plan(
    items: Iterable[Any],
    config: Any,
    chunks: Mapping[str, int] | None = None,
    cap_bytes: int = CAP_BYTES,
) -> list[BlockKey]:
    """Return the stored-form blocks a default sensor-geometry cube of ``items`` reads first, within ``cap_bytes``.

    Parameters
    ----------
    items
        The matched ``pystac.Item`` objects.
    config
        The :class:`~icecube_stac.config.CubeConfig` the cube is built with.
    chunks
        The caller's chunk sizes (``--chunks``), over the config's.
    cap_bytes
        The most bytes of samples the plan's blocks may hold.

    Returns
    -------
    list
        Block keys in the order the graph computes them (time step, then azimuth band); empty when the
        cube is not one the plan can guess (geocoded, coregistered, a fill value, several steps per block,
        float32 samples).
    """
    if config.geocode or config.coregister.enabled or config.fill_value is not None:
        return []  # other graphs (or float blocks: a fill value other than NaN has no stored form)
    try:
        ordered = _ordered_sources(items)
    except Exception:  # an item build_cube will refuse with the proper error
        return []
    if not ordered:
        return []
    grid = ordered[0][0].shape  # the first product in time order defines the grid
    try:
        sizes = chunk_sizes([config.chunks, chunks], (len(ordered), *grid))
    except ValueError:
        return []
    if sizes["time"] != 1:
        return []
    plan: list[BlockKey] = []
    total = 0
    cols = (0, grid[1])  # each task reads whole rows: see icecube_stac.cube._graph.dask_array
    for source, dtype in ordered:
        for rows in block_bounds(grid[0], sizes[DIMS[1]]):
            height, width = min(rows[1], source.shape[0]) - rows[0], min(cols[1], source.shape[1])
            total += max(height, 0) * max(width, 0) * _ITEMSIZE[dtype]
            if total > cap_bytes:
                return plan
            plan.append(((source,), rows, cols, dtype))
    return plan


class Prefetch:
    """Blocks read ahead in one background thread, handed over once to the read task that asks for each.

    Use as a context manager around the cube's build and write; :meth:`start` begins reading. Registered
    as the process's read-ahead (:data:`icecube_stac._block_reads.read_ahead`) while open.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._blocks: dict[BlockKey, Future[npt.NDArray[Any] | None]] = {}
        self._thread: threading.Thread | None = None
        self._closed = False

    def start(self, plan: Sequence[BlockKey]) -> None:
        """Read the blocks of ``plan`` in order in a background thread (once; nothing after :meth:`close`)."""
        try:
            # The readers' modules (rasterio, h5py) are imported here, in the calling thread: two threads
            # importing at once gain nothing (imports hold the GIL) and could meet in a circular import.
            for container in {key[0][0].container for key in plan if key[0][0] is not None}:
                get_reader(container)
        except Exception:  # the tasks meet (and report) the same problem
            return
        with self._lock:
            if self._closed or self._thread is not None or not plan:
                return
            self._blocks = {key: Future() for key in plan}
            self._thread = threading.Thread(
                target=self._run, args=(list(self._blocks),), name="icecube-stac-prefetch", daemon=True
            )
        self._thread.start()

    def _run(self, keys: Sequence[BlockKey]) -> None:
        for key in keys:
            with self._lock:
                future = self._blocks.get(key)
                if self._closed or future is None or not future.set_running_or_notify_cancel():
                    continue  # taken over (cancelled) by its task, or closing
            try:
                # Looked up in the module on each call: the very function a task's plain read calls.
                block: npt.NDArray[Any] | None = _block_reads.read_stored_block(*key)
            except BaseException:  # the task reads the block again and raises the proper LoadError
                block = None
            future.set_result(block)

    def take(self, key: BlockKey) -> npt.NDArray[Any] | None:
        """Hand over the block read ahead for ``key`` (waiting for a read in progress), or None.

        None when the block was not planned, was taken already, failed, or was not started yet (it is then
        cancelled: the asking task reads it at once instead of waiting behind the queue).
        """
        with self._lock:
            future = self._blocks.pop(key, None)
            if future is None or future.cancel():
                return None
        try:
            return future.result()
        except CancelledError:
            return None

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every planned block is read (or dropped); tell whether the thread is done."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self._thread is None or not self._thread.is_alive()

    def close(self) -> None:
        """Stop reading ahead (a read in progress is finished), wait for the thread and drop every block."""
        with self._lock:
            self._closed = True
            for future in self._blocks.values():
                future.cancel()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self._blocks.clear()
        if self in _block_reads.read_ahead:
            _block_reads.read_ahead.remove(self)

    def __enter__(self) -> Self:
        _block_reads.read_ahead.append(self)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    @property
    def pending(self) -> int:
        """Blocks planned that no task has taken yet (read, being read or waiting)."""
        with self._lock:
            return len(self._blocks)
