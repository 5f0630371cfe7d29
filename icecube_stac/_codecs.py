"""Codec names and levels of stored cubes, and the attributes that tag a cube's stored form (no xarray here).

``none``, ``lz4`` (Blosc LZ4 with bit shuffle), ``zstd`` and ``blosc-zstd`` (byte shuffle) for Zarr (v3, v2);
``zlib`` (with shuffle) or ``none`` for NetCDF; an optional level after a colon (``zstd:3``). Shared by the
xarray writer (:mod:`icecube_stac._encoding`, :mod:`icecube_stac.output`) and the direct Zarr writer of the
command line (:mod:`icecube_stac.cube._direct`), which must store the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from icecube_stac.errors import OutputError

__all__ = [
    "COMPLEX_ATTR",
    "DEFAULT_COMPRESSION",
    "INT16_FILL",
    "INT16_ZARR_DEFAULT",
    "SOURCE_DTYPE_ATTR",
    "Compression",
    "Format",
    "default_codec",
    "parse_compression",
    "zarr_compressors",
]

Format = Literal["zarr", "netcdf"]

COMPLEX_ATTR: Final = "icecube_stac_complex"
SOURCE_DTYPE_ATTR: Final = "source_dtype"
DEFAULT_COMPRESSION: Final[dict[str, str]] = {"zarr": "lz4", "netcdf": "zlib:1"}
INT16_ZARR_DEFAULT: Final = "none"  # int16 SLC parts in Zarr: see default_compression
INT16_FILL: Final = -32768
_CODECS: Final[dict[str, tuple[str, ...]]] = {"zarr": ("none", "lz4", "zstd", "blosc-zstd"), "netcdf": ("none", "zlib")}
_DEFAULT_LEVEL: Final = {"lz4": 5, "zstd": 1, "blosc-zstd": 1, "zlib": 1}
_LEVELS: Final = {"lz4": (1, 9), "zstd": (-7, 22), "blosc-zstd": (1, 9), "zlib": (1, 9)}


@dataclass(frozen=True)
class Compression:
    """A codec name and level (level None for ``none``)."""

    name: str
    level: int | None


def parse_compression(text: str | None, fmt: Format) -> Compression:
    """Parse ``NAME[:LEVEL]`` for a format; None gives the format's default.

    Raises
    ------
    OutputError
        For an unknown codec or a level out of range (the message lists what is allowed).
    """
    name, _, level_text = (text or DEFAULT_COMPRESSION[fmt]).strip().lower().partition(":")
    allowed = ", ".join(_CODECS[fmt])
    if name not in _CODECS[fmt]:
        raise OutputError(f"compression {text!r} for {fmt}: expected one of {allowed} (optionally NAME:LEVEL)")
    if name == "none":
        return Compression("none", None)
    low, high = _LEVELS[name]
    try:
        level = int(level_text) if level_text else _DEFAULT_LEVEL[name]
    except ValueError:
        raise OutputError(f"compression {text!r}: the level must be a whole number from {low} to {high}") from None
    if not low <= level <= high:
        raise OutputError(f"compression {text!r}: the level must be a whole number from {low} to {high}")
    return Compression(name, level)


def zarr_compressors(compression: Compression, zarr_format: int) -> Any:
    """Return the Zarr ``compressors=`` of a codec: None, or a list of one numcodecs (v2) or zarr v3 codec."""
    if compression.name == "none" or compression.level is None:
        return None
    level = compression.level
    cname: Literal["lz4", "zstd"] = "lz4" if compression.name == "lz4" else "zstd"
    if zarr_format == 2:
        import numcodecs

        if compression.name == "zstd":
            return [numcodecs.Zstd(level=level)]
        shuffle_v2 = numcodecs.Blosc.BITSHUFFLE if cname == "lz4" else numcodecs.Blosc.SHUFFLE
        return [numcodecs.Blosc(cname=cname, clevel=level, shuffle=shuffle_v2)]
    from zarr.codecs import BloscCodec, ZstdCodec

    if compression.name == "zstd":
        return [ZstdCodec(level=level)]
    # Bit shuffle for LZ4: on ICEYE DN and int16 SLC samples it stores 0.70/0.77 of the bytes against
    # 0.86/0.93 with byte shuffle, at the same speed (benchmarks/bench_codecs.py).
    return [BloscCodec(cname=cname, clevel=level, shuffle="bitshuffle" if cname == "lz4" else "shuffle")]


def default_codec(fmt: Format, *, int16_parts: bool, complete: bool) -> str:
    """Return the default codec name: ``none`` for int16 SLC parts in Zarr when every chunk holds data, else lz4/zlib.

    See :func:`icecube_stac._encoding.default_compression` for the measurements behind the rule.
    """
    if fmt == "zarr" and int16_parts and complete:
        return INT16_ZARR_DEFAULT
    return DEFAULT_COMPRESSION[fmt]
