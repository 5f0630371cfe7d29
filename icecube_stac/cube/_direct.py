"""The direct Zarr writer: a plain cube stored from its plan with zarr-python alone, no xarray, pandas or dask.

``icecube-stac cube`` writes most cubes in their plainest form: sensor geometry, native layout, Zarr v3, NaN
fill, uint16 GRD DN or int16 SLC samples stored as they are. For such a cube the imports of xarray, pandas and
dask are most of the fixed cost of a run (about 0.5 s of a 1.4 s command on 12 products, measured), and their
scheduler adds nothing to a loop over full-width row bands. :func:`write_plan` stores the
:class:`~icecube_stac.cube._plan.CubePlan` directly. The store is the one ``write_cube(build_cube(...))``
writes: the same arrays, dtypes, chunks, codecs, fill values, attributes (the CF encoding xarray gives times,
fills and ``coordinates``) and consolidated metadata, and the same chunk bytes.
``tests/test_74_direct_writer.py`` compares the two file by file.

Each job reads one block of full-width rows in the source dtype
(:func:`~icecube_stac.cube._blocks.read_source_block`) and stores it. One job runs per core (or
``DASK_NUM_WORKERS``, the dask writer's knob too); each holds one block, so memory does not grow with the cube.
The writes are atomic (:mod:`icecube_stac._atomic`), as with :func:`icecube_stac.output.write_cube`, and each
chunk file starts its write-back as soon as it is stored (the writers' store,
:class:`icecube_stac._zarr_store.WritebackStore`), so the sync before the cube is published has little left.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import math
import os
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from icecube_stac._atomic import atomic_path
from icecube_stac._codecs import (
    COMPLEX_ATTR,
    INT16_FILL,
    Compression,
    default_codec,
    parse_compression,
    zarr_compressors,
)
from icecube_stac._cube_target import WRITER_ATTR, check_replaceable, format_of, writer_mark, zarr_store
from icecube_stac._progress import tracked
from icecube_stac._quiet import ignoring
from icecube_stac._workers import writer_workers
from icecube_stac.cube._blocks import DIMS, block_bounds, read_source_block
from icecube_stac.cube._fill_chunks import FillChunks
from icecube_stac.cube._plan import CubePlan

if TYPE_CHECKING:
    from icecube_stac.cube_item import CubeSummary

__all__ = ["direct_writable", "plan_summary", "write_plan"]

# The stored variables of each source dtype: (name suffix, attrs added, CF _FillValue); uint16 DN keep the name.
_STORED: Final[Mapping[str, tuple[tuple[str, Mapping[str, str], int], ...]]] = {
    "uint16": (("", {}, 0),),  # 0 is ICEYE's GRD no-data DN
    "int16": (
        ("_real", {COMPLEX_ATTR: "{name}:real"}, INT16_FILL),
        ("_imag", {COMPLEX_ATTR: "{name}:imag"}, INT16_FILL),
    ),
}
# xarray's CF encoding of the cube's datetimes (icecube_stac._encoding.TIME_ENCODING, as xarray writes its units).
_TIME_UNITS: Final = {"units": "seconds since 1970-01-01", "calendar": "standard"}
# xarray writes a float variable's NaN _FillValue into Zarr v3 attributes as base64 of its little-endian bytes.
_NAN_FILL: Final = base64.standard_b64encode(np.array(math.nan, "<f8").tobytes()).decode("ascii")


def direct_writable(
    plan: CubePlan, path: str | os.PathLike[str], *, format: str | None, layout: str, zarr_format: int
) -> bool:
    """Tell whether :func:`write_plan` stores this cube exactly as ``write_cube`` would.

    True for a Zarr v3 target in the native layout, a NaN fill, and products whose samples are uint16 DN or int16
    SLC parts. Other cubes (NetCDF, Zarr v2, the icecube layout, float32 SLCs, another fill value) are written
    through xarray.
    """
    if layout != "native" or zarr_format != 3 or not math.isnan(plan.fill) or plan.source_dtype not in _STORED:
        return False
    return format_of(Path(path), format) == "zarr"


def _attrs_of(values: npt.NDArray[Any], attrs: Mapping[str, str]) -> tuple[npt.NDArray[Any], dict[str, Any], Any]:
    """Return a coordinate as xarray stores it: values, attributes, Zarr fill value."""
    if values.dtype.kind == "M":  # float seconds since the epoch; NaT becomes NaN
        seconds = (values.astype("datetime64[ns]") - np.datetime64(0, "ns")) / np.timedelta64(1, "s")
        return seconds, {**attrs, **_TIME_UNITS, "_FillValue": _NAN_FILL}, math.nan
    if values.dtype.kind == "f":
        return values, {**attrs, "_FillValue": _NAN_FILL}, math.nan
    if values.dtype.kind == "O":
        return values, dict(attrs), ""
    return values, dict(attrs), 0


async def _store_coords(group: Any, plan: CubePlan, write_empty: bool) -> None:
    async def one(name: str, dim: str, values: npt.NDArray[Any], attrs: Mapping[str, str]) -> None:
        stored, stored_attrs, fill = _attrs_of(values, attrs)
        array = await group.create_array(
            name,
            shape=stored.shape,
            dtype=str if stored.dtype.kind == "O" else stored.dtype,
            fill_value=fill,
            attributes=stored_attrs,
            dimension_names=(dim,),
            config={"write_empty_chunks": write_empty},
        )
        await array.setitem(Ellipsis, stored)

    await asyncio.gather(*(one(name, dim, values, attrs) for name, (dim, values, attrs) in plan.coords.items()))


def _write_coords(store: Any, plan: CubePlan, write_empty: bool) -> None:
    """Store the coordinates: ~20 small arrays, created and written concurrently on zarr's event loop.

    One after the other through zarr's synchronous API they took ~20 round trips to its loop thread, about
    0.06 s alone and 0.17 s beside the pixel jobs (measured).
    """
    from zarr.api.asynchronous import open_group
    from zarr.core.sync import sync

    async def run() -> None:
        await _store_coords(await open_group(store, mode="r+", zarr_format=3), plan, write_empty)

    sync(run())


def _create_data(group: Any, plan: CubePlan, codec: Compression, write_empty: bool) -> list[Any]:
    """Create the stored data variables (the DN, or the int16 parts) and return their arrays."""
    assert plan.source_dtype is not None
    coordinates = " ".join(sorted(name for name in plan.coords if name not in DIMS))
    chunks = tuple(plan.sizes[dim] for dim in DIMS)
    arrays = []
    for suffix, extra, cf_fill in _STORED[plan.source_dtype]:
        attrs = {**plan.attrs, **{k: v.format(name=plan.name) for k, v in extra.items()}}
        arrays.append(
            group.create_array(
                plan.name + suffix,
                shape=(len(plan.sources), *plan.grid),
                chunks=chunks,
                dtype=plan.source_dtype,
                fill_value=0,  # xarray leaves Zarr's own; readers mask with the CF _FillValue
                compressors=zarr_compressors(codec, 3),
                attributes={**attrs, "coordinates": coordinates, "_FillValue": cf_fill},
                dimension_names=DIMS,
                config={"write_empty_chunks": write_empty},
            )
        )
    return arrays


def _write_block(
    plan: CubePlan, arrays: list[Any], fill: FillChunks, times: tuple[int, int], rows: tuple[int, int]
) -> None:
    assert plan.source_dtype is not None
    if all(source is None for source in plan.sources[times[0] : times[1]]):  # empty time slots only
        fill.write((times, rows, (0, plan.grid[1])))
        return
    block = read_source_block(plan.sources[times[0] : times[1]], rows, (0, plan.grid[1]), plan.source_dtype)
    where = (slice(*times), slice(*rows), slice(None))
    for index, array in enumerate(arrays):
        array[where] = block if len(arrays) == 1 else block[index]  # its files start their write-back (store)


def _write_data(
    plan: CubePlan, arrays: list[Any], fill: FillChunks, progress: bool, coords: Callable[[], None]
) -> None:
    """Read and store every block of full-width rows, one job per core; the first failure stops the rest.

    ``coords`` (the coordinates' writes: ~20 small arrays, a few zarr round trips each) runs in a thread of its
    own while the jobs read the first blocks. It mostly waits for zarr's event loop, and as one of the jobs it
    kept a core from the pixels for ~0.17 s of a 0.4 s SLC write (measured).
    """
    times = block_bounds(len(plan.sources), plan.sizes["time"])
    rows = block_bounds(plan.grid[0], plan.sizes["azimuth"])
    pool = ThreadPoolExecutor(max_workers=writer_workers(), thread_name_prefix="icecube-stac-write")
    side = ThreadPoolExecutor(max_workers=1, thread_name_prefix="icecube-stac-coords")
    try:
        futures: list[Future[None]] = [side.submit(coords)]
        futures += [pool.submit(_write_block, plan, arrays, fill, t, r) for t in times for r in rows]
        for future in tracked(as_completed(futures), progress, desc="writing cube", unit="job", total=len(futures)):
            future.result()  # a LoadError naming the item and href (or an OSError), raised here at once
    finally:
        # Running jobs end before the staging folder is removed; queued ones never start.
        pool.shutdown(wait=True, cancel_futures=True)
        side.shutdown(wait=True, cancel_futures=True)


def plan_summary(plan: CubePlan) -> CubeSummary:
    """Return what the cube's STAC item says of it (:mod:`icecube_stac.cube_item`), from the plan."""
    from icecube_stac.cube_item import CubeSummary

    def texts(name: str) -> list[str]:
        return [str(value) for value in plan.coords[name][1]] if name in plan.coords else []

    return CubeSummary(
        attrs=dict(plan.dataset_attrs),
        sizes=dict(zip(DIMS, (len(plan.sources), *plan.grid), strict=True)),
        times=plan.coords["time"][1],
        stac_items=texts("stac_item"),
        item_hrefs=texts("item_href"),
        platforms=texts("platform"),
        variables={plan.name: (DIMS, dict(plan.attrs))},  # as a user opens it: amplitude or slc, decoded
        spatial={},
    )


def write_plan(
    plan: CubePlan,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: bool = False,
    compression: str | None = None,
    stac_item: bool = True,
) -> Path:
    """Write a plan's cube to a Zarr v3 folder atomically, as ``write_cube(build_cube(...))`` would.

    Parameters
    ----------
    plan
        A plan for which :func:`direct_writable` is true.
    path
        The target folder.
    overwrite
        Replace an existing target (atomically), which must be a cube written by icecube-stac.
    progress
        Show a progress bar of the blocks on a terminal.
    compression
        ``NAME[:LEVEL]`` as for :func:`~icecube_stac.output.write_cube`; default lz4, or none for int16 SLC
        parts when every chunk holds samples.
    stac_item
        Also write the cube's STAC item to ``<path>.json`` (:mod:`icecube_stac.cube_item`).

    Returns
    -------
    pathlib.Path
        The target path.

    Raises
    ------
    OutputExistsError, OutputError
        As :func:`~icecube_stac.output.write_cube`.
    LoadError
        When a product cannot be read (the target is then left untouched).
    """
    import zarr

    target = Path(path)
    complete = plan.complete
    codec = parse_compression(
        compression or default_codec("zarr", int16_parts=plan.source_dtype == "int16", complete=complete), "zarr"
    )
    # As write_cube: zarr's scan for chunks holding only the fill is made only where some may (see there).
    write_empty = not (codec.name == "none" and not complete and plan.source_dtype != "int16")
    attributes = {**plan.dataset_attrs, WRITER_ATTR: writer_mark()}
    with atomic_path(target, overwrite=overwrite, check=check_replaceable) as staging:
        store = zarr_store(staging)
        group = zarr.create_group(store, zarr_format=3, attributes=attributes)
        arrays = _create_data(group, plan, codec, write_empty)
        fill = FillChunks(store, arrays, str(plan.source_dtype))
        _write_data(plan, arrays, fill, progress, functools.partial(_write_coords, store, plan, write_empty))
        with ignoring(UserWarning, "Consolidated metadata", any_thread=True):  # as write_cube (see output._store)
            zarr.consolidate_metadata(store, zarr_format=3)
    if stac_item:
        from icecube_stac.cube_item import write_cube_item

        write_cube_item(plan_summary(plan), target, "zarr")
    return target
