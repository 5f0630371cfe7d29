"""The offset models and their robust least-squares fit to the window offsets.

A slice's offset model says where each reference pixel lies in the slice: ``slice = reference + d``, with
``d`` (azimuth, range) a polynomial in the normalised reference coordinates ``a = 2*azimuth/(rows-1) - 1``
and ``g = 2*range/(cols-1) - 1`` (both -1..1): ``shift`` has the constant term only, ``affine`` adds
``a`` and ``g``, ``polynomial`` adds ``a**2``, ``a*g`` and ``g**2``. The constant is then the offset at the
centre of the reference, and every coefficient is in pixels.

The fit is ordinary least squares, repeated while windows whose residual exceeds
``max(3 * robust sigma, 0.2 px)`` are rejected (residual-based outlier rejection: layover, moving
targets and wrong correlation peaks that passed the window screening); a fit needs at least two
windows more than it has terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from icecube_stac._config_coregister import MODEL_TERMS

__all__ = ["TERM_NAMES", "Fit", "evaluate", "fit_model"]

F64 = NDArray[np.float64]

TERM_NAMES: Final = ("1", "a", "g", "a^2", "a*g", "g^2")
"""Names of the model terms (``a``: normalised azimuth, ``g``: normalised range), in coefficient order."""
_FLOOR: Final = 0.2  # px: residuals below this are never outliers (window offsets scatter ~0.05-0.2 px)
_ROUNDS: Final = 10


@dataclass(frozen=True)
class Fit:
    """One slice's fitted model.

    Attributes
    ----------
    coefficients
        ``(2, terms)``: azimuth then range offset coefficients, pixels.
    used
        Windows kept by the fit.
    residual
        RMS of the kept windows' residuals (pixels; vector norm of the azimuth and range residuals).
    """

    coefficients: F64
    used: int
    residual: float


def _normalised(values: F64, extent: int) -> F64:
    return np.asarray(2.0 * values / max(extent - 1, 1) - 1.0, dtype=np.float64)


def design(rows: F64, cols: F64, shape: tuple[int, int], model: str) -> F64:
    """Return the ``(n, terms)`` design matrix of a model at reference pixels ``rows``, ``cols``."""
    a, g = _normalised(np.ravel(rows), shape[0]), _normalised(np.ravel(cols), shape[1])
    terms = [np.ones_like(a), a, g, a * a, a * g, g * g]
    return np.stack(terms[: MODEL_TERMS[model]], axis=1)


def evaluate(coefficients: F64, model: str, shape: tuple[int, int], rows: F64, cols: F64) -> tuple[F64, F64]:
    """Return the (azimuth, range) offsets of a model at reference pixels, shaped like ``rows``.

    Parameters
    ----------
    coefficients
        ``(2, terms)`` as :attr:`Fit.coefficients`.
    model
        ``shift``, ``affine`` or ``polynomial``.
    shape
        The reference grid ``(rows, cols)`` (defines the normalisation).
    rows, cols
        Reference pixel positions (broadcast together: a column and a row give the whole grid).

    Returns
    -------
    tuple of numpy.ndarray
    """
    # Term by term with broadcasting: a row vector and a column vector give the grid without an (n, terms) matrix.
    a, g = (
        _normalised(np.asarray(rows, dtype=np.float64), shape[0]),
        _normalised(np.asarray(cols, dtype=np.float64), shape[1]),
    )
    terms = (lambda: 1.0, lambda: a, lambda: g, lambda: a * a, lambda: a * g, lambda: g * g)[: MODEL_TERMS[model]]
    out_shape = np.broadcast_shapes(a.shape, g.shape)
    d_az, d_rg = np.zeros(out_shape), np.zeros(out_shape)
    for k, term in enumerate(terms):
        value = term()
        d_az += coefficients[0, k] * value
        d_rg += coefficients[1, k] * value
    return d_az, d_rg


def fit_model(points: F64, offsets: F64, shape: tuple[int, int], model: str, max_residual: float) -> Fit | None:
    """Fit a model to window offsets, rejecting outliers by their residuals.

    Parameters
    ----------
    points
        ``(n, 2)`` reference pixel positions (window centres).
    offsets
        ``(n, 2)`` measured (azimuth, range) offsets, ``slice - reference``.
    shape
        The reference grid.
    model
        ``shift``, ``affine`` or ``polynomial``.
    max_residual
        The fit fails when the RMS residual of the kept windows is larger (pixels).

    Returns
    -------
    Fit or None
        None when too few windows remain or the residual is too large.
    """
    terms = MODEL_TERMS[model]
    keep = np.all(np.isfinite(offsets), axis=1)
    for _ in range(_ROUNDS):
        if keep.sum() < terms + 2:
            return None
        matrix = design(points[keep, 0], points[keep, 1], shape, model)
        solution, *_ = np.linalg.lstsq(matrix, offsets[keep], rcond=None)
        full = design(points[:, 0], points[:, 1], shape, model)
        residual = np.linalg.norm(np.where(np.isfinite(offsets), offsets - full @ solution, np.inf), axis=1)
        sigma = 1.4826 * float(np.median(residual[keep]))
        within = keep & (residual <= max(3.0 * sigma, _FLOOR))
        if np.array_equal(within, keep):
            break
        keep = within
    rms = float(np.sqrt(np.mean(residual[keep] ** 2)))
    if keep.sum() < terms + 2 or rms > max_residual:
        return None
    return Fit(np.ascontiguousarray(solution.T), int(keep.sum()), rms)
