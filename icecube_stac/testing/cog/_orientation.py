"""The one "shadows-down" layout rule of ICEYE COGs: which TIFF row/column holds which azimuth line and range sample.

ICEYE COGs store range down the TIFF **rows** (row 0 = near range, so radar shadows fall
"down") and azimuth along the TIFF **columns**. The column direction is chosen so that the image is
a non-mirrored view from above: turning the column direction by 90 degrees clockwise (on the
ground, seen from above) gives the row direction, i.e. the look direction. A right-looking
satellite looks 90 degrees clockwise of its flight direction, so its columns run with the flight
(column 0 = aperture start); a left-looking one looks 90 degrees counter-clockwise, so its columns
run against it (column 0 = aperture end). Left-looking was verified on a real frame (SNAP fixture
README); right-looking follows from the same rule [INF].
"""

from __future__ import annotations

from typing import Literal, TypeVar

import numpy as np
from numpy.typing import NDArray

__all__ = ["azimuth_runs_with_columns", "column_of_line", "line_of_column", "to_shadows_down"]

_T = TypeVar("_T", bound=np.generic)


def azimuth_runs_with_columns(look_side: Literal["left", "right"] | str) -> bool:
    """Return True when zero-Doppler time increases with the TIFF column (right-looking).

    Parameters
    ----------
    look_side
        ``"left"`` or ``"right"`` (``sar:observation_direction``).

    Returns
    -------
    bool
        ``True`` for right-looking (column 0 = first line), ``False`` for left-looking (column 0 =
        last line).
    """
    if look_side not in ("left", "right"):
        raise ValueError(f"look_side must be 'left' or 'right', got {look_side!r}")
    return look_side == "right"


def column_of_line(line: NDArray[np.float64], n_azimuth: int, look_side: str) -> NDArray[np.float64]:
    """Return the TIFF column of 0-based azimuth lines (time order), fractional lines allowed."""
    lines = np.asarray(line, dtype=np.float64)
    return lines if azimuth_runs_with_columns(look_side) else (n_azimuth - 1) - lines


def line_of_column(column: NDArray[np.float64], n_azimuth: int, look_side: str) -> NDArray[np.float64]:
    """Return the 0-based azimuth line (time order) of TIFF columns; the rule is its own inverse."""
    return column_of_line(column, n_azimuth, look_side)


def to_shadows_down(native: NDArray[_T], look_side: str) -> NDArray[_T]:
    """Lay out a native ``(..., azimuth, range)`` array (time-ordered lines) as TIFF ``(..., rows, columns)``.

    Parameters
    ----------
    native
        Array whose last two axes are azimuth lines in time order and range samples near to far.
    look_side
        ``"left"`` or ``"right"``.

    Returns
    -------
    numpy.ndarray
        ``(..., range, azimuth)``: rows are range samples, columns azimuth lines as
        :func:`column_of_line` says (C-contiguous copy).
    """
    tiff = np.swapaxes(native, -1, -2)
    if not azimuth_runs_with_columns(look_side):
        tiff = tiff[..., ::-1]
    return np.ascontiguousarray(tiff)
