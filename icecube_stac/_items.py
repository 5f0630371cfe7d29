"""Item dicts → :class:`pystac.Item`, exactly as ``Item.from_dict(d, preserve_dict=False, migrate=False)``.

``from_dict`` spends two thirds of its time on two things that need not be done per item: parsing
``datetime`` with dateutil (here: :meth:`datetime.fromisoformat` for RFC 3339 UTC text, with dateutil's own
UTC object, and dateutil for anything else) and asking every registered extension hook for a
deprecation message (here: only the hooks that can give one). The item is built with pystac's public
builders of ``Item``, ``Asset`` and ``Link``, from the dict itself, which it then owns.
The objects themselves are made by :mod:`icecube_stac._pystac_objects` (the constructors' work, without them).
"""

from __future__ import annotations

import functools
import re
import warnings
from datetime import datetime, tzinfo
from typing import Any, Final

import pystac
from pystac.extensions.hooks import ExtensionHooks

from icecube_stac._pystac_objects import new_asset, new_item, new_link

__all__ = [
    "deprecation_message",
    "item_from_dict",
    "may_be_deprecated",
    "parse_datetime",
    "utc",
]

# ASCII digits only (``\d`` alone takes any script's digits, which dateutil rejects with its own error).
_RFC3339: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)", re.ASCII)
_PASS_THROUGH: Final = ("id", "geometry", "bbox", "stac_extensions", "collection")
_NOT_EXTRA: Final = (*_PASS_THROUGH, "links", "assets", "properties", "type", "stac_version")
_ASSET_KEYS: Final = ("href", "type", "title", "description", "roles")
_LINK_KEYS: Final = ("rel", "href", "type", "title")
_KEY_SETS: Final[dict[tuple[str, ...], frozenset[str]]] = {
    keys: frozenset(keys) for keys in (_NOT_EXTRA, _ASSET_KEYS, _LINK_KEYS)
}


def item_from_dict(data: dict[str, Any]) -> pystac.Item:
    """Build a pystac Item from a dict of the current STAC version.

    Parameters
    ----------
    data
        An item dict (it becomes the item's: its ``properties`` dict is used, not copied).

    Returns
    -------
    pystac.Item
        Equal, attribute for attribute, to ``pystac.Item.from_dict(data, preserve_dict=False, migrate=False)``.
    """
    if data.get("type") != "Feature" or "stac_version" not in data:
        return pystac.Item.from_dict(data, preserve_dict=False, migrate=False)  # its own error message
    properties = data.get("properties", {})
    moment = properties.get("datetime")
    if moment is None and not ("start_datetime" in properties and "end_datetime" in properties):
        return pystac.Item.from_dict(data, preserve_dict=False, migrate=False)  # pystac's own STACError
    item = new_item(
        data.get("id"),  # type: ignore[arg-type]  # as from_dict passes it
        geometry=data.get("geometry"),
        bbox=data.get("bbox"),
        moment=None if moment is None else parse_datetime(moment),
        properties=properties,
        stac_extensions=data.get("stac_extensions"),
        collection=data.get("collection"),
        extra_fields=_without(data, _NOT_EXTRA),
        assets={key: _asset(value) for key, value in data.get("assets", {}).items()},
    )
    item.links = [_link(link, item) for link in data.get("links", [])]
    message = deprecation_message(item)
    if message is not None:
        warnings.warn(message, pystac.DeprecatedWarning, stacklevel=2)
    return item


def parse_datetime(text: str) -> datetime:
    """Parse a timestamp as :func:`pystac.utils.str_to_datetime` does (same value, same tzinfo objects).

    Parameters
    ----------
    text
        A timestamp, usually RFC 3339.

    Returns
    -------
    datetime.datetime
    """
    if text.__class__ is not str or not _RFC3339.fullmatch(text):
        return pystac.utils.str_to_datetime(text)  # dateutil's answer, or its error (for what is no text too)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return pystac.utils.str_to_datetime(text)  # invalid (month 13, offset 25:00...): dateutil's own error
    if value.utcoffset():
        return pystac.utils.str_to_datetime(text)  # rare: dateutil's own offset object
    return value.replace(tzinfo=utc())


@functools.cache
def utc() -> tzinfo | None:
    """Return the UTC object dateutil (hence pystac) puts on UTC timestamps.

    Returns
    -------
    datetime.tzinfo
    """
    return pystac.utils.str_to_datetime("2000-01-01T00:00:00Z").tzinfo


def _asset(data: dict[str, Any]) -> pystac.Asset:
    if data.__class__ is not dict:
        return pystac.Asset.from_dict(data)  # its own error (null, a list...), or another mapping's asset
    return new_asset(
        data["href"],
        media_type=data.get("type"),
        title=data.get("title"),
        description=data.get("description"),
        roles=data.get("roles"),
        extra_fields=_extra_fields(data, _ASSET_KEYS),
    )


def _link(data: dict[str, Any], owner: pystac.Item) -> pystac.Link:
    if data.__class__ is not dict:
        link = pystac.Link.from_dict(data)  # its own error, or another mapping's link
        link.owner = owner
        return link
    return new_link(
        data["rel"],
        data["href"],
        owner,
        media_type=data.get("type"),
        title=data.get("title"),
        extra_fields=_extra_fields(data, _LINK_KEYS),
    )


def _extra_fields(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """Return an asset's or link's extra fields as its ``from_dict`` keeps them: only if a key is truthy."""
    rest = _without(data, keys)
    return rest if any(rest) else {}


def _without(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """Return a copy of ``data`` without ``keys``, in its own order (a copy and pops: 4x a comprehension)."""
    if data.keys() <= _KEY_SETS[keys]:
        return {}  # the usual case (an item's own keys, a plain link): one subset test in C, no copy
    rest = data.copy()
    for key in keys:
        rest.pop(key, None)
    return rest


def deprecation_message(item: pystac.Item) -> str | None:
    """Return what ``pystac.EXTENSION_HOOKS.get_deprecation_message`` says, asking only hooks that can speak.

    Parameters
    ----------
    item
        An item.

    Returns
    -------
    str or None
    """
    registry = pystac.EXTENSION_HOOKS
    discover = getattr(registry, "_discover", None)
    hooks = getattr(registry, "hooks", None)
    if not callable(discover) or not isinstance(hooks, dict):  # pragma: no cover - another pystac
        return registry.get_deprecation_message(item)
    discover()
    for hook in _speaking(tuple(hooks.values()), tuple(item.stac_extensions)):
        message = hook.get_deprecation_message(item)
        if message is not None:
            return message
    return None


def may_be_deprecated(extensions: tuple[str, ...]) -> bool:
    """Tell whether :func:`deprecation_message` can say anything of an item declaring ``extensions``.

    Parameters
    ----------
    extensions
        The item's ``stac_extensions``.

    Returns
    -------
    bool
        False when no registered hook that can speak applies (asked once per distinct tuple by a search).
    """
    registry = pystac.EXTENSION_HOOKS
    discover = getattr(registry, "_discover", None)
    hooks = getattr(registry, "hooks", None)
    if not callable(discover) or not isinstance(hooks, dict):  # pragma: no cover - another pystac
        return True
    discover()
    return bool(_speaking(tuple(hooks.values()), extensions))


@functools.lru_cache(maxsize=64)
def _speaking(hooks: tuple[ExtensionHooks, ...], extensions: tuple[str, ...]) -> tuple[ExtensionHooks, ...]:
    """Return the hooks that override ``get_deprecation_message`` and whose extension the item uses.

    The base implementation says nothing; pystac's one speaking hook (version) speaks only for items that
    declare its extension.
    """
    base = ExtensionHooks.get_deprecation_message
    declared = {"stac_extensions": list(extensions)}
    return tuple(h for h in hooks if type(h).get_deprecation_message is not base and h.has_extension(declared))
