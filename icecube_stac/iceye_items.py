"""Normalise ICEYE's own STAC items (COG side-cars, open-data scene items) into the item model of icecube-stac.

ICEYE's current products come with a side-car STAC item (``<stem>.json``); ICEYE's open-data catalog
has scene items that bundle the GRD and SLC of one acquisition. Both are turned into an item shaped
like the indexer's legacy items, so one search and one cube path serve both generations:

============================== ==================================================================
field                          normalised value
============================== ==================================================================
``id``                         kept (ICEYE's product id; ``iceye:filename`` names the raster)
``stac_version``               ``1.1.0``; extensions as legacy items (sar, sat, view, projection,
                               processing, product) plus ICEYE's product-spec schema when the
                               ``iceye:`` fields follow it (else it is dropped, with a warning)
``sar:center_frequency``       GHz (side-cars say Hz: a value above 1e6 is Hz)
``product:type``               ``GRD`` / ``SLC`` (from ``sar:product_type`` ``GRD-COG``/``SLC-COG``,
                               or the level picked from a scene item); ``sar:product_type`` too
``platform``/``constellation`` lowercase (``iceye-x56``, ``iceye``); ``instruments`` ``["sar"]``
``proj:shape``/``proj:transform`` moved to the data assets, STAC-correct: ``[rows, cols]`` of the
                               raster and the affine (rasterio) order; ICEYE writes
                               ``[ImageWidth, ImageLength]`` and GDAL GeoTransform order
``icecube:sensor_shape``       ``[azimuth, range]`` of the cube, from the raster axes decided by
                               :mod:`icecube_stac.formats._cog_geometry` (what ``parse_item`` uses)
``icecube:amplitude_scale``,   GRD band ``SCALE``/``OFFSET`` (amplitude = DN * scale + offset), when
``icecube:amplitude_offset``   the raster header was read (:func:`~icecube_stac.formats.cog.item_from_cog_product`)
``iceye:*``                    every field kept as ICEYE wrote it (``iceye:orientation`` included)
assets                         ICEYE's keys kept, hrefs made absolute against ``base_href``, empty
                               hrefs dropped; ``data`` (the picked ``<level>-cog``, type COG,
                               ``data_type`` ``uint16``/``cfloat32``, STAC 1.1 ``bands``) and
                               ``metadata`` (the ``<level>-json`` side-car) added as aliases
``raster:bands``               replaced by the data asset's ``bands`` (``ui16``/``f32`` spelled
                               ``uint16``/``float32``); the raster extension is not declared
links, ``collection``          structural links (self, root, parent, collection) and the collection
                               id are dropped: the catalog that stores the item sets them
============================== ==================================================================
"""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

import jsonschema
import pystac

from icecube_stac._json_copy import json_copy
from icecube_stac._validation import SCHEMA_URIS, _fast_failure, problems
from icecube_stac.errors import IcecubeStacWarning, MetadataError, UnsupportedProductError
from icecube_stac.formats._cog_geometry import OrientationConflict, decide_layout
from icecube_stac.vocabulary import (
    ASSET_DATA,
    ASSET_METADATA,
    COG_MEDIA_TYPE,
    ProductLevel,
    Prop,
    resolve_href,
)

__all__ = [
    "ICEYE_SCHEMA_FILE",
    "ICEYE_SCHEMA_URI",
    "IceyeSchemaWarning",
    "affine_from_gdal",
    "is_iceye_item",
    "normalise_iceye_item",
]

ICEYE_SCHEMA_URI: Final = "https://sar.iceye.com/schema/product-spec/v0.2.2/schema.json"
ICEYE_SCHEMA_FILE: Final = "iceye/product-spec/v0.2.2/schema.json"  # under icecube_stac/schemas/
_STAC_VERSION: Final = "1.1.0"
_LEVEL_BY_TYPE: Final = {"GRD-COG": ProductLevel.GRD, "SLC-COG": ProductLevel.SLC}
_REQUIRED_ICEYE: Final = ("iceye:image_id", "iceye:scene_id", "iceye:run_name", "iceye:frame_number", "iceye:filename")
_DATA_TYPES: Final = {"ui16": "uint16", "ui32": "uint32", "f32": "float32", "uint16": "uint16", "float32": "float32"}
_STRUCTURAL_LINKS: Final = frozenset({"self", "root", "parent", "collection"})
_HZ_ABOVE: Final = 1e6  # a centre frequency above this is in Hz; X band in GHz is about 9.6
_GHZ_BELOW: Final = 1e3


class IceyeSchemaWarning(IcecubeStacWarning):
    """An item's ``iceye:`` fields do not follow ICEYE's product-spec schema; its declaration was dropped."""


@functools.cache
def _iceye_validator() -> jsonschema.protocols.Validator:
    text = (resources.files("icecube_stac") / "schemas" / ICEYE_SCHEMA_FILE).read_text(encoding="utf-8")
    validator: jsonschema.protocols.Validator = jsonschema.Draft7Validator(json.loads(text))
    return validator


def affine_from_gdal(geotransform: list[float]) -> list[float]:
    """Reorder a GDAL GeoTransform ``[x0, dx/dcol, dx/drow, y0, dy/dcol, dy/drow]`` to STAC/affine order."""
    x0, a, b, y0, d, e = (float(v) for v in geotransform[:6])
    return [a, b, x0, d, e, y0]


def is_iceye_item(item: Mapping[str, Any]) -> bool:
    """Tell whether a STAC item dict is one of ICEYE's own (side-car or open-data scene item), not yet normalised."""
    props = item.get("properties") or {}
    assets = item.get("assets") or {}
    return str(props.get(Prop.SAR_PRODUCT_TYPE, "")).endswith("-COG") or (
        not props.get(Prop.PRODUCT_TYPE) and any(key in assets for key in ("grd-cog", "slc-cog"))
    )


def _fail(source: str, reason: str, field: str | None = None) -> MetadataError:
    return MetadataError(source, reason, field)


def _level(item: Mapping[str, Any], source: str, level: str | None) -> tuple[ProductLevel, bool]:
    """Return the product level and whether the item is a product side-car (else a scene item)."""
    props = item["properties"]
    declared = str(props.get(Prop.SAR_PRODUCT_TYPE) or "")
    if declared in _LEVEL_BY_TYPE:
        picked = _LEVEL_BY_TYPE[declared]
        if level is not None and level.upper() != picked.value:
            raise _fail(source, f"is a {declared} item; level {level!r} was asked for", Prop.SAR_PRODUCT_TYPE)
        return picked, True
    if declared:
        raise _fail(source, f"got {declared!r}; ICEYE COG items say 'GRD-COG' or 'SLC-COG'", Prop.SAR_PRODUCT_TYPE)
    assets = item.get("assets") or {}
    present = [lv for lv in ProductLevel if (assets.get(f"{lv.value.lower()}-cog") or {}).get("href")]
    if level is not None:
        wanted = ProductLevel(level.upper()) if level.upper() in ProductLevel.__members__ else None
        if wanted is None or wanted not in present:
            raise _fail(source, f"level {level!r} was asked for; the scene has {[p.value for p in present]}", "assets")
        return wanted, False
    if len(present) != 1:
        raise _fail(
            source,
            "is a scene item with "
            + ("no GRD or SLC COG asset" if not present else "both a GRD and an SLC COG: pass level='GRD' or 'SLC'"),
            "assets",
        )
    return present[0], False


def _frequency_ghz(value: Any, source: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _fail(source, f"got {value!r}; a number (Hz or GHz) was expected", Prop.CENTER_FREQUENCY) from None
    if number > _HZ_ABOVE:
        return number / 1e9  # ICEYE's side-cars state Hz although the sar extension says GHz
    if 0 < number < _GHZ_BELOW:
        return number
    raise _fail(
        source, f"got {number!r}; expected Hz (about 9.6e9) or GHz (about 9.6) for an X-band SAR", Prop.CENTER_FREQUENCY
    )


def _properties(props: Mapping[str, Any], level: ProductLevel, source: str, sidecar: bool) -> dict[str, Any]:
    if sidecar:
        missing = [key for key in _REQUIRED_ICEYE if key not in props]
        if missing:
            raise _fail(
                source,
                f"the side-car item lacks ICEYE's required fields {missing} (it has "
                f"{sum(k.startswith('iceye:') for k in props)} iceye: fields); it is not an ICEYE COG side-car",
                missing[0],
            )
    out = {k: json_copy(v) for k, v in props.items() if k not in (Prop.PROJ_SHAPE, Prop.PROJ_TRANSFORM)}
    out.pop("raster:bands", None)
    if Prop.CENTER_FREQUENCY in out:
        out[Prop.CENTER_FREQUENCY] = _frequency_ghz(out[Prop.CENTER_FREQUENCY], source)
    out[Prop.PRODUCT_TYPE] = out[Prop.SAR_PRODUCT_TYPE] = level.value
    for key in (Prop.PLATFORM, Prop.CONSTELLATION):
        if isinstance(out.get(key), str):
            out[key] = out[key].lower()
    out.setdefault("instruments", ["sar"])
    out.setdefault("processing:level", "L1")
    return out


def _bands(props: Mapping[str, Any], level: ProductLevel) -> list[dict[str, Any]]:
    declared = [b.get("data_type") for b in props.get("raster:bands") or [] if isinstance(b, Mapping)]
    names = ["amplitude"] if level is ProductLevel.GRD else ["amplitude", "phase"]
    default = "uint16" if level is ProductLevel.GRD else "float32"
    bands: list[dict[str, Any]] = []
    for k, name in enumerate(names):
        kind = _DATA_TYPES.get(str(declared[k]), default) if k < len(declared) else default
        # DN / amplitude 0 is ICEYE's no-data value; 0 is a valid phase, so the phase band declares none.
        bands.append({"name": name, "data_type": kind, **({"nodata": 0} if name == "amplitude" else {})})
    return bands


def _raster_shape(props: Mapping[str, Any], source: str) -> tuple[int, int] | None:
    value = props.get(Prop.PROJ_SHAPE)
    if value is None:
        return None
    try:
        width, height = (int(v) for v in value)
    except (TypeError, ValueError):
        raise _fail(source, f"got {value!r}; ICEYE writes [ImageWidth, ImageLength]", Prop.PROJ_SHAPE) from None
    if width < 1 or height < 1:
        raise _fail(source, f"got {value!r}; both sizes must be >= 1", Prop.PROJ_SHAPE)
    return height, width


def _transform(props: Mapping[str, Any], source: str) -> list[float] | None:
    value = props.get(Prop.PROJ_TRANSFORM)
    if value is None:
        return None
    try:
        return affine_from_gdal([float(v) for v in value])
    except (TypeError, ValueError):
        raise _fail(source, f"got {value!r}; ICEYE writes 6 numbers in GDAL order", Prop.PROJ_TRANSFORM) from None


def _sensor_shape(
    props: Mapping[str, Any], shape: tuple[int, int], transform: list[float] | None, source: str
) -> list[int]:
    try:
        layout = decide_layout(props, shape, transform, str(props.get(Prop.LOOK_SIDE) or ""))
    except OrientationConflict as exc:
        raise _fail(source, str(exc), Prop.ICEYE_ORIENTATION) from None
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        raise _fail(source, f"unusable orbit or geometry fields: {exc}", Prop.ORBIT_STATES) from None
    rows, cols = shape
    return [cols, rows] if layout.range_along_rows else [rows, cols]


def _assets(
    item: Mapping[str, Any], level: ProductLevel, base: str | Path | None, raster: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, asset in (item.get("assets") or {}).items():
        if not isinstance(asset, Mapping) or not asset.get("href"):
            continue  # ICEYE lists some products without a file (empty href)
        entry = json_copy(dict(asset))
        if base is not None:
            entry["href"] = resolve_href(str(entry["href"]), base)
        out[str(key)] = entry
    prefix = level.value.lower()
    data_key, meta_key = f"{prefix}-cog", f"{prefix}-json"
    if data_key not in out:
        raise _fail(str(item.get("id")), f"has no {data_key} asset with an href", "assets")
    out[data_key].update(raster)
    data = {**json_copy(out[data_key]), "type": COG_MEDIA_TYPE}
    data["roles"] = ["data", "amplitude"] if level is ProductLevel.GRD else ["data"]
    out[ASSET_DATA] = data
    if meta_key in out:
        out[ASSET_METADATA] = json_copy(out[meta_key])
    return out


def _declare(data: dict[str, Any], wanted_iceye: bool, source: str) -> None:
    """Set ``stac_extensions`` and validate offline; ICEYE's schema is declared only when it is followed."""
    data["stac_extensions"] = list(SCHEMA_URIS.values())
    found = [p for p in problems(data)]
    if found:
        raise _fail(source, "the normalised item does not validate: " + "; ".join(found[:5]), "stac_extensions")
    if not wanted_iceye:
        return
    if _fast_failure(ICEYE_SCHEMA_URI, data) is None:  # the compiled check; jsonschema only to explain a failure
        data["stac_extensions"].append(ICEYE_SCHEMA_URI)
        return
    errors = sorted(_iceye_validator().iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        where = ".".join(str(p) for p in errors[0].absolute_path) or "(item)"
        warnings.warn(
            f"{source}: does not follow ICEYE's product-spec v0.2.2 schema ({where}: {errors[0].message}); the "
            "schema is not declared on the normalised item, every field is kept",
            IceyeSchemaWarning,
            stacklevel=4,
        )
        return
    data["stac_extensions"].append(ICEYE_SCHEMA_URI)


def normalise_iceye_item(
    item: Mapping[str, Any],
    *,
    base_href: str | Path | None = None,
    level: Literal["GRD", "SLC"] | None = None,
    band_scale: float | None = None,
    band_offset: float | None = None,
    source: str | None = None,
) -> pystac.Item:
    """Turn an ICEYE side-car item or open-data scene item into a normalised, offline-valid STAC item.

    Parameters
    ----------
    item
        The item as ICEYE wrote it (a JSON dict; not modified).
    base_href
        The folder relative asset hrefs resolve against (the item file's folder); None keeps them.
    level
        Which product of a scene item to pick (``GRD``/``SLC``); needed only when it has both.
    band_scale, band_offset
        The GRD band ``SCALE``/``OFFSET`` read from the raster, recorded as ``icecube:amplitude_scale`` /
        ``icecube:amplitude_offset`` (ICEYE's items do not carry them).
    source
        Name for messages (the file); the item id by default.

    Returns
    -------
    pystac.Item
        See the module docstring for the field mapping.

    Raises
    ------
    UnsupportedProductError
        A 2024 preview document (``METADATA_JSON`` layout) instead of a STAC item.
    MetadataError
        Not an ICEYE COG item, a bad value, or a result that does not validate; names the field.
    """
    name = source or str(item.get("id") or "ICEYE item")
    if item.get("type") != "Feature" or not isinstance(item.get("properties"), Mapping):
        if isinstance(item.get("data"), Mapping) or "orbit_direction" in item:
            raise UnsupportedProductError(
                name, "is a 2024 preview-generation metadata document (METADATA_JSON layout), not supported", "type"
            )
        raise _fail(
            name, f"got type {item.get('type')!r}; a STAC item ('Feature' with properties) was expected", "type"
        )
    picked, sidecar = _level(item, name, level)
    props = item["properties"]
    out_props = _properties(props, picked, name, sidecar)
    bands = _bands(props, picked)
    # The asset's data_type is the cube's view: GRD DN as stored, SLC the complex value of the two bands.
    raster: dict[str, Any] = {Prop.DATA_TYPE: bands[0]["data_type"] if picked is ProductLevel.GRD else "cfloat32"}
    raster["bands"] = bands
    shape, transform = _raster_shape(props, name), _transform(props, name)
    # A scene item's proj:shape describes its main (GRD) product: it is kept only for that product.
    if shape is not None and (sidecar or picked is ProductLevel.GRD):
        raster[Prop.PROJ_SHAPE] = list(shape)
        out_props[Prop.SENSOR_SHAPE] = _sensor_shape(props, shape, transform, name)
    if transform is not None:
        raster[Prop.PROJ_TRANSFORM] = transform
    if picked is ProductLevel.GRD and band_scale is not None:
        out_props[Prop.AMPLITUDE_SCALE] = float(band_scale)
        out_props[Prop.AMPLITUDE_OFFSET] = float(band_offset or 0.0)
    data: dict[str, Any] = {
        "type": "Feature",
        "stac_version": _STAC_VERSION,
        "stac_extensions": [],
        "id": str(item.get("id") or ""),
        "geometry": json_copy(item.get("geometry")),
        "bbox": json_copy(item.get("bbox")),
        "properties": out_props,
        "links": [json_copy(link) for link in item.get("links") or [] if link.get("rel") not in _STRUCTURAL_LINKS],
        "assets": _assets(item, picked, base_href, raster),
    }
    if data["bbox"] is None:
        del data["bbox"]
    _declare(data, ICEYE_SCHEMA_URI in (item.get("stac_extensions") or []), name)
    return pystac.Item.from_dict(data, migrate=False, preserve_dict=False)
