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
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
import xarray as xr
from shapely.geometry import mapping, shape
from shapely.ops import unary_union

from icecube_stac._atomic import write_bytes

__all__ = ["CUBE_EXTENSIONS", "cube_item", "cube_item_path", "write_cube_item"]

CUBE_EXTENSIONS: Final = [
    "https://stac-extensions.github.io/datacube/v2.2.0/schema.json",
    "https://stac-extensions.github.io/xarray-assets/v1.0.0/schema.json",
]
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


def _iso(value: Any) -> str | None:
    stamp = pd.Timestamp(value)
    return None if pd.isna(stamp) else stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _sources(ds: xr.Dataset) -> list[dict[str, Any]]:
    texts = [str(t) for t in np.asarray(ds.coords["stac_item"].values)] if "stac_item" in ds.coords else []
    return [json.loads(text) for text in texts if text]


def _footprint(sources: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, list[float] | None]:
    shapes = [shape(s["geometry"]) for s in sources if s.get("geometry")]
    if not shapes:
        return None, None
    union = unary_union(shapes)
    return dict(mapping(union)), [float(v) for v in union.bounds]


def _dimensions(ds: xr.Dataset) -> dict[str, Any]:
    times = [_iso(t) for t in np.asarray(ds["time"].values)]
    present = [t for t in times if t is not None]
    time: dict[str, Any] = {"type": "temporal", "extent": [min(present, default=None), max(present, default=None)]}
    if len(times) <= _MAX_TIME_VALUES and all(t is not None for t in times):
        time["values"] = times
    dims: dict[str, Any] = {"time": time}
    for name, description in _PIXEL_DIMS.items():
        if name in ds.dims:
            dims[name] = {"type": name, "extent": [0, int(ds.sizes[name]) - 1], "step": 1, "description": description}
    if "spatial_ref" in ds.coords and {"x", "y"} <= set(ds.dims):  # a geocoded (map-grid) cube
        from icecube_stac.geocode._cf import spatial_dimensions

        dims.update(spatial_dimensions(ds))
    return dims


def _variables(ds: xr.Dataset) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, variable in ds.data_vars.items():
        entry: dict[str, Any] = {"dimensions": [str(d) for d in variable.dims], "type": "data"}
        if variable.attrs.get("long_name"):
            entry["description"] = str(variable.attrs["long_name"])
        if variable.attrs.get("units"):
            entry["unit"] = str(variable.attrs["units"])
        out[str(name)] = entry
    return out


def _derived_from(ds: xr.Dataset, base: Path) -> list[dict[str, str]]:
    hrefs = [str(h) for h in np.asarray(ds.coords["item_href"].values)] if "item_href" in ds.coords else []
    links = []
    for href in dict.fromkeys(h for h in hrefs if h):
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
    path = Path(target)
    sources = _sources(ds)
    geometry, bbox = _footprint(sources)
    starts = [s["properties"].get("start_datetime") for s in sources if s.get("properties")]
    ends = [s["properties"].get("end_datetime") for s in sources if s.get("properties")]
    properties: dict[str, Any] = {
        "datetime": None,
        "start_datetime": min((s for s in starts if s), default=_iso(ds["time"].values.min())),
        "end_datetime": max((e for e in ends if e), default=_iso(ds["time"].values.max())),
        "title": str(ds.attrs.get("title", "ICEYE time-series cube")),
        "product:type": str(ds.attrs.get("product_type", "")) or None,
        "cube:dimensions": _dimensions(ds),
        "cube:variables": _variables(ds),
        "created": pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    platforms = sorted({str(p) for p in np.asarray(ds.coords.get("platform", xr.DataArray([])).values) if p})
    if platforms:
        properties["platform"] = platforms[0] if len(platforms) == 1 else ", ".join(platforms)
    item: dict[str, Any] = {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": list(CUBE_EXTENSIONS),
        "id": path.name,
        "geometry": geometry,
        "properties": {k: v for k, v in properties.items() if v is not None or k == "datetime"},
        "links": _derived_from(ds, path.parent.resolve()),
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


def write_cube_item(ds: xr.Dataset, target: str | os.PathLike[str], fmt: Literal["zarr", "netcdf"]) -> Path:
    """Write :func:`cube_item` to ``<target>.json`` (atomically) and return its path."""
    where = cube_item_path(target)
    text = json.dumps(cube_item(ds, target, fmt), indent=2, allow_nan=False) + "\n"
    write_bytes(str(where), text.encode("utf-8"))
    return where
