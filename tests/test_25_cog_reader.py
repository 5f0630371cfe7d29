"""ICEYE COG products: normalised items, the orientation decided from the data, the readers, and bad input."""

from __future__ import annotations

import copy
import itertools
import json
import pickle
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio

from icecube_stac._validation import problems
from icecube_stac.errors import LoadError, MetadataError, UnsupportedProductError
from icecube_stac.formats._cog_geometry import decide_layout
from icecube_stac.formats.cog import item_from_cog_product
from icecube_stac.iceye_items import (
    ICEYE_SCHEMA_URI,
    IceyeSchemaWarning,
    affine_from_gdal,
    normalise_iceye_item,
)
from icecube_stac.item import parse_item
from icecube_stac.readers import ContainerName, get_reader
from icecube_stac.testing.cog import (
    CogProductSpec,
    azimuth_runs_with_columns,
    cog_item_for,
    write_cog_product,
    write_opendata_catalog,
)
from icecube_stac.vocabulary import Container

DATA = Path(__file__).parent / "data" / "iceye_cog"
REAL = {level: DATA / f"ICEYE_6Q31WW_20251110T182058Z_7010715_X56_SLEDF_crop_{level}.json" for level in ("GRD", "SLC")}


def _quiet_item(path: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("error", IceyeSchemaWarning)  # generated side-cars follow ICEYE's product spec
        return item_from_cog_product(path)


def _direct(tif: Path, level: str, look: str, sign: int = 1) -> np.ndarray:
    """Read a COG with rasterio and apply the documented layout: transpose, reverse azimuth if left-looking."""
    with rasterio.open(tif) as src:
        raw = src.read().astype(np.float64)
    values = raw[0] if level == "GRD" else raw[0] * np.exp(sign * 1j * raw[1])
    cube = values.T
    return cube if azimuth_runs_with_columns(look) else cube[::-1]


# --- normalised items -----------------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["GRD", "SLC"])
def test_real_side_car_normalises_and_validates(level: str) -> None:
    raw = json.loads(REAL[level].read_text())
    item = normalise_iceye_item(raw, base_href=DATA, source=str(REAL[level]))
    data = item.to_dict(include_self_link=False, transform_hrefs=False)
    props, asset = data["properties"], data["assets"]["data"]
    assert data["id"] == raw["id"] and data["stac_version"] == "1.1.0"
    assert props["sar:center_frequency"] == pytest.approx(9.6)
    assert props["product:type"] == props["sar:product_type"] == level
    assert (props["platform"], props["constellation"]) == ("iceye-x56", "iceye")
    width, height = raw["properties"]["proj:shape"]
    assert asset["proj:shape"] == [height, width]  # STAC [rows, cols] of the raster
    assert props["icecube:sensor_shape"] == [width, height]  # [azimuth, range]: azimuth along the columns
    assert asset["proj:transform"] == affine_from_gdal(raw["properties"]["proj:transform"])
    assert asset["data_type"] == ("uint16" if level == "GRD" else "cfloat32")
    assert {k: v for k, v in raw["properties"].items() if k.startswith("iceye:")} == {
        k: v for k, v in props.items() if k.startswith("iceye:")
    }
    assert {f"{level.lower()}-cog", f"{level.lower()}-json", "data", "metadata"} <= set(data["assets"])
    assert ICEYE_SCHEMA_URI in data["stac_extensions"]
    assert problems({**data, "stac_extensions": [e for e in data["stac_extensions"] if e != ICEYE_SCHEMA_URI]}) == []


def test_real_left_looking_frame_has_column_zero_at_the_aperture_end() -> None:
    """The orbit geometry of ICEYE's real item reproduces SNAP's finding on the real frame."""
    parsed = parse_item(normalise_iceye_item(json.loads(REAL["GRD"].read_text()), base_href=DATA))
    assert parsed.container == Container.COG_GRD
    assert (parsed.orientation.transposed, parsed.orientation.azimuth_reversed) == (True, True)
    assert not parsed.orientation.range_reversed
    assert parsed.shape == (1024, 512)


@pytest.mark.parametrize(("look", "orbit"), list(itertools.product(["left", "right"], ["ascending", "descending"])))
@pytest.mark.parametrize("level", ["GRD", "SLC"])
def test_orientation_from_geometry_and_fallbacks_on_both_look_sides(look: str, orbit: str, level: str) -> None:
    item = cog_item_for(CogProductSpec(level=level, look_side=look, orbit_direction=orbit))
    props = item["properties"]
    width, height = props["proj:shape"]
    transform = affine_from_gdal(props["proj:transform"])
    expected = not azimuth_runs_with_columns(look)
    geometry = decide_layout(props, (height, width), transform, look)
    assert (geometry.range_along_rows, geometry.azimuth_reversed, geometry.range_reversed) == (True, expected, False)
    # Without the orbit the polynomial and the look side decide, and agree.
    without = {k: v for k, v in props.items() if k != "iceye:orbit_states"}
    assert decide_layout(without, (height, width), None, look) == decide_layout(without, (height, width), None, look)
    fallback = decide_layout(without, (height, width), None, look)
    assert (fallback.range_along_rows, fallback.azimuth_reversed) == (True, expected)
    # The geometry alone, with the look side lying, still says the truth.
    liar = "right" if look == "left" else "left"
    assert decide_layout(props, (height, width), transform, liar).azimuth_reversed == expected


def test_geometry_and_polynomial_conflict_is_an_error() -> None:
    props = copy.deepcopy(cog_item_for(CogProductSpec())["properties"])
    near, far = props["iceye:incidence_angle_near"], props["iceye:incidence_angle_far"]
    coeffs = props["iceye:incidence_angle_coeffs"]
    _, height = props["proj:shape"]
    # A polynomial that runs far -> near down the rows, against the orbit geometry.
    slope = (near - far) / (height - 1)
    props["iceye:incidence_angle_coeffs"] = [far, slope, 0.0, 0.0]
    assert coeffs != props["iceye:incidence_angle_coeffs"]
    with pytest.raises(MetadataError, match="incidence"):
        normalise_iceye_item({**cog_item_for(CogProductSpec()), "properties": props})


def test_scene_items_pick_a_product_and_drop_empty_hrefs(tmp_path: Path) -> None:
    specs = [CogProductSpec(level="GRD", mode="SLEDF"), CogProductSpec(level="SLC", mode="SLEDF")]
    catalog = write_opendata_catalog(specs, tmp_path)
    scene = catalog.scenes[0]
    with pytest.raises(MetadataError, match="level='GRD' or 'SLC'"):
        normalise_iceye_item(scene.item, base_href=scene.item_path.parent)
    for level in ("GRD", "SLC"):
        item = normalise_iceye_item(scene.item, base_href=scene.item_path.parent, level=level)  # type: ignore[arg-type]
        assert item.properties["product:type"] == level
        assert item.properties["sar:center_frequency"] == scene.item["properties"]["sar:center_frequency"]  # GHz
        assert "qlk-json" not in item.assets and "csi-cog" not in item.assets  # empty hrefs
        assert Path(item.assets["data"].href).is_file()
        assert ("icecube:sensor_shape" in item.properties) == (level == "GRD")  # the scene shape is the GRD's
        assert not [link for link in item.links if link.rel in ("root", "parent", "collection")]
        parsed = parse_item(item)
        assert parsed.orientation.transposed
        with get_reader(parsed.container).open(parsed.data_href) as raster:
            assert raster.shape == scene.products[0 if level == "GRD" else 1].spec.shape


def test_items_that_break_icye_schema_drop_its_declaration_with_a_warning() -> None:
    with pytest.warns(IceyeSchemaWarning, match="iceye:amplitude_mapping"):
        item = normalise_iceye_item(cog_item_for(CogProductSpec(level="SLC", amplitude_mapping=(1.0, 0.25))))
    assert ICEYE_SCHEMA_URI not in item.stac_extensions
    assert item.properties["iceye:amplitude_mapping"]["function"] == "power"


def test_unknown_mode_codes_are_kept() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IceyeSchemaWarning)
        item = normalise_iceye_item(cog_item_for(CogProductSpec(mode="QZX7")))
    assert item.properties["iceye:processing_mode"] == "QZX7"
    assert parse_item(item).container == Container.COG_GRD


def test_container_name_equals_the_plain_name_and_pickles_its_options() -> None:
    name = ContainerName(Container.COG_SLC, {"phase_sign": "-1", "transposed": "1"})
    assert name == "cog-slc" and hash(name) == hash("cog-slc") and {("cog-slc", "x"): 1}[(name, "x")] == 1
    again = pickle.loads(pickle.dumps(name))
    assert again.options == name.options and isinstance(again, ContainerName)
    assert get_reader(again).options.phase_sign == -1  # type: ignore[attr-defined]


# --- readers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("look", "level"), list(itertools.product(["left", "right"], ["GRD", "SLC"])))
def test_reader_windows_match_a_direct_read(tmp_path: Path, look: str, level: str) -> None:
    product = write_cog_product(CogProductSpec(level=level, look_side=look, shape=(70, 37), seed=3), tmp_path)
    parsed = parse_item(_quiet_item(product.tif))
    expected = _direct(product.tif, level, look)
    rng = np.random.default_rng(1)
    with get_reader(parsed.container).open(parsed.data_href) as raster:
        assert raster.shape == (70, 37) == parsed.shape
        full = raster.read(slice(0, 70), slice(0, 37))
        np.testing.assert_allclose(full, expected, rtol=2e-6, atol=1e-3)
        for _ in range(12):  # windows anywhere, edges included
            a0, r0 = int(rng.integers(0, 70)), int(rng.integers(0, 37))
            a1, r1 = int(rng.integers(a0 + 1, 71)), int(rng.integers(r0 + 1, 38))
            np.testing.assert_array_equal(raster.read(slice(a0, a1), slice(r0, r1)), full[a0:a1, r0:r1])
        for window in ((slice(69, 70), slice(36, 37)), (slice(0, 1), slice(0, 1))):
            np.testing.assert_array_equal(raster.read(*window), full[window])
    assert full.dtype == (np.uint16 if level == "GRD" else np.complex64)


def test_slc_phase_sign_from_item_or_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    product = write_cog_product(CogProductSpec(level="SLC", look_side="right"), tmp_path)
    item = _quiet_item(product.tif)
    plus = parse_item(item)
    monkeypatch.setenv("ICECUBE_STAC_PHASE_SIGN", "-1")
    minus = parse_item(item)
    with get_reader(plus.container).open(plus.data_href) as a, get_reader(minus.container).open(minus.data_href) as b:
        np.testing.assert_array_equal(b.read(slice(0, 64), slice(0, 48)), np.conj(a.read(slice(0, 64), slice(0, 48))))
    item.properties["icecube:phase_sign"] = 1  # the item field wins over the environment
    assert parse_item(item).container.options == plus.container.options  # type: ignore[attr-defined]
    monkeypatch.setenv("ICECUBE_STAC_PHASE_SIGN", "sideways")
    del item.properties["icecube:phase_sign"]
    with pytest.raises(LoadError, match="ICECUBE_STAC_PHASE_SIGN"):
        parse_item(item)


def test_amplitude_mapping_is_undone(tmp_path: Path) -> None:
    mapped = write_cog_product(CogProductSpec(level="SLC", amplitude_mapping=(1.0, 0.25)), tmp_path / "m")
    plain = write_cog_product(CogProductSpec(level="SLC"), tmp_path / "p")
    out = []
    with pytest.warns(IceyeSchemaWarning, match="iceye:amplitude_mapping"):  # a field v0.2.2 does not define
        mapped_item = item_from_cog_product(mapped.tif)
    for item in (mapped_item, _quiet_item(plain.tif)):
        parsed = parse_item(item)
        with get_reader(parsed.container).open(parsed.data_href) as raster:
            out.append(raster.read(slice(0, 64), slice(0, 48)))
    np.testing.assert_allclose(out[0], out[1], rtol=1e-4)


def test_grd_band_scale_is_recorded_not_applied(tmp_path: Path) -> None:
    product = write_cog_product(CogProductSpec(level="GRD"), tmp_path)
    parsed = parse_item(_quiet_item(product.tif))
    with rasterio.open(product.tif) as src:
        scale = src.scales[0]
    assert parsed.amplitude_scale == pytest.approx(scale) and parsed.amplitude_offset == 0.0
    assert parsed.amplitude_scale != 1.0
    # Without the raster header (a side-car normalised on its own) the scale is unknown, not guessed.
    alone = parse_item(normalise_iceye_item(json.loads(product.json.read_text()), base_href=tmp_path))  # type: ignore[union-attr]
    assert np.isnan(alone.amplitude_scale)


def test_embedded_properties_are_the_fallback_without_side_car(tmp_path: Path) -> None:
    product = write_cog_product(CogProductSpec(level="GRD", with_sidecar=False), tmp_path)
    item = _quiet_item(product.tif)
    assert item.id == product.name
    assert item.properties["iceye:image_id"] == product.spec.image_id
    assert item.properties["iceye:rpc"]["err_bias"] == -1.0  # only ICEYE_PROPERTIES has the RPC errors
    assert parse_item(item).shape == product.spec.shape


# --- bad input: one clear failure each, naming the file and the field --------------------------------------


def _copy(product: Any, folder: Path) -> Path:
    folder.mkdir()
    for path in (product.tif, product.json):
        if path is not None:
            shutil.copy(path, folder / path.name)
    return folder / product.tif.name


def test_truncated_cog(tmp_path: Path) -> None:
    product = write_cog_product(CogProductSpec(level="GRD", shape=(600, 40)), tmp_path / "src")
    tif = _copy(product, tmp_path / "cut")
    tif.write_bytes(tif.read_bytes()[: tif.stat().st_size - 500])
    with pytest.raises(MetadataError, match="truncated") as info:
        item_from_cog_product(tif)
    assert info.value.field == "TileOffsets" and tif.name in str(info.value)


def test_band_missing_or_misnamed(tmp_path: Path) -> None:
    grd = write_cog_product(CogProductSpec(level="GRD"), tmp_path / "grd")
    slc = write_cog_product(CogProductSpec(level="SLC"), tmp_path / "slc")
    # An SLC side-car next to a one-band raster: a band is missing.
    odd = tmp_path / "odd"
    odd.mkdir()
    shutil.copy(grd.tif, odd / slc.tif.name)
    shutil.copy(slc.json, odd / slc.json.name)  # type: ignore[arg-type]
    with pytest.raises(MetadataError, match="2 band") as info:
        item_from_cog_product(odd / slc.json.name)  # type: ignore[union-attr]
    assert info.value.field == "bands"
    renamed = _copy(slc, tmp_path / "renamed")
    parsed = parse_item(_quiet_item(renamed))  # an item made before the band was renamed (or elsewhere)
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(renamed, "r+", IGNORE_COG_LAYOUT_BREAK="YES") as dst:
        dst.update_tags(2, NAME="intensity")
    with pytest.raises(MetadataError, match="'intensity'") as info:
        get_reader(parsed.container).open(parsed.data_href)
    assert info.value.field == "NAME" and renamed.name in str(info.value)
    with pytest.raises(MetadataError, match="'intensity'") as info:  # and reading the product says so too
        item_from_cog_product(renamed)
    assert info.value.field == "NAME" and renamed.name in str(info.value)


def test_side_car_and_raster_of_different_sizes(tmp_path: Path) -> None:
    product = write_cog_product(CogProductSpec(level="GRD"), tmp_path / "src")
    tif = _copy(product, tmp_path / "bad")
    sidecar = tif.with_suffix(".json")
    data = json.loads(sidecar.read_text())
    data["properties"]["proj:shape"] = [65, 48]
    sidecar.write_text(json.dumps(data))
    with pytest.raises(MetadataError, match=r"\[65, 48\]") as info:
        item_from_cog_product(tif)
    assert info.value.field == "proj:shape" and sidecar.name in str(info.value)


def test_side_car_without_iceye_fields(tmp_path: Path) -> None:
    product = write_cog_product(CogProductSpec(level="GRD"), tmp_path / "src")
    tif = _copy(product, tmp_path / "bare")
    sidecar = tif.with_suffix(".json")
    data = json.loads(sidecar.read_text())
    data["properties"] = {k: v for k, v in data["properties"].items() if not k.startswith("iceye:")}
    sidecar.write_text(json.dumps(data))
    with pytest.raises(MetadataError, match="0 iceye: fields") as info:
        item_from_cog_product(sidecar)
    assert info.value.field == "iceye:image_id" and sidecar.name in str(info.value)


@pytest.mark.parametrize(
    ("text", "match"),
    [('{"datetime": "2025-', "not valid JSON"), ("[1, 2]", "not an object"), ("&amp;quot;a&amp;quot;", "not valid")],
)
def test_broken_iceye_properties(tmp_path: Path, text: str, match: str) -> None:
    product = write_cog_product(CogProductSpec(level="GRD", with_sidecar=False), tmp_path / "src")
    tif = _copy(product, tmp_path / "broken")
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(tif, "r+", IGNORE_COG_LAYOUT_BREAK="YES") as dst:
        dst.update_tags(ICEYE_PROPERTIES=text)
    with pytest.raises(MetadataError, match=match) as info:
        item_from_cog_product(tif)
    assert info.value.field == "ICEYE_PROPERTIES" and tif.name in str(info.value)


def test_one_escaping_layer_too_many_is_repaired(tmp_path: Path) -> None:
    product = write_cog_product(CogProductSpec(level="GRD", with_sidecar=False), tmp_path / "src")
    tif = _copy(product, tmp_path / "escaped")
    text = json.dumps(dict(product.embedded or {})).replace('"', "&quot;")
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(tif, "r+", IGNORE_COG_LAYOUT_BREAK="YES") as dst:
        dst.update_tags(ICEYE_PROPERTIES=text)
    assert _quiet_item(tif).properties["iceye:image_id"] == product.spec.image_id


@pytest.mark.parametrize("with_sidecar", [True, False])
def test_2024_preview_generation_is_unsupported(tmp_path: Path, with_sidecar: bool) -> None:
    product = write_cog_product(CogProductSpec(level="GRD", preview_2024=True, with_sidecar=with_sidecar), tmp_path)
    with pytest.raises(UnsupportedProductError, match="2024 preview"):
        item_from_cog_product(product.tif)
    if product.json is not None:
        with pytest.raises(UnsupportedProductError, match="2024 preview"):
            normalise_iceye_item(json.loads(product.json.read_text()))


def test_bad_values_name_their_field() -> None:
    item = cog_item_for(CogProductSpec())
    item["properties"]["sar:center_frequency"] = 50_000
    with pytest.raises(MetadataError) as info:
        normalise_iceye_item(item)
    assert info.value.field == "sar:center_frequency" and "50000" in str(info.value)
    raw = json.loads(REAL["GRD"].read_text())
    with pytest.raises(LoadError, match="normalise it first"):
        import pystac

        parse_item(pystac.Item.from_dict(raw))
