"""The parsed labels model: frozen records of icecube 1.x labels, GeoJSON features and STAC label items.

Pixel coordinates are those of the product file as stored (``x`` = column, ``y`` = row; for ICEYE legacy
products that is range sample and azimuth line), exactly as icecube 1.x reads them; they are mapped into the
cube's grid only when labels are attached (:mod:`icecube_stac.labels._geometry`). Bounds are inclusive.
"""

from __future__ import annotations

import math
import reprlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from icecube_stac.errors import IcecubeStacError

__all__ = [
    "KINDS",
    "MAX_EXACT",
    "GeoFeature",
    "LabelError",
    "LabelKind",
    "LabelObject",
    "LabelSet",
    "ProductLabels",
    "SourceKind",
    "is_real",
    "shown",
]

LabelKind = Literal["bbox", "polygon", "point"]
SourceKind = Literal["vector", "raster"]
KINDS: Final[tuple[LabelKind, ...]] = ("bbox", "polygon", "point")
MAX_EXACT: Final = 2**53  # a JSON integer beyond this is not a float exactly (or not at all: OverflowError)


def is_real(value: object) -> bool:
    """Tell whether ``value`` is a number of magnitude at most 2**53 (not a bool, NaN or infinity)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) <= MAX_EXACT
    return isinstance(value, float) and math.isfinite(value) and abs(value) <= MAX_EXACT


class _Short(reprlib.Repr):
    # A bounded repr for messages: huge integers are described (repr fails past 4300 digits), deep lists cut.
    def repr_int(self, x: int, level: int) -> str:
        return f"<a {x.bit_length()}-bit integer>" if abs(x) > MAX_EXACT else repr(x)


_SHORT: Final = _Short()
_SHORT.maxstring = _SHORT.maxother = 60


def shown(value: object) -> str:
    """Return a short repr of a bad value for an error message."""
    return _SHORT.repr(value)


class LabelError(IcecubeStacError, ValueError):
    """A labels file is malformed or does not fit the products (names the file, entry and field)."""


@dataclass(frozen=True)
class LabelObject:
    """One labelled object in the pixel grid of its product file.

    Attributes
    ----------
    class_name
        The object's ``class``.
    kind
        ``bbox`` (``points`` = the two corners ``(xmin, ymin), (xmax, ymax)``, inclusive), ``polygon``
        (the vertices of the outer ring, not closed) or ``point`` (one vertex).
    points
        ``(x, y)`` pairs: x = stored column (range), y = stored row (azimuth).
    where
        Where the object was read (``file: entry N objects[M]``), for error messages.
    lonlat
        The same vertices in longitude/latitude when the object came from a geographic source.
    """

    class_name: str
    kind: LabelKind
    points: tuple[tuple[float, float], ...]
    where: str
    lonlat: tuple[tuple[float, float], ...] | None = None


@dataclass(frozen=True)
class ProductLabels:
    """The labels of one product (one icecube ``{"product_file", "labels"}`` entry).

    Attributes
    ----------
    product_file
        The raster's file name the entry matches (icecube compares the base name of the product path).
    objects
        Vector objects (empty for raster labels).
    classification
        Image-level tags (icecube ``{"classification": [tags]}``).
    segmentation
        The mask file (raster labels), resolved against the labels file's folder; None for vector labels.
    where
        ``file: entry N``, for error messages.
    """

    product_file: str
    objects: tuple[LabelObject, ...]
    classification: tuple[str, ...]
    segmentation: Path | None
    where: str


@dataclass(frozen=True)
class GeoFeature:
    """One GeoJSON feature in longitude/latitude with a ``class`` property.

    Attributes
    ----------
    class_name
        The feature's ``class`` property.
    kind
        ``point`` or ``polygon`` (boxes come from icecube files only).
    lonlat
        The vertices (outer ring for polygons, not closed).
    product_file
        Restrict the feature to one product (optional ``product_file`` property); "" maps it into every
        product whose raster it falls into.
    where
        ``file: features[N]``.
    """

    class_name: str
    kind: LabelKind
    lonlat: tuple[tuple[float, float], ...]
    product_file: str
    where: str


@dataclass(frozen=True)
class LabelSet:
    """Every label of one labels source, parsed once.

    Attributes
    ----------
    source
        The file (or folder) the labels came from.
    kind
        ``vector`` or ``raster`` (never both, as in icecube 1.x).
    entries
        Per-product labels in pixel coordinates (icecube JSON, STAC label items).
    features
        Geographic features mapped into each product through its geolocation (GeoJSON sources).
    """

    source: str
    kind: SourceKind
    entries: tuple[ProductLabels, ...] = ()
    features: tuple[GeoFeature, ...] = ()

    def classes(self) -> tuple[str, ...]:
        """Return the vector class names, sorted: class index ``i + 1`` (0 is background)."""
        names = {o.class_name for e in self.entries for o in e.objects} | {f.class_name for f in self.features}
        return tuple(sorted(names))

    def entry_for(self, product_file: str) -> ProductLabels | None:
        """Return the entry of a product file name, or None when the product is not labelled."""
        return next((e for e in self.entries if e.product_file == product_file), None)
