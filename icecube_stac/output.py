"""Write cubes to Zarr (default) or NetCDF atomically, chunk by chunk, and open them back.

Storage
-------
Zarr (v3) stores everything natively, complex64 included. NetCDF has no complex type (CF has no convention;
netCDF-C cannot read h5py's complex compound), so a complex variable ``slc`` is stored as two float32 variables
``slc_real`` and ``slc_imag`` carrying the attribute ``icecube_stac_complex = "slc:real"`` / ``"slc:imag"``;
:func:`open_cube` recombines them into complex64 exactly (NaN parts included). Any netCDF-4 reader sees two
ordinary float variables.

``layout="icecube"`` writes the names of ICEYE's icecube 1.x: dims ``Band``/``Azimuth``/``Range``, GRD
variable ``Intensity`` (the DN, as icecube's ``Intensity`` held them), SLC variables ``Real`` (``s_i``) and
``Complex`` (``s_q``: icecube's misleading name for the imaginary part), labels ``Labels``. The attribute
``icecube_stac_layout = "icecube"`` lets :func:`open_cube` map such a file back to the native layout.

Targets and atomicity
---------------------
The format comes from the suffix: ``.zarr`` or none → Zarr folder, ``.nc``/``.nc4``/``.netcdf``/``.h5``/
``.hdf5`` → NetCDF-4 file; any other suffix is an error unless ``format`` is given. Every cube carries the
attribute ``icecube_stac_writer``, and ``overwrite=True`` replaces only a path that carries it (see
:mod:`icecube_stac._cube_target`): never a folder of other files, a catalog or someone else's file.
A cube is written into a private staging folder next to the target (:mod:`icecube_stac._atomic`) and moved
into place only when complete, so an interrupted or failed write never leaves a partial cube at the target;
an existing cube is swapped out in one step.

Streaming
---------
Dask-backed data are computed and written chunk by chunk (``to_zarr``/``to_netcdf`` with a delayed store), so a
cube larger than memory never materialises; with ``client`` the chunks are computed on a ``dask.distributed``
cluster, whose workers must see the target's file system.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, Literal

import dask
import numpy as np
import xarray as xr

import icecube_stac.calibration  # noqa: F401 - registers the ds.iceye accessor on opened cubes
from icecube_stac._atomic import atomic_path
from icecube_stac._cube_target import WRITER_ATTR, check_replaceable, format_of, writer_mark, zarr_store
from icecube_stac._encoding import (
    COMPLEX_ATTR,
    SOURCE_DTYPE_ATTR,
    complex_to_parts,
    default_compression,
    exact_cast,
    holds_data,
    nat_times_as_floats,
    netcdf_char_attributes,
    parse_compression,
    parts_to_complex,
    round_times,
    source_precision,
    variable_encodings,
)
from icecube_stac._progress import DaskProgress
from icecube_stac._quiet import ignoring
from icecube_stac.cube._handover import direct_writer
from icecube_stac.errors import OutputError
from icecube_stac.vocabulary import CUBE_VARIABLES, ProductLevel

__all__ = [
    "COMPLEX_ATTR",
    "ICECUBE_DIMS",
    "LAYOUT_ATTR",
    "WRITER_ATTR",
    "atomic_path",
    "open_cube",
    "write_cube",
]

Format = Literal["zarr", "netcdf"]
Layout = Literal["native", "icecube"]

LAYOUT_ATTR: Final = "icecube_stac_layout"
ICECUBE_DIMS: Final[Mapping[str, str]] = {"time": "Band", "azimuth": "Azimuth", "range": "Range"}
_GRD: Final = CUBE_VARIABLES[ProductLevel.GRD]
_SLC: Final = CUBE_VARIABLES[ProductLevel.SLC]
_ICECUBE_GRD: Final = "Intensity"
_ICECUBE_REAL: Final = "Real"
_ICECUBE_IMAG: Final = "Complex"
_LABELS, _ICECUBE_LABELS = "labels", "Labels"  # icecube 1.x's labels cube variable
_HDF5_SIGNATURE: Final = b"\x89HDF\r\n\x1a\n"
_DRAIN_SECONDS: Final = 30.0


# Native <-> stored layouts ------------------------------------------------------------------------------


def _without_encoding(ds: xr.Dataset) -> xr.Dataset:
    # Encodings inherited from a file (chunk sizes, fill values, source paths) would conflict with the new store.
    ds = ds.copy(deep=False)
    ds.encoding = {}
    for variable in ds.variables.values():
        variable.encoding = {}
    return ds


def _to_icecube(ds: xr.Dataset) -> xr.Dataset:
    if _SLC in ds.data_vars:
        ds = complex_to_parts(ds, (_ICECUBE_REAL, _ICECUBE_IMAG))
    if _GRD in ds.data_vars:
        ds = ds.rename_vars({_GRD: _ICECUBE_GRD})
    if _LABELS in ds.data_vars:
        ds = ds.rename_vars({_LABELS: _ICECUBE_LABELS})
    ds = ds.rename({old: new for old, new in ICECUBE_DIMS.items() if old in ds.dims})
    return ds.assign_attrs({LAYOUT_ATTR: "icecube"})


def _storage_form(ds: xr.Dataset, fmt: Format, layout: Layout, exact: bool) -> xr.Dataset:
    ds = nat_times_as_floats(_without_encoding(ds).assign_attrs({WRITER_ATTR: writer_mark()}))  # the mark: --overwrite
    if layout == "icecube":
        return _to_icecube(ds)
    int16 = exact and any(v.attrs.get(SOURCE_DTYPE_ATTR) == "int16" for v in ds.data_vars.values())
    if exact and _GRD in ds.data_vars and ds[_GRD].attrs.get(SOURCE_DTYPE_ATTR) == "uint16":
        ds = ds.assign({_GRD: exact_cast(ds[_GRD], "uint16", 0)})  # DN 0 is ICEYE's GRD no-data value
    # Zarr stores complex64 natively; int16 SLCs are stored as their exact int16 parts instead.
    return complex_to_parts(ds, int16=exact) if fmt == "netcdf" or int16 else ds


def _from_icecube(ds: xr.Dataset) -> xr.Dataset:
    ds = ds.rename({new: old for old, new in ICECUBE_DIMS.items() if new in ds.dims})
    if _ICECUBE_GRD in ds.data_vars:
        ds = ds.rename_vars({_ICECUBE_GRD: _GRD})
    if _ICECUBE_LABELS in ds.data_vars:
        ds = ds.rename_vars({_ICECUBE_LABELS: _LABELS})
    return ds


def _plain(value: Any) -> Any:
    # h5netcdf returns numpy scalars and arrays for attributes; the in-memory cube holds Python values.
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _native_form(ds: xr.Dataset) -> xr.Dataset:
    layout = ds.attrs.get(LAYOUT_ATTR)
    if layout == "icecube":
        ds = _from_icecube(ds)
    ds = round_times(parts_to_complex(ds))
    ds.attrs = {k: _plain(v) for k, v in ds.attrs.items() if k not in (LAYOUT_ATTR, WRITER_ATTR)}
    loaded: dict[str, xr.Variable] = {}
    for name, variable in ds.variables.items():
        variable.attrs = {k: _plain(v) for k, v in variable.attrs.items()}
        if name in ds.coords and name not in ds.indexes:
            # Per-item coords are tiny: load them, and give strings back the object dtype build_cube uses
            # (Zarr returns numpy StringDType, netCDF fixed-width unicode).
            values = np.asarray(variable.values)
            if values.dtype.kind in "UST":
                values = values.astype(object)
            loaded[str(name)] = variable.copy(data=values)
    return ds.assign_coords(loaded)


# Writing and opening ------------------------------------------------------------------------------------


def _default_client() -> Any:
    """Return the distributed client dask would use by default, if any (and no other scheduler is configured)."""
    if dask.config.get("scheduler", None) is not None:
        return None
    # A client exists only if distributed was imported: do not pay its import (~0.2 s) to find out.
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        return distributed.default_client()
    except ValueError:
        return None


@contextlib.contextmanager
def _scheduler(client: Any) -> Iterator[None]:
    """Make ``client`` the scheduler while the store graph is built (nothing to do without one)."""
    if client is None:
        yield
        return
    # xarray picks its write locks from the scheduler active while the graph is built: only when it sees the
    # client does it use distributed locks, which pickle and serialise NetCDF writes across worker processes;
    # those locks in turn need the client as the current one when the coordinates are written from here.
    with dask.config.set(scheduler=client), client.as_current():
        yield


def _executing(dask_worker: Any) -> int:
    return int(dask_worker.state.executing_count)


def _drain(client: Any, timeout: float = _DRAIN_SECONDS) -> None:
    """Wait (bounded) until the workers run no task: cancelled chunk writes may still be finishing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if not any(client.run(_executing).values()):
                return
        except Exception:  # a worker died or the cluster is closing: nothing more to wait for
            return
        time.sleep(0.05)


def _compute_distributed(delayed: Any, progress: bool, client: Any) -> None:
    future = client.compute(delayed)
    try:
        if progress:
            from distributed import progress as show_progress

            show_progress(future)  # type: ignore[no-untyped-call]
        future.result()
    except BaseException:
        # Running tasks cannot be stopped: wait for them, or they would write into the staging copy after its removal.
        client.cancel(future)
        _drain(client)
        raise


@contextlib.contextmanager
def _local_compute(progress: bool) -> Iterator[None]:
    """Make the local threaded scheduler (on a private pool) compute whatever is computed in the block."""
    # tqdm on stderr, only on a terminal: standard output is for results (dask's own bar prints to stdout).
    bar: contextlib.AbstractContextManager[Any] = DaskProgress("writing cube", requested=progress)
    if dask.config.get("scheduler", None) is not None:
        with bar:
            yield  # the caller chose a scheduler
        return
    # A private pool, because dask's threaded scheduler raises on the first failed task while others still run:
    # shutting the pool down waits for them before the staging copy is removed.
    pool = ThreadPoolExecutor(max_workers=int(dask.config.get("num_workers", None) or os.cpu_count() or 1))
    # Objects alive before the write (modules, items, the graph) are exempt from the cyclic collector meanwhile:
    # a full collection would scan them all while the worker threads wait for the GIL.
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    try:
        # The pool itself as the scheduler: a scheduler given by name makes dask import distributed (~0.3 s) to
        # look for a client first.
        with dask.config.set(scheduler=pool), bar:
            yield
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if freeze:
            gc.unfreeze()


def _store(store: xr.Dataset, staging: Path, fmt: Format, encoding: Any, options: Mapping[str, Any]) -> Any:
    """Write ``store`` to ``staging``; with ``compute=False`` in ``options`` return the delayed writes."""
    if fmt == "netcdf":
        return store.to_netcdf(staging, engine="h5netcdf", encoding=encoding, compute=options["compute"])
    # Consolidated metadata is not in the Zarr v3 spec yet, but xarray, zarr-python and fsspec readers use it
    # to open a store in one request (and plain xr.open_zarr warns without it). The dask writes run inside.
    with ignoring(UserWarning, "Consolidated metadata", any_thread=True):
        # A store, not a path: zarr reads "a::b" in a path as a chained URL.
        return store.to_zarr(zarr_store(staging), mode="w-", consolidated=True, encoding=encoding, **options)


def write_cube(
    ds: xr.Dataset,
    path: str | os.PathLike[str],
    *,
    format: Format | None = None,
    layout: Layout = "native",
    overwrite: bool = False,
    progress: bool = False,
    client: Any = None,
    compression: str | None = None,
    zarr_format: Literal[2, 3] = 3,
    stac_item: bool = True,
) -> Path:
    """Write a cube atomically to Zarr or NetCDF, computing it chunk by chunk.

    A cube exactly as ``build_cube``/``load_cube`` made it, going to a store the command line's direct writer
    covers, is written by it (the same store, file for file, without dask: :mod:`icecube_stac.cube._handover`).

    Parameters
    ----------
    ds
        A cube (dask-backed or in memory).
    path
        The target folder (Zarr) or file (NetCDF).
    format
        ``"zarr"`` or ``"netcdf"``; default from the suffix (``.zarr`` or none → Zarr;
        ``.nc``/``.nc4``/``.netcdf``/``.h5``/``.hdf5`` → NetCDF; any other suffix is an error).
    layout
        ``"native"`` (``time``/``azimuth``/``range``, ``amplitude`` or ``slc``) or ``"icecube"`` (icecube 1.x
        names: ``Band``/``Azimuth``/``Range``, ``Intensity`` or ``Real``/``Complex``).
    overwrite
        Replace an existing target (atomically), which must be a cube written by icecube-stac.
    progress
        Show a progress bar (dask's locally, ``distributed.progress`` with a client).
    client
        A ``distributed.Client`` to compute on; default: the current dask scheduler.
    compression
        ``NAME[:LEVEL]``: ``none``, ``lz4`` (Blosc LZ4 with bit shuffle), ``zstd``, ``blosc-zstd`` for Zarr
        (default lz4; none for int16 SLC parts without empty slots); ``zlib`` (default, level 1, with shuffle) or
        ``none`` for NetCDF. See :mod:`icecube_stac._encoding`.
    zarr_format
        3 (default) or 2 (for readers such as GDAL < 3.11 that do not read Zarr v3 codecs).
    stac_item
        Also write the cube's STAC item to ``<path>.json`` (see :mod:`icecube_stac.cube_item`).

    Returns
    -------
    pathlib.Path
        The target path.

    Raises
    ------
    OutputExistsError
        When the target exists and ``overwrite`` is false, or it is not a cube written by icecube-stac.
    OutputError
        For an unknown suffix, format or layout, and when the cube cannot be written (names the path).
    LoadError
        From the cube's tasks when a product cannot be read (the target is then left untouched).
    """
    target = Path(path)
    fmt = format_of(target, format)
    if layout not in ("native", "icecube"):
        raise OutputError(f"cube layout {layout!r} for {target}: expected 'native' or 'icecube'")
    if zarr_format not in (2, 3):
        raise OutputError(f"zarr_format {zarr_format!r} for {target}: expected 2 or 3")
    client = client if client is not None else _default_client()
    if client is None and (direct := direct_writer(ds, target, format, layout, zarr_format)) is not None:
        return direct(overwrite=overwrite, progress=progress, compression=compression, stac_item=stac_item)
    exact = source_precision(ds)
    store = _storage_form(ds, fmt, layout, exact)
    complete = holds_data(ds)
    codec = parse_compression(compression or default_compression(store, fmt, complete), fmt)
    encoding = variable_encodings(store, fmt, codec, zarr_format=zarr_format, exact=exact)
    # zarr's test for chunks that hold only the fill value (which it then does not write) scans every chunk on
    # its one event-loop thread, costing more than LZ4 itself; compressed, such a chunk takes a few bytes anyway.
    # Uncompressed, the test saves writing whole chunks of empty time slots: it is made only where there are some,
    # and never for int16 SLC parts, whose empty chunks hold -32768 and so never equal zarr's fill (0).
    int16_parts = any(v.dtype == np.int16 and COMPLEX_ATTR in v.attrs for v in store.data_vars.values())
    scan = codec.name == "none" and not complete and not int16_parts
    options = {"zarr_format": zarr_format, "write_empty_chunks": not scan} if fmt == "zarr" else {}
    with atomic_path(target, overwrite=overwrite, check=check_replaceable) as staging, _scheduler(client):
        if client is None:
            # Computed by xarray itself: compute=False would wrap the writes in dask.delayed, whose graph
            # conversion imports distributed (~0.3 s) to look for its barrier tasks.
            with _local_compute(progress):
                _store(store, staging, fmt, encoding, {**options, "compute": True})
        else:
            _compute_distributed(_store(store, staging, fmt, encoding, {**options, "compute": False}), progress, client)
        if fmt == "netcdf":
            netcdf_char_attributes(staging)
    if stac_item and layout == "native":
        from icecube_stac.cube_item import write_cube_item

        write_cube_item(ds, target, fmt)
    return target


def open_cube(path: str | os.PathLike[str], *, chunks: Mapping[str, int] | None = None) -> xr.Dataset:
    """Open a cube written by :func:`write_cube` (either format and layout) in the native layout.

    Parameters
    ----------
    path
        A Zarr folder or a NetCDF file.
    chunks
        Dask chunks; default: the chunks on disk.

    Returns
    -------
    xarray.Dataset
        Lazy data variables (``amplitude`` float32 or ``slc`` complex64), loaded coords, attrs as written.

    Raises
    ------
    FileNotFoundError
        When nothing exists at ``path``.
    """
    source = Path(path)
    if not source.exists():
        raise FileNotFoundError(f"no cube at {source}")
    with_chunks = dict(chunks) if chunks is not None else {}
    if source.is_file():
        with source.open("rb") as handle:
            is_hdf5 = handle.read(len(_HDF5_SIGNATURE)) == _HDF5_SIGNATURE
        if not is_hdf5:
            raise ValueError(f"{source} is neither a Zarr folder nor a NetCDF-4/HDF5 file")
        ds = xr.open_dataset(source, engine="h5netcdf", chunks=with_chunks)
    else:
        ds = xr.open_dataset(zarr_store(source, read_only=True), engine="zarr", chunks=with_chunks)
    return _native_form(ds)
