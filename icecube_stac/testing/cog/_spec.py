"""Describe one synthetic ICEYE COG-generation product (:class:`CogProductSpec`) and map it onto the legacy planner.

The COG generator reuses the legacy generator's geometry, radar parameters and pixel synthesis: a
:class:`CogProductSpec` is translated by :func:`legacy_spec` into the legacy
:class:`~icecube_stac.testing.ProductSpec` of the same acquisition, so a GRD COG and a legacy GRD of
one acquisition show the same scene, speckle and geolocation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from .._fields import naive_utc, satellite_number
from ..generator import ProductSpec

__all__ = ["INSTRUMENT_MODES", "CogProductSpec", "instrument_mode", "legacy_spec", "mode_family", "with_level"]

#: STAC ``sar:instrument_mode`` of each mode family (the legacy generator's mode codes).
INSTRUMENT_MODES = {"SM": "stripmap", "SL": "spotlight", "SC": "scan"}

_MODE_CODE = re.compile(r"[A-Z][A-Z0-9]{1,7}")
_POLARIZATIONS = {"VV", "HH", "VH", "HV"}


@dataclass(frozen=True)
class CogProductSpec:
    """Parameters of one synthetic ICEYE product of the current (COG + STAC JSON) generation.

    The defaults mirror the real item vendored in ``tests/data/iceye_cog`` (ICEYE-X56, Dwell Fine
    ``SLEDF``, left-looking, descending, Peru, 2025-11-10), on a tiny raster.

    Attributes
    ----------
    level
        ``"GRD"`` (one ``uint16`` band) or ``"SLC"`` (``float32`` amplitude and phase bands).
    image_id
        ICEYE image id, 4-7 digits (``iceye:image_id``).
    satellite
        ``ICEYE-X<n>``.
    mode
        File-name mode code (``SM``, ``SC``, ``SCW``, ``SLH``, ``SLEA``, ``SLEDF``, ``SLF2L``, ...). Any
        upper-case code is accepted: codes starting with ``SL`` image like spotlight, ``SC`` like
        scan, anything else like stripmap (see :func:`mode_family`).
    acquisition_start
        First pulse, UTC (aware datetimes are converted, naive ones are taken as UTC).
    shape
        ``(azimuth samples, range samples)``. The COG stores it transposed: ``ImageWidth`` = azimuth,
        ``ImageLength`` = range, ``proj:shape`` = ``[azimuth, range]``.
    incidence_center
        Ellipsoid incidence angle at the scene centre (deg).
    orbit_direction, look_side, polarization
        ``ascending``/``descending`` (either case), ``left``/``right``, ``VV``/``HH``/``VH``/``HV``.
    center_lat, center_lon
        Scene centre (deg); centres rounding to the same 0.01 deg see the same procedural scene.
    seed
        Drives every random choice (radar parameters, speckle, UUIDs, band scale).
    pixel_spacing
        GRD ground spacing (m); default per mode family (stripmap 2.5, spotlight 0.5, scan 15).
    instrument_mode
        Override of ``sar:instrument_mode``; by default the family's long name. ICEYE also writes
        ``spot``/``strip`` on some products, which this reproduces.
    processor_version, forge_version
        ``processing:software`` values (``ICEYE_I_<processor_version>``, ``forge``).
    run_name, frame_number
        ``iceye:run_name`` (default ``synthetic-<processing date>``) and ``iceye:frame_number``.
    tile_size
        COG tile edge (px), 512 like ICEYE.
    overviews
        Number of internal overview levels. ``None``: GRD as GDAL's COG driver would make them for the
        tile size, but at least one; SLC none.
    with_sidecar
        Write the side-car STAC item ``<stem>.json``; without it the TIFF's ``ICEYE_PROPERTIES`` is the
        only metadata.
    embed_properties
        Write the ``ICEYE_PROPERTIES`` GDAL metadata item into the TIFF.
    preview_2024
        Write the Dec 2023 - Mar 2024 preview generation instead: ``_AML.tif`` / ``_CPX.tif`` with a
        nested ``METADATA_JSON`` item and a ModelTransformation instead of ICEYE_PROPERTIES + tie points.
    amplitude_mapping
        SLC only: ``(scale, exponent)`` of an ``iceye:amplitude_mapping`` ``power`` function; the stored
        amplitude is then ``amplitude ** (exponent / scale)``, which ICEYE's QGIS plugin undoes with
        ``stored ** (scale / exponent)``.
    """

    level: Literal["GRD", "SLC"] = "GRD"
    image_id: int = 7010715
    satellite: str = "ICEYE-X56"
    mode: str = "SLEDF"
    acquisition_start: datetime = datetime(2025, 11, 10, 18, 20, 58)
    shape: tuple[int, int] = (64, 48)
    incidence_center: float = 29.03
    orbit_direction: str = "descending"
    look_side: Literal["left", "right"] = "left"
    polarization: str = "VV"
    center_lat: float = -9.5418
    center_lon: float = -77.0577
    seed: int = 0
    pixel_spacing: float | None = None
    instrument_mode: str | None = None
    processor_version: str = "1.1.4"
    forge_version: str = "v1.0.1"
    run_name: str | None = None
    frame_number: int = 1
    tile_size: int = 512
    overviews: int | None = None
    with_sidecar: bool = True
    embed_properties: bool = True
    preview_2024: bool = False
    amplitude_mapping: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        # Accept the legacy upper-case spelling too; keep one canonical (STAC) form.
        object.__setattr__(self, "orbit_direction", str(self.orbit_direction).lower())
        _check(self.level in ("GRD", "SLC"), "level", self.level)
        _check(1000 <= self.image_id <= 9_999_999, "image_id", self.image_id)
        satellite_number(self.satellite)
        _check(_MODE_CODE.fullmatch(self.mode) is not None, "mode", self.mode)
        _check(len(self.shape) == 2 and min(self.shape) >= 2, "shape", self.shape)
        _check(self.orbit_direction in ("ascending", "descending"), "orbit_direction", self.orbit_direction)
        _check(self.look_side in ("left", "right"), "look_side", self.look_side)
        _check(self.polarization in _POLARIZATIONS, "polarization", self.polarization)
        _check(self.tile_size >= 16 and self.tile_size % 16 == 0, "tile_size", self.tile_size)
        _check(self.overviews is None or 0 <= self.overviews <= 12, "overviews", self.overviews)
        _check(self.frame_number >= 1, "frame_number", self.frame_number)
        mapping = self.amplitude_mapping
        _check(mapping is None or (self.level == "SLC" and min(mapping) > 0), "amplitude_mapping", mapping)
        legacy_spec(self)  # the legacy spec checks incidence, centre and spacing


def _check(ok: bool, name: str, value: object) -> None:
    if not ok:
        raise ValueError(f"CogProductSpec.{name}: unsupported value {value!r}")


def mode_family(mode: str) -> Literal["SM", "SL", "SC"]:
    """Return the legacy mode family whose radar parameters a mode code images with.

    Parameters
    ----------
    mode
        A file-name mode code such as ``SM``, ``SLEDF``, ``SCW`` or an unknown one.

    Returns
    -------
    str
        ``"SL"`` for codes starting with ``SL`` (spotlight, dwell), ``"SC"`` for ``SC...`` (scan),
        ``"SM"`` (stripmap) for everything else, so unknown codes still produce a product.
    """
    if mode.startswith("SL"):
        return "SL"
    if mode.startswith("SC"):
        return "SC"
    return "SM"


def instrument_mode(spec: CogProductSpec) -> str:
    """Return the ``sar:instrument_mode`` of ``spec``: its override, else its family's long name."""
    return spec.instrument_mode or INSTRUMENT_MODES[mode_family(spec.mode)]


def legacy_spec(spec: CogProductSpec, level: Literal["GRD", "SLC"] | None = None) -> ProductSpec:
    """Return the legacy product spec of the same acquisition, which the COG generator plans from.

    Parameters
    ----------
    spec
        The COG product.
    level
        Level of the legacy twin; ``spec.level`` by default.

    Returns
    -------
    ProductSpec
        Same image id, satellite, start, mode family, shape, geometry and seed; SLC samples as
        ``float32`` (the COG stores float amplitude and phase); no XML or quicklook sidecars.
    """
    return ProductSpec(
        level=level or spec.level,
        image_id=spec.image_id,
        satellite=spec.satellite,
        acquisition_start=naive_utc(spec.acquisition_start),
        mode=mode_family(spec.mode),
        shape=spec.shape,
        incidence_center=spec.incidence_center,
        orbit_direction="ASCENDING" if spec.orbit_direction == "ascending" else "DESCENDING",
        look_side=spec.look_side,
        polarization=spec.polarization,
        center_lat=spec.center_lat,
        center_lon=spec.center_lon,
        slc_dtype="float32",
        spec_version="2.4",
        seed=spec.seed,
        xml=False,
        quicklook=False,
        pixel_spacing=spec.pixel_spacing,
    )


def with_level(spec: CogProductSpec, level: Literal["GRD", "SLC"]) -> CogProductSpec:
    """Return ``spec`` at another level (the other product of the same acquisition)."""
    return replace(spec, level=level, amplitude_mapping=spec.amplitude_mapping if level == "SLC" else None)
