"""Vector labels on a cube: check each object against its product, move it onto the grid, tabulate it.

For each time slice whose product is labelled, every object's stored pixel coordinates are checked against the
product raster (a vertex outside it is an error naming the entry and the object), put into cube orientation
(:func:`~icecube_stac.labels._geometry.stored_to_product`), moved by the slice transform, and recorded twice:
as a :class:`~icecube_stac.labels._rasterise.GridObject` for the class mask and as one row of the object
table (class, kind, grid bbox, WKT in grid pixels with x = column, and WKT in lon/lat from the product's
geolocation). GeoJSON features are mapped into each product through its geolocation first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from shapely.geometry import Point, Polygon, box

from icecube_stac.labels._geolocation import Geolocation, geolocation_of
from icecube_stac.labels._geometry import SliceGeometry, SliceTransform, stored_to_product
from icecube_stac.labels._model import GeoFeature, LabelError, LabelObject, LabelSet
from icecube_stac.labels._rasterise import GridObject

__all__ = ["ObjectTable", "check_inside", "slice_objects", "vector_slices"]

F64 = npt.NDArray[np.float64]


@dataclass
class ObjectTable:
    """The object table, built row by row (one row per object and time slice)."""

    time_index: list[int] = field(default_factory=list)
    class_name: list[str] = field(default_factory=list)
    class_index: list[int] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    bbox: list[tuple[float, float, float, float]] = field(default_factory=list)
    wkt: list[str] = field(default_factory=list)
    wkt_lonlat: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)


def _wkt(kind: str, xs: Sequence[float], ys: Sequence[float]) -> str:
    if kind == "point":
        return Point(xs[0], ys[0]).wkt
    if kind == "bbox":  # the outline of the marked pixels (centres at integers): never degenerate
        return box(min(xs) - 0.5, min(ys) - 0.5, max(xs) + 0.5, max(ys) + 0.5).wkt
    return Polygon(list(zip(xs, ys, strict=True))).wkt


def check_inside(obj: LabelObject, geometry: SliceGeometry) -> None:
    """Refuse an object with a vertex outside its product's stored raster (names the entry and object)."""
    rows, cols = geometry.stored_shape
    for x, y in obj.points:
        if x > cols - 1 or y > rows - 1:
            raise LabelError(
                f"{obj.where}: vertex (x={x:g}, y={y:g}) is outside the raster of {geometry.product_file} "
                f"({cols} columns x {rows} rows: x 0..{cols - 1}, y 0..{rows - 1})"
            )


def _lonlat(obj: LabelObject, geo: Geolocation | None, kind: str) -> str:
    if obj.lonlat is not None:
        return _wkt(kind, [p[0] for p in obj.lonlat], [p[1] for p in obj.lonlat])
    if geo is None:
        return ""
    xs, ys = np.array([p[0] for p in obj.points]), np.array([p[1] for p in obj.points])
    if kind == "bbox":  # the four outer pixel corners, as the grid WKT
        x0, x1, y0, y1 = xs[0] - 0.5, xs[1] + 0.5, ys[0] - 0.5, ys[1] + 0.5
        xs, ys = np.array([x0, x1, x1, x0]), np.array([y0, y0, y1, y1])
        corner_lon, corner_lat = geo.to_lonlat(xs, ys)
        return Polygon(list(zip(corner_lon, corner_lat, strict=True))).wkt
    lon, lat = geo.to_lonlat(xs, ys)
    return _wkt(kind, lon.tolist(), lat.tolist())


def _feature_object(feature: GeoFeature, geometry: SliceGeometry, geo: Geolocation) -> LabelObject | None:
    lon = np.array([p[0] for p in feature.lonlat])
    lat = np.array([p[1] for p in feature.lonlat])
    x, y = geo.to_pixel(lon, lat)
    rows, cols = geometry.stored_shape
    shape = Point(x[0], y[0]) if feature.kind == "point" else Polygon(list(zip(x, y, strict=True)))
    if not shape.intersects(box(-0.5, -0.5, cols - 0.5, rows - 0.5)):
        return None  # the feature does not fall into this product
    where = f"{feature.where} in {geometry.product_file}"
    return LabelObject(
        feature.class_name, feature.kind, tuple(zip(x.tolist(), y.tolist(), strict=True)), where, feature.lonlat
    )


def slice_objects(labels: LabelSet, geometry: SliceGeometry, geo: Geolocation | None) -> list[LabelObject]:
    """Return a product's objects in stored pixels: its entry's (checked) and the lon/lat features in it."""
    entry = labels.entry_for(geometry.product_file)
    objects = list(entry.objects) if entry is not None else []
    for obj in objects:
        check_inside(obj, geometry)
    features = [f for f in labels.features if f.product_file in ("", geometry.product_file)]
    if features and geo is None:
        raise LabelError(
            f"{features[0].where}: {geometry.product_file} has no geolocation (no RPC, GCPs or transform) "
            "to map lon/lat features into its pixels"
        )
    for feature in features:
        if geo is not None and (mapped := _feature_object(feature, geometry, geo)) is not None:
            objects.append(mapped)
    return objects


def _grid_object(obj: LabelObject, index: int, geometry: SliceGeometry, transform: SliceTransform) -> GridObject:
    xs = np.array([p[0] for p in obj.points])
    ys = np.array([p[1] for p in obj.points])
    if obj.kind == "bbox":  # move all four corners, then take the envelope (exact for shifts and flips)
        xs, ys = np.array([xs[0], xs[1], xs[1], xs[0]]), np.array([ys[0], ys[0], ys[1], ys[1]])
    rows, cols = transform.points(geometry, *stored_to_product(geometry, xs, ys))
    if obj.kind == "bbox":
        rows, cols = np.array([rows.min(), rows.max()]), np.array([cols.min(), cols.max()])
    return GridObject(index, obj.kind, tuple(rows.tolist()), tuple(cols.tolist()))


def vector_slices(
    labels: LabelSet, geometries: Sequence[SliceGeometry], transform: SliceTransform
) -> tuple[dict[int, list[GridObject]], ObjectTable, dict[int, tuple[str, ...]]]:
    """Place every object of every labelled slice on the grid.

    Parameters
    ----------
    labels
        A vector label set.
    geometries
        The cube's slices (:func:`~icecube_stac.labels._geometry.slice_geometries`).
    transform
        The per-slice placement.

    Returns
    -------
    tuple
        Grid objects per labelled time index, the object table, and the classification tags per time index.

    Raises
    ------
    LabelError
        For an object outside its raster, or lon/lat features on a product without geolocation.
    """
    index = {name: i + 1 for i, name in enumerate(labels.classes())}
    grid: dict[int, list[GridObject]] = {}
    tags: dict[int, tuple[str, ...]] = {}
    table = ObjectTable()
    for geometry in geometries:
        if not geometry.product_file:
            continue
        entry = labels.entry_for(geometry.product_file)
        geo = geolocation_of(geometry.data_href, geometry.metadata_href) if entry or labels.features else None
        objects = slice_objects(labels, geometry, geo)
        if entry is None and not objects:
            continue
        tags[geometry.time_index] = entry.classification if entry is not None else ()
        grid[geometry.time_index] = []
        for obj in objects:
            placed = _grid_object(obj, index[obj.class_name], geometry, transform)
            grid[geometry.time_index].append(placed)
            table.time_index.append(geometry.time_index)
            table.class_name.append(obj.class_name)
            table.class_index.append(placed.class_index)
            table.kind.append(obj.kind)
            table.bbox.append((min(placed.cols), min(placed.rows), max(placed.cols), max(placed.rows)))
            table.wkt.append(_wkt(obj.kind, placed.cols, placed.rows))
            table.wkt_lonlat.append(_lonlat(obj, geo, obj.kind))
            table.source.append(obj.where)
    return grid, table, tags
