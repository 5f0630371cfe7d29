"""Read TIFF tags raw (classic and BigTIFF) and check the Cloud-Optimized layout, without GDAL in between.

GDAL unescapes its metadata when it reads it, so only the raw bytes of tag 42112 show the double
XML escaping of ``ICEYE_PROPERTIES``; :func:`gdal_metadata_xml` returns them. :func:`cog_layout_problems`
checks what GDAL's ``validate_cloud_optimized_geotiff`` checks about the layout: the ghost header,
tiling, overview IFDs, IFDs before tile data, and smaller overviews' data first.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "TiffIfd",
    "TiffTag",
    "cog_layout_problems",
    "gdal_metadata_xml",
    "read_tiff_ifds",
    "read_tiff_tags",
    "xml_unescape",
]

_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8, 17: 8, 18: 8}
_TYPE_FORMATS = {1: "B", 3: "H", 4: "I", 6: "b", 8: "h", 9: "i", 11: "f", 12: "d", 16: "Q", 17: "q", 18: "Q"}
_MAX_IFDS = 64
GDAL_METADATA = 42112
_TILE_WIDTH, _TILE_OFFSETS, _TILE_BYTE_COUNTS, _SUBFILE_TYPE = 322, 324, 325, 254
_XML_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))


@dataclass(frozen=True)
class TiffTag:
    """One IFD entry: code, TIFF field type, count, the raw value bytes and the decoded values."""

    code: int
    type: int
    count: int
    raw: bytes
    values: tuple[int | float, ...]

    @property
    def text(self) -> str:
        """The value of an ASCII tag, without its terminating NUL."""
        return self.raw.split(b"\x00", 1)[0].decode("utf-8")


@dataclass(frozen=True)
class TiffIfd:
    """One image file directory: where it starts and its tags by code."""

    offset: int
    tags: dict[int, TiffTag]


def _decode(kind: int, raw: bytes, order: str) -> tuple[int | float, ...]:
    fmt = _TYPE_FORMATS.get(kind)
    if fmt is None:
        return ()
    n = len(raw) // _TYPE_SIZES[kind]
    return tuple(struct.unpack(f"{order}{n}{fmt}", raw[: n * _TYPE_SIZES[kind]]))


def read_tiff_ifds(path: str | Path) -> list[TiffIfd]:
    """Return every IFD of a TIFF in file order (main image first, then overviews for a COG).

    Parameters
    ----------
    path
        A classic TIFF or BigTIFF.

    Returns
    -------
    list of TiffIfd
        Offsets and tags; values are decoded for numeric types, ASCII kept raw.
    """
    data = Path(path).read_bytes()
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None:
        raise ValueError(f"{path} is not a TIFF")
    big = struct.unpack(f"{order}H", data[2:4])[0] == 43
    count_fmt, offset_fmt, entry = ("Q", "Q", 20) if big else ("H", "I", 12)
    offset = struct.unpack(f"{order}{offset_fmt}", data[8:16] if big else data[4:8])[0]
    ifds: list[TiffIfd] = []
    while offset and len(ifds) < _MAX_IFDS:
        count_size = struct.calcsize(count_fmt)
        (n,) = struct.unpack(f"{order}{count_fmt}", data[offset : offset + count_size])
        tags: dict[int, TiffTag] = {}
        for k in range(n):
            start = offset + count_size + k * entry
            code, kind = struct.unpack(f"{order}HH", data[start : start + 4])
            field_end = start + entry
            count = struct.unpack(f"{order}{offset_fmt}", data[start + 4 : start + 4 + struct.calcsize(offset_fmt)])[0]
            value = data[start + 4 + struct.calcsize(offset_fmt) : field_end]
            size = _TYPE_SIZES.get(kind, 1) * count
            if size > len(value):
                (where,) = struct.unpack(f"{order}{offset_fmt}", value)
                value = data[where : where + size]
            raw = value[:size]
            tags[code] = TiffTag(code, kind, count, raw, _decode(kind, raw, order))
        ifds.append(TiffIfd(offset, tags))
        next_at = offset + count_size + n * entry
        (offset,) = struct.unpack(f"{order}{offset_fmt}", data[next_at : next_at + struct.calcsize(offset_fmt)])
    return ifds


def read_tiff_tags(path: str | Path) -> list[dict[int, TiffTag]]:
    """Return the tags of every IFD of a TIFF, in file order (see :func:`read_tiff_ifds`)."""
    return [ifd.tags for ifd in read_tiff_ifds(path)]


def gdal_metadata_xml(path: str | Path) -> str:
    """Return the raw ``<GDALMetadata>`` text of TIFF tag 42112 of the main image, escaping untouched."""
    tags = read_tiff_tags(path)[0]
    if GDAL_METADATA not in tags:
        raise ValueError(f"{path} has no GDAL_METADATA tag (42112)")
    return tags[GDAL_METADATA].text


def xml_unescape(text: str) -> str:
    """Undo one layer of XML escaping (``&quot;`` to ``"`` ...; ``&amp;`` last, so one layer only)."""
    for entity, char in _XML_ENTITIES:
        text = text.replace(entity, char)
    return text


def _subfile_type(ifd: TiffIfd) -> int:
    tag = ifd.tags.get(_SUBFILE_TYPE)
    return int(tag.values[0]) if tag is not None and tag.values else 0


def _data_span(ifd: TiffIfd) -> tuple[int, int]:
    offsets = [
        int(v) for v, n in zip(ifd.tags[_TILE_OFFSETS].values, ifd.tags[_TILE_BYTE_COUNTS].values, strict=True) if n
    ]
    return (min(offsets), max(offsets)) if offsets else (0, 0)


def cog_layout_problems(path: str | Path) -> list[str]:
    """Return what keeps a TIFF from being a Cloud-Optimized GeoTIFF (empty when it is one).

    Parameters
    ----------
    path
        The file to check.

    Returns
    -------
    list of str
        Problems: no GDAL ghost header with ``LAYOUT=IFDS_BEFORE_DATA``, untiled IFDs, overview IFDs
        not flagged reduced-resolution or not shrinking, IFDs after tile data, or overview data after
        the data of larger levels.
    """
    head = Path(path).read_bytes()[:1024]
    problems = [] if b"LAYOUT=IFDS_BEFORE_DATA" in head else ["no COG ghost header (LAYOUT=IFDS_BEFORE_DATA)"]
    images = [ifd for ifd in read_tiff_ifds(path) if _subfile_type(ifd) & 4 == 0]  # masks are not levels
    for k, ifd in enumerate(images):
        if _TILE_WIDTH not in ifd.tags:
            problems.append(f"IFD {k} is not tiled")
        if k and _subfile_type(ifd) & 1 != 1:
            problems.append(f"IFD {k} is not flagged as a reduced-resolution overview")
        if k and ifd.tags[256].values[0] >= images[k - 1].tags[256].values[0]:
            problems.append(f"overview IFD {k} is not smaller than the level above")
    if problems:
        return problems
    first_data = min(_data_span(ifd)[0] for ifd in images)
    if any(ifd.offset > first_data for ifd in images):
        problems.append("an IFD comes after tile data")
    for k in range(1, len(images)):
        if _data_span(images[k])[1] > _data_span(images[k - 1])[0]:
            problems.append(f"overview {k} data is not before the data of level {k - 1}")
    return problems
