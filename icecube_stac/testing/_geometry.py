"""Side-looking SAR acquisition geometry: a circular orbit and zero-Doppler geolocation.

The orbit is a circle around the Earth's centre written directly in ECEF (no Earth rotation),
which is not a precise orbit model but gives state vectors at ~6.9e6 m with |v| ~ 7.6 km/s that
are consistent with velocity * dt, and a ground track with the heading of a sun-synchronous pass.
Times ``tau`` are seconds relative to the scene-centre zero-Doppler time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._geodesy import (
    GM,
    WGS84_A,
    ecef_to_geodetic,
    enu_basis,
    geocentric_radius,
    geodetic_to_ecef,
    surface_normal,
)

__all__ = ["Orbit", "SarGeometry", "build_geometry", "track_heading"]

F64 = NDArray[np.float64]

# ICEYE flies sun-synchronous orbits; the inclination only shapes the ground-track heading here.
_INCLINATION_DEG = 97.7
_EARTH_ROTATION = 7.2921150e-5


def track_heading(lat: float, ascending: bool, altitude: float) -> float:
    """Return the ground-track heading (degrees from north) of a sun-synchronous pass at a latitude.

    Parameters
    ----------
    lat
        Geodetic latitude of the scene in degrees.
    ascending
        True for a northbound pass.
    altitude
        Orbit altitude in metres (sets the ground-track speed relative to Earth rotation).

    Returns
    -------
    float
        Heading in [0, 360): about 191 deg descending and 349 deg ascending near the equator.
    """
    radius = WGS84_A + altitude
    ground_speed = np.sqrt(GM / radius) * WGS84_A / radius
    cos_lat = np.cos(np.radians(lat))
    sin_psi = np.clip(np.cos(np.radians(_INCLINATION_DEG)) / cos_lat, -1.0, 1.0)
    north = ground_speed * np.sqrt(1.0 - sin_psi**2) * (1.0 if ascending else -1.0)
    east = ground_speed * sin_psi - _EARTH_ROTATION * WGS84_A * cos_lat
    return float(np.degrees(np.arctan2(east, north)) % 360.0)


@dataclass(frozen=True)
class Orbit:
    """Circular orbit ``S(tau) = R (cos(w tau) u0 + sin(w tau) w0)`` in ECEF."""

    radius: float
    omega: float
    u0: F64
    w0: F64

    def state(self, tau: ArrayLike) -> tuple[F64, F64]:
        """Return positions and velocities, each ``(..., 3)``, at times ``tau`` (s)."""
        t = np.asarray(tau, dtype=np.float64)[..., None]
        c, s = np.cos(self.omega * t), np.sin(self.omega * t)
        pos = self.radius * (c * self.u0 + s * self.w0)
        vel = self.radius * self.omega * (-s * self.u0 + c * self.w0)
        return pos, vel

    @property
    def speed(self) -> float:
        """Orbital speed in m/s."""
        return self.radius * self.omega


@dataclass(frozen=True)
class SarGeometry:
    """Zero-Doppler geolocation for one side-looking acquisition.

    Attributes
    ----------
    orbit
        The platform trajectory.
    look_sign
        +1 for right-looking, -1 for left-looking.
    """

    orbit: Orbit
    look_sign: float

    def locate(self, tau: ArrayLike, slant_range: ArrayLike, height: ArrayLike) -> F64:
        """Return ECEF points at zero Doppler time ``tau``, slant range (m) and ellipsoidal height (m)."""
        tau_a, rng_a, h_a = np.broadcast_arrays(
            np.asarray(tau, np.float64), np.asarray(slant_range, np.float64), np.asarray(height, np.float64)
        )
        sat, vel = self.orbit.state(tau_a)
        along = vel / np.linalg.norm(vel, axis=-1, keepdims=True)
        down = -sat / np.linalg.norm(sat, axis=-1, keepdims=True)
        down -= np.sum(down * along, axis=-1, keepdims=True) * along
        down /= np.linalg.norm(down, axis=-1, keepdims=True)
        side = self.look_sign * np.cross(down, along)
        sat_r = np.linalg.norm(sat, axis=-1)
        # Spherical first guess, then Newton on the geodetic height inside the zero-Doppler plane.
        rho = geocentric_radius(float(np.mean(ecef_to_geodetic(sat)[0]))) + h_a
        cos_a = np.clip((sat_r**2 + rng_a**2 - rho**2) / (2.0 * sat_r * rng_a), -1.0, 1.0)
        alpha = np.arccos(cos_a)
        r = rng_a[..., None]
        for _ in range(5):
            ca, sa = np.cos(alpha)[..., None], np.sin(alpha)[..., None]
            point = sat + r * (ca * down + sa * side)
            lat, lon, h_now = ecef_to_geodetic(point)
            slope = np.sum(surface_normal(lat, lon) * r * (-sa * down + ca * side), axis=-1)
            step = (h_a - h_now) / slope
            alpha = alpha + step
            if float(np.max(np.abs(step), initial=0.0)) < 1e-10:  # ~0.1 mm at 800 km range
                break
        ca, sa = np.cos(alpha)[..., None], np.sin(alpha)[..., None]
        return np.asarray(sat + r * (ca * down + sa * side), dtype=np.float64)

    def incidence_deg(self, tau: ArrayLike, point: F64) -> F64:
        """Return the ellipsoid incidence angle (degrees) of ECEF ``point`` seen at time ``tau``."""
        sat, _ = self.orbit.state(tau)
        los = sat - point
        los /= np.linalg.norm(los, axis=-1, keepdims=True)
        lat, lon, _ = ecef_to_geodetic(point)
        cos_inc = np.sum(los * surface_normal(lat, lon), axis=-1)
        return np.asarray(np.degrees(np.arccos(np.clip(cos_inc, -1.0, 1.0))), dtype=np.float64)


def build_geometry(
    center: tuple[float, float, float],
    incidence_deg: float,
    heading_deg: float,
    look_sign: float,
    altitude: float,
) -> tuple[SarGeometry, float]:
    """Place a circular orbit so that the scene centre is seen at zero Doppler at ``tau = 0``.

    Parameters
    ----------
    center
        Scene-centre latitude, longitude (degrees) and ellipsoidal height (m).
    incidence_deg
        Ellipsoid incidence angle at the scene centre.
    heading_deg
        Desired ground-track heading at the scene.
    look_sign
        +1 right-looking, -1 left-looking.
    altitude
        Orbit altitude above the geocentric Earth radius at the scene latitude (m).

    Returns
    -------
    tuple
        The geometry and the slant range (m) from the platform to the scene centre at ``tau = 0``.
    """
    lat, lon, height = center
    target = geodetic_to_ecef(lat, lon, height)
    east, north, up = enu_basis(lat, lon)
    psi, theta = np.radians(heading_deg), np.radians(incidence_deg)
    flight = np.cos(psi) * north + np.sin(psi) * east
    look = look_sign * (np.cos(psi) * east - np.sin(psi) * north)
    to_sat = np.cos(theta) * up - np.sin(theta) * look
    radius = geocentric_radius(lat) + altitude
    proj = float(target @ to_sat)
    slant = -proj + np.sqrt(proj**2 - float(target @ target) + radius**2)
    sat = target + slant * to_sat
    u0 = sat / np.linalg.norm(sat)
    w0 = np.cross(u0, to_sat)
    w0 /= np.linalg.norm(w0)
    if float(w0 @ flight) < 0.0:
        w0 = -w0
    orbit = Orbit(radius=float(np.linalg.norm(sat)), omega=float(np.sqrt(GM / radius**3)), u0=u0, w0=w0)
    return SarGeometry(orbit=orbit, look_sign=look_sign), float(slant)
