"""The common map grid of a geocoded cube: CRS, pixel size and bounds, chosen once from the options and items.

* CRS: ``geocode.crs``, else the UTM zone (pyproj's CRS database, WGS 84) of the area of interest's
  centre, else of the first footprint's.
* Pixel size: ``geocode.resolution``, else the coarsest ground pixel spacing of the products (GRD ground
  spacing; SLC slant-range spacing / sin(incidence) and azimuth spacing), converted to degrees for a
  geographic CRS.
* Bounds: ``geocode.bounds``, else the union of the footprints, cut to the area of interest, snapped
  outwards to whole pixels (so that grids of the same CRS and pixel size always line up).

The grid's size is checked before anything is allocated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from affine import Affine
from pyproj import CRS, Transformer
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from icecube_stac._config_geocode import GeocodeOptions, checked_options, grid_excess
from icecube_stac.errors import LoadError
from icecube_stac.item import ParsedItem
from icecube_stac.vocabulary import ProductLevel

__all__ = ["MapGrid", "area_of_interest", "choose_grid", "utm_crs"]

_METRES_PER_DEGREE: Final = 111_320.0  # at the equator: a degree pixel size never finer than the products'


@dataclass(frozen=True)
class MapGrid:
    """A north-up map grid: plain values, picklable.

    Attributes
    ----------
    crs
        ``EPSG:nnnn`` (or WKT for a CRS without a code).
    x0, y0
        Upper-left corner (min x, max y) in CRS units.
    dx, dy
        Pixel width and height (both > 0; rows run from y0 downwards).
    width, height
        Pixels along x and y.
    """

    crs: str
    x0: float
    y0: float
    dx: float
    dy: float
    width: int
    height: int

    @property
    def transform(self) -> Affine:
        """The grid's affine transform (GDAL convention: pixel corners)."""
        return Affine(self.dx, 0.0, self.x0, 0.0, -self.dy, self.y0)

    def window_transform(self, row: int, col: int) -> Affine:
        """Return the affine of the sub-grid whose pixel (0, 0) is pixel ``(row, col)`` of this grid."""
        return Affine(self.dx, 0.0, self.x0 + col * self.dx, 0.0, -self.dy, self.y0 - row * self.dy)

    def x(self) -> npt.NDArray[np.float64]:
        """Pixel-centre x coordinates."""
        return self.x0 + (np.arange(self.width, dtype=np.float64) + 0.5) * self.dx

    def y(self) -> npt.NDArray[np.float64]:
        """Pixel-centre y coordinates (decreasing)."""
        return self.y0 - (np.arange(self.height, dtype=np.float64) + 0.5) * self.dy

    def bounds(self) -> tuple[float, float, float, float]:
        """``(min_x, min_y, max_x, max_y)`` of the pixel edges."""
        return self.x0, self.y0 - self.height * self.dy, self.x0 + self.width * self.dx, self.y0

    def pyproj_crs(self) -> CRS:
        """Return the CRS as a pyproj object."""
        return CRS.from_user_input(self.crs)


def utm_crs(lon: float, lat: float) -> str:
    """Return the WGS 84 UTM zone (``EPSG:326nn`` / ``EPSG:327nn``) holding a point, from pyproj's database."""
    found = query_utm_crs_info(datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat))
    if not found:
        raise LoadError(f"geocode: pyproj knows no WGS 84 UTM zone at lon {lon}, lat {lat}; set geocode.crs")
    return f"{found[0].auth_name}:{found[0].code}"  # a point on a zone edge: the first (western) zone


def _footprint(item: ParsedItem) -> BaseGeometry:
    if item.item.geometry is None:
        raise LoadError(f"item {item.id!r} has no geometry; geocoding needs each product's footprint")
    return shape(item.item.geometry)


def _ground_spacing(item: ParsedItem) -> float:
    props: dict[str, Any] = item.item.properties
    spacings = [props.get("sar:pixel_spacing_range"), props.get("sar:pixel_spacing_azimuth")]
    values = [float(v) for v in spacings if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0]
    if len(values) != 2:
        raise LoadError(
            f"item {item.id!r} lacks sar:pixel_spacing_range/azimuth, so no resolution can be chosen for it; "
            "set geocode.resolution"
        )
    if item.level is ProductLevel.SLC:
        # SLC range spacing is slant range: on the ground it is longer by 1 / sin(incidence).
        values[0] /= math.sin(math.radians(max(item.incidence_angle, 1.0)))
    return max(values)


def _resolution(options: GeocodeOptions, items: Sequence[ParsedItem], crs: CRS) -> tuple[float, float]:
    if options.resolution is not None:
        return options.resolution
    metres = max(_ground_spacing(item) for item in items)
    size = metres / _METRES_PER_DEGREE if crs.is_geographic else metres
    return size, size


def _bounds(
    options: GeocodeOptions, items: Sequence[ParsedItem], area: BaseGeometry | None, crs: CRS
) -> tuple[float, float, float, float]:
    if options.bounds is not None:
        return options.bounds
    footprints = unary_union([_footprint(item) for item in items])
    region = footprints if area is None else footprints.intersection(area)
    if region.is_empty:
        raise LoadError("geocode: the area of interest does not overlap any product footprint")
    to_crs = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x0, y0, x1, y1 = to_crs.transform_bounds(*region.bounds, densify_pts=21)
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        raise LoadError(f"geocode: the footprints cannot be expressed in {crs.to_string()}; choose another crs")
    return float(x0), float(y0), float(x1), float(y1)


def _check_size(options: GeocodeOptions, bounds: tuple[float, ...], resolution: tuple[float, float], crs: CRS) -> None:
    excess = grid_excess(bounds, resolution)
    if excess is None:
        return
    given = "given" if options.resolution is not None else "the products' coarsest ground pixel spacing"
    where = "given" if options.bounds is not None else "the footprints' union, cut to the area of interest"
    raise LoadError(
        f"geocode: geocode.resolution [{resolution[0]:g}, {resolution[1]:g}] {crs.axis_info[0].unit_name} "
        f"({given}) over geocode.bounds [{', '.join(f'{v:.10g}' for v in bounds)}] ({where}) makes {excess}; "
        "set a coarser geocode.resolution or smaller geocode.bounds"
    )


def choose_grid(options: GeocodeOptions, items: Sequence[ParsedItem], area: BaseGeometry | None) -> MapGrid:
    """Choose the cube's map grid.

    Parameters
    ----------
    options
        The parsed ``geocode`` config.
    items
        The products of the cube (at least one).
    area
        The area of interest (lon/lat), or None.

    Returns
    -------
    MapGrid

    Raises
    ------
    ConfigError
        For options built directly with a bad field (they are checked like ``config.json`` input), among
        them given bounds and resolution whose grid is too large.
    LoadError
        When the area misses every footprint, a spacing is unknown, or the grid would exceed
        ``MAX_SIDE`` pixels a side or ``MAX_SAMPLES`` pixels in all.
    """
    options = checked_options("geocode", options)
    if options.crs is not None:
        crs_text = options.crs
    else:
        centre = (area if area is not None else _footprint(items[0])).centroid
        crs_text = utm_crs(float(centre.x), float(centre.y))
    crs = CRS.from_user_input(crs_text)
    dx, dy = _resolution(options, items, crs)
    x0, y0, x1, y1 = _bounds(options, items, area, crs)
    _check_size(options, (x0, y0, x1, y1), (dx, dy), crs)  # before int(): a huge span overflows it
    col0, col1 = math.floor(x0 / dx), math.ceil(x1 / dx)
    row0, row1 = math.floor(y0 / dy), math.ceil(y1 / dy)
    width, height = max(col1 - col0, 1), max(row1 - row0, 1)
    return MapGrid(crs_text, col0 * dx, row1 * dy, dx, dy, width, height)


def area_of_interest(bbox: Sequence[float] | None, intersects: dict[str, Any] | None) -> BaseGeometry | None:
    """Return the config's area of interest as a shapely geometry (lon/lat), or None."""
    if bbox is not None:
        return box(float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3]))
    return None if intersects is None else shape(intersects)
