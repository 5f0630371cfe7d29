"""Fit and evaluate 20-term RPC00B rational polynomial camera models.

Terms follow the RPC00B order (1, L, P, H, LP, LH, PH, L2, P2, H2, PLH, L3, LP2, LH2, L2P, P3, PH2,
L2H, P2H, H3) with P = normalised latitude, L = normalised longitude, H = normalised height.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["RPC_KEYS", "fit_rpc", "rpc_project", "rpc_terms"]

F64 = NDArray[np.float64]

RPC_KEYS = (
    "LINE_OFF",
    "SAMP_OFF",
    "LAT_OFF",
    "LONG_OFF",
    "HEIGHT_OFF",
    "LINE_SCALE",
    "SAMP_SCALE",
    "LAT_SCALE",
    "LONG_SCALE",
    "HEIGHT_SCALE",
    "LINE_NUM_COEFF",
    "LINE_DEN_COEFF",
    "SAMP_NUM_COEFF",
    "SAMP_DEN_COEFF",
)

# A tiny ridge keeps the denominator near 1: the mapping is almost polynomial, so an unregularised
# rational fit would be ill-conditioned and could place poles inside the scene.
_RIDGE = 1e-6
_ITERATIONS = 3


def rpc_terms(p: F64, lon: F64, h: F64) -> F64:
    """Return the ``(n, 20)`` RPC00B term matrix for normalised latitude, longitude and height."""
    one = np.ones_like(p)
    return np.stack(
        [
            one,
            lon,
            p,
            h,
            lon * p,
            lon * h,
            p * h,
            lon * lon,
            p * p,
            h * h,
            p * lon * h,
            lon**3,
            lon * p * p,
            lon * h * h,
            lon * lon * p,
            p**3,
            p * h * h,
            lon * lon * h,
            p * p * h,
            h**3,
        ],
        axis=-1,
    )


def _fit_ratio(terms: F64, target: F64) -> tuple[F64, F64]:
    """Fit ``target = (terms @ num) / (terms @ den)`` with ``den[0] = 1`` by reweighted least squares."""
    n_terms = terms.shape[1]
    weights = np.ones(terms.shape[0])
    num, den = np.zeros(n_terms), np.zeros(n_terms)
    den[0] = 1.0
    for _ in range(_ITERATIONS):
        design = np.hstack([terms, -target[:, None] * terms[:, 1:]]) * weights[:, None]
        rhs = target * weights
        ridge = np.zeros((2 * n_terms - 1, 2 * n_terms - 1))
        ridge[n_terms:, n_terms:] = np.eye(n_terms - 1) * _RIDGE
        # einsum avoids multi-threaded BLAS, whose start-up dominates for these tiny systems.
        normal = np.einsum("ni,nj->ij", design, design) + ridge
        solution = np.linalg.solve(normal, np.einsum("ni,n->i", design, rhs))
        num = np.asarray(solution[:n_terms], dtype=np.float64)
        den = np.concatenate([[1.0], solution[n_terms:]]).astype(np.float64)
        weights = 1.0 / np.abs(terms @ den)
    return num, den


def fit_rpc(line: F64, samp: F64, lat: F64, lon: F64, height: F64, height_off: float) -> dict[str, Any]:
    """Fit an RPC00B model mapping (lat, lon, height) to 0-based (line, sample).

    Parameters
    ----------
    line, samp
        Image coordinates of the fit points.
    lat, lon, height
        Ground coordinates of the same points (degrees, metres).
    height_off
        The height offset to use (the scene's average height).

    Returns
    -------
    dict
        ``LINE_OFF`` ... ``HEIGHT_SCALE`` as floats (height terms as float32, like ICEYE writes them)
        and the four 20-element coefficient arrays.
    """
    h_off = np.float32(height_off)
    h_scale = np.float32(max(float(np.max(np.abs(height - float(h_off)))), 1.0))
    offsets = {
        "LINE_OFF": float(np.mean(line)),
        "SAMP_OFF": float(np.mean(samp)),
        "LAT_OFF": float(np.mean(lat)),
        "LONG_OFF": float(np.mean(lon)),
    }
    scales = {
        "LINE_SCALE": max(float(np.max(np.abs(line - offsets["LINE_OFF"]))), 1.0),
        "SAMP_SCALE": max(float(np.max(np.abs(samp - offsets["SAMP_OFF"]))), 1.0),
        "LAT_SCALE": max(float(np.max(np.abs(lat - offsets["LAT_OFF"]))), 1e-9),
        "LONG_SCALE": max(float(np.max(np.abs(lon - offsets["LONG_OFF"]))), 1e-9),
    }
    terms = rpc_terms(
        (lat - offsets["LAT_OFF"]) / scales["LAT_SCALE"],
        (lon - offsets["LONG_OFF"]) / scales["LONG_SCALE"],
        (height - float(h_off)) / float(h_scale),
    )
    line_num, line_den = _fit_ratio(terms, (line - offsets["LINE_OFF"]) / scales["LINE_SCALE"])
    samp_num, samp_den = _fit_ratio(terms, (samp - offsets["SAMP_OFF"]) / scales["SAMP_SCALE"])
    rpc: dict[str, Any] = {
        "LINE_OFF": offsets["LINE_OFF"],
        "SAMP_OFF": offsets["SAMP_OFF"],
        "LAT_OFF": offsets["LAT_OFF"],
        "LONG_OFF": offsets["LONG_OFF"],
        "HEIGHT_OFF": h_off,
        "LINE_SCALE": scales["LINE_SCALE"],
        "SAMP_SCALE": scales["SAMP_SCALE"],
        "LAT_SCALE": scales["LAT_SCALE"],
        "LONG_SCALE": scales["LONG_SCALE"],
        "HEIGHT_SCALE": h_scale,
        "LINE_NUM_COEFF": line_num,
        "LINE_DEN_COEFF": line_den,
        "SAMP_NUM_COEFF": samp_num,
        "SAMP_DEN_COEFF": samp_den,
    }
    return rpc


def rpc_project(rpc: dict[str, Any], lat: F64, lon: F64, height: F64) -> tuple[F64, F64]:
    """Evaluate an RPC00B model: ground (lat, lon, height) to 0-based (line, sample).

    Parameters
    ----------
    rpc
        A mapping with the keys of :data:`RPC_KEYS`.
    lat, lon, height
        Ground coordinates (degrees, metres).

    Returns
    -------
    tuple of numpy.ndarray
        Line and sample.
    """
    terms = rpc_terms(
        (np.asarray(lat, np.float64) - float(rpc["LAT_OFF"])) / float(rpc["LAT_SCALE"]),
        (np.asarray(lon, np.float64) - float(rpc["LONG_OFF"])) / float(rpc["LONG_SCALE"]),
        (np.asarray(height, np.float64) - float(rpc["HEIGHT_OFF"])) / float(rpc["HEIGHT_SCALE"]),
    )

    def ratio(num: str, den: str) -> F64:
        numerator = terms @ np.asarray(rpc[num], np.float64)
        denominator = terms @ np.asarray(rpc[den], np.float64)
        return np.asarray(numerator / denominator, np.float64)

    line = ratio("LINE_NUM_COEFF", "LINE_DEN_COEFF") * float(rpc["LINE_SCALE"]) + float(rpc["LINE_OFF"])
    samp = ratio("SAMP_NUM_COEFF", "SAMP_DEN_COEFF") * float(rpc["SAMP_SCALE"]) + float(rpc["SAMP_OFF"])
    return line, samp
