"""The direct writer's empty time slots: each distinct chunk encoded once, then its stored bytes copied.

A cube on a regular time axis (``temporal_resolution``) has a slot for every step, most of them empty where
acquisitions are sparse: 354 of 366 daily slots for 12 products in a year. Every chunk of an empty slot holds
only the fill (uint16 DN 0, or -32768 in both int16 SLC parts), and each went through zarr's codec pipeline
like a chunk of pixels: ~10 ms to compress 8 MiB of zeros with LZ4 and bit-shuffle, 9.3 s for that year of
4096 x 4096 GRD against 1.5 s for its 12 products alone (measured). The stored bytes of such chunks depend only
on the array and on how much of the chunk lies inside the cube (zarr pads an edge chunk with its own fill,
which is not the CF fill of int16 parts), so :class:`FillChunks` has zarr store the first chunk of each
kind as it always would, reads its bytes back, and writes copies of them for the others. The store is the
one zarr would have written, file for file (``tests/test_74_direct_writer.py``); where zarr leaves a
fill-only chunk out (``write_empty_chunks`` false: uncompressed DN), no copy is written either.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import threading
from collections.abc import Sequence
from typing import Any, Final

import numpy as np

from icecube_stac._codecs import INT16_FILL

__all__ = ["FillChunks"]

_FILL: Final = {"uint16": 0, "int16": INT16_FILL}  # what read_source_block puts in an empty slot

_UNKNOWN: Final = object()


def _chunk_ranges(bounds: Sequence[tuple[int, int]], chunks: Sequence[int]) -> list[range]:
    """Return the chunk indices each dim of a chunk-aligned block spans."""
    return [range(start // size, math.ceil(stop / size)) for (start, stop), size in zip(bounds, chunks, strict=True)]


def _key(array: Any, coords: tuple[int, ...]) -> str:
    """Return the store key of one chunk of an array of the group."""
    return f"{array.path}/{array.metadata.encode_chunk_key(coords)}"


class FillChunks:
    """Stores blocks of empty time slots of the direct writer's arrays (module doc). Safe from many threads.

    Parameters
    ----------
    store
        The zarr store the arrays are in.
    arrays
        The stored data variables (the DN, or the real and imaginary int16 parts).
    source_dtype
        ``"uint16"`` or ``"int16"``.
    """

    def __init__(self, store: Any, arrays: Sequence[Any], source_dtype: str) -> None:
        self._store = store
        self._arrays = list(arrays)
        self._fill = _FILL[source_dtype]
        self._lock = threading.Lock()
        # (array index, chunk extent inside the cube) -> its stored bytes, None where zarr stores nothing
        self._bytes: dict[tuple[int, tuple[int, ...]], Any] = {}
        self._first: dict[tuple[int, tuple[int, ...]], threading.Lock] = {}  # held while a kind is encoded

    def write(self, bounds: Sequence[tuple[int, int]]) -> None:
        """Store the chunks of a block, given as chunk-aligned ``(start, stop)`` per dim, holding only the fill."""
        for index, array in enumerate(self._arrays):
            copies: dict[int, tuple[Any, list[str]]] = {}
            for coords in itertools.product(*_chunk_ranges(bounds, array.chunks)):
                extent = tuple(
                    min(size, total - i * size)
                    for i, size, total in zip(coords, array.chunks, array.shape, strict=True)
                )
                stored = self._stored(index, array, coords, extent)
                if stored is not None and stored is not _UNKNOWN:
                    copies.setdefault(id(stored), (stored, []))[1].append(_key(array, coords))
            if copies:
                self._put([(stored, keys) for stored, keys in copies.values()])

    def _stored(self, index: int, array: Any, coords: tuple[int, ...], extent: tuple[int, ...]) -> Any:
        """Return the bytes to copy to this chunk; _UNKNOWN once this call has had zarr store it itself."""
        kind = (index, extent)
        with self._lock:
            known = self._bytes.get(kind, _UNKNOWN)
            first = self._first.setdefault(kind, threading.Lock())
        if known is not _UNKNOWN:
            return known
        with first:  # one thread encodes a kind; the others, come meanwhile, copy its bytes
            with self._lock:
                known = self._bytes.get(kind, _UNKNOWN)
            if known is not _UNKNOWN:
                return known
            where = tuple(slice(i * s, i * s + n) for i, s, n in zip(coords, array.chunks, extent, strict=True))
            array[where] = np.full(extent, self._fill, array.dtype)  # zarr encodes and stores it, as any chunk
            stored = self._get(_key(array, coords))
            with self._lock:
                self._bytes[kind] = stored
        return _UNKNOWN

    def _get(self, key: str) -> Any:
        from zarr.core.buffer import default_buffer_prototype
        from zarr.core.sync import sync

        return sync(self._store.get(key, prototype=default_buffer_prototype()))  # None: zarr left it out

    def _put(self, copies: list[tuple[Any, list[str]]]) -> None:
        from zarr.core.sync import sync

        async def run() -> None:
            await asyncio.gather(*(self._store.set(key, stored) for stored, keys in copies for key in keys))

        sync(run())
