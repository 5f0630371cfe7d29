"""Deterministic generator of realistic synthetic ICEYE legacy Level-1 products.

A :class:`ProductSpec` describes one acquisition. :func:`metadata_fields` derives every ICEYE
metadata field from one consistent geometry (circular orbit, zero-Doppler geolocation on WGS84,
GRSR/incidence polynomials, fitted RPC); the writers serialise those fields into a GRD GeoTIFF, an
SLC HDF5, XML sidecars and a quicklook PNG that follow the real formats field for field. The same
spec always gives byte-identical files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from ._containers import geotiff_tags, write_geotiff, write_hdf5, write_png
from ._fields import naive_utc, satellite_number
from ._pixels import grd_amplitude, quicklook, slc_samples
from ._plan import ProductPlan, plan_product
from ._xml_writer import render_xml

__all__ = [
    "GeneratedProduct",
    "ProductSpec",
    "demo_specs",
    "metadata_fields",
    "package_name",
    "product_name",
    "write_grd",
    "write_product",
    "write_slc",
    "write_stack",
    "write_xml",
]

_POLARIZATIONS = {"VV", "HH", "VH", "HV"}


@dataclass(frozen=True)
class ProductSpec:
    """Parameters of one synthetic ICEYE legacy product.

    Attributes
    ----------
    level
        ``"GRD"`` (GeoTIFF) or ``"SLC"`` (HDF5).
    image_id
        Data-take id, 4-7 digits.
    satellite
        ``ICEYE-X<n>``.
    acquisition_start
        First pulse, naive UTC (aware datetimes are converted).
    mode
        File-name mode code: ``SM`` stripmap, ``SL`` spotlight, ``SC`` scan.
    shape
        ``(azimuth rows, range columns)``.
    incidence_center
        Ellipsoid incidence angle at the scene centre (deg).
    orbit_direction, look_side, polarization
        As written in the metadata.
    center_lat, center_lon
        Scene centre (deg). Centres that round to the same 0.01 deg show the same scene.
    slc_dtype
        Sample type of SLC ``s_i``/``s_q``.
    spec_version, processor_version
        Metadata spec (``2.1``-``2.4``) and processor (``ICEYE_P_<version>``) versions.
    seed
        Drives all random choices (radar parameters, speckle, temporal change).
    xml, quicklook
        Whether to write the XML sidecar and ``ICEYE_..._QUICKLOOK_...png``.
    pixel_spacing
        GRD ground spacing (m); default per mode (SM 2.5, SL 0.5, SC 15).
    tiled
        GRD GeoTIFF tiled (256 x 256, smaller for tiny rasters) rather than striped.
    hdf5_chunks
        Chunk shape of ``s_i``/``s_q``; ``None`` stores them contiguously.
    """

    level: Literal["GRD", "SLC"] = "GRD"
    image_id: int = 154171
    satellite: str = "ICEYE-X7"
    acquisition_start: datetime = datetime(2021, 10, 27, 18, 32, 3, 611924)
    mode: Literal["SM", "SL", "SC"] = "SM"
    shape: tuple[int, int] = (64, 48)
    incidence_center: float = 17.03
    orbit_direction: Literal["ASCENDING", "DESCENDING"] = "DESCENDING"
    look_side: Literal["right", "left"] = "right"
    polarization: str = "VV"
    center_lat: float = 16.32
    center_lon: float = 102.61
    slc_dtype: Literal["int16", "float32"] = "int16"
    spec_version: str = "2.3"
    processor_version: str = "1.43"
    seed: int = 0
    xml: bool = True
    quicklook: bool = False
    pixel_spacing: float | None = None
    tiled: bool = True
    hdf5_chunks: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        _check(self.level in ("GRD", "SLC"), "level", self.level)
        _check(1000 <= self.image_id <= 9_999_999, "image_id", self.image_id)
        satellite_number(self.satellite)
        _check(self.mode in ("SM", "SL", "SC"), "mode", self.mode)
        _check(len(self.shape) == 2 and min(self.shape) >= 2, "shape", self.shape)
        _check(5.0 <= self.incidence_center <= 60.0, "incidence_center", self.incidence_center)
        _check(self.orbit_direction in ("ASCENDING", "DESCENDING"), "orbit_direction", self.orbit_direction)
        _check(self.look_side in ("right", "left"), "look_side", self.look_side)
        _check(self.polarization in _POLARIZATIONS, "polarization", self.polarization)
        _check(abs(self.center_lat) <= 80.0, "center_lat", self.center_lat)
        _check(-180.0 <= self.center_lon <= 180.0, "center_lon", self.center_lon)
        _check(self.slc_dtype in ("int16", "float32"), "slc_dtype", self.slc_dtype)
        _check(2.0 <= float(self.spec_version) < 3.0, "spec_version", self.spec_version)
        _check(self.pixel_spacing is None or self.pixel_spacing > 0, "pixel_spacing", self.pixel_spacing)


def _check(ok: bool, name: str, value: object) -> None:
    if not ok:
        raise ValueError(f"ProductSpec.{name}: unsupported value {value!r}")


@dataclass(frozen=True)
class GeneratedProduct:
    """Paths and metadata of one written product.

    Attributes
    ----------
    spec
        The spec it was generated from.
    name
        Product name (file stem), e.g. ``ICEYE_X7_GRD_SM_154171_20211027T183203``.
    raster
        The ``.tif`` (GRD) or ``.h5`` (SLC).
    xml, quicklook
        The sidecar files, when written.
    fields
        The metadata fields the files were written from (read-only mapping).
    """

    spec: ProductSpec
    name: str
    raster: Path
    xml: Path | None
    quicklook: Path | None
    fields: Mapping[str, Any]


def _stamp(spec: ProductSpec) -> str:
    return f"{naive_utc(spec.acquisition_start):%Y%m%dT%H%M%S}"


def product_name(spec: ProductSpec) -> str:
    """Return the legacy product name, e.g. ``ICEYE_X7_GRD_SM_154171_20211027T183203``.

    Parameters
    ----------
    spec
        The product.

    Returns
    -------
    str
        ``ICEYE_<sat>_<level>_<mode>_<id>_<start to the second>``.
    """
    sat = f"X{satellite_number(spec.satellite)}"
    return f"ICEYE_{sat}_{spec.level}_{spec.mode}_{spec.image_id}_{_stamp(spec)}"


def package_name(spec: ProductSpec) -> str:
    """Return the delivery folder name shared by a data take's products, ``ICEYE_X7_SM_154171_<ts>``."""
    return f"ICEYE_X{satellite_number(spec.satellite)}_{spec.mode}_{spec.image_id}_{_stamp(spec)}"


def _quicklook_name(spec: ProductSpec) -> str:
    return f"ICEYE_X{satellite_number(spec.satellite)}_QUICKLOOK_{spec.mode}_{spec.image_id}_{_stamp(spec)}"


def metadata_fields(spec: ProductSpec) -> dict[str, Any]:
    """Return every metadata field of ``spec`` under its canonical ICEYE name.

    Parameters
    ----------
    spec
        The product.

    Returns
    -------
    dict
        Lowercase XML/HDF5 names (``acquisition_start_utc``, ``posX``, ``dc_estimate_coeffs``,
        ``coord_first_near``, ``grsr_coefficients``...) with the dtypes of real SLC HDF5 files:
        ``str`` for vlen strings, ``S26`` ``(N, 1)`` time vectors, ``int64`` counts, ``float32``
        ``avg_scene_height``; ``reference_pixel_time`` (XML only) and ``rpc`` (a dict of the RPC00B
        offsets, scales and 20-term coefficient arrays, 0-based line/sample) are included.
    """
    return plan_product(spec, product_name(spec)).fields


def write_xml(spec: ProductSpec, path: str | Path, fields: Mapping[str, Any] | None = None) -> Path:
    """Write the GRD or SLC XML sidecar of ``spec`` to ``path``.

    Parameters
    ----------
    spec
        The product; its level selects the GRD or SLC element set.
    path
        The ``.xml`` file to write.
    fields
        Fields to serialise; computed with :func:`metadata_fields` when omitted.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    out = Path(path)
    data = fields if fields is not None else metadata_fields(spec)
    text = render_xml(data, spec.level, spec.spec_version, spec.processor_version)
    with out.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    return out


def _finish(
    spec: ProductSpec, plan: ProductPlan, folder: Path, raster: Path, amplitude: Callable[[], NDArray[Any]]
) -> GeneratedProduct:
    """Write the optional sidecars (XML, quicklook) next to ``raster`` and describe the product."""
    name = raster.stem
    xml = write_xml(spec, folder / f"{name}.xml", plan.fields) if spec.xml else None
    preview = None
    if spec.quicklook:
        preview = folder / f"{_quicklook_name(spec)}.png"
        write_png(preview, quicklook(amplitude()))
    return GeneratedProduct(spec, name, raster, xml, preview, MappingProxyType(plan.fields))


def _require(spec: ProductSpec, level: str) -> None:
    if spec.level != level:
        raise ValueError(f"expected a {level} spec, got level={spec.level!r}")


def write_grd(spec: ProductSpec, folder: str | Path) -> GeneratedProduct:
    """Write a GRD GeoTIFF (+ XML and quicklook if asked) into ``folder``.

    Parameters
    ----------
    spec
        A spec with ``level="GRD"``.
    folder
        Output folder, created if needed.

    Returns
    -------
    GeneratedProduct
        Paths and fields of the product.
    """
    _require(spec, "GRD")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    name = product_name(spec)
    plan = plan_product(spec, name)
    pixels = grd_amplitude(plan, spec.seed)
    raster = out / f"{name}.tif"
    tags = geotiff_tags(plan.fields, spec.spec_version, spec.processor_version)
    write_geotiff(raster, pixels, plan, tags, spec.tiled)
    return _finish(spec, plan, out, raster, lambda: pixels)


def write_slc(spec: ProductSpec, folder: str | Path) -> GeneratedProduct:
    """Write an SLC HDF5 (+ XML and quicklook if asked) into ``folder``.

    Parameters
    ----------
    spec
        A spec with ``level="SLC"``.
    folder
        Output folder, created if needed.

    Returns
    -------
    GeneratedProduct
        Paths and fields of the product.
    """
    _require(spec, "SLC")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    name = product_name(spec)
    plan = plan_product(spec, name)
    samples = slc_samples(plan, spec.seed, spec.slc_dtype)
    raster = out / f"{name}.h5"
    write_hdf5(raster, samples, plan.fields, spec.hdf5_chunks)
    i, q = samples
    return _finish(spec, plan, out, raster, lambda: np.hypot(i.astype(np.float32), q.astype(np.float32)))


def write_product(spec: ProductSpec, folder: str | Path) -> GeneratedProduct:
    """Write the product of ``spec`` into ``folder``, dispatching on ``spec.level``.

    Parameters
    ----------
    spec
        The product.
    folder
        Output folder, created if needed.

    Returns
    -------
    GeneratedProduct
        Paths and fields of the product.
    """
    return write_grd(spec, folder) if spec.level == "GRD" else write_slc(spec, folder)


def write_stack(specs: Iterable[ProductSpec], folder: str | Path) -> list[GeneratedProduct]:
    """Write several products, each into ``folder/<package_name(spec)>`` like an ICEYE delivery.

    Parameters
    ----------
    specs
        The products; GRD and SLC of one data take share a sub-folder.
    folder
        Root output folder.

    Returns
    -------
    list of GeneratedProduct
        In the order of ``specs``.
    """
    root = Path(folder)
    return [write_product(spec, root / package_name(spec)) for spec in specs]


def demo_specs(
    n_grd: int = 6,
    n_slc: int = 4,
    *,
    shape: tuple[int, int] = (256, 256),
    start: datetime = datetime(2024, 3, 1, 3, 41, 27, 518306),
    seed: int = 0,
) -> list[ProductSpec]:
    """Return a realistic time series of stripmap products over one area.

    Acquisitions come every 2-5 days, alternate descending (at ``start``'s time of day) and
    ascending (about 12 h later) passes, vary incidence between 18 and 35 deg, look right and
    sometimes left, rotate over three satellites and interleave SLCs (int16 and float32) among GRDs.

    Parameters
    ----------
    n_grd, n_slc
        Numbers of GRD and SLC products.
    shape
        Raster shape of every product.
    start
        First acquisition (naive UTC).
    seed
        Seed of all choices; product seeds are derived from it.

    Returns
    -------
    list of ProductSpec
        Sorted by acquisition time, with increasing image ids.
    """
    rng = np.random.default_rng([seed, 99])
    total = n_grd + n_slc
    satellites = ("ICEYE-X7", "ICEYE-X14", "ICEYE-X24")
    base = ProductSpec(shape=shape, quicklook=True, center_lat=16.32, center_lon=102.61)
    specs, day, image_id, n_slc_done = [], start, 3_400_000 + int(rng.integers(0, 50_000)), 0
    step = max(1, min(40_000, (9_999_999 - image_id) // max(total, 1)))  # ids keep ICEYE's 7 digits
    for k in range(total):
        is_slc = (k + 1) * n_slc // max(total, 1) > k * n_slc // max(total, 1)
        ascending = k % 2 == 1
        when = day + timedelta(hours=12.0 * ascending, seconds=int(rng.integers(-1200, 1200)))
        when += timedelta(microseconds=int(rng.integers(0, 1_000_000)))
        specs.append(
            replace(
                base,
                level="SLC" if is_slc else "GRD",
                image_id=image_id,
                satellite=satellites[k % len(satellites)],
                acquisition_start=when,
                incidence_center=round(float(rng.uniform(18.0, 35.0)), 2),
                orbit_direction="ASCENDING" if ascending else "DESCENDING",
                look_side="left" if k % 3 == 2 else "right",
                center_lat=round(16.32 + float(rng.uniform(-0.0015, 0.0015)), 5),
                center_lon=round(102.61 + float(rng.uniform(-0.0015, 0.0015)), 5),
                slc_dtype="float32" if is_slc and n_slc_done % 2 else "int16",
                seed=seed * 1000 + k,
            )
        )
        n_slc_done += int(is_slc)
        day += timedelta(days=int(rng.integers(2, 6)))
        image_id += int(rng.integers(min(2_000, step), step + 1))
    return specs
