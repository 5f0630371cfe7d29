"""Parse icecube 1.x labels JSON (a list of ``{"product_file", "labels"}`` entries) into a :class:`LabelSet`.

The format is ICEYE's (``icecube.bin.labels_cube``): vector entries ``{"objects": [{"class", "bbox":
{"xmin", "ymin", "xmax", "ymax"}} | {"class", "polygon": [...]} | {"class", "point": {...}} |
{"classification": [tags]}]}``, optionally ``"classification"`` next to ``"objects"``; raster entries
``{"segmentation": "mask.png"}``. The key spellings icecube accepts (``objects``/``Objects``/``OBJECTS``,
``segmentation``/...) are accepted; anything else is an error naming the entry and the field. A file mixing
raster and vector entries is refused, as icecube refuses it. Relative mask paths resolve against the labels
file's folder (icecube opened them relative to the working directory).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from icecube_stac.labels._model import LabelError, LabelObject, LabelSet, ProductLabels, SourceKind, is_real, shown

__all__ = ["parse_icecube_labels"]

_ENTRY_KEYS: Final = frozenset({"product_file", "labels"})
_SPELLINGS: Final = {
    "objects": ("objects", "Objects", "OBJECTS"),
    "segmentation": ("segmentation", "Segmentation", "SEGMENTATION"),
    "classification": ("classification", "Classification", "CLASSIFICATION"),
}
_BBOX_KEYS: Final = ("xmin", "ymin", "xmax", "ymax")
_MAX_OBJECTS: Final = 10_000_000


def _canonical(key: str, where: str) -> str:
    for name, spellings in _SPELLINGS.items():
        if key in spellings:
            return name
    raise LabelError(f"{where}: unknown labels key {key!r}: expected objects, classification or segmentation")


def _number(value: Any, where: str, *, integer: bool) -> float:
    ok = is_real(value)  # first: math.isfinite/float() of a huge int raise OverflowError
    if integer:
        ok = ok and float(value).is_integer()
    if not ok:
        wanted = "an integer pixel index" if integer else "a finite number"
        raise LabelError(f"{where}: {shown(value)} is not {wanted} of magnitude at most 2**53")
    if value < 0:
        raise LabelError(f"{where}: {value!r} is negative: pixel coordinates start at 0")
    return float(value)


def _xy(value: Any, where: str) -> tuple[float, float]:
    # icecube writes points as {"x": .., "y": ..}; [x, y] pairs are accepted too.
    if isinstance(value, Mapping):
        if set(value) != {"x", "y"}:
            raise LabelError(f"{where}: a point needs exactly the keys x and y, got {sorted(value)}")
        return _number(value["x"], f"{where}.x", integer=False), _number(value["y"], f"{where}.y", integer=False)
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        return _number(value[0], f"{where}[0]", integer=False), _number(value[1], f"{where}[1]", integer=False)
    raise LabelError(f"{where}: {value!r} is not a point: expected {{'x': X, 'y': Y}} or [X, Y]")


def _bbox(value: Any, where: str) -> tuple[tuple[float, float], ...]:
    if not isinstance(value, Mapping) or set(value) != set(_BBOX_KEYS):
        got = sorted(value) if isinstance(value, Mapping) else type(value).__name__
        raise LabelError(f"{where}: a bbox needs exactly the keys xmin, ymin, xmax, ymax, got {got}")
    xmin, ymin, xmax, ymax = (_number(value[k], f"{where}.{k}", integer=True) for k in _BBOX_KEYS)
    if xmin > xmax or ymin > ymax:
        raise LabelError(f"{where}: empty box {dict(value)}: need xmin <= xmax and ymin <= ymax (bounds inclusive)")
    return ((xmin, ymin), (xmax, ymax))


def _polygon(value: Any, where: str) -> tuple[tuple[float, float], ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise LabelError(f"{where}: a polygon is a list of points, not {type(value).__name__}")
    ring = [_xy(p, f"{where}[{i}]") for i, p in enumerate(value)]
    if len(ring) > 1 and ring[0] == ring[-1]:
        ring = ring[:-1]  # a closed ring: the closing vertex repeats the first
    if len(ring) < 3:
        raise LabelError(f"{where}: a polygon needs at least 3 distinct vertices, got {len(ring)}")
    return tuple(ring)


def _tags(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Sequence) or not all(isinstance(t, str) for t in value):
        raise LabelError(f"{where}: classification tags must be a list of strings, got {value!r}")
    return tuple(value)


def _object(value: Any, where: str) -> LabelObject | tuple[str, ...]:
    if not isinstance(value, Mapping):
        raise LabelError(f"{where}: an object is a JSON object, not {type(value).__name__}")
    if set(value) and {_canonical_or_none(k) for k in value} == {"classification"}:
        return _tags(next(iter(value.values())), f"{where}.classification")
    shapes = [k for k in ("bbox", "polygon", "point") if k in value]
    unknown = sorted(set(value) - {"class", "bbox", "polygon", "point"})
    if unknown:
        raise LabelError(f"{where}: unknown key {unknown[0]!r}: an object has class and one of bbox, polygon, point")
    if "class" not in value or not isinstance(value["class"], str) or not value["class"]:
        raise LabelError(f"{where}.class: every object needs a non-empty string class, got {value.get('class')!r}")
    if len(shapes) != 1:
        raise LabelError(f"{where}: an object needs exactly one of bbox, polygon, point, got {shapes or 'none'}")
    kind = shapes[0]
    field = f"{where}.{kind}"
    points = (
        _bbox(value[kind], field)
        if kind == "bbox"
        else _polygon(value[kind], field)
        if kind == "polygon"
        else (_xy(value[kind], field),)
    )
    return LabelObject(str(value["class"]), kind, points, where)  # type: ignore[arg-type]


def _canonical_or_none(key: str) -> str | None:
    return next((n for n, s in _SPELLINGS.items() if key in s), None)


def _entry(index: int, value: Any, name: str, folder: Path) -> tuple[ProductLabels, SourceKind]:
    where = f"{name}: entry {index}"
    if not isinstance(value, Mapping):
        raise LabelError(f"{where}: expected {{'product_file': ..., 'labels': ...}}, got {type(value).__name__}")
    if set(value) != _ENTRY_KEYS:
        extra = sorted(set(value) - _ENTRY_KEYS) or sorted(_ENTRY_KEYS - set(value))
        raise LabelError(f"{where}: entries have exactly the keys product_file and labels (offending: {extra})")
    product = value["product_file"]
    if not isinstance(product, str) or not product or "/" in product or "\\" in product:
        raise LabelError(f"{where}.product_file: {product!r} is not a raster file name (no folders)")
    labels = value["labels"]
    if not isinstance(labels, Mapping) or not labels:
        raise LabelError(f"{where}.labels: expected a non-empty object, got {labels!r}")
    keys = {_canonical(str(k), f"{where}.labels"): v for k, v in labels.items()}
    if "segmentation" in keys:
        if len(keys) > 1:
            raise LabelError(
                f"{where}.labels: segmentation cannot be mixed with {sorted(set(keys) - {'segmentation'})}"
            )
        mask = keys["segmentation"]
        if not isinstance(mask, str) or not mask:
            raise LabelError(f"{where}.labels.segmentation: {mask!r} is not a mask file path")
        path = Path(mask) if Path(mask).is_absolute() else folder / mask
        return ProductLabels(product, (), (), path, where), "raster"
    objects: list[LabelObject] = []
    tags = list(_tags(keys["classification"], f"{where}.labels.classification")) if "classification" in keys else []
    raw = keys.get("objects", [])
    if not isinstance(raw, Sequence) or isinstance(raw, str) or len(raw) > _MAX_OBJECTS:
        raise LabelError(f"{where}.labels.objects: expected a list of at most {_MAX_OBJECTS:,} objects")
    for j, item in enumerate(raw):
        parsed = _object(item, f"{where}.labels.objects[{j}]")
        if isinstance(parsed, tuple):
            tags.extend(parsed)
        else:
            objects.append(parsed)
    return ProductLabels(product, tuple(objects), tuple(tags), None, where), "vector"


def parse_icecube_labels(document: Any, source: str | Path) -> LabelSet:
    """Parse an icecube 1.x labels document (already decoded JSON).

    Parameters
    ----------
    document
        The decoded JSON: a list of ``{"product_file": ..., "labels": ...}`` entries.
    source
        The labels file (names errors; relative mask paths resolve against its folder).

    Returns
    -------
    LabelSet
        ``kind`` ``raster`` (segmentation masks) or ``vector`` (objects and tags).

    Raises
    ------
    LabelError
        For any malformed entry (names the entry index and the field), a product listed twice, an empty list,
        or raster and vector entries in one file.
    """
    path = Path(source)
    name = str(path)
    if not isinstance(document, list) or not document:
        raise LabelError(f"{name}: an icecube labels file is a non-empty list of {{'product_file', 'labels'}} entries")
    entries: list[ProductLabels] = []
    kinds: dict[SourceKind, int] = {}
    seen: dict[str, int] = {}
    for index, value in enumerate(document):
        entry, kind = _entry(index, value, name, path.parent)
        if entry.product_file in seen:
            raise LabelError(
                f"{entry.where}.product_file: {entry.product_file!r} is already labelled by entry "
                f"{seen[entry.product_file]}"
            )
        seen[entry.product_file] = index
        kinds.setdefault(kind, index)
        if len(kinds) > 1:
            raise LabelError(
                f"{entry.where}: cannot ingest segmentation masks and vector labels in one file "
                f"(entry {kinds['raster']} is raster, entry {kinds['vector']} vector)"
            )
        entries.append(entry)
    return LabelSet(name, next(iter(kinds)), tuple(entries))
