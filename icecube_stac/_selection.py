"""The icecube selection rules that a STAC filter cannot express, applied after the search.

``temporal_overlap=false`` keeps the latest acquisition of each day, ``space_overlap=true`` the items that
overlap the earliest one, and ``labelled: true`` (applied by :func:`icecube_stac.search.search`) the
labelled products; with any of them, ``max_items`` counts what they keep.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pystac
from shapely.geometry import shape

from icecube_stac.config import CubeConfig
from icecube_stac.item import acquisition_end

__all__ = ["apply_selection_rules", "has_selection_rules"]


def has_selection_rules(config: CubeConfig) -> bool:
    """Return whether results are cut after the search (so ``max_items`` cannot go into the request)."""
    return config.labelled or not config.temporal_overlap or (config.space_overlap and not config.coregistered)


def apply_selection_rules(items: Sequence[pystac.Item], config: CubeConfig) -> list[pystac.Item]:
    """Apply the icecube rules that a filter cannot express, keeping the input order.

    ``temporal_overlap=false`` keeps only the latest acquisition of each day (dated by acquisition
    end, as icecube does); ``space_overlap=true`` (when not ``coregistered``) keeps the items whose
    footprint intersects the earliest item's footprint.

    Parameters
    ----------
    items
        Search results.
    config
        The config the search came from.

    Returns
    -------
    list of pystac.Item
    """
    selected = list(items)
    if not config.temporal_overlap:
        latest: dict[Any, pystac.Item] = {}
        for item in selected:
            day = acquisition_end(item).date()
            if day not in latest or (acquisition_end(item), item.id) > (acquisition_end(latest[day]), latest[day].id):
                latest[day] = item
        keep = {id(i) for i in latest.values()}
        selected = [i for i in selected if id(i) in keep]
    if config.space_overlap and not config.coregistered and selected:
        earliest = min(selected, key=lambda i: (acquisition_end(i), i.id))
        reference = shape(earliest.geometry or {"type": "GeometryCollection", "geometries": []})
        selected = [i for i in selected if i.geometry is not None and shape(i.geometry).intersects(reference)]
    return selected
