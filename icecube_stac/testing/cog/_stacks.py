"""Specs of multi-scene series for open-data catalogs, e.g. a Tenerife-like daily stack that is not coregistered.

ICEYE's open-data catalog holds a daily stack (Tenerife, 19 stripmap scenes, one satellite, one
geometry) whose scenes are **not** coregistered: ``proj:shape`` varies by 1-3 % and the geohash in
the name changes between scenes. :func:`daily_stack_specs` reproduces those traps on tiny rasters.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Literal

import numpy as np

from ._spec import CogProductSpec

__all__ = ["daily_stack_specs"]

# Just north of a geohash-6 latitude boundary (28.267822 deg) and inside one 0.01 deg scene anchor
# (28.265..28.275), so centres wandering by +-2 mdeg change the geohash but not the imaged scene.
_TENERIFE = (28.2685, -16.6400)
_WANDER_DEG = 0.002
_SHAPE_JITTER = 0.015


def daily_stack_specs(
    n: int = 19,
    *,
    shape: tuple[int, int] = (64, 48),
    start: datetime = datetime(2025, 3, 1, 11, 58, 43),
    center: tuple[float, float] = _TENERIFE,
    levels: tuple[Literal["GRD", "SLC"], ...] = ("GRD",),
    satellite: str = "ICEYE-X30",
    seed: int = 0,
) -> list[CogProductSpec]:
    """Return a daily stripmap stack over one place from one satellite and one geometry.

    Parameters
    ----------
    n
        Number of scenes (one per day).
    shape
        Nominal ``(azimuth, range)``; each scene's shape differs by up to +-1.5 % per axis.
    start
        First acquisition (UTC); later ones come a day apart, within a minute of that time of day.
    center
        Nominal scene centre; each scene wanders by up to 2 mdeg, so the geohash changes.
    levels
        Products per scene (``"GRD"`` and/or ``"SLC"``).
    satellite
        The one satellite.
    seed
        Seed of the jitter; scene seeds derive from it.

    Returns
    -------
    list of CogProductSpec
        Sorted by start time; image ids increase.
    """
    rng = np.random.default_rng([seed, 43])
    base = CogProductSpec(
        satellite=satellite,
        mode="SM",
        look_side="right",
        orbit_direction="descending",
        incidence_center=31.2,
        center_lat=center[0],
        center_lon=center[1],
    )
    specs: list[CogProductSpec] = []
    for k in range(n):
        jitter = 1.0 + rng.uniform(-_SHAPE_JITTER, _SHAPE_JITTER, size=2)
        scene = replace(
            base,
            image_id=5_100_000 + 137 * k + int(rng.integers(0, 100)),
            acquisition_start=start + timedelta(days=k, seconds=int(rng.integers(-60, 60))),
            shape=(max(2, round(shape[0] * jitter[0])), max(2, round(shape[1] * jitter[1]))),
            incidence_center=round(base.incidence_center + float(rng.uniform(-0.15, 0.15)), 2),
            center_lat=round(center[0] + float(rng.uniform(-_WANDER_DEG, _WANDER_DEG)), 6),
            center_lon=round(center[1] + float(rng.uniform(-_WANDER_DEG, _WANDER_DEG)), 6),
            seed=seed * 1000 + k,
        )
        specs.extend(replace(scene, level=level) for level in levels)
    return specs
