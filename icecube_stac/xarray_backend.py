"""``xr.open_dataset(path, engine="iceye")``: one ICEYE product as a lazy Dataset, without a catalog.

Legacy products (GRD GeoTIFF, SLC HDF5, XML sidecar) and current COG products (``.tif`` with its
side-car ``.json``, or either file alone) open alike; a COG is told by its name
(``ICEYE_<geohash>_<time>Z_...``), a side-car beside it, or a ``.json`` path.

The Dataset is exactly one time slice of a cube of that product: dims ``(azimuth, range)``, the same
variable (``amplitude`` or ``slc``), the same attributes and the same coordinates (the per-item ones
become scalar coordinates, ``time`` included). Pixels are read window by window through the reader seam
when they are indexed, so ``chunks={}`` gives a dask array and plain indexing reads only what it needs.
Registered through the ``xarray.backends`` entry point of the package.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import xarray as xr
from xarray.backends import BackendArray, BackendEntrypoint
from xarray.core import indexing

from icecube_stac.cube._build import DTYPES, source_dtype_attrs
from icecube_stac.cube._coords import VARIABLE_ATTRS, dataset_attrs, pixel_coords, time_coords
from icecube_stac.cube._graph import RasterSource, read_block
from icecube_stac.cube._timeaxis import TimeAxis, utc_naive
from icecube_stac.item import ParsedItem, parse_item
from icecube_stac.readers import get_reader
from icecube_stac.vocabulary import CUBE_VARIABLES

__all__ = ["IceyeBackendArray", "IceyeBackendEntrypoint", "open_product"]

_SUFFIXES: Final = (".tif", ".tiff", ".h5", ".hdf5", ".xml", ".json")
# ICEYE COG names: ICEYE_<geohash6>_<YYYYMMDDThhmmssZ>_<image id>_... (legacy: ICEYE_X7_GRD_SM_...).
_COG_NAME: Final = re.compile(r"ICEYE_[0-9A-Z]{6}_\d{8}T\d{6}Z_", re.IGNORECASE)


class IceyeBackendArray(BackendArray):
    """The pixels of one product, read lazily through its reader (basic indexing: ints and slices)."""

    def __init__(self, source: RasterSource, dtype: str, fill: float) -> None:
        self.source = source
        self.shape = source.shape
        self.dtype = np.dtype(dtype)
        self._fill = fill

    def __getitem__(self, key: indexing.ExplicitIndexer) -> npt.NDArray[Any]:
        return indexing.explicit_indexing_adapter(  # type: ignore[no-any-return]
            key, self.shape, indexing.IndexingSupport.BASIC, self._read
        )

    def _read(self, key: tuple[int | slice, ...]) -> npt.NDArray[Any]:
        sizes = [len(range(*k.indices(n))) for k, n in zip(key, self.shape, strict=True) if isinstance(k, slice)]
        if 0 in sizes:  # an empty selection reads nothing
            return np.empty(sizes, dtype=self.dtype)
        windows: list[tuple[int, int]] = []
        local: list[Any] = []
        for k, n in zip(key, self.shape, strict=True):
            picks = range(*k.indices(n)) if isinstance(k, slice) else range(int(k), int(k) + 1)
            low = min(picks)
            windows.append((low, max(picks) + 1))
            # Steps and reversed slices are applied to the bounding window; an integer drops its dim.
            local.append(np.asarray(picks) - low if isinstance(k, slice) else 0)
        out = read_block([self.source], windows[0], windows[1], self.dtype.name, self._fill)[0]
        for axis in (1, 0):
            out = np.take(out, local[axis], axis=axis)
        result: npt.NDArray[Any] = out
        return result


def _source(parsed: ParsedItem) -> RasterSource:
    shape = parsed.shape
    if shape is None:
        with get_reader(parsed.container).open(parsed.data_href) as raster:
            shape = raster.shape
    return RasterSource(parsed.id, parsed.data_href, parsed.container, shape)


def _is_cog_product(path: Path) -> bool:
    if path.suffix.lower() == ".json":
        return True
    return path.suffix.lower() in (".tif", ".tiff") and (
        _COG_NAME.match(path.name) is not None or path.with_suffix(".json").is_file()
    )


def _product_item(path: Path) -> ParsedItem:
    if _is_cog_product(path):
        from icecube_stac.formats.cog import item_from_cog_product  # rasterio, on demand

        return parse_item(item_from_cog_product(path))
    from icecube_stac.stac import item_from_product  # the indexing stage: metadata readers

    return parse_item(item_from_product(path))


def open_product(path: str | os.PathLike[str], *, fill_value: float = math.nan) -> xr.Dataset:
    """Open one ICEYE product lazily as a Dataset shaped like one time slice of a cube.

    Parameters
    ----------
    path
        The product's raster (``.tif``/``.h5``), XML sidecar, or a COG product's side-car ``.json``.
    fill_value
        Fill value recorded in the attributes (a single product has no padding).

    Returns
    -------
    xarray.Dataset
        dims ``(azimuth, range)``; scalar coordinates ``time``, ``id``, ``incidence_angle``, ...
    """
    parsed = _product_item(Path(path))
    source = _source(parsed)
    axis = TimeAxis(np.array([utc_naive(parsed.time)], dtype="datetime64[ns]"), [parsed], 0)
    data = indexing.LazilyIndexedArray(IceyeBackendArray(source, DTYPES[parsed.level], fill_value))
    attrs = {**VARIABLE_ATTRS[parsed.level], **source_dtype_attrs([parsed])}
    variable = xr.Variable(("azimuth", "range"), data, attrs=attrs)
    coords: dict[str, Any] = {
        name: ((), values[0], attrs) for name, (_, values, attrs) in time_coords(axis, [source.shape]).items()
    }
    coords.update(pixel_coords(source.shape))
    return xr.Dataset(
        {CUBE_VARIABLES[parsed.level]: variable},
        coords=coords,
        attrs=dataset_attrs(parsed.level, None, parsed.id, fill_value),
    )


class IceyeBackendEntrypoint(BackendEntrypoint):
    """xarray backend ``engine="iceye"`` for ICEYE products: legacy GeoTIFF/HDF5/XML and current COG + JSON."""

    description = "One ICEYE SAR product (GRD GeoTIFF, SLC HDF5, XML sidecar, COG or its JSON side-car) as a cube slice"
    url = "https://github.com/iceye-ltd/icecube"
    open_dataset_parameters = ("filename_or_obj", "drop_variables", "fill_value")

    def open_dataset(
        self,
        filename_or_obj: Any,
        *,
        drop_variables: str | Iterable[str] | None = None,
        fill_value: float = math.nan,
    ) -> xr.Dataset:
        """Open one product (see :func:`open_product`)."""
        if not isinstance(filename_or_obj, (str, os.PathLike)):
            raise TypeError(f'engine="iceye" opens products by path, not {type(filename_or_obj).__name__}')
        ds = open_product(filename_or_obj, fill_value=fill_value)
        if drop_variables is not None:
            ds = ds.drop_vars([drop_variables] if isinstance(drop_variables, str) else list(drop_variables))
        return ds

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        """Claim ICEYE product names (``ICEYE_*``) with a raster or side-car suffix."""
        if not isinstance(filename_or_obj, (str, os.PathLike)):
            return False
        path = Path(filename_or_obj)
        return path.name.upper().startswith("ICEYE_") and path.suffix.lower() in _SUFFIXES
