"""Field-level fuzzing of the product readers: only IcecubeStacError escapes, and what is accepted validates.

The real ICEYE XML and generated GRD/SLC sidecars are mutated element by element (huge integers, inf/nan,
Unicode digits, empty and very long values, deleted, duplicated and nested elements, encoding
declarations, floods); GeoTIFF tags and HDF5 datasets of tiny generated products are replaced by hostile
values. A few hundred cases in all, fast enough for every CI run; ``fuzz/fuzz_products.py`` runs the long
campaign (batches indexed into catalogs, with time and memory limits).
"""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import rasterio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icecube_stac.errors import IcecubeStacError
from icecube_stac.formats.xml import read_xml_metadata
from icecube_stac.stac import create_item, item_from_product, validate
from icecube_stac.testing import GeneratedProduct, ProductSpec, write_product
from tests._reference import REAL_XML

SHAPE = (16, 12)
FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GeneratedProduct]:
    folder = tmp_path_factory.mktemp("fuzz-seeds")
    specs = {
        "grd": ProductSpec(level="GRD", image_id=240001, shape=SHAPE, seed=9),
        "slc": ProductSpec(level="SLC", image_id=240002, shape=SHAPE, seed=10),
        "slc32": ProductSpec(level="SLC", image_id=240003, shape=SHAPE, seed=11, slc_dtype="float32"),
    }
    return {kind: write_product(spec, folder / kind) for kind, spec in specs.items()}


# --------------------------------------------------------------------------------------------------------
# Hostile values
# --------------------------------------------------------------------------------------------------------

_XML_SAFE = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff<&")
HOSTILE_TEXT = st.one_of(
    st.sampled_from(
        ["", " ", "nan", "-inf", "Infinity", "1e308", "1e309", "-0", "0", "-1", "1_000", "0x1F", "1e", "[]", "None"]
    ),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.sampled_from([2**63, 2**63 - 1, 2**64, -(2**63) - 1, 10**7, 1001, 1_000_001]).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(st.characters(categories=["Nd"]), min_size=1, max_size=8),  # any script's digits
    st.text(_XML_SAFE, max_size=12),
    st.sampled_from(["1.5 " * 20_000, "9" * 5_000, "x" * 300, "\u0662" * 300, "1 1 16.5 179.99", "1 1 90 -180"]),
    st.sampled_from(["0001-01-01T00:00:00", "9999-12-31T23:59:59.999999", "2021-02-30T00:00:00", "2021-10-27"]),
)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


# --------------------------------------------------------------------------------------------------------
# XML: field-level mutations of the real and generated sidecars
# --------------------------------------------------------------------------------------------------------

_LEAF = re.compile(r"<([A-Za-z_][\w.-]*)>([^<]*)</\1>")


def _real_text() -> str:
    text = REAL_XML.read_text()
    for tag, value in (("number_of_azimuth_samples", SHAPE[0]), ("number_of_range_samples", SHAPE[1])):
        text = re.sub(f"<{tag}>[^<]*</{tag}>", f"<{tag}>{value}</{tag}>", text, count=1)
    return text


def _mutate(text: str, operation: tuple[Any, ...]) -> str | bytes:
    kind = operation[0]
    leaves = list(_LEAF.finditer(text))
    leaf = leaves[operation[1] % len(leaves)]
    tag, value = leaf.group(1), leaf.group(2)
    if kind == "set":
        return text[: leaf.start(2)] + _escape(operation[2]) + text[leaf.end(2) :]
    if kind == "delete":
        return text[: leaf.start()] + text[leaf.end() :]
    if kind == "duplicate":
        return text[: leaf.end()] + f"<{tag}>{_escape(operation[2])}</{tag}>" + text[leaf.end() :]
    if kind == "nest":
        return text[: leaf.start(2)] + f"<{tag}>{value}</{tag}>" + text[leaf.end(2) :]
    if kind == "encoding":
        declared = text.replace('encoding="UTF-8"', f'encoding="{operation[2]}"')
        return declared.encode("utf-8", errors="surrogatepass")
    where = text.rfind("</Metadata>")  # flood
    count: int = operation[2]
    return text[:where] + "<e>1</e>" * count + text[where:]


OPERATIONS = st.one_of(
    st.tuples(st.just("set"), st.integers(0, 10**4), HOSTILE_TEXT),
    st.tuples(st.just("set"), st.integers(0, 10**4), HOSTILE_TEXT),
    st.tuples(st.just("delete"), st.integers(0, 10**4)),
    st.tuples(st.just("duplicate"), st.integers(0, 10**4), HOSTILE_TEXT),
    st.tuples(st.just("nest"), st.integers(0, 10**4)),
    st.tuples(
        st.just("encoding"),
        st.integers(0, 10**4),
        st.sampled_from(["x-bogus-42", "utf-16", "shift_jis", "ascii", "latin-1", "cp500", ""]),
    ),
    st.tuples(st.just("flood"), st.integers(0, 10**4), st.sampled_from([10, 2_000])),  # the bound: test_23
)


def _accepted_items_validate(*reads: Any) -> None:
    """Run each read: an IcecubeStacError is fine; anything accepted must give an item that validates."""
    for read in reads:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                item = read()
            except IcecubeStacError:
                continue
        validate(item)


@FUZZ
@given(
    kind=st.sampled_from(["real", "real", "grd", "slc", "slc32"]),
    operations=st.lists(OPERATIONS, min_size=1, max_size=3),
)
def test_mutated_xml_sidecars(
    seeds: dict[str, GeneratedProduct],
    tmp_path_factory: pytest.TempPathFactory,
    kind: str,
    operations: list[tuple[Any, ...]],
) -> None:
    source = seeds["grd" if kind == "real" else kind]
    assert source.xml is not None
    data: str | bytes = _real_text() if kind == "real" else source.xml.read_text()
    for operation in operations:
        data = _mutate(data, operation) if isinstance(data, str) else data
    folder = tmp_path_factory.mktemp("xml")
    stem = "ICEYE_X7_GRD_SM_154171_20211027T183203" if kind == "real" else source.name
    xml = folder / f"{stem}.xml"
    xml.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    raster = Path(shutil.copy2(source.raster, folder / f"{stem}{source.raster.suffix}"))
    # The sidecar alone (what it says must be valid or refused), then the product (it may fall back to the raster).
    _accepted_items_validate(lambda: create_item(read_xml_metadata(xml)), lambda: item_from_product(raster))


# --------------------------------------------------------------------------------------------------------
# GeoTIFF tags and HDF5 datasets of raster-only products
# --------------------------------------------------------------------------------------------------------

GRD_TAGS = [
    "PRODUCT_NAME",
    "PRODUCT_LEVEL",
    "NUMBER_OF_AZIMUTH_SAMPLES",
    "NUMBER_OF_RANGE_SAMPLES",
    "ACQUISITION_START_UTC",
    "ACQUISITION_END_UTC",
    "COORD_FIRST_NEAR",
    "COORD_LAST_FAR",
    "COORD_CENTER",
    "INCIDENCE_CENTER",
    "ORBIT_ABSOLUTE_NUMBER",
    "AZIMUTH_LOOKS",
    "RANGE_LOOKS",
    "CARRIER_FREQUENCY",
    "POLARIZATION",
    "HEADING",
    "POSX",
    "STATE_VECTOR_TIME_UTC",
    "DC_ESTIMATE_COEFFS",
    "SPEC_VERSION",
]


@FUZZ
@given(changes=st.lists(st.tuples(st.sampled_from(GRD_TAGS), HOSTILE_TEXT), min_size=1, max_size=3))
def test_mutated_geotiff_tags(
    seeds: dict[str, GeneratedProduct], tmp_path_factory: pytest.TempPathFactory, changes: list[tuple[str, str]]
) -> None:
    raster = Path(shutil.copy2(seeds["grd"].raster, tmp_path_factory.mktemp("tif") / seeds["grd"].raster.name))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with rasterio.open(raster, "r+") as dst:
            dst.update_tags(**dict(changes))
    _accepted_items_validate(lambda: item_from_product(raster))


SLC_DATASETS = [
    "product_name",
    "product_level",
    "number_of_azimuth_samples",
    "number_of_range_samples",
    "acquisition_start_utc",
    "coord_first_near",
    "coord_center",
    "incidence_near",
    "orbit_absolute_number",
    "azimuth_looks",
    "carrier_frequency",
    "chirp_bandwidth",
    "polarization",
    "look_side",
    "spec_version",
    "processor_version",
    "posX",
    "state_vector_time_utc",
    "dc_estimate_coeffs",
    "avg_scene_height",
]

HOSTILE_DATASETS = st.one_of(
    HOSTILE_TEXT.map(lambda t: {"data": t.encode("utf-8", "surrogatepass")}),
    st.integers(-(2**63), 2**63 - 1).map(lambda n: {"data": np.int64(n)}),
    st.integers(0, 2**64 - 1).map(lambda n: {"data": np.uint64(n)}),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda x: {"data": np.float64(x)}),
    st.binary(max_size=40).map(lambda b: {"data": np.bytes_(b)}),
    st.sampled_from(
        [
            {"data": h5py.Empty("f8")},
            {"data": np.zeros((3, 3, 3))},
            {"data": np.array([True])},
            {"data": np.array([1 + 2j])},
            {"data": np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])},
            {"shape": (10**8,), "dtype": "f8", "chunks": (10**5,)},  # declared, never written: tiny on disk
            {"group": True},
        ]
    ),
)


@FUZZ
@given(
    kind=st.sampled_from(["slc", "slc32"]),
    changes=st.lists(st.tuples(st.sampled_from(SLC_DATASETS), HOSTILE_DATASETS), min_size=1, max_size=3),
)
def test_mutated_hdf5_datasets(
    seeds: dict[str, GeneratedProduct],
    tmp_path_factory: pytest.TempPathFactory,
    kind: str,
    changes: list[tuple[str, dict[str, Any]]],
) -> None:
    raster = Path(shutil.copy2(seeds[kind].raster, tmp_path_factory.mktemp("h5") / seeds[kind].raster.name))
    with h5py.File(raster, "r+") as h5:
        for name, create in changes:
            if name in h5:
                del h5[name]
            options = dict(create)
            if options.pop("group", False):
                h5.create_group(name)
            else:
                h5.create_dataset(name, **options)
    _accepted_items_validate(lambda: item_from_product(raster))
