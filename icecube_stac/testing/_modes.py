"""Per-mode radar parameters of ICEYE legacy products (stripmap, spotlight, scan)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MODES", "ModeParams"]


@dataclass(frozen=True)
class ModeParams:
    """Static facts and realistic value ranges of one imaging mode.

    Attributes
    ----------
    acquisition_mode, product_type
        The legacy metadata strings (lowercase mode, CamelCase type).
    pixel_spacing
        Default GRD ground pixel spacing (m).
    duration
        Typical acquisition (first to last pulse) duration (s).
    zd_offset
        Zero-Doppler start minus acquisition start (s); ``None`` centres the zero-Doppler span.
    chirp_bandwidth, range_sampling_rate
        Pulse bandwidth (Hz, int) and ADC sampling rate (Hz).
    prf_range, chirp_duration_range
        Ranges the per-product values are drawn from.
    looks
        GRD (azimuth, range) looks.
    """

    acquisition_mode: str
    product_type: str
    pixel_spacing: float
    duration: float
    zd_offset: float | None
    chirp_bandwidth: int
    range_sampling_rate: float
    prf_range: tuple[float, float]
    chirp_duration_range: tuple[float, float]
    looks: tuple[int, int]


MODES: dict[str, ModeParams] = {
    "SM": ModeParams(
        acquisition_mode="stripmap",
        product_type="Stripmap",
        pixel_spacing=2.5,
        duration=10.0,
        zd_offset=0.3,
        chirp_bandwidth=234_000_000,
        range_sampling_rate=274976224.0,
        prf_range=(4950.0, 5250.0),
        chirp_duration_range=(3.2e-5, 4.2e-5),
        looks=(1, 1),
    ),
    "SL": ModeParams(
        acquisition_mode="spotlight",
        product_type="Spotlight",
        pixel_spacing=0.5,
        duration=5.0,
        zd_offset=None,
        chirp_bandwidth=300_000_000,
        range_sampling_rate=359424000.0,
        prf_range=(6400.0, 7200.0),
        chirp_duration_range=(2.4e-5, 3.4e-5),
        looks=(1, 1),
    ),
    "SC": ModeParams(
        acquisition_mode="scan",
        product_type="Scan",
        pixel_spacing=15.0,
        duration=20.0,
        zd_offset=0.5,
        chirp_bandwidth=234_000_000,
        range_sampling_rate=274976224.0,
        prf_range=(3900.0, 4500.0),
        chirp_duration_range=(3.2e-5, 4.2e-5),
        looks=(2, 2),
    ),
}
