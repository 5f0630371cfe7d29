"""scipy and scikit-image, imported when coregistration first needs them.

The command line's start-up (:func:`icecube_stac.cli._process_start_up`) tells dask that scipy is absent
(``sys.modules["scipy"] = None``) to spare every command dask's probes of it. Coregistration does need
scipy (and scikit-image, which imports it), so the first call here lifts that marker — only the ``None``
placeholders, never a module that was really imported — and imports the real packages.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["map_coordinates", "phase_cross_correlation"]


def _unblock() -> None:
    if sys.modules.get("scipy", False) is not None:
        return  # imported for real, or never blocked: nothing to scan (this runs once per window)
    for name in [n for n, module in sys.modules.items() if module is None and (n == "scipy" or n.startswith("scipy."))]:
        del sys.modules[name]


def phase_cross_correlation(reference: NDArray[Any], moving: NDArray[Any], **options: Any) -> tuple[Any, Any, Any]:
    """:func:`skimage.registration.phase_cross_correlation`, imported on first use."""
    _unblock()
    from skimage.registration import phase_cross_correlation as correlate

    result: tuple[Any, Any, Any] = correlate(reference, moving, **options)  # type: ignore[no-untyped-call]
    return result


def map_coordinates(data: NDArray[Any], coordinates: NDArray[Any], **options: Any) -> NDArray[np.float64]:
    """:func:`scipy.ndimage.map_coordinates`, imported on first use."""
    _unblock()
    from scipy.ndimage import map_coordinates as interpolate

    result: NDArray[np.float64] = interpolate(data, coordinates, **options)
    return result
