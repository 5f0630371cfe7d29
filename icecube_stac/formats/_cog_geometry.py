"""Decide from an ICEYE COG item's own metadata how its raster axes map onto azimuth time and range.

ICEYE COGs are stored "shadows-down" (range down the TIFF rows, azimuth along the columns, the
column direction depending on the look side), but the layout is decided here from the data, never
assumed:

1. **Geometry** (needs ``proj:transform``, ``iceye:orbit_states`` and ``iceye:average_scene_height``):
   three raster corners are geolocated with the affine, and for each the zero-Doppler time and slant
   range are solved against the orbit. Along the azimuth axis the zero-Doppler time changes and the
   slant range hardly does; along the range axis the opposite. The sign of the time change gives the
   azimuth direction, the sign of the range change the range direction. This is crop-proof (a window
   of a frame keeps its geometry) and look-side-free.
2. **Incidence polynomial** (``iceye:incidence_angle_coeffs`` in the range sample index, with
   ``iceye:incidence_angle_near``/``far``): the axis whose last index gives the far incidence is the
   range axis, and index 0 giving the near (or far) incidence tells the range direction. It checks
   (1); alone, it decides the range axis when only one axis length matches (full frames).
3. **Fallbacks**, when the data cannot tell: ``iceye:orientation`` ``shadows-down`` (ICEYE's default,
   assumed when the field is missing, as on open-data scene items) puts range down the rows, near
   first; the azimuth direction then follows ICEYE's shadows-down rule (columns run with time for
   right-looking products, against it for left-looking ones).

The zero-Doppler start/end times are not needed: the sign of the time change between two corners is
enough, and it survives cropping.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = ["AxisLayout", "OrientationConflict", "decide_layout"]

F64 = npt.NDArray[np.float64]

_WGS84_A: Final = 6378137.0
_WGS84_F: Final = 1.0 / 298.257223563
_ORBIT_DEGREE: Final = 5
_NEWTON_STEPS: Final = 12
# |incidence(index) - far| within this share of |far - near| counts as "the far incidence".
_MATCH_SHARE: Final = 0.05


class OrientationConflict(ValueError):
    """Two independent pieces of metadata disagree about the raster layout (the message names them)."""


@dataclass(frozen=True)
class AxisLayout:
    """How a raster stores azimuth and range, and what decided it.

    Attributes
    ----------
    range_along_rows
        Range samples run down the raster rows (azimuth along the columns): "shadows-down".
    azimuth_reversed
        Stored azimuth index 0 is the *last* line in time.
    range_reversed
        Stored range index 0 is the *far* sample.
    evidence
        Which metadata decided each flag, for messages and docs.
    """

    range_along_rows: bool
    azimuth_reversed: bool
    range_reversed: bool
    evidence: str


def _geodetic_to_ecef(lon: float, lat: float, height: float) -> F64:
    lam, phi = math.radians(lon), math.radians(lat)
    e2 = _WGS84_F * (2.0 - _WGS84_F)
    n = _WGS84_A / math.sqrt(1.0 - e2 * math.sin(phi) ** 2)
    return np.array(
        [
            (n + height) * math.cos(phi) * math.cos(lam),
            (n + height) * math.cos(phi) * math.sin(lam),
            (n * (1.0 - e2) + height) * math.sin(phi),
        ]
    )


def _seconds(value: Any, t0: datetime) -> float:
    when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return (when - t0).total_seconds()


class _Orbit:
    """Position polynomials fitted to the state vectors (seconds from the first state)."""

    def __init__(self, states: Sequence[Mapping[str, Any]]) -> None:
        t0 = datetime.fromisoformat(str(states[0]["time"]).replace("Z", "+00:00"))
        self.times = np.array([_seconds(s["time"], t0) for s in states])
        positions = np.array([[float(v) for v in s["position"]] for s in states])
        degree = min(_ORBIT_DEGREE, len(states) - 1)
        self.centre = float(np.mean(self.times))
        self.coeffs = [
            np.polynomial.polynomial.polyfit(self.times - self.centre, positions[:, k], degree) for k in range(3)
        ]
        # Position, velocity and acceleration polynomials, differentiated once (not at every evaluation).
        p = np.polynomial.polynomial
        self._derived = [[p.polyder(c, order) for c in self.coeffs] for order in range(3)]
        self._at_states = np.array([p.polyval(self.times - self.centre, c) for c in self.coeffs]).T

    def state(self, t: float, derivative: int = 0) -> F64:
        p = np.polynomial.polynomial
        return np.array([p.polyval(t - self.centre, c) for c in self._derived[derivative]])

    def zero_doppler(self, target: F64) -> tuple[float, float]:
        """Return (time, slant range) of the zero-Doppler point of ``target`` (Newton from the nearest state)."""
        t = float(self.times[int(np.argmin(np.linalg.norm(self._at_states - target, axis=1)))])
        for _ in range(_NEWTON_STEPS):
            offset, velocity = target - self.state(t), self.state(t, 1)
            slope = float(offset @ self.state(t, 2) - velocity @ velocity)
            t -= float(offset @ velocity) / slope
        return t, float(np.linalg.norm(target - self.state(t)))


def _geometry_layout(props: Mapping[str, Any], shape: tuple[int, int], transform: Sequence[float]) -> AxisLayout:
    """Decide all three flags from the affine and the orbit (step 1 of the module docstring)."""
    a, b, c, d, e, f = (float(v) for v in transform[:6])
    height = float(props.get("iceye:average_scene_height") or 0.0)
    orbit = _Orbit(props["iceye:orbit_states"])
    rows, cols = shape

    def solve(col: float, row: float) -> tuple[float, float]:
        return orbit.zero_doppler(_geodetic_to_ecef(a * col + b * row + c, d * col + e * row + f, height))

    t00, r00 = solve(0.0, 0.0)
    t_col, r_col = solve(cols - 1.0, 0.0)  # along the columns (first row)
    t_row, r_row = solve(0.0, rows - 1.0)  # down the rows (first column)
    speed = float(np.linalg.norm(orbit.state(t00, 1)))
    # Azimuth-likeness of an axis: the share of its change that is along-track time rather than range.
    along_cols = abs(t_col - t00) * speed / (abs(t_col - t00) * speed + abs(r_col - r00) + 1e-12)
    along_rows = abs(t_row - t00) * speed / (abs(t_row - t00) * speed + abs(r_row - r00) + 1e-12)
    range_along_rows = along_cols > along_rows
    dt, dr = (t_col - t00, r_row - r00) if range_along_rows else (t_row - t00, r_col - r00)
    return AxisLayout(
        range_along_rows,
        azimuth_reversed=dt < 0,
        range_reversed=dr < 0,
        evidence="zero-Doppler time and slant range of the raster corners (proj:transform, iceye:orbit_states)",
    )


def _polynomial(props: Mapping[str, Any]) -> tuple[F64, float, float] | None:
    try:
        coeffs = np.array([float(v) for v in props["iceye:incidence_angle_coeffs"]])
        near, far = float(props["iceye:incidence_angle_near"]), float(props["iceye:incidence_angle_far"])
    except (KeyError, TypeError, ValueError):
        return None
    return (coeffs, near, far) if coeffs.size and math.isfinite(near) and math.isfinite(far) and near != far else None


def _near_first(coeffs: F64, near: float, far: float) -> bool | None:
    """Tell from incidence(0) whether index 0 is the near sample (None when it is neither)."""
    at0 = float(np.polynomial.polynomial.polyval(0.0, coeffs))
    tolerance = _MATCH_SHARE * abs(far - near)
    if abs(at0 - near) <= tolerance:
        return True
    return False if abs(at0 - far) <= tolerance else None


def _range_axis(coeffs: F64, near: float, far: float, shape: tuple[int, int]) -> bool | None:
    """Return True (rows) / False (columns) when exactly one axis length reproduces the incidence span."""
    p, tolerance = np.polynomial.polynomial, _MATCH_SHARE * abs(far - near)
    at0 = float(p.polyval(0.0, coeffs))
    target = far if abs(at0 - near) <= abs(at0 - far) else near
    matches = [abs(float(p.polyval(n - 1.0, coeffs)) - target) <= tolerance for n in shape]
    return matches[0] if matches[0] != matches[1] else None


def _has_geometry(props: Mapping[str, Any], transform: Sequence[float] | None) -> bool:
    states = props.get("iceye:orbit_states")
    return transform is not None and len(transform) >= 6 and isinstance(states, list) and len(states) >= 3


def decide_layout(
    props: Mapping[str, Any], shape: tuple[int, int], transform: Sequence[float] | None, look_side: str
) -> AxisLayout:
    """Decide which raster axis is range and both axis directions, from the item's metadata.

    Parameters
    ----------
    props
        The item's properties (ICEYE's ``iceye:`` fields).
    shape
        ``(rows, cols)`` of the raster.
    transform
        ``proj:transform`` in STAC (affine) order, or None.
    look_side
        ``sar:observation_direction`` (only used when the data cannot tell the azimuth direction).

    Returns
    -------
    AxisLayout

    Raises
    ------
    OrientationConflict
        When the geometry and the incidence polynomial disagree, or nothing can decide.
    """
    poly = _polynomial(props)
    if _has_geometry(props, transform):
        assert transform is not None
        layout = _geometry_layout(props, shape, transform)
        if poly is not None:
            near_first = _near_first(*poly)
            axis = _range_axis(*poly, shape)
            if near_first is not None and near_first == layout.range_reversed:
                raise OrientationConflict(
                    "iceye:incidence_angle_coeffs put the "
                    + ("near" if near_first else "far")
                    + " incidence at range index 0, but the orbit geometry puts the other end there"
                )
            if axis is not None and axis != layout.range_along_rows:
                raise OrientationConflict(
                    "iceye:incidence_angle_coeffs match range along the "
                    + ("rows" if axis else "columns")
                    + " but the orbit geometry puts azimuth there"
                )
        return layout
    # ICEYE: "By default we use shadows-down" (product-spec schema); open-data scene items omit the field.
    orientation = str(props.get("iceye:orientation") or "shadows-down")
    axis = None if poly is None else _range_axis(*poly, shape)
    if axis is None:
        if orientation not in ("shadows-down", "native"):
            raise OrientationConflict(
                f"cannot tell which raster axis is range: iceye:orientation is {orientation!r} (known: "
                "'shadows-down', 'native'), and neither proj:transform + iceye:orbit_states nor "
                "iceye:incidence_angle_coeffs decide it"
            )
        axis = orientation == "shadows-down"
    near_first = None if poly is None else _near_first(*poly)
    if look_side not in ("left", "right") and axis:
        raise OrientationConflict(
            f"sar:observation_direction is {look_side!r}; 'left' or 'right' is needed to tell the azimuth direction "
            "of a shadows-down raster without proj:transform and iceye:orbit_states"
        )
    return AxisLayout(
        range_along_rows=axis,
        # ICEYE's shadows-down rule: columns run against time for left-looking frames (SNAP, on a real frame).
        azimuth_reversed=axis and look_side == "left",
        range_reversed=near_first is False,
        evidence="incidence polynomial, iceye:orientation and the look side (no orbit geometry in the item)",
    )
