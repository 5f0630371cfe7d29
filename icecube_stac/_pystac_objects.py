"""pystac Items, Assets and Links made without running their constructors, checked against them once.

The constructors are a third of a search's item building: argument handling, ``make_posix_style`` on every
href, ``add_asset``/``add_link``. :func:`new_item`, :func:`new_asset` and :func:`new_link` fill the very
attributes the constructors would set. Whether they do is checked once per process against the
constructors themselves, on sample objects (with and without a collection id); another pystac whose objects
differ gets its constructors. Hrefs the constructors would rewrite (a backslash; a self link that is not a
plain absolute path) go through the constructors too.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import pystac

__all__ = ["new_asset", "new_item", "new_link"]

# Characters urlparse/make_absolute_href may rewrite in a path (tab, CR and LF it drops, as WHATWG says).
_URL_SYNTAX: Final = frozenset(";?#:\\\t\r\n")


def new_asset(
    href: str,
    *,
    media_type: str | None = None,
    title: str | None = None,
    description: str | None = None,
    roles: list[str] | None = None,
    extra_fields: dict[str, Any] | None = None,
) -> pystac.Asset:
    """Return ``pystac.Asset(href, title, description, media_type, roles, extra_fields)`` (no owner yet).

    Parameters
    ----------
    href, media_type, title, description, roles, extra_fields
        As for :class:`pystac.Asset`; ``extra_fields`` becomes the asset's (not copied).

    Returns
    -------
    pystac.Asset
    """
    # make_posix_style would rewrite a backslash (and fail on what is no text, as it should).
    if href.__class__ is not str or "\\" in href or not _fast():
        return pystac.Asset(href, title, description, media_type, roles, extra_fields)
    return _made_asset(href, title, description, media_type, roles, extra_fields)


def new_link(
    rel: str,
    href: str,
    owner: pystac.Item | None,
    *,
    media_type: str | None = None,
    title: str | None = None,
    extra_fields: dict[str, Any] | None = None,
) -> pystac.Link:
    """Return ``pystac.Link(rel, href, media_type, title, extra_fields)`` owned by ``owner``.

    Parameters
    ----------
    rel, href, media_type, title, extra_fields
        As for :class:`pystac.Link` (``href`` is its target).
    owner
        The object the link belongs to (what ``add_link`` sets).

    Returns
    -------
    pystac.Link
    """
    if href.__class__ is not str:  # a STAC object, or what is no href: the constructor's own handling
        return _constructed_link(rel, href, owner, media_type, title, extra_fields)
    # A self link's target goes through make_absolute_href: only an absolute plain path is left as it is.
    plain = href.startswith("/") and not href.startswith("//") and _URL_SYNTAX.isdisjoint(href)
    if not (plain if rel == "self" else "\\" not in href) or not _fast():
        return _constructed_link(rel, href, owner, media_type, title, extra_fields)
    return _made_link(rel, href, media_type, title, extra_fields, owner)


def _constructed_link(
    rel: str,
    href: Any,
    owner: pystac.Item | None,
    media_type: str | None,
    title: str | None,
    extra_fields: dict[str, Any] | None,
) -> pystac.Link:
    link = pystac.Link(rel, href, media_type, title, extra_fields)
    link.owner = owner
    return link


def new_item(
    item_id: str,
    *,
    geometry: dict[str, Any] | None,
    bbox: list[float] | None,
    moment: datetime | None,
    properties: dict[str, Any],
    stac_extensions: list[str] | None = None,
    collection: str | None = None,
    extra_fields: dict[str, Any] | None = None,
    assets: Mapping[str, pystac.Asset] | None = None,
) -> pystac.Item:
    """Return ``pystac.Item(...)`` with its assets added and no links (the caller sets ``item.links``).

    Parameters
    ----------
    item_id, geometry, bbox, properties, stac_extensions, collection, extra_fields
        As for :class:`pystac.Item` (``collection`` an id); dicts and lists become the item's.
    moment
        The item's ``datetime``; None needs ``start_datetime`` and ``end_datetime`` in ``properties``
        (:class:`pystac.Item` raises otherwise).
    assets
        The assets, which the item then owns.

    Returns
    -------
    pystac.Item
    """
    if not _fast() or (moment is None and not ("start_datetime" in properties and "end_datetime" in properties)):
        return pystac.Item(
            id=item_id,
            geometry=geometry,
            bbox=bbox,
            datetime=moment,
            properties=properties,
            stac_extensions=stac_extensions,
            collection=collection,
            extra_fields=extra_fields,
            assets=dict(assets) if assets else None,
        )
    return _made_item(item_id, geometry, bbox, moment, properties, stac_extensions, collection, extra_fields, assets)


def _made_asset(
    href: str,
    title: str | None,
    description: str | None,
    media_type: str | None,
    roles: list[str] | None,
    extra_fields: dict[str, Any] | None,
) -> pystac.Asset:
    asset: pystac.Asset = object.__new__(pystac.Asset)
    vars(asset).update(
        href=href,
        title=title,
        description=description,
        media_type=media_type,
        roles=roles,
        extra_fields=extra_fields or {},
        owner=None,
    )
    return asset


def _made_link(
    rel: str,
    href: str,
    media_type: str | None,
    title: str | None,
    extra_fields: dict[str, Any] | None,
    owner: pystac.Item | None,
) -> pystac.Link:
    link: pystac.Link = object.__new__(pystac.Link)
    vars(link).update(
        rel=rel,
        _target_href=href,
        _target_object=None,
        media_type=media_type,
        _title=title,
        extra_fields=extra_fields or {},
        owner=owner,
    )
    return link


def _made_item(
    item_id: str,
    geometry: dict[str, Any] | None,
    bbox: list[float] | None,
    moment: datetime | None,
    properties: dict[str, Any],
    stac_extensions: list[str] | None,
    collection: str | None,
    extra_fields: dict[str, Any] | None,
    assets: Mapping[str, pystac.Asset] | None,
) -> pystac.Item:
    item: pystac.Item = object.__new__(pystac.Item)
    owned = dict(assets) if assets else {}
    vars(item).update(
        links=[],
        stac_extensions=stac_extensions or [],
        id=item_id,
        geometry=geometry,
        bbox=bbox,
        properties=properties,
        extra_fields={} if extra_fields is None else extra_fields,
        assets=owned,
        datetime=moment,
        collection_id=collection,
    )
    if collection is None:
        item.collection = None  # pystac sets the attribute only then (an id leaves the class's)
    for asset in owned.values():
        asset.owner = item
    return item


@functools.cache
def _fast() -> bool:
    """Tell whether objects made without constructors equal the constructors' own (checked once)."""
    try:
        return all(_same_objects(collection) for collection in ("c", None))
    except Exception:  # pragma: no cover - another pystac whose constructors take other arguments
        return False


def _same_objects(collection: str | None) -> bool:
    when = datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    point = {"type": "Point", "coordinates": [1.0, 2.0]}
    asset_args = ("/a/b.tif", "T", "D", "image/tiff", ["data"], {"x": 1})
    LinkArgs = tuple[str, str, str | None, str | None, dict[str, Any] | None]
    links: tuple[LinkArgs, ...] = (
        ("self", "/a/i.json", "application/json", "S", {"z": 3}),
        ("collection", "/a/c.json", None, None, None),
    )
    item = pystac.Item(
        "i",
        dict(point),
        [1.0, 2.0, 1.0, 2.0],
        when,
        {"k": 1},
        stac_extensions=["e"],
        collection=collection,
        extra_fields={"y": 2},
        assets={"d": pystac.Asset(*asset_args)},
    )
    for link in links:
        item.add_link(pystac.Link(*link))
    made = _made_item(
        "i",
        dict(point),
        [1.0, 2.0, 1.0, 2.0],
        when,
        {"k": 1},
        ["e"],
        collection,
        {"y": 2},
        {"d": _made_asset(*asset_args)},
    )
    made.links = [_made_link(*link, made) for link in links]
    return _state(item) == _state(made)


def _state(item: pystac.Item) -> tuple[Any, ...]:
    """Every attribute of an item, its assets and links, with owners compared by identity."""

    def plain(obj: object) -> dict[str, Any]:
        return {k: (v is item if k == "owner" else v) for k, v in vars(obj).items()}

    assets: Sequence[Any] = [(k, plain(a)) for k, a in item.assets.items()]
    links: Sequence[Any] = [plain(link) for link in item.links]
    own = {k: v for k, v in vars(item).items() if k not in ("assets", "links")}
    return own, assets, links, item.to_dict(transform_hrefs=False)
