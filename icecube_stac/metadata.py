"""The typed, frozen model of one ICEYE product's metadata.

Format readers (``icecube_stac.formats``) turn their container into a flat mapping of raw ICEYE fields
(lowercase ICEYE names, values as text, numbers or lists) and call :meth:`IceyeMetadata.from_fields`,
the single place where values are converted and validated. This module does no I/O and imports
neither pystac nor xarray.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal, TypeVar

import numpy as np

from icecube_stac.errors import MetadataError
from icecube_stac.vocabulary import LookSide, OrbitDirection, ProductLevel

__all__ = [
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
_E = TypeVar("_E", bound="StrEnum")


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
        except (ValueError, TypeError, IndexError) as exc:
            raise MetadataError(self.source, f"bad value {_short(value)!r}: {exc}", name) from None

    def req(self, name: str, convert: Callable[[Any], _T]) -> _T:
        value = self.get(name, convert, required=True)
        assert value is not None  # get(required=True) raised otherwise
        return value

    def build(self, source_format: SourceFormat) -> IceyeMetadata:
        level = self.req("product_level", _enum(ProductLevel, upper=True))
        naz = self.req("number_of_azimuth_samples", _positive_int)
        nrg = self.req("number_of_range_samples", _positive_int)
        start = self.req("acquisition_start_utc", parse_time)
        end = self.req("acquisition_end_utc", parse_time)
        if end < start:
            raise MetadataError(
                self.source, f"acquisition ends ({end}) before it starts ({start})", "acquisition_end_utc"
            )
        corners = {name: self.req(name, _corner) for name in _CORNERS}
        corners["coord_center"] = _clamp_center(corners["coord_center"], naz, nrg)
        near, center, far = (self.get(f"incidence_{p}", _angle) for p in ("near", "center", "far"))
        if center is None and near is not None and far is not None:
            center = (near + far) / 2  # icecube's fallback when the centre value is absent
        for name, value in (("incidence_near", near), ("incidence_center", center), ("incidence_far", far)):
            if value is None:
                raise MetadataError(self.source, "required field is missing", name)
        assert near is not None and center is not None and far is not None
        is_grd = level is ProductLevel.GRD
        meta = IceyeMetadata(
            source=self.source,
            source_format=source_format,
            product_name=self.req("product_name", _product_name),
            product_level=level,
            acquisition_start=start,
            acquisition_end=end,
            number_of_azimuth_samples=naz,
            number_of_range_samples=nrg,
            orbit_direction=self.req("orbit_direction", _enum(OrbitDirection)),
            look_side=self.req("look_side", _enum(LookSide)),
            incidence_near=near,
            incidence_center=center,
            incidence_far=far,
            product_file=self.get("product_file", _text),
            product_type=self.get("product_type", _text),
            acquisition_mode=self.get("acquisition_mode", _lower_text),
            satellite_name=self.get("satellite_name", _text),
            spec_version=self.get("spec_version", _version),
            processor_version=self.get("processor_version", _processor_version),
            polarization=self.get("polarization", _upper_text),
            zerodoppler_start=self.get("zerodoppler_start_utc", parse_time),
            zerodoppler_end=self.get("zerodoppler_end_utc", parse_time),
            processing_time=self.get("processing_time", parse_time),
            sample_precision=self.get("sample_precision", _lower_text),
            satellite_look_angle=self.get("satellite_look_angle", _angle),
            heading=self.get("heading", _heading),
            carrier_frequency=self.get("carrier_frequency", _positive),
            chirp_bandwidth=self.get("chirp_bandwidth", _positive),
            range_sampling_rate=self.get("range_sampling_rate", _positive),
            acquisition_prf=self.get("acquisition_prf", _positive),
            processing_prf=self.get("processing_prf", _positive),
            azimuth_time_interval=self.get("azimuth_time_interval", _positive),
            first_pixel_time=self.get("first_pixel_time", _positive),
            slant_range_to_first_pixel=self.get("slant_range_to_first_pixel", _positive),
            range_spacing=self.get("range_spacing" if is_grd else "slant_range_spacing", _positive),
            azimuth_spacing=self.get("azimuth_spacing" if is_grd else "azimuth_ground_spacing", _positive),
            range_looks=self.get("range_looks", _positive_int),
            azimuth_looks=self.get("azimuth_looks", _positive_int),
            calibration_factor=self.get("calibration_factor", _positive),
            avg_scene_height=self.get("avg_scene_height", _float),
            orbit_absolute_number=self.get("orbit_absolute_number", _int),
            orbit_relative_number=self.get("orbit_relative_number", _int),
            orbit_processing_level=self.get("orbit_processing_level", _lower_text),
            data_orientation=self.get("data_orientation", _lower_text),
            state_vectors=self._state_vectors(),
            dc_estimate_times=self.get("dc_estimate_time_utc", _time_vector) or (),
            dc_estimate_coeffs=self.get("dc_estimate_coeffs", _matrix) or (),
            doppler_rate_coeffs=self.get("doppler_rate_coeffs", _vector) or (),
            grsr_coefficients=self.get("grsr_coefficients", _vector) or (),
            incidence_angle_coefficients=self.get("incidence_angle_coefficients", _vector) or (),
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
        times = self.get("state_vector_time_utc", _time_vector)
        columns = [self.get(name, _vector) for name in _STATE_VECTOR_COLUMNS]
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
_PRODUCT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,200}")
_VECTOR_PUNCTUATION = re.compile(r"[\[\]'\",]")


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace")
    if isinstance(value, (list, tuple)):
        raise ValueError("expected a single text value, got a list")
    return str(value).strip()


def _lower_text(value: Any) -> str:
    return _text(value).lower()


def _upper_text(value: Any) -> str:
    return _text(value).upper()


def _enum(kind: type[_E], *, upper: bool = False) -> Callable[[Any], _E]:
    def convert(value: Any) -> _E:
        text = _text(value)
        text = text.upper() if upper else text.lower()
        try:
            return kind(text)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in kind)
            raise ValueError(f"allowed values are {allowed} (case-insensitive)") from None

    return convert


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError("expected a number, got a boolean")
    if isinstance(value, (int, float)):
        number = float(value)
    elif hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        number = float(value.item())
    else:
        number = float(_text(value).strip("[]'\" "))
    if not math.isfinite(number):
        raise ValueError("expected a finite number")
    return number


def _in_range(low: float, high: float) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        number = _float(value)
        if not low <= number <= high:
            raise ValueError(f"allowed range is [{low:g}, {high:g}]")
        return number

    return convert


_angle = _in_range(0.0, 90.0)  # incidence and look angles
_heading = _in_range(0.0, 360.0)
_positive = _in_range(0.0, math.inf)


def _product_name(value: Any) -> str:
    name = _text(value)
    # The name becomes the STAC id and a file name: no path separators, no leading dot, nothing exotic.
    if not _PRODUCT_NAME.fullmatch(name):
        raise ValueError(
            "a product name has letters, digits, '_', '-' and '.' only, e.g. ICEYE_X7_GRD_SM_154171_20211027T183203"
        )
    return name


def _int(value: Any) -> int:
    number = _float(value)
    if not number.is_integer():
        raise ValueError("expected an integer")
    return int(number)


def _positive_int(value: Any) -> int:
    number = _int(value)
    if number <= 0:
        raise ValueError("expected a positive integer")
    return number


def _version(value: Any) -> str:
    # HDF5 stores spec_version as float64, whose repr may carry float noise (2.2999999).
    if isinstance(value, float) or (hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0):
        return f"{float(value):.6g}"
    return _text(value)


def _processor_version(value: Any) -> str:
    # XML/GeoTIFF say "ICEYE_P_1.43", HDF5 says 1.43 (float64): keep the bare version number.
    text = _version(value)
    return text.removeprefix("ICEYE_P_")


def _vector(value: Any) -> tuple[float, ...]:
    if isinstance(value, str):
        # numpy repr ("[ 1.  2.]"), Python list repr ("[1, 2]") or plain space-separated text: strip the
        # punctuation, then every token must be a number (a stray word is an error, not silently dropped).
        value = _VECTOR_PUNCTUATION.sub(" ", value).split()
    elif hasattr(value, "tolist"):
        value = value.tolist()
    elif isinstance(value, (int, float)):
        value = [value]
    numbers = np.asarray(_flatten(value), dtype=np.float64)  # parses numeric text too, and raises on junk
    if not np.isfinite(numbers).all():
        raise ValueError("expected finite numbers")
    return tuple(numbers.tolist())


def _flatten(value: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for v in value:
        if isinstance(v, (list, tuple)):
            out.extend(_flatten(v))
        else:
            out.append(v)
    return out


def _matrix(value: Any) -> tuple[tuple[float, ...], ...]:
    if isinstance(value, str):
        # numpy repr of a 2-D array: one "[...]" group per row inside the outer brackets.
        body = value.strip()
        body = body[1:-1] if body.startswith("[") and body.endswith("]") else body
        rows = re.findall(r"\[([^\[\]]*)\]", body)
        return tuple(_vector(r) for r in rows) if rows else (_vector(body),)
    if hasattr(value, "tolist"):
        value = value.tolist()
    return tuple(_vector(row) for row in value)


def _time_vector(value: Any) -> tuple[datetime, ...]:
    if isinstance(value, str):
        items = _VECTOR_PUNCTUATION.sub(" ", value).split()
    else:
        if hasattr(value, "tolist"):
            value = value.tolist()
        items = [_text(v) for v in _flatten(value)] if not isinstance(value, bytes) else [_text(value)]
    return tuple(parse_time(t) for t in items)


def _corner(value: Any) -> Corner:
    numbers = _vector(value)
    if len(numbers) != 4:
        raise ValueError(f"expected 4 numbers [col, row, lat, lon], got {len(numbers)}")
    col, row, lat, lon = numbers
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 360.0):
        raise ValueError(f"latitude {lat} / longitude {lon} out of range")
    if lon > 180.0:
        lon -= 360.0  # some tools write 0..360 longitudes; STAC wants -180..180
    return Corner(round(col), round(row), lat, lon)


def _clamp_center(center: Corner, naz: int, nrg: int) -> Corner:
    # Early ICEYE processing wrote centre rows beyond the image (iceye_formats.md pitfall 15).
    return Corner(min(max(center.col, 1), nrg), min(max(center.row, 1), naz), center.lat, center.lon)


_RPC_SCALARS = (
    "line_off",
    "samp_off",
    "lat_off",
    "long_off",
    "height_off",
    "line_scale",
    "samp_scale",
    "lat_scale",
    "long_scale",
    "height_scale",
)
_RPC_ARRAYS = ("line_num_coeff", "line_den_coeff", "samp_num_coeff", "samp_den_coeff")


def _rpc(value: Any) -> Rpc:
    if not isinstance(value, Mapping):
        raise TypeError("expected a mapping of RPC fields")
    rpc = {str(k).lower(): v for k, v in value.items()}
    missing = [k.upper() for k in (*_RPC_SCALARS, *_RPC_ARRAYS) if k not in rpc]
    if missing:
        raise ValueError(f"RPC lacks {', '.join(missing)}")
    arrays = {k: _vector(rpc[k]) for k in _RPC_ARRAYS}
    for name, coeffs in arrays.items():
        if len(coeffs) != 20:
            raise ValueError(f"RPC {name.upper()} has {len(coeffs)} coefficients, expected 20")
    values: dict[str, Any] = {k: _float(rpc[k]) for k in _RPC_SCALARS} | arrays
    return Rpc(**values)


def parse_time(value: Any) -> datetime:
    """Parse an ICEYE UTC time stamp into an aware :class:`datetime`.

    Accepts the legacy naive form with 0–6 fractional digits (``2021-10-27T18:32:03.611924``,
    ``2021-10-28T08:30:21``) and the newer ``Z``-suffixed form, also with fewer fractional digits.

    Parameters
    ----------
    value
        Text or bytes.

    Returns
    -------
    datetime
        Timezone-aware, in UTC.
    """
    text = _text(value).strip("'\"")
    match = re.fullmatch(r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]00:?00)?", text)
    if not match:
        raise ValueError("expected a UTC time like 2021-10-27T18:32:03.611924")
    base, fraction, _ = match.groups()
    parsed = datetime.fromisoformat(base.replace(" ", "T"))
    micro = int((fraction or "0").ljust(6, "0")[:6])
    return parsed.replace(microsecond=micro, tzinfo=UTC)
