"""Raster labels on a cube: check every mask's header up front, then read each lazily into its slice.

icecube 1.x reads band 1 of each mask with rasterio and keeps the values as stored (a 0/255 mask stays
0/255); so does this module. A mask must have the product file's stored size (rows × columns) and an integer
type; it is put into cube orientation like the product's pixels and placed by the slice transform.
Unlabelled slices hold 0 and are marked by the ``labelled`` variable.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import numpy.typing as npt
import rasterio
from dask.delayed import delayed

from icecube_stac._quiet import ignoring
from icecube_stac.labels._geometry import SliceGeometry, SliceTransform, mask_to_product
from icecube_stac.labels._model import LabelError, LabelSet, ProductLabels

__all__ = ["mask_dtype", "raster_slice"]


def _header(entry: ProductLabels, geometry: SliceGeometry) -> np.dtype[np.integer]:
    path = entry.segmentation
    field = f"{entry.where}.labels.segmentation"
    if path is None or not path.is_file():
        raise LabelError(f"{field}: mask file {path} does not exist")
    try:
        with _quiet_open(path) as src:
            rows, cols, count, dtype = src.height, src.width, src.count, np.dtype(src.dtypes[0])
    except (rasterio.errors.RasterioError, OSError) as exc:
        raise LabelError(f"{field}: cannot read mask {path}: {exc}") from None
    if count < 1:
        raise LabelError(f"{field}: mask {path} has no band")
    if dtype.kind not in "iu":
        raise LabelError(f"{field}: mask {path} has {dtype} values: class masks need an integer type")
    if (rows, cols) != geometry.stored_shape:
        want = geometry.stored_shape
        raise LabelError(
            f"{field}: mask {path} is {rows} rows x {cols} columns but {geometry.product_file} is "
            f"{want[0]} x {want[1]}: a mask has its product's (azimuth rows, range columns)"
        )
    return dtype  # type: ignore[no-any-return]


def mask_dtype(labels: LabelSet, geometries: Sequence[SliceGeometry]) -> np.dtype[np.integer]:
    """Check every labelled slice's mask header and return the common integer type of the masks.

    Raises
    ------
    LabelError
        For a missing, unreadable, non-integer or wrongly sized mask (names the entry and the file).
    """
    dtypes: list[np.dtype[np.integer]] = []
    for geometry in geometries:
        entry = labels.entry_for(geometry.product_file) if geometry.product_file else None
        if entry is not None:
            dtypes.append(_header(entry, geometry))
    common: np.dtype[np.integer] = np.result_type(*dtypes) if dtypes else np.dtype(np.uint8)
    return common


def _quiet_open(path: Path) -> Any:
    # Masks are plain images (PNG, GeoTIFF without transform): rasterio's not-georeferenced warning is noise.
    with ignoring(rasterio.errors.NotGeoreferencedWarning):
        return rasterio.open(path)


def _read(
    path: Path, geometry: SliceGeometry, transform: SliceTransform, dtype: np.dtype[np.integer]
) -> npt.NDArray[np.integer]:
    with _quiet_open(path) as src:
        stored = src.read(1)
    return transform.raster(geometry, mask_to_product(geometry, stored.astype(dtype, copy=False)), 0)


def raster_slice(
    labels: LabelSet, geometry: SliceGeometry, transform: SliceTransform, dtype: np.dtype[np.integer]
) -> da.Array | None:
    """Return the lazy grid mask of one slice, or None when the slice is not labelled."""
    entry = labels.entry_for(geometry.product_file) if geometry.product_file else None
    if entry is None or entry.segmentation is None:
        return None
    task = delayed(_read, pure=True)(entry.segmentation, geometry, transform, dtype)
    out: da.Array = da.from_delayed(task, shape=transform.grid_shape, dtype=dtype)  # type: ignore[no-untyped-call]
    return out
