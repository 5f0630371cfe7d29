"""Attach labels to a SAR cube: label variables on exactly the cube's grid and time axis.

Variables added (no pickling: numbers and strings only, so Zarr and NetCDF store them natively):

``labels`` (time, *grid*)
    Raster sources: the mask values as stored (icecube keeps 0/255 masks as they are). Vector sources: the
    class index of the objects (0 background, ``i + 1`` for the i-th of the sorted class names, listed in
    the CF ``flag_values``/``flag_meanings`` attributes). Unlabelled slices hold 0.
``labelled`` (time)
    True where the slice's product is labelled (icecube's empty/NaN slices are False).
``label_classification`` (time)
    The slice's classification tags as a JSON list ("" when unlabelled).
``label_object_*`` (object)
    The object table (vector sources): ``time_index`` (the slice), ``class``, ``class_index``, ``kind``,
    ``bbox`` (object, corner: xmin, ymin, xmax, ymax: inclusive grid pixel indices; x = column), ``wkt``
    (grid pixels: a box outlines its pixels, edges at ±0.5; polygons and points at their vertices),
    ``wkt_lonlat`` (EPSG:4326, "" without geolocation) and ``source`` (file, entry and object index).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import dask.array as da
import numpy as np
import xarray as xr
from dask.delayed import delayed

from icecube_stac.labels._geometry import SliceGeometry, SliceTransform, slice_geometries
from icecube_stac.labels._model import LabelError, LabelSet
from icecube_stac.labels._placements import placement_for
from icecube_stac.labels._raster import mask_dtype, raster_slice
from icecube_stac.labels._rasterise import GridObject, class_dtype, rasterise
from icecube_stac.labels._vector import ObjectTable, vector_slices

__all__ = ["LABEL_VARIABLES", "attach_labels", "check_products"]

LABEL_VARIABLES = ("labels", "labelled", "label_classification")
_SAR_VARIABLES = ("amplitude", "slc")
_CORNERS = ("xmin", "ymin", "xmax", "ymax")


def _sar_variable(ds: xr.Dataset) -> xr.DataArray:
    for name in _SAR_VARIABLES:
        if name in ds.data_vars:
            return ds[name]
    names = sorted(map(str, ds.data_vars))
    raise LabelError(f"labels need a SAR cube with one of {', '.join(_SAR_VARIABLES)}; got {names}")


def check_products(labels: LabelSet, geometries: Sequence[SliceGeometry]) -> None:
    """Refuse entries whose ``product_file`` (or GeoJSON ``product_file`` property) matches no cube product.

    Raises
    ------
    LabelError
        Naming the entry, the file name and the products the cube has.
    """
    products: set[str] = {g.product_file for g in geometries if g.product_file}
    wanted = [(e.where, e.product_file) for e in labels.entries]
    wanted += [(f.where, f.product_file) for f in labels.features if f.product_file]
    for where, name in wanted:
        if name not in products:
            listed = ", ".join(sorted(products)[:5]) + (" ..." if len(products) > 5 else "")
            raise LabelError(f"{where}.product_file: {name!r} matches no product of the cube (products: {listed})")


def _mask_slices(
    grid: dict[int, list[GridObject]], n_time: int, shape: tuple[int, int], dtype: np.dtype[np.unsignedinteger]
) -> list[da.Array]:
    out = []
    for t in range(n_time):
        objects = grid.get(t)
        if not objects:
            out.append(da.zeros(shape, dtype=dtype, chunks=shape))
            continue
        task = delayed(rasterise, pure=True)(tuple(objects), shape, dtype)
        out.append(da.from_delayed(task, shape, dtype))  # type: ignore[no-untyped-call]
    return out


def _table(table: ObjectTable) -> dict[str, xr.DataArray]:
    def col(values: Sequence[object], dtype: type) -> xr.DataArray:
        return xr.DataArray(np.asarray(values, dtype=dtype), dims="object")

    bbox = np.asarray(table.bbox, np.float64).reshape(len(table.bbox), 4)
    return {
        "label_object_time_index": col(table.time_index, np.int32),
        "label_object_class": col(table.class_name, object),
        "label_object_class_index": col(table.class_index, np.int32),
        "label_object_kind": col(table.kind, object),
        "label_object_bbox": xr.DataArray(bbox, dims=("object", "corner"), attrs={"corner": " ".join(_CORNERS)}),
        "label_object_wkt": col(table.wkt, object),
        "label_object_wkt_lonlat": col(table.wkt_lonlat, object),
        "label_object_source": col(table.source, object),
    }


def attach_labels(ds: xr.Dataset, labels: LabelSet, *, transform: SliceTransform | None = None) -> xr.Dataset:
    """Return the cube with label variables on its grid (lazy: masks are read or drawn when computed).

    Parameters
    ----------
    ds
        A cube of :func:`~icecube_stac.build_cube` (or :func:`~icecube_stac.open_cube`).
    labels
        Parsed labels (:func:`~icecube_stac.labels.read_labels`).
    transform
        The per-slice placement of product pixels on the grid; default from the cube itself: a
        coregistered cube's offset models (:class:`~icecube_stac.labels.CoregistrationPlacement`), a
        geocoded cube's map grid (:class:`~icecube_stac.labels.GeocodePlacement`), else radar geometry
        (:class:`~icecube_stac.labels.GridPlacement`).

    Returns
    -------
    xarray.Dataset
        ``ds`` plus the variables of this module's docstring.

    Raises
    ------
    LabelError
        For a ``product_file`` matching no product, an object outside its raster, a bad mask, a dataset that
        already has labels; nothing is returned half-labelled.
    """
    sar = _sar_variable(ds)
    if "labels" in ds.variables:
        raise LabelError(f"{labels.source}: the cube already has a labels variable")
    grid_dims = tuple(str(d) for d in sar.dims[1:])
    shape = (int(sar.shape[1]), int(sar.shape[2]))
    # Default: what the cube records (coregistration model, map grid) or radar geometry; see _placements.
    placement = transform if transform is not None else placement_for(ds, shape, grid_dims)
    if tuple(placement.grid_shape) != shape:
        raise LabelError(
            f"{labels.source}: the slice transform's grid {placement.grid_shape} is not the cube's {shape}"
        )
    geometries = slice_geometries(ds)
    check_products(labels, geometries)
    n_time = len(geometries)
    attrs: dict[str, object] = {"label_source": labels.source, "label_kind": labels.kind}
    variables: dict[str, xr.DataArray] = {}
    tags: dict[int, tuple[str, ...]] = {}
    if labels.kind == "raster":
        dtype = mask_dtype(labels, geometries)
        slices = [raster_slice(labels, g, placement, dtype) for g in geometries]
        labelled = [s is not None for s in slices]
        stack = [s if s is not None else da.zeros(shape, dtype=dtype, chunks=shape) for s in slices]
        attrs["long_name"] = "segmentation mask values as stored in the mask files"
    else:
        classes = labels.classes()
        dtype = class_dtype(len(classes))
        grid, table, tags = vector_slices(labels, geometries, placement)
        labelled = [t in grid for t in range(n_time)]
        stack = _mask_slices(grid, n_time, shape, dtype)
        attrs |= {
            "long_name": "class index of the labelled objects (0: background)",
            "flag_values": list(range(1, len(classes) + 1)),
            "flag_meanings": " ".join(c.replace(" ", "_") for c in classes),
            "label_classes": json.dumps(list(classes)),
        }
        variables |= _table(table)
    mask = da.stack(
        stack
    ).rechunk(  # type: ignore[no-untyped-call]
        (1, *(c[0] for c in sar.chunks[1:])) if sar.chunks else (1, *shape)
    )
    variables["labels"] = xr.DataArray(mask, dims=("time", *grid_dims), attrs=attrs)
    variables["labelled"] = xr.DataArray(np.asarray(labelled, bool), dims="time")
    variables["label_classification"] = xr.DataArray(
        np.asarray([json.dumps(list(tags[t])) if t in tags else "" for t in range(n_time)], object), dims="time"
    )
    return ds.assign(variables).assign_attrs(labels=str(Path(labels.source).name))
