"""The ``geocode`` config key: its rule (check + JSON Schema) and the frozen options it is parsed into.

``geocode`` is ``false`` (default: the cube stays in sensor geometry), ``true`` (a UTM zone chosen from the
area of interest or the first footprint, the products' ground pixel spacing) or an object with any of
``crs``, ``resolution``, ``bounds``, ``resampling``, ``dem`` and ``quantity``. The value is parsed once
into :class:`GeocodeOptions`; :mod:`icecube_stac.geocode` reads nothing else. The CRS is checked with
pyproj, imported only when a config asks for one (start-up of every other command stays unchanged).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ._config_errors import fail, one_of, shown
from ._config_patterns import choice_pattern
from ._config_rules import Rule, real
from .metadata import MAX_SAMPLES, MAX_SIDE

__all__ = [
    "COMPLEX_REFUSED",
    "QUANTITIES",
    "RESAMPLING",
    "GeocodeOptions",
    "GeocodeRule",
    "checked_options",
    "grid_excess",
    "grid_pixels",
]

RESAMPLING: Final = ("nearest", "bilinear", "cubic", "cubic_spline", "lanczos", "average", "mode", "min", "max", "med")
"""GDAL resampling methods allowed (rasterio ``Resampling`` names)."""
QUANTITIES: Final = ("amplitude", "intensity", "beta0", "sigma0", "complex")
"""What a geocoded cube holds; ``complex`` is refused with the reason (see :data:`COMPLEX_REFUSED`)."""
COMPLEX_REFUSED: Final = (
    "complex SLC samples cannot be interpolated onto a map grid (resampling mixes their phase); geocode "
    "'intensity', 'beta0' or 'sigma0', or keep the complex stack in radar geometry and coregister it there "
    "(config key coregister) instead of geocoding"
)
_FIELDS: Final = ("crs", "resolution", "bounds", "resampling", "dem", "quantity")
_MAX_RESOLUTION: Final = 1e6  # CRS units (metres or degrees): beyond it a cube is at most a few pixels
_MAX_TEXT: Final = 4096
_ALLOWED: Final = (
    "expected true, false, or an object with some of " + ", ".join(_FIELDS) + ' (e.g. {"crs": "EPSG:32648", '
    '"resolution": 10})'
)


@dataclass(frozen=True)
class GeocodeOptions:
    """How to geocode a cube; every field None means "choose from the products".

    Attributes
    ----------
    crs
        Target CRS as pyproj writes it (``EPSG:32648``, or WKT for a CRS without a code); None = the UTM zone
        of the area of interest (else of the first footprint).
    resolution
        ``(x, y)`` pixel size in CRS units; None = the products' ground pixel spacing.
    bounds
        ``(min_x, min_y, max_x, max_y)`` in CRS units (needs ``crs``); None = the footprints' union, cut to
        the area of interest.
    resampling
        A GDAL resampling method of :data:`RESAMPLING`.
    dem
        Local DEM raster giving the RPC height of every pixel; None = each product's average scene height.
    quantity
        ``amplitude``, ``intensity``, ``beta0`` or ``sigma0``; None = ``amplitude`` for GRD, ``beta0`` for SLC.
    """

    crs: str | None = None
    resolution: tuple[float, float] | None = None
    bounds: tuple[float, float, float, float] | None = None
    resampling: str = "bilinear"
    dem: str | None = None
    quantity: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the options as ``config.json`` data (``load_config`` reads them back equal)."""
        return {
            "crs": self.crs,
            "resolution": _json(self.resolution),
            "bounds": _json(self.bounds),
            "resampling": self.resampling,
            "dem": self.dem,
            "quantity": self.quantity,
        }


def _json(value: object) -> object:
    # Options built directly may hold any type: only sequences become lists, the rest is left for the checks.
    return list(value) if isinstance(value, (tuple, list)) else value


def _crs(key: str, value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)) or (isinstance(value, str) and not value.strip()):
        fail(key, value, "expected a CRS: an EPSG code (32648 or 'EPSG:32648'), a WKT or PROJ string, or null")
    if isinstance(value, str) and len(value) > _MAX_TEXT:
        fail(key, value, f"expected a CRS of at most {_MAX_TEXT} characters")
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_user_input(f"EPSG:{value}" if isinstance(value, int) else value)
    except CRSError as exc:
        fail(key, value, f"pyproj does not know this CRS ({str(exc)[:200]}); expected e.g. 'EPSG:32648'")
    if not (crs.is_projected or crs.is_geographic) or crs.is_geocentric:
        fail(key, value, "expected a projected or geographic 2-D CRS (a map grid), e.g. a UTM zone 'EPSG:32648'")
    code = crs.to_authority()
    return f"{code[0]}:{code[1]}" if code is not None else str(crs.to_wkt())


def _positive(key: str, value: object) -> float:
    number = real(value)
    if number is None or not 0 < number <= _MAX_RESOLUTION:
        fail(key, value, f"expected a pixel size in CRS units > 0 and at most {_MAX_RESOLUTION:g}")
    return number


def _resolution(key: str, value: object) -> tuple[float, float] | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            fail(key, value, "expected one pixel size or [x, y] (two numbers) in CRS units")
        return _positive(key, value[0]), _positive(key, value[1])
    size = _positive(key, value)
    return size, size


def _bounds(key: str, value: object) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    numbers = [real(v) for v in value] if isinstance(value, (list, tuple)) and len(value) == 4 else []
    if len(numbers) != 4 or any(n is None for n in numbers):
        fail(key, value, "expected [min_x, min_y, max_x, max_y]: four finite numbers in CRS units")
    x0, y0, x1, y1 = (float(n) for n in numbers if n is not None)
    if not (x0 < x1 and y0 < y1):
        fail(key, value, "expected min_x < max_x and min_y < max_y")
    return x0, y0, x1, y1


def grid_pixels(bounds: Sequence[float], resolution: Sequence[float]) -> tuple[float, float]:
    """Return the ``(width, height)`` of ``bounds`` snapped outwards to whole pixels of ``resolution``.

    Parameters
    ----------
    bounds
        ``(min_x, min_y, max_x, max_y)``, finite.
    resolution
        ``(x, y)`` pixel size.

    Returns
    -------
    tuple of float
        Whole numbers of pixels (at least 1), or ``inf`` where the count is beyond float range (or the pixel
        size is not positive), so that callers compare sizes before any int conversion can overflow.
    """
    sizes = []
    for low, high, step in ((bounds[0], bounds[2], resolution[0]), (bounds[1], bounds[3], resolution[1])):
        first, last = (low / step, high / step) if step > 0 else (-math.inf, math.inf)
        finite = math.isfinite(last - first)
        sizes.append(float(max(math.ceil(last) - math.floor(first), 1)) if finite else math.inf)
    return sizes[0], sizes[1]


def _count(pixels: float) -> str:
    if not math.isfinite(pixels):
        return "more than 1.8e+308"
    return f"{pixels:,.0f}" if pixels < 1e15 else f"{pixels:.3g}"


def grid_excess(bounds: Sequence[float], resolution: Sequence[float]) -> str | None:
    """Say how the map grid of ``bounds`` at ``resolution`` exceeds the size cap, or None when it fits.

    Parameters
    ----------
    bounds, resolution
        As for :func:`grid_pixels`.

    Returns
    -------
    str or None
        ``"a grid of W x H pixels; expected at most ..."`` (``MAX_SIDE`` a side, ``MAX_SAMPLES`` in all).
    """
    width, height = grid_pixels(bounds, resolution)
    if width <= MAX_SIDE and height <= MAX_SIDE and width * height <= MAX_SAMPLES:
        return None
    return (
        f"a grid of {_count(width)} x {_count(height)} pixels; expected at most {MAX_SIDE:,} pixels a side "
        f"and {MAX_SAMPLES:,} pixels in all"
    )


def _choice(key: str, value: object, choices: tuple[str, ...], nullable: bool) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str) or value.lower() not in choices:
        fail(key, value, one_of(choices, value, any_case=True, nullable=nullable))
    return value.lower()


def _dem(key: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_TEXT:
        fail(key, value, f"expected the path of a local DEM raster (GeoTIFF, ...), at most {_MAX_TEXT} characters")
    return value


def _options(key: str, value: Mapping[Any, Any]) -> GeocodeOptions:
    unknown = [name for name in value if name not in _FIELDS]
    if unknown:
        name = unknown[0]
        fail(
            f"{key}.{name if isinstance(name, str) else shown(name, 40)}",
            value[name],
            one_of(_FIELDS, name, any_case=False, nullable=False),
        )
    crs = _crs(f"{key}.crs", value.get("crs"))
    bounds = _bounds(f"{key}.bounds", value.get("bounds"))
    if bounds is not None and crs is None:
        fail(f"{key}.bounds", value.get("bounds"), f"bounds are in CRS units, so {key}.crs must be given too")
    resolution = _resolution(f"{key}.resolution", value.get("resolution"))
    excess = None if bounds is None or resolution is None else grid_excess(bounds, resolution)
    if excess is not None:
        shown_bounds = ", ".join(f"{v:g}" for v in bounds or ())
        reason = f"over {key}.bounds [{shown_bounds}] it makes {excess} (a coarser resolution or smaller bounds)"
        fail(f"{key}.resolution", value.get("resolution"), reason)
    quantity = _choice(f"{key}.quantity", value.get("quantity"), QUANTITIES, True)
    if quantity == "complex":
        fail(f"{key}.quantity", value.get("quantity"), COMPLEX_REFUSED)
    return GeocodeOptions(
        crs=crs,
        resolution=resolution,
        bounds=bounds,
        resampling=_choice(f"{key}.resampling", value.get("resampling", "bilinear"), RESAMPLING, False) or "bilinear",
        dem=_dem(f"{key}.dem", value.get("dem")),
        quantity=quantity,
    )


def checked_options(key: str, options: GeocodeOptions) -> GeocodeOptions:
    """Check options built directly (not read from JSON) like JSON input; the canonical form passes unchanged.

    Parameters
    ----------
    key
        The config key named in errors (``geocode``).
    options
        Any :class:`GeocodeOptions`, whatever its field types.

    Returns
    -------
    GeocodeOptions

    Raises
    ------
    ConfigError
        For a bad field, naming ``key.field``.
    """
    return _options(key, options.to_json())


class GeocodeRule(Rule):
    """``geocode``: a flag or an options object; canonical: ``False`` or a :class:`GeocodeOptions`."""

    def check(self, key: str, value: object) -> GeocodeOptions | bool:
        if value is None or value is False:
            return False
        if value is True:
            return GeocodeOptions()
        if isinstance(value, GeocodeOptions):
            return checked_options(key, value)
        if isinstance(value, Mapping):
            return _options(key, value)
        fail(key, value, _ALLOWED)

    def schema(self) -> dict[str, Any]:
        size = {"type": "number", "exclusiveMinimum": 0, "maximum": _MAX_RESOLUTION}
        finite = {"type": "number"}
        options = {
            "type": "object",
            "properties": {
                "crs": {
                    "anyOf": [{"type": "string", "maxLength": _MAX_TEXT, "pattern": r"\S"}, {"type": "integer"}],
                    "description": "target CRS (EPSG code, WKT or PROJ); null = UTM zone of the area",
                },
                "resolution": {"anyOf": [size, {"type": "array", "items": size, "minItems": 2, "maxItems": 2}]},
                "bounds": {"type": "array", "items": finite, "minItems": 4, "maxItems": 4},
                "resampling": {"type": "string", "pattern": choice_pattern(RESAMPLING)},
                "dem": {"type": "string", "minLength": 1, "maxLength": _MAX_TEXT, "pattern": r"\S"},
                "quantity": {"type": "string", "pattern": choice_pattern([q for q in QUANTITIES if q != "complex"])},
            },
            "additionalProperties": False,
            # bounds are in CRS units: a non-null bounds needs a non-null crs.
            "if": {"properties": {"bounds": {"type": "array"}}, "required": ["bounds"]},
            "then": {"properties": {"crs": {"not": {"type": "null"}}}, "required": ["crs"]},
        }
        for name in ("crs", "resolution", "bounds", "dem", "quantity"):
            options["properties"][name] = {"anyOf": [options["properties"][name], {"type": "null"}]}  # type: ignore[index]
        return {"anyOf": [{"type": "boolean"}, {"type": "null"}, options]}
