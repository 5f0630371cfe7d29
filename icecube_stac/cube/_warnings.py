"""The recoverable problems met while building a cube, as warnings users can filter by class."""

from __future__ import annotations

from icecube_stac.errors import IcecubeStacWarning

__all__ = ["CubeWarning", "ShapeMismatchWarning", "SkippedItemWarning", "TimeSlotWarning"]


class CubeWarning(IcecubeStacWarning):
    """Base of the recoverable problems met while building a cube."""


class ShapeMismatchWarning(CubeWarning):
    """Some products do not have the grid's shape; they were padded with the fill value or cropped."""


class SkippedItemWarning(CubeWarning):
    """Items were left out because their data asset is missing (``on_missing="skip"``)."""


class TimeSlotWarning(CubeWarning):
    """Items were left out of the time axis: outside ``start_date``..``end_date`` or not the latest of a slot."""
