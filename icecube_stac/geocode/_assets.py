"""The indexer's ``geocoded`` asset: a GDAL warped VRT per GRD item (no pixel copy), with projection fields.

``index(..., geocoded_assets=True)`` (``icecube-stac index --geocoded-assets``) gives every GRD item an
asset ``geocoded``: a VRT in the catalog (``<collection>/geocoded/<item id>.vrt``) that GDAL warps on read
from the product's own RPC (``SRC_METHOD=RPC`` at its average scene height) onto the item's map grid — its
UTM zone, its ground pixel spacing, its footprint snapped to whole pixels (:func:`._grid.choose_grid`), so
items of one zone share one pixel lattice. The asset carries ``proj:code``, ``proj:transform``,
``proj:shape`` and ``proj:bbox`` (projection v2.0.0, the version the items declare), which is what
``odc.stac.load(items, bands=["geocoded"])`` reads with no other argument. stackstac 0.5 reads only the
``proj:epsg`` of projection v1 (stackstac issue #262), which v2.0.0 forbids (the items would no longer
validate), so it is given the CRS and pixel size:
``stackstac.stack(items, assets=["geocoded"], **stackstac_options(items))``.

The VRT XML is GDAL's own: rasterio's :class:`~rasterio.vrt.WarpedVRT` of the product is serialised
(``xml:VRT``) and only its output grid (size, geotransform and the transformer's destination geotransform)
and its source path (relative to the VRT, or absolute with ``asset_hrefs="absolute"``) are rewritten.
Unchanged items keep their VRT (copied from the previous catalog); only new ones open their product.
"""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET  # only for GDAL's own serialisation (files are read with defusedxml)
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import pystac

from icecube_stac._catalog_files import ItemDocument, dump_json
from icecube_stac._config_geocode import GeocodeOptions
from icecube_stac._quiet import ignoring
from icecube_stac.errors import CatalogError
from icecube_stac.geocode._grid import MapGrid, choose_grid
from icecube_stac.item import parse_item
from icecube_stac.vocabulary import ASSET_DATA, ProductLevel

__all__ = ["ASSET_GEOCODED", "VRT_FOLDER", "add_geocoded_assets", "stackstac_options", "write_geocoded_vrts"]

ASSET_GEOCODED: Final = "geocoded"
VRT_FOLDER: Final = "geocoded"  # beside a collection's items/ folder


def _vrt_name(item_id: str) -> str:
    return f"{item_id}.vrt"


def _grid_of(data: Mapping[str, Any]) -> MapGrid:
    item = pystac.Item.from_dict(dict(data), preserve_dict=True, migrate=False)
    return choose_grid(GeocodeOptions(), [parse_item(item)], None)


def _asset(item_id: str, grid: MapGrid, hrefs: str, vrt: Path) -> dict[str, Any]:
    t = grid.transform
    href = f"../{VRT_FOLDER}/{_vrt_name(item_id)}" if hrefs == "relative" else vrt.as_posix()
    return {
        # No "type": a VRT has no registered media type, and odc-stac takes an untyped "data" asset as raster.
        "href": href,
        "title": f"amplitude DN warped onto {grid.crs} at {grid.dx:g} m (GDAL warped VRT from the product's RPC)",
        "roles": ["data", "amplitude"],
        "proj:code": grid.crs,
        "proj:shape": [grid.height, grid.width],
        "proj:transform": [t.a, t.b, t.c, t.d, t.e, t.f],
        "proj:bbox": list(grid.bounds()),
    }


def _data_key(data: Mapping[str, Any]) -> str:
    """Return the key of the product's raster asset: ``data`` (legacy), else the first other data asset (COG)."""
    assets: Mapping[str, Any] = data["assets"]
    if ASSET_DATA in assets:
        return ASSET_DATA
    keys = [k for k, a in assets.items() if k != ASSET_GEOCODED and "data" in (a.get("roles") or [])]
    if not keys:
        raise CatalogError(f"item {data.get('id')!r} has no data asset to geocode")
    return str(keys[0])


def _product(document: ItemDocument, item_dir: Path) -> Path:
    href = str(document.data["assets"][_data_key(document.data)]["href"])
    return (item_dir / href).resolve() if not os.path.isabs(href) else Path(href)


def _with_product(data: Mapping[str, Any], product: Path) -> dict[str, Any]:
    """Return the item with only its raster asset, at an absolute href (what the grid choice reads)."""
    key = _data_key(data)
    return {**data, "assets": {key: {**data["assets"][key], "href": str(product)}}}


def add_geocoded_assets(items: dict[str, ItemDocument], root: Path, hrefs: str, report: Any = None) -> list[str]:
    """Give every GRD item without one a ``geocoded`` asset (in place); return the ids that changed.

    Parameters
    ----------
    items
        The catalog's item documents by id (as the indexer will write them).
    root
        The resolved catalog folder.
    hrefs
        ``"relative"`` or ``"absolute"`` asset hrefs, as for the other assets.
    report
        The run's :class:`~icecube_stac.catalog.IndexReport`: an unchanged item that gets the asset is
        listed as updated.

    Returns
    -------
    list of str
        Ids of the items that got the asset.

    Raises
    ------
    CatalogError
        When an item with its new asset would not validate (nothing is written then).
    """
    from icecube_stac._validation import problems

    changed: list[str] = []
    for item_id, document in items.items():
        data = document.data
        if data.get("properties", {}).get("product:type") != ProductLevel.GRD or ASSET_GEOCODED in data["assets"]:
            continue
        cid = str(data["collection"])
        vrt = root / cid / VRT_FOLDER / _vrt_name(item_id)
        grid = _grid_of(_with_product(data, _product(document, root / cid / "items")))
        new = {**data, "assets": {**data["assets"], ASSET_GEOCODED: _asset(item_id, grid, hrefs, vrt)}}
        found = problems(new)
        if found:
            raise CatalogError(f"item {item_id} with its geocoded asset would not validate: {'; '.join(found)}")
        items[item_id] = ItemDocument(new, dump_json(new))
        changed.append(item_id)
        if report is not None and item_id in report.unchanged:
            report.unchanged.remove(item_id)
            report.updated.append(item_id)
    return changed


def stackstac_options(items: Iterable[pystac.Item]) -> dict[str, Any]:
    """Return the ``epsg`` and ``resolution`` that stackstac 0.5 needs for the ``geocoded`` assets of items.

    stackstac reads only projection v1's ``proj:epsg``, which projection v2.0.0 (the version the items
    declare and validate against) removed; without it stackstac can neither pick the CRS nor read the
    pixel size from ``proj:transform``. ``stackstac.stack(items, assets=["geocoded"],
    **stackstac_options(items))`` gives it both, taken from the assets' ``proj:code`` and ``proj:transform``.

    Parameters
    ----------
    items
        Items indexed with ``geocoded_assets=True``.

    Returns
    -------
    dict
        ``{"epsg": int, "resolution": float}`` (the coarsest pixel size of the assets).

    Raises
    ------
    CatalogError
        When an item has no ``geocoded`` asset, or the assets are in several CRSs (stack one zone at a time,
        or give stackstac the CRS to warp to).
    """
    codes: set[str] = set()
    sizes: list[float] = []
    for item in items:
        asset = item.assets.get(ASSET_GEOCODED)
        if asset is None:
            raise CatalogError(f"item {item.id!r} has no {ASSET_GEOCODED!r} asset (index with --geocoded-assets)")
        codes.add(str(asset.extra_fields.get("proj:code")))
        transform = asset.extra_fields.get("proj:transform") or [0.0]
        sizes.append(abs(float(transform[0])))
    if len(codes) != 1 or not next(iter(codes)).upper().startswith("EPSG:"):
        raise CatalogError(f"the geocoded assets are in {sorted(codes)}: expected one EPSG code")
    return {"epsg": int(next(iter(codes)).split(":", 1)[1]), "resolution": max(sizes)}


def _geotransform_text(grid: MapGrid) -> str:
    t = grid.transform
    return ", ".join(f"{v:.16e}" for v in (t.c, t.a, t.b, t.f, t.d, t.e))


def _retarget(xml: str, grid: MapGrid, source: str, relative: bool) -> str:
    """Rewrite a serialised WarpedVRT for ``grid`` and a source path."""
    tree = ET.fromstring(xml)  # GDAL's serialisation of our own dataset
    tree.set("rasterXSize", str(grid.width))
    tree.set("rasterYSize", str(grid.height))
    t, inverse = grid.transform, ~grid.transform
    transforms = {
        "DstGeoTransform": (t.c, t.a, t.b, t.f, t.d, t.e),
        "DstInvGeoTransform": (inverse.c, inverse.a, inverse.b, inverse.f, inverse.d, inverse.e),
    }
    found = dict.fromkeys(("GeoTransform", *transforms, "SourceDataset"), 0)
    for node in tree.iter():
        if node.tag == "GeoTransform":
            node.text = _geotransform_text(grid)
        elif node.tag in transforms:
            node.text = ",".join(repr(float(v)) for v in transforms[node.tag])
        elif node.tag == "SourceDataset":
            node.text = source
            node.set("relativeToVRT", "1" if relative else "0")
        elif node.tag in ("BlockXSize", "BlockYSize"):
            node.text = "512"  # GDAL sized the block to its own default grid
        if node.tag in found:
            found[node.tag] += 1
    if min(found.values()) < 1:
        raise CatalogError(f"GDAL's warped VRT lacks {[k for k, v in found.items() if not v]}; cannot retarget it")
    return ET.tostring(tree, encoding="unicode")


def _warped_xml(product: Path, grid: MapGrid) -> str:
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.vrt import WarpedVRT

    from icecube_stac.formats.geotiff import _GDAL_ERRORS, _SAFE_GDAL  # the hostile-file settings, shared

    try:
        with (
            ignoring(NotGeoreferencedWarning),
            rasterio.Env(**_SAFE_GDAL),
            rasterio.open(product, driver="GTiff") as src,
        ):
            if src.rpcs is None:
                raise CatalogError(f"{product}: no RPC, so no geocoded VRT can be made for it")
            options = {"SRC_METHOD": "RPC", "RPC_HEIGHT": float(src.rpcs.height_off)}
            with WarpedVRT(src, crs=grid.crs, resampling=Resampling.bilinear, src_nodata=0, nodata=0, **options) as vrt:
                return str(vrt.tags(ns="xml:VRT")["xml:VRT"])
    except _GDAL_ERRORS as exc:
        raise CatalogError(f"{product}: cannot make its geocoded VRT: {exc}") from None


def write_geocoded_vrts(staging: Path, root: Path, items: Mapping[str, ItemDocument]) -> None:
    """Write the VRT of every item with a ``geocoded`` asset into the catalog being staged.

    Parameters
    ----------
    staging
        The staging folder of the new catalog.
    root
        The catalog folder (a current VRT with the same grid and source is copied, not made again).
    items
        The item documents to be written.
    """
    for item_id, document in items.items():
        asset = document.data["assets"].get(ASSET_GEOCODED)
        if asset is None:
            continue
        cid = str(document.data["collection"])
        target = staging / cid / VRT_FOLDER / _vrt_name(item_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        product = _product(document, root / cid / "items")
        grid = _grid_of(_with_product(document.data, product))
        relative = not os.path.isabs(str(asset["href"]))
        source = Path(os.path.relpath(product, root / cid / VRT_FOLDER)).as_posix() if relative else product.as_posix()
        old = root / cid / VRT_FOLDER / _vrt_name(item_id)
        if old.is_file() and _matches(old, grid, source):
            shutil.copyfile(old, target)
        else:
            target.write_text(_retarget(_warped_xml(product, grid), grid, source, relative), encoding="utf-8")


def _matches(vrt: Path, grid: MapGrid, source: str) -> bool:
    """Tell whether a previous VRT has this grid and source (then its bytes are kept)."""
    from defusedxml.ElementTree import parse

    try:
        tree = parse(vrt).getroot()
    except Exception:  # an unreadable old VRT is simply made again
        return False
    geotransform, dataset = tree.find("GeoTransform"), tree.find("GDALWarpOptions/SourceDataset")
    return (
        tree.get("rasterXSize") == str(grid.width)
        and tree.get("rasterYSize") == str(grid.height)
        and geotransform is not None
        and (geotransform.text or "").strip() == _geotransform_text(grid)
        and dataset is not None
        and dataset.text == source
    )
