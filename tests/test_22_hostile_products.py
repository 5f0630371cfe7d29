"""Hostile product files: what GDAL and HDF5 would follow or allocate is refused with a clear error.

A ``.tif`` that is really a VRT (local file disclosure, request forgery), PAM ``.aux.xml`` side files,
HDF5 external storage / links / virtual datasets, wrong sample types, declared sizes far beyond any
ICEYE product, byte-flipped containers: each is a :class:`MetadataError` naming the file (and field).
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import rasterio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icecube_stac.catalog import index
from icecube_stac.errors import IcecubeStacError, MetadataError
from icecube_stac.formats.geotiff import GEOTIFF_READER, read_geotiff_metadata
from icecube_stac.formats.hdf5 import HDF5_READER, read_hdf5_metadata
from icecube_stac.stac import item_from_product
from icecube_stac.testing import GeneratedProduct, ProductSpec, write_product


def _copy(product: GeneratedProduct, folder: Path, *, with_xml: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    raster = Path(shutil.copy2(product.raster, folder / product.raster.name))
    if with_xml and product.xml is not None:
        shutil.copy2(product.xml, folder / product.xml.name)
    return raster


# --------------------------------------------------------------------------------------------------------
# GeoTIFF: GTiff driver only, no PAM side files
# --------------------------------------------------------------------------------------------------------


def _vrt_on(target: Path, path: Path) -> None:
    path.write_text(
        f"""<VRTDataset rasterXSize="8" rasterYSize="4">
  <Metadata><MDI key="PRODUCT_NAME">ICEYE_X7_GRD_SM_1_20240101T000000</MDI><MDI key="PRODUCT_LEVEL">GRD</MDI></Metadata>
  <VRTRasterBand dataType="UInt16" band="1" subClass="VRTRawRasterBand">
    <SourceFilename relativetoVRT="0">{target}</SourceFilename>
    <ImageOffset>0</ImageOffset><PixelOffset>2</PixelOffset><LineOffset>16</LineOffset>
  </VRTRasterBand>
</VRTDataset>
"""
    )


def test_a_vrt_disguised_as_a_tif_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"root:x:0:0:root:/root:/bin/bash\n" * 4)
    fake = tmp_path / "ICEYE_X7_GRD_SM_1_20240101T000000.tif"
    _vrt_on(secret, fake)
    with rasterio.open(fake) as src:  # plain GDAL would read the secret through the VRT
        assert src.read(1).tobytes()[:4] == b"root"
    with pytest.raises(MetadataError, match="unreadable GeoTIFF") as err:
        read_geotiff_metadata(fake)
    assert str(fake) in str(err.value)
    with pytest.raises(MetadataError, match="unreadable GeoTIFF"):
        GEOTIFF_READER.open(str(fake))


def test_a_pam_side_file_cannot_override_tags(grd: GeneratedProduct, tmp_path: Path) -> None:
    raster = _copy(grd, tmp_path / "pam")
    Path(f"{raster}.aux.xml").write_text(
        '<PAMDataset><Metadata><MDI key="PRODUCT_NAME">ICEYE_X1_GRD_SM_666_20000101T000000</MDI></Metadata>'
        "</PAMDataset>"
    )
    assert read_geotiff_metadata(raster).product_name == grd.name


@pytest.mark.parametrize(("dtype", "count"), [("float32", 1), ("uint32", 1), ("int8", 1), ("uint16", 3)])
def test_grd_rasters_of_another_type_are_refused(grd: GeneratedProduct, tmp_path: Path, dtype: str, count: int) -> None:
    raster = tmp_path / grd.raster.name
    with rasterio.open(grd.raster) as src:
        tags = src.tags()
        profile = {**src.profile, "dtype": dtype, "count": count}
        data = src.read(1)
    with rasterio.open(raster, "w", **profile) as dst:
        dst.update_tags(**tags)
        for band in range(1, count + 1):
            dst.write(data.astype(dtype), band)
    with pytest.raises(MetadataError, match=r"band|uint16") as err:
        read_geotiff_metadata(raster)
    assert str(raster) in str(err.value)
    with pytest.raises(MetadataError):
        GEOTIFF_READER.open(str(raster))


def test_a_png_or_hdf5_renamed_tif_is_refused(grd: GeneratedProduct, slc: GeneratedProduct, tmp_path: Path) -> None:
    png = tmp_path / "ICEYE_X7_GRD_SM_1_20240101T000000.tif"
    with rasterio.open(png, "w", driver="PNG", width=4, height=4, count=1, dtype="uint16") as dst:
        dst.write(np.ones((1, 4, 4), dtype=np.uint16))
    h5 = tmp_path / "ICEYE_X7_GRD_SM_2_20240101T000000.tif"
    shutil.copy2(slc.raster, h5)
    for path in (png, h5):
        with pytest.raises(MetadataError, match="unreadable GeoTIFF"):
            read_geotiff_metadata(path)


# --------------------------------------------------------------------------------------------------------
# HDF5: samples and metadata must live in the file, have ICEYE's types and plausible sizes
# --------------------------------------------------------------------------------------------------------


def _edit(slc: GeneratedProduct, folder: Path, name: str = "s_i") -> Path:
    raster = _copy(slc, folder)
    with h5py.File(raster, "r+") as h5:
        del h5[name]
    return raster


def _refused(raster: Path, match: str) -> None:
    with pytest.raises(MetadataError, match=match) as err:
        read_hdf5_metadata(raster)
    assert str(raster) in str(err.value)
    with pytest.raises(MetadataError, match=match):
        HDF5_READER.open(str(raster))


def test_external_storage_is_refused(slc: GeneratedProduct, tmp_path: Path) -> None:
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"x" * 4096)
    raster = _edit(slc, tmp_path / "ext")
    with h5py.File(raster, "r+") as h5:
        h5.create_dataset("s_i", shape=(32, 32), dtype="<i2", external=[(str(secret), 0, 2048)])
    _refused(raster, "external storage")


@pytest.mark.parametrize("kind", ["external", "soft"])
def test_links_are_refused(slc: GeneratedProduct, tmp_path: Path, kind: str) -> None:
    other = _copy(slc, tmp_path / "other")
    raster = _edit(slc, tmp_path / kind)
    with h5py.File(raster, "r+") as h5:
        h5["s_i"] = h5py.ExternalLink(str(other), "/s_i") if kind == "external" else h5py.SoftLink("/s_q")
    _refused(raster, "Link; links to other objects or files are refused")


def test_a_metadata_link_is_refused(slc: GeneratedProduct, tmp_path: Path) -> None:
    raster = _edit(slc, tmp_path / "meta", name="product_name")
    with h5py.File(raster, "r+") as h5:
        h5["product_name"] = h5py.ExternalLink("/etc/passwd", "/x")
    with pytest.raises(MetadataError, match="product_name"):
        read_hdf5_metadata(raster)


def test_a_virtual_dataset_is_refused(slc: GeneratedProduct, tmp_path: Path) -> None:
    other = _copy(slc, tmp_path / "src")
    raster = _edit(slc, tmp_path / "vds")
    with h5py.File(other, "r") as h5:
        shape, dtype = h5["s_q"].shape, h5["s_q"].dtype
    layout = h5py.VirtualLayout(shape=shape, dtype=dtype)
    layout[:] = h5py.VirtualSource(str(other), "s_q", shape=shape)
    with h5py.File(raster, "r+") as h5:
        h5.create_virtual_dataset("s_i", layout)
    _refused(raster, "virtual dataset")


@pytest.mark.parametrize("dtype", ["u1", "bool", "<i8", "<f8", "<f2", "S4"])
def test_samples_of_another_type_are_refused(slc: GeneratedProduct, tmp_path: Path, dtype: str) -> None:
    raster = _edit(slc, tmp_path / dtype.strip("<"))
    with h5py.File(raster, "r+") as h5:
        h5.create_dataset("s_i", data=np.zeros(h5["s_q"].shape, dtype=dtype))
    _refused(raster, "int16 or float32")


def test_samples_as_a_group_or_1d_are_refused(slc: GeneratedProduct, tmp_path: Path) -> None:
    group = _edit(slc, tmp_path / "group")
    with h5py.File(group, "r+") as h5:
        h5.create_group("s_i")
    _refused(group, "not a dataset")
    flat = _edit(slc, tmp_path / "flat")
    with h5py.File(flat, "r+") as h5:
        h5.create_dataset("s_i", data=np.zeros(10, dtype="<i2"))
    _refused(flat, "expected")


def test_a_declared_size_far_beyond_any_product_is_refused_before_reading(
    slc: GeneratedProduct, tmp_path: Path
) -> None:
    raster = _edit(slc, tmp_path / "huge")
    with h5py.File(raster, "r+") as h5:
        del h5["s_q"]
        for name in ("s_i", "s_q"):  # chunked and never written: the file stays tiny
            h5.create_dataset(name, shape=(10**9, 10**9), dtype="<i2", chunks=(64, 64))
    assert raster.stat().st_size < 10**6
    _refused(raster, "declares 1000000000 x 1000000000 samples")


def test_an_rpc_declaring_a_billion_coefficients_is_refused(slc: GeneratedProduct, tmp_path: Path) -> None:
    raster = _copy(slc, tmp_path / "rpc")
    with h5py.File(raster, "r+") as h5:
        del h5["RPC/LINE_NUM_COEFF"]
        h5["RPC"].create_dataset("LINE_NUM_COEFF", shape=(10**9,), dtype="<f4", chunks=(1024,))
    with pytest.raises(MetadataError, match="an RPC holds at most 20"):
        read_hdf5_metadata(raster)


# --------------------------------------------------------------------------------------------------------
# Byte-flipped containers (fuzz): only IcecubeStacError, never a crash of another type
# --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_products(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("fuzz-seeds")
    grd = write_product(ProductSpec(level="GRD", image_id=410001, shape=(16, 12), seed=3), folder / "g")
    slc = write_product(ProductSpec(level="SLC", image_id=410002, shape=(16, 12), seed=4), folder / "s")
    return {"tif": grd.raster.read_bytes(), "h5": slc.raster.read_bytes()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    suffix=st.sampled_from(["tif", "h5"]),
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.one_of(st.none(), st.floats(0.05, 1.0)),
)
def test_flipped_bytes_give_only_package_errors(
    small_products: dict[str, bytes],
    tmp_path_factory: pytest.TempPathFactory,
    suffix: str,
    flips: list[tuple[float, int]],
    cut: float | None,
) -> None:
    data = bytearray(small_products[suffix])
    for where, value in flips:
        data[int(where * len(data))] = value
    if cut is not None:
        data = data[: max(1, int(cut * len(data)))]
    path = (
        tmp_path_factory.mktemp("fuzz")
        / f"ICEYE_X7_{'GRD' if suffix == 'tif' else 'SLC'}_SM_9_20240101T000000.{suffix}"
    )
    path.write_bytes(bytes(data))
    reader = GEOTIFF_READER if suffix == "tif" else HDF5_READER
    for attempt in (lambda: item_from_product(path), lambda: reader.open(str(path)).close()):
        with contextlib.suppress(IcecubeStacError):
            attempt()


def test_an_index_run_reports_hostile_products_and_keeps_the_good_ones(
    grd: GeneratedProduct, slc: GeneratedProduct, tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    good = _copy(grd, folder / "good", with_xml=True)
    bad = _edit(slc, folder / "bad")
    with h5py.File(bad, "r+") as h5:
        h5["s_i"] = h5py.SoftLink("/s_q")
    report = index([folder], tmp_path / "catalog")
    assert [Path(f.path).name for f in report.failures] == [bad.name]
    assert len(report.added) == 1 and good.stem in report.added[0]
