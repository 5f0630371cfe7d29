"""Assemble the side-car STAC item of a COG product and serialise it (file and GDAL-metadata forms) as ICEYE does.

The side-car ``<stem>.json`` is written like the real one: ``json.dumps(item, indent=1)``, no
trailing newline. The ``ICEYE_PROPERTIES`` GDAL metadata item holds the ``properties`` object alone
as compact JSON, with ``iceye:rpc.err_bias``/``err_rand`` added; GDAL's GTiff writer then
XML-escapes that text twice into TIFF tag 42112 (``"`` becomes ``&amp;quot;``), which is exactly the
double escaping seen in ICEYE's COGs.
"""

from __future__ import annotations

import json
from typing import Any

from ._names import item_id, product_stem
from ._plan import CogPlan
from ._properties import cog_properties, rpc_property

__all__ = [
    "COG_MEDIA_TYPE",
    "STAC_EXTENSIONS",
    "cog_item",
    "embedded_properties",
    "properties_metadata_value",
    "sidecar_text",
]

#: The extension list of ICEYE's real items, in their order.
STAC_EXTENSIONS = (
    "https://stac-extensions.github.io/sar/v1.0.0/schema.json",
    "https://stac-extensions.github.io/sat/v1.0.0/schema.json",
    "https://stac-extensions.github.io/view/v1.0.0/schema.json",
    "https://stac-extensions.github.io/processing/v1.1.0/schema.json",
    "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.0.0/schema.json",
    "https://sar.iceye.com/schema/product-spec/v0.2.2/schema.json",
)
COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
_TITLES = {"GRD": "Ground Range Detected", "SLC": "Single Look Complex"}


def _assets(plan: CogPlan) -> dict[str, Any]:
    level, stem = plan.spec.level, product_stem(plan.spec)
    key = level.lower()
    return {
        f"{key}-cog": {
            "href": f"{stem}.tif",
            "title": f"{_TITLES[level]} Cloud-Optimized Geotiff",
            "type": COG_MEDIA_TYPE,
            "roles": ["data"],
        },
        f"{key}-json": {
            "href": f"{stem}.json",
            "title": f"{level} STAC Item GeoJSON",
            "type": "application/geo+json",
            "roles": ["metadata"],
        },
    }


def cog_item(plan: CogPlan) -> dict[str, Any]:
    """Return the side-car STAC item of a planned COG product.

    Parameters
    ----------
    plan
        The planned product.

    Returns
    -------
    dict
        ``stac_version`` 1.0.0, ICEYE's extension list, id ``ICEYE_<image_id>_<level>-COG_<uuid>_<frame>``,
        the footprint polygon of the four corner pixels (``(0, 0)``, ``(W-1, 0)``, ``(W-1, H-1)``,
        ``(0, H-1)``, closed), its bbox, the properties, no links, and the ``<level>-cog`` /
        ``<level>-json`` assets with bare file-name hrefs.
    """
    corners = [[float(lon), float(lat)] for lon, lat in plan.geometry.corners]
    lons, lats = [c[0] for c in corners], [c[1] for c in corners]
    return {
        "stac_version": "1.0.0",
        "stac_extensions": list(STAC_EXTENSIONS),
        "id": item_id(plan.spec),
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[*corners, list(corners[0])]]},
        "bbox": [min(lons), min(lats), max(lons), max(lats)],
        "properties": cog_properties(plan),
        "links": [],
        "assets": _assets(plan),
    }


def sidecar_text(item: dict[str, Any]) -> str:
    """Serialise an item like the real side-car file: one-space indentation, no trailing newline."""
    return json.dumps(item, indent=1)


def embedded_properties(plan: CogPlan, item: dict[str, Any]) -> dict[str, Any]:
    """Return the properties as embedded in the TIFF: the item's, with ``iceye:rpc`` error terms added."""
    properties = dict(item["properties"])
    properties["iceye:rpc"] = rpc_property(plan.geometry.rpc, with_errors=True)
    return properties


def properties_metadata_value(properties: dict[str, Any]) -> str:
    """Return the ``ICEYE_PROPERTIES`` value handed to GDAL: compact JSON (GDAL adds both escaping layers)."""
    return json.dumps(properties, separators=(",", ":"))
