"""Write a static STAC catalog in the layout of ICEYE's open-data bucket: one scene item per acquisition.

Layout [DOC ``docs/opendata/opendata.md``; SEEN item URLs]::

    catalog.json
    collections/iceye-sar.json
    stac-items/YYYY/MM/<scene stem>.json
    data/<mode folder>/<scene stem>/<scene stem>_{GRD,SLC}.{tif,json}, _QLK.{tif,png,kml}, _THM.png

Scene items carry about 20 properties (``sar:center_frequency`` in GHz there, unlike the product
side-cars), and assets ``grd-cog``, ``grd-json``, ``slc-cog``, ``slc-json``, ``qlk-cog``, ``qlk-json``,
``qlk-png``, ``qlk-kml``, ``thumbnail`` (+ ``csi-cog``/``vid-cog`` for Dwell modes); GRD/SLC assets
have type ``application/x-geotiff``. Assets ICEYE lists without a file (``qlk-json``, Dwell's CSI and
VID here) get an empty ``href``, as some real ones do. The mode folder (``spotlight``...) is [INF].
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._fields import naive_utc
from ._names import scene_stem
from ._product import GeneratedCogProduct, write_cog_product
from ._quicklook import write_quicklooks
from ._spec import CogProductSpec, instrument_mode

__all__ = ["COLLECTION_ID", "OpendataCatalog", "OpendataScene", "write_opendata_catalog"]

COLLECTION_ID = "iceye-sar"
_EXTENSIONS = [
    "https://stac-extensions.github.io/sar/v1.0.0/schema.json",
    "https://stac-extensions.github.io/sat/v1.0.0/schema.json",
    "https://stac-extensions.github.io/view/v1.0.0/schema.json",
    "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
]
_SCENE_KEYS = [
    "datetime",
    "start_datetime",
    "end_datetime",
    "created",
    "platform",
    "constellation",
    "sar:instrument_mode",
    "sar:frequency_band",
    "sar:polarizations",
    "sar:observation_direction",
    "sar:resolution_range",
    "sar:resolution_azimuth",
    "sat:orbit_state",
    "view:off_nadir",
    "view:azimuth",
    "view:incidence_angle",
    "proj:shape",
    "iceye:image_id",
    "iceye:scene_id",
    "iceye:processing_mode",
]
_TYPES = {
    "cog": "application/x-geotiff",
    "json": "application/json",
    "png": "image/png",
    "kml": "application/vnd.google-earth.kml+xml",
}


@dataclass(frozen=True)
class OpendataScene:
    """One scene of the catalog: its item and the products written for it."""

    stem: str
    item_path: Path
    item: dict[str, Any]
    products: tuple[GeneratedCogProduct, ...]


@dataclass(frozen=True)
class OpendataCatalog:
    """Paths of a written open-data catalog.

    Attributes
    ----------
    root
        The catalog folder.
    catalog, collection
        ``catalog.json`` and ``collections/iceye-sar.json``.
    scenes
        The scenes, sorted by start time then stem.
    """

    root: Path
    catalog: Path
    collection: Path
    scenes: tuple[OpendataScene, ...]


def _dump(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8", newline="\n")


def _group(specs: Iterable[CogProductSpec]) -> dict[str, list[CogProductSpec]]:
    groups: dict[str, list[CogProductSpec]] = {}
    for spec in specs:
        if spec.preview_2024:
            raise ValueError("the open-data catalog holds current-generation products only (preview_2024=False)")
        group = groups.setdefault(scene_stem(spec), [])
        if any(other.level == spec.level for other in group):
            raise ValueError(f"two {spec.level} products for scene {scene_stem(spec)}")
        group.append(spec)
    return groups


def _asset(href: str, kind: str, title: str, roles: list[str]) -> dict[str, Any]:
    return {"href": href, "type": _TYPES[kind], "title": title, "roles": roles}


def _assets(
    products: list[GeneratedCogProduct], previews: dict[str, Path], href: Any, dwell: bool
) -> dict[str, dict[str, Any]]:
    """Scene assets in ICEYE's key order; ``href`` turns a data file into the asset href."""
    assets: dict[str, dict[str, Any]] = {}
    for product in sorted(products, key=lambda p: p.spec.level):
        key = product.spec.level.lower()
        assets[f"{key}-cog"] = _asset(href(product.tif), "cog", f"{product.spec.level} COG", ["data"])
        sidecar = href(product.json) if product.json is not None else ""
        assets[f"{key}-json"] = _asset(sidecar, "json", f"{product.spec.level} metadata", ["metadata"])
    assets["qlk-cog"] = _asset(href(previews["qlk-cog"]), "cog", "Quicklook COG", ["overview"])
    assets["qlk-json"] = _asset("", "json", "Quicklook metadata", ["metadata"])
    assets["qlk-png"] = _asset(href(previews["qlk-png"]), "png", "Quicklook", ["overview"])
    assets["qlk-kml"] = _asset(href(previews["qlk-kml"]), "kml", "Quicklook KML", ["overview"])
    assets["thumbnail"] = _asset(href(previews["thumbnail"]), "png", "Thumbnail", ["thumbnail"])
    if dwell:  # Dwell scenes list CSI and VID products; none are synthesised here.
        assets["csi-cog"] = _asset("", "cog", "Colour Sub-aperture Image COG", ["data"])
        assets["vid-cog"] = _asset("", "cog", "Video COG", ["data"])
    return assets


def _scene_properties(main: GeneratedCogProduct) -> dict[str, Any]:
    source = main.item["properties"]
    out: dict[str, Any] = {key: source[key] for key in _SCENE_KEYS}
    # Scene items state the frequency in GHz (9.6, 9.65, 9.8), product side-cars in Hz.
    out["sar:center_frequency"] = round(float(source["sar:center_frequency"]) / 1e9, 4)
    return out


def _write_scene(root: Path, stem: str, specs: list[CogProductSpec], href_base: str | None) -> OpendataScene:
    first = specs[0]
    folder = root / "data" / instrument_mode(first) / stem
    products = [write_cog_product(spec, folder) for spec in specs]
    main = next((p for p in products if p.spec.level == "GRD"), products[0])
    previews = write_quicklooks(main, folder, stem)
    start = naive_utc(first.acquisition_start)
    item_path = root / "stac-items" / f"{start:%Y}" / f"{start:%m}" / f"{stem}.json"

    def href(path: Path) -> str:
        relative = path.relative_to(root).as_posix()
        return f"{href_base.rstrip('/')}/{relative}" if href_base else f"../../../{relative}"

    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": list(_EXTENSIONS),
        "id": stem,
        "geometry": main.item["geometry"],
        "bbox": main.item["bbox"],
        "properties": _scene_properties(main),
        "links": [
            {"rel": "root", "href": "../../../catalog.json", "type": "application/json"},
            {"rel": "parent", "href": f"../../../collections/{COLLECTION_ID}.json", "type": "application/json"},
            {"rel": "collection", "href": f"../../../collections/{COLLECTION_ID}.json", "type": "application/json"},
        ],
        "assets": _assets(products, previews, href, first.mode.startswith("SLED")),
        "collection": COLLECTION_ID,
    }
    _dump(item_path, item)
    return OpendataScene(stem, item_path, item, tuple(products))


def _collection(scenes: list[OpendataScene]) -> dict[str, Any]:
    boxes = [scene.item["bbox"] for scene in scenes]
    starts = [scene.item["properties"]["start_datetime"] for scene in scenes]
    ends = [scene.item["properties"]["end_datetime"] for scene in scenes]
    links: list[dict[str, Any]] = [
        {"rel": "root", "href": "../catalog.json", "type": "application/json"},
        {"rel": "parent", "href": "../catalog.json", "type": "application/json"},
    ]
    for scene in scenes:
        relative = scene.item_path.relative_to(scene.item_path.parents[3]).as_posix()
        links.append({"rel": "item", "href": f"../{relative}", "type": "application/geo+json", "title": scene.stem})
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": COLLECTION_ID,
        "title": "ICEYE SAR open data (synthetic)",
        "description": "Synthetic scenes in the layout of ICEYE's open-data STAC catalog.",
        "license": "CC-BY-4.0",
        "providers": [{"name": "ICEYE", "roles": ["producer", "licensor"], "url": "https://www.iceye.com"}],
        "extent": {
            "spatial": {
                "bbox": [
                    [
                        min(b[0] for b in boxes),
                        min(b[1] for b in boxes),
                        max(b[2] for b in boxes),
                        max(b[3] for b in boxes),
                    ]
                ]
            },
            "temporal": {"interval": [[min(starts), max(ends)]]},
        },
        "summaries": {
            "platform": sorted({scene.item["properties"]["platform"] for scene in scenes}),
            "sar:instrument_mode": sorted({scene.item["properties"]["sar:instrument_mode"] for scene in scenes}),
        },
        "links": links,
    }


def write_opendata_catalog(
    specs: Iterable[CogProductSpec], root: str | Path, *, href_base: str | None = None
) -> OpendataCatalog:
    """Write products and a static STAC catalog in ICEYE's open-data layout under ``root``.

    Parameters
    ----------
    specs
        Products; specs with the same :func:`~._names.scene_stem` (same image id, start, satellite,
        mode and centre) are one scene, at most one GRD and one SLC each.
    root
        The catalog folder (created).
    href_base
        When given (e.g. ``https://bucket.s3.amazonaws.com``), asset hrefs are ``<href_base>/data/...``
        URLs like the real catalog's; by default they are relative to the item file.

    Returns
    -------
    OpendataCatalog
        Paths and items; ``pystac.Catalog.from_file(catalog)`` reads it.
    """
    out = Path(root)
    groups = _group(specs)
    if not groups:
        raise ValueError("write_opendata_catalog needs at least one spec")
    scenes = [_write_scene(out, stem, group, href_base) for stem, group in groups.items()]
    scenes.sort(key=lambda s: (s.item["properties"]["start_datetime"], s.stem))
    collection = out / "collections" / f"{COLLECTION_ID}.json"
    _dump(collection, _collection(scenes))
    catalog = out / "catalog.json"
    _dump(
        catalog,
        {
            "type": "Catalog",
            "stac_version": "1.0.0",
            "id": "iceye-open-data-catalog",
            "description": "Synthetic copy of the layout of ICEYE's open-data catalog (generated by icecube-stac).",
            "links": [
                {"rel": "root", "href": "./catalog.json", "type": "application/json"},
                {"rel": "child", "href": f"./collections/{COLLECTION_ID}.json", "type": "application/json"},
            ],
        },
    )
    return OpendataCatalog(out, catalog, collection, tuple(scenes))
