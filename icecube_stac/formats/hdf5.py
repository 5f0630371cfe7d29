"""ICEYE SLC HDF5 files: metadata from root datasets and complex pixels from ``s_i``/``s_q``.

Every metadata field is a root dataset (strings as variable-length ASCII that h5py returns as bytes,
time vectors as ``S26`` arrays of shape (N, 1)); the RPC lives in an ``RPC/`` group that older products
lack. Pixel reads open the file by path on every call, so they are safe in any dask worker process:
h5py objects cannot be pickled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Self

import h5py
import numpy as np
import numpy.typing as npt

from icecube_stac._fields import as_int
from icecube_stac.errors import MetadataError
from icecube_stac.formats._isolated import isolated
from icecube_stac.formats._regular import require_regular_file
from icecube_stac.metadata import MAX_SAMPLES, MAX_SIDE, IceyeMetadata
from icecube_stac.vocabulary import local_path

__all__ = ["HDF5_READER", "Hdf5Reader", "read_hdf5_fields", "read_hdf5_metadata", "read_slc_window", "slc_layout"]

_PIXEL_DATASETS = ("s_i", "s_q")
# Per-pixel vectors (one value per range column or azimuth line) are too large to carry as metadata.
_MAX_METADATA_VALUES = 4096
# ... and too many bytes: a fixed-length string of 10**9 bytes compresses to a few bytes on disk.
_MAX_METADATA_BYTES: Final = 2**20
# What ICEYE writes: int16 or float32 I/Q samples (any byte order).
_SAMPLE_DTYPES: Final = frozenset({np.dtype("<i2"), np.dtype(">i2"), np.dtype("<f4"), np.dtype(">f4")})
# The largest ICEYE products are tens of thousands of lines; a declared size beyond this is a corrupt file
# (checked before anything is allocated or read).
_MAX_SIDE: Final = MAX_SIDE
_MAX_SAMPLES: Final = MAX_SAMPLES
# Byte-flipped files make h5py raise many types while walking the tree.
_H5_ERRORS: Final = (OSError, RuntimeError, KeyError, ValueError, TypeError, OverflowError)


def _hard_node(group: h5py.Group, name: str, path: str | Path) -> Any:
    """Return ``group[name]`` if it is stored in this file: soft and external links are refused."""
    link = group.get(name, getlink=True)
    if link is None:
        raise MetadataError(path, f"no {name} dataset: not an ICEYE SLC HDF5 product", name)
    if not isinstance(link, h5py.HardLink):
        raise MetadataError(
            path, f"{name} is a {type(link).__name__}; links to other objects or files are refused", name
        )
    return group[name]


def _local_dataset(group: h5py.Group, name: str, path: str | Path) -> h5py.Dataset:
    """Return a dataset whose bytes live in this file (no external storage, no virtual dataset)."""
    node = _hard_node(group, name, path)
    if not isinstance(node, h5py.Dataset):
        raise MetadataError(path, f"{name} is a {type(node).__name__}, not a dataset", name)
    if node.external:
        raise MetadataError(path, f"{name} uses external storage (raw data in other files); refused", name)
    if node.is_virtual:
        raise MetadataError(path, f"{name} is a virtual dataset (data mapped from other files); refused", name)
    return node


def _sample_datasets(h5: h5py.File, path: str | Path) -> tuple[h5py.Dataset, h5py.Dataset]:
    """Return ``s_i`` and ``s_q`` after checking them: 2-D, same shape, int16/float32, plausible size."""
    i_data, q_data = (_local_dataset(h5, name, path) for name in _PIXEL_DATASETS)
    for name, data in zip(_PIXEL_DATASETS, (i_data, q_data), strict=True):
        if data.shape is None or len(data.shape) != 2:
            raise MetadataError(path, f"{name} has shape {data.shape}; expected (azimuth, range)", name)
        if np.dtype(data.dtype) not in _SAMPLE_DTYPES:
            raise MetadataError(path, f"{name} has dtype {data.dtype}; ICEYE SLC samples are int16 or float32", name)
    naz, nrg = (int(n) for n in i_data.shape)
    if q_data.shape != i_data.shape or q_data.dtype != i_data.dtype:
        raise MetadataError(path, f"s_q is {q_data.shape} {q_data.dtype} but s_i is {i_data.shape} {i_data.dtype}")
    if not (1 <= naz <= _MAX_SIDE and 1 <= nrg <= _MAX_SIDE) or naz * nrg > _MAX_SAMPLES:
        raise MetadataError(
            path,
            f"s_i declares {naz} x {nrg} samples; at most {_MAX_SIDE} per side and {_MAX_SAMPLES} in all are read",
            "s_i",
        )
    return i_data, q_data


def _decode(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("ascii", errors="replace")
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "SO":
            return [_decode(v) for v in value.ravel().tolist()]
        if value.dtype == np.float32:
            shortest = np.array([float(str(v)) for v in value.ravel()], dtype=np.float64)
            return shortest.reshape(value.shape).tolist()
        return value.tolist()
    if isinstance(value, np.float32):
        # float32 fields (avg_scene_height, RPC) mean the decimal value ICEYE wrote, which the XML keeps
        # as text: the shortest float32 repr recovers it (288.42584, not 288.42584228515625).
        return float(str(value))
    if isinstance(value, np.generic):
        return value.item()
    return value


def _dataset_value(dataset: h5py.Dataset) -> Any:
    if dataset.dtype.kind not in "biufSO" or dataset.dtype.names:
        raise TypeError(f"unsupported dtype {dataset.dtype}")
    return _decode(dataset[()])


def read_hdf5_fields(path: str | Path) -> dict[str, Any]:
    """Read the root metadata datasets of an ICEYE SLC HDF5 file into raw fields.

    Parameters
    ----------
    path
        The ``.h5`` file.

    Returns
    -------
    dict
        Lowercase field names; strings decoded; arrays as (nested) lists; the ``RPC`` group as a
        mapping; ``data_type`` set from the actual ``s_i`` dtype (more trustworthy than
        ``sample_precision``).

    Raises
    ------
    MetadataError
        When the file is unreadable (truncated, not HDF5), lacks ``s_i``/``s_q``, or makes libhdf5 loop or
        crash (it is read in a child process with a time limit: :mod:`icecube_stac.formats._isolated`).
    """
    require_regular_file(path)
    return isolated(_read_fields, path)


def _read_fields(path: str | Path) -> dict[str, Any]:
    try:
        with h5py.File(path, "r") as h5:
            return _fields(h5, path)
    except _H5_ERRORS as exc:
        raise MetadataError(
            path, f"unreadable HDF5 file (truncated or not HDF5): {type(exc).__name__}: {exc}"
        ) from None


def _small_value(dataset: h5py.Dataset) -> tuple[bool, Any]:
    """Return ``(True, value)`` for a small decodable dataset, ``(False, None)`` for one to list as large."""
    if dataset.shape is None:  # an empty (null-dataspace) dataset carries no value
        return True, None
    if dataset.size > _MAX_METADATA_VALUES or dataset.size * dataset.dtype.itemsize > _MAX_METADATA_BYTES:
        return False, None  # checked before anything is read
    try:
        return True, _dataset_value(dataset)
    except (TypeError, ValueError, OSError):
        # Serialised Python objects (hickle splines, spec 2.4) cannot be decoded without pickle.
        return False, None


def _rpc_fields(group: h5py.Group, path: str | Path) -> dict[str, Any]:
    rpc: dict[str, Any] = {}
    for name in group:
        node = _hard_node(group, name, path)
        if isinstance(node, h5py.Dataset):
            small, value = _small_value(_local_dataset(group, name, path))
            if not small:  # RPC00B has 20 coefficients per polynomial: anything larger is not an RPC
                size = f"{node.size} values of {node.dtype.itemsize} bytes"
                raise MetadataError(path, f"RPC/{name} holds {size}; an RPC holds at most 20 numbers", "rpc")
            rpc[name.lower()] = value
    return rpc


def _fields(h5: h5py.File, path: str | Path) -> dict[str, Any]:
    i_data, _ = _sample_datasets(h5, path)
    raw: dict[str, Any] = {}
    large: list[str] = []
    for name in h5:
        key = name.lower()
        if name in _PIXEL_DATASETS:
            continue
        node = _hard_node(h5, name, path)
        if isinstance(node, h5py.Group):
            if key == "rpc":
                raw["rpc"] = _rpc_fields(node, path)
            continue
        small, value = _small_value(_local_dataset(h5, name, path))
        if not small:
            large.append(name)
        elif value is not None:
            raw[key] = value
    raw["data_type"] = i_data.dtype.name  # int16 / float32 whatever the byte order
    raw["data_shape"] = list(i_data.shape)
    if large:
        raw["per_pixel_datasets"] = sorted(large)
    return raw


def read_hdf5_metadata(path: str | Path) -> IceyeMetadata:
    """Read an ICEYE SLC HDF5 file's embedded metadata into :class:`IceyeMetadata`.

    Parameters
    ----------
    path
        The ``.h5`` file.

    Returns
    -------
    IceyeMetadata
    """
    raw = read_hdf5_fields(path)
    _check_shape(raw, path)
    return IceyeMetadata.from_fields(raw, source=path, source_format="hdf5")


def _check_shape(raw: dict[str, Any], path: str | Path) -> None:
    shape = raw.get("data_shape")
    names = ("number_of_azimuth_samples", "number_of_range_samples")
    declared = tuple(raw.get(name) for name in names)
    if shape is None or None in declared:
        return
    try:
        expected = tuple(as_int(v) for v in declared)
    except (ValueError, TypeError):
        return  # a malformed count is reported, with its field name and allowed range, by the metadata model
    for name, stored, count in zip(names, shape, expected, strict=True):
        if stored != count:
            raise MetadataError(
                path, f"s_i has shape {tuple(shape)} but the metadata declares {expected[0]} x {expected[1]}", name
            )


class _Hdf5Raster:
    """An open SLC HDF5 file: ``s_i + 1j*s_q`` as complex64 in azimuth rows x range columns."""

    def __init__(self, href: str) -> None:
        self.href = href
        local = local_path(href)
        self._fileobj: Any = None
        if local is not None:
            require_regular_file(local)
        try:
            if local is None:
                import fsspec

                # h5py.File accepts a seekable file object in place of a path.
                self._fileobj = fsspec.open(href, "rb").open()
            self._h5 = h5py.File(self._fileobj if local is None else local, "r")
        except (OSError, ImportError, ValueError) as exc:
            self._close_fileobj()
            raise MetadataError(href, f"unreadable HDF5 file (truncated, not HDF5 or unreachable): {exc}") from None
        try:
            self._i, self._q = _sample_datasets(self._h5, href)
        except MetadataError:
            self.close()
            raise
        except _H5_ERRORS as exc:
            self.close()
            raise MetadataError(href, f"unreadable HDF5 file: {type(exc).__name__}: {exc}") from None

    @property
    def shape(self) -> tuple[int, int]:
        """``(azimuth, range)`` size of ``s_i``."""
        return int(self._i.shape[0]), int(self._i.shape[1])

    @property
    def dtype(self) -> np.dtype[Any]:
        """complex64: the reader combines the I and Q samples."""
        return np.dtype(np.complex64)

    @property
    def stored_dtype(self) -> np.dtype[Any]:
        """The on-disk dtype of ``s_i`` (int16 or float32)."""
        stored: np.dtype[Any] = np.dtype(self._i.dtype)
        return stored

    def read(self, rows: slice, cols: slice) -> npt.NDArray[Any]:
        """Read ``s_i + 1j*s_q`` in the window ``[rows, cols]``, unscaled."""
        out = np.empty((rows.stop - rows.start, cols.stop - cols.start), dtype=np.complex64)
        # Filling float32 views of the output avoids an int16 -> complex128 temporary.
        parts = out.view(np.float32).reshape(out.shape[0], out.shape[1], 2)
        parts[..., 0] = self._i[rows, cols]
        parts[..., 1] = self._q[rows, cols]
        return out

    def read_int16_into(self, rows: slice, cols: slice, out: npt.NDArray[np.int16], where: tuple[Any, ...]) -> bool:
        """Read ``s_i`` into ``out[(0, *where)]`` and ``s_q`` into ``out[(1, *where)]`` as int16, with no temporary.

        Parameters
        ----------
        rows, cols
            The window (step-1 slices inside :attr:`shape`).
        out
            A C-contiguous int16 array whose first axis holds the real, then the imaginary parts.
        where
            The index of the window's place in ``out[0]`` (slices of the window's shape).

        Returns
        -------
        bool
            False, reading nothing, when the samples are not int16 (float32 SLCs): read :meth:`read` then.
        """
        if self.stored_dtype.kind != "i":
            return False
        # HDF5 writes straight into the destination (byte-swapping big-endian samples on the way): the source
        # dtype is what the cube stores, so no complex64 window is built and split again.
        self._i.read_direct(out, np.s_[rows, cols], (0, *where))
        self._q.read_direct(out, np.s_[rows, cols], (1, *where))
        return True

    def _close_fileobj(self) -> None:
        if self._fileobj is not None:
            self._fileobj.close()
            self._fileobj = None

    def close(self) -> None:
        """Close the file (and the remote file object, if any)."""
        self._h5.close()
        self._close_fileobj()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Hdf5Reader:
    """The :class:`~icecube_stac.readers.Reader` of legacy SLC HDF5 files (``Container.LEGACY_HDF5``)."""

    def open(self, href: str) -> _Hdf5Raster:
        """Open an SLC by local path, or by URL through fsspec (its http/s3 backend must be installed)."""
        return _Hdf5Raster(href)


HDF5_READER: Final = Hdf5Reader()


def slc_layout(path: str | Path) -> tuple[tuple[int, int], np.dtype[Any]]:
    """Return the (azimuth, range) shape and on-disk dtype of ``s_i``.

    Parameters
    ----------
    path
        The ``.h5`` file.

    Returns
    -------
    tuple
        ``(shape, dtype)``.
    """
    require_regular_file(path)
    return isolated(_layout, path)


def _layout(path: str | Path) -> tuple[tuple[int, int], np.dtype[Any]]:
    with HDF5_READER.open(str(path)) as raster:
        return raster.shape, raster.stored_dtype


def read_slc_window(path: str | Path, rows: slice, cols: slice) -> npt.NDArray[np.complex64]:
    """Read a window of an SLC as complex64 ``s_i + 1j*s_q`` (no scaling: the DN are used as is).

    Parameters
    ----------
    path
        The ``.h5`` file, opened and closed within this call.
    rows, cols
        Azimuth and range slices (step 1) inside the raster.

    Returns
    -------
    numpy.ndarray
        complex64 array of the window's shape.
    """
    with HDF5_READER.open(str(path)) as raster:
        return raster.read(rows, cols)
