"""The reader seam: one small protocol for reading pixel windows, one implementation per product container.

The cube, the xarray backend and the indexer's raster checks never open a product file themselves: they
ask :func:`get_reader` for the reader of a :class:`~icecube_stac.vocabulary.Container` and call
``open(href)``, which returns an :class:`OpenRaster` (shape, dtype, ``read(rows, cols)``). The built-in
readers live beside the metadata parsers of their format (``formats.geotiff``, ``formats.hdf5``) and are
imported on first use, so importing this module costs neither rasterio nor h5py.

Readers are looked up by container name inside every dask task (the name is what travels in the graph),
so a reader registered with :func:`register_reader` must also be registered in worker processes; the
built-in ones are.

A container name can carry **reader options**: :class:`ContainerName` is a ``str`` equal to the plain
name (so every table keyed by container keeps working) that also holds string options, which pickle
with it into worker processes. :func:`get_reader` hands them to a reader that has a
``configured(options)`` method (the COG readers: orientation, phase sign, amplitude mapping) and
ignores them for readers that do not.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final, Protocol, Self, runtime_checkable

import numpy as np
import numpy.typing as npt

from icecube_stac.vocabulary import Container

__all__ = [
    "ContainerName",
    "OpenRaster",
    "Reader",
    "get_reader",
    "register_reader",
    "registered_containers",
    "unregister_reader",
]


@runtime_checkable
class OpenRaster(Protocol):
    """One product's raster, open for reading windows in the cube's orientation.

    Rows are azimuth lines in acquisition-time order, columns range samples near to far; a reader
    whose container stores the image otherwise reorders windows before returning them.
    """

    @property
    def shape(self) -> tuple[int, int]:
        """``(azimuth, range)`` size of the image."""
        ...

    @property
    def dtype(self) -> np.dtype[Any]:
        """The dtype :meth:`read` returns (``uint16`` GRD DN, ``complex64`` SLC)."""
        ...

    def read(self, rows: slice, cols: slice) -> npt.NDArray[Any]:
        """Read the window ``[rows, cols]`` (step-1 slices inside :attr:`shape`)."""
        ...

    def close(self) -> None:
        """Release the file; further reads are errors."""
        ...

    def __enter__(self) -> Self:
        """Return the raster itself."""
        ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        """Close the raster."""
        ...


class Reader(Protocol):
    """Opens the rasters of one container (legacy GeoTIFF, legacy HDF5, ...)."""

    def open(self, href: str) -> OpenRaster:
        """Open the raster at ``href`` (a local path, ``file://`` or a remote URL).

        Raises
        ------
        IcecubeStacError
            A subclass naming the href when the file is missing, unreadable or not of this container.
        """
        ...


class ContainerName(str):
    """A container name with reader options: equal (and hashing equal) to the plain name.

    Parameters
    ----------
    name
        The container (a :class:`~icecube_stac.vocabulary.Container` value or any registered name).
    options
        String options for the container's reader, e.g. ``{"transposed": "1"}``.
    """

    options: tuple[tuple[str, str], ...]

    def __new__(cls, name: str, options: Mapping[str, str] | None = None) -> Self:
        """Make the name (a ``str`` equal to ``name``) and attach ``options``."""
        self = super().__new__(cls, str(name))
        self.options = tuple(sorted((str(k), str(v)) for k, v in (options or {}).items()))
        return self

    def __reduce__(self) -> tuple[type[ContainerName], tuple[str, dict[str, str]]]:
        return (type(self), (str(self), dict(self.options)))

    def __repr__(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in self.options)
        return f"ContainerName({str(self)!r}{', ' if extra else ''}{extra})"


# Built-in readers, imported on first use: "module:attribute" of a Reader instance.
_BUILTIN: Final[Mapping[str, str]] = {
    Container.LEGACY_GEOTIFF: "icecube_stac.formats.geotiff:GEOTIFF_READER",
    Container.LEGACY_HDF5: "icecube_stac.formats.hdf5:HDF5_READER",
    Container.COG_GRD: "icecube_stac.formats.cog:COG_GRD_READER",
    Container.COG_SLC: "icecube_stac.formats.cog:COG_SLC_READER",
}
_REGISTERED: dict[str, Reader] = {}


def register_reader(container: str, reader: Reader) -> None:
    """Make ``reader`` the reader of ``container`` in this process (it replaces a built-in one).

    Parameters
    ----------
    container
        A :class:`~icecube_stac.vocabulary.Container` value or any other name a parsed item carries.
    reader
        An object with ``open(href) -> OpenRaster``.
    """
    _REGISTERED[str(container)] = reader


def unregister_reader(container: str) -> None:
    """Forget a reader registered with :func:`register_reader` (a built-in one applies again)."""
    _REGISTERED.pop(str(container), None)


def registered_containers() -> list[str]:
    """Return the container names a reader is known for, built-in and registered."""
    return sorted({*_BUILTIN, *_REGISTERED})


def get_reader(container: str) -> Reader:
    """Return the reader of a container.

    Parameters
    ----------
    container
        The container name (``ParsedItem.container``); a :class:`ContainerName` passes its options to a
        reader with a ``configured(options)`` method.

    Returns
    -------
    Reader

    Raises
    ------
    KeyError
        When no reader is known for ``container`` (the message lists the known ones).
    """
    key = str(container)
    if key in _REGISTERED:
        reader = _REGISTERED[key]
    elif key in _BUILTIN:
        module, _, attribute = _BUILTIN[key].partition(":")
        reader = getattr(importlib.import_module(module), attribute)
    else:
        raise KeyError(f"no reader for container {key!r}; known containers: {', '.join(registered_containers())}")
    options = getattr(container, "options", ())
    configure = getattr(reader, "configured", None)
    if options and callable(configure):
        configured: Reader = configure(dict(options))
        return configured
    return reader
