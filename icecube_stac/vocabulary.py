"""The one vocabulary of the package: enums, asset keys, STAC property names, catalog file names, locations.

Every stage (metadata, STAC items, catalog, config, search, publish, cube) spells a product level, an
asset key or a STAC property through this module, so that the search filters, the pgstac queryables,
the collection summaries and the cube coordinates cannot drift apart. It has no dependencies beyond the
standard library.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit
from urllib.request import url2pathname

__all__ = [
    "ASSET_DATA",
    "ASSET_METADATA",
    "ASSET_QUICKLOOK",
    "CATALOG_JSON",
    "COG_MEDIA_TYPE",
    "CUBE_VARIABLES",
    "GEOJSON_TYPE",
    "PARQUET_NAME",
    "PARQUET_TYPE",
    "STATE_NAME",
    "Container",
    "LookSide",
    "OrbitDirection",
    "ProductLevel",
    "Prop",
    "catalog_root",
    "is_api_url",
    "local_path",
    "resolve_href",
]


class ProductLevel(StrEnum):
    """ICEYE product level (STAC ``product:type``)."""

    GRD = "GRD"
    SLC = "SLC"


class OrbitDirection(StrEnum):
    """Pass direction, lowercase as in STAC ``sat:orbit_state``."""

    ASCENDING = "ascending"
    DESCENDING = "descending"


class LookSide(StrEnum):
    """Antenna look side, lowercase as in STAC ``sar:observation_direction``."""

    LEFT = "left"
    RIGHT = "right"


class Container(StrEnum):
    """The file container of a product's pixels: picks the reader (:mod:`icecube_stac.readers`)."""

    LEGACY_GEOTIFF = "legacy-geotiff"  # spec 2.x GRD: uint16 GeoTIFF in sensor geometry
    LEGACY_HDF5 = "legacy-hdf5"  # spec 2.x SLC: flat HDF5, s_i / s_q
    COG_GRD = "cog-grd"  # current generation GRD: Cloud-Optimized GeoTIFF, one band of DN, "shadows-down"
    COG_SLC = "cog-slc"  # current generation SLC: COG with float32 amplitude and phase bands


class Prop:
    """STAC property names used by more than one stage (filters, queryables, summaries, cube coords)."""

    DATETIME: Final = "datetime"
    START: Final = "start_datetime"
    END: Final = "end_datetime"
    PRODUCT_TYPE: Final = "product:type"
    SAR_PRODUCT_TYPE: Final = "sar:product_type"  # deprecated alias, still written and read
    INSTRUMENT_MODE: Final = "sar:instrument_mode"
    FREQUENCY_BAND: Final = "sar:frequency_band"
    CENTER_FREQUENCY: Final = "sar:center_frequency"  # GHz in STAC; ICEYE's COG side-cars write Hz
    POLARIZATIONS: Final = "sar:polarizations"
    LOOK_SIDE: Final = "sar:observation_direction"
    ORBIT_STATE: Final = "sat:orbit_state"
    ABSOLUTE_ORBIT: Final = "sat:absolute_orbit"
    INCIDENCE: Final = "view:incidence_angle"
    INCIDENCE_NEAR: Final = "iceye:incidence_angle_near"
    INCIDENCE_FAR: Final = "iceye:incidence_angle_far"
    OFF_NADIR: Final = "view:off_nadir"
    PLATFORM: Final = "platform"
    CONSTELLATION: Final = "constellation"
    PROJ_SHAPE: Final = "proj:shape"
    CALIBRATION_FACTOR: Final = "iceye:calibration_factor"
    DATA_TYPE: Final = "data_type"  # raster extension field on the data asset
    # ICEYE COG items (iceye_items.normalise_iceye_item): ICEYE's own fields the load path reads ...
    ICEYE_ORIENTATION: Final = "iceye:orientation"
    INCIDENCE_COEFFS: Final = "iceye:incidence_angle_coeffs"
    ORBIT_STATES: Final = "iceye:orbit_states"
    SCENE_HEIGHT: Final = "iceye:average_scene_height"
    AMPLITUDE_MAPPING: Final = "iceye:amplitude_mapping"
    PROJ_TRANSFORM: Final = "proj:transform"
    # ... and what the normaliser derives for the cube (icecube: prefix, no extension schema).
    SENSOR_SHAPE: Final = "icecube:sensor_shape"  # [azimuth, range] of the cube; proj:shape is the raster's
    AMPLITUDE_SCALE: Final = "icecube:amplitude_scale"  # GRD: amplitude = DN * scale + offset (band SCALE)
    AMPLITUDE_OFFSET: Final = "icecube:amplitude_offset"  # GRD: band OFFSET
    PHASE_SIGN: Final = "icecube:phase_sign"  # SLC COG: +1 -> amplitude * exp(+1j * phase), -1 -> exp(-1j * phase)


ASSET_DATA: Final = "data"
ASSET_METADATA: Final = "metadata"
ASSET_QUICKLOOK: Final = "quicklook"
COG_MEDIA_TYPE: Final = "image/tiff; application=geotiff; profile=cloud-optimized"  # ICEYE COG data assets

# The data variable of a cube, by product level (cube, calibration helpers, writers, xarray backend).
CUBE_VARIABLES: Final = {ProductLevel.GRD: "amplitude", ProductLevel.SLC: "slc"}

CATALOG_JSON: Final = "catalog.json"
PARQUET_NAME: Final = "items.parquet"
PARQUET_TYPE: Final = "application/vnd.apache.parquet"  # media type of links to items.parquet
GEOJSON_TYPE: Final = "application/geo+json"  # media type of links to item files
STATE_NAME: Final = ".icecube-index.json"

_API_SCHEMES: Final = frozenset({"http", "https"})


def is_api_url(location: str | Path) -> bool:
    """Tell whether a catalog location is a STAC API URL (``http://`` or ``https://``, any case).

    Parameters
    ----------
    location
        A config ``catalog`` value: a folder, a file or a URL.

    Returns
    -------
    bool
    """
    text = str(location).strip()
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.lower() in _API_SCHEMES


def catalog_root(location: str | Path) -> Path:
    """Return the folder of a local catalog given as the folder, its ``catalog.json`` or its parquet file.

    Parameters
    ----------
    location
        A catalog folder, ``.../catalog.json`` or ``.../items.parquet``.

    Returns
    -------
    pathlib.Path
    """
    path = Path(location)
    if path.name == CATALOG_JSON or path.suffix == ".parquet":
        return path.parent
    return path


def local_path(href: str) -> Path | None:
    """Return the local path an href names (plain path or ``file://`` URL), or None when it is remote.

    Parameters
    ----------
    href
        An asset href.

    Returns
    -------
    pathlib.Path or None
    """
    parts = urlsplit(href)
    if parts.scheme.lower() == "file":
        return Path(url2pathname(parts.path))
    # One-letter "schemes" are Windows drive letters.
    if len(parts.scheme) <= 1:
        return Path(href)
    return None


def resolve_href(href: str, base: str | Path) -> str:
    """Make an href absolute: relative local paths resolve against ``base``; URLs and absolute paths stay.

    Parameters
    ----------
    href
        An asset or link href as written in a STAC document.
    base
        The folder the document lives in.

    Returns
    -------
    str
    """
    if "://" in href or Path(href).is_absolute():
        return href
    return str((Path(base) / href).resolve())
