"""Stage 10: the metadata model and the XML reader on the real ICEYE XML."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from icecube_stac.errors import MetadataError
from icecube_stac.formats.xml import read_xml_fields, read_xml_metadata
from icecube_stac.metadata import IceyeMetadata, LookSide, OrbitDirection, ProductLevel, parse_time
from tests._reference import REAL_XML


@pytest.fixture(scope="module")
def real() -> IceyeMetadata:
    if not REAL_XML.is_file():
        pytest.fail(f"the real ICEYE XML is expected at {REAL_XML}")
    return read_xml_metadata(REAL_XML)


def test_real_xml__identity_and_times(real: IceyeMetadata) -> None:
    assert real.product_name == "ICEYE_X7_GRD_SM_154171_20211027T183203"
    assert real.product_file == "ICEYE_X7_GRD_SM_154171_20211027T183203.tif"
    assert real.product_level is ProductLevel.GRD
    assert real.product_type == "Stripmap"
    assert real.acquisition_mode == "stripmap"
    assert real.satellite_name == "ICEYE-X7"
    assert real.spec_version == "2.3"
    assert real.processor_version == "1.43"
    assert real.acquisition_start == datetime(2021, 10, 27, 18, 32, 3, 611924, tzinfo=UTC)
    assert real.acquisition_end == datetime(2021, 10, 27, 18, 32, 13, 607838, tzinfo=UTC)
    assert real.zerodoppler_start == datetime(2021, 10, 27, 18, 32, 3, 938084, tzinfo=UTC)
    assert real.processing_time == datetime(2021, 10, 28, 8, 30, 21, tzinfo=UTC)
    assert real.center_time == datetime(2021, 10, 27, 18, 32, 8, 609881, tzinfo=UTC)


def test_real_xml__geometry(real: IceyeMetadata) -> None:
    assert real.shape == (26447, 17617)
    assert real.orbit_direction is OrbitDirection.DESCENDING
    assert real.look_side is LookSide.RIGHT
    assert (real.coord_first_near.col, real.coord_first_near.row) == (1, 1)
    assert real.coord_first_near.lat == pytest.approx(16.575560762631188, abs=0)
    assert real.coord_first_near.lon == pytest.approx(102.8713421479924, abs=0)
    assert (real.coord_last_far.col, real.coord_last_far.row) == (17617, 26447)
    assert (real.coord_center.col, real.coord_center.row) == (8809, 13223)
    assert real.heading == pytest.approx(191.11963464105378)
    assert real.incidence_near == pytest.approx(14.803895552358817)
    assert real.incidence_center == pytest.approx(17.02742328957619)
    assert real.incidence_far == pytest.approx(19.205960060369136)
    # Right-looking descending: far range lies west of near range.
    assert real.coord_first_far.lon < real.coord_first_near.lon


def test_real_xml__blocks(real: IceyeMetadata) -> None:
    assert len(real.state_vectors) == 37
    first = real.state_vectors[0]
    assert first.time == datetime(2021, 10, 27, 18, 32, tzinfo=UTC)
    assert first.position == (-1636554.7005072806, 6464981.307947729, 1972067.142994426)
    assert (real.state_vectors[1].time - first.time).total_seconds() == 0.5
    assert len(real.dc_estimate_coeffs) == 9
    assert len(real.dc_estimate_times) == 9
    assert real.dc_estimate_coeffs[0] == (
        261.4087397692616,
        1335854.2268715727,
        6.990768413508392e-05,
        -47.56101553484997,
    )
    assert real.doppler_rate_coeffs[0] == -5725.584657949972
    assert len(real.grsr_coefficients) == 5 and real.grsr_coefficients[0] == 595967.7573848881
    assert len(real.incidence_angle_coefficients) == 5


def test_real_xml__incidence_polynomial_reproduces_far(real: IceyeMetadata) -> None:
    assert real.range_spacing is not None
    ground = (real.number_of_range_samples - 1) * real.range_spacing
    value = sum(c * ground**k for k, c in enumerate(real.incidence_angle_coefficients))
    assert value == pytest.approx(real.incidence_far, abs=1e-6)


def test_real_xml__rpc(real: IceyeMetadata) -> None:
    rpc = real.rpc
    assert rpc is not None
    assert rpc.line_off == 13079.472580363417
    assert rpc.long_scale == 0.4270833129685059
    assert len(rpc.line_num_coeff) == 20 and len(rpc.samp_den_coeff) == 20
    assert rpc.line_num_coeff[:2] == (6.77323166e-03, -3.51450267e00)
    assert rpc.samp_den_coeff[-1] == 1.00690842e-01


def test_real_xml__unknown_fields_are_kept(real: IceyeMetadata) -> None:
    assert real.extra["tropo_range_delay"] == "2.4856920994435088"
    assert real.extra["window_function_range"] == "TAYLOR_20_4"
    assert "number_of_state_vectors" not in real.extra


def test_real_xml__unknown_extra_element_is_kept(tmp_path: Path) -> None:
    text = REAL_XML.read_text().replace(
        "<heading>", "<azimuth_angles_of_the_beam>1.5</azimuth_angles_of_the_beam>\n   <heading>"
    )
    path = tmp_path / "extra.xml"
    path.write_text(text)
    meta = read_xml_metadata(path)
    assert meta.extra["azimuth_angles_of_the_beam"] == "1.5"
    assert meta.product_name == "ICEYE_X7_GRD_SM_154171_20211027T183203"


def test_xml__namespace_and_case_tolerant(tmp_path: Path) -> None:
    text = REAL_XML.read_text().replace("<Metadata>", '<Metadata xmlns="http://www.iceye.com/metadata">')
    text = text.replace("<look_side>right</look_side>", "<LOOK_SIDE>RIGHT</LOOK_SIDE>")
    path = tmp_path / "ns.xml"
    path.write_text(text)
    meta = read_xml_metadata(path)
    assert meta.look_side is LookSide.RIGHT
    assert len(meta.state_vectors) == 37


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("<Metadata><spec_version>2.3", "malformed XML"),
        (
            '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>\n'
            "<Metadata><product_name>&lol2;</product_name></Metadata>",
            "unsafe XML refused",
        ),
        (
            '<?xml version="1.0"?>\n<!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
            "<Metadata><product_name>&xxe;</product_name></Metadata>",
            "unsafe XML refused",
        ),
    ],
    ids=["truncated", "entity-bomb", "external-entity"],
)
def test_xml__bad_or_hostile_input(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.xml"
    path.write_text(text)
    with pytest.raises(MetadataError) as err:
        read_xml_fields(path)
    assert fragment in str(err.value)
    assert str(path) in str(err.value)


def test_model__missing_required_field_is_named(tmp_path: Path) -> None:
    text = REAL_XML.read_text().replace("<orbit_direction>DESCENDING</orbit_direction>", "")
    path = tmp_path / "x.xml"
    path.write_text(text)
    with pytest.raises(MetadataError, match=r"field 'orbit_direction': required field is missing"):
        read_xml_metadata(path)


def test_model__bad_value_names_field_value_and_allowed(tmp_path: Path) -> None:
    text = REAL_XML.read_text().replace("<look_side>right</look_side>", "<look_side>sideways</look_side>")
    path = tmp_path / "x.xml"
    path.write_text(text)
    with pytest.raises(MetadataError) as err:
        read_xml_metadata(path)
    message = str(err.value)
    assert "'look_side'" in message and "'sideways'" in message and "'left', 'right'" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-10-27T18:32:03.611924", datetime(2021, 10, 27, 18, 32, 3, 611924, tzinfo=UTC)),
        ("2021-10-28T08:30:21", datetime(2021, 10, 28, 8, 30, 21, tzinfo=UTC)),
        ("2024-06-12T17:43:39.5Z", datetime(2024, 6, 12, 17, 43, 39, 500000, tzinfo=UTC)),
        (b"2021-04-27T21:51:24.100000", datetime(2021, 4, 27, 21, 51, 24, 100000, tzinfo=UTC)),
    ],
)
def test_parse_time__legacy_and_new_forms(text: str | bytes, expected: datetime) -> None:
    assert parse_time(text) == expected


def test_model__center_row_out_of_range_is_clamped() -> None:
    raw = read_xml_fields(REAL_XML)
    raw["coord_center"] = "8809 26448 16.3 102.6"  # early-processing bug: one row past the end
    meta = IceyeMetadata.from_fields(raw, source="mem", source_format="xml")
    assert meta.coord_center.row == 26447


# The C-only parse of plain UTF-8 sidecars (formats.xml._plain_parse) and its hand-over to the guarded one.


def _guarded_tree(data: bytes) -> bytes:
    import xml.etree.ElementTree as ET

    from icecube_stac.formats import xml as X

    builder = X._BoundedTreeBuilder()
    parser = X.SafeET.DefusedXMLParser(target=builder, forbid_dtd=True)
    parser.feed(data)
    return ET.tostring(parser.close())


def test_a_plain_sidecar_is_parsed_in_c_into_the_guarded_parsers_tree() -> None:
    import xml.etree.ElementTree as ET

    from icecube_stac.formats.xml import _plain_parse

    data = REAL_XML.read_bytes()
    for variant in (data, data.replace(b'encoding="UTF-8"', b'encoding="utf-8"'), b"\xef\xbb\xbf" + data):
        root = _plain_parse(variant)
        assert root is not None
        assert ET.tostring(root) == _guarded_tree(data)


def test_long_tag_names_are_not_kept_after_the_file(tmp_path: Path) -> None:
    import gc
    import tracemalloc

    from icecube_stac.formats import xml

    paths = []
    for i in range(4):
        name = "A" * 500_000 + str(i)
        paths.append(tmp_path / f"{i}.xml")
        paths[-1].write_text(f"<Metadata><{name}>1</{name}></Metadata>")
    tracemalloc.start()
    try:
        for path in paths:
            assert len(read_xml_fields(path)) == 1
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 200_000  # not the 4 MB of names (and their lowercased copies) a cache of every name would keep
    assert xml._local("{urn:x}Orbit_State_Vectors") == "orbit_state_vectors"


@pytest.mark.parametrize("depth", [1, 2, 31, 32, 33, 34, 60])
def test_the_c_parse_takes_exactly_the_trees_up_to_the_depth_bound(depth: int) -> None:
    from icecube_stac.formats.xml import MAX_XML_DEPTH, _plain_parse

    # The deep branch hides after a shallow sibling and before another: the check must see every branch.
    inner = "<d>" * (depth - 1) + "x" + "</d>" * (depth - 1)
    data = f"<Metadata><a><b/></a>{inner}<c/></Metadata>".encode() if depth > 1 else b"<Metadata/>"
    assert (_plain_parse(data) is not None) == (depth <= MAX_XML_DEPTH)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (f"<Metadata>{'<d>' * 40}x{'</d>' * 40}</Metadata>", "nested more than 32 levels"),  # well-formed
        ("<Metadata>" + "<e/>" * 100_001 + "</Metadata>", "more than 100000 elements"),
        ('<?xml version="1.0"?><!DOCTYPE Metadata><Metadata/>', "unsafe XML refused"),  # no entity at all
        ('<?xml version="1.0" encoding="latin-1"?><Metadata><product_name>caf\xe9</product_name></Metadata>', ""),
        ("<Metadata><product_name>" + "x\n" * 600_000 + "</product_name></Metadata>", "product_name"),
    ],
    ids=["deep", "flood", "doctype", "latin-1", "over 1 MiB"],
)
def test_what_the_c_parse_must_not_take_goes_to_the_guarded_parser(tmp_path: Path, text: str, fragment: str) -> None:
    from icecube_stac.formats.xml import _plain_parse

    path = tmp_path / "x.xml"
    path.write_bytes(text.encode("latin-1"))
    assert _plain_parse(path.read_bytes()) is None
    if not fragment:  # a declared 8-bit encoding: read as before, through the guarded parser
        assert read_xml_fields(path)["product_name"] == "café"
        return
    if fragment == "product_name":  # a well-formed document too big for the C-only parse: read, guarded
        assert fragment in read_xml_fields(path)
        return
    with pytest.raises(MetadataError, match=fragment):
        read_xml_fields(path)
