"""Stage 30: STAC items and collections, validated offline against the vendored schemas."""

from __future__ import annotations

import socket
from pathlib import Path

import pystac
import pytest
from shapely.geometry import shape

from icecube_stac.errors import MetadataError
from icecube_stac.formats.xml import read_xml_metadata
from icecube_stac.stac import (
    STAC_EXTENSIONS,
    create_collection,
    create_item,
    footprint_geometry,
    item_from_product,
    validate,
)
from icecube_stac.testing import GeneratedProduct


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("validation tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_item_from_real_xml(real_xml: Path, no_network: None) -> None:
    item = create_item(read_xml_metadata(real_xml), data_href="/data/x.tif", metadata_href=str(real_xml))
    props = item.properties
    assert item.id == "ICEYE_X7_GRD_SM_154171_20211027T183203"
    assert item.to_dict()["properties"]["datetime"] == "2021-10-27T18:32:08.609881Z"
    assert props["start_datetime"] == "2021-10-27T18:32:03.611924Z"
    assert props["end_datetime"] == "2021-10-27T18:32:13.607838Z"
    assert props["sar:center_frequency"] == 9.65
    assert props["sar:product_type"] == props["product:type"] == "GRD"
    assert props["sar:observation_direction"] == "right"
    assert props["sat:orbit_state"] == "descending"
    assert props["view:incidence_angle"] == pytest.approx(17.02742328957619)
    assert props["view:azimuth"] == pytest.approx((191.11963464105378 - 90) % 360, abs=1e-6)
    assert props["proj:code"] is None
    assert props["proj:shape"] == [26447, 17617]
    assert props["platform"] == "iceye-x7"
    assert item.assets["data"].roles == ["data", "amplitude"]
    assert item.assets["data"].extra_fields["created"] == "2021-10-28T08:30:21Z"
    ring = item.geometry["coordinates"][0]  # type: ignore[index]
    assert ring[0] == ring[-1] and len(ring) == 5
    assert item.bbox == pytest.approx([102.34619575760252, 15.99000691386517, 102.8713421479924, 16.652938069357596])
    assert set(item.stac_extensions) == set(STAC_EXTENSIONS)
    used = validate(item)
    assert len(used) == 1 + len(STAC_EXTENSIONS)


def test_item_from_generated_products(grd: GeneratedProduct, slc: GeneratedProduct, no_network: None) -> None:
    grd_item = item_from_product(grd.raster)
    slc_item = item_from_product(slc.raster)
    assert grd_item.assets["data"].extra_fields["data_type"] == "uint16"
    assert slc_item.assets["data"].extra_fields["data_type"] == "cint16"
    assert slc_item.assets["data"].media_type == "application/x-hdf5"
    assert slc_item.properties["sar:observation_direction"] == "left"
    assert set(grd_item.assets) == {"data", "metadata", "quicklook"}
    assert Path(grd_item.assets["metadata"].href) == grd.xml
    for item in (grd_item, slc_item):
        validate(item)
    collection = create_collection("SLC", [slc_item])
    validate(collection)
    assert collection.id == "iceye-slc"
    assert collection.summaries.get_list("sat:orbit_state") == ["ascending"]


def test_item_for_xml_without_raster_is_an_error(real_xml: Path) -> None:
    with pytest.raises(MetadataError, match="raster of this XML sidecar is missing"):
        item_from_product(real_xml)


def test_invalid_item_is_rejected(real_xml: Path, no_network: None) -> None:
    item = create_item(read_xml_metadata(real_xml))
    item.properties["sar:observation_direction"] = "up"
    with pytest.raises(pystac.STACValidationError):
        validate(item)


def test_footprint_across_the_antimeridian_is_split() -> None:
    ring = [(179.98, 10.0), (-179.95, 10.02), (-179.96, 9.9), (179.97, 9.88), (179.98, 10.0)]
    geometry, bbox = footprint_geometry(ring)
    assert geometry["type"] == "MultiPolygon" and len(geometry["coordinates"]) == 2
    assert bbox == [179.97, 9.88, -179.95, 10.02]  # west edge > east edge (RFC 7946 §5.2)
    assert shape(geometry).area < 0.01  # not a band around the world


def test_item_dict_is_plain_json_and_collections_accept_dicts(grd: GeneratedProduct, slc: GeneratedProduct) -> None:
    import json

    items = [item_from_product(grd.raster), item_from_product(slc.raster)]
    for item in items:
        data = item.to_dict(include_self_link=False, transform_hrefs=False)
        assert json.loads(json.dumps(data)) == data  # lists, not tuples: no JSON round trip needed
    ring = [(179.98, 10.0), (-179.95, 10.02), (-179.96, 9.9), (179.97, 9.88), (179.98, 10.0)]
    multi, _ = footprint_geometry(ring)
    assert json.loads(json.dumps(multi)) == multi
    for level, item in zip(("GRD", "SLC"), items, strict=True):
        from_item = create_collection(level, [item]).to_dict(include_self_link=False)
        from_dict = create_collection(level, [item.to_dict(transform_hrefs=False)]).to_dict(include_self_link=False)
        assert from_item == from_dict
        assert from_dict["summaries"]["product:type"] == [level]
    empty = create_collection("GRD").to_dict(include_self_link=False)
    assert empty["extent"]["spatial"]["bbox"] == [[-180.0, -90.0, 180.0, 90.0]]
