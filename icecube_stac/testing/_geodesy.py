"""WGS84 ellipsoid helpers: geodetic <-> ECEF, local ENU frames, bearings.

Everything is vectorised over leading axes; positions are ``(..., 3)`` arrays in metres.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "GM",
    "SPEED_OF_LIGHT",
    "WGS84_A",
    "WGS84_B",
    "WGS84_E2",
    "bearing_deg",
    "ecef_to_geodetic",
    "enu_basis",
    "geocentric_radius",
    "geodetic_to_ecef",
    "surface_normal",
]

F64 = NDArray[np.float64]

SPEED_OF_LIGHT = 299792458.0
GM = 3.986004418e14
WGS84_A = 6378137.0
WGS84_F = 1.0 / 298.257223563
WGS84_B = WGS84_A * (1.0 - WGS84_F)
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)


def geodetic_to_ecef(lat: ArrayLike, lon: ArrayLike, height: ArrayLike) -> F64:
    """Convert geodetic latitude/longitude (degrees) and ellipsoidal height (m) to ECEF metres.

    Parameters
    ----------
    lat, lon
        Geodetic latitude and longitude in degrees.
    height
        Height above the WGS84 ellipsoid in metres.

    Returns
    -------
    numpy.ndarray
        ECEF coordinates with a trailing axis of length 3.
    """
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    lam = np.radians(np.asarray(lon, dtype=np.float64))
    h = np.asarray(height, dtype=np.float64)
    sin_phi = np.sin(phi)
    n = WGS84_A / np.sqrt(1.0 - WGS84_E2 * sin_phi**2)
    x = (n + h) * np.cos(phi) * np.cos(lam)
    y = (n + h) * np.cos(phi) * np.sin(lam)
    z = (n * (1.0 - WGS84_E2) + h) * sin_phi
    return np.stack(np.broadcast_arrays(x, y, z), axis=-1)


def ecef_to_geodetic(xyz: F64) -> tuple[F64, F64, F64]:
    """Convert ECEF metres to geodetic latitude, longitude (degrees) and height (m).

    Parameters
    ----------
    xyz
        ECEF coordinates with a trailing axis of length 3.

    Returns
    -------
    tuple of numpy.ndarray
        Latitude, longitude and ellipsoidal height.
    """
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    p = np.hypot(x, y)
    phi = np.arctan2(z, p * (1.0 - WGS84_E2))
    # Fixed-point iteration: three steps reach sub-millimetre accuracy up to orbit heights.
    for _ in range(3):
        sin_phi = np.sin(phi)
        n = WGS84_A / np.sqrt(1.0 - WGS84_E2 * sin_phi**2)
        h = p / np.cos(phi) - n
        phi = np.arctan2(z, p * (1.0 - WGS84_E2 * n / (n + h)))
    sin_phi = np.sin(phi)
    n = WGS84_A / np.sqrt(1.0 - WGS84_E2 * sin_phi**2)
    h = p * np.cos(phi) + z * sin_phi - n * (1.0 - WGS84_E2 * sin_phi**2)
    return np.degrees(phi), np.degrees(np.arctan2(y, x)), h


def surface_normal(lat: ArrayLike, lon: ArrayLike) -> F64:
    """Return the unit ellipsoid normal ("up") at geodetic latitude/longitude in degrees."""
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    lam = np.radians(np.asarray(lon, dtype=np.float64))
    up = (np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi))
    return np.stack(np.broadcast_arrays(*up), axis=-1)


def enu_basis(lat: float, lon: float) -> tuple[F64, F64, F64]:
    """Return the local East, North and Up unit vectors (ECEF) at a geodetic position in degrees."""
    phi, lam = np.radians(lat), np.radians(lon)
    east = np.array([-np.sin(lam), np.cos(lam), 0.0])
    north = np.array([-np.sin(phi) * np.cos(lam), -np.sin(phi) * np.sin(lam), np.cos(phi)])
    up = np.array([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])
    return east, north, up


def geocentric_radius(lat: float) -> float:
    """Return the distance (m) from the Earth's centre to the ellipsoid at a geodetic latitude."""
    phi = np.radians(lat)
    a2c, b2s = WGS84_A**2 * np.cos(phi), WGS84_B**2 * np.sin(phi)
    ac, bs = WGS84_A * np.cos(phi), WGS84_B * np.sin(phi)
    return float(np.sqrt((a2c**2 + b2s**2) / (ac**2 + bs**2)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the initial great-circle bearing (degrees clockwise from north) from point 1 to point 2."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dlam = np.radians(lon2 - lon1)
    y = np.sin(dlam) * np.cos(phi2)
    x = np.cos(phi1) * np.sin(phi2) - np.sin(phi1) * np.cos(phi2) * np.cos(dlam)
    return float(np.degrees(np.arctan2(y, x)) % 360.0)
