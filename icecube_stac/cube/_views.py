"""Slices of the cube's read blocks as dask arrays whose tasks return numpy views, never copies.

The read tasks produce whole-width bands (and, for int16 SLCs, the real and imaginary parts in one block);
the cube's chunks are slices of them. ``array[i]`` and ``rechunk`` would slice with dask's ``getitem``,
which copies any slice smaller than half its block, so every pixel of a cube write was copied once more
(403 MB for a 12-product stack; ~0.2 s of CPU and as many fresh pages). A view keeps its band alive only
until the slices of that band have been written, which the band itself needed anyway.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import numpy.typing as npt
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

__all__ = ["leading_part", "split_last_axis"]


def _part(block: npt.NDArray[Any], index: int) -> npt.NDArray[Any]:
    view: npt.NDArray[Any] = block[index]
    return view


def _columns(block: npt.NDArray[Any], start: int, stop: int) -> npt.NDArray[Any]:
    view: npt.NDArray[Any] = block[..., start:stop]
    return view


def _keys(source: da.Array) -> list[tuple[Any, ...]]:
    """Return the block keys of ``source``, flat (dask nests them one list per axis)."""
    keys: list[tuple[Any, ...]] = []
    pending: list[Any] = [source.__dask_keys__()]
    while pending:
        item = pending.pop()
        if isinstance(item, list):
            pending.extend(reversed(item))
        else:
            keys.append(item)
    return keys


def _array(name: str, graph: dict[Any, Any], source: da.Array, chunks: tuple[tuple[int, ...], ...]) -> da.Array:
    layer = HighLevelGraph.from_collections(name, graph, dependencies=[source])  # type: ignore[list-item]
    meta = np.empty((0,) * len(chunks), dtype=source.dtype)
    array: da.Array = da.Array(layer, name, chunks=chunks, meta=meta)  # type: ignore[no-untyped-call]
    return array


def leading_part(source: da.Array, index: int) -> da.Array:
    """Return ``source[index]`` for a source with one chunk along its first axis: a view of each block.

    Parameters
    ----------
    source
        A dask array whose first axis is a single chunk (the parts of an SLC block).
    index
        The entry of the first axis.

    Returns
    -------
    dask.array.Array
        One task per block of ``source``, returning ``block[index]``.
    """
    if len(source.chunks[0]) != 1:
        raise ValueError(f"leading_part() needs one chunk along the first axis, got {source.chunks[0]}")
    name = "icecube-stac-part-" + tokenize(source.name, index)
    graph = {(name, *key[2:]): (_part, key, index) for key in _keys(source)}
    return _array(name, graph, source, source.chunks[1:])


def split_last_axis(source: da.Array, size: int) -> da.Array:
    """Split the single chunk of the last axis into chunks of ``size`` (the last may be smaller): views.

    Parameters
    ----------
    source
        A dask array whose last axis is a single chunk (whole-width bands).
    size
        The chunk size along the last axis.

    Returns
    -------
    dask.array.Array
        One task per new chunk, returning ``block[..., start:stop]``.
    """
    if len(source.chunks[-1]) != 1:
        raise ValueError(f"split_last_axis() needs one chunk along the last axis, got {source.chunks[-1]}")
    width = source.shape[-1]
    bounds = [(start, min(start + size, width)) for start in range(0, width, size)]
    name = "icecube-stac-columns-" + tokenize(source.name, size)
    graph: dict[Any, Any] = {}
    for key in _keys(source):
        for column, (start, stop) in enumerate(bounds):
            graph[(name, *key[1:-1], column)] = (_columns, key, start, stop)
    chunks = (*source.chunks[:-1], tuple(stop - start for start, stop in bounds))
    return _array(name, graph, source, chunks)
