"""ICEYE metadata → STAC: items, collections and offline validation.

Items follow ARCHITECTURE.md decision 2: sar v1.3.2 (the v1.3 field set; centre frequency in GHz), ``product:type`` plus
the deprecated ``sar:product_type``, sat, view, projection v2 with ``proj:code: null`` (the rasters
are in sensor geometry: no transform is invented), processing, and the acquisition midpoint as
``datetime``. Properties are written as plain keys because pystac's extension classes still write
the v1.0.0 schema URIs; the item then declares exactly the schemas it follows.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pystac
from pystac.validation.stac_validator import GetSchemaError, JsonSchemaSTACValidator
from shapely.affinity import translate
from shapely.geometry import MultiPolygon, Polygon, box, mapping
from shapely.geometry.polygon import orient

from icecube_stac.errors import MetadataError
from icecube_stac.formats import find_product_files, read_metadata
from icecube_stac.formats.xml import read_xml_metadata
from icecube_stac.metadata import IceyeMetadata, LookSide, ProductLevel

__all__ = [
    "ASSET_DATA",
    "ASSET_METADATA",
    "ASSET_QUICKLOOK",
    "STAC_EXTENSIONS",
    "collection_id",
    "create_collection",
    "create_item",
    "footprint_geometry",
    "item_from_product",
    "update_collection",
    "validate",
]

SCHEMA_URIS: dict[str, str] = {
    "sar": "https://stac-extensions.github.io/sar/v1.3.2/schema.json",
    "sat": "https://stac-extensions.github.io/sat/v1.2.0/schema.json",
    "view": "https://stac-extensions.github.io/view/v1.1.0/schema.json",
    "projection": "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
    "processing": "https://stac-extensions.github.io/processing/v1.1.0/schema.json",
    "product": "https://stac-extensions.github.io/product/v1.0.0/schema.json",
}
STAC_EXTENSIONS: list[str] = list(SCHEMA_URIS.values())

ASSET_DATA = "data"
ASSET_METADATA = "metadata"
ASSET_QUICKLOOK = "quicklook"

_COLLECTION_TITLES = {
    ProductLevel.GRD: "ICEYE GRD (ground range detected amplitude, sensor geometry)",
    ProductLevel.SLC: "ICEYE SLC (single look complex, slant range)",
}
_MEDIA_TYPES = {
    ProductLevel.GRD: "image/tiff; application=geotiff",
    ProductLevel.SLC: "application/x-hdf5",
}
# STAC 1.1 common data_type of the data asset, from the on-disk sample type.
_DATA_TYPES = {"uint16": "uint16", "int16": "cint16", "float32": "cfloat32"}
_SUMMARY_LISTS = (
    "platform",
    "sar:instrument_mode",
    "sar:polarizations",
    "sat:orbit_state",
    "sar:observation_direction",
    "product:type",
)
_SUMMARY_RANGES = ("view:incidence_angle", "view:off_nadir")
_PROVIDER = pystac.Provider(
    name="ICEYE",
    roles=[pystac.ProviderRole.PRODUCER, pystac.ProviderRole.PROCESSOR, pystac.ProviderRole.LICENSOR],
    url="https://www.iceye.com",
)


def collection_id(level: ProductLevel | str) -> str:
    """Return the collection id for a product level (``iceye-grd`` or ``iceye-slc``).

    Parameters
    ----------
    level
        ``GRD`` or ``SLC``.

    Returns
    -------
    str
    """
    return f"iceye-{ProductLevel(str(level).upper()).value.lower()}"


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
        "sar:frequency_band": "X",
        "sar:product_type": meta.product_level.value,
        "sar:observation_direction": meta.look_side.value,
    }
    optional = {
        # Absent from the source means absent from the item: nothing is guessed.
        "sar:instrument_mode": meta.acquisition_mode,
        "sar:polarizations": None if meta.polarization is None else [meta.polarization],
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
        "product:type": meta.product_level.value,
        "sat:orbit_state": meta.orbit_direction.value,
        "view:incidence_angle": meta.incidence_center,
        "proj:code": None,
        "proj:shape": [meta.number_of_azimuth_samples, meta.number_of_range_samples],
        "proj:centroid": {"lat": meta.coord_center.lat, "lon": meta.coord_center.lon},
        "processing:level": "L1",
        "iceye:product_type": meta.product_type,
        "iceye:incidence_angle_near": meta.incidence_near,
        "iceye:incidence_angle_far": meta.incidence_far,
        "iceye:metadata_source": meta.source_format,
    }
    optional = {
        # orbit_relative_number is a placeholder equal to the absolute number (pitfall 16): not mapped.
        "sat:absolute_orbit": meta.orbit_absolute_number,
        "view:off_nadir": meta.satellite_look_angle,
        "view:azimuth": _view_azimuth(meta),
        "processing:software": None if meta.processor_version is None else {"ICEYE_P": meta.processor_version},
        "iceye:spec_version": meta.spec_version,
        "iceye:calibration_factor": meta.calibration_factor,
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
    fields: dict[str, Any] = {"proj:shape": [meta.number_of_azimuth_samples, meta.number_of_range_samples]}
    if on_disk in _DATA_TYPES:
        fields["data_type"] = _DATA_TYPES[on_disk]
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
        return mapping(polygon), [round(v, 9) for v in polygon.bounds]
    # A scene is never half the globe wide: a >180° span means it wraps around ±180°.
    unwrapped = orient(Polygon([(lon + 360.0 if lon < 0 else lon, lat) for lon, lat in ring]), sign=1.0)
    east_of_0 = unwrapped.intersection(box(0.0, -90.0, 180.0, 90.0))
    west_of_0 = translate(unwrapped.intersection(box(180.0, -90.0, 540.0, 90.0)), xoff=-360.0)
    parts = [orient(p, sign=1.0) for p in (east_of_0, west_of_0) if isinstance(p, Polygon) and not p.is_empty]
    multi = MultiPolygon(parts)
    _, south, _, north = unwrapped.bounds
    bbox = [east_of_0.bounds[0], south, west_of_0.bounds[2], north]
    return mapping(multi), [round(v, 9) for v in bbox]


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
        "start_datetime": _iso(meta.acquisition_start),
        "end_datetime": _iso(meta.acquisition_end),
        "platform": (meta.satellite_name or "iceye").lower(),
        "constellation": "iceye",
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
    files = find_product_files(path)
    if files.raster is None:
        assert files.xml is not None
        read_xml_metadata(files.xml)  # a broken or foreign XML is reported as such, before its missing raster
        raise MetadataError(
            path,
            "the raster of this XML sidecar is missing (looked for the same name with .tif or .h5 next to it)",
        )
    meta = read_metadata(files.raster)
    sidecar_used = files.xml is not None and meta.source_format == "xml"
    return create_item(
        meta,
        data_href=str(files.raster.resolve()),
        # A sidecar that could not be used is not advertised as the product's metadata.
        metadata_href=str(files.xml.resolve()) if files.xml is not None and sidecar_used else None,
        quicklook_href=None if files.quicklook is None else str(files.quicklook.resolve()),
    )


def _merge_summary(values: Iterable[Any]) -> list[Any]:
    flat: set[Any] = set()
    for value in values:
        flat.update(value if isinstance(value, list) else [value])
    return sorted(flat, key=str)


def _summaries(items: Sequence[pystac.Item]) -> dict[str, Any]:
    summaries: dict[str, Any] = {}
    for key in _SUMMARY_LISTS:
        values = [i.properties[key] for i in items if key in i.properties]
        if values:
            summaries[key] = _merge_summary(values)
    for key in _SUMMARY_RANGES:
        numbers = [float(i.properties[key]) for i in items if key in i.properties]
        if numbers:
            summaries[key] = {"minimum": min(numbers), "maximum": max(numbers)}
    return summaries


_OPEN_INTERVAL: list[datetime | None] = [None, None]


def _extent(items: Sequence[pystac.Item]) -> pystac.Extent:
    if not items:
        return pystac.Extent(
            pystac.SpatialExtent([[-180.0, -90.0, 180.0, 90.0]]),
            pystac.TemporalExtent([_OPEN_INTERVAL]),
        )
    boxes = [i.bbox for i in items if i.bbox]
    bbox = [
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    ]
    starts = [pystac.utils.str_to_datetime(i.properties["start_datetime"]) for i in items]
    ends = [pystac.utils.str_to_datetime(i.properties["end_datetime"]) for i in items]
    return pystac.Extent(pystac.SpatialExtent([bbox]), pystac.TemporalExtent([[min(starts), max(ends)]]))


def create_collection(level: ProductLevel | str, items: Sequence[pystac.Item] = ()) -> pystac.Collection:
    """Create the collection of one product level, with extents and summaries from ``items``.

    Parameters
    ----------
    level
        ``GRD`` or ``SLC``.
    items
        The collection's items (not added to it; only used for extent and summaries).

    Returns
    -------
    pystac.Collection
    """
    level = ProductLevel(str(level).upper())
    collection = pystac.Collection(
        id=collection_id(level),
        title=_COLLECTION_TITLES[level],
        description=f"{_COLLECTION_TITLES[level]} products indexed by icecube-stac from ICEYE legacy "
        "Level-1 files (spec 2.x). Geometry is the footprint from the product's corner coordinates; rasters "
        "are in sensor geometry (proj:code null).",
        extent=_extent(items),
        license="proprietary",
        providers=[_PROVIDER],
        stac_extensions=list(STAC_EXTENSIONS),
        summaries=pystac.Summaries(_summaries(items)),
    )
    return collection


def update_collection(collection: pystac.Collection, items: Sequence[pystac.Item]) -> None:
    """Recompute a collection's extent and summaries from its items, in place.

    Parameters
    ----------
    collection
        The collection to update.
    items
        All of its items.
    """
    collection.extent = _extent(items)
    collection.summaries = pystac.Summaries(_summaries(items))


class _OfflineValidator(JsonSchemaSTACValidator):
    """pystac's JSON-schema validator restricted to vendored schemas: it never fetches one."""

    def _get_schema(self, schema_uri: str) -> dict[str, Any]:
        if schema_uri not in self.schema_cache:
            raise GetSchemaError(schema_uri, LookupError("schema not vendored in icecube_stac/schemas"))
        return self.schema_cache[schema_uri]


@functools.cache
def _validator() -> _OfflineValidator:
    validator = _OfflineValidator()
    root = resources.files("icecube_stac") / "schemas"
    for name, uri in SCHEMA_URIS.items():
        version = uri.rsplit("/", 2)[-2]
        schema = json.loads((root / name / version / "schema.json").read_text(encoding="utf-8"))
        validator.schema_cache[uri] = schema
    return validator


def validate(obj: pystac.STACObject | Mapping[str, Any]) -> list[str]:
    """Validate an item, collection or catalog against the core and extension schemas, offline.

    Parameters
    ----------
    obj
        A pystac object or its dict form.

    Returns
    -------
    list of str
        The schema URIs validated against.

    Raises
    ------
    pystac.STACValidationError
        When the object does not conform; the message names the failing schema and path.
    """
    if isinstance(obj, Mapping):
        return list(pystac.validation.validate_dict(dict(obj), validator=_validator()))
    return list(obj.validate(validator=_validator()))
