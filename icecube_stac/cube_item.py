"""The STAC item of a written cube: where it is, what it holds (datacube extension) and what it came from.

:func:`write_cube_item` writes ``<cube>.json`` beside a Zarr folder or NetCDF file, so STAC tools, xpystac
(``xarray:open_kwargs`` of the xarray-assets extension) and catalog browsers can find and open the cube:
geometry = the union of the source footprints, ``start/end_datetime`` = the acquisitions' span,
``cube:dimensions``/``cube:variables`` describe the dims and data variables, the ``data`` asset is the cube
(``application/vnd+zarr`` or ``application/x-netcdf``), and ``derived_from`` links point at the source items.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
import numpy.typing as npt
import pystac.utils
from shapely.geometry import mapping, shape
from shapely.ops import unary_union

from icecube_stac._atomic import write_bytes

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "CUBE_EXTENSIONS",
    "PRODUCT_EXTENSION",
    "CubeSummary",
    "cube_item",
    "cube_item_path",
    "summary_item",
    "write_cube_item",
]

CUBE_EXTENSIONS: Final = [
    "https://stac-extensions.github.io/datacube/v2.2.0/schema.json",
    "https://stac-extensions.github.io/xarray-assets/v1.0.0/schema.json",
]
# Declared when the cube says its product type (``product:type``), as the catalog's items do.
PRODUCT_EXTENSION: Final = "https://stac-extensions.github.io/product/v1.0.0/schema.json"
_MEDIA: Final = {"zarr": "application/vnd+zarr", "netcdf": "application/x-netcdf"}
_OPEN_KWARGS: Final[dict[str, dict[str, Any]]] = {
    "zarr": {"engine": "zarr", "consolidated": True},
    "netcdf": {"engine": "h5netcdf"},
}
_MAX_TIME_VALUES: Final = 10_000  # beyond this, cube:dimensions.time gives the extent only
_PIXEL_DIMS: Final = {
    "azimuth": "azimuth line index (0-based row of the sensor-geometry grid)",
    "range": "range sample index (0-based column of the sensor-geometry grid)",
}


def cube_item_path(target: str | os.PathLike[str]) -> Path:
    """Return where the STAC item of a cube at ``target`` is written: ``<target>.json`` beside it."""
    path = Path(target)
    return path.with_name(path.name + ".json")


@dataclass(frozen=True)
class CubeSummary:
    """What the STAC item says of a cube, taken from the cube (:func:`_summary`) or from its plan.

    Attributes
    ----------
    attrs
        The cube's global attributes.
    sizes
        Length of each dim.
    times
        The ``time`` coordinate (datetime64, NaT for none).
    stac_items, item_hrefs, platforms
        The per-item coordinates of those names ("" for an empty slot).
    variables
        ``name -> (dims, attrs)`` of each data variable, as a user opens it.
    spatial
        The ``x``/``y`` dimensions of a map-grid cube (datacube extension); empty in sensor geometry.
    """

    attrs: Mapping[str, Any]
    sizes: Mapping[str, int]
    times: npt.NDArray[np.datetime64]
    stac_items: Sequence[str]
    item_hrefs: Sequence[str]
    platforms: Sequence[str]
    variables: Mapping[str, tuple[tuple[str, ...], Mapping[str, Any]]]
    spatial: Mapping[str, Any]


def _iso(value: Any) -> str | None:
    stamp = np.datetime64(value, "us")
    return None if np.isnat(stamp) else f"{np.datetime_as_string(stamp, unit='us')}Z"


def _texts(ds: xr.Dataset, name: str) -> list[str]:
    return [str(t) for t in np.asarray(ds.coords[name].values)] if name in ds.coords else []


def _summary(ds: xr.Dataset) -> CubeSummary:
    spatial: dict[str, Any] = {}
    if "spatial_ref" in ds.coords and {"x", "y"} <= set(ds.dims):  # a geocoded (map-grid) cube
        from icecube_stac.geocode._cf import spatial_dimensions

        spatial = spatial_dimensions(ds)
    return CubeSummary(
        attrs=dict(ds.attrs),
        sizes={str(k): int(v) for k, v in ds.sizes.items()},
        times=np.asarray(ds["time"].values),
        stac_items=_texts(ds, "stac_item"),
        item_hrefs=_texts(ds, "item_href"),
        platforms=[str(p) for p in np.asarray(ds.coords["platform"].values)] if "platform" in ds.coords else [],
        variables={str(n): (tuple(str(d) for d in v.dims), dict(v.attrs)) for n, v in ds.data_vars.items()},
        spatial=spatial,
    )


def _sources(summary: CubeSummary) -> list[dict[str, Any]]:
    return [json.loads(text) for text in summary.stac_items if text]


def _moment(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        value = pystac.utils.str_to_datetime(text)
    except (ValueError, OverflowError):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _moments(sources: list[dict[str, Any]], key: str) -> list[tuple[datetime, str]]:
    """Return each source's ``key`` (else its ``datetime``) as written, with its UTC time to order them by.

    Parsed, not compared as text: ``...:04Z`` sorts after ``...:04.5Z`` as text, and offsets other than ``Z``
    do not sort at all. An item with a datetime only still spans its acquisition.
    """
    moments = []
    for source in sources:
        properties = source.get("properties") or {}
        text = properties.get(key) or properties.get("datetime")
        moment = _moment(text)
        if moment is not None:
            moments.append((moment, str(text)))
    return moments


def _footprint(sources: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, list[float] | None]:
    shapes = [shape(s["geometry"]) for s in sources if s.get("geometry")]
    if not shapes:
        return None, None
    union = unary_union(shapes)
    return dict(mapping(union)), [float(v) for v in union.bounds]


def _dimensions(summary: CubeSummary) -> dict[str, Any]:
    times = [_iso(t) for t in summary.times]
    present = [t for t in times if t is not None]
    time: dict[str, Any] = {"type": "temporal", "extent": [min(present, default=None), max(present, default=None)]}
    if len(times) <= _MAX_TIME_VALUES and all(t is not None for t in times):
        time["values"] = times
    dims: dict[str, Any] = {"time": time}
    for name, description in _PIXEL_DIMS.items():
        if name in summary.sizes:
            dims[name] = {"type": name, "extent": [0, summary.sizes[name] - 1], "step": 1, "description": description}
    dims.update(summary.spatial)
    return dims


def _variables(summary: CubeSummary) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (dims, attrs) in summary.variables.items():
        entry: dict[str, Any] = {"dimensions": list(dims), "type": "data"}
        if attrs.get("long_name"):
            entry["description"] = str(attrs["long_name"])
        if attrs.get("units"):
            entry["unit"] = str(attrs["units"])
        out[name] = entry
    return out


def _derived_from(summary: CubeSummary, base: Path) -> list[dict[str, str]]:
    links = []
    for href in dict.fromkeys(h for h in summary.item_hrefs if h):
        shown = href if "://" in href else os.path.relpath(href, base)
        links.append({"rel": "derived_from", "href": shown, "type": "application/geo+json"})
    return links


def cube_item(ds: xr.Dataset, target: str | os.PathLike[str], fmt: Literal["zarr", "netcdf"]) -> dict[str, Any]:
    """Return the STAC item (as a dict) describing the cube ``ds`` written at ``target``.

    Parameters
    ----------
    ds
        The cube as built (coords ``time``, ``stac_item``, ``item_href``, ``start/end_datetime``...).
    target
        The written cube (Zarr folder or NetCDF file).
    fmt
        ``"zarr"`` or ``"netcdf"``.

    Returns
    -------
    dict
        A STAC 1.1 item whose ``data`` asset href is relative to the item file.
    """
    return summary_item(_summary(ds), target, fmt)


def summary_item(
    summary: CubeSummary, target: str | os.PathLike[str], fmt: Literal["zarr", "netcdf"]
) -> dict[str, Any]:
    """Return the STAC item of the cube a :class:`CubeSummary` describes (see :func:`cube_item`)."""
    path = Path(target)
    sources = _sources(summary)
    geometry, bbox = _footprint(sources)
    starts = _moments(sources, "start_datetime")
    ends = _moments(sources, "end_datetime")
    properties: dict[str, Any] = {
        "datetime": None,
        "start_datetime": min(starts)[1] if starts else _iso(summary.times.min()),
        "end_datetime": max(ends)[1] if ends else _iso(summary.times.max()),
        "title": str(summary.attrs.get("title", "ICEYE time-series cube")),
        "product:type": str(summary.attrs.get("product_type", "")) or None,
        "cube:dimensions": _dimensions(summary),
        "cube:variables": _variables(summary),
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    platforms = sorted({p for p in summary.platforms if p})
    if platforms:
        properties["platform"] = platforms[0] if len(platforms) == 1 else ", ".join(platforms)
    kept = {k: v for k, v in properties.items() if v is not None or k == "datetime"}
    item: dict[str, Any] = {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": [*CUBE_EXTENSIONS, *([PRODUCT_EXTENSION] if "product:type" in kept else [])],
        "id": path.name,
        "geometry": geometry,
        "properties": kept,
        "links": _derived_from(summary, path.parent.resolve()),
        "assets": {
            "data": {
                "href": f"./{path.name}",
                "type": _MEDIA[fmt],
                "title": f"{properties['title']} ({fmt})",
                "roles": ["data"],
                "xarray:open_kwargs": dict(_OPEN_KWARGS[fmt]),
            }
        },
    }
    if bbox is not None and all(math.isfinite(v) for v in bbox):
        item["bbox"] = bbox
    return item


def write_cube_item(
    ds: xr.Dataset | CubeSummary, target: str | os.PathLike[str], fmt: Literal["zarr", "netcdf"]
) -> Path:
    """Write :func:`cube_item` (of a cube, or of a :class:`CubeSummary`) to ``<target>.json`` atomically."""
    where = cube_item_path(target)
    item = summary_item(ds if isinstance(ds, CubeSummary) else _summary(ds), target, fmt)
    text = json.dumps(item, indent=2, allow_nan=False) + "\n"
    write_bytes(str(where), text.encode("utf-8"))
    return where
