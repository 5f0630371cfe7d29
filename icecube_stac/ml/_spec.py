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

from dataclasses import dataclass
from typing import Final, Literal

from icecube_stac.errors import IcecubeStacError

__all__ = ["CHANNELS", "BatchError", "Channels", "PatchSpec", "SplitBy"]

Channels = Literal["amplitude", "db", "real_imag", "amplitude_phase"]
SplitBy = Literal["time", "space"]
CHANNELS: Final[dict[str, int]] = {"amplitude": 1, "db": 1, "real_imag": 2, "amplitude_phase": 2}
_MAX_PIXELS: Final = 1 << 26  # one patch stack at most 64 Mi samples (256 MiB of float32)


class BatchError(IcecubeStacError, ValueError):
    """A patch specification or a cube does not make training samples (names the field and the value)."""


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
        for name in ("size", "stride"):
            value = getattr(self, name)
            if value is None:
                continue
            if len(value) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value):
                raise BatchError(f"patch {name} {value!r}: expected (rows, cols), two whole numbers >= 1")
        if not isinstance(self.time_window, int) or self.time_window < 1:
            raise BatchError(f"patch time_window {self.time_window!r}: expected a whole number >= 1")
        if self.channels not in CHANNELS:
            raise BatchError(f"patch channels {self.channels!r}: expected one of {', '.join(CHANNELS)}")
        if self.normalise is not None and (len(self.normalise) != 2 or not self.normalise[1] > 0):
            raise BatchError(f"patch normalise {self.normalise!r}: expected (mean, std) with std > 0")
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
