"""Serialise metadata fields as an ICEYE legacy XML sidecar, byte for byte in the real style.

Element order, 3-space indentation, ``repr`` floats, space-separated ``coord_*`` values and the
numpy-repr RPC coefficient bodies all follow a real spec-2.3 GRD XML.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from ._rpc import RPC_KEYS

__all__ = ["format_rpc_coefficients", "format_scalar", "render_xml", "scalar_order"]

_INDENT = "   "

_GRD_SCALARS = [
    "product_file",
    "product_name",
    "product_type",
    "product_level",
    "satellite_name",
    "acquisition_mode",
    "look_side",
    "satellite_look_angle",
    "processing_time",
    "processor_version",
    "acquisition_start_utc",
    "acquisition_end_utc",
    "zerodoppler_start_utc",
    "zerodoppler_end_utc",
    "number_of_azimuth_samples",
    "number_of_range_samples",
    "orbit_repeat_cycle",
    "orbit_relative_number",
    "orbit_absolute_number",
    "orbit_direction",
    "sample_precision",
    "polarization",
    "azimuth_looks",
    "range_looks",
    "range_look_bandwidth",
    "range_look_overlap",
    "azimuth_look_bandwidth",
    "azimuth_look_overlap",
    "range_spacing",
    "azimuth_spacing",
    "acquisition_prf",
    "processing_prf",
    "carrier_frequency",
    "first_pixel_time",
    "slant_range_to_first_pixel",
    "azimuth_time_interval",
    "range_sampling_rate",
    "chirp_bandwidth",
    "chirp_duration",
    "total_processed_bandwidth_azimuth",
    "window_function_range",
    "window_function_azimuth",
    "range_spread_comp_flag",
    "ant_elev_corr_flag",
    "number_of_dc_estimations",
    "dc_estimate_poly_order",
    "doppler_rate_poly_order",
    "grsr_poly_order",
    "incidence_angle_poly_order",
    "gcp_terrain_model",
    "geo_ref_system",
    "avg_scene_height",
    "mean_orbit_altitude",
    "mean_earth_radius",
    "coord_first_near",
    "coord_first_far",
    "coord_last_near",
    "coord_last_far",
    "coord_center",
    "heading",
    "incidence_near",
    "incidence_center",
    "incidence_far",
    "calibration_factor",
    "orbit_processing_level",
    "tropo_range_delay",
    "data_orientation",
]

_GRD_ONLY = {
    "range_look_bandwidth",
    "range_look_overlap",
    "azimuth_look_bandwidth",
    "azimuth_look_overlap",
    "grsr_poly_order",
    "incidence_angle_poly_order",
    "gcp_terrain_model",
}
# Where a real 2.4 file puts these is unknown; they go last among the scalars.
_V24_SCALARS = (
    "acquisition_id",
    "azimuth_resolution",
    "range_resolution_near",
    "range_resolution_center",
    "range_resolution_far",
)


def scalar_order(level: str, spec_version: str) -> list[str]:
    """Return the scalar element names of a GRD or SLC XML in document order.

    Parameters
    ----------
    level
        ``"GRD"`` or ``"SLC"``.
    spec_version
        Metadata spec version; 2.4 adds the acquisition id and resolutions.

    Returns
    -------
    list of str
        Lowercase element names between the blocks and ``RPC``.
    """
    names = list(_GRD_SCALARS)
    if level == "SLC":
        names = [n for n in names if n not in _GRD_ONLY]
        at = names.index("range_spacing")
        names[at : at + 2] = ["slant_range_spacing", "azimuth_ground_spacing"]
        at = names.index("heading") + 1
        names[at:at] = ["pitch", "yaw"]
    if float(spec_version) >= 2.4:
        names += list(_V24_SCALARS)
    return names


def format_scalar(value: Any) -> str:
    """Format one value as ICEYE XML element text (``repr`` floats, bare ints, float32 short)."""
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, np.ndarray) and value.shape == (4,):
        col, row, lat, lon = (float(v) for v in value)
        return f"{int(col)} {int(row)} {lat!r} {lon!r}"
    if isinstance(value, np.float32):
        return str(value)  # numpy's shortest float32 repr, e.g. 166.22932 as in real files
    if isinstance(value, (np.floating, float)):
        return repr(float(value))
    if isinstance(value, (np.integer, int)):
        return str(int(value))
    raise TypeError(f"cannot format {type(value).__name__} as an XML scalar")


def format_rpc_coefficients(values: Any) -> str:
    """Format 20 RPC coefficients as a bracket-less numpy repr: ``%.8e`` with a sign slot, 4 per line."""
    text = np.array2string(
        np.asarray(values, dtype=np.float64),
        max_line_width=75,
        separator=" ",
        threshold=1000,
        formatter={"float_kind": lambda v: f"{v: .8e}"},
    )
    return text[1:-1]


def _leaf(depth: int, tag: str, text: str) -> str:
    return f"{_INDENT * depth}<{tag}>{text}</{tag}>"


def _coefficients(depth: int, values: Any) -> Iterator[str]:
    pad = _INDENT * depth
    for number, value in enumerate(np.asarray(values, dtype=np.float64), start=1):
        yield f"{pad}<coefficient>"
        yield _leaf(depth + 1, "number", str(number))
        yield _leaf(depth + 1, "value", repr(float(value)))
        yield f"{pad}</coefficient>"


def _orbit_block(fields: Mapping[str, Any]) -> Iterator[str]:
    times = [t.decode("ascii") for t in np.asarray(fields["state_vector_time_utc"]).ravel()]
    yield f"{_INDENT}<Orbit_State_Vectors>"
    yield _leaf(2, "count", str(len(times)))
    for k, stamp in enumerate(times):
        yield f"{_INDENT * 2}<orbit_vector>"
        yield _leaf(3, "number", str(k + 1))
        yield _leaf(3, "time", stamp)
        for name in ("posX", "posY", "posZ", "velX", "velY", "velZ"):
            yield _leaf(3, name, repr(float(fields[name][k])))
        yield f"{_INDENT * 2}</orbit_vector>"
    yield f"{_INDENT}</Orbit_State_Vectors>"


def _doppler_blocks(fields: Mapping[str, Any]) -> Iterator[str]:
    ref = repr(float(fields["reference_pixel_time"]))
    times = [t.decode("ascii") for t in np.asarray(fields["dc_estimate_time_utc"]).ravel()]
    yield f"{_INDENT}<Doppler_Centroid_Coefficients>"
    for k, stamp in enumerate(times):
        yield f"{_INDENT * 2}<dc_coefficients_list>"
        yield _leaf(3, "number", str(k + 1))
        yield _leaf(3, "zero_doppler_time", stamp)
        yield _leaf(3, "reference_pixel_time", ref)
        yield from _coefficients(3, fields["dc_estimate_coeffs"][k])
        yield f"{_INDENT * 2}</dc_coefficients_list>"
    yield f"{_INDENT}</Doppler_Centroid_Coefficients>"
    yield f"{_INDENT}<Doppler_Rate>"
    yield _leaf(2, "reference_pixel_time", ref)
    yield from _coefficients(2, fields["doppler_rate_coeffs"])
    yield f"{_INDENT}</Doppler_Rate>"


def _polynomial_block(tag: str, prefix: str, fields: Mapping[str, Any]) -> Iterator[str]:
    yield f"{_INDENT}<{tag}>"
    yield from _coefficients(2, fields[f"{prefix}_coefficients"])
    yield _leaf(2, "zero_doppler_time", fields[f"{prefix}_zero_doppler_time"])
    yield _leaf(2, "ground_range_origin", format_scalar(fields[f"{prefix}_ground_range_origin"]))
    yield f"{_INDENT}</{tag}>"


def _rpc_block(rpc: Mapping[str, Any]) -> Iterator[str]:
    yield f"{_INDENT}<RPC>"
    for key in RPC_KEYS:
        value = rpc[key]
        text = format_rpc_coefficients(value) if key.endswith("_COEFF") else format_scalar(value)
        yield _leaf(2, key, text)
    yield f"{_INDENT}</RPC>"


def render_xml(fields: Mapping[str, Any], level: str, spec_version: str, processor_version: str) -> str:
    """Render the complete XML document (header, ``Metadata`` root, trailing newline).

    Parameters
    ----------
    fields
        Metadata fields from :func:`~icecube_stac.testing.metadata_fields`.
    level
        ``"GRD"`` or ``"SLC"``; SLC drops the GRSR/incidence blocks and GRD-only scalars.
    spec_version, processor_version
        Version strings as written in the XML (``2.3``; ``1.43`` becomes ``ICEYE_P_1.43``).

    Returns
    -------
    str
        The document text with LF line endings.
    """
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<Metadata>", _leaf(1, "spec_version", spec_version)]
    lines += _orbit_block(fields)
    lines += _doppler_blocks(fields)
    if level == "GRD":
        lines += _polynomial_block("GRSR_Coefficients", "grsr", fields)
        lines += _polynomial_block("Incidence_Angle_Coefficients", "incidence_angle", fields)
    for name in scalar_order(level, spec_version):
        value = f"ICEYE_P_{processor_version}" if name == "processor_version" else fields[name]
        lines.append(_leaf(1, name, format_scalar(value)))
    if "rpc" in fields:
        lines += _rpc_block(fields["rpc"])
    lines.append("</Metadata>")
    return "\n".join(lines) + "\n"
