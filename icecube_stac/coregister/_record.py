"""What a coregistered cube records: per-slice fit results as coordinates along ``time``, and its attrs.

Per time step (plain numbers and strings, stored by Zarr and NetCDF without pickling, read back by
:func:`~icecube_stac.output.open_cube`):

=============================  ==================================================================
``coreg_status``               ``reference``, ``fitted``, ``failed`` (kept unaligned) or ``empty``
``coreg_offset_azimuth/range`` fitted offset ``slice - reference`` at the reference centre, pixels
``coreg_coefficients``         ``(time, coreg_axis, coreg_term)`` model coefficients, pixels
``coreg_windows``              windows the fit kept
``coreg_residual``             RMS residual of the fit, pixels (NaN: failed or empty)
``coreg_coarse_azimuth/range`` the offset the window search started from (geometry, central window, or 0)
=============================  ==================================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from icecube_stac._config_coregister import MODEL_TERMS, CoregisterOptions
from icecube_stac.coregister._model import TERM_NAMES, Fit

__all__ = ["PHASE_NOTE", "SliceRecord", "coregistration_attrs", "record_coords"]

PHASE_NOTE: Final = (
    "SLC: the azimuth phase ramp of each product's Doppler centroid is removed before interpolation and "
    "restored at the resampled position; no other phase term is changed"
)
_ATTRS: Final[Mapping[str, Mapping[str, str]]] = {
    "coreg_status": {"long_name": "coregistration of the time step (reference, fitted, failed, empty)"},
    "coreg_offset_azimuth": {"long_name": "fitted azimuth offset slice - reference at the grid centre", "units": "1"},
    "coreg_offset_range": {"long_name": "fitted range offset slice - reference at the grid centre", "units": "1"},
    "coreg_coefficients": {
        "long_name": "offset model coefficients (pixels) of the normalised reference coordinates a, g in -1..1",
        "units": "1",
    },
    "coreg_windows": {"long_name": "correlation windows kept by the fit", "units": "1"},
    "coreg_residual": {"long_name": "RMS residual of the offset fit", "units": "1"},
    "coreg_coarse_azimuth": {"long_name": "azimuth offset the window search started from", "units": "1"},
    "coreg_coarse_range": {"long_name": "range offset the window search started from", "units": "1"},
}


@dataclass(frozen=True)
class SliceRecord:
    """One time step's coregistration outcome."""

    status: str
    fit: Fit | None = None
    coarse: tuple[float, float] = (0.0, 0.0)


def record_coords(records: Sequence[SliceRecord], model: str) -> dict[str, Any]:
    """Return the ``coreg_*`` coordinates of the time steps, ready for ``Dataset.assign_coords``."""
    terms = MODEL_TERMS[model]
    coefficients = np.full((len(records), 2, terms), np.nan)
    offsets = np.full((len(records), 2), np.nan)
    windows = np.zeros(len(records), dtype=np.int64)
    residual = np.full(len(records), np.nan)
    for k, record in enumerate(records):
        if record.fit is not None:
            coefficients[k] = record.fit.coefficients
            offsets[k] = record.fit.coefficients[:, 0]
            windows[k], residual[k] = record.fit.used, record.fit.residual
    coarse: NDArray[np.float64] = np.array([r.coarse for r in records], dtype=np.float64).reshape(-1, 2)
    values: dict[str, tuple[tuple[str, ...], Any]] = {
        "coreg_status": (("time",), np.array([r.status for r in records], dtype=object)),
        "coreg_offset_azimuth": (("time",), offsets[:, 0]),
        "coreg_offset_range": (("time",), offsets[:, 1]),
        "coreg_coefficients": (("time", "coreg_axis", "coreg_term"), coefficients),
        "coreg_windows": (("time",), windows),
        "coreg_residual": (("time",), residual),
        "coreg_coarse_azimuth": (("time",), coarse[:, 0]),
        "coreg_coarse_range": (("time",), coarse[:, 1]),
    }
    coords: dict[str, Any] = {name: (dims, data, dict(_ATTRS[name])) for name, (dims, data) in values.items()}
    coords["coreg_axis"] = ("coreg_axis", np.array(["azimuth", "range"], dtype=object))
    coords["coreg_term"] = ("coreg_term", np.array(TERM_NAMES[:terms], dtype=object))
    return coords


def coregistration_attrs(options: CoregisterOptions, reference: str, level: str) -> dict[str, Any]:
    """Return the dataset attributes of a coregistered cube (NetCDF-safe: strings and numbers only)."""
    attrs: dict[str, Any] = {
        "coregistered": 1,
        "sensor_geometry": "sensor geometry of the reference product (azimuth lines x range samples); the stack "
        f"was coregistered by icecube-stac onto {reference}: pixel (azimuth, range) is the same ground point "
        "at every fitted time step (coreg_status 'fitted' or 'reference')",
        "coregistration_reference": reference,
        "coregistration_model": options.model,
        "coregistration_resampling": f"{options.resampling} (scipy.ndimage.map_coordinates order "
        f"{ {'nearest': 0, 'linear': 1, 'cubic': 3}[options.resampling] })",
        "coregistration_windows": f"{options.grid[0]} x {options.grid[1]} windows of {options.window} px, "
        f"peak upsampled {options.upsample}x",
        "coregistration_model_terms": "offset = sum(c_k * term_k), terms of a = 2*azimuth/(rows-1)-1, "
        "g = 2*range/(cols-1)-1",
    }
    if level == "SLC":
        attrs["coregistration_phase"] = PHASE_NOTE
    return attrs
