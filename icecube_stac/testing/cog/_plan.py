"""Plan a COG product: legacy geometry + COG georeferencing + radiometry, and synthesise its pixels in TIFF layout.

Radiometry [INF, ICEYE does not document it for COGs]: the real GRD and SLC items of one
acquisition share ``iceye:calibration_factor``, so both are taken to calibrate the *amplitude*:
sigma0 (GRD) or beta0 (SLC) = ``calibration_factor * amplitude**2``, where the GRD amplitude is
``DN * SCALE + OFFSET`` and the SLC amplitude is the ``amplitude`` band (after undoing
``iceye:amplitude_mapping``). The GRD keeps the legacy twin's DNs byte for byte; its ``SCALE`` is
drawn near ICEYE's 1.26 and the calibration factor follows. The SLC's complex value is
``amplitude * exp(+1j * phase)`` (SNAP's convention; ICEYE's QGIS plugin uses ``exp(-1j * phase)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from .._pixels import grd_amplitude, slc_samples
from .._plan import ProductPlan, plan_product
from ..generator import metadata_fields, product_name
from ._geometry import CogGeometry, cog_geometry
from ._orientation import to_shadows_down
from ._spec import CogProductSpec, legacy_spec

__all__ = ["CogPlan", "grd_pixels", "plan_cog", "slc_pixels"]

_SCALE_RANGE = (1.05, 1.55)
_SQUINT_SIGMA = 0.05  # deg; the real item has -0.061


@dataclass(frozen=True)
class CogPlan:
    """Everything a COG product is written from.

    Attributes
    ----------
    spec
        The product.
    legacy
        The legacy plan of the same acquisition (fields, geometry, scene, times).
    geometry
        Georeferencing in TIFF pixel space.
    calibration_factor
        ``iceye:calibration_factor`` shared by the GRD and SLC of the acquisition.
    band_scale
        GRD band ``SCALE`` (DN to amplitude); 1.0 for SLC.
    squint
        ``iceye:squint_angle`` (deg).
    processing_end
        ``iceye:processing_end_datetime`` (naive UTC); ``created`` is it truncated to the second.
    """

    spec: CogProductSpec
    legacy: ProductPlan
    geometry: CogGeometry
    calibration_factor: float
    band_scale: float
    squint: float
    processing_end: datetime


def plan_cog(spec: CogProductSpec) -> CogPlan:
    """Plan the COG product of ``spec`` from its legacy twin.

    Parameters
    ----------
    spec
        The product.

    Returns
    -------
    CogPlan
        Deterministic in ``spec``: GRD and SLC specs of one acquisition share the calibration
        factor, the orbit, the Doppler estimates and the image reference.
    """
    legacy_product = legacy_spec(spec)
    legacy = plan_product(legacy_product, product_name(legacy_product))
    rng = np.random.default_rng([spec.seed, 31])
    scale = float(rng.uniform(*_SCALE_RANGE))
    if spec.level == "GRD":
        grd_factor = float(legacy.fields["calibration_factor"])
    else:
        grd_factor = float(metadata_fields(legacy_spec(spec, "GRD"))["calibration_factor"])
    processing = legacy.times.processing + timedelta(microseconds=int(rng.integers(0, 1_000_000)))
    return CogPlan(
        spec=spec,
        legacy=legacy,
        geometry=cog_geometry(legacy, spec.shape, spec.look_side),
        calibration_factor=grd_factor / scale**2,
        band_scale=scale if spec.level == "GRD" else 1.0,
        squint=float(rng.normal(0.0, _SQUINT_SIGMA)),
        processing_end=processing,
    )


def grd_pixels(plan: CogPlan) -> NDArray[np.uint16]:
    """Return the GRD band in TIFF layout ``(range rows, azimuth columns)``: the legacy twin's DNs, shadows-down."""
    return to_shadows_down(grd_amplitude(plan.legacy, plan.spec.seed), plan.spec.look_side)


def slc_pixels(plan: CogPlan) -> NDArray[np.float32]:
    """Return the SLC ``(2, range rows, azimuth columns)`` amplitude and phase bands in TIFF layout.

    Parameters
    ----------
    plan
        A plan of an SLC spec.

    Returns
    -------
    numpy.ndarray
        ``float32``: band 0 the stored amplitude (``amplitude ** (exponent / scale)`` when the spec
        has an amplitude mapping), band 1 the phase in radians, ``atan2(q, i)`` of the legacy twin.
    """
    i, q = slc_samples(plan.legacy, plan.spec.seed, "float32")
    i64, q64 = np.asarray(i, np.float64), np.asarray(q, np.float64)
    # Rescale so that calibration_factor * amplitude**2 is the legacy twin's beta0.
    gain = np.sqrt(float(plan.legacy.fields["calibration_factor"]) / plan.calibration_factor)
    amplitude = np.hypot(i64, q64) * gain
    if plan.spec.amplitude_mapping is not None:
        scale, exponent = plan.spec.amplitude_mapping
        amplitude = amplitude ** (exponent / scale)
    bands = np.stack([amplitude, np.arctan2(q64, i64)]).astype(np.float32)
    return to_shadows_down(bands, plan.spec.look_side)
