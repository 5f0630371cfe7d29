"""Range axes: GRD ground range (GRSR + incidence polynomials) and SLC slant range."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial import polynomial as npoly
from numpy.typing import NDArray

from ._geodesy import WGS84_A
from ._geometry import SarGeometry

__all__ = ["RangeAxis", "grd_range_axis", "slc_range_axis"]

F64 = NDArray[np.float64]

_POLY_ORDER = 4
# Fit the GRD polynomials over at least this much ground range so that the coefficients of tiny
# test rasters have the magnitudes of real 20-45 km swaths instead of fitting noise.
_MIN_FIT_EXTENT = 20_000.0
_PROFILE_SAMPLES = 257


@dataclass(frozen=True)
class RangeAxis:
    """Maps 0-based range pixel index to slant range.

    Attributes
    ----------
    spacing
        Pixel spacing (m): ground spacing for GRD, slant spacing for SLC.
    near_range
        Slant range of pixel 0 (m).
    grsr
        GRD only: ground-to-slant polynomial, lowest order first, in ground range (m) from pixel 0.
    incidence
        GRD only: incidence polynomial (deg), lowest order first, in ground range (m).
    """

    spacing: float
    near_range: float
    grsr: F64 | None = None
    incidence: F64 | None = None

    def slant_range(self, sample: F64) -> F64:
        """Return the slant range (m) of fractional 0-based range pixel indices."""
        sample = np.asarray(sample, dtype=np.float64)
        if self.grsr is None:
            return np.asarray(self.near_range + sample * self.spacing, dtype=np.float64)
        return np.asarray(npoly.polyval(sample * self.spacing, self.grsr), dtype=np.float64)


def _fit_poly(x: F64, y: F64, extent: float) -> F64:
    """Least-squares polynomial of order 4 in ``x``, fitted in ``x / extent`` for conditioning."""
    scaled = npoly.polyfit(x / extent, y, _POLY_ORDER)
    return np.asarray(scaled / extent ** np.arange(_POLY_ORDER + 1), dtype=np.float64)


def _swath_profile(
    geometry: SarGeometry, center_range: float, height: float, near: float, far: float, incidence: float
) -> tuple[F64, F64, F64]:
    """Sample the scene-centre zero-Doppler line: (ground range from centre, slant range, incidence)."""
    sin_inc = np.sin(np.radians(incidence))
    # The far side needs more slant range per ground metre as incidence grows along the swath.
    growth = far * (np.cos(np.radians(incidence)) / center_range + 1.0 / WGS84_A)
    lo = center_range - near * sin_inc - 1.0
    hi = center_range + far * min(1.0, np.sin(np.radians(incidence) + growth)) * 1.02 + 1.0
    slant = np.linspace(lo, hi, _PROFILE_SAMPLES)
    points = geometry.locate(0.0, slant, height)
    chords = np.linalg.norm(np.diff(points, axis=0), axis=-1)
    arc = np.concatenate([[0.0], np.cumsum(chords)])
    arc -= np.interp(center_range, slant, arc)
    return arc, slant, geometry.incidence_deg(0.0, points)


def grd_range_axis(
    geometry: SarGeometry, center_range: float, height: float, n_range: int, spacing: float, incidence: float
) -> RangeAxis:
    """Build the GRD ground-range axis with the scene centre at pixel ``(n_range - 1) / 2``.

    Parameters
    ----------
    geometry
        The acquisition geometry (scene centre at ``tau = 0``).
    center_range
        Slant range (m) of the scene centre.
    height
        Average scene height (m): ground range is measured on the ellipsoid raised by it.
    n_range
        Number of range pixels.
    spacing
        Ground pixel spacing (m).
    incidence
        Scene-centre incidence (deg), used only to bracket the sampled swath.

    Returns
    -------
    RangeAxis
        With GRSR and incidence polynomials in ground range from pixel 0.
    """
    half = (n_range - 1) / 2.0 * spacing
    extent = max((n_range - 1) * spacing, _MIN_FIT_EXTENT)
    arc, slant, inc = _swath_profile(geometry, center_range, height, half, extent - half, incidence)
    ground = arc + half
    grsr = _fit_poly(ground, slant, extent)
    inc_poly = _fit_poly(ground, inc, extent)
    return RangeAxis(spacing=spacing, near_range=float(grsr[0]), grsr=grsr, incidence=inc_poly)


def slc_range_axis(center_range: float, n_range: int, sampling_rate: float) -> RangeAxis:
    """Build the SLC slant-range axis (spacing ``c / (2 fs)``) centred on the scene centre."""
    spacing = 299792458.0 / (2.0 * sampling_rate)
    near = center_range - (n_range - 1) / 2.0 * spacing
    return RangeAxis(spacing=spacing, near_range=near)
