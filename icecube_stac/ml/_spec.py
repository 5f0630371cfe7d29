"""What a training sample is: patch size, stride, time window, channels, normalisation and the split.

One frozen :class:`PatchSpec` is parsed once and checked up front (every problem a :class:`BatchError` naming
the field, the value and what is allowed). Channels:

``amplitude``
    GRD: the amplitude ``DN·scale + offset`` (legacy products: the DN). One channel.
``db``
    GRD: σ0 in dB, ``10·log10(calibration_factor·amplitude²)``; SLC: β0 in dB. One channel.
``real_imag``
    SLC: real and imaginary parts. Two channels.
``amplitude_phase``
    SLC: ``|slc|`` and ``angle(slc)`` (radians). Two channels.

No-data (GRD DN 0, padding, empty slots: NaN) becomes ``nan_value`` (default 0) after normalisation, so
batches never hold NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Final, Literal

from icecube_stac.errors import IcecubeStacError

__all__ = ["CHANNELS", "BatchError", "Channels", "PatchSpec", "SplitBy"]

Channels = Literal["amplitude", "db", "real_imag", "amplitude_phase"]
SplitBy = Literal["time", "space"]
CHANNELS: Final[dict[str, int]] = {"amplitude": 1, "db": 1, "real_imag": 2, "amplitude_phase": 2}
_MAX_PIXELS: Final = 1 << 26  # one patch stack at most 64 Mi samples (256 MiB of float32)


class BatchError(IcecubeStacError, ValueError):
    """A patch specification or a cube does not make training samples (names the field and the value)."""


def _whole(value: object) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _finite(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _pair(name: str, value: object) -> tuple[int, int]:
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or len(value) != 2
        or not all(_whole(v) and v >= 1 for v in value)
    ):
        raise BatchError(f"patch {name} {value!r}: expected (rows, cols), two whole numbers >= 1")
    return int(value[0]), int(value[1])


def _normalise(value: object) -> tuple[float, float] | None:
    if value is None:
        return None
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or len(value) != 2
        or not all(_finite(v) for v in value)
        or not value[1] > 0
    ):
        raise BatchError(f"patch normalise {value!r}: expected (mean, std), finite numbers with std > 0, or None")
    return float(value[0]), float(value[1])


@dataclass(frozen=True)
class PatchSpec:
    """How patches are cut from a cube.

    Attributes
    ----------
    size
        ``(rows, cols)`` of a patch.
    stride
        ``(rows, cols)`` between patch origins; default the size (no overlap). A smaller stride overlaps.
    time_window
        Consecutive time steps per sample (1: a single date). The label is the window's last slice.
    channels
        See the module docstring.
    normalise
        ``(mean, std)`` applied per value after the channel transform, or None.
    nan_value
        What no-data becomes.
    labelled_only
        Only windows whose last slice is labelled (``labelled`` variable), when the cube has labels.
    """

    size: tuple[int, int] = (256, 256)
    stride: tuple[int, int] | None = None
    time_window: int = 1
    channels: Channels = "amplitude"
    normalise: tuple[float, float] | None = None
    nan_value: float = 0.0
    labelled_only: bool = True

    def __post_init__(self) -> None:
        # Checked and normalised to plain ints/floats once: the index and the batches rely on the types.
        object.__setattr__(self, "size", _pair("size", self.size))
        if self.stride is not None:
            object.__setattr__(self, "stride", _pair("stride", self.stride))
        if not _whole(self.time_window) or self.time_window < 1:
            raise BatchError(f"patch time_window {self.time_window!r}: expected a whole number >= 1")
        object.__setattr__(self, "time_window", int(self.time_window))
        if not isinstance(self.channels, str) or self.channels not in CHANNELS:
            raise BatchError(f"patch channels {self.channels!r}: expected one of {', '.join(CHANNELS)}")
        object.__setattr__(self, "normalise", _normalise(self.normalise))
        if not _finite(self.nan_value):
            raise BatchError(f"patch nan_value {self.nan_value!r}: expected a finite number (batches never hold NaN)")
        object.__setattr__(self, "nan_value", float(self.nan_value))
        if not isinstance(self.labelled_only, bool):
            raise BatchError(f"patch labelled_only {self.labelled_only!r}: expected true or false")
        if self.size[0] * self.size[1] * self.time_window * CHANNELS[self.channels] > _MAX_PIXELS:
            raise BatchError(f"patch {self.size} x {self.time_window} steps is more than {_MAX_PIXELS:,} samples")

    @property
    def step(self) -> tuple[int, int]:
        """The stride, defaulting to the size."""
        return self.stride or self.size

    @property
    def n_channels(self) -> int:
        """Channels of one sample: channels per step × time window."""
        return CHANNELS[self.channels] * self.time_window
