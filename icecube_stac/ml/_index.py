"""Which patches exist, and which go to training or validation without any overlap between the two.

A patch is ``(t, row, col)``: the time window ``t - time_window + 1 .. t`` and the window
``[row, row + rows) × [col, col + cols)``. Origins step by the stride from 0 and every patch lies inside the
grid. Patches are ordered chunk by chunk (time, then chunk row, then chunk column), so consecutive reads touch
the same chunks.

The split cannot leak: ``time`` puts the last ``fraction`` of time steps in validation and drops any window
that reaches back into the training steps (the windows of the two sets share no time step); ``space`` puts the
last ``fraction`` of range columns in validation and drops every patch crossing the boundary (the patches of
the two sets share no pixel, whatever the stride).
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from icecube_stac.ml._spec import BatchError, PatchSpec, SplitBy

__all__ = ["MAX_PATCHES", "patch_index", "split_index"]

Subset = Literal["train", "validation", "all"]
MAX_PATCHES: Final = 10**8  # (n, 3) int64: 2.4 GB; checked from the counts before anything is built


def _origins(size: int, patch: int, step: int) -> npt.NDArray[np.int64]:
    return np.arange(0, size - patch + 1, step, dtype=np.int64)


def patch_index(
    shape: tuple[int, int, int], spec: PatchSpec, labelled: Sequence[bool] | None, chunks: tuple[int, int]
) -> npt.NDArray[np.int64]:
    """Return every patch ``(t, row, col)`` of a cube, chunk by chunk.

    Parameters
    ----------
    shape
        ``(time, rows, cols)`` of the cube.
    spec
        The patch specification.
    labelled
        Per time step, whether the slice is labelled (None: every slice counts).
    chunks
        The cube's spatial chunk sizes (the read order follows them).

    Returns
    -------
    numpy.ndarray
        ``(n, 3)`` int64.

    Raises
    ------
    BatchError
        When the patch does not fit the grid, the time window is longer than the cube, or there would be more
        than :data:`MAX_PATCHES` patches.
    """
    n_time, rows, cols = shape
    if spec.size[0] > rows or spec.size[1] > cols:
        raise BatchError(f"patch size {spec.size} is larger than the cube's grid ({rows}, {cols})")
    if spec.time_window > n_time:
        raise BatchError(f"patch time_window {spec.time_window} is longer than the cube's {n_time} time steps")
    r0 = _origins(rows, spec.size[0], spec.step[0])
    c0 = _origins(cols, spec.size[1], spec.step[1])
    times = np.asarray(
        [t for t in range(spec.time_window - 1, n_time) if labelled is None or labelled[t]], dtype=np.int64
    )
    total = len(times) * len(r0) * len(c0)
    if total > MAX_PATCHES:
        raise BatchError(
            f"{total:,} patches ({len(times)} time steps x {len(r0)} x {len(c0)} origins) for patch size {spec.size} "
            f"and stride {spec.step} on a ({rows}, {cols}) grid: at most {MAX_PATCHES:,}: use a larger size or stride"
        )
    rr, cc = (a.ravel() for a in np.meshgrid(r0, c0, indexing="ij"))
    # Chunk row, then chunk column; within a chunk the row-major order (lexsort: the last key is the first).
    order = np.lexsort((cc, rr, cc // chunks[1], rr // chunks[0]))
    rr, cc = rr[order], cc[order]
    return np.column_stack((np.repeat(times, len(rr)), np.tile(rr, len(times)), np.tile(cc, len(times))))


def split_index(
    index: npt.NDArray[np.int64],
    spec: PatchSpec,
    shape: tuple[int, int, int],
    subset: Subset,
    split_by: SplitBy,
    fraction: float,
) -> npt.NDArray[np.int64]:
    """Return the patches of one subset (see the module docstring for the no-leak rules).

    Raises
    ------
    BatchError
        For an unknown subset or split, or a fraction that is not a real number in (0, 1) (bools refused).
    """
    if subset == "all":
        return index
    if subset not in ("train", "validation") or split_by not in ("time", "space"):
        raise BatchError(f"split {split_by!r}/{subset!r}: expected split_by time or space, subset train or validation")
    if not isinstance(fraction, Real) or isinstance(fraction, bool) or not 0 < fraction < 1:
        raise BatchError(f"validation fraction {fraction!r}: expected a number between 0 and 1 (exclusive)")
    n_time, _, cols = shape
    if split_by == "time":
        first_val = n_time - max(1, round(n_time * fraction))
        start = index[:, 0] - (spec.time_window - 1)
        keep = start >= first_val if subset == "validation" else index[:, 0] < first_val
    else:
        boundary = cols - max(1, round(cols * fraction))
        keep = index[:, 2] >= boundary if subset == "validation" else index[:, 2] + spec.size[1] <= boundary
    return index[keep]
