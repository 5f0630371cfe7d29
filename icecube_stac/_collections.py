"""Build the STAC collection of one product level, with its extent and summaries computed once from its items.

Items may be given as :class:`pystac.Item` objects or as their JSON dicts (what the catalog writer holds),
so a catalog's collections are computed from the very dicts its item files are written from. The asset
definitions (media type, roles, title) live here too: items and the collections' ``item_assets`` are
written from the same table. Spatial extents hold every item, across the antimeridian too
(:func:`icecube_stac._spatial.union_bboxes`).

Both product generations share one collection per level (``iceye-grd``, ``iceye-slc``): their items have
the same searchable fields. The ``item_assets`` of a collection with items of ICEYE's current generation
(COG data asset) describe every asset key those items have (``grd-cog``, ``grd-json``...); where the two
generations describe one key differently (``data``: GeoTIFF/HDF5 or COG; ``metadata``: XML or STAC JSON),
only what they agree on is kept (:func:`collection_item_assets`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeAlias

import pystac

from icecube_stac._spatial import union_bboxes
from icecube_stac._validation import STAC_EXTENSIONS
from icecube_stac.vocabulary import ASSET_DATA, ASSET_METADATA, ASSET_QUICKLOOK, COG_MEDIA_TYPE, ProductLevel, Prop

__all__ = [
    "LICENSE_LINK",
    "ItemLike",
    "asset_definitions",
    "collection_extent",
    "collection_id",
    "collection_item_assets",
    "collection_summaries",
    "collection_title",
    "create_collection",
    "update_collection",
]

ItemLike: TypeAlias = pystac.Item | Mapping[str, Any]
"""A STAC item as a pystac object or as its JSON dict."""

_COLLECTION_TITLES = {
    ProductLevel.GRD: "ICEYE GRD (ground range detected amplitude, sensor geometry)",
    ProductLevel.SLC: "ICEYE SLC (single look complex, slant range)",
}
_SUMMARY_LISTS = (
    Prop.PLATFORM,
    Prop.INSTRUMENT_MODE,
    Prop.POLARIZATIONS,
    Prop.ORBIT_STATE,
    Prop.LOOK_SIDE,
    Prop.PRODUCT_TYPE,
)
_SUMMARY_RANGES = (Prop.INCIDENCE, Prop.OFF_NADIR)
_PROVIDER = pystac.Provider(
    name="ICEYE",
    roles=[pystac.ProviderRole.PRODUCER, pystac.ProviderRole.PROCESSOR, pystac.ProviderRole.LICENSOR],
    url="https://www.iceye.com",
)
_OPEN_INTERVAL: list[datetime | None] = [None, None]
_KEYWORDS = {
    ProductLevel.GRD: ["ICEYE", "SAR", "synthetic aperture radar", "X-band", "GRD", "amplitude", "sensor geometry"],
    ProductLevel.SLC: ["ICEYE", "SAR", "synthetic aperture radar", "X-band", "SLC", "complex", "slant range"],
}
LICENSE_LINK: dict[str, str] = {
    "rel": "license",
    "href": "https://www.iceye.com/",
    "type": "text/html",
    "title": "ICEYE products are proprietary: their use is governed by your licence agreement with ICEYE",
}
"""The collections' ``license`` link (their licence is ``proprietary``, for which STAC asks for one)."""

_ASSETS: dict[ProductLevel, dict[str, dict[str, Any]]] = {
    ProductLevel.GRD: {
        ASSET_DATA: {
            "type": "image/tiff; application=geotiff",
            "roles": ["data", "amplitude"],
            "title": "Amplitude DN (uint16, sensor geometry)",
        },
    },
    ProductLevel.SLC: {
        ASSET_DATA: {"type": "application/x-hdf5", "roles": ["data"], "title": "Complex SLC s_i + j·s_q (HDF5)"},
    },
}
_COMMON_ASSETS: dict[str, dict[str, Any]] = {
    ASSET_METADATA: {"type": "application/xml", "roles": ["metadata"], "title": "ICEYE XML metadata"},
    ASSET_QUICKLOOK: {"type": "image/png", "roles": ["overview"], "title": "Quicklook"},
}


def asset_definitions(level: ProductLevel | str) -> dict[str, dict[str, Any]]:
    """Return the media type, roles and title of each asset key a product level's items may have.

    Parameters
    ----------
    level
        ``GRD`` or ``SLC``.

    Returns
    -------
    dict
        Asset key → ``{"type", "roles", "title"}`` (fresh copies): the collection's ``item_assets``.
    """
    table = _ASSETS[ProductLevel(str(level).upper())] | _COMMON_ASSETS
    return {key: {k: list(v) if isinstance(v, list) else v for k, v in d.items()} for key, d in table.items()}


_ASSET_FIELDS = ("type", "roles", "title")


def _assets(item: ItemLike) -> Mapping[str, Any]:
    assets: Mapping[str, Any] = (
        {k: a.to_dict() for k, a in item.assets.items()} if isinstance(item, pystac.Item) else item.get("assets", {})
    )
    return assets


def _is_cog_item(item: ItemLike) -> bool:
    return bool((_assets(item).get(ASSET_DATA) or {}).get("type") == COG_MEDIA_TYPE)


def _agreed(key: str, known: dict[str, Any], other: Mapping[str, Any]) -> dict[str, Any]:
    """Keep the fields two descriptions of one asset key agree on (an item asset needs two: roles, title)."""
    kept = {f: v for f, v in known.items() if other.get(f) == v}
    if "roles" not in kept:
        kept["roles"] = sorted({*known.get("roles", []), *other.get("roles", [])})
    kept.setdefault("title", f"{key} (described differently by the legacy and the COG product generations)")
    return kept


def collection_item_assets(level: ProductLevel | str, items: Sequence[ItemLike] = ()) -> dict[str, dict[str, Any]]:
    """Return a collection's ``item_assets``: the legacy table, and the asset keys of its COG-generation items.

    Parameters
    ----------
    level
        ``GRD`` or ``SLC``.
    items
        The collection's items. Without items of ICEYE's current generation the result is
        :func:`asset_definitions` (legacy only); without legacy items it describes the COG items' assets.

    Returns
    -------
    dict
        Asset key -> ``{"type", "roles", "title"}``, the fields every described item agrees on.
    """
    cog = [item for item in items if _is_cog_item(item)]
    definitions = asset_definitions(level) if len(cog) < len(items) or not items else {}
    for item in cog:
        for key, asset in _assets(item).items():
            entry = {f: asset[f] for f in _ASSET_FIELDS if f in asset}
            known = definitions.get(key)
            if known is None:
                definitions[key] = {f: list(v) if isinstance(v, list) else v for f, v in entry.items()}
            elif any(known.get(f) != entry.get(f) for f in known):
                definitions[key] = _agreed(key, known, entry)
    return definitions


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


def collection_title(cid: str) -> str:
    """Return the title of a collection from its id (``iceye-grd`` or ``iceye-slc``), for link titles.

    Parameters
    ----------
    cid
        The collection id.

    Returns
    -------
    str
    """
    level = ProductLevel(cid.removeprefix("iceye-").upper())
    return _COLLECTION_TITLES[level]


def _properties(item: ItemLike) -> Mapping[str, Any]:
    if isinstance(item, pystac.Item):
        return item.properties
    properties: Mapping[str, Any] = item["properties"]
    return properties


def _bbox(item: ItemLike) -> Sequence[float] | None:
    bbox: Sequence[float] | None = item.bbox if isinstance(item, pystac.Item) else item.get("bbox")
    return bbox


def _merge_summary(values: Iterable[Any]) -> list[Any]:
    flat: set[Any] = set()
    for value in values:
        flat.update(value if isinstance(value, list) else [value])
    return sorted(flat, key=str)


def collection_summaries(items: Sequence[ItemLike]) -> dict[str, Any]:
    """Summarise the searchable properties of a collection's items.

    Parameters
    ----------
    items
        The collection's items.

    Returns
    -------
    dict
        Sorted distinct values of platform, instrument mode, polarizations, orbit state, look side and
        product type; minimum and maximum of incidence and off-nadir angles. Properties no item has are
        left out.
    """
    properties = [_properties(item) for item in items]
    summaries: dict[str, Any] = {}
    for key in _SUMMARY_LISTS:
        values = [p[key] for p in properties if key in p]
        if values:
            summaries[key] = _merge_summary(values)
    for key in _SUMMARY_RANGES:
        numbers = [float(p[key]) for p in properties if key in p]
        if numbers:
            summaries[key] = {"minimum": min(numbers), "maximum": max(numbers)}
    return summaries


def collection_extent(items: Sequence[ItemLike]) -> pystac.Extent:
    """Return the spatial and temporal extent of a collection's items.

    Parameters
    ----------
    items
        The collection's items.

    Returns
    -------
    pystac.Extent
        Bboxes that hold every item (:func:`icecube_stac._spatial.union_bboxes`: the union first, which may
        cross the antimeridian, then one per cluster of items when there are several) and the span from the
        earliest start to the latest end; the whole world and an open interval when there are no items.
    """
    boxes = [b for b in map(_bbox, items) if b]
    spatial = pystac.SpatialExtent([list(b) for b in union_bboxes(boxes)])
    if not items:
        return pystac.Extent(spatial, pystac.TemporalExtent([list(_OPEN_INTERVAL)]))
    properties = [_properties(item) for item in items]
    start = min(pystac.utils.str_to_datetime(p[Prop.START]) for p in properties)
    end = max(pystac.utils.str_to_datetime(p[Prop.END]) for p in properties)
    return pystac.Extent(spatial, pystac.TemporalExtent([[start, end]]))


def create_collection(level: ProductLevel | str, items: Sequence[ItemLike] = ()) -> pystac.Collection:
    """Create the collection of one product level, with extents and summaries from ``items``.

    Parameters
    ----------
    level
        ``GRD`` or ``SLC``.
    items
        The collection's items, as pystac items or their dicts (not added to it; only used for the
        extent and summaries, each computed once).

    Returns
    -------
    pystac.Collection
    """
    level = ProductLevel(str(level).upper())
    collection = pystac.Collection(
        id=collection_id(level),
        title=_COLLECTION_TITLES[level],
        description=f"{_COLLECTION_TITLES[level]} products indexed by icecube-stac from ICEYE Level-1 products "
        "of both generations: legacy files (spec 2.x, GeoTIFF/HDF5 + XML; geometry from the corner coordinates, "
        "rasters in sensor geometry, proj:code null) and Cloud-Optimized GeoTIFFs with a side-car STAC item "
        "(ICEYE's geometry and EPSG:4326 proj:transform on the data asset; every iceye: field kept).",
        extent=collection_extent(items),
        license="proprietary",
        keywords=list(_KEYWORDS[level]),
        providers=[_PROVIDER],
        stac_extensions=list(STAC_EXTENSIONS),
        summaries=pystac.Summaries(collection_summaries(items)),
        extra_fields={"item_assets": collection_item_assets(level, items)},
    )
    collection.add_link(
        pystac.Link(
            LICENSE_LINK["rel"], LICENSE_LINK["href"], media_type=LICENSE_LINK["type"], title=LICENSE_LINK["title"]
        )
    )
    return collection


def update_collection(collection: pystac.Collection, items: Sequence[ItemLike]) -> None:
    """Recompute a collection's extent and summaries from its items, in place.

    Parameters
    ----------
    collection
        The collection to update.
    items
        All of its items.
    """
    collection.extent = collection_extent(items)
    collection.summaries = pystac.Summaries(collection_summaries(items))
