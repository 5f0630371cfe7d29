"""Build the ``properties`` object of a COG side-car item, key for key in the order of ICEYE's real items.

Value conventions copied from the real item: ``sar:center_frequency`` in **Hz** (an integer),
``proj:shape`` = ``[azimuth, range]`` (= ``[ImageWidth, ImageLength]``), ``proj:transform`` in
GDAL GeoTransform order, angles and ranges rounded to 6 decimals, polynomial coefficients at full
precision, ``iceye:orbit_states`` rounded to millimetres, times as :func:`._names.stac_time`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from .._geodesy import SPEED_OF_LIGHT
from .._rpc import RPC_KEYS
from ._names import image_reference, product_stem, scene_id, stac_time
from ._plan import CogPlan
from ._spec import instrument_mode, mode_family

__all__ = ["cog_properties", "rpc_property"]

_GRD_BAND = {"data_type": "ui16", "bits_per_sample": 16}
# ICEYE really writes 31 bits per sample for its float32 SLC bands.
_SLC_BAND = {"data_type": "f32", "bits_per_sample": 31}
_MULTILOOK_OVERLAP = 12.63  # percent, as on the real 10-look GRD [INF for other modes]


# ICEYE's product-spec v0.2.2 bounds the current generation's pulse and processing bandwidths to
# 300-1200 MHz, while legacy stripmap and scan products (and our legacy modes) use 234 MHz; the COG
# products take the legacy bandwidth raised to that floor, and a sampling rate scaled with it so the
# range oversampling ratio stays the legacy one.
_MIN_BANDWIDTH = 300e6


def _bandwidth(f: Mapping[str, Any]) -> float:
    return max(float(f["chirp_bandwidth"]), _MIN_BANDWIDTH)


def _sampling_rate(f: Mapping[str, Any]) -> float:
    return float(f["range_sampling_rate"]) * _bandwidth(f) / float(f["chirp_bandwidth"])


def _r6(value: Any) -> float:
    return round(float(value), 6)


def _time(raw: bytes | str) -> datetime:
    text = raw.decode("ascii") if isinstance(raw, bytes) else raw
    return datetime.fromisoformat(text)


def _times(plan: CogPlan) -> dict[str, Any]:
    times = plan.legacy.times
    middle = times.start + (times.end - times.start) / 2
    return {
        "datetime": stac_time(middle, 3),
        "created": stac_time(plan.processing_end.replace(microsecond=0)),
        "start_datetime": stac_time(times.start, 3),
        "end_datetime": stac_time(times.end, 3),
    }


def _sar(plan: CogPlan) -> dict[str, Any]:
    f, spec, grd = plan.legacy.fields, plan.spec, plan.spec.level == "GRD"
    slant_res = SPEED_OF_LIGHT / (2.0 * _bandwidth(f))
    azimuth_res = plan.geometry.ground_speed / float(f["total_processed_bandwidth_azimuth"])
    sin_center = np.sin(np.radians(plan.geometry.incidence[1]))
    spacing = ("range_spacing", "azimuth_spacing") if grd else ("slant_range_spacing", "azimuth_ground_spacing")
    return {
        "platform": spec.satellite,
        "constellation": "ICEYE",
        "sar:instrument_mode": instrument_mode(spec),
        "sar:frequency_band": "X",
        "sar:center_frequency": round(float(f["carrier_frequency"])),
        "sar:polarizations": [spec.polarization],
        "sar:product_type": f"{spec.level}-COG",
        "sar:resolution_range": _r6(slant_res / sin_center if grd else slant_res),
        "sar:resolution_azimuth": _r6(azimuth_res * int(f["azimuth_looks"]) if grd else azimuth_res),
        "sar:pixel_spacing_range": _r6(f[spacing[0]]),
        "sar:pixel_spacing_azimuth": _r6(f[spacing[1]]),
        "sar:looks_range": int(f["range_looks"]),
        "sar:looks_azimuth": int(f["azimuth_looks"]),
        "sar:observation_direction": spec.look_side,
        "sat:orbit_state": spec.orbit_direction,
    }


def _view_azimuth(plan: CogPlan) -> float:
    """Direction from the scene to the sensor: heading + 90 deg left-looking, - 90 deg right-looking."""
    turn = 90.0 if plan.spec.look_side == "left" else -90.0
    return (float(plan.legacy.fields["heading"]) + turn) % 360.0


def _view_proj(plan: CogPlan) -> dict[str, Any]:
    g, spec = plan.geometry, plan.spec
    n_az, n_rg = spec.shape
    band = _GRD_BAND if spec.level == "GRD" else _SLC_BAND
    return {
        "view:off_nadir": _r6(g.off_nadir),
        "view:azimuth": _r6(_view_azimuth(plan)),
        "view:incidence_angle": _r6(g.incidence[1]),
        "processing:software": {"forge": spec.forge_version, "processor": f"ICEYE_I_{spec.processor_version}"},
        "proj:code": "EPSG:4326",
        "proj:shape": [n_az, n_rg],
        "proj:centroid": {"lat": float(np.mean(g.corners[:, 1])), "lon": float(np.mean(g.corners[:, 0]))},
        "proj:transform": [float(v) for v in g.transform],
        "raster:bands": [dict(band) for _ in range(1 if spec.level == "GRD" else 2)],
    }


def _identity(plan: CogPlan) -> dict[str, Any]:
    spec = plan.spec
    run = spec.run_name or f"synthetic-{plan.processing_end:%d-%m-%Y}"
    return {
        "iceye:image_id": spec.image_id,
        "iceye:image_reference": image_reference(spec),
        "iceye:scene_id": scene_id(spec),
        "iceye:run_name": run,
        "iceye:frame_number": spec.frame_number,
        "iceye:filename": f"{product_stem(spec)}.tif",
    }


def _radar(plan: CogPlan) -> dict[str, Any]:
    f, g, grd = plan.legacy.fields, plan.geometry, plan.spec.level == "GRD"
    slant_res = SPEED_OF_LIGHT / (2.0 * _bandwidth(f))
    near, far = (np.sin(np.radians(g.incidence[k])) for k in (0, 2))
    looks = int(f["azimuth_looks"])
    processed = float(f["total_processed_bandwidth_azimuth"])
    wavelength = SPEED_OF_LIGHT / float(f["carrier_frequency"])
    look_bandwidth = float(f["azimuth_look_bandwidth"]) if grd else processed
    return {
        "iceye:resolution_range_near": _r6(slant_res / near if grd else slant_res),
        "iceye:resolution_range_far": _r6(slant_res / far if grd else slant_res),
        "iceye:looks_range_bandwidth": round(_bandwidth(f)),
        "iceye:looks_range_overlap": 0,
        "iceye:looks_azimuth_bandwidth": round(look_bandwidth, 2),
        "iceye:looks_azimuth_overlap": _MULTILOOK_OVERLAP if grd and looks > 1 else 0,
        "iceye:synthetic_aperture_angle": _r6(np.degrees(wavelength * processed / (2.0 * g.ground_speed))),
        "iceye:pulse_bandwidth": round(_bandwidth(f)),
        "iceye:pulse_duration": float(f"{float(f['chirp_duration']):.5g}"),
        "iceye:acquisition_prf": round(float(f["acquisition_prf"]), 2),
        "iceye:acquisition_range_sampling_rate": round(_sampling_rate(f)),
    }


def _doppler(plan: CogPlan) -> dict[str, Any]:
    f, times = plan.legacy.fields, plan.legacy.times
    coeffs = np.asarray(f["dc_estimate_coeffs"], np.float64)
    if mode_family(plan.spec.mode) == "SL":  # spotlight centroids are one constant per estimate (as real)
        coeffs = coeffs[:, :1]
    return {
        "iceye:zero_doppler_start_datetime": stac_time(times.zd_start),
        "iceye:zero_doppler_end_datetime": stac_time(times.zd_end),
        "iceye:doppler_centroid_coeffs": [[float(c) for c in row] for row in coeffs],
        "iceye:doppler_centroid_datetimes": [stac_time(_time(t)) for t in np.ravel(f["dc_estimate_time_utc"])],
        "iceye:doppler_rate_coeffs": [float(c) for c in f["doppler_rate_coeffs"]],
        "iceye:orientation": "shadows-down",
    }


def _orbit(plan: CogPlan) -> dict[str, Any]:
    f = plan.legacy.fields
    states = [
        {
            "time": stac_time(_time(t)),
            "position": [round(float(f[f"pos{a}"][k]), 3) for a in "XYZ"],
            "velocity": [round(float(f[f"vel{a}"][k]), 3) for a in "XYZ"],
        }
        for k, t in enumerate(np.ravel(f["state_vector_time_utc"]))
    ]
    return {
        "iceye:coordinate_frame": "ecef",
        "iceye:orbit_mean_altitude": round(float(f["mean_orbit_altitude"])),
        "iceye:orbit_states": states,
        "iceye:orbit_precision": "precise",
    }


def _angles(plan: CogPlan) -> dict[str, Any]:
    g = plan.geometry
    shadow = (_view_azimuth(plan) + 180.0) % 360.0
    return {
        "iceye:incidence_angle_near": _r6(g.incidence[0]),
        "iceye:incidence_angle_far": _r6(g.incidence[2]),
        "iceye:incidence_angle_coeffs": [float(c) for c in g.incidence_coeffs],
        "iceye:grazing_angle_near": _r6(90.0 - g.incidence[0]),
        "iceye:grazing_angle": _r6(90.0 - g.incidence[1]),
        "iceye:grazing_angle_far": _r6(90.0 - g.incidence[2]),
        "iceye:squint_angle": _r6(plan.squint),
        "iceye:layover_angle": _r6(plan.squint),  # equal on the real item
        "iceye:shadow_angle": _r6(shadow),
        # [INF] no public definition; this reproduces the real item's -90.096 for its -0.061 squint.
        "iceye:doppler_cone_angle": _r6(-90.0 + 1.574 * plan.squint),
    }


def rpc_property(rpc: dict[str, Any], with_errors: bool) -> dict[str, Any]:
    """Return ``iceye:rpc``: lower-case RPC00B keys; ``err_bias``/``err_rand`` (-1) first when asked.

    Parameters
    ----------
    rpc
        The fitted RPC in the legacy upper-case key format.
    with_errors
        Include ``err_bias``/``err_rand``, which ICEYE puts only in the TIFF's ``ICEYE_PROPERTIES``.

    Returns
    -------
    dict
        Floats and 20-element lists.
    """
    out: dict[str, Any] = {"err_bias": -1.0, "err_rand": -1.0} if with_errors else {}
    for key in RPC_KEYS:
        value = rpc[key]
        out[key.lower()] = [float(v) for v in value] if key.endswith("_COEFF") else float(value)
    return out


def _ranges(plan: CogPlan) -> dict[str, Any]:
    f, g, spec = plan.legacy.fields, plan.geometry, plan.spec
    n_az, n_rg = spec.shape
    sin_center = np.sin(np.radians(g.incidence[1]))
    ground = float(f["range_spacing"]) if spec.level == "GRD" else float(f["slant_range_spacing"]) / sin_center
    azimuth = float(f["azimuth_spacing"] if spec.level == "GRD" else f["azimuth_ground_spacing"])
    return {
        "iceye:range_near": _r6(g.slant[0]),
        "iceye:range": _r6(g.slant[1]),
        "iceye:range_far": _r6(g.slant[2]),
        "iceye:average_scene_height": round(float(f["avg_scene_height"])),
        "iceye:rpc": rpc_property(g.rpc, with_errors=False),
        "iceye:ground_to_slant_coeff": [float(c) for c in g.ground_to_slant],
        "iceye:focal_plane_normal": [float(v) for v in g.focal_plane_normal],
        "iceye:image_plane_normal": [float(v) for v in g.image_plane_normal],
        "iceye:extent_range": round((n_rg - 1) * ground),
        "iceye:extent_azimuth": round((n_az - 1) * azimuth),
    }


def _processing(plan: CogPlan) -> dict[str, Any]:
    f, spec = plan.legacy.fields, plan.spec
    out: dict[str, Any] = {
        "iceye:processing_end_datetime": stac_time(plan.processing_end),
        "iceye:processing_bandwidth_range": round(_bandwidth(f)),
        "iceye:processing_bandwidth_azimuth": round(float(f["total_processed_bandwidth_azimuth"]), 3),
    }
    if spec.level == "GRD":  # the real SLC item has no window functions
        out["iceye:window_function_range"] = str(f["window_function_range"])
        out["iceye:window_function_azimuth"] = str(f["window_function_azimuth"])
    out["iceye:processing_prf"] = round(float(f["processing_prf"]), 3)
    out["iceye:processing_mode"] = spec.mode
    out["iceye:calibration_factor"] = plan.calibration_factor
    if spec.amplitude_mapping is not None:
        scale, exponent = spec.amplitude_mapping
        out["iceye:amplitude_mapping"] = {"function": "power", "parameters": {"scale": scale, "exponent": exponent}}
    return out


def cog_properties(plan: CogPlan) -> dict[str, Any]:
    """Return the side-car item's ``properties`` in the key order of ICEYE's real items.

    Parameters
    ----------
    plan
        The planned product.

    Returns
    -------
    dict
        Plain JSON values (no numpy types). ``iceye:rpc`` lacks ``err_bias``/``err_rand``; the copy
        embedded as ``ICEYE_PROPERTIES`` adds them (see :func:`rpc_property`).
    """
    out: dict[str, Any] = {}
    for part in (_times, _sar, _view_proj, _identity, _radar, _doppler, _orbit, _angles, _ranges, _processing):
        out |= part(plan)
    return out
