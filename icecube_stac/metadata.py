"""The typed, frozen model of one ICEYE product's metadata, and its assembly from raw fields.

Format readers (``icecube_stac.formats``) turn their container into a flat mapping of raw ICEYE fields
(lowercase ICEYE names, values as text, numbers or lists) and call :meth:`IceyeMetadata.from_fields`,
the single place where fields are assembled into the model and validated; single values are converted
by :mod:`icecube_stac._fields`; values outside what ICEYE writes (so outside a valid STAC item or an int64
table) are refused. This module does no I/O and imports neither pystac nor xarray.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Final, Literal, TypeVar

from shapely import Polygon
from shapely.validation import explain_validity

from icecube_stac import _fields as conv
from icecube_stac._fields import parse_time
from icecube_stac.errors import MetadataError
from icecube_stac.vocabulary import LookSide, OrbitDirection, ProductLevel

__all__ = [
    "MAX_SAMPLES",
    "MAX_SIDE",
    "Corner",
    "IceyeMetadata",
    "LookSide",
    "OrbitDirection",
    "ProductLevel",
    "Rpc",
    "SourceFormat",
    "StateVector",
    "parse_time",
]

SourceFormat = Literal["xml", "hdf5", "geotiff"]

_T = TypeVar("_T")

# ICEYE products have tens of thousands of lines; format readers check raster headers against these too.
MAX_SIDE: Final = 1_000_000
MAX_SAMPLES: Final = 4 * 10**9
_ORBIT_NUMBER: Final = conv.as_int_in_range(1, 10**7 - 1)  # ~15 orbits a day: 10**7 is 1,800 years
_LOOKS: Final = conv.as_int_in_range(1, 1000)
_SAMPLES: Final = conv.as_int_in_range(1, MAX_SIDE)


@dataclass(frozen=True)
class Corner:
    """One ``coord_*`` point: 1-based pixel column (range) and row (azimuth), latitude and longitude."""

    col: int
    row: int
    lat: float
    lon: float


@dataclass(frozen=True)
class StateVector:
    """One orbit state vector in ECEF (metres, metres per second)."""

    time: datetime
    position: tuple[float, float, float]
    velocity: tuple[float, float, float]


@dataclass(frozen=True)
class Rpc:
    """RPC00B rational polynomial coefficients; line and sample are 0-based."""

    line_off: float
    samp_off: float
    lat_off: float
    long_off: float
    height_off: float
    line_scale: float
    samp_scale: float
    lat_scale: float
    long_scale: float
    height_scale: float
    line_num_coeff: tuple[float, ...]
    line_den_coeff: tuple[float, ...]
    samp_num_coeff: tuple[float, ...]
    samp_den_coeff: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the RPC as a JSON-friendly dict with lowercase keys (ICEYE STAC ``iceye:rpc`` style)."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}


@dataclass(frozen=True)
class IceyeMetadata:
    """Metadata of one ICEYE legacy Level-1 product (GRD or SLC), whatever container it came from.

    Times are timezone-aware UTC. Angles are degrees. Fields an older spec version lacks are ``None``
    or empty; every field the model does not name is kept, unconverted, in :attr:`extra`.
    """

    source: str
    source_format: SourceFormat
    product_name: str
    product_level: ProductLevel
    acquisition_start: datetime
    acquisition_end: datetime
    number_of_azimuth_samples: int
    number_of_range_samples: int
    orbit_direction: OrbitDirection
    look_side: LookSide
    coord_first_near: Corner
    coord_first_far: Corner
    coord_last_near: Corner
    coord_last_far: Corner
    coord_center: Corner
    incidence_near: float
    incidence_center: float
    incidence_far: float
    product_file: str | None = None
    product_type: str | None = None
    acquisition_mode: str | None = None
    satellite_name: str | None = None
    spec_version: str | None = None
    processor_version: str | None = None
    polarization: str | None = None
    zerodoppler_start: datetime | None = None
    zerodoppler_end: datetime | None = None
    processing_time: datetime | None = None
    sample_precision: str | None = None
    satellite_look_angle: float | None = None
    heading: float | None = None
    carrier_frequency: float | None = None
    chirp_bandwidth: float | None = None
    range_sampling_rate: float | None = None
    acquisition_prf: float | None = None
    processing_prf: float | None = None
    azimuth_time_interval: float | None = None
    first_pixel_time: float | None = None
    slant_range_to_first_pixel: float | None = None
    range_spacing: float | None = None
    azimuth_spacing: float | None = None
    range_looks: int | None = None
    azimuth_looks: int | None = None
    calibration_factor: float | None = None
    avg_scene_height: float | None = None
    orbit_absolute_number: int | None = None
    orbit_relative_number: int | None = None
    orbit_processing_level: str | None = None
    data_orientation: str | None = None
    state_vectors: tuple[StateVector, ...] = ()
    dc_estimate_times: tuple[datetime, ...] = ()
    dc_estimate_coeffs: tuple[tuple[float, ...], ...] = ()
    doppler_rate_coeffs: tuple[float, ...] = ()
    grsr_coefficients: tuple[float, ...] = ()
    incidence_angle_coefficients: tuple[float, ...] = ()
    rpc: Rpc | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        """Raster shape as (azimuth rows, range columns)."""
        return (self.number_of_azimuth_samples, self.number_of_range_samples)

    @property
    def center_time(self) -> datetime:
        """Midpoint of the acquisition (first to last pulse)."""
        return self.acquisition_start + (self.acquisition_end - self.acquisition_start) / 2

    @property
    def footprint(self) -> list[tuple[float, float]]:
        """Closed lon/lat ring first_near → first_far → last_far → last_near → first_near."""
        ring = [self.coord_first_near, self.coord_first_far, self.coord_last_far, self.coord_last_near]
        return [(c.lon, c.lat) for c in [*ring, ring[0]]]

    @classmethod
    def from_fields(cls, raw: Mapping[str, Any], *, source: object, source_format: SourceFormat) -> IceyeMetadata:
        """Build the model from raw ICEYE fields, converting and validating every value.

        Parameters
        ----------
        raw
            Flat mapping of lowercase ICEYE field names to raw values (text, numbers, lists). Block
            fields use the flat GeoTIFF/HDF5 names (``posx``, ``dc_estimate_coeffs``, ``rpc``...).
        source
            The file the fields came from, used in error messages.
        source_format
            Which container the fields were read from.

        Returns
        -------
        IceyeMetadata

        Raises
        ------
        MetadataError
            When a required field is missing or any field has a value of the wrong form.
        """
        return _Converter({k.lower(): v for k, v in raw.items()}, str(source)).build(source_format)


class _Converter:
    """Converts raw fields one by one, remembering which ones were consumed (the rest go to ``extra``)."""

    def __init__(self, raw: dict[str, Any], source: str) -> None:
        self.raw = raw
        self.source = source
        self.used: set[str] = set()

    def get(self, name: str, convert: Callable[[Any], _T], *, required: bool = False) -> _T | None:
        self.used.add(name)
        value = self.raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise MetadataError(self.source, "required field is missing", name)
            return None
        try:
            return convert(value)
        except (ValueError, TypeError, IndexError, OverflowError) as exc:
            raise MetadataError(self.source, f"bad value {conv.short(value)!r}: {exc}", name) from None

    def req(self, name: str, convert: Callable[[Any], _T]) -> _T:
        value = self.get(name, convert, required=True)
        assert value is not None  # get(required=True) raised otherwise
        return value

    def build(self, source_format: SourceFormat) -> IceyeMetadata:
        level = self.req("product_level", conv.as_enum(ProductLevel, upper=True))
        naz = self.req("number_of_azimuth_samples", _SAMPLES)
        nrg = self.req("number_of_range_samples", _SAMPLES)
        if naz * nrg > MAX_SAMPLES:
            raise MetadataError(self.source, f"{naz} x {nrg} samples: over {MAX_SAMPLES}", "number_of_range_samples")
        start, end = (self.req(f"acquisition_{e}_utc", _acquisition_time) for e in ("start", "end"))
        if end < start:
            raise MetadataError(
                self.source, f"acquisition ends ({end}) before it starts ({start})", "acquisition_end_utc"
            )
        corners = {name: self.req(name, _corner) for name in _CORNERS}
        corners["coord_center"] = _clamp_center(corners["coord_center"], naz, nrg)
        _check_footprint(corners, self.source)
        near, center, far = (self.get(f"incidence_{p}", conv.as_angle) for p in ("near", "center", "far"))
        if center is None and near is not None and far is not None:
            center = (near + far) / 2  # icecube's fallback when the centre value is absent
        if near is None or center is None or far is None:
            absent = "near" if near is None else "center" if center is None else "far"
            raise MetadataError(self.source, "required field is missing", f"incidence_{absent}")
        is_grd = level is ProductLevel.GRD
        meta = IceyeMetadata(
            source=self.source,
            source_format=source_format,
            product_name=self.req("product_name", conv.as_product_name),
            product_level=level,
            acquisition_start=start,
            acquisition_end=end,
            number_of_azimuth_samples=naz,
            number_of_range_samples=nrg,
            orbit_direction=self.req("orbit_direction", conv.as_enum(OrbitDirection)),
            look_side=self.req("look_side", conv.as_enum(LookSide)),
            incidence_near=near,
            incidence_center=center,
            incidence_far=far,
            product_file=self.get("product_file", conv.as_text),
            product_type=self.get("product_type", conv.as_text),
            acquisition_mode=self.get("acquisition_mode", conv.as_lower),
            satellite_name=self.get("satellite_name", conv.as_text),
            spec_version=self.get("spec_version", conv.as_version),
            processor_version=self.get("processor_version", conv.as_processor_version),
            polarization=self.get("polarization", _one_of("HH", "VV", "HV", "VH")),
            zerodoppler_start=self.get("zerodoppler_start_utc", parse_time),
            zerodoppler_end=self.get("zerodoppler_end_utc", parse_time),
            processing_time=self.get("processing_time", parse_time),
            # What ICEYE writes; a GRD is never float32 (the raster's own type is checked by the format readers).
            sample_precision=self.get("sample_precision", _one_of("uint16") if is_grd else _one_of("int16", "float32")),
            satellite_look_angle=self.get("satellite_look_angle", conv.as_angle),
            heading=self.get("heading", conv.as_heading),
            carrier_frequency=self.get("carrier_frequency", conv.in_range(8e9, 12e9)),  # X band (sar:frequency_band)
            chirp_bandwidth=self.get("chirp_bandwidth", conv.in_range(0.0, 5e9, above=True)),
            range_sampling_rate=self.get("range_sampling_rate", conv.as_positive),
            acquisition_prf=self.get("acquisition_prf", conv.as_positive),
            processing_prf=self.get("processing_prf", conv.as_positive),
            azimuth_time_interval=self.get("azimuth_time_interval", conv.as_positive),
            first_pixel_time=self.get("first_pixel_time", conv.as_positive),
            slant_range_to_first_pixel=self.get("slant_range_to_first_pixel", conv.as_positive),
            range_spacing=self.get("range_spacing" if is_grd else "slant_range_spacing", conv.as_positive),
            azimuth_spacing=self.get("azimuth_spacing" if is_grd else "azimuth_ground_spacing", conv.as_positive),
            range_looks=self.get("range_looks", _LOOKS),
            azimuth_looks=self.get("azimuth_looks", _LOOKS),
            calibration_factor=self.get("calibration_factor", conv.as_positive),
            avg_scene_height=self.get("avg_scene_height", conv.in_range(-12_000.0, 12_000.0)),  # metres
            orbit_absolute_number=self.get("orbit_absolute_number", _ORBIT_NUMBER),
            orbit_relative_number=self.get("orbit_relative_number", _ORBIT_NUMBER),
            orbit_processing_level=self.get("orbit_processing_level", conv.as_lower),
            data_orientation=self.get("data_orientation", conv.as_lower),
            state_vectors=self._state_vectors(),
            dc_estimate_times=self.get("dc_estimate_time_utc", conv.as_time_vector) or (),
            dc_estimate_coeffs=self.get("dc_estimate_coeffs", conv.as_matrix) or (),
            doppler_rate_coeffs=self.get("doppler_rate_coeffs", conv.as_vector) or (),
            grsr_coefficients=self.get("grsr_coefficients", conv.as_vector) or (),
            incidence_angle_coefficients=self.get("incidence_angle_coefficients", conv.as_vector) or (),
            rpc=self.get("rpc", _rpc),
            coord_first_near=corners["coord_first_near"],
            coord_first_far=corners["coord_first_far"],
            coord_last_near=corners["coord_last_near"],
            coord_last_far=corners["coord_last_far"],
            coord_center=corners["coord_center"],
        )
        extra = {k: v for k, v in self.raw.items() if k not in self.used and k not in _DERIVED}
        object.__setattr__(meta, "extra", extra)
        return meta

    def _state_vectors(self) -> tuple[StateVector, ...]:
        times = self.get("state_vector_time_utc", conv.as_time_vector)
        columns = [self.get(name, conv.as_vector) for name in _STATE_VECTOR_COLUMNS]
        if times is None or any(c is None for c in columns):
            return ()
        cols = [c for c in columns if c is not None]
        if any(len(c) != len(times) for c in cols):
            lengths = ", ".join(f"{n}={len(c)}" for n, c in zip(_STATE_VECTOR_COLUMNS, cols, strict=True))
            raise MetadataError(
                self.source,
                f"state vector arrays differ in length ({len(times)} times, {lengths})",
                "state_vector_time_utc",
            )
        return tuple(
            StateVector(t, (x, y, z), (vx, vy, vz)) for t, x, y, z, vx, vy, vz in zip(times, *cols, strict=True)
        )


_CORNERS = ("coord_first_near", "coord_first_far", "coord_last_near", "coord_last_far", "coord_center")
_STATE_VECTOR_COLUMNS = ("posx", "posy", "posz", "velx", "vely", "velz")
# Fields that only restate what the model already holds (counts of arrays it stores).
_DERIVED = frozenset({"number_of_state_vectors", "number_of_dc_estimations"})


def _corner(value: Any) -> Corner:
    numbers = conv.as_vector(value)
    if len(numbers) != 4:
        raise ValueError(f"expected 4 numbers [col, row, lat, lon], got {len(numbers)}")
    col, row, lat, lon = numbers
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 360.0):
        raise ValueError(f"latitude {lat} / longitude {lon} out of range")
    if lon > 180.0:
        lon -= 360.0  # some tools write 0..360 longitudes; STAC wants -180..180
    if not (abs(col) <= 2 * MAX_SIDE and abs(row) <= 2 * MAX_SIDE):  # generous: some centre rows are off (#15)
        raise ValueError(f"pixel column {col:g} / row {row:g} beyond any ICEYE raster ({MAX_SIDE} per side)")
    return Corner(round(col), round(row), lat, lon)


def _check_footprint(corners: Mapping[str, Corner], source: str) -> None:
    """Refuse corners that do not make a simple quadrilateral (the STAC footprint), unwrapped as it is."""
    ring = [corners[f"coord_{name}"] for name in ("first_near", "first_far", "last_far", "last_near")]
    lons = [c.lon for c in ring]
    if max(lons) - min(lons) > 180.0:  # across the antimeridian, as the STAC footprint is split
        lons = [lon + 360.0 if lon < 0 else lon for lon in lons]
    polygon = Polygon(zip(lons, (c.lat for c in ring), strict=True))
    wide = max(lons) - min(lons) > 180.0
    if not wide and polygon.is_valid and polygon.area > 0:
        return
    where = ", ".join(f"lat {c.lat:g} lon {c.lon:g}" for c in ring)
    why = "over 180 degrees" if wide else explain_validity(polygon)
    reason = f"corners first_near, first_far, last_far, last_near at {where} do not make a simple quadrilateral"
    raise MetadataError(source, f"{reason} ({why}); give them in order around the scene", "coord_first_near")


def _acquisition_time(value: Any) -> datetime:
    if not 2000 <= (when := parse_time(value)).year < 2100:
        raise ValueError("expected a time in the years 2000 to 2099 (ICEYE's era)")
    return when


def _one_of(*allowed: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if (text := conv.as_text(value)).lower() not in (a.lower() for a in allowed):
            raise ValueError(f"allowed values are {', '.join(allowed)} (case-insensitive)")
        return text.upper() if allowed[0].isupper() else text.lower()

    return convert


def _clamp_center(center: Corner, naz: int, nrg: int) -> Corner:
    # Early ICEYE processing wrote centre rows beyond the image (iceye_formats.md pitfall 15).
    return Corner(min(max(center.col, 1), nrg), min(max(center.row, 1), naz), center.lat, center.lon)


_RPC_SCALARS = tuple(f"{n}_{k}" for k in ("off", "scale") for n in ("line", "samp", "lat", "long", "height"))
_RPC_ARRAYS = ("line_num_coeff", "line_den_coeff", "samp_num_coeff", "samp_den_coeff")


def _rpc(value: Any) -> Rpc:
    if not isinstance(value, Mapping):
        raise TypeError("expected a mapping of RPC fields")
    rpc = {str(k).lower(): v for k, v in value.items()}
    if missing := [k.upper() for k in (*_RPC_SCALARS, *_RPC_ARRAYS) if k not in rpc]:
        raise ValueError(f"RPC lacks {', '.join(missing)}")
    arrays = {k: conv.as_vector(rpc[k]) for k in _RPC_ARRAYS}
    if wrong := [k for k, coeffs in arrays.items() if len(coeffs) != 20]:
        raise ValueError(f"RPC {wrong[0].upper()} has {len(arrays[wrong[0]])} coefficients, expected 20")
    values: dict[str, Any] = {k: conv.as_float(rpc[k]) for k in _RPC_SCALARS} | arrays
    return Rpc(**values)
