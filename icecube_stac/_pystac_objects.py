"""pystac Items, Assets and Links made without running their constructors, checked against them once.

The constructors are a third of a search's item building: argument handling, ``make_posix_style`` on every
href, ``add_asset``/``add_link``. :func:`new_item`, :func:`new_asset` and :func:`new_link` fill the very
attributes the constructors would set. Whether they do is checked once per process against the
constructors themselves, on sample objects (with and without a collection id); another pystac whose objects
differ gets its constructors. Hrefs the constructors would rewrite (a backslash; a self link that is not a
plain absolute path) go through the constructors too. The attributes are stored one by one (instances keep
their inline values: no ``__dict__`` object each, fewer objects for the garbage collector), and
:func:`new_assets`, :func:`item_maker` and :func:`link_maker` decide once for a whole search's objects.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import pystac

__all__ = ["item_maker", "link_maker", "new_asset", "new_assets", "new_item", "new_link"]

ItemMaker = Callable[
    [
        str,
        "dict[str, Any] | None",
        "list[float] | None",
        "datetime | None",
        "dict[str, Any]",
        "list[str] | None",
        "str | None",
        "dict[str, pystac.Asset]",
    ],
    pystac.Item,
]
"""``(id, geometry, bbox, moment, properties, stac_extensions, collection, assets) -> Item`` (no links yet)."""

_NEW: Final = object.__new__
_ITEM: Final = pystac.Item
_ASSET: Final = pystac.Asset
_LINK: Final = pystac.Link
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


def new_assets(
    hrefs: Sequence[str],
    media_types: Sequence[str | None],
    titles: Sequence[str | None],
    descriptions: Sequence[str | None],
    roles: Sequence[list[str] | None],
    extra_fields: Sequence[dict[str, Any]],
) -> list[pystac.Asset]:
    """Return :func:`new_asset` of each position of the sequences (all of one length).

    Parameters
    ----------
    hrefs, media_types, titles, descriptions, roles, extra_fields
        One value per asset, as for :func:`new_asset`.

    Returns
    -------
    list of pystac.Asset
    """
    columns = zip(hrefs, titles, descriptions, media_types, roles, extra_fields, strict=True)
    if not _fast():
        return [pystac.Asset(*values) for values in columns]
    return [
        _made_asset(*values) if values[0].__class__ is str and "\\" not in values[0] else pystac.Asset(*values)
        for values in columns
    ]


def item_maker() -> ItemMaker:
    """Return :func:`new_item` as a function of positional arguments, for items pystac accepts.

    That is, items with a ``datetime``, or none and ``start_datetime`` and ``end_datetime`` properties.

    Returns
    -------
    ItemMaker
        ``(id, geometry, bbox, moment, properties, stac_extensions, collection, assets) -> Item`` without
        links (the caller sets them); the assets dict becomes the item's, which owns its assets.
    """
    if _fast():
        return _bare_item

    def constructed(*args: Any) -> pystac.Item:
        item_id, geometry, bbox, moment, properties, extensions, collection, assets = args
        return pystac.Item(
            item_id,
            geometry,
            bbox,
            moment,
            properties,
            stac_extensions=extensions,
            collection=collection,
            assets=assets or None,
        )

    return constructed


def link_maker(rel: str, href: str, media_type: str | None = None) -> Callable[[pystac.Item], pystac.Link]:
    """Return a function giving an item its own ``new_link(rel, href, item, media_type=...)``.

    Parameters
    ----------
    rel, href, media_type
        As for :func:`new_link` (no title, no extra fields).

    Returns
    -------
    callable
        ``owner -> Link``: whether the constructor is needed is decided here, once.
    """
    probe = new_link(rel, href, None, media_type=media_type)
    made = _made_link(rel, href, media_type, None, None, None)
    if not _fast() or probe.__class__ is not pystac.Link or vars(probe) != vars(made):
        return lambda owner: new_link(rel, href, owner, media_type=media_type)
    return lambda owner: _made_link(rel, href, media_type, None, None, owner)


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
    asset: pystac.Asset = _NEW(_ASSET)
    # Attribute stores keep the instance's inline values (no __dict__ object until someone asks for one).
    asset.href = href
    asset.title = title
    asset.description = description
    asset.media_type = media_type
    asset.roles = roles
    asset.extra_fields = extra_fields or {}
    asset.owner = None
    return asset


def _made_link(
    rel: str,
    href: str,
    media_type: str | None,
    title: str | None,
    extra_fields: dict[str, Any] | None,
    owner: pystac.Item | None,
) -> pystac.Link:
    link: pystac.Link = _NEW(_LINK)
    link.rel = rel
    link._target_href = href
    link._target_object = None
    link.media_type = media_type
    link._title = title
    link.extra_fields = extra_fields or {}
    link.owner = owner
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
    item = _bare_item(item_id, geometry, bbox, moment, properties, stac_extensions, collection, dict(assets or {}))
    if extra_fields is not None:
        item.extra_fields = extra_fields
    return item


def _bare_item(
    item_id: str,
    geometry: dict[str, Any] | None,
    bbox: list[float] | None,
    moment: datetime | None,
    properties: dict[str, Any],
    stac_extensions: list[str] | None,
    collection: str | None,
    assets: dict[str, pystac.Asset],
) -> pystac.Item:
    item: pystac.Item = _NEW(_ITEM)
    item.links = []
    item.stac_extensions = stac_extensions or []
    item.id = item_id
    item.geometry = geometry
    item.bbox = bbox
    item.properties = properties
    item.extra_fields = {}
    item.assets = assets
    item.datetime = moment
    item.collection_id = collection
    if collection is None:
        item.collection = None
    for asset in assets.values():
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
