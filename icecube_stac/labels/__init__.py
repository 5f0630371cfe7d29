"""Labels for SAR cubes: icecube 1.x labels JSON, GeoJSON in lon/lat and STAC label items, on the cube's grid.

>>> from icecube_stac.labels import attach_labels, read_labels
>>> ds = attach_labels(cube, read_labels("labels.json"))  # doctest: +SKIP

Labels are parsed once (:func:`read_labels`, frozen :class:`LabelSet`), checked against the products of a cube
and attached as variables on exactly its grid (:func:`attach_labels`): an integer ``labels`` mask, a
``labelled`` flag per time, the classification tags and, for vector labels, an object table. Product pixels
reach the grid in two steps (:mod:`icecube_stac.labels._geometry`): the product's stored orientation, then a
per-slice :class:`SliceTransform`: :class:`GridPlacement` in radar geometry, :class:`CoregistrationPlacement`
for coregistered cubes and :class:`GeocodePlacement` for geocoded ones, picked from the cube's own records.
"""

from __future__ import annotations

from icecube_stac.labels._cube import LABEL_VARIABLES, attach_labels
from icecube_stac.labels._geolocation import Geolocation, geolocation_of
from icecube_stac.labels._geometry import (
    GridPlacement,
    SliceGeometry,
    SliceTransform,
    mask_to_product,
    product_to_stored,
    slice_geometries,
    stored_to_product,
)
from icecube_stac.labels._icecube_json import parse_icecube_labels
from icecube_stac.labels._model import GeoFeature, LabelError, LabelObject, LabelSet, ProductLabels
from icecube_stac.labels._placements import CoregistrationPlacement, GeocodePlacement, placement_for
from icecube_stac.labels._sources import parse_geojson_labels, read_labels

__all__ = [
    "LABEL_VARIABLES",
    "CoregistrationPlacement",
    "GeocodePlacement",
    "GeoFeature",
    "Geolocation",
    "GridPlacement",
    "LabelError",
    "LabelObject",
    "LabelSet",
    "ProductLabels",
    "SliceGeometry",
    "SliceTransform",
    "attach_labels",
    "geolocation_of",
    "mask_to_product",
    "parse_geojson_labels",
    "parse_icecube_labels",
    "placement_for",
    "product_to_stored",
    "read_labels",
    "slice_geometries",
    "stored_to_product",
]
