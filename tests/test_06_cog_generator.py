"""Stage 06: synthetic ICEYE COG products and open-data catalogs look like the real ones and are self-consistent.

The side-car items are compared key for key with ICEYE's real items vendored in tests/data/iceye_cog; the
rasters are checked for the COG layout ICEYE uses; the orientation, the georeferencing (tie points, affine,
RPC, corners) and the zero-Doppler times are checked against each other with independent maths.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pystac
import pytest
import rasterio

from icecube_stac.testing import write_product
from icecube_stac.testing._rpc import rpc_project
from icecube_stac.testing.cog import (
    COG_MEDIA_TYPE,
    STAC_EXTENSIONS,
    CogProductSpec,
    GeneratedCogProduct,
    azimuth_runs_with_columns,
    cog_layout_problems,
    daily_stack_specs,
    gdal_metadata_xml,
    geohash,
    legacy_spec,
    read_tiff_tags,
    scene_stem,
    to_shadows_down,
    write_cog_product,
    write_opendata_catalog,
    xml_unescape,
)

DATA = Path(__file__).parent / "data" / "iceye_cog"
REAL = {level: DATA / f"ICEYE_6Q31WW_20251110T182058Z_7010715_X56_SLEDF_crop_{level}.json" for level in ("GRD", "SLC")}
SHAPE = (64, 48)  # (azimuth, range): TIFF 64 columns x 48 rows

# JSON types that legitimately differ from the real item: the real GRD has 10 looks and a 12.63 % overlap,
# the synthetic GRD one look and an integer 0 overlap (as the real SLC writes it).
TYPE_DIFFERENCES = {"iceye:looks_azimuth_overlap"}


def _real(level: str) -> dict[str, Any]:
    return json.loads(REAL[level].read_text())


@pytest.fixture(scope="module")
def cogs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GeneratedCogProduct]:
    root = tmp_path_factory.mktemp("cog")
    return {level: write_cog_product(CogProductSpec(level=level, shape=SHAPE), root) for level in ("GRD", "SLC")}


def _gdal_item(xml: str, name: str) -> str:
    match = re.search(rf'<Item name="{name}">(.*?)</Item>', xml, re.S)
    assert match is not None, f"{name} missing from tag 42112"
    return match.group(1)


# --- rasters -------------------------------------------------------------------------------------------


def test_grd_cog_layout(cogs: dict[str, GeneratedCogProduct]) -> None:
    product = cogs["GRD"]
    with rasterio.open(product.tif) as src:
        assert (src.count, src.dtypes, src.width, src.height) == (1, ("uint16",), SHAPE[0], SHAPE[1])
        assert src.block_shapes == [(512, 512)] and src.compression.name == "lzw"
        assert src.overviews(1) == [2] and src.nodata == 0
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert 1.0 < src.scales[0] < 1.6 and src.offsets == (0.0,)
        assert src.tags(1)["NAME"] == "amplitude"
        assert src.crs is None and src.transform.is_identity, "geocoded by tie points only"
        gcps, crs = src.gcps
        assert crs.to_epsg() == 4326 and len(gcps) == 100
        assert src.rpcs is not None
        tags = src.tags()
        assert tags["PRODUCT_NAME"] == product.name and tags["PRODUCT_FILE"] == product.tif.name
        assert int(src.read(1).min()) > 0
    assert cog_layout_problems(product.tif) == []
    main = read_tiff_tags(product.tif)[0]
    assert 33922 in main and 50844 in main and 34264 not in main  # tie points + RPC, no ModelTransformation


def test_slc_cog_layout(cogs: dict[str, GeneratedCogProduct]) -> None:
    with rasterio.open(cogs["SLC"].tif) as src:
        assert (src.count, src.dtypes) == (2, ("float32", "float32"))
        assert [src.tags(b)["NAME"] for b in (1, 2)] == ["amplitude", "phase"]
        assert src.block_shapes == [(512, 512)] * 2 and src.compression is None
        assert src.interleaving.name.lower() == "pixel" and src.overviews(1) == [] and src.nodata == 0
        amplitude, phase = src.read()
    assert amplitude.min() > 0 and -math.pi <= phase.min() < phase.max() <= math.pi
    assert cog_layout_problems(cogs["SLC"].tif) == []


def test_layout_check_flags_plain_geotiffs(tmp_path: Path) -> None:
    legacy = write_product(legacy_spec(CogProductSpec(shape=(40, 24))), tmp_path)
    assert "no COG ghost header (LAYOUT=IFDS_BEFORE_DATA)" in cog_layout_problems(legacy.raster)


def test_scene_id_is_the_geohash_of_the_real_scene() -> None:
    assert geohash(-9.541777802996052, -77.05770984890415) == "6q31ww"  # the vendored item's centroid and scene id
    assert _real("GRD")["properties"]["iceye:scene_id"] == "6Q31WW"


def test_forced_overviews_keep_the_cog_layout(tmp_path: Path) -> None:
    product = write_cog_product(CogProductSpec(shape=(300, 200), overviews=3, tile_size=64), tmp_path)
    with rasterio.open(product.tif) as src:
        assert src.overviews(1) == [2, 4, 8] and src.block_shapes == [(64, 64)]
    assert cog_layout_problems(product.tif) == []


def test_iceye_properties_tag_is_escaped_twice(cogs: dict[str, GeneratedCogProduct]) -> None:
    for product in cogs.values():
        raw = _gdal_item(gdal_metadata_xml(product.tif), "ICEYE_PROPERTIES")
        assert "&amp;quot;" in raw and '"' not in raw
        once = xml_unescape(raw)  # what an XML parser hands over
        assert once.startswith("{&quot;datetime&quot;:")
        with pytest.raises(json.JSONDecodeError):
            json.loads(once)
        embedded = json.loads(xml_unescape(once))
        assert embedded == dict(product.embedded or {})
        expected = dict(product.item["properties"])
        expected["iceye:rpc"] = {"err_bias": -1.0, "err_rand": -1.0, **expected["iceye:rpc"]}
        assert embedded == expected, "ICEYE_PROPERTIES is the item's properties plus the RPC error terms"
        with rasterio.open(product.tif) as src:  # GDAL undoes both layers itself
            assert json.loads(src.tags()["ICEYE_PROPERTIES"]) == embedded


def test_same_spec_same_bytes(tmp_path: Path) -> None:
    for level in ("GRD", "SLC"):
        spec = CogProductSpec(level=level, shape=(40, 24), seed=5, look_side="right")
        a, b = write_cog_product(spec, tmp_path / "a"), write_cog_product(spec, tmp_path / "b")
        assert a.tif.read_bytes() == b.tif.read_bytes()
        assert a.json is not None and b.json is not None and a.json.read_bytes() == b.json.read_bytes()


# --- side-car item against the real one -------------------------------------------------------------------


def _key_tree(value: Any) -> Any:
    """Key structure of a JSON value: dict keys (recursively), list element structures, leaf types."""
    if isinstance(value, dict):
        return {key: _key_tree(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_key_tree(value[0])] if value else []
    return "number" if isinstance(value, int | float) and not isinstance(value, bool) else type(value).__name__


@pytest.mark.parametrize("level", ["GRD", "SLC"])
def test_sidecar_has_the_keys_of_the_real_item(cogs: dict[str, GeneratedCogProduct], level: str) -> None:
    real, product = _real(level), cogs[level]
    assert product.json is not None
    item = json.loads(product.json.read_text())
    assert product.json.read_text() == json.dumps(item, indent=1), "serialised like the real side-car"
    assert list(item) == list(real) and item["stac_extensions"] == real["stac_extensions"] == list(STAC_EXTENSIONS)
    assert list(item["properties"]) == list(real["properties"]), "same property names in the same order"
    for key, value in real["properties"].items():
        ours = item["properties"][key]
        if key not in TYPE_DIFFERENCES:
            assert type(ours) is type(value), key
        if isinstance(value, dict | list):
            assert _key_tree(ours) == _key_tree(value), key
    assert list(item["assets"]) == list(real["assets"])
    for key, asset in real["assets"].items():
        assert {k: v for k, v in item["assets"][key].items() if k != "href"} == {
            k: v for k, v in asset.items() if k != "href"
        }
        assert "/" not in item["assets"][key]["href"]
    assert item["assets"][f"{level.lower()}-cog"]["type"] == COG_MEDIA_TYPE
    assert re.fullmatch(rf"ICEYE_7010715_{level}-COG_[0-9a-f-]{{36}}_1", item["id"])
    props = item["properties"]
    assert props["sar:center_frequency"] == 9_650_000_000, "Hz, as ICEYE writes it"
    assert props["proj:shape"] == list(SHAPE) and props["iceye:filename"] == product.tif.name
    assert props["iceye:orientation"] == "shadows-down" and props["sar:product_type"] == f"{level}-COG"


def test_grd_and_slc_of_one_acquisition_share_the_acquisition_values(cogs: dict[str, GeneratedCogProduct]) -> None:
    grd, slc = (cogs[level].item["properties"] for level in ("GRD", "SLC"))
    shared = ("iceye:calibration_factor", "iceye:image_reference", "start_datetime", "end_datetime", "created")
    for key in (*shared, "iceye:scene_id", "iceye:run_name", "platform", "sar:center_frequency"):
        assert grd[key] == slc[key], key
    assert cogs["GRD"].item["id"] != cogs["SLC"].item["id"]
    # Each frame anchors the (same) orbit on its own centre time, so the states agree to the frame level only.
    assert [s["time"] for s in grd["iceye:orbit_states"]] == [s["time"] for s in slc["iceye:orbit_states"]]
    gap = np.abs(
        np.array([s["position"] for s in grd["iceye:orbit_states"]])
        - [s["position"] for s in slc["iceye:orbit_states"]]
    )
    assert gap.max() < 100.0


# --- orientation and geometry -------------------------------------------------------------------------------


def _ecef(lat: float, lon: float, h: float) -> np.ndarray:
    a, f = 6378137.0, 1 / 298.257223563
    e2 = f * (2 - f)
    phi, lam = math.radians(lat), math.radians(lon)
    n = a / math.sqrt(1 - e2 * math.sin(phi) ** 2)
    return np.array(
        [
            (n + h) * math.cos(phi) * math.cos(lam),
            (n + h) * math.cos(phi) * math.sin(lam),
            (n * (1 - e2) + h) * math.sin(phi),
        ]
    )


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _zero_doppler_time(props: dict[str, Any], lon: float, lat: float) -> float:
    """Solve (X - P(t)) . V(t) = 0 against the item's orbit states (linear in between states)."""
    states = props["iceye:orbit_states"]
    times = np.array([_seconds(s["time"]) for s in states])
    pos, vel = np.array([s["position"] for s in states]), np.array([s["velocity"] for s in states])
    doppler = np.sum((_ecef(lat, lon, props["iceye:average_scene_height"]) - pos) * vel, axis=1)
    k = int(np.flatnonzero(np.diff(np.sign(doppler)))[0])
    return float(times[k] + (times[k + 1] - times[k]) * doppler[k] / (doppler[k] - doppler[k + 1]))


def _bearing(dlon: float, dlat: float, lat: float) -> float:
    return math.degrees(math.atan2(dlon * math.cos(math.radians(lat)), dlat)) % 360.0


def _angle_gap(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


@pytest.mark.parametrize("look_side", ["left", "right"])
@pytest.mark.parametrize("orbit", ["ascending", "descending"])
@pytest.mark.parametrize("level", ["GRD", "SLC"])
def test_orientation_rule(tmp_path: Path, look_side: str, orbit: str, level: str) -> None:
    spec = CogProductSpec(level=level, look_side=look_side, orbit_direction=orbit, shape=(80, 40))
    props = write_cog_product(spec, tmp_path).item["properties"]
    width, height = props["proj:shape"]
    lon0, a, b, lat0, d, e = props["proj:transform"]
    # Range down the rows: the incidence polynomial gives near at row 0 and far at the last row.
    ends = np.polynomial.polynomial.polyval([0.0, height - 1.0], props["iceye:incidence_angle_coeffs"])
    assert ends == pytest.approx([props["iceye:incidence_angle_near"], props["iceye:incidence_angle_far"]], abs=1e-5)
    assert props["iceye:incidence_angle_near"] < props["view:incidence_angle"] < props["iceye:incidence_angle_far"]
    # Azimuth along the columns, in the direction the look side says.
    mid = (height - 1) / 2.0
    first = _zero_doppler_time(props, lon0 + b * mid, lat0 + e * mid)
    last = _zero_doppler_time(props, lon0 + a * (width - 1) + b * mid, lat0 + d * (width - 1) + e * mid)
    start, end = (
        _seconds(props["iceye:zero_doppler_start_datetime"]),
        _seconds(props["iceye:zero_doppler_end_datetime"]),
    )
    line = (end - start) / (width - 1)
    expected = (start, end) if look_side == "right" else (end, start)
    assert azimuth_runs_with_columns(look_side) is (look_side == "right")
    assert abs(first - expected[0]) < 0.5 * line and abs(last - expected[1]) < 0.5 * line
    # Rows point along the look direction (shadow angle), columns along or against the flight.
    heading = (props["view:azimuth"] + (-90.0 if look_side == "left" else 90.0)) % 360.0
    assert _angle_gap(_bearing(b, e, lat0), props["iceye:shadow_angle"]) < 1.0
    assert _angle_gap(_bearing(a, d, lat0), heading if look_side == "right" else heading + 180.0) < 1.0
    assert (heading < 90 or heading > 270) is (orbit == "ascending")


@pytest.mark.parametrize("level", ["GRD", "SLC"])
def test_tie_points_rpc_transform_and_footprint_agree(cogs: dict[str, GeneratedCogProduct], level: str) -> None:
    product = cogs[level]
    props = product.item["properties"]
    lon0, a, b, lat0, d, e = props["proj:transform"]
    with rasterio.open(product.tif) as src:
        gcps, _ = src.gcps
        rpc = {key.upper(): value for key, value in src.rpcs.to_dict().items()}
        width, height = src.width, src.height
    cols, rows = np.array([g.col for g in gcps]), np.array([g.row for g in gcps])
    lon, lat, z = (np.array([getattr(g, k) for g in gcps]) for k in "xyz")
    assert (cols.min(), cols.max(), rows.min(), rows.max()) == (0, width - 1, 0, height - 1)
    assert np.allclose(lon, lon0 + a * cols + b * rows, atol=1e-9) and np.allclose(
        lat, lat0 + d * cols + e * rows, atol=1e-9
    )
    assert np.all(z == props["iceye:average_scene_height"])
    line, samp = rpc_project(rpc, lat, lon, z)
    assert np.abs(line - rows).max() < 0.05 and np.abs(samp - cols).max() < 0.05, "RPC line = row, sample = column"
    assert rpc["LINE_OFF"] == pytest.approx(props["iceye:rpc"]["line_off"])
    ring = product.item["geometry"]["coordinates"][0]
    corners = [(0, 0), (width - 1, 0), (width - 1, height - 1), (0, height - 1), (0, 0)]
    expected = [[lon0 + a * c + b * r, lat0 + d * c + e * r] for c, r in corners]
    assert np.allclose(ring, expected, rtol=0, atol=1e-12)
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    assert product.item["bbox"] == pytest.approx([min(lons), min(lats), max(lons), max(lats)])
    assert props["iceye:scene_id"] == "6Q31WW" and props["proj:centroid"]["lat"] == pytest.approx(-9.5418, abs=1e-3)


def test_grd_cog_shows_the_legacy_scene(tmp_path: Path, cogs: dict[str, GeneratedCogProduct]) -> None:
    spec = cogs["GRD"].spec
    legacy = write_product(legacy_spec(spec), tmp_path)
    with rasterio.open(legacy.raster) as old, rasterio.open(cogs["GRD"].tif) as new:
        dn_legacy, dn, scale = old.read(1), new.read(1), new.scales[0]
    assert np.array_equal(dn, to_shadows_down(dn_legacy, spec.look_side))
    factor = cogs["GRD"].item["properties"]["iceye:calibration_factor"]
    assert factor * scale**2 == pytest.approx(float(legacy.fields["calibration_factor"]), rel=1e-12)


def test_slc_calibration_and_amplitude_mapping(tmp_path: Path, cogs: dict[str, GeneratedCogProduct]) -> None:
    spec = CogProductSpec(level="SLC", shape=SHAPE, amplitude_mapping=(1.0, 0.5), tile_size=64)
    mapped = write_cog_product(spec, tmp_path)
    assert mapped.item["properties"]["iceye:amplitude_mapping"] == {
        "function": "power",
        "parameters": {"scale": 1.0, "exponent": 0.5},
    }
    with rasterio.open(mapped.tif) as src, rasterio.open(cogs["SLC"].tif) as plain:
        stored, phase = src.read()
        amplitude, plain_phase = plain.read()
    assert np.allclose(
        stored.astype(np.float64) ** (1.0 / 0.5), amplitude, rtol=1e-5
    )  # QGIS: stored ** (scale / exponent)
    assert np.array_equal(phase, plain_phase)
    legacy = write_product(legacy_spec(spec), tmp_path / "legacy")
    with h5py.File(legacy.raster) as h5:
        beta0_legacy = (h5["s_i"][()].astype(np.float64) ** 2 + h5["s_q"][()].astype(np.float64) ** 2) * float(
            legacy.fields["calibration_factor"]
        )
    beta0 = cogs["SLC"].item["properties"]["iceye:calibration_factor"] * amplitude.astype(np.float64) ** 2
    assert np.allclose(beta0, to_shadows_down(beta0_legacy, spec.look_side), rtol=1e-5)


# --- variants and traps ---------------------------------------------------------------------------------------


def test_without_sidecar_the_tiff_is_the_only_metadata(tmp_path: Path) -> None:
    product = write_cog_product(CogProductSpec(with_sidecar=False), tmp_path)
    assert product.json is None and sorted(p.suffix for p in tmp_path.iterdir()) == [".tif"]
    assert json.loads(xml_unescape(xml_unescape(_gdal_item(gdal_metadata_xml(product.tif), "ICEYE_PROPERTIES"))))
    bare = write_cog_product(CogProductSpec(embed_properties=False, image_id=7010716), tmp_path / "bare")
    assert "ICEYE_PROPERTIES" not in gdal_metadata_xml(bare.tif) and bare.embedded is None


@pytest.mark.parametrize("level", ["GRD", "SLC"])
def test_preview_2024_generation(tmp_path: Path, level: str) -> None:
    spec = CogProductSpec(level=level, preview_2024=True, acquisition_start=datetime(2024, 1, 22, 21, 56, 6))
    product = write_cog_product(spec, tmp_path)
    assert product.tif.name.endswith("_AML.tif" if level == "GRD" else "_CPX.tif")
    xml = gdal_metadata_xml(product.tif)
    assert "ICEYE_PROPERTIES" not in xml and "&amp;quot;" in _gdal_item(xml, "METADATA_JSON")
    document = json.loads(xml_unescape(xml_unescape(_gdal_item(xml, "METADATA_JSON"))))
    assert set(document) == {"orbit_direction", "data", "collection"}
    assert document["data"]["sample"]["size"] == {"rg": SHAPE[1], "az": SHAPE[0]}
    assert document["collection"]["look_side"] == "left" and document["data"]["type"] == (
        "AML" if level == "GRD" else "CPX"
    )
    tags = read_tiff_tags(product.tif)[0]
    assert 34264 in tags and 33922 not in tags, "geocoded by a ModelTransformation"
    with rasterio.open(product.tif) as src:
        assert src.crs.to_epsg() == 4326
        lon0, a, b, lat0, d, e = product.item["properties"]["proj:transform"]
        assert tuple(src.transform)[:6] == pytest.approx((a, b, lon0, d, e, lat0))
    assert product.json is not None and json.loads(product.json.read_text()) == document


@pytest.mark.parametrize(
    ("mode", "family"), [("SM", "stripmap"), ("SCW", "scan"), ("SLF3L", "spotlight"), ("XQ9", "stripmap")]
)
def test_any_mode_code_makes_a_product(tmp_path: Path, mode: str, family: str) -> None:
    props = write_cog_product(CogProductSpec(mode=mode, shape=(24, 16)), tmp_path).item["properties"]
    assert props["iceye:processing_mode"] == mode and props["sar:instrument_mode"] == family
    assert props["iceye:filename"].endswith(f"_{mode}_GRD.tif")
    spot = write_cog_product(CogProductSpec(mode=mode, shape=(24, 16), instrument_mode="spot"), tmp_path / "s")
    assert spot.item["properties"]["sar:instrument_mode"] == "spot"


@pytest.mark.parametrize(
    "bad",
    [
        {"mode": "sm"},
        {"mode": "S"},
        {"amplitude_mapping": (1.0, 0.5)},
        {"tile_size": 100},
        {"orbit_direction": "north"},
    ],
)
def test_bad_specs_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="CogProductSpec"):
        CogProductSpec(**bad)


# --- open-data catalog ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def opendata(tmp_path_factory: pytest.TempPathFactory) -> Any:
    specs = [*daily_stack_specs(3, levels=("GRD", "SLC")), CogProductSpec(level="GRD", tile_size=64)]
    return write_opendata_catalog(specs, tmp_path_factory.mktemp("opendata"))


def test_opendata_catalog_layout(opendata: Any) -> None:
    root = opendata.root
    assert (root / "catalog.json").is_file() and (root / "collections" / "iceye-sar.json").is_file()
    assert len(opendata.scenes) == 4
    for scene in opendata.scenes:
        start = scene.item["properties"]["start_datetime"]
        assert scene.item_path == root / "stac-items" / start[:4] / start[5:7] / f"{scene.stem}.json"
        folder = root / "data" / scene.item["properties"]["sar:instrument_mode"] / scene.stem
        levels = [p.spec.level for p in scene.products]
        for level in levels:
            assert (folder / f"{scene.stem}_{level}.tif").is_file() and (
                folder / f"{scene.stem}_{level}.json"
            ).is_file()
        item = json.loads(scene.item_path.read_text())
        assert 18 <= len(item["properties"]) <= 22
        assert 9.0 < item["properties"]["sar:center_frequency"] < 10.0, "GHz in scene items"
        assets = item["assets"]
        assert {f"{lv.lower()}-{kind}" for lv in levels for kind in ("cog", "json")} <= set(assets)
        assert {"qlk-cog", "qlk-json", "qlk-kml", "thumbnail"} <= set(assets)
        for level in levels:
            assert assets[f"{level.lower()}-cog"]["type"] == "application/x-geotiff"
        empty = {key for key, asset in assets.items() if asset["href"] == ""}
        assert "qlk-json" in empty
        assert ({"csi-cog", "vid-cog"} <= empty) is scene.stem.endswith("_SLEDF")
        for key, asset in assets.items():
            if asset["href"]:
                assert (scene.item_path.parent / asset["href"]).resolve().is_file(), key


def test_opendata_catalog_reads_with_pystac(opendata: Any) -> None:
    catalog = pystac.Catalog.from_file(str(opendata.catalog))
    items = sorted(catalog.get_items(recursive=True), key=lambda i: i.id)
    assert [i.id for i in items] == sorted(scene.stem for scene in opendata.scenes)
    for item in items:
        assert item.collection_id == "iceye-sar"
        assert Path(item.assets["grd-cog"].get_absolute_href() or "").is_file()


def test_opendata_hrefs_can_be_urls(tmp_path: Path) -> None:
    spec = CogProductSpec(level="GRD", mode="SM", tile_size=64)
    scene = write_opendata_catalog([spec], tmp_path, href_base="https://bucket.example/").scenes[0]
    href = scene.item["assets"]["grd-cog"]["href"]
    assert href == f"https://bucket.example/data/stripmap/{scene_stem(spec)}/{scene_stem(spec)}_GRD.tif"


def test_daily_stack_is_not_coregistered() -> None:
    specs = daily_stack_specs(19)
    shapes = np.array([s.shape for s in specs], dtype=float)
    spread = (shapes.max(axis=0) - shapes.min(axis=0)) / shapes.mean(axis=0)
    assert np.all(spread > 0) and np.all(spread < 0.05), "1-3 % (+-1 px on tiny rasters)"
    assert len({scene_stem(s).split("_")[1] for s in specs}) > 1, "the geohash changes within the stack"
    assert len({(s.satellite, s.look_side, s.orbit_direction, s.mode) for s in specs}) == 1
    assert len({(round(s.center_lat, 2), round(s.center_lon, 2)) for s in specs}) == 1, "one imaged place"


@pytest.mark.parametrize("level", ["GRD", "SLC"])
@pytest.mark.parametrize("mode", ["SM", "SC", "SLEDF"])
@pytest.mark.parametrize("look_side", ["left", "right"])
def test_sidecars_follow_iceyes_product_spec_schema(level: str, mode: str, look_side: str) -> None:
    # Stripmap and scan once carried the legacy 234 MHz bandwidth, below the spec's 300 MHz minimum.
    from icecube_stac.iceye_items import _iceye_validator
    from icecube_stac.testing.cog import cog_item_for

    item = cog_item_for(CogProductSpec(level=level, mode=mode, look_side=look_side, shape=SHAPE))  # type: ignore[arg-type]
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _iceye_validator().iter_errors(item)]
    assert problems == []
    props = item["properties"]
    assert 300e6 <= props["iceye:pulse_bandwidth"] == props["iceye:processing_bandwidth_range"] <= 1200e6
    assert props["iceye:acquisition_range_sampling_rate"] > props["iceye:pulse_bandwidth"]
