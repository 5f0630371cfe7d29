"""How cube variables are stored on disk: source precision, complex parts, compression — and back on open.

Source precision
----------------
A GRD ``amplitude`` whose DN come from ICEYE's uint16 rasters (variable attr ``source_dtype = "uint16"``) is
stored as uint16 with the CF ``_FillValue`` 0, ICEYE's GRD no-data DN: padding and empty slots (NaN in memory)
become 0, and readers decode the variable lazily back to float32 with NaN there (DN 0 included, which is
no-data anyway). An SLC read from int16 samples (``source_dtype = "int16"``) is stored as two int16 variables
``slc_real``/``slc_imag`` with ``_FillValue`` −32768 (a sample ICEYE's processor does not produce), tagged
``icecube_stac_complex = "slc:real"/"slc:imag"`` and recombined into complex64 on open. Float32 SLCs stay
complex64 in Zarr and become two float32 parts in NetCDF (which has no complex type). A variable without
``source_dtype`` (e.g. computed by the user), or a cube built with a fill value other than NaN, is stored in
its in-memory dtype.

The cube's graph registers, for each array it builds, the same blocks read in the source dtype
(:func:`register_stored`); as long as a variable still holds that very array (dask names change with any
operation on the data), the writer stores those blocks as they are (:func:`stored_parts`) instead of
casting the floats back and checking every sample.

Compression
-----------
``none``, ``lz4`` (Blosc LZ4 with bit shuffle), ``zstd`` and ``blosc-zstd`` (byte shuffle) for Zarr (v3, v2), ``zlib``
(with shuffle) or ``none`` for NetCDF; an optional level after a colon (``zstd:3``). The defaults are the fast
codecs measured in ``benchmarks/bench_codecs.py`` and ``bench_cube.py``: ``lz4`` for Zarr, except ``none`` for
int16 SLC parts (:func:`default_compression`), ``zlib:1`` for NetCDF.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import xarray as xr

from icecube_stac._codecs import (
    COMPLEX_ATTR,
    DEFAULT_COMPRESSION,
    INT16_FILL,
    SOURCE_DTYPE_ATTR,
    Compression,
    Format,
    default_codec,
    parse_compression,
    zarr_compressors,
)
from icecube_stac.errors import OutputError

__all__ = [
    "COMPLEX_ATTR",
    "DEFAULT_COMPRESSION",
    "INT16_FILL",
    "SOURCE_DTYPE_ATTR",
    "TIME_ENCODING",
    "Compression",
    "complex_to_parts",
    "default_compression",
    "exact_cast",
    "holds_data",
    "nat_times_as_floats",
    "parse_compression",
    "netcdf_char_attributes",
    "parts_to_complex",
    "register_stored",
    "round_times",
    "source_precision",
    "stored_parts",
    "variable_encodings",
]


_STORED_CACHE: Final = 64  # cubes whose stored form is remembered (an evicted one is cast back, as before)
_STORED: OrderedDict[str, tuple[tuple[Any, ...], bool]] = OrderedDict()  # name -> (parts, every block holds data)


def _codec_encoding(compression: Compression, fmt: Format, zarr_format: int) -> dict[str, Any]:
    if fmt == "zarr":
        return {"compressors": zarr_compressors(compression, zarr_format)}
    if compression.name == "none":
        return {}
    return {"zlib": True, "complevel": compression.level, "shuffle": True}


def register_stored(data: Any, parts: tuple[Any, ...], *, complete: bool = False) -> None:
    """Remember that the dask array ``data`` is stored as ``parts`` (source-dtype arrays of the same blocks).

    Parameters
    ----------
    data
        A dask array as the cube's graph built it (float32 DN or complex64 samples, NaN fill).
    parts
        ``(uint16 DN,)`` with fill 0, or ``(int16 real, int16 imag)`` with fill :data:`INT16_FILL`; same shape
        and chunks as ``data``.
    complete
        Every block holds samples of a product (no empty time slot, no block of padding only): a writer then
        need not look for chunks that hold only the fill value (:func:`holds_data`).
    """
    _STORED[str(data.name)] = (parts, complete)
    _STORED.move_to_end(str(data.name))
    while len(_STORED) > _STORED_CACHE:
        _STORED.popitem(last=False)


def stored_parts(data: Any, dtype: str) -> tuple[Any, ...] | None:
    """Return the registered source-dtype parts of ``data`` if they are of ``dtype``, else None.

    A dask array's name is a token of its whole graph, so a variable that was changed in any way (arithmetic,
    selection, rechunking) has another name and is written the slow way: cast back and checked.
    """
    name = getattr(data, "name", None)
    entry = _STORED.get(name) if isinstance(name, str) else None
    parts = None if entry is None else entry[0]
    if parts is None or any(p.dtype != np.dtype(dtype) or p.chunks != data.chunks for p in parts):
        return None
    return parts


def holds_data(ds: xr.Dataset) -> bool:
    """Tell whether every chunk of every data variable holds product samples (as the cube's graph registered).

    False for a variable computed otherwise, or a cube with empty time slots or blocks of padding only.
    """
    names = [getattr(v.data, "name", None) for v in ds.data_vars.values()]
    return bool(names) and all(isinstance(n, str) and _STORED.get(n, ((), False))[1] for n in names)


def default_compression(store: xr.Dataset, fmt: Format, complete: bool) -> str:
    """Return the default codec of a cube about to be stored: ``none`` for int16 SLC parts in Zarr, else lz4/zlib.

    Blosc LZ4 stores int16 SLC samples in 0.77 of their bytes but costs more CPU than writing the rest
    (``benchmarks/bench_cube.py``: ~0.3 s of a 12-product cube write); GRD DN compress to 0.70 for less, so
    they keep LZ4. A cube with empty chunks (``complete`` false: empty time slots) keeps LZ4 too, which stores
    them in a few bytes. ``--compression lz4`` gives the smaller SLC cube.
    """
    parts = [v for v in store.data_vars.values() if COMPLEX_ATTR in v.attrs]
    return default_codec(fmt, int16_parts=bool(parts) and all(v.dtype == np.int16 for v in parts), complete=complete)


def source_precision(ds: xr.Dataset) -> bool:
    """Tell whether the cube's fill is NaN, so its DN can be stored in the source dtype with a CF fill."""
    try:
        return math.isnan(float(ds.attrs.get("fill_value", "nan")))
    except (TypeError, ValueError):
        return False


def _exact_block(block: npt.NDArray[Any], dtype: str, fill: int, name: str) -> npt.NDArray[Any]:
    filled = np.where(np.isnan(block), fill, block)
    info = np.iinfo(dtype)
    stored = np.clip(filled, info.min, info.max).astype(dtype)
    if not np.array_equal(stored, filled):
        bad = filled[stored != filled].flat[0]
        raise OutputError(
            f"variable {name!r} is marked {SOURCE_DTYPE_ATTR}={dtype} but holds {bad!r}, which is not a {dtype} "
            f"sample: it was changed after build_cube; delete its {SOURCE_DTYPE_ATTR!r} attr to store it as floats"
        )
    return stored


def exact_cast(variable: xr.DataArray, dtype: str, fill: int) -> xr.DataArray:
    """Cast source samples back to their integer dtype, NaN to ``fill``, refusing any value that would change.

    Lazy for dask-backed data (the check runs per chunk while writing). The result carries the CF
    ``_FillValue`` encoding, so readers decode it to floats with NaN at ``fill``. A variable that still holds
    the array the cube's graph built is given its registered source-dtype blocks instead (:func:`stored_parts`).
    """
    name = str(variable.name)
    data = variable.data
    parts = stored_parts(data, dtype)
    if parts is not None and len(parts) == 1:
        cast = parts[0]
    elif hasattr(data, "map_blocks"):
        cast = data.map_blocks(_exact_block, dtype, fill, name, dtype=np.dtype(dtype))
    else:
        cast = _exact_block(np.asarray(data), dtype, fill, name)
    return _with_fill(variable.copy(data=cast), fill)


def _with_fill(variable: xr.DataArray, fill: int) -> xr.DataArray:
    variable.encoding = {"_FillValue": fill}
    return variable


def complex_to_parts(ds: xr.Dataset, names: tuple[str, str] | None = None, *, int16: bool = False) -> xr.Dataset:
    """Replace each complex variable by real/imaginary parts tagged with :data:`COMPLEX_ATTR`.

    Parameters
    ----------
    ds
        A cube.
    names
        Names of the two parts (default ``NAME_real``/``NAME_imag``).
    int16
        Store parts of variables whose ``source_dtype`` is int16 as int16 (exact) with a CF fill value.
    """
    out = ds.copy(deep=False)
    for name in [str(n) for n, v in ds.data_vars.items() if v.dtype.kind == "c"]:
        variable = ds[name]
        real_name, imag_name = names or (f"{name}_real", f"{name}_imag")
        as_int = int16 and variable.attrs.get(SOURCE_DTYPE_ATTR) == "int16"
        part_dtype = np.float32 if variable.dtype == np.complex64 else np.float64
        out = out.drop_vars(name)
        registered = stored_parts(variable.data, "int16") if as_int else None
        for index, (part_name, kind) in enumerate(((real_name, "real"), (imag_name, "imag"))):
            if registered is not None and len(registered) == 2:
                stored = _with_fill(variable.copy(data=registered[index]).rename(part_name), INT16_FILL)
            else:
                part = variable.real if kind == "real" else variable.imag
                stored = part.astype(part_dtype).rename(part_name)
                if as_int:
                    stored = exact_cast(stored, "int16", INT16_FILL)
            out[part_name] = stored.assign_attrs(variable.attrs, **{COMPLEX_ATTR: f"{name}:{kind}"})
    return out


def _combine(real: npt.NDArray[Any], imag: npt.NDArray[Any]) -> npt.NDArray[Any]:
    # Assigning the parts (rather than real + 1j*imag) keeps NaN parts and signed zeros exactly as stored.
    out = np.empty(real.shape, dtype=np.complex64 if real.dtype == np.float32 else np.complex128)
    out.real = real
    out.imag = imag
    return out


def parts_to_complex(ds: xr.Dataset) -> xr.Dataset:
    """Recombine the tagged real/imaginary parts of :func:`complex_to_parts` into complex variables."""
    parts: dict[str, dict[str, str]] = {}
    for name, variable in ds.data_vars.items():
        target, _, kind = str(variable.attrs.get(COMPLEX_ATTR, "")).rpartition(":")
        if target and kind in ("real", "imag"):
            parts.setdefault(target, {})[kind] = str(name)
    for target, names in parts.items():
        if set(names) != {"real", "imag"}:
            continue  # half a pair: leave it visible rather than guess
        real, imag = ds[names["real"]], ds[names["imag"]]
        if real.dtype != np.float64:  # int16 parts decode to float32 (CF fill -> NaN)
            real, imag = real.astype(np.float32), imag.astype(np.float32)
        dtype = np.complex64 if real.dtype == np.float32 else np.complex128
        combined = xr.apply_ufunc(_combine, real, imag, dask="parallelized", output_dtypes=[dtype])
        combined.attrs = {k: v for k, v in ds[names["real"]].attrs.items() if k != COMPLEX_ATTR}
        ds = ds.drop_vars([names["real"], names["imag"]]).assign({target: combined})
    return ds


# CF time units that every netCDF tool decodes (ncdump -t does not know "microseconds since"); float64 seconds
# hold ICEYE's microsecond times to a fraction of a microsecond, and open_cube rounds them back exactly.
TIME_ENCODING: Final = {"units": "seconds since 1970-01-01 00:00:00", "calendar": "standard", "dtype": "float64"}
TIME_RESOLUTION: Final = "us"


def _round_us(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    ns = values.astype("datetime64[ns]").view(np.int64)
    rounded = np.where(np.isnat(values), ns, (ns + 500) // 1000 * 1000)  # NaT stays NaT
    return rounded.view("datetime64[ns]")


def round_times(ds: xr.Dataset) -> xr.Dataset:
    """Round every datetime variable to ICEYE's microsecond resolution (undoes the float seconds on disk).

    Datetime variables are small coordinates (one value per time step), so they are loaded here.
    """
    rounded = {
        str(name): variable.copy(data=_round_us(np.asarray(variable.values)))
        for name, variable in ds.variables.items()
        if variable.dtype.kind == "M"
    }
    return ds.assign_coords({k: v for k, v in rounded.items() if k in ds.coords}).assign(
        {k: v for k, v in rounded.items() if k not in ds.coords}
    )


def nat_times_as_floats(ds: xr.Dataset) -> xr.Dataset:
    """Store a datetime variable that holds only NaT (no item gave that time) as CF float seconds, all NaN.

    xarray cannot encode such a variable with the standard calendar (its date check fails on the empty
    range); these attributes and NaN are what it writes for the NaT of any other time variable, and readers
    decode them back to NaT. The direct writer (:mod:`icecube_stac.cube._direct`) stores the same.
    """
    empty = {
        str(name): variable
        for name, variable in ds.variables.items()
        if variable.dtype.kind == "M" and variable.size and bool(np.isnat(np.asarray(variable.values)).all())
    }
    if not empty:
        return ds
    units = {"units": TIME_ENCODING["units"].removesuffix(" 00:00:00"), "calendar": TIME_ENCODING["calendar"]}
    floats = {
        name: xr.Variable(v.dims, np.full(v.shape, np.nan), attrs={**v.attrs, **units}) for name, v in empty.items()
    }
    return ds.assign_coords({k: v for k, v in floats.items() if k in ds.coords}).assign(
        {k: v for k, v in floats.items() if k not in ds.coords}
    )


def variable_encodings(
    store: xr.Dataset, fmt: Format, compression: Compression, *, zarr_format: int = 3, exact: bool = True
) -> dict[str, dict[str, Any]]:
    """Return the ``encoding=`` of every data variable: source dtype, fill, chunks and codec.

    Parameters
    ----------
    store
        The dataset about to be written (after :func:`complex_to_parts` where needed).
    fmt, compression, zarr_format
        Target format, codec and Zarr format version.
    exact
        Use source-precision dtypes (see :func:`source_precision`).
    """
    encodings: dict[str, dict[str, Any]] = {
        str(name): dict(TIME_ENCODING) for name, variable in store.variables.items() if variable.dtype.kind == "M"
    }
    for name, variable in store.data_vars.items():
        encoding: dict[str, Any] = dict(variable.encoding) if exact else {}
        if variable.chunks is not None and fmt == "netcdf":
            encoding["chunksizes"] = tuple(c[0] for c in variable.chunks)
        encoding.update(_codec_encoding(compression, fmt, zarr_format))
        encodings[str(name)] = encoding
    return encodings


def _char_attrs(attrs: Any) -> None:
    import h5py

    for key in list(attrs):
        value = attrs[key]
        if isinstance(value, str):
            data = value.encode("utf-8")
            del attrs[key]
            attrs.create(
                key,
                np.frombuffer(data or b" ", dtype=f"S{max(len(data), 1)}")[0],
                dtype=h5py.string_dtype("utf-8", max(len(data), 1)),
            )


def netcdf_char_attributes(path: str | os.PathLike[str]) -> None:
    """Rewrite the text attributes of a NetCDF-4 file as fixed-length strings (netCDF ``NC_CHAR``).

    h5netcdf writes text attributes as variable-length strings (``NC_STRING``), which ``ncdump -t`` and
    other netCDF-C tools do not treat as CF ``units``: times then show as raw numbers.
    """
    import h5py

    with h5py.File(path, "r+") as h5:
        _char_attrs(h5.attrs)
        for variable in h5.values():
            if isinstance(variable, h5py.Dataset):
                _char_attrs(variable.attrs)
