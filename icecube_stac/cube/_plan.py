"""Items → the plan of a cube: everything :func:`~icecube_stac.cube.build_cube` decides before xarray.

:func:`plan_cube` parses each item once (:func:`~icecube_stac.item.parse_item`), refuses or skips items whose
data are missing, lays out the time axis, takes the grid from the first item in time order, merges the chunk
sizes, and makes the coordinates and attributes as numpy arrays and plain values (:class:`CubePlan`). Both
writers start from it: :func:`~icecube_stac.cube.build_cube` turns it into a lazy ``xarray.Dataset`` (dask), and
the command line's direct Zarr writer (:mod:`icecube_stac.cube._direct`) stores it without xarray, pandas or
dask, whose imports are most of a small cube's run time. Nothing here imports them.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import numpy.typing as npt
import pystac

from icecube_stac._codecs import SOURCE_DTYPE_ATTR
from icecube_stac.config import CubeConfig
from icecube_stac.cube._blocks import RasterSource, chunk_sizes
from icecube_stac.cube._coords import VARIABLE_ATTRS, dataset_attrs, pixel_coords, time_coords
from icecube_stac.cube._timeaxis import time_axis
from icecube_stac.cube._warnings import ShapeMismatchWarning, SkippedItemWarning
from icecube_stac.errors import IcecubeStacError, LoadError
from icecube_stac.item import ParsedItem, parse_item
from icecube_stac.readers import get_reader
from icecube_stac.vocabulary import CUBE_VARIABLES, Container, ProductLevel, local_path

__all__ = ["DTYPES", "CubePlan", "OnMissing", "plan_cube", "source_dtype_attrs", "with_band_scale"]

OnMissing = Literal["raise", "skip"]

# The cube's in-memory dtype by product level.
DTYPES: Final = {ProductLevel.GRD: "float32", ProductLevel.SLC: "complex64"}
# (container, STAC data_type) -> the dtype the samples are stored in; legacy GeoTIFFs are always uint16 DN.
_SOURCE_DTYPES: Final[dict[tuple[str, str], str]] = {
    **{(Container.LEGACY_GEOTIFF, t): "uint16" for t in ("", "uint16")},
    (Container.LEGACY_HDF5, "cint16"): "int16",
    (Container.LEGACY_HDF5, "cfloat32"): "float32",
    # COG GRD DN as stored; COG SLC amplitude/phase become complex64 (float32 parts).
    (Container.COG_GRD, "uint16"): "uint16",
    (Container.COG_SLC, "cfloat32"): "float32",
}
_CHOOSE_PRODUCT: Final = (
    'choose one with "product_type": "GRD" or "product_type": "SLC" in config.json '
    "(or --product-type GRD|SLC on the command line)"
)


def _items(source: pystac.ItemCollection | Iterable[pystac.Item]) -> list[pystac.Item]:
    if isinstance(source, CubeConfig):
        raise TypeError(
            "build_cube() takes STAC items and never searches; to search a config's catalog and build its cube "
            "use icecube_stac.load_cube(config)"
        )
    if isinstance(source, (str, bytes, Path)) or not isinstance(source, Iterable):
        raise TypeError(f"build_cube() needs a pystac.ItemCollection or pystac.Items, not {type(source).__name__}")
    items = list(source)
    wrong = [type(i).__name__ for i in items if not isinstance(i, pystac.Item)]
    if wrong:
        raise TypeError(f"build_cube() needs pystac.Item objects, got {', '.join(sorted(set(wrong)))}")
    if not items:
        raise LoadError("no items matched the search (the item list given to build_cube is empty)")
    return items


def _check_single_level(parsed: Sequence[ParsedItem]) -> ProductLevel:
    found = {level: [p.id for p in parsed if p.level is level] for level in ProductLevel}
    if found[ProductLevel.GRD] and found[ProductLevel.SLC]:
        grd, slc = found[ProductLevel.GRD], found[ProductLevel.SLC]
        raise LoadError(
            f"the items mix {len(grd)} GRD product(s) (e.g. {grd[0]}) and {len(slc)} SLC product(s) (e.g. "
            f"{slc[0]}); GRD amplitude and complex SLC cannot share one cube: " + _CHOOSE_PRODUCT
        )
    return parsed[0].level


def _probe_shape(item: ParsedItem) -> tuple[int, int]:
    """Open a raster for its shape: only for items without ``proj:shape``."""
    try:
        with get_reader(item.container).open(item.data_href) as raster:
            return raster.shape
    except (IcecubeStacError, OSError, KeyError) as exc:
        raise LoadError(f"item {item.id!r}: cannot read the shape of {item.data_href}: {exc}") from None


def with_band_scale(item: ParsedItem) -> ParsedItem:
    """Read a COG GRD's band scale from its raster when the item does not record it.

    Items indexed by us record it (``icecube:amplitude_scale``); those of catalogs made elsewhere (ICEYE's
    own scene and side-car items) do not, since ICEYE keeps it in the TIFF header only, and without it
    sigma0 would be NaN. One header read per such item (a range request for a remote COG).
    """
    if item.level is not ProductLevel.GRD or math.isfinite(item.amplitude_scale) or _missing(item) is not None:
        return item
    try:
        with get_reader(item.container).open(item.data_href) as raster:
            scale_offset = getattr(raster, "band_scale", None)
    except (IcecubeStacError, OSError, KeyError) as exc:
        raise LoadError(f"item {item.id!r}: cannot read the band scale of {item.data_href}: {exc}") from None
    if scale_offset is None:
        return item
    scale, offset = scale_offset
    return dataclasses.replace(item, amplitude_scale=scale, amplitude_offset=offset)


def _missing(item: ParsedItem) -> str | None:
    if not item.data_href:
        return "has no data asset"
    local = local_path(item.data_href)
    # Remote hrefs are not probed here: that would cost a request per item; tasks report them instead.
    if local is not None and not local.is_file():
        return f"data asset {item.data_href} does not exist"
    return None


def _readable(parsed: Sequence[ParsedItem], on_missing: OnMissing, stacklevel: int = 3) -> dict[int, RasterSource]:
    """Return the raster source of each readable item, keyed by ``id()`` of its parsed item."""
    sources: dict[int, RasterSource] = {}
    skipped: list[str] = []
    for item in parsed:
        problem = _missing(item)
        if problem is None:
            shape = item.shape or _probe_shape(item)
            sources[id(item)] = RasterSource(item.id, item.data_href, item.container, shape)
        elif on_missing == "raise":
            raise LoadError(
                f"item {item.id!r}: {problem}; fix or re-index the catalog, or leave such items out with "
                "on_missing='skip' (--skip-missing)"
            )
        else:
            skipped.append(f"{item.id} ({item.data_href or 'no data asset'})")
    if skipped:
        warnings.warn(
            f"{len(skipped)} item(s) skipped because their data are missing: " + "; ".join(skipped),
            SkippedItemWarning,
            stacklevel=stacklevel,
        )
    if not sources:
        raise LoadError(f"none of the {len(parsed)} matched item(s) has readable data (all were skipped)")
    return sources


def _grid_shape(present: Sequence[RasterSource], coregistered: bool, stacklevel: int = 3) -> tuple[int, int]:
    shape = present[0].shape
    others = [f"{source.item_id} {source.shape}" for source in present if source.shape != shape]
    if others:
        note = (
            "the config says coregistered=true, so identical shapes were expected; check that the stack is "
            "really coregistered. "
            if coregistered
            else ""
        )
        warnings.warn(
            f"{note}The cube grid is {shape} (azimuth, range), the shape of the first product "
            f"{present[0].item_id}; {len(others)} product(s) of another shape were padded at the end with the fill "
            "value or cropped: " + "; ".join(others),
            ShapeMismatchWarning,
            stacklevel=stacklevel,
        )
    return shape


def source_dtype_attrs(present: Sequence[ParsedItem]) -> dict[str, str]:
    """Return the ``source_dtype`` attr: the sample dtype all products share (writers store the cube in it)."""
    dtypes = {_SOURCE_DTYPES.get((p.container, p.data_type or "")) for p in present}
    dtype = dtypes.pop() if len(dtypes) == 1 else None
    return {} if dtype is None else {SOURCE_DTYPE_ATTR: dtype}


def _fill(fill_value: float | None, config: CubeConfig | None) -> float:
    if fill_value is not None:
        return float(fill_value)
    if config is not None and config.fill_value is not None:
        return float(config.fill_value)
    return math.nan


Coordinate = tuple[str, npt.NDArray[Any], Mapping[str, str]]  # (dim, values, attrs)


@dataclass(frozen=True)
class CubePlan:
    """A cube before any pixel is read: its sources, grid, chunks, coordinates and attributes.

    Attributes
    ----------
    level
        Product level of the stack.
    name
        The data variable (``amplitude`` or ``slc``).
    dtype
        Its in-memory dtype (``float32`` or ``complex64``).
    fill
        Fill value of padded pixels and empty slots.
    sources
        One raster source per time step (None for an empty slot).
    grid
        ``(azimuth, range)`` of the cube.
    sizes
        Chunk size per dim (:func:`~icecube_stac.cube._blocks.chunk_sizes`).
    attrs
        The data variable's attributes (``source_dtype`` included when the products share one).
    coords
        ``name -> (dim, values, attrs)``: ``time`` and the per-item coords, then ``azimuth`` and ``range``.
    dataset_attrs
        The cube's global attributes.
    """

    level: ProductLevel
    name: str
    dtype: str
    fill: float
    sources: tuple[RasterSource | None, ...]
    grid: tuple[int, int]
    sizes: Mapping[str, int]
    attrs: Mapping[str, str]
    coords: Mapping[str, Coordinate]
    dataset_attrs: Mapping[str, Any]

    @property
    def source_dtype(self) -> str | None:
        """The products' shared sample dtype (``uint16``, ``int16``, ``float32``), or None."""
        return self.attrs.get(SOURCE_DTYPE_ATTR)

    @property
    def complete(self) -> bool:
        """Every time step has a product of the grid's shape: every chunk holds samples (none is fill only)."""
        return all(source is not None and source.shape == self.grid for source in self.sources)


def plan_cube(
    source: pystac.ItemCollection | Iterable[pystac.Item],
    *,
    config: CubeConfig | None = None,
    chunks: Mapping[str, int] | None = None,
    fill_value: float | None = None,
    on_missing: OnMissing = "raise",
) -> CubePlan:
    """Plan the cube of STAC items: parameters, rules and errors as :func:`~icecube_stac.cube.build_cube`.

    Returns
    -------
    CubePlan

    Raises
    ------
    LoadError
        No items; GRD and SLC items mixed; a missing data file (with ``on_missing="raise"``); two
        acquisitions in one time slot while ``temporal_overlap`` is true.
    """
    if on_missing not in ("raise", "skip"):
        raise ValueError(f"on_missing must be 'raise' or 'skip', got {on_missing!r}")
    parsed = [with_band_scale(parse_item(item)) for item in _items(source)]
    level = _check_single_level(parsed)
    sources = _readable(parsed, on_missing, stacklevel=4)  # warnings point at the caller of build_cube
    # Keyed by object identity: items handed in by a caller may share an id.
    axis = time_axis([p for p in parsed if id(p) in sources], config, stacklevel=6)
    present = [sources[id(p)] for p in axis.present]
    grid = _grid_shape(present, bool(config and config.coregistered), stacklevel=4)
    fill = _fill(fill_value, config)
    sizes = chunk_sizes([config.chunks if config else None, chunks], (len(axis.slots), *grid))
    slot_sources = tuple(None if p is None else sources[id(p)] for p in axis.slots)
    shapes = [None if s is None else s.shape for s in slot_sources]
    return CubePlan(
        level=level,
        name=CUBE_VARIABLES[level],
        dtype=DTYPES[level],
        fill=fill,
        sources=slot_sources,
        grid=grid,
        sizes=sizes,
        attrs={**VARIABLE_ATTRS[level], **source_dtype_attrs(axis.present)},
        coords={**time_coords(axis, shapes), **pixel_coords(grid)},
        dataset_attrs=dataset_attrs(level, config, present[0].item_id, fill),
    )
