"""Hostile metadata values: each one a MetadataError naming the file, the field, the value and what is allowed.

Regressions of a fuzz campaign over 7,000 mutated products: a bogus XML encoding, Unicode digits, integers
beyond int64 (which aborted whole index runs in items.parquet), corners that crashed GEOS, element floods,
giant vectors and FIFOs (memory blow-ups and hangs), HDF5 groups, null dataspaces and infinite sample
counts, and data types outside what ICEYE writes.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import signal
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import h5py
import numpy as np
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st

from icecube_stac._field_numbers import MAX_VECTOR_VALUES
from icecube_stac._fields import MAX_TEXT_CHARS, as_int, as_vector
from icecube_stac.catalog import index, read_items
from icecube_stac.errors import IcecubeStacError, MetadataError
from icecube_stac.formats import SidecarFallbackWarning, _isolated, read_metadata
from icecube_stac.formats._isolated import isolated
from icecube_stac.formats.geotiff import GEOTIFF_READER
from icecube_stac.formats.hdf5 import HDF5_READER, read_hdf5_fields, read_hdf5_metadata
from icecube_stac.formats.xml import MAX_XML_BYTES, MAX_XML_ELEMENTS, read_xml_fields, read_xml_metadata
from icecube_stac.metadata import MAX_SIDE
from icecube_stac.stac import create_item, item_from_product, validate
from icecube_stac.testing import GeneratedProduct, ProductSpec, write_product
from tests._reference import REAL_XML

SHAPE = (16, 12)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GeneratedProduct]:
    folder = tmp_path_factory.mktemp("tiny")
    return {
        "grd": write_product(ProductSpec(level="GRD", image_id=230001, shape=SHAPE, seed=5), folder / "grd"),
        "slc": write_product(ProductSpec(level="SLC", image_id=230002, shape=SHAPE, seed=6), folder / "slc"),
        "slc32": write_product(
            ProductSpec(level="SLC", image_id=230003, shape=SHAPE, seed=7, slc_dtype="float32"), folder / "slc32"
        ),
    }


def _set(text: str, tag: str, value: str) -> str:
    new, count = re.subn(f"<{tag}>[^<]*</{tag}>", lambda _: f"<{tag}>{value}</{tag}>", text, count=1)
    assert count == 1, tag
    return new


def _real_product(tiny: dict[str, GeneratedProduct], folder: Path, **changes: str) -> Path:
    """The real ICEYE XML (sample counts fitted to a tiny raster) beside a GRD raster, with fields changed."""
    folder.mkdir(parents=True, exist_ok=True)
    text = _set(_set(REAL_XML.read_text(), "number_of_azimuth_samples", "16"), "number_of_range_samples", "12")
    for tag, value in changes.items():
        text = _set(text, tag, value)
    xml = folder / "ICEYE_X7_GRD_SM_154171_20211027T183203.xml"
    xml.write_text(text, encoding="utf-8")
    shutil.copy2(tiny["grd"].raster, xml.with_suffix(".tif"))
    return xml


def _tag(raster: Path, tag: str, value: str) -> None:
    with rasterio.open(raster, "r+") as dst:
        dst.update_tags(**{tag.upper(): value})


def _refused(path: Path, field: str | None, *fragments: str) -> MetadataError:
    with pytest.raises(MetadataError) as err:
        if path.suffix != ".xml":
            read_metadata(path)
        else:  # read_metadata would fall back to the raster's embedded metadata, with a warning
            (read_xml_fields if field is None else read_xml_metadata)(path)
    message = str(err.value)
    assert str(path) in message
    if field is not None:
        assert err.value.field == field, message
    for fragment in fragments:
        assert fragment in message, message
    return err.value


@pytest.fixture
def alarm() -> Iterator[None]:
    """Fail instead of hanging: the reads below must finish within seconds."""

    def timeout(*_: object) -> None:
        raise TimeoutError("took more than 20 s")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------------------------------------
# XML documents: encodings, sizes, floods, duplicates, FIFOs
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["x-bogus-42", "shift_jis", "utf-16"])
def test_a_bogus_or_unsupported_encoding_is_a_metadata_error(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "x.xml"
    path.write_text(REAL_XML.read_text().replace('encoding="UTF-8"', f'encoding="{encoding}"'))
    _refused(path, None, "malformed XML")


def test_an_xml_larger_than_the_bound_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    with path.open("wb") as out:
        out.write(b"<Metadata>")
        out.truncate(MAX_XML_BYTES + 10)  # sparse: nothing is allocated to write it
    _refused(path, None, "larger than 16 MiB")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [("<e>1</e>" * (MAX_XML_ELEMENTS + 1), "elements"), ("<d>" * 50_000, "deep")],
    ids=["flood", "deep"],
)
def test_element_floods_and_deep_nesting_are_refused(tmp_path: Path, body: str, fragment: str, alarm: None) -> None:
    path = tmp_path / "flood.xml"
    path.write_text(f"<Metadata>{body}</Metadata>")
    _refused(path, None, fragment)


def test_a_fifo_named_like_a_sidecar_is_refused_without_blocking(tmp_path: Path, alarm: None) -> None:
    fifo = tmp_path / "ICEYE_X7_GRD_SM_1_20240101T000000.xml"
    os.mkfifo(fifo)
    _refused(fifo, None, "not a regular file")


@pytest.mark.parametrize("suffix", [".tif", ".h5"])
def test_a_fifo_or_device_named_like_a_raster_is_refused_without_blocking(
    tmp_path: Path, suffix: str, alarm: None
) -> None:
    fifo = tmp_path / f"ICEYE_X7_GRD_SM_1_20240101T000000{suffix}"
    os.mkfifo(fifo)  # GDAL and HDF5 would wait for a writer forever
    device = tmp_path / f"ICEYE_X7_GRD_SM_2_20240101T000000{suffix}"
    device.symlink_to("/dev/zero")
    reader = GEOTIFF_READER if suffix == ".tif" else HDF5_READER
    for path in (fifo, device):
        for read in (read_metadata, lambda p: reader.open(str(p))):
            with pytest.raises(MetadataError, match="not a regular file"):
                read(path)


@pytest.mark.parametrize("tag", ["product_name", "number_of_range_samples", "Doppler_Rate"])
def test_an_element_given_twice_is_refused(tmp_path: Path, tag: str) -> None:
    text = REAL_XML.read_text()
    start, end = text.index(f"<{tag}>"), text.index(f"</{tag}>") + len(tag) + 3
    path = tmp_path / "twice.xml"
    path.write_text(text[:end] + text[start:end] + text[end:])
    _refused(path, tag.lower(), "more than once")


def test_a_nested_element_in_a_scalar_is_a_bad_value(tiny: dict[str, GeneratedProduct], tmp_path: Path) -> None:
    xml = _real_product(tiny, tmp_path, heading="")
    xml.write_text(xml.read_text().replace("<heading></heading>", "<heading><x>191.1</x></heading>"))
    _refused(xml, "heading", "bad value")


@pytest.mark.parametrize("number", ["\u00b2", "9" * 5000], ids=["superscript", "5000-digits"])
def test_an_odd_coefficient_number_does_not_crash(tmp_path: Path, number: str) -> None:
    """'²'.isdigit() is true but int('²') fails; int() of over 4300 digits fails too (campaign case 2504)."""
    path = tmp_path / "x.xml"
    text = re.sub(r"(<coefficient>\s*<number>)1<", lambda m: f"{m[1]}{number}<", REAL_XML.read_text(), count=1)
    assert f"<number>{number}</number>" in text
    path.write_text(text)
    assert read_xml_fields(path)["dc_estimate_coeffs"][0][0] == "261.4087397692616"  # ordered by position


# --------------------------------------------------------------------------------------------------------
# Numbers: ASCII only, int64 and ICEYE ranges, finite
# --------------------------------------------------------------------------------------------------------

UNICODE_DIGITS = ["\u0662\u0666", "\uff11\uff16", "\u0967\u0966", "\u00b2", "1\u0666", "\U0001d7cf\U0001d7d4"]


@pytest.mark.parametrize("digits", UNICODE_DIGITS)
@pytest.mark.parametrize("tag", ["number_of_azimuth_samples", "heading", "orbit_absolute_number"])
def test_unicode_digits_are_not_iceye_numbers(
    tiny: dict[str, GeneratedProduct], tmp_path: Path, tag: str, digits: str
) -> None:
    xml = _real_product(tiny, tmp_path, **{tag: digits})
    _refused(xml, tag, "ASCII number", repr(digits).strip("'"))


@pytest.mark.parametrize("text", ["26_447", "0x10", "1e", "nan", "inf", "-Infinity", "1e309", " ", "1 2"])
def test_number_forms_python_would_accept_or_mangle_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        as_vector(text) if text == "1e309" else as_int(text)


@pytest.mark.parametrize(
    ("tag", "value", "fragment"),
    [
        ("orbit_absolute_number", "9223372036854775808", "int64"),
        ("orbit_absolute_number", "9223372036854775807", "[1, 9999999]"),
        ("orbit_absolute_number", "0", "[1, 9999999]"),
        ("azimuth_looks", "1e308", "int64"),
        ("range_looks", str(2**63), "int64"),
        ("range_looks", "1001", "[1, 1000]"),
        ("number_of_range_samples", str(MAX_SIDE + 1), f"[1, {MAX_SIDE}]"),
        ("number_of_azimuth_samples", "0", "[1, "),
        ("carrier_frequency", "0.0", "[8e+09, 1.2e+10]"),
        ("chirp_bandwidth", "0", "(0, 5e+09]"),
        ("avg_scene_height", "1e308", "[-12000, 12000]"),
        ("heading", "1e400", "finite"),
        ("polarization", "XX", "HH, VV, HV, VH"),
        ("acquisition_start_utc", "0001-01-01T00:00:00", "2000 to 2099"),
        ("acquisition_end_utc", "9999-12-31T23:59:59.999999", "2000 to 2099"),
        ("product_type", "x" * (MAX_TEXT_CHARS + 1), "longer than 256"),
        ("satellite_name", "ICEYE\u0085X7", "control"),
    ],
)
def test_values_beyond_what_iceye_writes_are_refused_with_what_is_allowed(
    tiny: dict[str, GeneratedProduct], tmp_path: Path, tag: str, value: str, fragment: str
) -> None:
    xml = _real_product(tiny, tmp_path, **{tag: value})
    _refused(xml, tag, fragment)


def test_a_vector_of_a_million_values_is_refused_before_it_is_split(
    tiny: dict[str, GeneratedProduct], tmp_path: Path
) -> None:
    xml = _real_product(tiny, tmp_path, coord_center="1.5 " * 10**6)
    tracemalloc.start()
    try:
        _refused(xml, "coord_center", f"at most {MAX_VECTOR_VALUES * 66}")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20  # a million str tokens would be ~60 MB more; a float64 copy of 10**8 0.8 GB


def test_an_index_run_with_int64_overflowing_values_keeps_every_good_product(
    tiny: dict[str, GeneratedProduct], tmp_path: Path
) -> None:
    """These values passed validation and aborted the whole run later, in items.parquet (int64 overflow)."""
    data = tmp_path / "data"
    hostile = [("orbit_absolute_number", "9223372036854775808"), ("azimuth_looks", "1e308"), ("range_looks", "2e19")]
    for n, (tag, value) in enumerate(hostile):
        folder = data / f"bad{n}"
        folder.mkdir(parents=True)
        raster = Path(shutil.copy2(tiny["grd"].raster, folder / f"ICEYE_X7_GRD_SM_9{n}_20211027T183203.tif"))
        _tag(raster, "product_name", raster.stem)
        _tag(raster, tag, value)  # raster-only: no sidecar to fall back from
    good = _real_product(tiny, data / "good")
    report = index([data], tmp_path / "catalog")
    assert report.added == [good.stem], report.summary()
    assert sorted(Path(f.path).parent.name for f in report.failures) == ["bad0", "bad1", "bad2"]
    assert all(
        tag in f.reason for f, (tag, _) in zip(sorted(report.failures, key=lambda f: f.path), hostile, strict=True)
    )
    assert [item.id for item in read_items(tmp_path / "catalog")] == [good.stem]


# --------------------------------------------------------------------------------------------------------
# Footprints: simple quadrilaterals only (GEOS TopologyException near the antimeridian)
# --------------------------------------------------------------------------------------------------------


def test_corners_that_crashed_geos_are_refused(tiny: dict[str, GeneratedProduct], tmp_path: Path) -> None:
    xml = _real_product(tiny, tmp_path, coord_first_far="1 1 16.6 -179.99")  # campaign case 273
    _refused(xml, "coord_first_near", "simple quadrilateral")


@pytest.mark.parametrize(
    "corners",
    [
        (
            "1 1 16.0 102.0",
            "1 1 16.0 103.0",
            "1 1 15.0 102.0",
            "1 1 15.0 103.0",
        ),  # last_near/last_far swapped: a bowtie
        ("1 1 16.0 102.0",) * 4,  # one point
        ("1 1 16.0 102.0", "1 1 16.0 103.0", "1 1 16.0 104.0", "1 1 16.0 105.0"),  # a line
    ],
    ids=["bowtie", "point", "line"],
)
def test_degenerate_or_self_intersecting_corners_are_refused(
    tiny: dict[str, GeneratedProduct], tmp_path: Path, corners: tuple[str, ...]
) -> None:
    names = ("coord_first_near", "coord_first_far", "coord_last_far", "coord_last_near")
    xml = _real_product(tiny, tmp_path, **dict(zip(names, corners, strict=True)))
    _refused(xml, "coord_first_near", "do not make a simple quadrilateral")


def test_a_footprint_across_the_antimeridian_gives_a_valid_item(
    tiny: dict[str, GeneratedProduct], tmp_path: Path
) -> None:
    corners = {
        "coord_first_near": "1 1 16.6 179.8",
        "coord_first_far": "12 1 16.7 -179.9",
        "coord_last_far": "12 16 16.1 -179.8",
        "coord_last_near": "1 16 16.0 179.9",
        "coord_center": "6 8 16.3 -179.99",
    }
    item = item_from_product(_real_product(tiny, tmp_path, **corners).with_suffix(".tif"))
    assert item.geometry is not None and item.geometry["type"] == "MultiPolygon"
    validate(item)


# --------------------------------------------------------------------------------------------------------
# HDF5 and GeoTIFF containers
# --------------------------------------------------------------------------------------------------------


def _slc_copy(tiny: dict[str, GeneratedProduct], folder: Path, kind: str = "slc") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy2(tiny[kind].raster, folder / tiny[kind].raster.name))


def _replace(raster: Path, name: str, **create: object) -> None:
    with h5py.File(raster, "r+") as h5:
        del h5[name]
        if create.pop("group", False):
            h5.create_group(name)
        else:
            h5.create_dataset(name, **create)


@pytest.mark.parametrize(
    ("name", "create", "field"),
    [
        ("product_name", {"group": True}, "product_name"),  # was AttributeError: 'Group' has no attribute 'dtype'
        ("number_of_azimuth_samples", {"data": np.inf}, "number_of_azimuth_samples"),  # was OverflowError
        ("number_of_range_samples", {"data": np.uint64(2**64 - 1)}, "number_of_range_samples"),
        ("orbit_absolute_number", {"data": np.int64(2**63 - 1)}, "orbit_absolute_number"),
        ("range_looks", {"data": np.float64(1e308)}, "range_looks"),
        ("spec_version", {"data": np.inf}, "spec_version"),
        ("heading", {"data": "\u0661\u0669\u0661".encode()}, "heading"),
    ],
)
def test_hostile_hdf5_datasets_are_metadata_errors(
    tiny: dict[str, GeneratedProduct], tmp_path: Path, name: str, create: dict[str, object], field: str
) -> None:
    raster = _slc_copy(tiny, tmp_path)
    _replace(raster, name, **create)
    with pytest.raises(MetadataError) as err:
        read_hdf5_metadata(raster)
    assert err.value.field == field and str(raster) in str(err.value)


@pytest.mark.parametrize("name", ["product_name", "RPC/LINE_OFF"])
def test_a_fixed_length_string_of_a_gigabyte_is_never_read(
    tiny: dict[str, GeneratedProduct], tmp_path: Path, name: str
) -> None:
    raster = _slc_copy(tiny, tmp_path)
    with h5py.File(raster, "r+") as h5:  # compressed and never written: the file stays small
        del h5[name]
        h5.create_dataset(name, shape=(1,), dtype=np.dtype("S1000000000"), compression="gzip", chunks=(1,))
    assert raster.stat().st_size < 10**6
    tracemalloc.start()
    try:
        with pytest.raises(MetadataError, match=r"product_name': required field is missing|1000000000 bytes"):
            read_hdf5_metadata(raster)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20


def test_a_null_dataspace_sample_array_is_a_metadata_error(tiny: dict[str, GeneratedProduct], tmp_path: Path) -> None:
    raster = _slc_copy(tiny, tmp_path)
    _replace(raster, "s_i", data=h5py.Empty("<i2"))  # was TypeError: shape None
    with pytest.raises(MetadataError, match="s_i has shape None"):
        read_hdf5_metadata(raster)


def test_link_iteration_failures_of_a_corrupt_file_are_metadata_errors(
    tiny: dict[str, GeneratedProduct], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_: object) -> Iterator[str]:
        raise RuntimeError("Link iteration failed (bad symbol table node signature)")

    monkeypatch.setattr(h5py.Group, "__iter__", broken)
    with pytest.raises(MetadataError, match="Link iteration failed"):
        read_hdf5_fields(tiny["slc"].raster)


def test_an_hdf5_disguised_as_a_tif_is_a_metadata_error(tiny: dict[str, GeneratedProduct], tmp_path: Path) -> None:
    fake = tmp_path / "ICEYE_X7_GRD_SM_9_20240101T000000.tif"
    shutil.copy2(tiny["slc"].raster, fake)  # was IndexError: tuple index out of range
    with pytest.raises(MetadataError, match="unreadable GeoTIFF"):
        item_from_product(fake)


def test_a_grd_declaring_more_samples_than_any_product_is_refused(
    tiny: dict[str, GeneratedProduct], tmp_path: Path
) -> None:
    raster = tmp_path / tiny["grd"].raster.name
    with rasterio.open(tiny["grd"].raster) as src:
        profile, tags = src.profile, src.tags()
    profile.update(width=100_000, height=100_000, blockxsize=2048, blockysize=2048, sparse_ok=True)
    with rasterio.open(raster, "w", **profile) as dst:  # sparse: the file stays tiny
        dst.update_tags(**tags)
    assert raster.stat().st_size < 10**7
    with pytest.raises(MetadataError, match="at most 1000000 per side and 4000000000 in all"):
        read_metadata(raster)


@pytest.mark.parametrize(
    ("kind", "byteorder", "data_type"), [("slc", ">", "cint16"), ("slc32", ">", "cfloat32"), ("slc32", "<", "cfloat32")]
)
def test_slc_data_type_is_named_whatever_the_byte_order(
    tiny: dict[str, GeneratedProduct], tmp_path: Path, kind: str, byteorder: str, data_type: str
) -> None:
    raster = _slc_copy(tiny, tmp_path, kind)
    shutil.copy2(tiny[kind].xml, raster.with_suffix(".xml"))  # type: ignore[arg-type]
    with h5py.File(raster, "r+") as h5:
        for name in ("s_i", "s_q"):
            values = h5[name][()]
            del h5[name]
            h5.create_dataset(name, data=values.astype(values.dtype.newbyteorder(byteorder)))
    for source in ("xml", "hdf5"):
        item = item_from_product(raster)
        assert item.properties["iceye:metadata_source"] == source
        assert item.assets["data"].extra_fields["data_type"] == data_type
        validate(item)
        raster.with_suffix(".xml").unlink(missing_ok=True)


def test_a_grd_whose_xml_says_float32_is_never_cfloat32(tiny: dict[str, GeneratedProduct], tmp_path: Path) -> None:
    xml = _real_product(tiny, tmp_path, sample_precision="float32")
    with pytest.raises(MetadataError, match=r"field 'sample_precision'.*allowed values are uint16"):
        create_item(read_xml_metadata(xml))  # was data_type cfloat32 for a GRD
    with pytest.warns(SidecarFallbackWarning):
        item = item_from_product(xml.with_suffix(".tif"))
    assert item.assets["data"].extra_fields["data_type"] == "uint16"  # from the raster
    validate(item)


@pytest.mark.parametrize(("level", "precision"), [("slc", "uint16"), ("slc", "float64"), ("grd", "int16")])
def test_sample_precisions_iceye_never_writes_are_refused(
    tiny: dict[str, GeneratedProduct], tmp_path: Path, level: str, precision: str
) -> None:
    product = tiny[level]
    assert product.xml is not None
    xml = tmp_path / product.xml.name
    xml.write_text(_set(product.xml.read_text(), "sample_precision", precision))
    _refused(xml, "sample_precision", "allowed values are")


def test_only_package_errors_escape_for_every_hostile_value_of_this_module(tmp_path: Path) -> None:
    """A quick sweep: every field of the real XML set to a hostile value gives a valid item or an error."""
    fields = dict.fromkeys(re.findall(r"<([a-z_]+)>[^<]*</\1>", REAL_XML.read_text()))
    values = ["", "1e308", "-1", "9223372036854775808", "\u0662", "nan", "x" * 300, "0"]
    for n, tag in enumerate(fields):
        for value in values[n % 3 :: 3]:
            xml = tmp_path / f"{n}-{len(value)}.xml"
            xml.write_text(_set(REAL_XML.read_text(), tag, value))
            with contextlib.suppress(IcecubeStacError):
                validate(create_item(read_xml_metadata(xml)))


# --------------------------------------------------------------------------------------------------------
# libhdf5 looping on a corrupt file: read in a child process with a time limit
# --------------------------------------------------------------------------------------------------------


def test_a_reader_that_never_returns_or_crashes_is_a_metadata_error(tmp_path: Path) -> None:
    path = tmp_path / "x.h5"
    path.write_bytes(b"")

    def loops(_: object) -> None:
        time.sleep(60)  # as libhdf5 looping in C, where no Python timeout reaches

    def crashes(_: object) -> None:
        os.kill(os.getpid(), signal.SIGSEGV)

    started = time.monotonic()
    with pytest.raises(MetadataError, match=r"could not be read within 1 s") as err:
        isolated(loops, path, timeout=1.0)
    assert str(path) in str(err.value) and time.monotonic() - started < 10
    with pytest.raises(MetadataError, match=r"crashed \(signal 11\)"):
        isolated(crashes, path)
    assert isolated(lambda p: {"answer": str(p)}, path) == {"answer": str(path)}
    with pytest.raises(MetadataError, match="unreadable file: ZeroDivisionError"):
        isolated(lambda _: 1 / 0, path)


def test_the_byte_flipped_slc_that_made_libhdf5_loop_is_a_metadata_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Case 2111 of ``python fuzz/fuzz_products.py --seed 5``: reading acquisition_end_utc never returned."""
    spec = importlib.util.spec_from_file_location("fuzz_products", ROOT / "fuzz" / "fuzz_products.py")
    assert spec is not None and spec.loader is not None
    fuzz = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "fuzz_products", fuzz)  # its dataclasses look their module up
    spec.loader.exec_module(fuzz)
    seeds = fuzz.make_seeds(tmp_path / "seeds")
    fuzz.write_case(seeds, tmp_path / "case", 2111, 5)
    (raster,) = (tmp_path / "case").glob("*.h5")
    monkeypatch.setattr(_isolated, "READ_TIMEOUT", 3.0)
    started = time.monotonic()
    with pytest.raises(MetadataError) as err:
        read_hdf5_metadata(raster)
    assert str(raster) in str(err.value) and time.monotonic() - started < 20


def _slow_answer(path: str | Path) -> str:
    time.sleep(0.5)  # long enough for the alarm below to interrupt the parent waiting for it
    return f"answer for {path}"


def test_an_interrupted_read_never_hands_its_answer_to_the_next_file(tmp_path: Path) -> None:
    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(KeyboardInterrupt):
            isolated(_slow_answer, tmp_path / "A.tif")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert isolated(_slow_answer, tmp_path / "B.tif") == f"answer for {tmp_path / 'B.tif'}"


_TOKENS = st.one_of(
    st.from_regex(r"[+-]?(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})(?:[eE][+-]?[0-9]{1,4})?", fullmatch=True),
    st.text(alphabet="0123456789.eE+-x[]'\" ", max_size=70),
    st.sampled_from(["1e999", "-1e400", "nan", "inf", "1" * 65, "１２", "0x10", "1_000"]),
)


@given(st.lists(_TOKENS, max_size=12))
@settings(max_examples=300, deadline=None)
def test_the_fast_vector_path_gives_what_as_float_gives_token_by_token(tokens: list[str]) -> None:
    """plain_numbers (C calls only) answers exactly where as_float accepts every token, with the same numbers."""
    from icecube_stac._field_numbers import plain_numbers
    from icecube_stac._fields import as_float

    fast = plain_numbers(tokens)
    try:
        slow: tuple[float, ...] | None = tuple(as_float(t) for t in tokens)
    except (ValueError, TypeError):
        slow = None
    if fast is not None:
        assert fast == slow
    if slow is not None and all(" " not in t for t in tokens):
        assert as_vector(" ".join(tokens)) == slow  # through _items and the fast path


_TIME_TOKENS = st.one_of(
    st.from_regex(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:Z|\+00:00)?", fullmatch=True
    ),
    st.builds(
        lambda d, fraction: d.strftime("%Y-%m-%dT%H:%M:%S") + fraction,
        st.datetimes(),
        st.sampled_from(["", ".5", ".61", ".6119", ".611924", ".6119245", "Z", " ", "'"]),
    ),
)


@given(st.lists(_TIME_TOKENS, min_size=1, max_size=8))
@settings(max_examples=300, deadline=None)
def test_the_fast_time_vector_path_gives_what_parse_time_gives_one_by_one(tokens: list[str]) -> None:
    """as_time_vector's C path (datetime.fromisoformat) returns exactly parse_time's times, or fails as it does."""
    from icecube_stac._fields import as_time_vector, parse_time

    try:
        slow: tuple[datetime, ...] | None = tuple(parse_time(t) for t in tokens)
    except ValueError:
        slow = None
    if slow is None:
        with pytest.raises(ValueError):
            as_time_vector(tokens)
        return
    fast = as_time_vector(tokens)
    assert fast == slow
    assert all(t.tzinfo is UTC and t.utcoffset() == timedelta(0) for t in fast)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=4), inner, max_size=4)
        | st.tuples(inner, inner)
        | st.frozensets(st.integers(), max_size=3).map(set)
    ),
    max_leaves=30,
)


@given(_JSON)
@settings(max_examples=300, deadline=None)
def test_json_copy_is_deepcopy(value: object) -> None:
    """json_copy makes deepcopy's copy (equal, every container new, the original untouched by changes to it)."""
    import copy
    import pickle

    from icecube_stac._json_copy import json_copy

    before = pickle.dumps(value)
    copied = json_copy(value)
    assert pickle.dumps(copied) == pickle.dumps(copy.deepcopy(value))

    def containers(v: object) -> list[object]:
        if isinstance(v, dict):
            return [v, *(c for m in v.values() for c in containers(m))]
        if isinstance(v, (list, tuple, set)):
            return [*([v] if not isinstance(v, tuple) else []), *(c for m in v for c in containers(m))]
        return []

    assert not {id(c) for c in containers(value)} & {id(c) for c in containers(copied)}
    for container in containers(copied):
        if isinstance(container, dict):
            container["new"] = 1
        elif isinstance(container, list):
            container.append(1)
        elif isinstance(container, set):
            container.add(-1)
    assert pickle.dumps(value) == before
