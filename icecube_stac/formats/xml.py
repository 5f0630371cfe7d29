"""ICEYE XML metadata sidecars (GRD and SLC, spec 2.x): parsing into raw fields.

The XML is untrusted input: it is parsed with :mod:`defusedxml`, which refuses DOCTYPE declarations,
so entities are never expanded and external references never resolved (a plain UTF-8 document with no DTD
at all is parsed by expat and the C tree builder alone, with the same bounds: :func:`_plain_parse`).
Its size is bounded before parsing (:data:`MAX_XML_BYTES`, a regular file only) and while parsing
(:data:`MAX_XML_ELEMENTS` elements, :data:`MAX_XML_DEPTH` levels); an encoding the parser does not know, or
an element given twice, is a :class:`~icecube_stac.errors.MetadataError`. Tag names are matched on their lowercased
local name, because case differs between blocks, scalars, RPC and the spec PDF, and some products
carry a default namespace.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import stat
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Final

import defusedxml
import defusedxml.ElementTree as SafeET

from icecube_stac._fields import short
from icecube_stac.errors import MetadataError, UnsupportedProductError
from icecube_stac.metadata import IceyeMetadata

__all__ = ["MAX_XML_BYTES", "MAX_XML_DEPTH", "MAX_XML_ELEMENTS", "read_xml_fields", "read_xml_metadata"]

# The real GRD sidecar is 28 kB with 614 elements, 5 levels deep: these bounds are far beyond any ICEYE XML.
MAX_XML_BYTES: Final = 16 * 2**20
MAX_XML_ELEMENTS: Final = 100_000
MAX_XML_DEPTH: Final = 32

# Block elements and the flat (GeoTIFF/HDF5-style) names their contents map to.
_STATE_VECTOR_KEYS = {
    "time": "state_vector_time_utc",
    "posx": "posx",
    "posy": "posy",
    "posz": "posz",
    "velx": "velx",
    "vely": "vely",
    "velz": "velz",
}


# A product's ~450 elements use a few dozen names, each looked up many times: cached, in C, for one file at a
# time (read_xml_fields empties the cache when it is done: a hostile file's names could be megabytes long).
@functools.lru_cache(maxsize=1024)
def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1].lower()


def _text(element: ET.Element) -> str:
    return (element.text or "").strip()


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in element if _local(c.tag) == name]


def _child_text(element: ET.Element, name: str) -> str | None:
    found = _children(element, name)
    return _text(found[0]) if found else None


def _coefficients(block: ET.Element) -> list[str]:
    # Coefficients carry a 1-based <number>; order by it rather than trusting document order.
    numbered = []
    for position, coeff in enumerate(_children(block, "coefficient")):
        number = _child_text(coeff, "number")
        value = _child_text(coeff, "value")
        if value is None:
            continue
        plain = number is not None and len(number) <= 9 and number.isascii() and number.isdigit()
        key = int(number) if plain and number is not None else position + 1
        numbered.append((key, value))
    return [v for _, v in sorted(numbered)]


def _orbit(block: ET.Element, raw: dict[str, Any]) -> None:
    columns: dict[str, list[str]] = {name: [] for name in _STATE_VECTOR_KEYS.values()}
    for vector in _children(block, "orbit_vector"):
        for child in vector:
            name = _STATE_VECTOR_KEYS.get(_local(child.tag))
            if name is not None:
                columns[name].append(_text(child))
    raw.update(columns)
    count = _child_text(block, "count")
    if count is not None:
        raw["number_of_state_vectors"] = count


def _doppler_centroid(block: ET.Element, raw: dict[str, Any]) -> None:
    estimates = _children(block, "dc_coefficients_list")
    raw["dc_estimate_time_utc"] = [_child_text(e, "zero_doppler_time") or "" for e in estimates]
    raw["dc_estimate_coeffs"] = [_coefficients(e) for e in estimates]
    references = [_child_text(e, "reference_pixel_time") for e in estimates]
    if references and references[0] is not None:
        raw["dc_reference_pixel_time"] = references[0]


def _doppler_rate(block: ET.Element, raw: dict[str, Any]) -> None:
    raw["doppler_rate_coeffs"] = _coefficients(block)
    reference = _child_text(block, "reference_pixel_time")
    if reference is not None:
        raw["doppler_rate_reference_pixel_time"] = reference


def _polynomial(prefix: str) -> Any:
    def read(block: ET.Element, raw: dict[str, Any]) -> None:
        raw[f"{prefix}_coefficients"] = _coefficients(block)
        for name in ("zero_doppler_time", "ground_range_origin"):
            value = _child_text(block, name)
            if value is not None:
                raw[f"{prefix}_{name}"] = value

    return read


def _rpc(block: ET.Element, raw: dict[str, Any]) -> None:
    raw["rpc"] = {_local(child.tag): _text(child) for child in block}


_BLOCKS = {
    "orbit_state_vectors": _orbit,
    "doppler_centroid_coefficients": _doppler_centroid,
    "doppler_rate": _doppler_rate,
    "grsr_coefficients": _polynomial("grsr"),
    "incidence_angle_coefficients": _polynomial("incidence_angle"),
    "rpc": _rpc,
}


class _TooLarge(Exception):
    """Raised from inside the parser when the document exceeds an element-count or depth bound."""


class _BoundedTreeBuilder(ET.TreeBuilder):
    """A tree builder that stops the parse beyond :data:`MAX_XML_ELEMENTS` elements or :data:`MAX_XML_DEPTH` levels."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.depth = 0

    def start(self, tag: Any, attrs: dict[Any, Any]) -> ET.Element:
        self.count += 1
        self.depth += 1
        if self.count > MAX_XML_ELEMENTS:
            raise _TooLarge(f"more than {MAX_XML_ELEMENTS} elements")
        if self.depth > MAX_XML_DEPTH:
            raise _TooLarge(f"elements nested more than {MAX_XML_DEPTH} levels deep")
        return super().start(tag, attrs)

    def end(self, tag: Any) -> ET.Element:
        self.depth -= 1
        return super().end(tag)


def _read_bounded(path: str | Path) -> bytes:
    """Read a regular file of at most :data:`MAX_XML_BYTES` (a FIFO or device is never opened for reading)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise MetadataError(path, "not a regular file; an ICEYE XML sidecar is a plain file")
        data = file.read(MAX_XML_BYTES + 1)
    if len(data) > MAX_XML_BYTES:
        raise MetadataError(path, f"XML larger than {MAX_XML_BYTES // 2**20} MiB; ICEYE sidecars are tens of kB")
    return data


# The prolog ICEYE writes (UTF-8 declared or implied), and what only a DTD can bring in: see _plain_parse.
_UTF8_PROLOG: Final = re.compile(
    rb"(?:\xef\xbb\xbf)?"  # a UTF-8 byte-order mark
    rb'(?:<\?xml version="1\.[0-9]"(?: encoding="(?i:utf-8)")?(?: standalone="(?:yes|no)")? ?\?>)?'
    rb"\s*<[A-Za-z_]"  # then the root element's start tag
)
_DTD_MARKS: Final = (b"<!DOCTYPE", b"<!ENTITY")
# The C parser hands each piece of text (cut at every newline, "]" or reference) to the tree builder as its own
# string and joins them only at the element's end: 16 MiB of "\u0100\n" took 524 MiB (review). Real sidecars
# are ~28 kB; bigger documents go to the guarded parser, which buffers text.
_PLAIN_MAX_BYTES: Final = 1 << 20


def _within_depth(root: ET.Element) -> bool:
    """Tell whether no element lies deeper than :data:`MAX_XML_DEPTH`, without recursion.

    Level by level, each one the children of the one above gathered in C (an element iterates over its
    children): 30 us for a sidecar, where a stack of (element, depth) pairs took 150 us.
    """
    level = [root]  # the elements at depth 1
    for _ in range(MAX_XML_DEPTH - 1):
        level = list(itertools.chain.from_iterable(level))
        if not level:
            return True
    # ``level`` holds the elements at MAX_XML_DEPTH: none of them may have a child.
    return next(itertools.chain.from_iterable(level), None) is None


def _plain_parse(data: bytes) -> ET.Element | None:
    """Parse a well-formed UTF-8 document with no DTD in C alone, or return None for the guarded parser.

    The guarded parse (defusedxml's pure-Python parser, and a tree builder counting elements and levels in
    Python) cost ~1 ms of a product's ~6 ms of indexing; expat with the C tree builder takes 0.35 ms (measured,
    the 28 kB ICEYE sidecar). It is safe exactly where nothing here needs guarding: declared (or implied) UTF-8,
    so the bytes show every markup as it is; no ``<!DOCTYPE`` (without a DTD nothing can declare an entity or
    point outside) nor ``<!ENTITY``; fewer ``<`` than :data:`MAX_XML_ELEMENTS` (each element starts with one);
    and a tree no deeper than :data:`MAX_XML_DEPTH`, checked without recursion; at most 1 MiB (its text costs
    up to ~33 times its size there). Anything else, and anything that does not parse, goes to the guarded
    parser, which names the problem as before.
    """
    if len(data) > _PLAIN_MAX_BYTES or not _UTF8_PROLOG.match(data) or any(mark in data for mark in _DTD_MARKS):
        return None
    if data.count(b"<") > MAX_XML_ELEMENTS:
        return None
    try:
        root = ET.fromstring(data)
    except (ET.ParseError, ValueError, LookupError):
        return None
    return root if _within_depth(root) else None


def _parse(path: str | Path) -> ET.Element:
    try:
        data = _read_bounded(path)
    except OSError as exc:
        raise MetadataError(path, f"cannot read file: {exc.strerror or exc}") from None
    plain = _plain_parse(data)
    if plain is not None:
        return plain
    builder = _BoundedTreeBuilder()
    parser = SafeET.DefusedXMLParser(target=builder, forbid_dtd=True)
    try:
        parser.feed(data)
        return parser.close()  # type: ignore[no-any-return]
    except defusedxml.DefusedXmlException as exc:
        raise MetadataError(
            path,
            f"unsafe XML refused ({type(exc).__name__}: DOCTYPE, entity and "
            "external-reference declarations are not allowed in ICEYE metadata)",
        ) from None
    except _TooLarge as exc:
        raise MetadataError(path, f"XML refused: {exc}; ICEYE sidecars have a few hundred elements") from None
    except ET.ParseError as exc:
        raise MetadataError(path, f"malformed XML: {exc}") from None
    except (LookupError, ValueError) as exc:  # an unknown, multi-byte or undecodable declared encoding
        raise MetadataError(
            path, f"malformed XML: unsupported character encoding ({short(str(exc))}); ICEYE writes UTF-8"
        ) from None


def read_xml_fields(path: str | Path) -> dict[str, Any]:
    """Parse an ICEYE XML file into a flat mapping of raw fields (lowercase names, text values).

    Parameters
    ----------
    path
        The XML file.

    Returns
    -------
    dict
        Scalars as text; blocks flattened to the GeoTIFF/HDF5 names (``posx``, ``dc_estimate_coeffs``,
        ``grsr_coefficients``, ``rpc``...). Unknown elements are kept under their lowercased name (an unknown
        block given more than once, as a list).

    Raises
    ------
    MetadataError
        When the file cannot be read, is too large, is not well-formed, declares a DOCTYPE / entities or an
        unknown encoding, or gives an element twice.
    UnsupportedProductError
        When the root element is not ``Metadata``.
    """
    try:
        return _fields(path, _parse(path))
    finally:
        _local.cache_clear()


def _fields(path: str | Path, root: ET.Element) -> dict[str, Any]:
    if _local(root.tag) != "metadata":
        raise UnsupportedProductError(path, f"root element is <{_local(root.tag)}>, not an ICEYE <Metadata>")
    raw: dict[str, Any] = {}
    seen: set[str] = set()
    unknown_blocks: dict[str, list[dict[str, str]]] = {}
    for element in root:
        name = _local(element.tag)
        reader = _BLOCKS.get(name)
        if reader is None and len(element):
            # An undocumented nested block (e.g. scan_beams): keep its text leaves, unconverted.
            unknown_blocks.setdefault(name, []).append({_local(c.tag): _text(c) for c in element})
            continue
        if name in raw or (reader is not None and name in seen):
            raise MetadataError(path, f"element <{name}> appears more than once; ICEYE metadata give it once", name)
        seen.add(name)
        if reader is not None:
            reader(element, raw)
        else:
            raw[name] = _text(element)
    for name, blocks in unknown_blocks.items():
        raw.setdefault(name, blocks[0] if len(blocks) == 1 else blocks)
    return raw


def read_xml_metadata(path: str | Path) -> IceyeMetadata:
    """Read an ICEYE XML sidecar into :class:`~icecube_stac.metadata.IceyeMetadata`.

    Parameters
    ----------
    path
        The XML file.

    Returns
    -------
    IceyeMetadata
    """
    return IceyeMetadata.from_fields(read_xml_fields(path), source=path, source_format="xml")
