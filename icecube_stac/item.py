"""The parsed item: one STAC item read once into the frozen model the load path works with.

:func:`parse_item` is the only code on the load path (cube, xarray backend, time axis) that reads STAC
property keys and assets. It decides the product level, the container (and so the reader), the absolute
data and metadata hrefs, the raster shape and sample type, the orientation, the acquisition times, and
the per-item values that become cube coordinates along ``time``.

Legacy items (GeoTIFF / HDF5) store the cube's orientation as is. Items of ICEYE's COG generation
(normalised by :func:`icecube_stac.iceye_items.normalise_iceye_item`; told apart by the data asset's
``profile=cloud-optimized`` media type, a ``grd-cog``/``slc-cog`` asset or ``iceye:orientation``) get the
orientation decided from their own metadata (:mod:`icecube_stac.formats._cog_geometry`: orbit geometry,
incidence polynomial, then ``iceye:orientation`` and the look side), and the container name carries it to
the reader (:class:`~icecube_stac.readers.ContainerName`). The SLC phase sign is ``icecube:phase_sign``
on the item, else the environment variable ``ICECUBE_STAC_PHASE_SIGN`` (``+1``/``-1``), else +1.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import pystac

from icecube_stac.errors import LoadError
from icecube_stac.readers import ContainerName
from icecube_stac.vocabulary import ASSET_DATA, ASSET_METADATA, Container, ProductLevel, Prop

__all__ = ["AS_STORED", "Orientation", "ParsedItem", "acquisition_end", "is_cog_item", "parse_item"]

_COG_CONTAINER: Final = {ProductLevel.GRD: Container.COG_GRD, ProductLevel.SLC: Container.COG_SLC}
_COG_ASSETS: Final = ("grd-cog", "slc-cog")

# STAC data_type of the data asset (stac.py) and raster suffixes, used when product:type is absent.
_LEVEL_BY_DATA_TYPE: Final = {"uint16": ProductLevel.GRD, "cint16": ProductLevel.SLC, "cfloat32": ProductLevel.SLC}
_LEVEL_BY_SUFFIX: Final = {
    ".tif": ProductLevel.GRD,
    ".tiff": ProductLevel.GRD,
    ".h5": ProductLevel.SLC,
    ".hdf5": ProductLevel.SLC,
}
_LEGACY_CONTAINER: Final = {ProductLevel.GRD: Container.LEGACY_GEOTIFF, ProductLevel.SLC: Container.LEGACY_HDF5}


@dataclass(frozen=True)
class Orientation:
    """How a container stores the image relative to the cube's convention.

    The cube's rows are azimuth lines in acquisition-time order and its columns range samples near to
    far. Legacy ICEYE GeoTIFF and HDF5 products store exactly that (all flags false); a reader applies
    the flags of other containers so that every generation lands in one orientation.
    """

    transposed: bool = False  # azimuth runs along the stored columns
    azimuth_reversed: bool = False  # stored azimuth lines run against acquisition time
    range_reversed: bool = False  # stored range samples run far to near


AS_STORED: Final = Orientation()


@dataclass(frozen=True)
class ParsedItem:
    """What the load path needs of one STAC item, parsed once.

    Attributes
    ----------
    item
        The STAC item itself (its JSON is kept in the cube's ``stac_item`` coordinate).
    id
        The item id.
    level
        GRD or SLC.
    container
        The pixel container, which picks the reader (:func:`icecube_stac.readers.get_reader`).
    data_href, metadata_href
        Absolute hrefs (or URLs) of the data asset and of the ICEYE metadata asset (``""`` if none).
    shape
        ``(azimuth, range)`` from ``proj:shape``; None when the item does not say (the reader is asked).
    data_type
        The data asset's ``data_type`` (``uint16``, ``cint16``, ``cfloat32``), if given.
    orientation
        How the container stores the image.
    amplitude_scale, amplitude_offset
        GRD: amplitude = DN * scale + offset, the value ``calibration_factor`` calibrates (legacy: 1 and 0;
        COG: the band ``SCALE``/``OFFSET``, NaN when the item does not record them).
    time
        The item datetime (UTC), the natural time step.
    start, end
        Acquisition start and end (UTC), None when the item has only a datetime.
    acquired
        icecube's acquisition date: the UTC date of the acquisition end.
    """

    item: pystac.Item
    id: str
    level: ProductLevel
    container: str
    data_href: str
    metadata_href: str
    item_href: str  # the item's own JSON document ("" when unknown): the cube's STAC item links to it
    shape: tuple[int, int] | None
    data_type: str | None
    orientation: Orientation
    time: datetime
    start: datetime | None
    end: datetime | None
    acquired: date
    orbit_state: str
    look_side: str
    platform: str
    instrument_mode: str
    incidence_angle: float
    incidence_near: float
    incidence_far: float
    calibration_factor: float
    amplitude_scale: float = 1.0
    amplitude_offset: float = 0.0

    def stac_json(self) -> str:
        """Return the item's JSON with sorted keys, as stored in the cube's ``stac_item`` coordinate."""
        return json.dumps(self.item.to_dict(include_self_link=False, transform_hrefs=False), sort_keys=True)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _when(item: pystac.Item, key: str) -> datetime | None:
    value = item.properties.get(key)
    if not value:
        return None
    try:
        return _utc(pystac.utils.str_to_datetime(str(value)))
    except ValueError:
        raise LoadError(f"item {item.id!r}: {key} {value!r} is not an RFC 3339 date-time") from None


def acquisition_end(item: pystac.Item) -> datetime:
    """Return an item's acquisition end (UTC): ``end_datetime``, else ``datetime``.

    icecube dates an acquisition by its end; the selection rules and the time axis both use this.

    Parameters
    ----------
    item
        A STAC item.

    Returns
    -------
    datetime.datetime
        Timezone-aware UTC; ``datetime.min`` (UTC) for an item with no time at all.
    """
    end = _when(item, Prop.END)
    if end is not None:
        return end
    return _utc(item.datetime) if item.datetime is not None else datetime.min.replace(tzinfo=UTC)


def _times(item: pystac.Item) -> tuple[datetime, datetime | None, datetime | None]:
    start, end = _when(item, Prop.START), _when(item, Prop.END)
    if item.datetime is not None:
        return _utc(item.datetime), start, end
    if start is not None and end is not None:
        return start + (end - start) / 2, start, end
    raise LoadError(f"item {item.id!r} has neither datetime nor start_datetime/end_datetime")


def _data_asset(item: pystac.Item) -> pystac.Asset | None:
    asset = item.assets.get(ASSET_DATA)
    if asset is not None:
        return asset
    return next((a for a in item.assets.values() if "data" in (a.roles or [])), None)


def _level(item: pystac.Item, asset: pystac.Asset | None) -> ProductLevel:
    for key in (Prop.PRODUCT_TYPE, Prop.SAR_PRODUCT_TYPE):
        value = str(item.properties.get(key) or "").upper()
        if value in ProductLevel.__members__:
            return ProductLevel(value)
    if asset is not None:
        data_type = str(asset.extra_fields.get(Prop.DATA_TYPE, ""))
        if data_type in _LEVEL_BY_DATA_TYPE:
            return _LEVEL_BY_DATA_TYPE[data_type]
        suffix = Path(urlsplit(asset.href).path).suffix.lower()
        if suffix in _LEVEL_BY_SUFFIX:
            return _LEVEL_BY_SUFFIX[suffix]
    raise LoadError(
        f"item {item.id!r}: cannot tell whether it is a GRD or an SLC product (no product:type property, "
        "no data asset data_type, no .tif/.h5 href)"
    )


def _pair(item: pystac.Item, value: object, key: str) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        first, second = (int(v) for v in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise LoadError(f"item {item.id!r}: {key} {value!r} is not a pair of sizes") from None
    if first < 1 or second < 1:
        raise LoadError(f"item {item.id!r}: {key} {value!r} is empty")
    return first, second


def _shape(item: pystac.Item, asset: pystac.Asset | None) -> tuple[int, int] | None:
    extra = {} if asset is None else asset.extra_fields
    # Legacy rasters store (azimuth, range) as (rows, cols), so their proj:shape is the cube's shape.
    return _pair(item, extra.get(Prop.PROJ_SHAPE, item.properties.get(Prop.PROJ_SHAPE)), Prop.PROJ_SHAPE)


def _scale(item: pystac.Item, cog: bool, level: ProductLevel) -> tuple[float, float]:
    if not cog or level is not ProductLevel.GRD:
        return 1.0, 0.0
    # A COG GRD's DN are a scaled amplitude; without the recorded band SCALE the calibration is unknown (NaN).
    scale = _number(item, Prop.AMPLITUDE_SCALE)
    offset = _number(item, Prop.AMPLITUDE_OFFSET) if math.isfinite(scale) else math.nan
    return scale, 0.0 if math.isnan(offset) and math.isfinite(scale) else offset


def _refuse_raw_iceye(item: pystac.Item) -> None:
    declared = _text(item, Prop.SAR_PRODUCT_TYPE)
    if declared.endswith("-COG") and not item.properties.get(Prop.PRODUCT_TYPE):
        raise LoadError(
            f"item {item.id!r} is an ICEYE {declared} item as ICEYE writes it (Hz, GDAL-order transform, "
            "[width, height] shape); normalise it first with icecube_stac.iceye_items.normalise_iceye_item "
            "(the indexer does)"
        )
    if not item.properties.get(Prop.PRODUCT_TYPE) and any(key in item.assets for key in _COG_ASSETS):
        # A scene item bundles several products: which one is the data is the caller's choice, never a guess.
        raise LoadError(
            f"item {item.id!r} is an ICEYE open-data scene item bundling products ({', '.join(sorted(item.assets))}); "
            "search its catalog (the config's product_type picks grd-cog or slc-cog) or normalise it with "
            "icecube_stac.iceye_items.normalise_iceye_item(..., level='GRD' or 'SLC')"
        )


def is_cog_item(item: pystac.Item) -> bool:
    """Tell whether an item is of ICEYE's COG generation (normalised or not) rather than a legacy product."""
    asset = _data_asset(item)
    media = "" if asset is None else str(asset.media_type or "")
    return (
        "profile=cloud-optimized" in media.replace(" ", "")
        or any(key in item.assets for key in _COG_ASSETS)
        or Prop.ICEYE_ORIENTATION in item.properties
    )


def _cog_layout(
    item: pystac.Item, asset: pystac.Asset | None, level: ProductLevel
) -> tuple[ContainerName, tuple[int, int] | None, Orientation]:
    """Decide a COG item's orientation from its metadata; return the container (with reader options) and shape."""
    from icecube_stac.formats._cog_geometry import OrientationConflict, decide_layout  # numpy only, on demand

    extra = {} if asset is None else asset.extra_fields
    raster = _pair(item, extra.get(Prop.PROJ_SHAPE), Prop.PROJ_SHAPE)
    transform = extra.get(Prop.PROJ_TRANSFORM, item.properties.get(Prop.PROJ_TRANSFORM))
    sensor = _pair(item, item.properties.get(Prop.SENSOR_SHAPE), Prop.SENSOR_SHAPE)
    if raster is None:
        # No raster shape (e.g. the SLC of an open-data scene item): ICEYE's declared layout and the look side.
        transform, guess = None, (sensor[1], sensor[0]) if sensor is not None else (2, 2)
    else:
        guess = raster
    try:
        layout = decide_layout(item.properties, guess, transform, _text(item, Prop.LOOK_SIDE))
    except OrientationConflict as exc:
        raise LoadError(f"item {item.id!r}: {exc}") from None
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        raise LoadError(f"item {item.id!r}: unusable {Prop.ORBIT_STATES} / {Prop.PROJ_TRANSFORM}: {exc}") from None
    orientation = Orientation(layout.range_along_rows, layout.azimuth_reversed, layout.range_reversed)
    shape = None if raster is None else ((raster[1], raster[0]) if orientation.transposed else raster)
    if sensor is not None and shape is not None and sensor != shape:
        raise LoadError(
            f"item {item.id!r}: {Prop.SENSOR_SHAPE} {list(sensor)} disagrees with the raster's proj:shape "
            f"{list(raster or ())} read with the decided orientation ({layout.evidence})"
        )
    from icecube_stac.formats._cog_options import CogReadOptions, amplitude_mapping, phase_sign

    slc = level is ProductLevel.SLC
    try:
        options = CogReadOptions(
            transposed=orientation.transposed,
            azimuth_reversed=orientation.azimuth_reversed,
            range_reversed=orientation.range_reversed,
            phase_sign=phase_sign(item.properties, os.environ) if slc else 1,
            amplitude_mapping=amplitude_mapping(item.properties) if slc else None,
        )
    except ValueError as exc:
        raise LoadError(f"item {item.id!r}: {exc}") from None
    return ContainerName(_COG_CONTAINER[level], options.to_options()), shape or sensor, orientation


def _href(asset: pystac.Asset | None) -> str:
    if asset is None or not asset.href:
        return ""
    return str(asset.get_absolute_href() or asset.href)


def _number(item: pystac.Item, key: str) -> float:
    try:
        return float(item.properties[key])
    except (KeyError, TypeError, ValueError):
        return math.nan


def _text(item: pystac.Item, key: str) -> str:
    return str(item.properties.get(key) or "")


def _item_href(item: pystac.Item) -> str:
    """Return where the item's JSON lives: its self link, else ``items/<id>.json`` beside its local collection."""
    own = item.get_self_href()
    if own:
        return str(own)
    collection = next((link.href for link in item.links if link.rel == "collection"), None)
    if collection and "://" not in collection:
        candidate = Path(collection).parent / "items" / f"{item.id}.json"
        if candidate.is_file():
            return str(candidate)
    return ""


def parse_item(item: pystac.Item) -> ParsedItem:
    """Parse a STAC item of an ICEYE product once, for loading.

    Parameters
    ----------
    item
        An item written by icecube-stac's indexer, or any item with a data asset whose product level
        can be told (``product:type``, the asset's ``data_type`` or its file suffix).

    Returns
    -------
    ParsedItem

    Raises
    ------
    LoadError
        When the product level, the times or ``proj:shape`` cannot be read; the message names the item.
    """
    _refuse_raw_iceye(item)
    asset = _data_asset(item)
    level = _level(item, asset)
    time, start, end = _times(item)
    cog = is_cog_item(item)
    container: str = _LEGACY_CONTAINER[level]
    shape, orientation = None, AS_STORED
    if cog:
        container, shape, orientation = _cog_layout(item, asset, level)
    else:
        shape = _shape(item, asset)
    scale, offset = _scale(item, cog, level)
    return ParsedItem(
        item=item,
        id=item.id,
        level=level,
        container=container,
        data_href=_href(asset),
        metadata_href=_href(item.assets.get(ASSET_METADATA)),
        item_href=_item_href(item),
        shape=shape,
        data_type=None if asset is None else asset.extra_fields.get(Prop.DATA_TYPE),
        orientation=orientation,
        amplitude_scale=scale,
        amplitude_offset=offset,
        time=time,
        start=start,
        end=end,
        acquired=(end or time).date(),
        orbit_state=_text(item, Prop.ORBIT_STATE),
        look_side=_text(item, Prop.LOOK_SIDE),
        platform=_text(item, Prop.PLATFORM),
        instrument_mode=_text(item, Prop.INSTRUMENT_MODE),
        incidence_angle=_number(item, Prop.INCIDENCE),
        incidence_near=_number(item, Prop.INCIDENCE_NEAR),
        incidence_far=_number(item, Prop.INCIDENCE_FAR),
        calibration_factor=_number(item, Prop.CALIBRATION_FACTOR),
    )
