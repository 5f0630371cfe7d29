"""Items of catalogs made elsewhere → the item dicts the embedded search stores (absolute hrefs, own links).

Every asset href is made absolute against the document it was read from (a URL with ``urljoin``, a local
path against its folder, symbolic links resolved); assets with an empty href are dropped (ICEYE lists
some products without a file). Items of ICEYE's own formats (:func:`icecube_stac.iceye_items.is_iceye_item`)
are normalised by :func:`~icecube_stac.iceye_items.normalise_iceye_item`: a product side-car keeps its
id; an open-data **scene item** bundling several products (``grd-cog``, ``slc-cog``...) becomes one item per
product with a file, with the id ``<scene id>_<GRD|SLC>`` (ICEYE's own file stem for that product; the scene
id alone names no product) and the scene's id in ``icecube:scene_item``, so ``product_type`` picks the
product and its asset is the ``data`` asset the cube reads. Each product is normalised from its side-car
(the scene's ``grd-json``/``slc-json`` asset, read with the catalog's headers and timeout; its id kept in
``icecube:product_item``), which holds all of ICEYE's fields (calibration factor, orbit states, amplitude
mapping) where the scene item has about 20; a side-car that cannot be read or normalised is warned about and
the scene item's own properties are used. The scene's other assets (quicklooks, thumbnail) stay with each
product. Other items are kept as they are, except that
an item with only a ``datetime`` gets ``start_datetime`` = ``end_datetime`` = ``datetime`` (every config
dates acquisitions by ``end_datetime``, as icecube does).

An item that cannot be used (no id, no properties, no time or one that does not parse, no geometry or one
that is not GeoJSON with finite coordinates, a bbox not of 4 or 6 finite numbers, not a STAC item, or an
ICEYE item that does not normalise) is skipped with an :class:`~icecube_stac._crawl.ExternalCatalogWarning` naming
its href and the reason; so is a second item with the same collection and id (the first is kept).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final
from urllib.parse import urljoin

import pystac

from icecube_stac._crawl import CrawledItem, ExternalCatalogWarning, Fetcher, shown
from icecube_stac._json_copy import json_copy
from icecube_stac._realpath import RealPaths
from icecube_stac.errors import IcecubeStacError
from icecube_stac.vocabulary import ProductLevel, Prop, is_api_url

__all__ = ["PRODUCT_ITEM", "SCENE_ITEM", "prepare_items", "read_sidecars"]

SCENE_ITEM: Final = "icecube:scene_item"
"""Property of an item made from one product of an ICEYE scene item: the scene item's id."""
PRODUCT_ITEM: Final = "icecube:product_item"
"""... and the id of the product's side-car item, when it was read."""
_WORKERS: Final = 8
_STRUCTURAL: Final = frozenset({"self", "root", "parent", "collection"})
# RFC 3339 as the store can hold it (pyarrow: upper-case T and Z, at most microseconds).
_RFC3339: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)", re.ASCII)


def _skip(href: str, reason: str) -> None:
    warnings.warn(f"skipped the item {shown(href)}: {reason}", ExternalCatalogWarning, stacklevel=4)


def _absolute_assets(data: dict[str, Any], base: str, paths: RealPaths) -> None:
    assets = data.get("assets")
    if not isinstance(assets, Mapping):
        data["assets"] = {}
        return
    kept: dict[str, Any] = {}
    for key, asset in assets.items():
        if not isinstance(asset, Mapping) or not asset.get("href"):
            continue  # no file (ICEYE lists some products with an empty href)
        href = str(asset["href"])
        entry = dict(asset)
        entry["href"] = urljoin(base, href) if is_api_url(base) else paths.href(href, os.path.dirname(base))
        kept[str(key)] = entry
    data["assets"] = kept


def _problem(data: Mapping[str, Any]) -> str | None:
    """Say why an item dict cannot be stored and searched, or None."""
    if not isinstance(data.get("id"), str) or not data["id"]:
        return "no id"
    properties = data.get("properties")
    if not isinstance(properties, Mapping):
        return "no properties"
    if not properties.get("datetime") and not (properties.get(Prop.START) and properties.get(Prop.END)):
        return "neither datetime nor start_datetime and end_datetime"
    geometry = data.get("geometry")
    if not isinstance(geometry, Mapping):
        return "no footprint (geometry null or not a GeoJSON object): nothing a search could place"
    problem = _times_problem(properties) or _geometry_problem(geometry) or _bbox_problem(data)
    if problem is not None:
        return problem
    try:
        pystac.Item.from_dict(json_copy(dict(data)), preserve_dict=False, migrate=True)
    except Exception as exc:  # pystac raises many kinds for a malformed item
        return f"not a valid STAC item ({type(exc).__name__}: {exc})"
    return None


def _times_problem(properties: Mapping[str, Any]) -> str | None:
    """Say which of ``datetime``/``start_datetime``/``end_datetime`` is not an RFC 3339 time, or None."""
    for key in ("datetime", Prop.START, Prop.END):
        value = properties.get(key)
        if value is None:
            continue
        try:
            # Only the form the store takes: pyarrow refuses other ISO 8601 forms that dateutil would parse.
            if not isinstance(value, str) or _RFC3339.fullmatch(value) is None:
                raise ValueError(value)
            pystac.utils.str_to_datetime(value)
        except (ValueError, TypeError, OverflowError):
            return (
                f"{key} {str(value)[:40]!r} is not an RFC 3339 date and time (YYYY-MM-DDTHH:MM:SS[.ffffff]Z or ±HH:MM)"
            )
    return None


def _geometry_problem(geometry: Mapping[str, Any]) -> str | None:
    """Say why a GeoJSON geometry cannot be a footprint (not a geometry, or a coordinate not finite), or None."""
    import numpy as np
    import shapely
    import shapely.geometry

    try:
        coordinates = shapely.get_coordinates(shapely.geometry.shape(dict(geometry)))  # x, y: what a search places
    except Exception as exc:  # shapely raises many kinds (GeometryTypeError, ValueError, OverflowError...)
        return f"geometry is not a GeoJSON geometry ({type(exc).__name__}: {str(exc)[:80]})"
    if not np.isfinite(coordinates).all():
        return "geometry has a coordinate that is not a finite number"
    return None


def _bbox_problem(data: Mapping[str, Any]) -> str | None:
    """Say why ``bbox`` (when given) is not 4 or 6 finite numbers, or None."""
    import math

    bbox = data.get("bbox")
    if bbox is None:
        return None
    numbers = isinstance(bbox, list) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in bbox)
    try:
        finite = numbers and all(math.isfinite(float(v)) for v in bbox)
    except OverflowError:  # an integer beyond any float
        finite = False
    if not finite or len(bbox) not in (4, 6):
        return f"bbox {str(bbox)[:80]!r} is not a list of 4 or 6 finite numbers"
    return None


def _instant_span(properties: dict[str, Any]) -> None:
    """Give an item with only ``datetime`` the span of that instant: every config dates by ``end_datetime``."""
    if properties.get("datetime") and not (properties.get(Prop.START) or properties.get(Prop.END)):
        properties[Prop.START] = properties[Prop.END] = properties["datetime"]


def _sidecar_hrefs(data: Mapping[str, Any]) -> list[str]:
    """Return the side-cars (``grd-json``/``slc-json``) of an ICEYE scene item's products that have a COG."""
    assets = data.get("assets") or {}
    keys = [f"{level.value.lower()}-json" for level in ProductLevel if f"{level.value.lower()}-cog" in assets]
    return [str(assets[key]["href"]) for key in keys if key in assets]


def read_sidecars(hrefs: Iterable[str], fetcher: Fetcher) -> dict[str, Any]:
    """Read side-car documents (8 at a time over http): href → its JSON dict, or the reason it is unusable."""
    from icecube_stac._crawl import parse_json

    def one(href: str) -> tuple[str, Any]:
        try:
            document = parse_json(fetcher.get(href)[0])
        except OSError as exc:
            return href, str(exc)
        return href, document if isinstance(document, dict) else "not a JSON object"

    wanted = sorted(set(hrefs))
    if len(wanted) > 1 and any(is_api_url(h) for h in wanted):
        fetcher.session()
        with ThreadPoolExecutor(_WORKERS) as pool:
            return dict(pool.map(one, wanted))
    return dict(one(h) for h in wanted)


def _from_sidecar(scene: dict[str, Any], level: ProductLevel, sidecars: Mapping[str, Any], paths: RealPaths) -> Any:
    """Normalise a scene's product from its side-car (all of ICEYE's fields); None (warned): use the scene."""
    from icecube_stac.iceye_items import normalise_iceye_item

    asset = scene["assets"].get(f"{level.value.lower()}-json")
    if asset is None:
        return None
    href = str(asset["href"])
    found = sidecars.get(href, "not read")
    if isinstance(found, dict):
        document = {k: v for k, v in found.items() if k != "links"}
        _absolute_assets(document, href, paths)
        try:
            return normalise_iceye_item(document, level=level.value, source=shown(href))
        except IcecubeStacError as exc:
            found = str(exc)
    warnings.warn(
        f"the side-car {shown(href)} of the ICEYE scene item {scene.get('id')!r} cannot be used ({found}); its "
        f"{level.value} is described by the scene item's own properties (no calibration factor, orbit or amplitude "
        "mapping)",
        ExternalCatalogWarning,
        stacklevel=5,
    )
    return None


def _iceye(data: dict[str, Any], href: str, sidecars: Mapping[str, Any], paths: RealPaths) -> list[dict[str, Any]]:
    from icecube_stac.iceye_items import normalise_iceye_item

    properties = data.get("properties") or {}
    if str(properties.get(Prop.SAR_PRODUCT_TYPE, "")).endswith("-COG"):  # a product side-car: one product
        item = normalise_iceye_item(data, source=shown(href))
        return [item.to_dict(include_self_link=False, transform_hrefs=False)]
    out = []
    for level in ProductLevel:
        if f"{level.value.lower()}-cog" not in data["assets"]:
            continue
        product = _from_sidecar(data, level, sidecars, paths)
        if product is None:
            product = normalise_iceye_item(data, level=level.value, source=shown(href))
        else:
            product.properties[PRODUCT_ITEM] = product.id
        one = product.to_dict(include_self_link=False, transform_hrefs=False)
        # The scene's other assets (quicklooks, thumbnail) stay with each of its products.
        one["assets"] = {**{k: v for k, v in data["assets"].items() if k not in one["assets"]}, **one["assets"]}
        one["id"] = f"{data['id']}_{level.value}"
        one["properties"][SCENE_ITEM] = str(data["id"])
        out.append(one)
    if not out:
        raise ValueError("an ICEYE scene item without a GRD or SLC COG file")
    return out


def _links(item: CrawledItem, collection: str | None, collections: Mapping[str, str], own: bool) -> list[Any]:
    links = [
        dict(link)
        for link in item.data.get("links") or []
        if isinstance(link, Mapping) and link.get("rel") not in _STRUCTURAL and link.get("href")
    ]
    links = [{**link, "href": _absolute_link(str(link["href"]), item.href)} for link in links]
    if own:
        links.append({"rel": "self", "href": item.href, "type": "application/geo+json"})
    if collection and collection in collections:
        links.append({"rel": "collection", "href": collections[collection], "type": "application/json"})
    return links


def _absolute_link(href: str, document: str) -> str:
    if is_api_url(document) or is_api_url(href) or os.path.isabs(href):
        return urljoin(document, href) if is_api_url(document) else href
    return os.path.normpath(os.path.join(os.path.dirname(document), href))


def prepare_items(
    crawled: Iterable[CrawledItem],
    collections: Mapping[str, str],
    *,
    self_links: bool = True,
    fetcher: Fetcher | None = None,
) -> list[dict[str, Any]]:
    """Turn crawled item documents into searchable item dicts (see the module docstring).

    Parameters
    ----------
    crawled
        The items and where they were read.
    collections
        Collection id → its document href, for the items' collection links.
    self_links
        Give each item a ``self`` link to its document (not for rows of a parquet file).
    fetcher
        Reads the product side-cars of ICEYE scene items (none read without it).

    Returns
    -------
    list of dict
        In the order read.
    """
    from icecube_stac.iceye_items import is_iceye_item  # jsonschema and the ICEYE schema: only when crawling

    paths = RealPaths()
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    documents = []
    for item in crawled:
        data = {k: v for k, v in item.data.items() if k != "links"}
        _absolute_assets(data, item.href, paths)
        documents.append((item, data, is_iceye_item(data)))
    wanted = [href for _, data, iceye in documents if iceye for href in _sidecar_hrefs(data)]
    sidecars = read_sidecars(wanted, fetcher) if fetcher is not None else {}
    for item, data, iceye in documents:
        collection = data.get("collection") or item.parent_collection or None
        try:
            made = _iceye(data, item.href, sidecars, paths) if iceye else [data]
        except (IcecubeStacError, ValueError, TypeError, KeyError) as exc:
            _skip(item.href, str(exc))
            continue
        for one in made:
            problem = _problem(one)
            if problem is not None:
                _skip(item.href, problem)
                continue
            key = (str(collection or ""), str(one["id"]))
            if key in seen:
                _skip(item.href, f"a second item {one['id']!r} in collection {collection!r}; the first is kept")
                continue
            seen.add(key)
            _instant_span(one["properties"])
            if collection:
                one["collection"] = str(collection)
            one["links"] = _links(item, one.get("collection"), collections, self_links)
            out.append(one)
    return out
