"""A procedural "world" of terrain and radar backscatter around an anchor point.

Products whose centres round to the same 0.01 deg anchor see the same fields, river, terrain and
point targets, wherever and however they are imaged, so a synthetic time series looks like repeat
passes over one place. Only a per-product seed changes crop brightness a little (temporal change).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Scene", "scene_for"]

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
_EARTH_RADIUS = 6371000.0
_ANCHOR_DECIMALS = 2
_TARGET_CELL = 250.0  # metres; at most one bright point target per cell
_TARGET_PROBABILITY = 0.45
_WATER_DB = -23.0


def _splitmix(values: NDArray[np.uint64]) -> F64:
    """Hash uint64 values to uniform floats in [0, 1) (SplitMix64 finaliser)."""
    z = values + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _hash2(ix: NDArray[np.int64], iy: NDArray[np.int64], salt: int) -> F64:
    """Hash integer cell indices and a salt to uniform floats in [0, 1)."""
    ux = ix.astype(np.int64).view(np.uint64)
    uy = iy.astype(np.int64).view(np.uint64)
    key = ux * np.uint64(0x9E3779B1) + uy * np.uint64(0x85EBCA77) + np.uint64(salt & 0xFFFFFFFF)
    return _splitmix(key)


@dataclass(frozen=True)
class Scene:
    """Deterministic terrain and backscatter around ``anchor`` (lat, lon in degrees)."""

    anchor: tuple[float, float]
    salt: int
    base_height: float
    params: F64

    def to_local(self, lat: F64, lon: F64) -> tuple[F64, F64]:
        """Return east/north metres relative to the anchor (equirectangular)."""
        lat0, lon0 = self.anchor
        x = np.radians(lon - lon0) * _EARTH_RADIUS * np.cos(np.radians(lat0))
        y = np.radians(lat - lat0) * _EARTH_RADIUS
        return x, y

    def from_local(self, x: F64, y: F64) -> tuple[F64, F64]:
        """Invert :meth:`to_local`: east/north metres to latitude, longitude in degrees."""
        lat0, lon0 = self.anchor
        lat = lat0 + np.degrees(y / _EARTH_RADIUS)
        lon = lon0 + np.degrees(x / (_EARTH_RADIUS * np.cos(np.radians(lat0))))
        return lat, lon

    def height(self, x: F64, y: F64) -> F64:
        """Return the terrain height above the ellipsoid (m): gentle undulations of a few metres."""
        p = self.params
        # Gentle relief: steeper hills would shift tiny scenes' corners visibly (terrain displacement).
        hills = 6.0 * np.sin(x / p[0] + p[1]) * np.cos(y / p[2] + p[3]) + 3.0 * np.sin((x + y) / p[4])
        return np.asarray(self.base_height + hills, dtype=np.float64)

    def layers(self, x: F64, y: F64) -> F64:
        """Return the smooth layers the backscatter is built from, stacked on a new first axis.

        Layer 0 and 1 are field-grid coordinates (their integer parts index crop fields), layer 2 is
        the distance to the river centre line in river half-widths (water where it is below 1).
        They vary slowly, so they may be evaluated on a coarse grid and interpolated.
        """
        p = self.params
        u = x * np.cos(p[5]) + y * np.sin(p[5])
        v = y * np.cos(p[5]) - x * np.sin(p[5])
        field_u = u / p[6] + 0.25 * np.sin(v / 900.0)
        along = x * np.cos(p[11]) + y * np.sin(p[11])
        across = y * np.cos(p[11]) - x * np.sin(p[11])
        k1, k2, amp = 1.0 / p[13], 1.0 / (0.37 * p[13]), p[12]
        centre = amp * np.sin(along * k1 + p[14]) + 0.4 * amp * np.sin(along * k2)
        slope = amp * k1 * np.cos(along * k1 + p[14]) + 0.4 * amp * k2 * np.cos(along * k2)
        river = np.abs(across - centre - p[15]) / np.sqrt(1.0 + slope**2) / (0.5 * p[16])
        return np.stack([field_u, v / p[7], river])

    def compose_db(self, layers: NDArray[np.floating], product_seed: int) -> F32:
        """Return sigma0 (dB) from :meth:`layers` (possibly interpolated): fields, swell and river."""
        ix = np.floor(layers[0]).astype(np.int32)
        iy = np.floor(layers[1]).astype(np.int32)
        x0, y0 = int(ix.min()), int(iy.min())
        table = self._field_levels(x0, int(ix.max()), y0, int(iy.max()), product_seed)
        db = table.ravel()[(ix - x0) * table.shape[1] + (iy - y0)]
        db[layers[2] < 1.0] = np.float32(_WATER_DB)
        return np.asarray(db, dtype=np.float32)

    def sigma0_db(self, x: F64, y: F64, product_seed: int) -> F32:
        """Return sigma0 in dB at east/north metres: crop fields with slow temporal change and a river."""
        return self.compose_db(self.layers(x, y), product_seed)

    def _field_levels(self, x0: int, x1: int, y0: int, y1: int, product_seed: int) -> F32:
        """Per-field sigma0 (dB) over a box of field indices: hashed level, temporal change, swell."""
        p = self.params
        cx, cy = np.meshgrid(np.arange(x0, x1 + 1), np.arange(y0, y1 + 1), indexing="ij")
        field = -13.0 + 9.0 * _hash2(cx, cy, self.salt)
        change = 3.0 * (_hash2(cx, cy, self.salt ^ (product_seed * 2654435761)) - 0.5)
        # A slow regional swell, sampled at each field's centre so fields stay uniform.
        u, v = (cx + 0.5) * p[6], (cy + 0.5) * p[7]
        x = u * np.cos(p[5]) - v * np.sin(p[5])
        y = u * np.sin(p[5]) + v * np.cos(p[5])
        swell = 1.5 * np.sin(x / p[8] + p[9]) * np.sin(y / p[10])
        return np.asarray(field + change + swell, dtype=np.float32)

    def point_targets(self, x_range: tuple[float, float], y_range: tuple[float, float]) -> tuple[F64, F64, F64]:
        """Return positions (x, y in m) and amplitude gains of the bright point targets in a box."""
        ix = np.arange(np.floor(x_range[0] / _TARGET_CELL), np.floor(x_range[1] / _TARGET_CELL) + 1)
        iy = np.arange(np.floor(y_range[0] / _TARGET_CELL), np.floor(y_range[1] / _TARGET_CELL) + 1)
        gx, gy = (a.astype(np.int64).ravel() for a in np.meshgrid(ix, iy, indexing="ij"))
        keep = _hash2(gx, gy, self.salt + 1) < _TARGET_PROBABILITY
        gx, gy = gx[keep], gy[keep]
        tx = (gx + _hash2(gx, gy, self.salt + 2)) * _TARGET_CELL
        ty = (gy + _hash2(gx, gy, self.salt + 3)) * _TARGET_CELL
        gain = 5.0 + 20.0 * _hash2(gx, gy, self.salt + 4)
        return tx, ty, gain


def scene_for(center_lat: float, center_lon: float) -> Scene:
    """Return the scene whose anchor is the product centre rounded to 0.01 deg.

    Parameters
    ----------
    center_lat, center_lon
        Product centre in degrees.

    Returns
    -------
    Scene
        The same object (by value) for every centre in the same 0.01 deg cell.
    """
    anchor = (round(center_lat, _ANCHOR_DECIMALS), round(center_lon, _ANCHOR_DECIMALS))
    key = round((anchor[0] + 90.0) * 100) * 100_000 + round((anchor[1] + 180.0) * 100)
    rng = np.random.default_rng([key, 7])
    params = np.array(
        [
            rng.uniform(2000.0, 5000.0),  # 0 hill wavelength x / 2pi
            rng.uniform(0.0, 2 * np.pi),  # 1
            rng.uniform(2000.0, 5000.0),  # 2 hill wavelength y / 2pi
            rng.uniform(0.0, 2 * np.pi),  # 3
            rng.uniform(1500.0, 3000.0),  # 4
            rng.uniform(0.0, np.pi),  # 5 field-grid orientation
            rng.uniform(120.0, 320.0),  # 6 field size across
            rng.uniform(90.0, 260.0),  # 7 field size along
            rng.uniform(400.0, 900.0),  # 8 swell wavelength / 2pi
            rng.uniform(0.0, 2 * np.pi),  # 9
            rng.uniform(400.0, 900.0),  # 10
            rng.uniform(0.0, np.pi),  # 11 river direction
            rng.uniform(60.0, 160.0),  # 12 meander amplitude
            rng.uniform(150.0, 400.0),  # 13 meander wavelength / 2pi
            rng.uniform(0.0, 2 * np.pi),  # 14
            rng.uniform(-60.0, 60.0),  # 15 river offset from the anchor
            rng.uniform(40.0, 110.0),  # 16 river width
        ]
    )
    return Scene(anchor=anchor, salt=key, base_height=float(rng.uniform(10.0, 450.0)), params=params)
