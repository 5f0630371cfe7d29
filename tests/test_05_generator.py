"""Stage 05: the synthetic ICEYE product generator follows the real formats and their consistency rules."""

from __future__ import annotations

import itertools
import math
import re
import warnings
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import rasterio
from numpy.polynomial import polynomial as npoly
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import RPCTransformer

from icecube_stac.testing import (
    GeneratedProduct,
    ProductSpec,
    demo_specs,
    metadata_fields,
    package_name,
    product_name,
    write_product,
    write_stack,
    write_xml,
)
from icecube_stac.testing._geodesy import bearing_deg, geodetic_to_ecef
from icecube_stac.testing._rpc import rpc_project
from icecube_stac.testing._xml_writer import format_rpc_coefficients
from tests._reference import REAL_XML

C = 299792458.0
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
REPEATED = {"orbit_vector", "dc_coefficients_list", "coefficient"}

# The real spec-2.2 GeoTIFF key set (format notes 4.2) without the APPLIED_PROCESSING artefact.
GEOTIFF_KEYS = set(
    re.findall(
        r"[A-Z_]+",
        """ACQUISITION_END_UTC ACQUISITION_MODE ACQUISITION_PRF ACQUISITION_START_UTC ANT_ELEV_CORR_FLAG AREA_OR_POINT
    AVG_SCENE_HEIGHT AZIMUTH_LOOKS AZIMUTH_LOOK_BANDWIDTH AZIMUTH_LOOK_OVERLAP AZIMUTH_SPACING AZIMUTH_TIME_INTERVAL
    CALIBRATION_FACTOR CARRIER_FREQUENCY CHIRP_BANDWIDTH CHIRP_DURATION COORD_CENTER COORD_FIRST_FAR COORD_FIRST_NEAR
    COORD_LAST_FAR COORD_LAST_NEAR DC_ESTIMATE_COEFFS DC_ESTIMATE_POLY_ORDER DC_ESTIMATE_TIME_UTC DOPPLER_RATE_COEFFS
    DOPPLER_RATE_POLY_ORDER GCP_TERRAIN_MODEL GEO_REF_SYSTEM GRSR_COEFFICIENTS GRSR_GROUND_RANGE_ORIGIN GRSR_POLY_ORDER
    GRSR_ZERO_DOPPLER_TIME HEADING INCIDENCE_ANGLE_COEFFICIENTS INCIDENCE_ANGLE_GROUND_RANGE_ORIGIN
    INCIDENCE_ANGLE_POLY_ORDER INCIDENCE_ANGLE_ZERO_DOPPLER_TIME INCIDENCE_CENTER INCIDENCE_FAR INCIDENCE_NEAR LOOK_SIDE
    MEAN_EARTH_RADIUS MEAN_ORBIT_ALTITUDE NUMBER_OF_AZIMUTH_SAMPLES NUMBER_OF_DC_ESTIMATIONS NUMBER_OF_RANGE_SAMPLES
    NUMBER_OF_STATE_VECTORS ORBIT_ABSOLUTE_NUMBER ORBIT_DIRECTION ORBIT_PROCESSING_LEVEL ORBIT_RELATIVE_NUMBER
    ORBIT_REPEAT_CYCLE POLARIZATION POSX POSY POSZ PROCESSING_PRF PROCESSING_TIME PROCESSOR_VERSION PRODUCT_FILE
    PRODUCT_LEVEL PRODUCT_NAME PRODUCT_TYPE RANGE_LOOKS RANGE_LOOK_BANDWIDTH RANGE_LOOK_OVERLAP RANGE_SAMPLING_RATE
    RANGE_SPACING RANGE_SPREAD_COMP_FLAG SAMPLE_PRECISION SATELLITE_LOOK_ANGLE SATELLITE_NAME
    SLANT_RANGE_TO_FIRST_PIXEL SPEC_VERSION STATE_VECTOR_TIME_UTC TOTAL_PROCESSED_BANDWIDTH_AZIMUTH TROPO_RANGE_DELAY
    VELX VELY VELZ WINDOW_FUNCTION_AZIMUTH WINDOW_FUNCTION_RANGE ZERODOPPLER_END_UTC ZERODOPPLER_START_UTC""",
    )
)

# The real X7 product's own parameters, so generated values can be compared with its XML.
REAL_SPEC = ProductSpec(
    shape=(26447, 17617),
    incidence_center=17.02742328957619,
    center_lat=16.32155707730936,
    center_lon=102.60783095858474,
)
LEVEL_MODES = [(level, mode) for level in ("GRD", "SLC") for mode in ("SM", "SL", "SC")]
PASS_LOOKS = [(p, lk) for p in ("DESCENDING", "ASCENDING") for lk in ("right", "left")]


def _real_xml() -> Path:
    if not REAL_XML.is_file():
        pytest.fail(f"the real ICEYE XML is expected at {REAL_XML}")
    return REAL_XML


def _when(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f")


def _times(values: np.ndarray[Any, Any]) -> list[datetime]:
    return [_when(v.decode()) for v in values.ravel()]


def _skeleton(path: Path) -> list[tuple[int, str]]:
    """Depth-first (depth, tag) walk with runs of repeated list elements collapsed to one."""
    out: list[tuple[int, str]] = []

    def walk(element: ET.Element, depth: int) -> None:
        out.append((depth, element.tag))
        previous = None
        for child in element:
            if child.tag in REPEATED and child.tag == previous:
                continue
            previous = child.tag
            walk(child, depth + 1)

    walk(ET.parse(path).getroot(), 0)
    return out


def _indents(path: Path) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^( *)<([A-Za-z_]+)>", line)
        if match:
            found.setdefault(match.group(2), set()).add(len(match.group(1)))
    return found


def _distance(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> float:
    return float(np.linalg.norm(geodetic_to_ecef(a[2], a[3], 0.0) - geodetic_to_ecef(b[2], b[3], 0.0)))


def _parse_vector(text: str) -> np.ndarray[Any, Any]:
    return np.array([float(v) for v in re.sub(r"[\[\]'\",]", " ", text).split()])


@pytest.fixture(scope="module")
def grd(tmp_path_factory: pytest.TempPathFactory) -> GeneratedProduct:
    return write_product(ProductSpec(level="GRD", quicklook=True), tmp_path_factory.mktemp("grd"))


@pytest.fixture(scope="module")
def slc(tmp_path_factory: pytest.TempPathFactory) -> GeneratedProduct:
    spec = ProductSpec(level="SLC", image_id=3400123, orbit_direction="ASCENDING", look_side="left", seed=5)
    return write_product(spec, tmp_path_factory.mktemp("slc"))


# --- names ---------------------------------------------------------------------------------------------


def test_names_follow_the_legacy_convention() -> None:
    spec = ProductSpec()
    assert product_name(spec) == "ICEYE_X7_GRD_SM_154171_20211027T183203"
    assert product_name(replace(spec, level="SLC", satellite="ICEYE-X25", mode="SL", image_id=3370602)) == (
        "ICEYE_X25_SLC_SL_3370602_20211027T183203"
    )
    assert package_name(spec) == "ICEYE_X7_SM_154171_20211027T183203"


def test_invalid_specs_are_rejected() -> None:
    for bad in ({"satellite": "X7"}, {"shape": (1, 10)}, {"image_id": 12}, {"incidence_center": 80.0}):
        with pytest.raises(ValueError):
            ProductSpec(**bad)


# --- XML -----------------------------------------------------------------------------------------------


def test_grd_xml_tree_order_and_indentation_equal_the_real_file(tmp_path: Path) -> None:
    real = _real_xml()
    ours = write_xml(replace(REAL_SPEC, shape=(64, 48)), tmp_path / "x.xml")
    assert _skeleton(ours) == _skeleton(real)
    real_indent, our_indent = _indents(real), _indents(ours)
    assert our_indent == real_indent
    text = ours.read_text()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Metadata>\n   <spec_version>2.3</spec_version>\n')
    assert text.endswith("</RPC>\n</Metadata>\n") and "\r" not in text


def test_xml_number_and_time_formatting(grd: GeneratedProduct) -> None:
    assert grd.xml is not None
    root = ET.parse(grd.xml).getroot()
    assert root.findtext("carrier_frequency") == "9650000000.0"
    assert root.findtext("chirp_bandwidth") == "234000000"
    assert root.findtext("range_sampling_rate") == "274976224.0"
    assert root.findtext("processor_version") == "ICEYE_P_1.43"
    assert root.findtext("avg_scene_height") == str(grd.fields["avg_scene_height"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", root.findtext("processing_time") or "")
    for tag in ("acquisition_start_utc", "acquisition_end_utc", "zerodoppler_start_utc", "zerodoppler_end_utc"):
        assert TIME_RE.match(root.findtext(tag) or "")
    assert all(TIME_RE.match(t.text or "") for t in root.iter("time"))
    for tag in ("coord_first_near", "coord_first_far", "coord_last_near", "coord_last_far", "coord_center"):
        assert re.fullmatch(r"\d+ \d+ -?\d+\.\d+(e-?\d+)? -?\d+\.\d+(e-?\d+)?", root.findtext(tag) or "")
    assert root.findtext("coord_last_far", "").startswith("48 64 ")
    # Every scalar is full precision: it parses back to exactly the field value.
    for tag in ("first_pixel_time", "heading", "calibration_factor", "slant_range_to_first_pixel"):
        assert float(root.findtext(tag) or "nan") == float(grd.fields[tag])


def test_rpc_coefficient_bodies_are_formatted_exactly_like_the_real_file() -> None:
    rpc = ET.parse(_real_xml()).getroot().find("RPC")
    assert rpc is not None
    for element in rpc:
        if element.tag.endswith("_COEFF"):
            text = element.text or ""
            assert format_rpc_coefficients([float(v) for v in text.split()]) == text


def test_slc_xml_drops_grd_elements_and_adds_slc_ones(slc: GeneratedProduct) -> None:
    assert slc.xml is not None
    root = ET.parse(slc.xml).getroot()
    tags = [child.tag for child in root]
    for gone in ("GRSR_Coefficients", "Incidence_Angle_Coefficients", "range_spacing", "gcp_terrain_model"):
        assert gone not in tags
    assert tags.index("slant_range_spacing") + 1 == tags.index("azimuth_ground_spacing")
    assert tags.index("heading") + 1 == tags.index("pitch")
    assert tags[-1] == "RPC" and tags[:4] == ["spec_version", "Orbit_State_Vectors", *tags[2:4]]
    assert root.findtext("sample_precision") == "int16"
    assert float(root.findtext("slant_range_spacing") or 0) == float(slc.fields["slant_range_spacing"])


def test_spec_24_adds_fields_and_22_geotiff_lacks_data_orientation(tmp_path: Path) -> None:
    v24 = write_product(ProductSpec(spec_version="2.4", image_id=4242), tmp_path / "a")
    assert v24.xml is not None
    root = ET.parse(v24.xml).getroot()
    assert root.findtext("acquisition_id") == "4242"
    assert float(root.findtext("range_resolution_center") or 0) > 0
    v22 = write_product(ProductSpec(spec_version="2.2", image_id=4243), tmp_path / "b")
    with rasterio.open(v22.raster) as ds:
        assert "DATA_ORIENTATION" not in ds.tags() and ds.tags()["SPEC_VERSION"] == "2.2"


# --- consistency relations -----------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "mode"), LEVEL_MODES)
def test_time_and_range_relations(level: str, mode: str) -> None:
    spec = ProductSpec(level=level, mode=mode, shape=(300, 40))  # type: ignore[arg-type]
    f = metadata_fields(spec)
    naz, nrg = spec.shape
    assert f["slant_range_to_first_pixel"] == pytest.approx(f["first_pixel_time"] * C / 2, abs=1e-6)
    assert 3.5e-3 < f["first_pixel_time"] < 5.0e-3
    assert 2.74e8 <= f["range_sampling_rate"] <= 3.6e8
    start, end = _when(f["acquisition_start_utc"]), _when(f["acquisition_end_utc"])
    zd0, zd1 = _when(f["zerodoppler_start_utc"]), _when(f["zerodoppler_end_utc"])
    assert abs((zd1 - zd0).total_seconds() - (naz - 1) * f["azimuth_time_interval"]) <= 1e-6
    assert start < zd0 < zd1 < end
    assert (end - start).total_seconds() == pytest.approx({"SM": 10.0, "SL": 5.0, "SC": 20.0}[mode], abs=0.02)
    if mode == "SM":
        assert (zd0 - start).total_seconds() == pytest.approx(0.3)
    processing = datetime.strptime(f["processing_time"], "%Y-%m-%dT%H:%M:%S")
    assert timedelta(hours=12) <= processing - start <= timedelta(hours=31)
    assert f["doppler_rate_coeffs"][0] < 0 and f["doppler_rate_coeffs"].shape == (4,)
    assert f["number_of_dc_estimations"] == len(f["dc_estimate_coeffs"]) == len(f["dc_estimate_time_utc"])
    if level == "SLC":
        assert f["slant_range_spacing"] == C / (2 * f["range_sampling_rate"])
        assert f["azimuth_time_interval"] == 1.0 / f["processing_prf"]
        assert f["reference_pixel_time"] == pytest.approx(
            f["first_pixel_time"] + nrg / (2 * f["range_sampling_rate"]), rel=1e-12
        )
        assert f["local_incidence_angle"].shape == (nrg,)
    else:
        far = npoly.polyval((nrg - 1) * f["range_spacing"], f["grsr_coefficients"])
        assert f["reference_pixel_time"] == pytest.approx((f["first_pixel_time"] + 2 * far / C) / 2, rel=1e-12)
        assert f["range_spacing"] == f["azimuth_spacing"] == {"SM": 2.5, "SL": 0.5, "SC": 15.0}[mode]


def test_state_vectors_and_doppler_estimates_are_consistent() -> None:
    f = metadata_fields(ProductSpec(shape=(9000, 40)))
    times = _times(f["state_vector_time_utc"])
    assert f["number_of_state_vectors"] == len(times) == f["posX"].size == f["velZ"].size
    assert f["state_vector_time_utc"].dtype == np.dtype("S26") and f["state_vector_time_utc"].shape == (len(times), 1)
    assert all((b - a) == timedelta(seconds=0.5) for a, b in itertools.pairwise(times))
    assert times[0] <= _when(f["acquisition_start_utc"]) - timedelta(seconds=3.5)
    assert times[-1] >= _when(f["acquisition_end_utc"]) + timedelta(seconds=3.5)
    pos = np.stack([f["posX"], f["posY"], f["posZ"]], axis=1)
    vel = np.stack([f["velX"], f["velY"], f["velZ"]], axis=1)
    assert np.all(np.abs(np.linalg.norm(pos, axis=1) - 6.93e6) < 0.05e6)
    assert np.all(np.abs(np.linalg.norm(vel, axis=1) - 7.6e3) < 0.1e3)
    assert np.allclose(np.diff(pos, axis=0), 0.25 * (vel[1:] + vel[:-1]), atol=1.0)
    assert 560e3 <= f["mean_orbit_altitude"] <= 580e3
    dc_times = _times(f["dc_estimate_time_utc"])
    assert dc_times[0] == _when(f["zerodoppler_start_utc"]) - timedelta(microseconds=65)
    assert all((b - a) == timedelta(seconds=1) for a, b in itertools.pairwise(dc_times))
    assert f["number_of_dc_estimations"] == 3 and f["dc_estimate_coeffs"].shape == (3, 4)


@pytest.mark.parametrize("mode", ["SM", "SL", "SC"])
def test_grd_polynomials_reproduce_scalars(mode: str) -> None:
    f = metadata_fields(ProductSpec(mode=mode, shape=(50, 333), incidence_center=27.3))  # type: ignore[arg-type]
    nrg, spacing = 333, f["range_spacing"]
    assert f["grsr_coefficients"][0] == pytest.approx(f["slant_range_to_first_pixel"], abs=1e-6)
    assert 0.25 < f["grsr_coefficients"][1] < 0.6
    ground = np.array([0.0, (nrg - 1) / 2, nrg - 1]) * spacing
    picks = npoly.polyval(ground, f["incidence_angle_coefficients"])
    assert np.allclose(picks, [f["incidence_near"], f["incidence_center"], f["incidence_far"]], atol=1e-6, rtol=0)
    assert f["incidence_near"] < f["incidence_center"] < f["incidence_far"]
    assert f["incidence_center"] == pytest.approx(27.3, abs=1e-4)
    assert 1.0 <= f["incidence_center"] - f["satellite_look_angle"] <= 3.0
    if mode == "SM":
        assert 1.7 < f["processing_prf"] * f["azimuth_time_interval"] < 1.95


@pytest.mark.parametrize(("direction", "look"), PASS_LOOKS)
@pytest.mark.parametrize("level", ["GRD", "SLC"])
def test_corners_follow_heading_look_side_and_pass(direction: str, look: str, level: str) -> None:
    spec = ProductSpec(level=level, shape=(400, 300), orbit_direction=direction, look_side=look)  # type: ignore[arg-type]
    f = metadata_fields(spec)
    near0, far0, near1 = f["coord_first_near"], f["coord_first_far"], f["coord_last_near"]
    assert [tuple(f[f"coord_{k}"][:2]) for k in ("first_near", "first_far", "last_near", "last_far", "center")] == [
        (1, 1),
        (300, 1),
        (1, 400),
        (300, 400),
        (151, 201),
    ]
    heading = f["heading"]
    assert heading == pytest.approx(191.5 if direction == "DESCENDING" else 348.5, abs=1.5)
    along = bearing_deg(near0[2], near0[3], near1[2], near1[3])
    assert (along - heading + 180) % 360 - 180 == pytest.approx(0, abs=1.0)
    across = bearing_deg(near0[2], near0[3], far0[2], far0[3])
    assert (across - heading) % 360 == pytest.approx(90 if look == "right" else 270, abs=2.0)
    far_is_west = far0[3] < near0[3]
    assert far_is_west == ((direction == "DESCENDING") == (look == "right"))
    center = f["coord_center"]
    assert abs(center[2] - 16.32) < 1e-4 and abs(center[3] - 102.61) < 1e-4
    if level == "GRD":
        assert _distance(near0, far0) == pytest.approx(299 * 2.5, rel=0.01)
        assert _distance(near0, near1) == pytest.approx(399 * 2.5, rel=0.01)
    else:
        ground = 299 * f["slant_range_spacing"] / math.sin(math.radians(f["incidence_center"]))
        assert _distance(near0, far0) == pytest.approx(ground, rel=0.02)
        assert _distance(near0, near1) == pytest.approx(399 * f["azimuth_ground_spacing"], rel=0.02)


def test_generated_values_match_the_real_product() -> None:
    root = ET.parse(_real_xml()).getroot()
    f = metadata_fields(REAL_SPEC)

    def real(tag: str) -> float:
        return float(root.findtext(tag) or "nan")

    for tag in ("coord_first_near", "coord_first_far", "coord_last_near", "coord_last_far"):
        col, row, lat, lon = (float(v) for v in (root.findtext(tag) or "").split())
        assert (f[tag][0], f[tag][1]) == (col, row)
        assert f[tag][2] == pytest.approx(lat, abs=0.01) and f[tag][3] == pytest.approx(lon, abs=0.01)
    for tag in ("incidence_near", "incidence_far"):
        assert f[tag] == pytest.approx(real(tag), abs=0.01)
    assert f["heading"] == pytest.approx(real("heading"), abs=1.0)
    assert f["slant_range_to_first_pixel"] == pytest.approx(real("slant_range_to_first_pixel"), abs=1000)
    assert f["azimuth_time_interval"] == pytest.approx(real("azimuth_time_interval"), rel=0.03)
    assert f["satellite_look_angle"] == pytest.approx(real("satellite_look_angle"), abs=0.1)
    assert f["mean_earth_radius"] == pytest.approx(real("mean_earth_radius"), abs=500)
    rate = [float(c.findtext("value") or "nan") for c in root.iterfind("Doppler_Rate/coefficient")]
    assert np.allclose(f["doppler_rate_coeffs"], rate, rtol=0.05)
    grsr = [float(c.findtext("value") or "nan") for c in root.iterfind("GRSR_Coefficients/coefficient")]
    assert f["grsr_coefficients"][1] == pytest.approx(grsr[1], rel=0.01)
    assert f["number_of_dc_estimations"] == len(root.findall("Doppler_Centroid_Coefficients/dc_coefficients_list"))
    assert f["number_of_state_vectors"] == int(root.findtext("Orbit_State_Vectors/count") or 0)


# --- containers ----------------------------------------------------------------------------------------


def test_hdf5_layout_and_dtypes(slc: GeneratedProduct) -> None:
    with h5py.File(slc.raster) as h5:
        assert h5["s_i"].dtype == np.int16 and h5["s_q"].shape == (64, 48)
        assert h5["s_i"].chunks is None
        assert isinstance(h5["look_side"][()], bytes) and h5["look_side"][()] == b"left"
        info = h5py.check_string_dtype(h5["product_name"].dtype)
        assert info is not None and info.encoding == "ascii" and info.length is None
        n_sv = int(h5["number_of_state_vectors"][()])
        assert h5["state_vector_time_utc"].dtype == np.dtype("S26")
        assert h5["state_vector_time_utc"].shape == (n_sv, 1)
        assert h5["dc_estimate_time_utc"].shape == (int(h5["number_of_dc_estimations"][()]), 1)
        assert h5["spec_version"].dtype == np.float64 and h5["spec_version"][()] == 2.3
        assert h5["processor_version"].dtype == np.float64 and h5["processor_version"][()] == 1.43
        assert h5["chirp_bandwidth"].dtype == np.int64 and h5["avg_scene_height"].dtype == np.float32
        for name in ("number_of_azimuth_samples", "orbit_repeat_cycle", "ant_elev_corr_flag", "azimuth_looks"):
            assert h5[name].dtype == np.int64 and h5[name].shape == ()
        assert h5["coord_center"].dtype == np.float64 and h5["coord_center"].shape == (4,)
        assert h5["posX"].shape == (n_sv,) and not h5["angZ"][()].any()
        assert h5["dc_estimate_coeffs"].shape[1] == 4 and h5["local_incidence_angle"].shape == (48,)
        assert h5["antenna_pattern_compensation"].shape == (48, 1)
        assert "grsr_coefficients" not in h5 and "reference_pixel_time" not in h5
        assert {h5["RPC"][k].dtype for k in h5["RPC"]} == {np.dtype(np.float32)}
        assert h5["RPC/LINE_NUM_COEFF"].shape == (20,) and len(h5["RPC"]) == 14
        objects: list[Any] = [h5]
        h5.visit(lambda name: objects.append(h5[name]))
        assert all(len(obj.attrs) == 0 for obj in objects)
        assert h5["heading"][()] == slc.fields["heading"]


def test_float32_slc_and_chunks(tmp_path: Path) -> None:
    spec = ProductSpec(level="SLC", slc_dtype="float32", hdf5_chunks=(16, 16), xml=False)
    product = write_product(spec, tmp_path)
    assert product.xml is None
    with h5py.File(product.raster) as h5:
        assert h5["s_q"].dtype == np.float32 and h5["s_q"].chunks == (16, 16)
        assert h5["sample_precision"][()] == b"float32"


def test_geotiff_layout_gcps_and_rpc(grd: GeneratedProduct) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(grd.raster) as ds:
            assert (ds.count, ds.dtypes[0], ds.height, ds.width) == (1, "uint16", 64, 48)
            assert ds.crs is None and ds.transform.is_identity
            assert ds.profile["interleave"] == "band" and ds.profile.get("compress") is None
            gcps, gcp_crs = ds.gcps
            rpcs = ds.rpcs
            pixels = ds.read(1)
    assert gcp_crs.to_epsg() == 4326 and len(gcps) == 27 * 30
    assert [g.id for g in gcps[:3]] == ["1", "2", "3"] and gcps[-1].id == "810"
    assert gcps[1].col == gcps[0].col and gcps[1].row > gcps[0].row  # row index varies fastest
    assert (gcps[26].row, gcps[27].row, gcps[27].col > 0) == (63.0, 0.0, True)
    first = grd.fields["coord_first_near"]
    assert (gcps[0].y, gcps[0].x) == pytest.approx((first[2], first[3]), abs=1e-9)
    assert abs(gcps[0].z - float(grd.fields["avg_scene_height"])) < 50
    assert (rpcs.err_bias, rpcs.err_rand) == (-1.0, -1.0)
    lat, lon, h = (np.array([getattr(g, k) for g in gcps]) for k in "yxz")
    line, samp = rpc_project({k.upper(): v for k, v in rpcs.to_dict().items()}, lat, lon, h)
    assert np.abs(line - [g.row for g in gcps]).max() < 0.5 and np.abs(samp - [g.col for g in gcps]).max() < 0.5
    # GDAL's RPC transformer puts RPC line/sample 0 at the centre of the first pixel (+0.5).
    with RPCTransformer(rpcs) as transformer:
        rows, cols = transformer.rowcol(lon, lat, zs=h, op=lambda v: v)
    assert np.abs(np.asarray(rows) - 0.5 - [g.row for g in gcps]).max() < 0.5
    assert np.abs(np.asarray(cols) - 0.5 - [g.col for g in gcps]).max() < 0.5
    assert pixels.min() >= 1 and 100 < np.median(pixels) < 5000


def test_geotiff_tags_serialise_like_real_products(grd: GeneratedProduct) -> None:
    with rasterio.open(grd.raster) as ds:
        tags = ds.tags()
    assert set(tags) == GEOTIFF_KEYS | {"DATA_ORIENTATION"}
    assert tags["PROCESSOR_VERSION"] == "ICEYE_P_1.43" and tags["SPEC_VERSION"] == "2.3"
    assert tags["AREA_OR_POINT"] == "Area" and tags["CHIRP_BANDWIDTH"] == "234000000"
    assert tags["AVG_SCENE_HEIGHT"] == str(grd.fields["avg_scene_height"])
    assert tags["POSX"].startswith("[") and "," not in tags["POSX"] and "\n" in tags["POSX"]
    assert np.allclose(_parse_vector(tags["POSX"]), grd.fields["posX"], rtol=0, atol=1e-3)
    assert tags["STATE_VECTOR_TIME_UTC"].startswith("['") and "," not in tags["STATE_VECTOR_TIME_UTC"]
    stamps = re.findall(r"'([^']+)'", tags["STATE_VECTOR_TIME_UTC"])
    assert stamps == [t.decode() for t in grd.fields["state_vector_time_utc"].ravel()]
    assert tags["DC_ESTIMATE_COEFFS"].startswith("[[") and tags["DC_ESTIMATE_COEFFS"].endswith("]]")
    assert re.fullmatch(r"\[ *1\. +1\. +[-\d. ]+\]", tags["COORD_FIRST_NEAR"])
    assert np.allclose(_parse_vector(tags["COORD_FIRST_NEAR"]), grd.fields["coord_first_near"], atol=1e-8)
    assert np.allclose(_parse_vector(tags["GRSR_COEFFICIENTS"]), grd.fields["grsr_coefficients"], rtol=1e-8)
    assert float(tags["HEADING"]) == grd.fields["heading"]
    assert tags["GRSR_ZERO_DOPPLER_TIME"] == grd.fields["grsr_zero_doppler_time"]


def test_geotiff_tiling_options(tmp_path: Path) -> None:
    big = write_product(ProductSpec(shape=(300, 280), xml=False), tmp_path / "t")
    striped = write_product(ProductSpec(shape=(300, 280), xml=False, tiled=False), tmp_path / "s")
    with rasterio.open(big.raster) as tiled_ds, rasterio.open(striped.raster) as striped_ds:
        assert tiled_ds.block_shapes[0] == (256, 256)
        assert striped_ds.block_shapes[0][1] == 280


def test_containers_agree_with_each_other(grd: GeneratedProduct, slc: GeneratedProduct) -> None:
    assert grd.xml is not None and slc.xml is not None
    for product in (grd, slc):
        root = ET.parse(product.xml).getroot()  # type: ignore[arg-type]
        pos = [float(v.text or "nan") for v in root.iter("posY")]
        assert pos == list(product.fields["posY"])
        rpc = root.find("RPC")
        assert rpc is not None
        assert float(rpc.findtext("LINE_OFF") or "nan") == product.fields["rpc"]["LINE_OFF"]
        coeffs = [float(v) for v in (rpc.findtext("SAMP_NUM_COEFF") or "").split()]
        assert np.allclose(coeffs, product.fields["rpc"]["SAMP_NUM_COEFF"], rtol=1e-8, atol=1e-12)
    with h5py.File(slc.raster) as h5:
        assert np.allclose(h5["RPC/SAMP_NUM_COEFF"][()], slc.fields["rpc"]["SAMP_NUM_COEFF"], rtol=1e-6)
        assert h5["zerodoppler_end_utc"][()].decode() == ET.parse(slc.xml).getroot().findtext("zerodoppler_end_utc")


def test_pixels_show_one_stable_scene(tmp_path: Path) -> None:
    base = ProductSpec(shape=(256, 256), xml=False)
    a = write_product(base, tmp_path / "a")
    b = write_product(replace(base, seed=9, image_id=154172), tmp_path / "b")
    elsewhere = write_product(replace(base, center_lat=-33.87, center_lon=151.21), tmp_path / "c")

    def looks(product: GeneratedProduct) -> np.ndarray[Any, Any]:
        with rasterio.open(product.raster) as ds:
            dn = ds.read(1).astype(np.float64) ** 2 * float(product.fields["calibration_factor"])
        return np.asarray(10 * np.log10(dn.reshape(32, 8, 32, 8).mean(axis=(1, 3))))

    same = np.corrcoef(looks(a).ravel(), looks(b).ravel())[0, 1]
    other = np.corrcoef(looks(a).ravel(), looks(elsewhere).ravel())[0, 1]
    assert same > 0.6 and abs(other) < 0.3


def test_quicklook_png(grd: GeneratedProduct) -> None:
    assert grd.quicklook is not None
    assert grd.quicklook.name == "ICEYE_X7_QUICKLOOK_SM_154171_20211027T183203.png"
    from PIL import Image

    with Image.open(grd.quicklook) as image:
        assert image.mode == "L" and image.size == (48, 64)
        assert "date" not in image.info and "tIME" not in image.info


@pytest.mark.parametrize("level", ["GRD", "SLC"])
def test_same_spec_gives_byte_identical_files(tmp_path: Path, level: str) -> None:
    spec = ProductSpec(level=level, quicklook=True, hdf5_chunks=(32, 16))  # type: ignore[arg-type]
    first, second = write_product(spec, tmp_path / "1"), write_product(spec, tmp_path / "2")
    for one, two in zip(sorted((tmp_path / "1").iterdir()), sorted((tmp_path / "2").iterdir()), strict=True):
        assert one.name == two.name and one.read_bytes() == two.read_bytes(), one.name
    assert first.fields["product_name"] == second.fields["product_name"]


# --- demo stack ----------------------------------------------------------------------------------------


def test_demo_specs_form_a_realistic_time_series() -> None:
    specs = demo_specs()
    assert len(specs) == 10 and sum(s.level == "SLC" for s in specs) == 4
    starts = [s.acquisition_start for s in specs]
    assert starts == sorted(starts)
    gaps = [(b - a).total_seconds() / 86400 for a, b in itertools.pairwise(starts)]
    assert all(1.4 < g < 6.0 for g in gaps) and 14 < sum(gaps) < 50
    assert {s.orbit_direction for s in specs} == {"ASCENDING", "DESCENDING"}
    assert {s.look_side for s in specs} == {"left", "right"}
    assert len({s.satellite for s in specs}) >= 2
    assert {s.slc_dtype for s in specs if s.level == "SLC"} == {"int16", "float32"}
    incidences = [s.incidence_center for s in specs]
    assert min(incidences) >= 18 and max(incidences) <= 35 and len(set(incidences)) >= 5
    ids = [s.image_id for s in specs]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert {(round(s.center_lat, 2), round(s.center_lon, 2)) for s in specs} == {(16.32, 102.61)}
    assert demo_specs() == specs and demo_specs(seed=1) != specs


def test_write_stack_uses_one_folder_per_data_take(tmp_path: Path) -> None:
    specs = demo_specs(2, 1, shape=(32, 24))
    products = write_stack(specs, tmp_path)
    assert [p.raster.parent.name for p in products] == [package_name(s) for s in specs]
    assert [p.raster.suffix for p in products] == [".h5" if s.level == "SLC" else ".tif" for s in specs]
    assert all(p.quicklook is not None and p.quicklook.is_file() for p in products)
