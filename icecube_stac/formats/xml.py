"""ICEYE XML metadata sidecars (GRD and SLC, spec 2.x): parsing into raw fields.

The XML is untrusted input: it is parsed with :mod:`defusedxml`, which refuses DOCTYPE declarations,
so entities are never expanded and external references never resolved. Tag names are matched on
their lowercased local name, because case differs between blocks, scalars, RPC and the spec PDF, and
some products carry a default namespace.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import defusedxml
import defusedxml.ElementTree as SafeET

from icecube_stac.errors import MetadataError, UnsupportedProductError
from icecube_stac.metadata import IceyeMetadata

__all__ = ["read_xml_fields", "read_xml_metadata"]

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
        key = int(number) if number is not None and number.isdigit() else position + 1
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
        ``grsr_coefficients``, ``rpc``...). Unknown elements are kept under their lowercased name.

    Raises
    ------
    MetadataError
        When the file cannot be read, is not well-formed, or declares a DOCTYPE / entities.
    UnsupportedProductError
        When the root element is not ``Metadata``.
    """
    try:
        tree = SafeET.parse(str(path), forbid_dtd=True)
    except defusedxml.DefusedXmlException as exc:
        raise MetadataError(
            path,
            f"unsafe XML refused ({type(exc).__name__}: DOCTYPE, entity and "
            "external-reference declarations are not allowed in ICEYE metadata)",
        ) from None
    except ET.ParseError as exc:
        raise MetadataError(path, f"malformed XML: {exc}") from None
    except OSError as exc:
        raise MetadataError(path, f"cannot read file: {exc.strerror or exc}") from None
    root = tree.getroot()
    if _local(root.tag) != "metadata":
        raise UnsupportedProductError(path, f"root element is <{_local(root.tag)}>, not an ICEYE <Metadata>")
    raw: dict[str, Any] = {}
    for element in root:
        name = _local(element.tag)
        reader = _BLOCKS.get(name)
        if reader is not None:
            reader(element, raw)
        elif len(element):
            # An undocumented nested block (e.g. scan_beams): keep its text leaves, unconverted.
            raw[name] = {_local(c.tag): _text(c) for c in element}
        else:
            raw[name] = _text(element)
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
