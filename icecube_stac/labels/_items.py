"""STAC label-extension items (v1.0.1) of a labels source, one per labelled SAR item, and their collection.

Each labelled product gets an item ``<sar id>-labels`` in the ``labels`` collection, with the SAR item's
geometry and datetime (only ``datetime``: no ``end_datetime``, so the configs' date filters, which are on
``end_datetime``, never return label items as products), ``label:type`` ``vector`` or ``raster``,
``label:properties`` (``["class"]``, or null for masks), ``label:classes``, ``label:tasks``, ``label:methods``
and ``label:description``; a ``source`` link to the SAR item with ``label:assets: ["data"]``. Vector labels
get a GeoJSON ``labels`` asset (``<id>.geojson`` next to the item) in longitude/latitude, each feature keeping
its exact pixel coordinates in ``icecube:pixel`` so the labels read back unchanged; raster labels point the
``labels`` asset at the mask file. Image-level tags go to ``icecube:classification``.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pystac
import rasterio
from shapely.geometry import Point, Polygon, mapping

from icecube_stac.item import parse_item
from icecube_stac.labels._geolocation import Geolocation, geolocation_of
from icecube_stac.labels._geometry import SliceGeometry
from icecube_stac.labels._model import LabelError, LabelObject, LabelSet, ProductLabels
from icecube_stac.labels._raster import mask_dtype
from icecube_stac.labels._vector import slice_objects

__all__ = ["LABEL_EXTENSION", "LABELS_COLLECTION", "LabelCollection", "label_collection"]

LABEL_EXTENSION: Final = "https://stac-extensions.github.io/label/v1.0.1/schema.json"
LABELS_COLLECTION: Final = "labels"
PIXEL_PROPERTY: Final = "icecube:pixel"
_JSON: Final = "application/json"
_GEOJSON: Final = "application/geo+json"


@dataclass(frozen=True)
class LabelCollection:
    """The labels collection: its document, its item documents and the GeoJSON asset files to write.

    Attributes
    ----------
    collection
        ``labels/collection.json``.
    items
        Item dicts (hrefs relative to ``labels/items/``), sorted by id.
    files
        File name (in ``labels/items/``) → JSON data (the GeoJSON assets).
    """

    collection: dict[str, Any]
    items: tuple[dict[str, Any], ...]
    files: Mapping[str, dict[str, Any]]


def _href(base: Path, href: str) -> str:
    return href if "://" in href or os.path.isabs(href) else os.path.normpath(base / href)


def _geometry_of(sar: Mapping[str, Any], folder: Path) -> SliceGeometry:
    item = pystac.Item.from_dict(dict(sar))
    parsed = parse_item(item)
    data = next((a for k, a in sar["assets"].items() if k == "data"), None) or {}
    meta = sar["assets"].get("metadata", {})
    href = _href(folder, str(data.get("href", "")))
    shape = parsed.shape or (0, 0)
    return SliceGeometry(0, Path(href).name, shape, parsed.orientation, href, _href(folder, str(meta.get("href", ""))))


def _lonlat_geometry(obj: LabelObject, geo: Geolocation | None) -> dict[str, Any] | None:
    if obj.lonlat is not None:
        points = obj.lonlat
    elif geo is None:
        return None
    else:
        xs = np.array([p[0] for p in obj.points])
        ys = np.array([p[1] for p in obj.points])
        if obj.kind == "bbox":  # the outer pixel corners
            x0, x1, y0, y1 = xs[0] - 0.5, xs[1] + 0.5, ys[0] - 0.5, ys[1] + 0.5
            xs, ys = np.array([x0, x1, x1, x0]), np.array([y0, y0, y1, y1])
        lon, lat = geo.to_lonlat(xs, ys)
        points = tuple(zip(lon.tolist(), lat.tolist(), strict=True))
    shape = Point(points[0]) if obj.kind == "point" else Polygon(points)
    return dict(mapping(shape))


def _feature(obj: LabelObject, geo: Geolocation | None) -> dict[str, Any]:
    pixel = {"kind": obj.kind, "points": [list(p) for p in obj.points]}
    return {
        "type": "Feature",
        "geometry": _lonlat_geometry(obj, geo),
        "properties": {"class": obj.class_name, PIXEL_PROPERTY: pixel},
    }


def _tasks(objects: Sequence[LabelObject], tags: Sequence[str]) -> list[str]:
    kinds = {o.kind for o in objects}
    tasks = (["detection"] if kinds & {"bbox", "point"} else []) + (["segmentation"] if "polygon" in kinds else [])
    return tasks + (["classification"] if tags else [])


def _mask_classes(entry: ProductLabels) -> list[int]:
    assert entry.segmentation is not None
    with rasterio.open(entry.segmentation) as src:
        return [int(v) for v in np.unique(src.read(1))]


def _links(sar_id: str, cid: str) -> list[dict[str, Any]]:
    return [
        {"rel": "root", "href": "../../catalog.json", "type": _JSON, "title": "icecube-stac catalog"},
        {"rel": "parent", "href": "../collection.json", "type": _JSON, "title": "Labels"},
        {"rel": "collection", "href": "../collection.json", "type": _JSON, "title": "Labels"},
        {
            "rel": "source",
            "href": f"../../{cid}/items/{sar_id}.json",
            "type": _GEOJSON,
            "title": sar_id,
            "label:assets": ["data"],
        },
    ]


def _item(sar: Mapping[str, Any], properties: dict[str, Any], asset: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": [LABEL_EXTENSION],
        "id": f"{sar['id']}-labels",
        "collection": LABELS_COLLECTION,
        "geometry": sar["geometry"],
        "bbox": sar["bbox"],
        "properties": {"datetime": sar["properties"]["datetime"], **properties},
        "links": _links(str(sar["id"]), str(sar["collection"])),
        "assets": {"labels": asset},
    }


def _vector_item(
    sar: Mapping[str, Any], labels: LabelSet, geometry: SliceGeometry, files: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    entry = labels.entry_for(geometry.product_file)
    geo = geolocation_of(geometry.data_href, geometry.metadata_href)
    objects = slice_objects(labels, geometry, geo)
    if entry is None and not objects:
        return None
    tags = list(entry.classification) if entry is not None else []
    name = f"{sar['id']}-labels.geojson"
    files[name] = {"type": "FeatureCollection", "features": [_feature(o, geo) for o in objects]}
    classes = sorted({o.class_name for o in objects})
    properties: dict[str, Any] = {
        "label:type": "vector",
        "label:properties": ["class"],
        "label:description": f"labels of {geometry.product_file} from {Path(labels.source).name}",
        "label:classes": [{"name": "class", "classes": classes}],
        "label:tasks": _tasks(objects, tags),
        "label:methods": ["manual"],
        "icecube:classification": tags,
    }
    asset = {"href": f"./{name}", "type": _GEOJSON, "roles": ["labels", "labels-vector"], "title": "Labels"}
    return _item(sar, properties, asset)


def _raster_item(
    sar: Mapping[str, Any], labels: LabelSet, geometry: SliceGeometry, items_folder: Path
) -> dict[str, Any] | None:
    entry = labels.entry_for(geometry.product_file)
    if entry is None or entry.segmentation is None:
        return None
    mask_dtype(LabelSet(labels.source, "raster", (entry,)), [geometry])  # the header checks of the cube path
    href = os.path.relpath(entry.segmentation.resolve(), items_folder.resolve())
    properties: dict[str, Any] = {
        "label:type": "raster",
        "label:properties": None,
        "label:description": f"segmentation mask of {geometry.product_file} from {Path(labels.source).name}",
        "label:classes": [{"name": None, "classes": _mask_classes(entry)}],
        "label:tasks": ["segmentation"],
        "label:methods": ["manual"],
    }
    media = "image/png" if entry.segmentation.suffix.lower() == ".png" else "image/tiff; application=geotiff"
    asset = {"href": posixpath.join(*Path(href).parts), "type": media, "roles": ["labels", "labels-raster"]}
    return _item(sar, properties, asset)


def _collection(items: Sequence[dict[str, Any]], labels: LabelSet) -> dict[str, Any]:
    boxes = np.array([i["bbox"] for i in items], dtype=np.float64)
    times = sorted(pystac.utils.str_to_datetime(i["properties"]["datetime"]) for i in items)
    extent = pystac.Extent(
        pystac.SpatialExtent([[*boxes[:, :2].min(axis=0).tolist(), *boxes[:, 2:].max(axis=0).tolist()]]),
        pystac.TemporalExtent([[times[0], times[-1]]]),
    )
    collection = pystac.Collection(
        LABELS_COLLECTION,
        f"STAC label items of the SAR items of this catalog, from {Path(labels.source).name}",
        extent,
        title="Labels",
        license="other",
        stac_extensions=[LABEL_EXTENSION],
        summaries=pystac.Summaries({"label:type": [labels.kind]}),
    )
    data = collection.to_dict(include_self_link=False, transform_hrefs=False)
    data["links"] = [
        {"rel": "root", "href": "../catalog.json", "type": _JSON, "title": "icecube-stac catalog"},
        {"rel": "parent", "href": "../catalog.json", "type": _JSON, "title": "icecube-stac catalog"},
        *({"rel": "item", "href": f"./items/{i['id']}.json", "type": _GEOJSON, "title": i["id"]} for i in items),
    ]
    return data


def label_collection(labels: LabelSet, sar_items: Sequence[Mapping[str, Any]], root: Path) -> LabelCollection:
    """Build the label items of ``labels`` for the SAR items of a catalog.

    Parameters
    ----------
    labels
        Parsed labels.
    sar_items
        The catalog's item dicts (hrefs relative to ``<root>/<collection>/items/``).
    root
        The catalog folder (the final one: hrefs and geolocation are resolved against it).

    Returns
    -------
    LabelCollection

    Raises
    ------
    LabelError
        For a ``product_file`` matching no item, an object outside its raster, a bad mask, or no labelled item.
    """
    geometries = {}
    for sar in sar_items:
        geometry = _geometry_of(sar, root / str(sar["collection"]) / "items")
        geometries[geometry.product_file] = (sar, geometry)
    for entry in labels.entries:
        if entry.product_file not in geometries:
            raise LabelError(f"{entry.where}.product_file: {entry.product_file!r} matches no product of the catalog")
    items: list[dict[str, Any]] = []
    files: dict[str, dict[str, Any]] = {}
    for name in sorted(geometries):
        sar, geometry = geometries[name]
        if labels.kind == "raster":
            item = _raster_item(sar, labels, geometry, root / LABELS_COLLECTION / "items")
        else:
            item = _vector_item(sar, labels, geometry, files)
        if item is not None:
            items.append(item)
    if not items:
        raise LabelError(f"{labels.source}: no product of the catalog is labelled")
    items.sort(key=lambda i: str(i["id"]))
    return LabelCollection(_collection(items, labels), tuple(items), files)
