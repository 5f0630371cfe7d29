"""Read a labels source into a :class:`LabelSet`: icecube JSON, GeoJSON in lon/lat, or STAC label items.

* a JSON **list** is an icecube 1.x labels file (:mod:`icecube_stac.labels._icecube_json`);
* a GeoJSON **FeatureCollection** holds Point/Polygon/MultiPolygon features in longitude/latitude with a
  ``class`` property (and optionally ``product_file`` to restrict a feature to one product); each feature is
  mapped into every product it falls into through that product's geolocation;
* a STAC **label item** (label extension), or a folder of them (e.g. the ``labels`` collection that
  ``index --labels`` writes): ``label:type`` vector reads the GeoJSON ``labels`` asset (class from the first of
  ``label:properties``), raster the mask asset; the product is the data asset of the item its ``source``
  link points at.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from icecube_stac.labels._icecube_json import parse_icecube_labels
from icecube_stac.labels._model import KINDS, GeoFeature, LabelError, LabelSet, ProductLabels, is_real, shown

__all__ = ["MAX_LABELS_BYTES", "parse_geojson_labels", "read_labels"]

MAX_LABELS_BYTES: Final = 512 * 1024 * 1024
_LABEL_EXTENSION: Final = "https://stac-extensions.github.io/label/"
_PIXEL: Final = "icecube:pixel"


def _load_json(path: Path) -> Any:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LabelError(f"labels file {path}: {exc.strerror or exc}") from None
    if size > MAX_LABELS_BYTES:
        raise LabelError(f"labels file {path} is {size:,} bytes: at most {MAX_LABELS_BYTES:,} are read")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise LabelError(
            f"labels file {path} is nested too deeply: lists and objects nest at most as deep as Python's "
            f"recursion limit ({sys.getrecursionlimit()})"
        ) from None
    except (OSError, ValueError) as exc:  # ValueError: JSONDecodeError, UnicodeDecodeError, a number > 4300 digits
        raise LabelError(f"labels file {path} is not readable JSON: {exc}") from None


def _lonlat(value: Any, where: str) -> tuple[float, float]:
    if (
        not isinstance(value, Sequence)
        or len(value) < 2
        or not all(is_real(v) for v in value[:2])  # before float(): a huge int overflows
    ):
        raise LabelError(f"{where}: {shown(value)} is not a [longitude, latitude] position of finite numbers")
    lon, lat = float(value[0]), float(value[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise LabelError(f"{where}: ({lon}, {lat}) is not a longitude/latitude in degrees")
    return lon, lat


def _rings(geometry: Any, where: str) -> list[tuple[str, tuple[tuple[float, float], ...]]]:
    if not isinstance(geometry, Mapping) or "type" not in geometry:
        raise LabelError(f"{where}.geometry: expected a GeoJSON geometry, got {geometry!r}")
    kind, coords = geometry["type"], geometry.get("coordinates")
    if kind == "Point":
        return [("point", (_lonlat(coords, f"{where}.geometry.coordinates"),))]
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else None
    if polygons is None or not isinstance(polygons, Sequence):
        raise LabelError(f"{where}.geometry.type: {kind!r} is not supported: use Point, Polygon or MultiPolygon")
    out: list[tuple[str, tuple[tuple[float, float], ...]]] = []
    for i, polygon in enumerate(polygons):
        if not isinstance(polygon, Sequence) or not polygon or not isinstance(polygon[0], Sequence):
            raise LabelError(f"{where}.geometry.coordinates[{i}]: expected a list of linear rings")
        ring = [_lonlat(p, f"{where}.geometry.coordinates[{i}][0]") for p in polygon[0]]
        if len(ring) > 1 and ring[0] == ring[-1]:
            ring = ring[:-1]
        if len(ring) < 3:
            raise LabelError(f"{where}.geometry: a polygon needs at least 3 distinct positions")
        out.append(("polygon", tuple(ring)))  # holes are not labels: the outer ring is kept
    return out


def parse_geojson_labels(
    document: Any, source: str | Path, *, class_property: str = "class", product_file: str = ""
) -> LabelSet:
    """Parse a GeoJSON FeatureCollection of labelled features in longitude/latitude.

    Parameters
    ----------
    document
        The decoded FeatureCollection.
    source
        Its file (names errors).
    class_property
        The property holding each feature's class.
    product_file
        Restrict every feature to this product (STAC label items); a feature's own ``product_file`` property
        wins.

    Returns
    -------
    LabelSet
        A vector set whose ``features`` are mapped into the products when attached.

    Raises
    ------
    LabelError
        For a feature without a class, an unsupported geometry or a position that is not lon/lat.
    """
    name = str(source)
    if not isinstance(document, Mapping) or document.get("type") != "FeatureCollection":
        raise LabelError(f"{name}: expected a GeoJSON FeatureCollection")
    features = document.get("features")
    if not isinstance(features, list):
        raise LabelError(f"{name}.features: expected a list of features")
    out: list[GeoFeature] = []
    for i, feature in enumerate(features):
        where = f"{name}: features[{i}]"
        props = feature.get("properties") if isinstance(feature, Mapping) else None
        if not isinstance(props, Mapping):
            raise LabelError(f"{where}.properties: expected an object with a {class_property!r} property")
        cls = props.get(class_property)
        if not isinstance(cls, str | int) or isinstance(cls, bool) or cls == "":
            raise LabelError(f"{where}.properties.{class_property}: every feature needs a class, got {cls!r}")
        target = props.get("product_file", product_file)
        if not isinstance(target, str):
            raise LabelError(f"{where}.properties.product_file: {target!r} is not a file name")
        for kind, ring in _rings(feature.get("geometry"), where):
            out.append(GeoFeature(str(cls), kind, ring, target, where))  # type: ignore[arg-type]
    if not out:
        raise LabelError(f"{name}: the FeatureCollection has no features")
    return LabelSet(name, "vector", (), tuple(out))


def _asset_path(item_path: Path, href: str) -> Path:
    path = Path(href)
    return path if path.is_absolute() else (item_path.parent / path).resolve()


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise LabelError(f"{where}: {shown(value)} is not an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise LabelError(f"{where}: {shown(value)} is not a list")
    return value


def _href(owner: Mapping[str, Any], item_path: Path, where: str) -> Path:
    href = owner.get("href")
    if not isinstance(href, str) or not href:
        raise LabelError(f"{where}.href: {shown(href)} is not a file path: expected a non-empty string")
    return _asset_path(item_path, href)


def _asset(assets: Mapping[str, Any], key: str, role: str, where: str) -> Mapping[str, Any] | None:
    """Return the asset named ``key``, else the first with ``role`` (every asset checked to be an object)."""
    checked = {name: _mapping(a, f"{where}.{name}") for name, a in assets.items()}
    if checked.get(key):
        return checked[key]
    return next((a for n, a in checked.items() if role in _list(a.get("roles", []), f"{where}.{n}.roles")), None)


def _source_product(item: Mapping[str, Any], path: Path) -> str:
    links = _list(item.get("links", []), f"{path}: links")
    sources = [(i, link) for i, link in enumerate(links) if isinstance(link, Mapping) and link.get("rel") == "source"]
    if not sources:
        raise LabelError(f"{path}: a label item needs a 'source' link to the SAR item it labels")
    source_path = _href(sources[0][1], path, f"{path}: links[{sources[0][0]}]")
    source = _mapping(_load_json(source_path), f"{source_path}: the source item of {path}")
    data = _asset(
        _mapping(source.get("assets", {}), f"{source_path}: assets"), "data", "data", f"{source_path}: assets"
    )
    if data is None:
        raise LabelError(f"{source_path}: the source item of {path} has no data asset ('data' key or role)")
    return _href(data, source_path, f"{source_path}: data asset").name


def _stac_label_item(item: Mapping[str, Any], path: Path) -> LabelSet:
    product = _source_product(item, path)
    props = _mapping(item.get("properties", {}), f"{path}: properties")
    kind = props.get("label:type")
    assets = _mapping(item.get("assets", {}), f"{path}: assets")
    if kind == "vector":
        asset = _mapping(assets.get("labels"), f"{path}: assets.labels (the GeoJSON of a vector label item)")
        names = _list(props.get("label:properties") or ["class"], f"{path}: properties.label:properties")
        if not isinstance(names[0], str) or not names[0]:
            raise LabelError(f"{path}: properties.label:properties[0]: {shown(names[0])} is not a property name")
        asset_path = _href(asset, path, f"{path}: assets.labels")
        document = _load_json(asset_path)
        raw_tags = _list(props.get("icecube:classification") or [], f"{path}: properties.icecube:classification")
        tags = tuple(str(t) for t in raw_tags)
        if _pixel_features(document):  # written by index --labels: the exact pixel objects, read back unchanged
            return _pixel_labels(document, asset_path, product, names[0], tags)
        return parse_geojson_labels(document, asset_path, class_property=names[0], product_file=product)
    if kind == "raster":
        mask = _asset(assets, "labels", "labels", f"{path}: assets")
        if mask is None:
            raise LabelError(f"{path}: a raster label item needs a mask asset ('labels' key or role)")
        entry = ProductLabels(product, (), (), _href(mask, path, f"{path}: assets.labels"), f"{path}")
        return LabelSet(str(path), "raster", (entry,))
    raise LabelError(f"{path}: label:type {shown(kind)}: expected 'vector' or 'raster'")


def _pixel_features(document: Any) -> bool:
    features = document.get("features") if isinstance(document, Mapping) else None
    if not isinstance(features, list) or not features:
        return False
    return all(
        isinstance(f, Mapping) and isinstance(f.get("properties"), Mapping) and _PIXEL in f["properties"]
        for f in features
    )


def _pixel_points(pixel: Any, where: str) -> tuple[str, list[list[Any]]]:
    """Return the kind and the ``[x, y]`` vertices of one ``icecube:pixel`` (pairs of finite numbers)."""
    pixel = _mapping(pixel, where)
    kind = pixel.get("kind")
    if kind not in KINDS:
        raise LabelError(f"{where}.kind: {shown(kind)} is not one of {', '.join(KINDS)}")
    points = _list(pixel.get("points"), f"{where}.points")
    for k, p in enumerate(points):
        if not isinstance(p, list) or len(p) != 2 or not all(is_real(v) for v in p):
            raise LabelError(f"{where}.points[{k}]: {shown(p)} is not an [x, y] pair of numbers within ±2**53")
    wanted = {"bbox": 2, "point": 1}.get(str(kind))
    if wanted is not None and len(points) != wanted:
        raise LabelError(f"{where}.points: a {kind} has {wanted} vertices, got {len(points)}")
    return str(kind), points


def _pixel_labels(document: Any, path: Path, product: str, class_property: str, tags: tuple[str, ...]) -> LabelSet:
    """Rebuild the icecube entry of ``icecube:pixel`` features (kind and stored pixel vertices), checked as one."""
    objects: list[dict[str, Any]] = []
    for i, feature in enumerate(document["features"]):
        kind, points = _pixel_points(feature["properties"][_PIXEL], f"{path}: features[{i}].properties.{_PIXEL}")
        cls = feature["properties"].get(class_property)
        if kind == "bbox":
            (x0, y0), (x1, y1) = points
            objects.append({"class": cls, "bbox": {"xmin": x0, "ymin": y0, "xmax": x1, "ymax": y1}})
        elif kind == "point":
            objects.append({"class": cls, "point": points[0]})
        else:
            objects.append({"class": cls, "polygon": points})
    entry = {"product_file": product, "labels": {"objects": objects, "classification": list(tags)}}
    return parse_icecube_labels([entry], path)


def _merge(sets: list[LabelSet], source: Path) -> LabelSet:
    kinds = {s.kind for s in sets}
    if len(kinds) != 1:
        raise LabelError(f"{source}: raster and vector label items cannot be ingested together")
    return LabelSet(
        str(source), sets[0].kind, tuple(e for s in sets for e in s.entries), tuple(f for s in sets for f in s.features)
    )


def _is_label_item(doc: Any, path: Path) -> bool:
    if not isinstance(doc, Mapping) or doc.get("type") != "Feature":
        return False
    extensions = _list(doc.get("stac_extensions", []), f"{path}: stac_extensions")
    return any(str(e).startswith(_LABEL_EXTENSION) for e in extensions)


def read_labels(path: str | Path) -> LabelSet:
    """Read a labels source: an icecube JSON, a GeoJSON FeatureCollection, a STAC label item or a folder of them.

    Parameters
    ----------
    path
        The file or folder.

    Returns
    -------
    LabelSet
        Parsed once, frozen.

    Raises
    ------
    LabelError
        For an unreadable or malformed source (names the file, entry and field).
    """
    source = Path(path)
    if source.is_dir():
        items = [(p, doc) for p in sorted(source.rglob("*.json")) if _is_label_item(doc := _load_json(p), p)]
        if not items:
            raise LabelError(f"{source}: the folder holds no STAC label items")
        return _merge([_stac_label_item(doc, p) for p, doc in items], source)
    document = _load_json(source)
    if isinstance(document, list):
        return parse_icecube_labels(document, source)
    if _is_label_item(document, source):
        return _stac_label_item(document, source)
    if isinstance(document, Mapping) and document.get("type") == "FeatureCollection":
        return parse_geojson_labels(document, source)
    raise LabelError(
        f"{source}: not a labels file: expected an icecube labels list, a GeoJSON FeatureCollection "
        "or a STAC label item"
    )
