"""Vector objects in grid pixel coordinates → a class-index mask (skimage.draw), one slice at a time.

Boxes are inclusive pixel ranges (icecube's convention: ``ymin == ymax`` marks one row); polygons mark the
pixels whose centres are inside or on the ring (the perimeter is drawn too, so a sliver still marks its
pixels); points mark the nearest pixel. Objects are drawn in file order, so a later object overwrites an
earlier one where they overlap; 0 is background. Parts outside the grid are clipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from skimage.draw import polygon, polygon_perimeter

from icecube_stac.labels._model import LabelKind

__all__ = ["GridObject", "class_dtype", "rasterise"]


@dataclass(frozen=True)
class GridObject:
    """One object in a slice's grid pixel coordinates.

    Attributes
    ----------
    class_index
        1-based index into the sorted class names.
    kind
        ``bbox``, ``polygon`` or ``point``.
    rows, cols
        Vertices (bbox: the two corners min, max) in grid rows/columns.
    """

    class_index: int
    kind: LabelKind
    rows: tuple[float, ...]
    cols: tuple[float, ...]


def class_dtype(n_classes: int) -> np.dtype[np.unsignedinteger]:
    """Return the smallest unsigned type holding class indices ``0..n_classes``."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if n_classes <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    raise ValueError(f"{n_classes} classes do not fit a uint32 class index")


def _box(obj: GridObject, out: npt.NDArray[np.unsignedinteger]) -> None:
    r0, r1 = (int(np.rint(v)) for v in sorted(obj.rows))
    c0, c1 = (int(np.rint(v)) for v in sorted(obj.cols))
    r0, c0 = max(r0, 0), max(c0, 0)
    if r1 >= r0 and c1 >= c0:
        out[r0 : r1 + 1, c0 : c1 + 1] = obj.class_index


def rasterise(
    objects: Sequence[GridObject], shape: tuple[int, int], dtype: np.dtype[np.unsignedinteger]
) -> npt.NDArray[np.unsignedinteger]:
    """Draw objects into a new class-index mask.

    Parameters
    ----------
    objects
        Grid objects in drawing order.
    shape
        ``(rows, columns)`` of the grid.
    dtype
        The mask's unsigned type (:func:`class_dtype`).

    Returns
    -------
    numpy.ndarray
        The mask; 0 where no object is.
    """
    out = np.zeros(shape, dtype=dtype)
    for obj in objects:
        if obj.kind == "bbox":
            _box(obj, out)
        elif obj.kind == "polygon":
            rows, cols = np.asarray(obj.rows), np.asarray(obj.cols)
            for draw in (polygon, polygon_perimeter):
                rr, cc = draw(rows, cols, shape=shape)
                out[rr, cc] = obj.class_index
        else:
            r, c = int(np.rint(obj.rows[0])), int(np.rint(obj.cols[0]))
            if 0 <= r < shape[0] and 0 <= c < shape[1]:
                out[r, c] = obj.class_index
    return out
