"""ICEYE metadata → STAC items (the public face of the STAC stage: items, collections, validation).

Items follow ARCHITECTURE.md decision 2: sar v1.3.2 (the v1.3 field set; centre frequency in GHz), ``product:type`` plus
the deprecated ``sar:product_type``, sat, view, projection v2 with ``proj:code: null`` (the rasters
are in sensor geometry: no transform is invented), processing, and the acquisition midpoint as
``datetime``. Properties are written as plain keys because pystac's extension classes still write
the v1.0.0 schema URIs; the item then declares exactly the schemas it follows. Collections are built by
:mod:`icecube_stac._collections` and validation lives in :mod:`icecube_stac._validation`; both are
re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pystac
from shapely.affinity import translate
from shapely.geometry import MultiPolygon, Polygon, box, mapping
from shapely.geometry.polygon import orient

from icecube_stac._collections import collection_id, create_collection, update_collection
from icecube_stac._validation import SCHEMA_URIS, STAC_EXTENSIONS, validate
from icecube_stac.errors import MetadataError
from icecube_stac.formats import ProductFiles, find_product_files, read_product_metadata
from icecube_stac.formats.xml import read_xml_metadata
from icecube_stac.metadata import IceyeMetadata
from icecube_stac.vocabulary import ASSET_DATA, ASSET_METADATA, ASSET_QUICKLOOK, LookSide, ProductLevel, Prop

__all__ = [
    "ASSET_DATA",
    "ASSET_METADATA",
    "ASSET_QUICKLOOK",
    "SCHEMA_URIS",
    "STAC_EXTENSIONS",
    "collection_id",
    "create_collection",
    "create_item",
    "footprint_geometry",
    "item_from_files",
    "item_from_product",
    "update_collection",
    "validate",
]

_MEDIA_TYPES = {
    ProductLevel.GRD: "image/tiff; application=geotiff",
    ProductLevel.SLC: "application/x-hdf5",
}
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
    return props | {k: v for k, v in optional.items() if v is not None}


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


def _data_asset(meta: IceyeMetadata, href: str) -> pystac.Asset:
    on_disk = str(meta.extra.get("data_type") or meta.sample_precision or "")
    fields: dict[str, Any] = {Prop.PROJ_SHAPE: [meta.number_of_azimuth_samples, meta.number_of_range_samples]}
    if on_disk in _DATA_TYPES:
        fields[Prop.DATA_TYPE] = _DATA_TYPES[on_disk]
    if meta.processing_time is not None:
        # processing:datetime needs processing v1.2.0, whose schema is not vendored; the asset's common
        # `created` says the same thing: when ICEYE's processor wrote the file.
        fields["created"] = _iso(meta.processing_time)
    is_grd = meta.product_level is ProductLevel.GRD
    return pystac.Asset(
        href=href,
        media_type=_MEDIA_TYPES[meta.product_level],
        roles=["data", "amplitude"] if is_grd else ["data"],
        title="Amplitude DN (uint16, sensor geometry)" if is_grd else "Complex SLC s_i + j·s_q (HDF5)",
        extra_fields=fields,
    )


def footprint_geometry(ring: Sequence[tuple[float, float]]) -> tuple[dict[str, Any], list[float]]:
    """Return the GeoJSON geometry and bbox of a lon/lat footprint ring, split at the antimeridian if needed.

    Parameters
    ----------
    ring
        Closed ring of (lon, lat) corners, lon in [-180, 180].

    Returns
    -------
    geometry, bbox
        A counter-clockwise Polygon (RFC 7946), or a MultiPolygon of the two halves when the footprint
        crosses the antimeridian; then the bbox's west edge is greater than its east edge (RFC 7946 §5.2).
    """
    lons = [lon for lon, _ in ring]
    if max(lons) - min(lons) <= 180.0:
        polygon = orient(Polygon(ring), sign=1.0)
        return _json_geometry(mapping(polygon)), [round(v, 9) for v in polygon.bounds]
    # A scene is never half the globe wide: a >180° span means it wraps around ±180°.
    unwrapped = orient(Polygon([(lon + 360.0 if lon < 0 else lon, lat) for lon, lat in ring]), sign=1.0)
    east_of_0 = unwrapped.intersection(box(0.0, -90.0, 180.0, 90.0))
    west_of_0 = translate(unwrapped.intersection(box(180.0, -90.0, 540.0, 90.0)), xoff=-360.0)
    parts = [orient(p, sign=1.0) for p in (east_of_0, west_of_0) if isinstance(p, Polygon) and not p.is_empty]
    multi = MultiPolygon(parts)
    _, south, _, north = unwrapped.bounds
    bbox = [east_of_0.bounds[0], south, west_of_0.bounds[2], north]
    return _json_geometry(mapping(multi)), [round(v, 9) for v in bbox]


def _json_geometry(geometry: dict[str, Any]) -> dict[str, Any]:
    # shapely nests tuples; JSON (and an item read back from disk) has lists, so equality with disk is exact.
    return {**geometry, "coordinates": _lists(geometry["coordinates"])}


def _lists(value: Any) -> Any:
    return [_lists(v) for v in value] if isinstance(value, (tuple, list)) else value


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
    geometry, bbox = footprint_geometry(meta.footprint)
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
        item.add_asset(
            ASSET_METADATA,
            pystac.Asset(
                href=metadata_href,
                media_type="application/xml",
                roles=["metadata"],
                title="ICEYE XML metadata",
            ),
        )
    if quicklook_href is not None:
        item.add_asset(
            ASSET_QUICKLOOK,
            pystac.Asset(href=quicklook_href, media_type=pystac.MediaType.PNG, roles=["overview"], title="Quicklook"),
        )
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
