"""Plan a synthetic product: one geometry from which every metadata field and pixel position follows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.polynomial import polynomial as npoly
from numpy.typing import NDArray

from ._fields import (
    CARRIER_FREQUENCY,
    Times,
    altitude_for,
    coords,
    doppler,
    format_time,
    ground,
    orbit_number,
    state_vectors,
    text_fields,
    times_for,
)
from ._geodesy import SPEED_OF_LIGHT, bearing_deg, ecef_to_geodetic, geocentric_radius
from ._geometry import SarGeometry, build_geometry, track_heading
from ._modes import MODES, ModeParams
from ._ranges import RangeAxis, grd_range_axis, slc_range_axis
from ._rpc import fit_rpc
from ._scene import Scene, scene_for

if TYPE_CHECKING:
    from .generator import ProductSpec

__all__ = ["ProductPlan", "plan_product"]

F64 = NDArray[np.float64]

_GCP_GRID = (27, 30)
_RPC_GRID = 12
# Real factors span 5e-8..8e-6; GRD takes the lower part so DNs are hundreds to thousands.
_CALIBRATION_RANGE = {"GRD": (5e-8, 2e-6), "SLC": (2e-7, 8e-6)}
_RPC_HEIGHTS = np.array([-500.0, -250.0, 0.0, 250.0, 500.0])


@dataclass(frozen=True)
class ProductPlan:
    """The fields of one product plus what is needed to synthesise and geolocate its pixels.

    Attributes
    ----------
    fields
        All metadata fields under their canonical ICEYE names.
    geometry, scene, range_axis, times
        The acquisition geometry, the imaged world, the range axis and the product times.
    gcp_line, gcp_samp
        0-based line / pixel positions of the GCP grid (rows, cols).
    gcp_lat, gcp_lon, gcp_height
        Ground coordinates of the GCP grid, shape ``(rows, cols)``.
    column_incidence
        Ellipsoid incidence (deg) of every range column.
    """

    fields: dict[str, Any]
    geometry: SarGeometry
    scene: Scene
    range_axis: RangeAxis
    times: Times
    gcp_line: F64
    gcp_samp: F64
    gcp_lat: F64
    gcp_lon: F64
    gcp_height: F64
    column_incidence: F64

    def tau(self, line: F64) -> F64:
        """Zero-Doppler time (s from the scene centre) of fractional 0-based lines."""
        n_lines = int(self.fields["number_of_azimuth_samples"])
        return np.asarray((line - (n_lines - 1) / 2.0) * self.times.interval, dtype=np.float64)


@dataclass(frozen=True)
class _Setup:
    spec: ProductSpec
    mode: ModeParams
    scene: Scene
    height: float
    geometry: SarGeometry
    center_range: float
    ground_speed: float
    heading: float


def _setup(spec: ProductSpec) -> _Setup:
    scene = scene_for(spec.center_lat, spec.center_lon)
    x, y = scene.to_local(np.array(spec.center_lat), np.array(spec.center_lon))
    height = float(np.float32(scene.height(x, y)))  # what avg_scene_height will say
    altitude = altitude_for(spec.satellite)
    nominal = track_heading(spec.center_lat, spec.orbit_direction == "ASCENDING", altitude)
    look_sign = 1.0 if spec.look_side == "right" else -1.0
    center = (spec.center_lat, spec.center_lon, height)
    geometry, center_range = build_geometry(center, spec.incidence_center, nominal, look_sign, altitude)
    track = geometry.locate(np.array([-0.5, 0.5]), center_range, height)
    lat, lon, _ = ecef_to_geodetic(track)
    return _Setup(
        spec=spec,
        mode=MODES[spec.mode],
        scene=scene,
        height=height,
        geometry=geometry,
        center_range=center_range,
        ground_speed=float(np.linalg.norm(track[1] - track[0])),
        heading=bearing_deg(lat[0], lon[0], lat[1], lon[1]),
    )


def _range_fields(s: _Setup, axis: RangeAxis, prf: float) -> tuple[dict[str, Any], F64, float]:
    """Range/azimuth sampling fields, per-column incidence and the Doppler reference time."""
    nrg = s.spec.shape[1]
    fs = s.mode.range_sampling_rate
    fpt = 2.0 * axis.near_range / SPEED_OF_LIGHT
    fields: dict[str, Any] = {}
    if axis.incidence is not None:
        columns = np.arange(nrg) * axis.spacing
        incidence = npoly.polyval(columns, axis.incidence)
        picks = npoly.polyval(np.array([0.0, (nrg - 1) / 2.0, nrg - 1.0]) * axis.spacing, axis.incidence)
        far_time = 2.0 * float(axis.slant_range(np.array(nrg - 1.0))) / SPEED_OF_LIGHT
        ref_time = (fpt + far_time) / 2.0
        fields["azimuth_time_interval"] = np.float64(axis.spacing / s.ground_speed)
    else:
        points = s.geometry.locate(0.0, axis.slant_range(np.arange(nrg, dtype=np.float64)), s.height)
        incidence = s.geometry.incidence_deg(0.0, points)
        ends = axis.slant_range(np.array([0.0, (nrg - 1) / 2.0, nrg - 1.0]))
        picks = s.geometry.incidence_deg(0.0, s.geometry.locate(0.0, ends, s.height))
        ref_time = fpt + nrg / (2.0 * fs)
        fields["azimuth_time_interval"] = np.float64(1.0 / prf)
    fields["first_pixel_time"] = np.float64(fpt)
    fields["slant_range_to_first_pixel"] = np.float64(fpt * SPEED_OF_LIGHT / 2.0)
    fields["incidence_near"], fields["incidence_center"], fields["incidence_far"] = (np.float64(v) for v in picks)
    return fields, np.asarray(incidence, np.float64), ref_time


def _radar_fields(s: _Setup, prf: float, rng: np.random.Generator) -> dict[str, Any]:
    """Sensor and processing parameters drawn from the mode's realistic ranges."""
    mode, grd = s.mode, s.spec.level == "GRD"
    processed = prf * rng.uniform(0.55, 0.65)
    looks = mode.looks if grd else (1, 1)
    fields: dict[str, Any] = {
        "azimuth_looks": np.int64(looks[0]),
        "range_looks": np.int64(looks[1]),
    }
    if grd:
        fields["range_look_bandwidth"] = np.float64(mode.chirp_bandwidth * (1.0 - rng.uniform(5e-4, 2e-3)))
        fields["range_look_overlap"] = np.float64(0.0)
        fields["azimuth_look_bandwidth"] = np.float64(processed * (1.0 - rng.uniform(1e-3, 3e-3)))
        fields["azimuth_look_overlap"] = np.float64(0.0)
    fields |= {
        "acquisition_prf": np.float64(prf),
        "processing_prf": np.float64(prf),
        "carrier_frequency": np.float64(CARRIER_FREQUENCY),
        "range_sampling_rate": np.float64(mode.range_sampling_rate),
        "chirp_bandwidth": np.int64(mode.chirp_bandwidth),
        "chirp_duration": np.float64(rng.uniform(*mode.chirp_duration_range)),
        "total_processed_bandwidth_azimuth": np.float64(processed),
        "range_spread_comp_flag": np.int64(1),
        "ant_elev_corr_flag": np.int64(1),
    }
    return fields


def _spacing_fields(s: _Setup, axis: RangeAxis, interval: float) -> dict[str, Any]:
    if s.spec.level == "GRD":
        return {"range_spacing": np.float64(axis.spacing), "azimuth_spacing": np.float64(axis.spacing)}
    return {
        "slant_range_spacing": np.float64(axis.spacing),
        "azimuth_ground_spacing": np.float64(s.ground_speed * interval),
    }


def _grid(shape: tuple[int, int]) -> tuple[F64, F64]:
    naz, nrg = shape
    return np.linspace(0.0, naz - 1.0, min(naz, _GCP_GRID[0])), np.linspace(0.0, nrg - 1.0, min(nrg, _GCP_GRID[1]))


def _fit_rpc(s: _Setup, axis: RangeAxis, tau_of: Callable[[F64], F64]) -> dict[str, Any]:
    """Fit the RPC to a 12 x 12 image grid geolocated at five heights around the scene average."""
    naz, nrg = s.spec.shape
    line, samp, dh = np.meshgrid(
        np.linspace(0.0, naz - 1.0, _RPC_GRID), np.linspace(0.0, nrg - 1.0, _RPC_GRID), _RPC_HEIGHTS, indexing="ij"
    )
    line, samp, height = line.ravel(), samp.ravel(), (dh + s.height).ravel()
    lat, lon, h = ecef_to_geodetic(s.geometry.locate(tau_of(line), axis.slant_range(samp), height))
    return fit_rpc(line, samp, lat, lon, h, s.height)


def _version_24_fields(s: _Setup, fields: dict[str, Any]) -> dict[str, Any]:
    """Fields added by metadata spec 2.4: the acquisition id and nominal resolutions."""
    slant_res = 1.18 * SPEED_OF_LIGHT / (2.0 * s.mode.chirp_bandwidth)
    out: dict[str, Any] = {
        "acquisition_id": np.int64(s.spec.image_id),
        "azimuth_resolution": np.float64(1.2 * s.ground_speed / float(fields["total_processed_bandwidth_azimuth"])),
    }
    for key in ("near", "center", "far"):
        out[f"range_resolution_{key}"] = np.float64(slant_res / np.sin(np.radians(fields[f"incidence_{key}"])))
    return out


def _slc_only_fields(
    s: _Setup, axis: RangeAxis, incidence: F64, ref_range: float, rng: np.random.Generator
) -> dict[str, Any]:
    """Attitude and per-column radiometric vectors that only SLC products carry."""
    nrg = s.spec.shape[1]
    slant = axis.slant_range(np.arange(nrg, dtype=np.float64))
    offset = (np.arange(nrg) - (nrg - 1) / 2.0) / max(nrg, 1)
    return {
        "pitch": np.float64(rng.uniform(-0.3, 0.3)),
        "yaw": np.float64(rng.uniform(-4.0, 4.0)),
        "local_incidence_angle": incidence.astype(np.float64),
        "fsl_compensation": (slant / ref_range) ** 2,
        "antenna_pattern_compensation": (1.0 + 0.4 * offset**2).astype(np.float32).reshape(-1, 1),
    }


@dataclass(frozen=True)
class _Grid:
    """GCP grid positions and ground coordinates, plus the five ``coord_*`` pixels."""

    line: F64
    samp: F64
    lat: F64
    lon: F64
    height: F64
    coords: dict[str, F64]


def _geolocate(s: _Setup, axis: RangeAxis, tau_of: Callable[[F64], F64]) -> _Grid:
    """Geolocate the GCP grid and the corner/centre pixels on the scene terrain in one batch."""
    naz, nrg = s.spec.shape
    line, samp = _grid(s.spec.shape)
    grid_l, grid_s = np.meshgrid(line, samp, indexing="ij")
    corner_l = np.array([0.0, 0.0, naz - 1.0, naz - 1.0, float(naz // 2)])
    corner_s = np.array([0.0, nrg - 1.0, 0.0, nrg - 1.0, float(nrg // 2)])
    lines, samps = np.concatenate([grid_l.ravel(), corner_l]), np.concatenate([grid_s.ravel(), corner_s])
    lat, lon, hgt = ground(s.geometry, s.scene, tau_of(lines), axis.slant_range(samps), s.height)
    shape = (line.size, samp.size)
    return _Grid(
        line=line,
        samp=samp,
        lat=lat[:-5].reshape(shape),
        lon=lon[:-5].reshape(shape),
        height=hgt[:-5].reshape(shape),
        coords=coords(lat[-5:], lon[-5:], s.spec.shape),
    )


def _grd_polynomial_fields(axis: RangeAxis, times: Times) -> dict[str, Any]:
    """Return the GRSR and incidence blocks of GRD products (referenced to the scene-centre time)."""
    if axis.grsr is None or axis.incidence is None:
        return {}
    return {
        "grsr_coefficients": axis.grsr,
        "grsr_zero_doppler_time": format_time(times.zd_mid),
        "grsr_ground_range_origin": np.float64(0.0),
        "incidence_angle_coefficients": axis.incidence,
        "incidence_angle_zero_doppler_time": format_time(times.zd_mid),
        "incidence_angle_ground_range_origin": np.float64(0.0),
        "grsr_poly_order": np.int64(4),
        "incidence_angle_poly_order": np.int64(4),
        "gcp_terrain_model": "DEM",
    }


def _doppler_rate_c0(s: _Setup, ref_time: float) -> float:
    """Azimuth FM rate at mid swath, -2 v_sat v_ground / (lambda R): about -5700 Hz/s for ICEYE."""
    wavelength = SPEED_OF_LIGHT / CARRIER_FREQUENCY
    return -2.0 * s.geometry.orbit.speed * s.ground_speed / (wavelength * ref_time * SPEED_OF_LIGHT / 2.0)


def _platform_fields(s: _Setup, times: Times, sv: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Orbit, pointing and calibration scalars."""
    sat_xyz = np.stack([sv["posX"], sv["posY"], sv["posZ"]], axis=-1)
    sat, _ = s.geometry.orbit.state(0.0)
    los = s.geometry.locate(0.0, s.center_range, s.height) - sat
    off_nadir = np.degrees(np.arccos(float(-(sat @ los)) / (np.linalg.norm(sat) * np.linalg.norm(los))))
    orbit_no = orbit_number(times.start, s.spec.satellite, altitude_for(s.spec.satellite))
    incidence = np.radians(s.spec.incidence_center)
    return {
        "processor_version": np.float64(float(s.spec.processor_version)),
        "satellite_look_angle": np.float64(round(float(off_nadir), 2)),
        "number_of_azimuth_samples": np.int64(s.spec.shape[0]),
        "number_of_range_samples": np.int64(s.spec.shape[1]),
        "orbit_repeat_cycle": np.int64(99999),
        "orbit_relative_number": np.int64(orbit_no),
        "orbit_absolute_number": np.int64(orbit_no),
        "avg_scene_height": np.float32(s.height),
        "mean_orbit_altitude": np.float64(np.mean(ecef_to_geodetic(sat_xyz)[2])),
        "mean_earth_radius": np.float64(geocentric_radius(s.spec.center_lat)),
        "heading": np.float64(s.heading),
        "calibration_factor": np.float64(10.0 ** rng.uniform(*np.log10(_CALIBRATION_RANGE[s.spec.level]))),
        "tropo_range_delay": np.float64(2.45 * np.exp(-s.height / 7000.0) / np.cos(incidence) + rng.normal(0, 0.02)),
    }


def plan_product(spec: ProductSpec, name: str) -> ProductPlan:
    """Compute all metadata fields of ``spec`` and the geolocation of its GCP grid.

    Parameters
    ----------
    spec
        The product to plan.
    name
        Its product name (file stem).

    Returns
    -------
    ProductPlan
        Fields (canonical ICEYE names, HDF5 dtypes) plus geometry for pixel synthesis.
    """
    rng = np.random.default_rng([spec.seed, 1])
    s = _setup(spec)
    naz, nrg = spec.shape
    prf = float(rng.uniform(*s.mode.prf_range))
    if spec.level == "GRD":
        spacing = spec.pixel_spacing if spec.pixel_spacing is not None else s.mode.pixel_spacing
        axis = grd_range_axis(s.geometry, s.center_range, s.height, nrg, spacing, spec.incidence_center)
    else:
        axis = slc_range_axis(s.center_range, nrg, s.mode.range_sampling_rate)
    range_fields, column_incidence, ref_time = _range_fields(s, axis, prf)
    interval = float(range_fields["azimuth_time_interval"])
    times = times_for(spec, s.mode, interval, rng)

    def tau_of(line: F64) -> F64:
        return np.asarray((line - (naz - 1) / 2.0) * interval, dtype=np.float64)

    grid = _geolocate(s, axis, tau_of)
    sv = state_vectors(s.geometry, times)
    fields: dict[str, Any] = {"spec_version": np.float64(float(spec.spec_version)), **sv}
    fields |= doppler(spec, times, ref_time, _doppler_rate_c0(s, ref_time), rng)
    fields |= _grd_polynomial_fields(axis, times)
    fields |= text_fields(spec, s.mode, name, times)
    fields |= _platform_fields(s, times, sv, rng)
    fields |= _radar_fields(s, prf, rng) | range_fields | _spacing_fields(s, axis, interval) | grid.coords
    if spec.level == "SLC":
        fields |= _slc_only_fields(s, axis, column_incidence, ref_time * SPEED_OF_LIGHT / 2.0, rng)
    if float(spec.spec_version) >= 2.4:
        fields |= _version_24_fields(s, fields)
    fields["rpc"] = _fit_rpc(s, axis, tau_of)
    return ProductPlan(
        fields=fields,
        geometry=s.geometry,
        scene=s.scene,
        range_axis=axis,
        times=times,
        gcp_line=grid.line,
        gcp_samp=grid.samp,
        gcp_lat=grid.lat,
        gcp_lon=grid.lon,
        gcp_height=grid.height,
        column_incidence=column_incidence,
    )
