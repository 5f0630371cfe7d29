"""Build the nested ``METADATA_JSON`` document of ICEYE's Dec 2023 - Mar 2024 preview COGs (``_AML``/``_CPX``).

That short-lived generation carried a nested ``data`` / ``collection`` document (schema 0.0.x)
instead of flat STAC properties, and was geocoded by a ModelTransformation tag. The key paths
follow SNAP's ``IceyeConstants`` (the only public description) [CODE]; the values come from the
same plan as the current-generation item, so both generations of one spec describe one product.
"""

from __future__ import annotations

from typing import Any

from ._plan import CogPlan

__all__ = ["preview_document"]


def _time(value: str) -> str:
    """Preview timestamps carry six fractional digits and ``Z`` (``2024-01-22T21:56:00.000000Z``)."""
    body = value.rstrip("Z")
    whole, _, fraction = body.partition(".")
    return f"{whole}.{(fraction + '000000')[:6]}Z"


def _scene(plan: CogPlan, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "average_scene_height": float(props["iceye:average_scene_height"]),
        "incidence_angle": {
            "near": props["iceye:incidence_angle_near"],
            "far": props["iceye:incidence_angle_far"],
            "coefficients": props["iceye:incidence_angle_coeffs"],
        },
        "projection": {
            "plane": "ground" if plan.spec.level == "GRD" else "slant",
            "grsr": {
                "coefficients": props["iceye:ground_to_slant_coeff"],
                "zero_doppler_time_utc": _time(props["datetime"]),
            },
        },
        "slant_range_to_first_pixel": props["iceye:range_near"],
    }


def _data(plan: CogPlan, props: dict[str, Any], file_name: str) -> dict[str, Any]:
    spec = plan.spec
    n_az, n_rg = spec.shape
    return {
        "file": file_name,
        "type": "AML" if spec.level == "GRD" else "CPX",
        "calibration_factor": props["iceye:calibration_factor"],
        "looks": {"az": {"count": props["sar:looks_azimuth"]}, "rg": {"count": props["sar:looks_range"]}},
        "processing": {
            "version": f"ICEYE_P_{spec.processor_version}",
            "end": _time(props["iceye:processing_end_datetime"]),
            "zero_doppler_start_utc": _time(props["iceye:zero_doppler_start_datetime"]),
            "zero_doppler_end_utc": _time(props["iceye:zero_doppler_end_datetime"]),
            "prf": props["iceye:processing_prf"],
            "bandwidth": {"az": props["iceye:processing_bandwidth_azimuth"]},
        },
        "sample": {
            "size": {"rg": n_rg, "az": n_az},
            "spacing": {"rg": props["sar:pixel_spacing_range"], "az": props["sar:pixel_spacing_azimuth"]},
        },
        "scene": _scene(plan, props),
    }


def _collection(plan: CogPlan, props: dict[str, Any]) -> dict[str, Any]:
    states = [{**state, "time": _time(state["time"])} for state in props["iceye:orbit_states"]]
    estimates = [
        {"time": _time(when), "coeffs": coeffs}
        for when, coeffs in zip(
            props["iceye:doppler_centroid_datetimes"], props["iceye:doppler_centroid_coeffs"], strict=True
        )
    ]
    return {
        "id": plan.spec.image_id,
        "platform": props["platform"],
        "mode": props["sar:instrument_mode"],
        "look_side": props["sar:observation_direction"],
        "polarization": props["sar:polarizations"],
        "start": _time(props["start_datetime"]),
        "end": _time(props["end_datetime"]),
        "carrier_frequency": float(props["sar:center_frequency"]),
        "range_sampling_rate": float(props["iceye:acquisition_range_sampling_rate"]),
        "chirp_bandwidth": float(props["iceye:pulse_bandwidth"]),
        "orbit": {"states": states},
        "doppler_parameters": {"centroid_estimates": estimates, "rate_coeffs": props["iceye:doppler_rate_coeffs"]},
    }


def preview_document(plan: CogPlan, item: dict[str, Any], file_name: str) -> dict[str, Any]:
    """Return the nested ``METADATA_JSON`` document of a 2024 preview product.

    Parameters
    ----------
    plan
        The planned product.
    item
        Its current-generation STAC item (the values are taken from it).
    file_name
        The ``_AML.tif`` / ``_CPX.tif`` file name.

    Returns
    -------
    dict
        ``{"orbit_direction", "data": {...}, "collection": {...}}``; ``orbit_direction`` is
        upper-case at the top level, as SNAP's reader expects [CODE].
    """
    props = item["properties"]
    return {
        "orbit_direction": plan.spec.orbit_direction.upper(),
        "data": _data(plan, props, file_name),
        "collection": _collection(plan, props),
    }
