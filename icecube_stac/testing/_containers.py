"""Write the GRD GeoTIFF, the SLC HDF5 and the quicklook PNG of a planned product.

Containers follow the legacy ICEYE layout: GeoTIFF with uppercase GDAL metadata tags serialised
like numpy ``str()``, GCPs in EPSG:4326 and an RPC tag but no geotransform; HDF5 with every field a
root dataset (vlen ASCII strings, ``S26`` time vectors) and an ``RPC/`` group of float32 values.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import rasterio
from numpy.typing import NDArray
from PIL import Image
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning
from rasterio.rpc import RPC

from ._plan import ProductPlan
from ._rpc import RPC_KEYS

__all__ = ["geotiff_tags", "write_geotiff", "write_hdf5", "write_png"]

# Real GeoTIFFs lack these (first_pixel_time is "n" in the spec's GEOTIF column); the Doppler
# reference time and antenna angles exist only in XML / HDF5; RPC lives in its own TIFF tag.
_NOT_IN_GEOTIFF = {"first_pixel_time", "reference_pixel_time", "angX", "angY", "angZ", "rpc"}
_NUMPY_PRINT = {
    "precision": 8,
    "threshold": sys.maxsize,
    "linewidth": 75,
    "floatmode": "maxprec",
    "suppress": False,
    "sign": "-",
    "legacy": False,
}
_TIFF_BLOCK = 256


def _tag_value(value: Any) -> str:
    """Serialise a field like ICEYE's GeoTIFF writer: ``str()`` of the Python / numpy value."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "S":
            value = value.ravel().astype(str)
        with np.printoptions(**_NUMPY_PRINT):  # type: ignore[arg-type]
            return str(value)
    return str(value)


def geotiff_tags(fields: Mapping[str, Any], spec_version: str, processor_version: str) -> dict[str, str]:
    """Return the GeoTIFF default-domain tags (uppercase keys) of a GRD product.

    Parameters
    ----------
    fields
        Metadata fields of a GRD product.
    spec_version, processor_version
        Version strings as written in real files (``2.3``, ``1.43`` -> ``ICEYE_P_1.43``).

    Returns
    -------
    dict
        Keys sorted alphabetically; ``AREA_OR_POINT`` included, no RPC keys.
    """
    tags = {name.upper(): _tag_value(value) for name, value in fields.items() if name not in _NOT_IN_GEOTIFF}
    if float(spec_version) < 2.3:
        tags.pop("DATA_ORIENTATION", None)
    tags["SPEC_VERSION"] = spec_version
    tags["PROCESSOR_VERSION"] = f"ICEYE_P_{processor_version}"
    tags["AREA_OR_POINT"] = "Area"
    return dict(sorted(tags.items()))


def _gcps(plan: ProductPlan) -> list[GroundControlPoint]:
    """Build the GCP grid with ids "1".."N", row index varying fastest (column-major), as ICEYE does."""
    points: list[GroundControlPoint] = []
    for j, col in enumerate(plan.gcp_samp):
        for i, row in enumerate(plan.gcp_line):
            points.append(
                GroundControlPoint(
                    row=float(row),
                    col=float(col),
                    x=float(plan.gcp_lon[i, j]),
                    y=float(plan.gcp_lat[i, j]),
                    z=float(plan.gcp_height[i, j]),
                    id=str(len(points) + 1),
                )
            )
    return points


def _rpc(rpc: Mapping[str, Any]) -> RPC:
    values = {key.lower(): rpc[key] for key in RPC_KEYS}
    scalars = {k: float(v) for k, v in values.items() if not k.endswith("_coeff")}
    arrays = {k: [float(c) for c in v] for k, v in values.items() if k.endswith("_coeff")}
    return RPC(**scalars, **arrays, err_bias=-1.0, err_rand=-1.0)


def _block(size: int) -> int:
    # Tiny test rasters get the smallest legal (multiple-of-16) tile instead of a mostly empty 256 one.
    return min(_TIFF_BLOCK, -(-size // 16) * 16)


def write_geotiff(
    path: Path, pixels: NDArray[np.uint16], plan: ProductPlan, tags: Mapping[str, str], tiled: bool
) -> None:
    """Write the uint16 GRD raster with GCPs, RPCs and metadata tags, without CRS or geotransform."""
    naz, nrg = pixels.shape
    layout: dict[str, Any] = {"interleave": "band"}
    if tiled:
        layout |= {"tiled": True, "blockxsize": _block(nrg), "blockysize": _block(naz)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", driver="GTiff", width=nrg, height=naz, count=1, dtype="uint16", **layout) as dst:
            dst.gcps = (_gcps(plan), CRS.from_epsg(4326))
            dst.rpcs = _rpc(plan.fields["rpc"])
            dst.update_tags(**tags)
            dst.write(pixels, 1)


def write_hdf5(
    path: Path,
    samples: tuple[NDArray[np.generic], NDArray[np.generic]],
    fields: Mapping[str, Any],
    chunks: tuple[int, int] | None,
) -> None:
    """Write a flat SLC HDF5: ``s_i``/``s_q``, one root dataset per field and the ``RPC/`` group."""
    text = h5py.string_dtype("ascii")
    with h5py.File(path, "w", libver="earliest", track_order=False) as h5:
        for name, data in zip(("s_i", "s_q"), samples, strict=True):
            h5.create_dataset(name, data=data, chunks=chunks, track_times=False)
        for name, value in fields.items():
            if name in ("rpc", "reference_pixel_time"):
                continue
            if isinstance(value, str):
                h5.create_dataset(name, data=value, dtype=text, track_times=False)
            else:
                h5.create_dataset(name, data=value, track_times=False)
        group = h5.create_group("RPC", track_order=False)
        for key in RPC_KEYS:
            group.create_dataset(key, data=np.asarray(fields["rpc"][key], dtype=np.float32), track_times=False)


def write_png(path: Path, image: NDArray[np.uint8]) -> None:
    """Write an 8-bit grayscale PNG without time or text chunks."""
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(path, format="PNG", optimize=False)
