"""Derive the georeferencing of a COG product from the legacy plan: affine, tie points, RPC, polynomials, angles.

Everything is expressed in TIFF pixel space (column = azimuth as :mod:`._orientation` says,
row = range sample) and computed from the legacy planner's zero-Doppler geometry, so the affine
``proj:transform``, the ModelTiepoint grid, the RPC, the corners, the incidence polynomial and the
zero-Doppler times all describe the same ground. Like ICEYE's products, the tie points are the
affine itself (ICEYE's ``proj:transform`` reproduces its tie points to ~1e-7 deg), pixel index
``(i, j)`` maps to the affine at ``(i, j)`` (corners at 0 and N - 1), and ``z`` of the tie points
is the average scene height [INF: ICEYE's z is not public].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.polynomial import polynomial as npoly
from numpy.typing import NDArray

from .._geodesy import ecef_to_geodetic, surface_normal
from .._plan import ProductPlan
from .._rpc import fit_rpc
from ._orientation import line_of_column

__all__ = ["CogGeometry", "affine_apply", "cog_geometry"]

F64 = NDArray[np.float64]

_FIT_GRID = 16
_TIEPOINT_GRID = 10
_RPC_GRID = 12
_RPC_HEIGHTS = np.array([-500.0, -250.0, 0.0, 250.0, 500.0])
# Fit range polynomials over at least this much ground so tiny rasters get realistic coefficients.
_MIN_FIT_GROUND = 20_000.0
_INCIDENCE_ORDER = 3
_GRSR_ORDER = 4

_Affine = tuple[float, float, float, float, float, float]


@dataclass(frozen=True)
class CogGeometry:
    """Georeferencing of one COG product in TIFF pixel space.

    Attributes
    ----------
    transform
        ``proj:transform`` in GDAL GeoTransform order ``[lon0, dlon/dcol, dlon/drow, lat0, dlat/dcol,
        dlat/drow]``, mapping pixel index ``(col, row)`` to lon/lat.
    tiepoints
        ``(n, 5)`` rows of ``col, row, lon, lat, z``, column-major (row index fastest).
    corners
        ``(4, 2)`` lon/lat of pixels ``(0, 0)``, ``(W-1, 0)``, ``(W-1, H-1)``, ``(0, H-1)``.
    rpc
        RPC00B in the legacy key format (upper-case), line = TIFF row, sample = TIFF column.
    incidence_coeffs
        Incidence (deg) polynomial in the range sample index (TIFF row), lowest order first.
    incidence
        Incidence (deg) at the near, centre and far range samples (from the polynomial).
    ground_to_slant
        Slant range (m) polynomial in ground range (m) from range sample 0.
    slant
        Slant range (m) of the near, centre and far range samples.
    ground_speed, off_nadir
        Ground speed of the beam (m/s) and off-nadir angle (deg) at the scene centre.
    focal_plane_normal, image_plane_normal
        Unit ECEF vectors: ellipsoid normal at the scene centre, and velocity x line of sight.
    """

    transform: _Affine
    tiepoints: F64
    corners: F64
    rpc: dict[str, Any]
    incidence_coeffs: F64
    incidence: tuple[float, float, float]
    ground_to_slant: F64
    slant: tuple[float, float, float]
    ground_speed: float
    off_nadir: float
    focal_plane_normal: F64
    image_plane_normal: F64


def affine_apply(transform: tuple[float, ...] | list[float], col: F64, row: F64) -> tuple[F64, F64]:
    """Evaluate a GDAL-order transform at pixel indices: returns lon, lat."""
    lon0, a, b, lat0, d, e = (float(v) for v in transform)
    col, row = np.asarray(col, np.float64), np.asarray(row, np.float64)
    return lon0 + a * col + b * row, lat0 + d * col + e * row


def _ground(plan: ProductPlan, col: F64, row: F64, height: F64, look_side: str) -> tuple[F64, F64, F64]:
    """Geolocate TIFF pixels at ellipsoidal heights: lat, lon, height."""
    n_az = int(plan.fields["number_of_azimuth_samples"])
    line = line_of_column(col, n_az, look_side)
    points = plan.geometry.locate(plan.tau(line), plan.range_axis.slant_range(row), height)
    return ecef_to_geodetic(points)


def _fit_affine(plan: ProductPlan, shape: tuple[int, int], height: float, look_side: str) -> _Affine:
    """Least-squares affine lon/lat of a pixel grid geolocated on the ellipsoid raised to the scene height."""
    n_az, n_rg = shape
    grid = np.meshgrid(
        np.linspace(0.0, n_az - 1.0, min(n_az, _FIT_GRID)), np.linspace(0.0, n_rg - 1.0, min(n_rg, _FIT_GRID))
    )
    cols, rows = grid[0].ravel(), grid[1].ravel()
    lat, lon, _ = _ground(plan, cols, rows, np.full(cols.shape, height), look_side)
    design = np.stack([np.ones_like(cols), cols, rows], axis=-1)
    lon_c = np.linalg.lstsq(design, lon, rcond=None)[0]
    lat_c = np.linalg.lstsq(design, lat, rcond=None)[0]
    return (float(lon_c[0]), float(lon_c[1]), float(lon_c[2]), float(lat_c[0]), float(lat_c[1]), float(lat_c[2]))


def _tiepoints(transform: tuple[float, ...], shape: tuple[int, int], height: float) -> F64:
    """Return the ModelTiepoint grid: the affine at up to 10 x 10 pixel indices, row index fastest."""
    n_az, n_rg = shape
    cols = np.unique(np.rint(np.linspace(0.0, n_az - 1.0, min(n_az, _TIEPOINT_GRID))))
    rows = np.unique(np.rint(np.linspace(0.0, n_rg - 1.0, min(n_rg, _TIEPOINT_GRID))))
    col, row = (a.ravel() for a in np.meshgrid(cols, rows, indexing="ij"))
    lon, lat = affine_apply(transform, col, row)
    return np.stack([col, row, lon, lat, np.full(col.shape, height)], axis=-1)


def _fit_tiff_rpc(plan: ProductPlan, shape: tuple[int, int], height: float, look_side: str) -> dict[str, Any]:
    """Fit the RPC to a 12 x 12 pixel grid geolocated at five heights, in TIFF line (row) / sample (column)."""
    n_az, n_rg = shape
    col, row, dh = np.meshgrid(
        np.linspace(0.0, n_az - 1.0, _RPC_GRID), np.linspace(0.0, n_rg - 1.0, _RPC_GRID), _RPC_HEIGHTS, indexing="ij"
    )
    col, row, heights = col.ravel(), row.ravel(), (dh + height).ravel()
    lat, lon, h = _ground(plan, col, row, heights, look_side)
    return fit_rpc(row, col, lat, lon, h, height)


def _fit_scaled(x: F64, y: F64, order: int) -> F64:
    """Polynomial in raw ``x`` (lowest order first), fitted in ``x / max(x)`` for conditioning."""
    extent = float(np.max(x))
    scaled = npoly.polyfit(x / extent, y, order)
    return np.asarray(scaled / extent ** np.arange(order + 1), dtype=np.float64)


def _profile(plan: ProductPlan, n_rg: int, height: float) -> tuple[F64, F64, F64, F64]:
    """Sample the scene-centre zero-Doppler line from range sample 0: samples, slant, ground arc, incidence."""
    axis = plan.range_axis
    sin_inc = np.sin(np.radians(float(plan.fields["incidence_center"])))
    ground_px = axis.spacing if axis.grsr is not None else axis.spacing / sin_inc
    extent = max(n_rg - 1.0, np.ceil(_MIN_FIT_GROUND / ground_px), 8.0)
    samples = np.linspace(0.0, extent, 257)
    slant = axis.slant_range(samples)
    points = plan.geometry.locate(0.0, slant, height)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=-1))])
    return samples, slant, arc, plan.geometry.incidence_deg(0.0, points)


def _angles(plan: ProductPlan, center_range: float, height: float) -> tuple[float, float, F64, F64]:
    """Ground speed, off-nadir angle and the focal/image plane normals at the scene centre."""
    geometry = plan.geometry
    track = geometry.locate(np.array([-0.5, 0.5]), center_range, height)
    sat, vel = geometry.orbit.state(0.0)
    center = geometry.locate(0.0, center_range, height)
    los = center - sat
    cos_nadir = float(-(sat @ los)) / (np.linalg.norm(sat) * np.linalg.norm(los))
    lat, lon, _ = ecef_to_geodetic(center)
    normal = np.cross(vel, los)
    return (
        float(np.linalg.norm(track[1] - track[0])),
        float(np.degrees(np.arccos(np.clip(cos_nadir, -1.0, 1.0)))),
        np.asarray(surface_normal(lat, lon), np.float64),
        np.asarray(normal / np.linalg.norm(normal), np.float64),
    )


def cog_geometry(plan: ProductPlan, shape: tuple[int, int], look_side: str) -> CogGeometry:
    """Compute the georeferencing of a COG product from its legacy plan.

    Parameters
    ----------
    plan
        The legacy plan of the same acquisition (``legacy_spec``).
    shape
        ``(azimuth, range)`` samples.
    look_side
        ``"left"`` or ``"right"``; decides which column is the first azimuth line.

    Returns
    -------
    CogGeometry
        Affine, tie points, corners, RPC, range polynomials and angles, mutually consistent.
    """
    n_az, n_rg = shape
    # The whole product is referenced to the integer iceye:average_scene_height (as ICEYE writes it):
    # half a metre of height is a pixel of ground shift at sub-metre spacing.
    height = float(round(float(plan.fields["avg_scene_height"])))
    transform = _fit_affine(plan, shape, height, look_side)
    corner_lon, corner_lat = affine_apply(
        transform, np.array([0.0, n_az - 1.0, n_az - 1.0, 0.0]), np.array([0.0, 0.0, n_rg - 1.0, n_rg - 1.0])
    )
    samples, slant, arc, incidence = _profile(plan, n_rg, height)
    inc_coeffs = _fit_scaled(samples, incidence, _INCIDENCE_ORDER)
    picks = npoly.polyval(np.array([0.0, (n_rg - 1) / 2.0, n_rg - 1.0]), inc_coeffs)
    grsr = plan.range_axis.grsr if plan.range_axis.grsr is not None else _fit_scaled(arc, slant, _GRSR_ORDER)
    ranges = plan.range_axis.slant_range(np.array([0.0, (n_rg - 1) / 2.0, n_rg - 1.0]))
    speed, off_nadir, focal, image = _angles(plan, float(ranges[1]), height)
    return CogGeometry(
        transform=transform,
        tiepoints=_tiepoints(transform, shape, height),
        corners=np.stack([corner_lon, corner_lat], axis=-1),
        rpc=_fit_tiff_rpc(plan, shape, height, look_side),
        incidence_coeffs=inc_coeffs,
        incidence=(float(picks[0]), float(picks[1]), float(picks[2])),
        ground_to_slant=np.asarray(grsr, np.float64),
        slant=(float(ranges[0]), float(ranges[1]), float(ranges[2])),
        ground_speed=speed,
        off_nadir=off_nadir,
        focal_plane_normal=focal,
        image_plane_normal=image,
    )
