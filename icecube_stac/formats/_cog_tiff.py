"""Open ICEYE COG rasters safely and read what their header says: size, bands, scales, embedded metadata.

Product files are untrusted: only GDAL's GTiff driver may open them (a ".tif" that is really a VRT
could point at any file or URL), PAM side files are ignored and no directory is listed. Remote
hrefs (``https://``, ``s3://``...) are read by GDAL's ``/vsicurl/``-family file systems, with range
requests. ``ICEYE_PROPERTIES`` arrives as plain JSON through rasterio (GDAL removes the two XML
escaping layers of TIFF tag 42112); a value that still holds an escaping layer is unescaped once
more, anything else that is not a JSON object is an error naming the file and the tag.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from typing import Any, Final

import rasterio
from rasterio._err import CPLE_BaseError
from rasterio.errors import NotGeoreferencedWarning, RasterioError

from icecube_stac._quiet import ignoring
from icecube_stac.errors import MetadataError, UnsupportedProductError
from icecube_stac.vocabulary import local_path

__all__ = [
    "COG_GDAL_ENV",
    "GDAL_ERRORS",
    "CogHeader",
    "embedded_properties",
    "open_cog",
    "open_cog_dataset",
    "read_cog_header",
]

# What GDAL raises for a corrupt or hostile file.
GDAL_ERRORS: Final = (RasterioError, CPLE_BaseError, UnicodeError, ValueError)
COG_GDAL_ENV: Final = {
    "GDAL_PAM_ENABLED": "NO",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    # A remote COG is read with range requests; a few retries ride out a busy server.
    "GDAL_HTTP_MAX_RETRY": "3",
    "GDAL_HTTP_RETRY_DELAY": "0.5",
    "CPL_VSIL_CURL_USE_HEAD": "NO",
}
_PREVIEW_TAG: Final = "METADATA_JSON"
_PROPERTIES_TAG: Final = "ICEYE_PROPERTIES"


@dataclass(frozen=True)
class CogHeader:
    """What a COG's header says (no pixel is read).

    Attributes
    ----------
    href
        The raster's href.
    width, height
        ``ImageWidth`` (columns) and ``ImageLength`` (rows).
    dtypes
        Sample type of each band.
    names
        Band ``NAME`` metadata (or description), ``""`` when missing.
    scales, offsets
        Band ``SCALE`` / ``OFFSET`` (1 and 0 when absent).
    nodata
        The declared no-data value, if any.
    tags
        Dataset GDAL metadata items.
    """

    href: str
    width: int
    height: int
    dtypes: tuple[str, ...]
    names: tuple[str, ...]
    scales: tuple[float, ...]
    offsets: tuple[float, ...]
    nodata: float | None
    tags: Mapping[str, str]

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)`` of the raster, as STAC ``proj:shape`` says it."""
        return self.height, self.width


def _gdal_name(href: str) -> str:
    local = local_path(href)
    return str(local) if local is not None else href


def open_cog_dataset(href: str) -> rasterio.DatasetReader:
    """Open a COG (GTiff driver only, PAM off) and return the open dataset; the caller closes it.

    Parameters
    ----------
    href
        A local path, ``file://`` URL or a GDAL-readable URL.

    Returns
    -------
    rasterio.DatasetReader

    Raises
    ------
    MetadataError
        When GDAL cannot open it as a TIFF (missing, truncated header, not a TIFF, unreachable).
    """
    try:
        with ignoring(NotGeoreferencedWarning), rasterio.Env(**COG_GDAL_ENV):
            return rasterio.open(_gdal_name(href), driver="GTiff")
    except GDAL_ERRORS as exc:
        raise MetadataError(href, f"unreadable Cloud-Optimized GeoTIFF: {exc}") from None


@contextmanager
def open_cog(href: str) -> Iterator[rasterio.DatasetReader]:
    """Open a COG by local path or URL with the GTiff driver only, PAM off; close it on exit.

    Parameters
    ----------
    href
        A local path, ``file://`` URL or a GDAL-readable URL (``https://``, ``s3://``, ...).

    Yields
    ------
    rasterio.DatasetReader

    Raises
    ------
    MetadataError
        When GDAL cannot open it as a TIFF (missing, truncated header, not a TIFF, unreachable).
    """
    src = open_cog_dataset(href)
    try:
        with rasterio.Env(**COG_GDAL_ENV):
            yield src
    finally:
        src.close()


def _check_complete(href: str, src: rasterio.DatasetReader) -> None:
    """Refuse a local file that ends before its last tile (a truncated download or copy)."""
    local = local_path(href)
    if local is None:
        return  # a remote size costs a request; a truncated remote file fails when read, naming its href
    rows, cols = src.block_shapes[0]
    last = f"{(src.width - 1) // cols}_{(src.height - 1) // rows}"
    offset = src.get_tag_item(f"BLOCK_OFFSET_{last}", "TIFF", bidx=src.count)
    size = src.get_tag_item(f"BLOCK_SIZE_{last}", "TIFF", bidx=src.count)
    if offset is None or size is None:
        return
    end, actual = int(offset) + int(size), os.path.getsize(local)
    if end > actual:
        raise MetadataError(
            href,
            f"the file is truncated: it has {actual} bytes but its last tile ends at byte {end}",
            "TileOffsets",
        )


def read_cog_header(href: str) -> CogHeader:
    """Read a COG's header: size, bands, scales, dataset metadata; check a local file is complete.

    Parameters
    ----------
    href
        The raster.

    Returns
    -------
    CogHeader

    Raises
    ------
    MetadataError
        Unreadable or truncated file.
    """
    with open_cog(href) as src:
        try:
            band_tags = [src.tags(k) for k in range(1, src.count + 1)]
            names = tuple(
                str(tags.get("NAME") or description or "")
                for tags, description in zip(band_tags, src.descriptions, strict=True)
            )
            header = CogHeader(
                href=href,
                width=int(src.width),
                height=int(src.height),
                dtypes=tuple(str(d) for d in src.dtypes),
                names=names,
                scales=tuple(float(s) for s in src.scales),
                offsets=tuple(float(o) for o in src.offsets),
                nodata=None if src.nodata is None else float(src.nodata),
                tags=dict(src.tags()),
            )
            _check_complete(href, src)
        except GDAL_ERRORS as exc:
            raise MetadataError(href, f"unreadable Cloud-Optimized GeoTIFF header: {exc}") from None
    return header


def embedded_properties(header: CogHeader) -> dict[str, Any]:
    """Return the STAC ``properties`` a COG embeds as ``ICEYE_PROPERTIES`` (the side-car's fallback).

    Parameters
    ----------
    header
        The raster's header.

    Returns
    -------
    dict

    Raises
    ------
    UnsupportedProductError
        A 2024 preview product (``METADATA_JSON``), or a TIFF without ICEYE metadata.
    MetadataError
        ``ICEYE_PROPERTIES`` is not a JSON object (broken escaping, truncated text).
    """
    if _PREVIEW_TAG in header.tags:
        raise UnsupportedProductError(
            header.href,
            "this is ICEYE's 2024 preview COG generation (_AML/_CPX with a METADATA_JSON document), which is not "
            "supported; ask ICEYE for the product in the current COG format (ICEYE_PROPERTIES + side-car STAC item)",
            _PREVIEW_TAG,
        )
    text = header.tags.get(_PROPERTIES_TAG)
    if text is None:
        raise UnsupportedProductError(header.href, "TIFF has no ICEYE_PROPERTIES metadata item", _PROPERTIES_TAG)
    error: json.JSONDecodeError | None = None
    for attempt in (text, unescape(text)):  # one escaping layer too many is repaired, nothing else
        try:
            value = json.loads(attempt)
        except json.JSONDecodeError as exc:
            error = error or exc
            continue
        if isinstance(value, dict):
            return value
        raise MetadataError(header.href, f"is a JSON {type(value).__name__}, not an object", _PROPERTIES_TAG)
    assert error is not None
    snippet = text[max(0, error.pos - 20) : error.pos + 20]
    raise MetadataError(
        header.href,
        f"is not valid JSON ({error.msg} at character {error.pos}, near {snippet!r}); GDAL should have removed both "
        "XML escaping layers of the tag, so the embedded text is damaged",
        _PROPERTIES_TAG,
    )
