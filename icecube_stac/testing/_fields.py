"""Compute every metadata field of a synthetic ICEYE product from one consistent geometry.

Field names are the canonical lowercase ICEYE names; values carry the HDF5 dtypes of real SLC
files (vlen-ASCII strings as ``str``, times as ``S26`` ``(N, 1)`` arrays, counts as ``int64``...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ._geodesy import (
    GM,
    ecef_to_geodetic,
)
from ._geometry import SarGeometry
from ._modes import ModeParams
from ._scene import Scene

if TYPE_CHECKING:
    from .generator import ProductSpec

__all__ = [
    "CARRIER_FREQUENCY",
    "Times",
    "altitude_for",
    "coords",
    "doppler",
    "format_time",
    "naive_utc",
    "satellite_number",
    "ground",
    "orbit_number",
    "state_vectors",
    "text_fields",
    "time_vector",
    "times_for",
]

F64 = NDArray[np.float64]

CARRIER_FREQUENCY = 9.65e9
_SV_INTERVAL = 0.5
_SV_MARGIN = 3.5
_DC_LEAD = timedelta(microseconds=65)
_LAUNCH_EPOCH = datetime(2018, 1, 12)


@dataclass(frozen=True)
class Times:
    """Acquisition, zero-Doppler and processing times of one product (naive UTC)."""

    start: datetime
    end: datetime
    zd_start: datetime
    zd_end: datetime
    zd_mid: datetime
    span: float
    interval: float
    processing: datetime

    def tau(self, when: datetime | list[datetime]) -> F64:
        """Seconds from the scene-centre zero-Doppler time (the orbit's time origin)."""
        items = when if isinstance(when, list) else [when]
        offsets = [(t - self.zd_start).total_seconds() - self.span / 2.0 for t in items]
        return np.asarray(offsets, dtype=np.float64)


def format_time(when: datetime, fraction: bool = True) -> str:
    """Format a naive UTC time the ICEYE way: ``YYYY-MM-DDTHH:MM:SS.ffffff``, no zone."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f" if fraction else "%Y-%m-%dT%H:%M:%S")


def time_vector(times: list[datetime]) -> NDArray[np.bytes_]:
    """Return times as the fixed-length ``S26`` ``(N, 1)`` array ICEYE writes to HDF5."""
    return np.array([format_time(t).encode("ascii") for t in times], dtype="S26").reshape(-1, 1)


def _seconds(value: float) -> timedelta:
    return timedelta(microseconds=round(value * 1e6))


def naive_utc(when: datetime) -> datetime:
    """Return ``when`` as a naive UTC datetime (aware values are converted, naive ones kept)."""
    if when.tzinfo is None:
        return when
    return when.astimezone(UTC).replace(tzinfo=None)


def satellite_number(satellite: str) -> int:
    """Return ``n`` of ``ICEYE-Xn``."""
    match = re.fullmatch(r"ICEYE-X(\d+)", satellite)
    if match is None:
        raise ValueError(f"satellite must look like 'ICEYE-X7', got {satellite!r}")
    return int(match.group(1))


def altitude_for(satellite: str) -> float:
    """Return the orbit altitude (m) of a satellite: 563-578 km, stable per satellite."""
    return 578e3 - 1.5e3 * ((satellite_number(satellite) - 7) % 11)


def times_for(spec: ProductSpec, mode: ModeParams, interval: float, rng: np.random.Generator) -> Times:
    """Derive acquisition, zero-Doppler and processing times from the start and the line interval."""
    start = naive_utc(spec.acquisition_start)
    span = (spec.shape[0] - 1) * interval
    offset = mode.zd_offset if mode.zd_offset is not None else max(0.3, (mode.duration - span) / 2.0)
    zd_start = start + _seconds(offset)
    zd_end = zd_start + _seconds(span)
    nominal_end = start + _seconds(mode.duration - rng.uniform(0.0, 0.01))
    end = max(nominal_end, zd_end + _seconds(0.235))
    processing = (start + _seconds(rng.uniform(12.0, 30.0) * 3600.0)).replace(microsecond=0)
    return Times(start, end, zd_start, zd_end, zd_start + _seconds(span / 2.0), span, interval, processing)


def state_vectors(geometry: SarGeometry, times: Times) -> dict[str, Any]:
    """Return 0.5 s state vectors on whole seconds from start - 3.5 s to end + 3.5 s (X7 style)."""
    first = (times.start - _seconds(_SV_MARGIN)).replace(microsecond=0)
    last = times.end + _seconds(_SV_MARGIN)
    last = last.replace(microsecond=0) + (timedelta(seconds=1) if last.microsecond else timedelta())
    count = int((last - first).total_seconds() / _SV_INTERVAL) + 1
    stamps = [first + _seconds(k * _SV_INTERVAL) for k in range(count)]
    pos, vel = geometry.orbit.state(times.tau(stamps))
    fields: dict[str, Any] = {"number_of_state_vectors": np.int64(count), "state_vector_time_utc": time_vector(stamps)}
    for axis, name in enumerate("XYZ"):
        fields[f"pos{name}"] = pos[:, axis].copy()
    for axis, name in enumerate("XYZ"):
        fields[f"vel{name}"] = vel[:, axis].copy()
    for name in "XYZ":
        fields[f"ang{name}"] = np.zeros(count)
    return fields


def doppler(
    spec: ProductSpec, times: Times, ref_time: float, rate_c0: float, rng: np.random.Generator
) -> dict[str, Any]:
    """Return Doppler centroid estimates (every second from zero-Doppler start - 65 us) and rate."""
    n_dc = max(1, int((times.span + _DC_LEAD.total_seconds()) // 1.0))
    stamps = [times.zd_start - _DC_LEAD + timedelta(seconds=k) for k in range(n_dc)]
    c0 = rng.uniform(-350.0, 350.0)
    c1 = rng.choice([-1.0, 1.0]) * rng.uniform(4e5, 2e6)
    base = np.array([c0, c1, rng.normal(0.0, 1e-4), rng.uniform(-60.0, 60.0)])
    if spec.mode == "SL":  # spotlight DC is antenna steering: a constant per estimate
        base[1:] = 0.0
    drift = rng.uniform(-4.0, 4.0)
    coeffs = np.tile(base, (n_dc, 1))
    coeffs[:, 0] += drift * np.arange(n_dc)
    # The Doppler rate of a straight track is proportional to 1/range: expand fr0 * t_ref / t.
    rate = rate_c0 * (-1.0 / ref_time) ** np.arange(4)
    return {
        "dc_estimate_coeffs": coeffs,
        "dc_estimate_time_utc": time_vector(stamps),
        "number_of_dc_estimations": np.int64(n_dc),
        "dc_estimate_poly_order": np.int64(3),
        "doppler_rate_coeffs": rate,
        "doppler_rate_poly_order": np.int64(3),
        "reference_pixel_time": np.float64(ref_time),
    }


def ground(geometry: SarGeometry, scene: Scene, tau: F64, slant: F64, height: float) -> tuple[F64, F64, F64]:
    """Geolocate zero-Doppler times ``tau`` and slant ranges onto the scene terrain: lat, lon, height."""
    h = np.full(np.shape(tau), height)
    for _ in range(2):  # terrain feedback converges to decimetres in two passes
        lat, lon, _h = ecef_to_geodetic(geometry.locate(tau, slant, h))
        h = scene.height(*scene.to_local(lat, lon))
    return ecef_to_geodetic(geometry.locate(tau, slant, h))


def coords(lat: F64, lon: F64, shape: tuple[int, int]) -> dict[str, F64]:
    """Return ``coord_*`` as [col, row, lat, lon] with 1-based pixels (corners, then the centre)."""
    naz, nrg = shape
    pixels = [(1, 1), (nrg, 1), (1, naz), (nrg, naz), (nrg // 2 + 1, naz // 2 + 1)]
    names = ["first_near", "first_far", "last_near", "last_far", "center"]
    return {
        f"coord_{name}": np.array([col, row, lat[k], lon[k]], dtype=np.float64)
        for k, (name, (col, row)) in enumerate(zip(names, pixels, strict=True))
    }


def orbit_number(start: datetime, satellite: str, altitude: float) -> int:
    """Return a plausible absolute orbit number: orbital periods since a per-satellite launch date."""
    period = 2.0 * np.pi * np.sqrt((6371e3 + altitude) ** 3 / GM)
    launch = _LAUNCH_EPOCH + timedelta(days=40 * satellite_number(satellite))
    return max(1, int((start - launch).total_seconds() / period) + 1)


def text_fields(spec: ProductSpec, mode: ModeParams, name: str, times: Times) -> dict[str, Any]:
    """Return the string-valued fields (names, modes, times, processing choices)."""
    ext = "tif" if spec.level == "GRD" else "h5"
    return {
        "product_file": f"{name}.{ext}",
        "product_name": name,
        "product_type": mode.product_type,
        "product_level": spec.level,
        "satellite_name": spec.satellite,
        "acquisition_mode": mode.acquisition_mode,
        "look_side": spec.look_side,
        "processing_time": format_time(times.processing, fraction=False),
        "acquisition_start_utc": format_time(times.start),
        "acquisition_end_utc": format_time(times.end),
        "zerodoppler_start_utc": format_time(times.zd_start),
        "zerodoppler_end_utc": format_time(times.zd_end),
        "orbit_direction": spec.orbit_direction,
        "sample_precision": "uint16" if spec.level == "GRD" else spec.slc_dtype,
        "polarization": spec.polarization,
        "window_function_range": "TAYLOR_20_4",
        "window_function_azimuth": "TAYLOR_20_4",
        "geo_ref_system": "WGS84",
        "orbit_processing_level": "precise",
        "data_orientation": "native",
    }
