"""Sample values from cube windows: the channel transform, normalisation and no-data filling."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from icecube_stac.ml._spec import BatchError, PatchSpec

__all__ = ["check_channels", "to_channels"]

_FOR_LEVEL = {"GRD": ("amplitude", "db"), "SLC": ("db", "real_imag", "amplitude_phase")}


def check_channels(spec: PatchSpec, level: str) -> None:
    """Refuse channels the cube's product level does not have."""
    if spec.channels not in _FOR_LEVEL[level]:
        raise BatchError(
            f"patch channels {spec.channels!r} for a {level} cube: expected one of {', '.join(_FOR_LEVEL[level])}"
        )


def to_channels(
    values: npt.NDArray[Any], calibration: npt.NDArray[np.float64], spec: PatchSpec
) -> npt.NDArray[np.float32]:
    """Turn a ``(time, rows, cols)`` window into ``(time·channels, rows, cols)`` float32 sample values.

    Parameters
    ----------
    values
        GRD amplitude (float32, NaN no-data) or SLC complex64, owned by the caller's read: the result may
        share its memory (the amplitude channel is filled in place).
    calibration
        The calibration factor of each time step of the window.
    spec
        Channels, normalisation and the no-data value.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        if spec.channels == "amplitude":
            out = values[:, None]
        elif spec.channels == "db":
            power = np.abs(values) ** 2 if np.iscomplexobj(values) else values.astype(np.float32) ** 2
            out = (10 * np.log10(calibration.astype(np.float32)[:, None, None] * power))[:, None]
        elif spec.channels == "real_imag":
            out = np.stack([values.real, values.imag], axis=1)
        else:
            out = np.stack([np.abs(values), np.angle(values)], axis=1)
    out = out.reshape(-1, *values.shape[1:]).astype(np.float32, copy=False)
    if spec.normalise is not None:
        mean, std = spec.normalise
        out = (out - np.float32(mean)) / np.float32(std)
    nan = spec.nan_value
    np.nan_to_num(out, copy=False, nan=nan, posinf=nan, neginf=nan)  # one pass, in place
    return out
