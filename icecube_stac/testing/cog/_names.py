"""Name things the way ICEYE's COG generation does: file stems, geohash scene ids, item ids, UUIDs, timestamps.

Observed on the real item (``tests/data/iceye_cog``): the stem is
``ICEYE_<geohash6>_<start>Z_<image_id>_X<n>_<mode>_<product>``, ``iceye:scene_id`` is the upper-case
geohash of the scene centre, the item id is ``ICEYE_<image_id>_<GRD|SLC>-COG_<UUID v5>_<frame>``,
``iceye:image_reference`` is a UUID v7 (time-ordered), and timestamps end in ``Z`` with trailing
fractional zeros dropped (``18:20:58Z``, ``18:21:11.15932Z``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np

from .._fields import naive_utc, satellite_number
from ._spec import CogProductSpec

__all__ = [
    "geohash",
    "image_reference",
    "item_id",
    "product_stem",
    "scene_id",
    "scene_stem",
    "stac_time",
]

_GEOHASH_ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"
# A fixed namespace keeps item ids stable across runs (ICEYE's own namespace is not public).
_ID_NAMESPACE = uuid.UUID("6f1c3d52-1a4e-5b1e-9c61-1ce7e0c0c0a5")
# Tasking precedes acquisition; the real image_reference's UUID v7 time is ~5 days before it.
_TASKING_LEAD = timedelta(days=5, hours=3)


def geohash(lat: float, lon: float, precision: int = 6) -> str:
    """Return the (lower-case) geohash of a position.

    Parameters
    ----------
    lat, lon
        Position in degrees.
    precision
        Number of base-32 characters (6 is about 1.2 km x 0.6 km).

    Returns
    -------
    str
        E.g. ``6q31ww`` for (-9.5418, -77.0577).
    """
    bounds = {"lat": [-90.0, 90.0], "lon": [-180.0, 180.0]}
    chars: list[str] = []
    value, bits, on_lon = 0, 0, True
    while len(chars) < precision:
        axis, coord = ("lon", lon) if on_lon else ("lat", lat)
        low, high = bounds[axis]
        middle = (low + high) / 2.0
        value = value * 2 + (coord > middle)
        bounds[axis] = [middle, high] if coord > middle else [low, middle]
        on_lon, bits = not on_lon, bits + 1
        if bits == 5:
            chars.append(_GEOHASH_ALPHABET[value])
            value, bits = 0, 0
    return "".join(chars)


def scene_id(spec: CogProductSpec) -> str:
    """Return ``iceye:scene_id``: the upper-case geohash of the scene centre, e.g. ``6Q31WW``."""
    return geohash(spec.center_lat, spec.center_lon).upper()


def scene_stem(spec: CogProductSpec) -> str:
    """Return the stem shared by every product of an acquisition.

    Parameters
    ----------
    spec
        Any product of the acquisition.

    Returns
    -------
    str
        ``ICEYE_<geohash>_<YYYYMMDDThhmmss>Z_<image_id>_X<n>_<mode>``, the name of the open-data
        scene item and folder.
    """
    start = naive_utc(spec.acquisition_start)
    sat = f"X{satellite_number(spec.satellite)}"
    return f"ICEYE_{scene_id(spec)}_{start:%Y%m%dT%H%M%S}Z_{spec.image_id}_{sat}_{spec.mode}"


def product_stem(spec: CogProductSpec) -> str:
    """Return the file stem of the product: the scene stem plus ``_GRD``/``_SLC`` (``_AML``/``_CPX`` in 2024)."""
    if spec.preview_2024:
        return f"{scene_stem(spec)}_{'AML' if spec.level == 'GRD' else 'CPX'}"
    return f"{scene_stem(spec)}_{spec.level}"


def item_id(spec: CogProductSpec) -> str:
    """Return the side-car item id ``ICEYE_<image_id>_<level>-COG_<UUID v5>_<frame>`` (deterministic)."""
    name = f"{spec.image_id}/{spec.level}/{spec.frame_number}/{spec.seed}"
    return f"ICEYE_{spec.image_id}_{spec.level}-COG_{uuid.uuid5(_ID_NAMESPACE, name)}_{spec.frame_number}"


def image_reference(spec: CogProductSpec) -> str:
    """Return ``iceye:image_reference``: a UUID v7 stamped at tasking time, shared by GRD and SLC.

    Parameters
    ----------
    spec
        Any product of the acquisition (the level does not matter).

    Returns
    -------
    str
        A version-7 UUID whose 48-bit millisecond time is 5 days before the acquisition and whose
        random bits come from the image id and seed.
    """
    tasked = naive_utc(spec.acquisition_start).replace(tzinfo=UTC) - _TASKING_LEAD
    millis = int(tasked.timestamp() * 1000) & ((1 << 48) - 1)
    rand = np.random.default_rng([spec.image_id, spec.seed, 17]).integers(0, 1 << 62, size=2)
    rand_a, rand_b = int(rand[0]) & 0xFFF, int(rand[1]) & ((1 << 62) - 1)
    value = (millis << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return str(uuid.UUID(int=value))


def stac_time(when: datetime, digits: int = 6) -> str:
    """Format a UTC time like ICEYE's STAC JSON: truncated fraction, trailing zeros dropped, ``Z``.

    Parameters
    ----------
    when
        Naive UTC or aware time.
    digits
        Fractional digits kept (3 for ``datetime``/``start_datetime``/``end_datetime``, 6 otherwise).

    Returns
    -------
    str
        E.g. ``2025-11-10T18:20:58Z`` or ``2025-11-10T18:21:11.15932Z``.
    """
    moment = naive_utc(when)
    fraction = f"{moment.microsecond:06d}"[:digits].rstrip("0")
    return f"{moment:%Y-%m-%dT%H:%M:%S}{'.' + fraction if fraction else ''}Z"
