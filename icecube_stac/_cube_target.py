"""What a cube output path is: its format from the suffix, and whether what exists there is one of our cubes.

``write_cube`` marks every cube with the global attribute :data:`WRITER_ATTR` (``"icecube-stac X.Y"``);
``--overwrite`` replaces only a path that carries that mark (or the ``created_by = "icecube-stac ..."``
attribute of cubes written before the mark existed): a Zarr folder whose root ``zarr.json`` (v3) or
``.zattrs`` (v2) holds it, or a NetCDF-4/HDF5 file whose root attributes do. Anything else, say a thesis, a
catalog or the product folder, is refused.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Final, Literal

from icecube_stac._atomic import check_target, target_path
from icecube_stac.errors import OutputError, OutputExistsError

__all__ = [
    "NETCDF_SUFFIXES",
    "SUFFIX_RULES",
    "WRITER_ATTR",
    "ZARR_SUFFIXES",
    "check_cube_target",
    "check_replaceable",
    "format_of",
    "is_our_cube",
    "writer_mark",
    "zarr_store",
]

Format = Literal["zarr", "netcdf"]

WRITER_ATTR: Final = "icecube_stac_writer"
ZARR_SUFFIXES: Final = (".zarr",)
NETCDF_SUFFIXES: Final = (".nc", ".nc4", ".netcdf", ".h5", ".hdf5")
SUFFIX_RULES: Final = (
    f"{', '.join(ZARR_SUFFIXES)} or no suffix: a Zarr folder; {', '.join(NETCDF_SUFFIXES)}: a NetCDF-4 file "
    "(or choose with --format / format=)"
)
_HDF5_SIGNATURE: Final = b"\x89HDF\r\n\x1a\n"
_MAX_METADATA_BYTES: Final = 64 * 2**20
_ZARR_METADATA: Final = (("zarr.json", "attributes"), (".zattrs", None))


def writer_mark() -> str:
    """Return the value of :data:`WRITER_ATTR` for cubes written now (``"icecube-stac VERSION"``)."""
    try:
        return f"icecube-stac {version('icecube-stac')}"
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
        return "icecube-stac"


def format_of(path: Path, format: str | None) -> Format:
    """Choose the format of a cube output.

    Parameters
    ----------
    path
        The target.
    format
        ``"zarr"``, ``"netcdf"`` or None (from the suffix: see :data:`SUFFIX_RULES`).

    Returns
    -------
    str
        ``"zarr"`` or ``"netcdf"``.

    Raises
    ------
    OutputError
        For another ``format``, or an unknown suffix without ``format``.
    """
    if format is not None:
        if format not in ("zarr", "netcdf"):
            raise OutputError(f"cube format {format!r} for {path}: expected 'zarr' or 'netcdf'")
        return "zarr" if format == "zarr" else "netcdf"
    suffix = path.suffix.lower()
    if suffix in NETCDF_SUFFIXES:
        return "netcdf"
    if suffix in ZARR_SUFFIXES or not suffix:
        return "zarr"
    raise OutputError(f"cube output {path}: unknown suffix {path.suffix!r}; allowed: {SUFFIX_RULES}")


def _is_mark(attrs: Mapping[str, Any]) -> bool:
    values = (attrs.get(WRITER_ATTR), attrs.get("created_by"))
    texts = [v.decode(errors="replace") if isinstance(v, bytes) else v for v in values]
    return any(isinstance(t, str) and t.startswith("icecube-stac") for t in texts)


def _json_attrs(file: Path, key: str | None) -> Mapping[str, Any]:
    try:
        info = file.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_METADATA_BYTES:
            return {}
        data = json.loads(file.read_bytes())
    except (OSError, ValueError):
        return {}
    attrs = data.get(key) if key is not None and isinstance(data, dict) else data
    return attrs if isinstance(attrs, dict) else {}


def _hdf5_attrs(file: Path) -> Mapping[str, Any]:
    try:
        with file.open("rb") as handle:
            if handle.read(len(_HDF5_SIGNATURE)) != _HDF5_SIGNATURE:
                return {}
        import h5py

        with h5py.File(file, "r") as h5:
            return {name: h5.attrs[name] for name in (WRITER_ATTR, "created_by") if name in h5.attrs}
    except Exception:  # not readable as HDF5: certainly not our cube
        return {}


def is_our_cube(path: Path) -> bool:
    """Tell whether ``path`` is a cube written by icecube-stac (Zarr folder or NetCDF file).

    Parameters
    ----------
    path
        An existing path (links are not followed).

    Returns
    -------
    bool
    """
    try:
        mode = path.lstat().st_mode
    except OSError:
        return False
    if stat.S_ISDIR(mode):
        return any(_is_mark(_json_attrs(path / name, key)) for name, key in _ZARR_METADATA)
    return stat.S_ISREG(mode) and _is_mark(_hdf5_attrs(path))


def check_replaceable(path: Path) -> None:
    """Refuse to replace ``path`` unless it is a cube written by icecube-stac.

    Parameters
    ----------
    path
        An existing output target.

    Raises
    ------
    OutputExistsError
        When ``path`` is anything else (a folder of files, a catalog, someone's NetCDF file, ...).
    """
    if is_our_cube(path):
        return
    kind = "folder" if path.is_dir() else "file"
    raise OutputExistsError(
        f"{os.fspath(path)} exists and is not a cube written by icecube-stac (a {kind} without the "
        f"{WRITER_ATTR!r} mark); refusing to replace it: remove it yourself or choose another output"
    )


def check_cube_target(path: str | os.PathLike[str], format: str | None, overwrite: bool) -> Format:
    """Check, before any work, that a cube may be written to ``path``; writing checks all of it again.

    Parameters
    ----------
    path, format, overwrite
        As given to :func:`~icecube_stac.output.write_cube`.

    Returns
    -------
    str
        The format the cube will be written in.

    Raises
    ------
    OutputError
        For ``.``/``..``, an unknown suffix or format.
    OutputExistsError
        When ``path`` exists and ``overwrite`` is false, or it is not a cube written by icecube-stac.
    """
    target = target_path(path)
    chosen = format_of(target, format)
    check_target(target, overwrite, check_replaceable)
    return chosen


def zarr_store(path: Path, read_only: bool = False) -> Any:
    """Return the zarr-python store of a Zarr folder (a store, not a path: zarr reads ``a::b`` as a chained URL).

    A writable one starts each stored file's write-back at once (:class:`icecube_stac._zarr_store.WritebackStore`).
    """
    if read_only:
        from zarr.storage import LocalStore

        return LocalStore(str(path), read_only=True)
    from icecube_stac._zarr_store import WritebackStore

    return WritebackStore(str(path))
