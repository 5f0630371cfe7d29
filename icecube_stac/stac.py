"""ICEYE metadata → STAC items (the public face of the STAC stage: items, collections, validation).

Items follow ARCHITECTURE.md decision 2: sar v1.3.2 (the v1.3 field set; centre frequency in GHz), ``product:type`` plus
the deprecated ``sar:product_type``, sat, view, projection v2 with ``proj:code: null`` (the rasters
are in sensor geometry: no transform is invented), processing, and the acquisition midpoint as
``datetime``. Properties are written as plain keys because pystac's extension classes still write
the v1.0.0 schema URIs; the item then declares exactly the schemas it follows. Collections are built by
:mod:`icecube_stac._collections`, footprints by :mod:`icecube_stac._spatial`, and validation lives in
:mod:`icecube_stac._validation` (one document) and :mod:`icecube_stac._validate_path` (everything at a path);
all are re-exported here.
"""

from __future__ import annotations

import math
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import pystac

from icecube_stac._collections import asset_definitions, collection_id, create_collection, update_collection
from icecube_stac._spatial import footprint_geometry
from icecube_stac._validate_path import Checked, validate_path
from icecube_stac._validation import SCHEMA_URIS, STAC_EXTENSIONS, schema_map_file, stac_validator_schema_map, validate
from icecube_stac.errors import IcecubeStacWarning, MetadataError
from icecube_stac.formats import ProductFiles, find_product_files, read_product_metadata
from icecube_stac.formats.xml import read_xml_metadata
from icecube_stac.metadata import IceyeMetadata
from icecube_stac.vocabulary import ASSET_DATA, ASSET_METADATA, ASSET_QUICKLOOK, LookSide, Prop

__all__ = [
    "ASSET_DATA",
    "ASSET_METADATA",
    "ASSET_QUICKLOOK",
    "SCHEMA_URIS",
    "Checked",
    "STAC_EXTENSIONS",
    "collection_id",
    "create_collection",
    "create_item",
    "footprint_geometry",
    "item_from_files",
    "item_from_product",
    "schema_map_file",
    "stac_validator_schema_map",
    "update_collection",
    "validate",
    "validate_path",
]

# STAC 1.1 common data_type of the data asset, from the on-disk sample type.
_DATA_TYPES = {"uint16": "uint16", "int16": "cint16", "float32": "cfloat32"}


def _iso(value: datetime) -> str:
    return pystac.utils.datetime_to_str(value)


def _iso_or_none(value: datetime | None) -> str | None:
    return None if value is None else _iso(value)


def _view_azimuth(meta: IceyeMetadata) -> float | None:
    # ICEYE's own STAC gives the direction from the scene towards the sensor: heading - 90° for a
    # right-looking and heading + 90° for a left-looking acquisition (iceye_formats.md §6).
    if meta.heading is None:
        return None
    offset = -90.0 if meta.look_side is LookSide.RIGHT else 90.0
    return round((meta.heading + offset) % 360.0, 6)


# Metadata spec 2.4 resolutions (metres), kept unconverted in IceyeMetadata.extra: STAC property -> ICEYE field.
# The range resolution of the scene centre is the sar one; near and far are named as in ICEYE's own STAC.
_RESOLUTIONS = {
    "sar:resolution_range": "range_resolution_center",
    "sar:resolution_azimuth": "azimuth_resolution",
    "iceye:resolution_range_near": "range_resolution_near",
    "iceye:resolution_range_far": "range_resolution_far",
}


def _metres(raw: Any) -> float | None:
    try:
        value = float(raw.decode() if isinstance(raw, bytes) else raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value >= 0.0 else None


def _resolution_properties(meta: IceyeMetadata) -> dict[str, float]:
    """Map the spec-2.4 resolution fields; a value that is not a length in metres is left out, with a warning."""
    props: dict[str, float] = {}
    for prop, name in _RESOLUTIONS.items():
        raw = meta.extra.get(name)
        if raw is None:
            continue
        value = _metres(raw)
        if value is None:
            message = f"{meta.source}: field {name!r}: got {raw!r}; a resolution is a finite number of metres >= 0"
            warnings.warn(IcecubeStacWarning(f"{message}, so {prop} is left out"), stacklevel=2)
            continue
        props[prop] = value
    return props


def _sar_properties(meta: IceyeMetadata) -> dict[str, Any]:
    props: dict[str, Any] = {
        Prop.FREQUENCY_BAND: "X",
        Prop.SAR_PRODUCT_TYPE: meta.product_level.value,
        Prop.LOOK_SIDE: meta.look_side.value,
    }
    optional = {
        # Absent from the source means absent from the item: nothing is guessed.
        Prop.INSTRUMENT_MODE: meta.acquisition_mode,
        Prop.POLARIZATIONS: None if meta.polarization is None else [meta.polarization],
        "sar:center_frequency": None if meta.carrier_frequency is None else meta.carrier_frequency / 1e9,
        "sar:bandwidth": None if meta.chirp_bandwidth is None else meta.chirp_bandwidth / 1e9,
        "sar:looks_range": meta.range_looks,
        "sar:looks_azimuth": meta.azimuth_looks,
        "sar:pixel_spacing_range": meta.range_spacing,
        "sar:pixel_spacing_azimuth": meta.azimuth_spacing,
    }
    return props | {k: v for k, v in optional.items() if v is not None} | _resolution_properties(meta)


def _other_properties(meta: IceyeMetadata) -> dict[str, Any]:
    props: dict[str, Any] = {
        Prop.PRODUCT_TYPE: meta.product_level.value,
        Prop.ORBIT_STATE: meta.orbit_direction.value,
        Prop.INCIDENCE: meta.incidence_center,
        "proj:code": None,
        Prop.PROJ_SHAPE: [meta.number_of_azimuth_samples, meta.number_of_range_samples],
        "proj:centroid": {"lat": meta.coord_center.lat, "lon": meta.coord_center.lon},
        "processing:level": "L1",
        "iceye:product_type": meta.product_type,
        "iceye:incidence_angle_near": meta.incidence_near,
        "iceye:incidence_angle_far": meta.incidence_far,
        "iceye:metadata_source": meta.source_format,
    }
    optional = {
        # orbit_relative_number is a placeholder equal to the absolute number (pitfall 16): not mapped.
        Prop.ABSOLUTE_ORBIT: meta.orbit_absolute_number,
        Prop.OFF_NADIR: meta.satellite_look_angle,
        "view:azimuth": _view_azimuth(meta),
        "processing:software": None if meta.processor_version is None else {"ICEYE_P": meta.processor_version},
        "iceye:spec_version": meta.spec_version,
        Prop.CALIBRATION_FACTOR: meta.calibration_factor,
        "iceye:heading": meta.heading,
        "iceye:data_orientation": meta.data_orientation,
        "iceye:sample_precision": meta.sample_precision,
        "iceye:average_scene_height": meta.avg_scene_height,
        "iceye:zero_doppler_start_datetime": _iso_or_none(meta.zerodoppler_start),
        "iceye:zero_doppler_end_datetime": None if meta.zerodoppler_end is None else _iso(meta.zerodoppler_end),
    }
    return props | {k: v for k, v in optional.items() if v is not None}


def _asset(meta: IceyeMetadata, key: str, href: str, fields: dict[str, Any] | None = None) -> pystac.Asset:
    definition = asset_definitions(meta.product_level)[key]
    return pystac.Asset(
        href=href,
        media_type=definition["type"],
        roles=definition["roles"],
        title=definition["title"],
        extra_fields=fields,
    )


def _data_asset(meta: IceyeMetadata, href: str) -> pystac.Asset:
    on_disk = str(meta.extra.get("data_type") or meta.sample_precision or "")
    fields: dict[str, Any] = {Prop.PROJ_SHAPE: [meta.number_of_azimuth_samples, meta.number_of_range_samples]}
    if on_disk in _DATA_TYPES:
        fields[Prop.DATA_TYPE] = _DATA_TYPES[on_disk]
    if meta.processing_time is not None:
        # processing:datetime needs processing v1.2.0, whose schema is not vendored; the asset's common
        # `created` says the same thing: when ICEYE's processor wrote the file.
        fields["created"] = _iso(meta.processing_time)
    return _asset(meta, ASSET_DATA, href, fields)


def create_item(
    meta: IceyeMetadata,
    *,
    data_href: str | None = None,
    metadata_href: str | None = None,
    quicklook_href: str | None = None,
) -> pystac.Item:
    """Create the STAC item of one product from its metadata.

    Parameters
    ----------
    meta
        The product's metadata.
    data_href, metadata_href, quicklook_href
        Where the raster, the XML sidecar and the quicklook PNG are; assets are only added for the
        files given.

    Returns
    -------
    pystac.Item
        Deterministic: the same metadata and hrefs always give the same JSON. The item belongs to no
        collection yet; :func:`icecube_stac.catalog.index` files it under :func:`collection_id`.
    """
    geometry, bbox = footprint_geometry(meta.footprint, meta.source)
    properties: dict[str, Any] = {
        Prop.START: _iso(meta.acquisition_start),
        Prop.END: _iso(meta.acquisition_end),
        Prop.PLATFORM: (meta.satellite_name or "iceye").lower(),
        Prop.CONSTELLATION: "iceye",
        "instruments": ["sar"],
    }
    properties |= _sar_properties(meta) | _other_properties(meta)
    item = pystac.Item(
        id=meta.product_name,
        geometry=geometry,
        bbox=bbox,
        datetime=meta.center_time,
        properties=properties,
        stac_extensions=list(STAC_EXTENSIONS),
    )
    if data_href is not None:
        item.add_asset(ASSET_DATA, _data_asset(meta, data_href))
    if metadata_href is not None:
        item.add_asset(ASSET_METADATA, _asset(meta, ASSET_METADATA, metadata_href))
    if quicklook_href is not None:
        item.add_asset(ASSET_QUICKLOOK, _asset(meta, ASSET_QUICKLOOK, quicklook_href))
    return item


def item_from_product(path: str | Path) -> pystac.Item:
    """Read one ICEYE product and return its STAC item, with absolute asset hrefs.

    Parameters
    ----------
    path
        The raster (``.tif``/``.h5``) or the XML sidecar of the product. Metadata come from the XML when
        there is one, else from the raster.

    Returns
    -------
    pystac.Item

    Raises
    ------
    MetadataError
        When the metadata are unusable or the XML's raster is missing.
    """
    return item_from_files(find_product_files(path))


def item_from_files(files: ProductFiles) -> pystac.Item:
    """Read the metadata of a product whose files are already known, once, and return its STAC item.

    Parameters
    ----------
    files
        The product's files, from :func:`~icecube_stac.formats.find_product_files`.

    Returns
    -------
    pystac.Item
        With absolute asset hrefs.

    Raises
    ------
    MetadataError
        When the metadata are unusable or the XML's raster is missing.
    """
    if files.raster is None:
        assert files.xml is not None
        read_xml_metadata(files.xml)  # a broken or foreign XML is reported as such, before its missing raster
        raise MetadataError(
            files.xml,
            "the raster of this XML sidecar is missing (looked for the same name with .tif or .h5 next to it)",
        )
    meta = read_product_metadata(files)
    sidecar_used = files.xml is not None and meta.source_format == "xml"
    return create_item(
        meta,
        data_href=str(files.raster.resolve()),
        # A sidecar that could not be used is not advertised as the product's metadata.
        metadata_href=str(files.xml.resolve()) if files.xml is not None and sidecar_used else None,
        quicklook_href=None if files.quicklook is None else str(files.quicklook.resolve()),
    )
