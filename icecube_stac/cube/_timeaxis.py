"""The cube's time axis: the natural timeline of the acquisitions, or icecube's grid of N-day slots.

``temporal_resolution=0`` keeps one step per acquisition, at the item's ``datetime``;
``temporal_overlap=false`` then keeps only the latest acquisition of each UTC day. ``temporal_resolution=N>0``
reproduces icecube's grid: slots every N days from ``start_date`` to ``end_date``; each item goes to the
slot containing its acquisition date (the UTC date of its acquisition end, as icecube dates it); empty
slots hold the fill value; two acquisitions in one slot are an error unless ``temporal_overlap=false``
(the latest is kept).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import numpy.typing as npt

from icecube_stac.config import CubeConfig
from icecube_stac.cube._warnings import TimeSlotWarning
from icecube_stac.errors import LoadError
from icecube_stac.item import ParsedItem

__all__ = ["TimeAxis", "time_axis", "utc_naive"]


@dataclass(frozen=True)
class TimeAxis:
    """The time steps of a cube and the item of each (None for an empty slot)."""

    times: npt.NDArray[np.datetime64]  # datetime64[ns], timezone-naive UTC
    slots: list[ParsedItem | None]
    resolution: int  # days per slot; 0 = natural timeline

    @property
    def present(self) -> list[ParsedItem]:
        """The items on the axis, in time order."""
        return [item for item in self.slots if item is not None]


def utc_naive(value: datetime) -> np.datetime64:
    """Return a timezone-naive UTC nanosecond ``datetime64`` (what xarray and CF store).

    numpy, not pandas: the cube's plan is made before (and, written by the command line, without) pandas.
    """
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    stamp: np.datetime64 = np.datetime64(value, "us").astype("datetime64[ns]")
    return stamp


def _stamps(values: Sequence[np.datetime64]) -> npt.NDArray[np.datetime64]:
    return np.array(values, dtype="datetime64[ns]")


def _latest(members: Sequence[ParsedItem]) -> tuple[ParsedItem, list[str]]:
    ordered = sorted(members, key=lambda m: (m.end or m.time, m.time, m.id))
    return ordered[-1], [m.id for m in ordered[:-1]]


def _warn_dropped(dropped: Sequence[str], period: str, stacklevel: int) -> None:
    if dropped:
        warnings.warn(
            f"temporal_overlap is false: kept the latest acquisition of each {period} and left out "
            + ", ".join(dropped),
            TimeSlotWarning,
            stacklevel=stacklevel,
        )


def _natural(items: Sequence[ParsedItem], temporal_overlap: bool, stacklevel: int) -> TimeAxis:
    ordered = sorted(items, key=lambda i: (i.time, i.id))
    if not temporal_overlap:
        by_day: dict[date, list[ParsedItem]] = {}
        for item in ordered:
            by_day.setdefault(item.acquired, []).append(item)
        kept, dropped = [], []
        for members in by_day.values():
            latest, others = _latest(members)
            kept.append(latest)
            dropped += others
        _warn_dropped(dropped, "day", stacklevel)
        ordered = sorted(kept, key=lambda i: (i.time, i.id))
    times = _stamps([utc_naive(i.time) for i in ordered])
    return TimeAxis(times, list(ordered), 0)


def _warn_outside(outside: Sequence[str], start: date, end: date, stacklevel: int) -> None:
    if outside:
        warnings.warn(
            f"{len(outside)} item(s) acquired outside start_date {start.isoformat()} .. end_date {end.isoformat()} "
            "are not in the time grid: " + "; ".join(outside),
            TimeSlotWarning,
            stacklevel=stacklevel,
        )


def _slot_grid(items: Sequence[ParsedItem], config: CubeConfig, stacklevel: int) -> TimeAxis:
    days, start, end = config.temporal_resolution, config.start_date, config.end_date
    # Every `days` days from start_date, end_date included when it falls on a slot (as pandas' date_range).
    slots = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1, days).astype("datetime64[ns]")
    by_slot: dict[int, list[ParsedItem]] = {}
    outside: list[str] = []
    for item in sorted(items, key=lambda i: (i.time, i.id)):
        if not start <= item.acquired <= end:
            outside.append(f"{item.id} ({item.acquired.isoformat()})")
            continue
        by_slot.setdefault((item.acquired - start).days // days, []).append(item)
    _warn_outside(outside, start, end, stacklevel)
    if not by_slot:
        raise LoadError(
            f"none of the {len(items)} item(s) was acquired between start_date {start.isoformat()} and "
            f"end_date {end.isoformat()}"
        )
    chosen: list[ParsedItem | None] = [None] * len(slots)
    dropped: list[str] = []
    for slot, members in sorted(by_slot.items()):
        if len(members) > 1 and config.temporal_overlap:
            raise LoadError(
                f"{len(members)} acquisitions fall into the {days}-day time slot starting "
                f"{(start + timedelta(days=slot * days)).isoformat()}: {', '.join(m.id for m in members)}; set "
                '"temporal_overlap": false to keep the latest of each slot, or use a smaller temporal_resolution'
            )
        chosen[slot], others = _latest(members)
        dropped += others
    _warn_dropped(dropped, f"{days}-day slot", stacklevel)
    return TimeAxis(slots, chosen, days)


def time_axis(items: Sequence[ParsedItem], config: CubeConfig | None, *, stacklevel: int = 5) -> TimeAxis:
    """Lay items out along the cube's time axis.

    Parameters
    ----------
    items
        Parsed items with readable data, in any order.
    config
        ``temporal_resolution``, ``start_date``/``end_date`` and ``temporal_overlap``; None = natural
        timeline, overlaps kept.
    stacklevel
        Of the :class:`TimeSlotWarning` raised here: 5 points at the caller of the function that called this.

    Returns
    -------
    TimeAxis

    Raises
    ------
    LoadError
        Two acquisitions in one slot while ``temporal_overlap`` is true; no item inside the grid's dates.
    """
    if config is not None and config.temporal_resolution > 0:
        return _slot_grid(items, config, stacklevel)
    return _natural(items, config is None or config.temporal_overlap, stacklevel)
