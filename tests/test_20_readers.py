"""Stage 20: the three container readers agree on generated products; bad containers fail clearly."""

from __future__ import annotations

import dataclasses
import math
import shutil
import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import rasterio

from icecube_stac.errors import MetadataError, UnsupportedProductError
from icecube_stac.formats import SidecarFallbackWarning, find_product_files, read_embedded_metadata, read_metadata
from icecube_stac.formats.geotiff import read_geotiff_metadata
from icecube_stac.formats.hdf5 import read_hdf5_metadata, read_slc_window
from icecube_stac.formats.xml import read_xml_metadata
from icecube_stac.metadata import IceyeMetadata, LookSide, OrbitDirection, ProductLevel, SourceFormat
from icecube_stac.testing import GeneratedProduct

# Fields whose value depends on the container by design.
_CONTAINER_FIELDS = {"source", "source_format", "extra"}

# Fields a container does not carry at all, so its reader leaves them empty while another container of the
# same product has a value, with the reason from ../shared/reference/iceye_formats.md. A field missing on one
# side only and not listed here is a disagreement (a reader that drops a value it could read).
_ABSENT_FROM: dict[SourceFormat, dict[str, str]] = {
    "geotiff": {
        "first_pixel_time": "the GeoTIFF has no FIRST_PIXEL_TIME tag (§4.2; GEOTIF column 'n' of the 2.3 sheet)",
    },
    # Every field of the model is an SLC HDF5 dataset (§3), and the GRD-only ones (GRSR and incidence
    # polynomials, ground spacings) are absent from the SLC XML as well (§2.5), so both sides are empty.
    "hdf5": {},
    # The reference container: full precision, every block (§2.2-2.4).
    "xml": {},
}


def _close(a: Any, b: Any, rel: float) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_close(x, y, rel) for x, y in zip(a, b, strict=True))
    if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
        return all(_close(getattr(a, f.name), getattr(b, f.name), rel) for f in dataclasses.fields(a))
    return bool(a == b)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | tuple) and len(value) == 0)


def _disagreements(a: IceyeMetadata, b: IceyeMetadata, rel: float) -> list[str]:
    out = []
    for f in dataclasses.fields(IceyeMetadata):
        if f.name in _CONTAINER_FIELDS:
            continue
        va, vb = getattr(a, f.name), getattr(b, f.name)
        if _empty(va) and _empty(vb):
            continue  # neither container carries it (e.g. the GRSR polynomial of an SLC)
        if _empty(va) or _empty(vb):
            (missing, _), (present, value) = sorted([(a, va), (b, vb)], key=lambda side: not _empty(side[1]))
            if f.name not in _ABSENT_FROM[missing.source_format]:
                out.append(
                    f"{f.name}: {str(value)[:60]} from {present.source_format}, nothing from {missing.source_format}"
                )
            continue
        if not _close(va, vb, rel):
            out.append(f"{f.name}: {str(va)[:60]} != {str(vb)[:60]}")
    return out


def _stale_allowances(meta: IceyeMetadata) -> list[str]:
    """Fields allowed to be absent from ``meta``'s container that it does carry (the allow-list is out of date)."""
    return [name for name in _ABSENT_FROM[meta.source_format] if not _empty(getattr(meta, name))]


def test_disagreements_include_a_value_missing_on_one_side(grd: GeneratedProduct) -> None:
    assert grd.xml is not None
    meta = read_xml_metadata(grd.xml)
    assert _disagreements(meta, meta, rel=0) == []
    no_heading = dataclasses.replace(meta, heading=None, dc_estimate_times=(), polarization="")
    expected = [
        f"polarization: {meta.polarization} from xml, nothing from xml",
        f"heading: {meta.heading} from xml, nothing from xml",
        f"dc_estimate_times: {str(meta.dc_estimate_times)[:60]} from xml, nothing from xml",
    ]
    assert _disagreements(meta, no_heading, rel=0) == expected
    assert _disagreements(no_heading, meta, rel=0) == expected
    # Allowed only for the container that lacks the field, and only that field.
    from_tif = dataclasses.replace(meta, source_format="geotiff", first_pixel_time=None)
    assert _disagreements(meta, from_tif, rel=0) == []
    assert _disagreements(from_tif, meta, rel=0) == []
    from_h5 = dataclasses.replace(meta, source_format="hdf5", first_pixel_time=None)
    assert _disagreements(meta, from_h5, rel=0) == [
        f"first_pixel_time: {meta.first_pixel_time} from xml, nothing from hdf5"
    ]


def test_grd__xml_and_geotiff_agree(grd: GeneratedProduct) -> None:
    assert grd.xml is not None
    from_xml, from_tif = read_xml_metadata(grd.xml), read_geotiff_metadata(grd.raster)
    # GeoTIFF vectors keep numpy's default 8 decimals; XML keeps full repr precision.
    assert _disagreements(from_xml, from_tif, rel=1e-7) == []
    assert _stale_allowances(from_tif) == []
    assert from_tif.product_level is ProductLevel.GRD
    assert from_tif.rpc is not None and from_xml.rpc is not None


def test_slc__xml_and_hdf5_agree(slc: GeneratedProduct) -> None:
    assert slc.xml is not None
    from_xml, from_h5 = read_xml_metadata(slc.xml), read_hdf5_metadata(slc.raster)
    # The HDF5 RPC group is float32 (as in real files); XML RPC arrays keep 9 significant digits.
    assert (
        _disagreements(dataclasses.replace(from_xml, rpc=None), dataclasses.replace(from_h5, rpc=None), rel=1e-12) == []
    )
    assert from_xml.rpc is not None and from_h5.rpc is not None
    assert _close(from_xml.rpc, from_h5.rpc, rel=1e-6)
    assert from_h5.look_side is LookSide.LEFT and from_h5.orbit_direction is OrbitDirection.ASCENDING
    assert from_h5.processor_version == from_xml.processor_version  # float64 1.43 vs "ICEYE_P_1.43"
    assert from_h5.extra["data_type"] == "int16"


def test_generated_values_reach_the_model(grd: GeneratedProduct) -> None:
    meta = read_metadata(grd.raster)
    fields = grd.fields
    assert meta.source_format == "xml"  # the sidecar is preferred
    assert meta.product_name == grd.name
    assert meta.shape == tuple(grd.spec.shape)
    assert meta.incidence_center == pytest.approx(float(fields["incidence_center"]))
    assert meta.calibration_factor == pytest.approx(float(fields["calibration_factor"]))


def test_sidecar_discovery(grd: GeneratedProduct) -> None:
    files = find_product_files(grd.raster)
    assert files.xml == grd.xml and files.quicklook == grd.quicklook
    assert find_product_files(grd.xml).raster == grd.raster  # type: ignore[arg-type]


def test_product_without_xml_indexes_from_embedded(tmp_path: Path, slc: GeneratedProduct) -> None:
    lone = tmp_path / slc.raster.name
    shutil.copy(slc.raster, lone)
    meta = read_metadata(lone)
    assert meta.source_format == "hdf5"
    assert meta.product_name == slc.name


def test_broken_sidecar_falls_back_with_warning(tmp_path: Path, grd: GeneratedProduct) -> None:
    raster = tmp_path / grd.raster.name
    shutil.copy(grd.raster, raster)
    raster.with_suffix(".xml").write_text("<Metadata><product_name>")
    with pytest.warns(SidecarFallbackWarning, match="malformed XML"):
        meta = read_metadata(raster)
    assert meta.source_format == "geotiff"


def test_truncated_hdf5(tmp_path: Path, slc: GeneratedProduct) -> None:
    broken = tmp_path / "ICEYE_X9_SLC_SM_1_20240101T000000.h5"
    broken.write_bytes(slc.raster.read_bytes()[:2000])
    with pytest.raises(MetadataError, match="unreadable HDF5") as err:
        read_embedded_metadata(broken)
    assert str(broken) in str(err.value)


def test_tiff_without_iceye_tags(tmp_path: Path) -> None:
    path = tmp_path / "plain.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with rasterio.open(path, "w", driver="GTiff", width=4, height=3, count=1, dtype="uint16") as dst:
            dst.write(np.ones((1, 3, 4), dtype="uint16"))
    with pytest.raises(UnsupportedProductError, match="no ICEYE metadata tags"):
        read_metadata(path)


def test_slc_window_is_complex64_of_i_and_q(slc: GeneratedProduct) -> None:
    window = read_slc_window(slc.raster, slice(3, 9), slice(2, 7))
    with h5py.File(slc.raster) as h5:
        expected = h5["s_i"][3:9, 2:7].astype(np.float32) + 1j * h5["s_q"][3:9, 2:7].astype(np.float32)
    assert window.dtype == np.complex64
    np.testing.assert_array_equal(window, expected.astype(np.complex64))


def test_hdf5_shape_mismatch_is_reported(tmp_path: Path, slc: GeneratedProduct) -> None:
    path = tmp_path / slc.raster.name
    shutil.copy(slc.raster, path)
    with h5py.File(path, "r+") as h5:
        del h5["number_of_range_samples"]
        h5["number_of_range_samples"] = np.int64(9999)
    with pytest.raises(MetadataError, match="declares"):
        read_hdf5_metadata(path)


def test_slc_window_float32_samples(tmp_path: Path) -> None:
    from icecube_stac.testing import ProductSpec, write_product

    product = write_product(ProductSpec(level="SLC", slc_dtype="float32", seed=5), tmp_path)
    window = read_slc_window(product.raster, slice(0, 4), slice(1, 6))
    with h5py.File(product.raster) as h5:
        assert h5["s_i"].dtype == np.float32
        expected = h5["s_i"][0:4, 1:6] + 1j * h5["s_q"][0:4, 1:6]
    np.testing.assert_array_equal(window, expected.astype(np.complex64))
