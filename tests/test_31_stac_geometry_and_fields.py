"""Stage 31: footprints and extents across the antimeridian, spec-2.4 resolutions, what collections tell clients."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pystac
import pytest
from shapely.geometry import shape

from icecube_stac.catalog import index
from icecube_stac.errors import MetadataError
from icecube_stac.formats.xml import read_xml_metadata
from icecube_stac.stac import create_collection, create_item, footprint_geometry, item_from_product, validate
from icecube_stac.testing import ProductSpec, write_product


def _lon_inside(lon: float, west: float, east: float) -> bool:
    return west <= lon <= east if west <= east else lon >= west or lon <= east


def _bbox_inside(inner: list[float], outer: list[float]) -> bool:
    """Containment on the circle of longitudes (either bbox may cross the antimeridian)."""
    west, south, east, north = inner
    if not (outer[1] <= south and north <= outer[3]):
        return False
    if not (_lon_inside(west, outer[0], outer[2]) and _lon_inside(east, outer[0], outer[2])):
        return False
    # Both edges inside: the inner span must not run the other way around the outer one.
    width = (east - west) % 360.0
    outer_width = (outer[2] - outer[0]) % 360.0
    return (west - outer[0]) % 360.0 + width <= outer_width + 1e-9


def _moved(meta: Any, lon: float, lat: float, name: str) -> Any:
    """The real product's metadata with its corners moved to be centred on (lon, lat), wrapped to ±180°."""
    centre = meta.coord_center
    corners = {}
    for key in ("coord_first_near", "coord_first_far", "coord_last_far", "coord_last_near", "coord_center"):
        corner = getattr(meta, key)
        moved = ((corner.lon - centre.lon + lon + 180.0) % 360.0) - 180.0
        corners[key] = dataclasses.replace(corner, lon=moved, lat=corner.lat - centre.lat + lat)
    return dataclasses.replace(meta, product_name=name, **corners)


def test_collection_extent_holds_every_item_across_the_antimeridian(real_xml: Path) -> None:
    meta = read_xml_metadata(real_xml)
    items = [
        create_item(_moved(meta, 180.0, -16.0, "across-a")),
        create_item(_moved(meta, -179.9, -16.2, "across-b")),
        create_item(meta),  # 102.6°E, 16.3°N: the reported case gave a bbox holding neither crossing item
    ]
    crossing = [i for i in items if i.bbox is not None and i.bbox[0] > i.bbox[2]]
    assert len(crossing) == 2
    assert all(i.geometry is not None and i.geometry["type"] == "MultiPolygon" for i in crossing)
    for item in items:
        validate(item)
    collection = create_collection("GRD", items)
    boxes = collection.extent.spatial.bboxes
    union, *clusters = boxes
    assert union[0] > union[2]  # the union itself crosses the antimeridian: 102°E eastwards past 180°
    assert len(clusters) == 2
    for item in items:
        assert item.bbox is not None
        assert _bbox_inside(item.bbox, union), (item.id, item.bbox, union)
        assert any(_bbox_inside(item.bbox, c) for c in clusters), (item.id, item.bbox, clusters)
    validate(collection)


def test_collection_bboxes_of_items_on_one_side_are_one_union() -> None:
    from icecube_stac._spatial import union_bboxes

    assert union_bboxes([[10.0, 0.0, 11.0, 1.0], [10.5, 0.5, 12.0, 2.0]]) == [[10.0, 0.0, 12.0, 2.0]]
    assert union_bboxes([[178.0, 0.0, 179.0, 1.0], [-179.0, 0.0, -178.0, 1.0]])[0] == [178.0, 0.0, -178.0, 1.0]
    assert union_bboxes([]) == [[-180.0, -90.0, 180.0, 90.0]]


@pytest.mark.parametrize(
    "ring",
    [
        # Corners in the wrong order (crossed edges) near ±180°: GEOS raised TopologyException here before.
        [(179.98, 10.0), (-179.96, 9.9), (-179.95, 10.02), (179.97, 9.88), (179.98, 10.0)],
        [(179.9, 10.0), (-179.9, 9.0), (-179.9, 10.0), (179.9, 9.0), (179.9, 10.0)],
        [(179.99, 10.0), (-179.99, 10.0), (179.99, 10.0000001), (-179.99, 9.9), (179.99, 10.0)],
        [(10.0, 10.0), (11.0, 11.0), (11.0, 10.0), (10.0, 11.0), (10.0, 10.0)],  # a bow tie anywhere
        [(10.0, 10.0), (10.0, 10.0), (10.0, 10.0), (10.0, 10.0), (10.0, 10.0)],  # no area
    ],
)
def test_corners_that_do_not_form_a_polygon_are_a_metadata_error(ring: list[tuple[float, float]]) -> None:
    with pytest.raises(MetadataError, match=r"x\.xml: field 'coord_first_near': the corners .* simple polygon"):
        footprint_geometry(ring, "x.xml")


def test_footprint_split_keeps_the_corner_values_exactly() -> None:
    ring = [(179.98, 10.0), (-179.95, 10.02), (-179.96, 9.9), (179.97, 9.88), (179.98, 10.0)]
    geometry, bbox = footprint_geometry(ring)
    assert bbox == [179.97, 9.88, -179.95, 10.02]
    points = {tuple(p) for polygon in geometry["coordinates"] for p in polygon[0]}
    assert {(179.98, 10.0), (-179.95, 10.02), (-179.96, 9.9), (179.97, 9.88)} <= points
    assert all(shape({"type": "Polygon", "coordinates": p}).exterior.is_ccw for p in geometry["coordinates"])


def test_spec_24_resolutions_become_sar_fields(tmp_path: Path) -> None:
    product = write_product(ProductSpec(level="SLC", image_id=820000, spec_version="2.4", seed=4), tmp_path / "p")
    assert product.xml is not None
    item = item_from_product(product.raster)
    fields = product.fields
    props = item.properties
    assert props["sar:resolution_range"] == pytest.approx(float(fields["range_resolution_center"]))
    assert props["sar:resolution_azimuth"] == pytest.approx(float(fields["azimuth_resolution"]))
    assert props["iceye:resolution_range_near"] == pytest.approx(float(fields["range_resolution_near"]))
    assert props["iceye:resolution_range_far"] == pytest.approx(float(fields["range_resolution_far"]))
    validate(item)
    product.xml.unlink()  # the same from the HDF5 datasets
    assert item_from_product(product.raster).properties["sar:resolution_range"] == pytest.approx(
        props["sar:resolution_range"]
    )
    older = write_product(ProductSpec(level="GRD", image_id=820001, spec_version="2.3"), tmp_path / "q")
    assert not any("resolution" in k for k in item_from_product(older.raster).properties)


def test_a_resolution_that_is_not_a_length_is_left_out_with_a_warning(real_xml: Path) -> None:
    meta = read_xml_metadata(real_xml)
    odd = dataclasses.replace(meta, extra={**meta.extra, "azimuth_resolution": "-3"})
    with pytest.warns(UserWarning, match=r"field 'azimuth_resolution': got '-3'.*sar:resolution_azimuth is left out"):
        item = create_item(odd)
    assert "sar:resolution_azimuth" not in item.properties


def test_collections_describe_their_assets_keywords_and_licence(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for i, level in enumerate(("GRD", "SLC")):
        spec = ProductSpec(
            level=level,  # type: ignore[arg-type]
            image_id=830000 + i,
            acquisition_start=datetime(2024, 6, 1) + timedelta(days=i),
            quicklook=True,
            seed=i,
        )
        write_product(spec, data / level)
    index([data], tmp_path / "cat")
    root = pystac.Catalog.from_file(str(tmp_path / "cat" / "catalog.json"))
    assert all(link.title for link in root.links if link.rel != "self")
    for collection in root.get_collections():
        data_dict = collection.to_dict(include_self_link=False, transform_hrefs=False)
        assert set(data_dict["item_assets"]) == {"data", "metadata", "quicklook"}
        assert "ICEYE" in data_dict["keywords"] and "SAR" in data_dict["keywords"]
        (licence,) = [link for link in data_dict["links"] if link["rel"] == "license"]
        assert data_dict["license"] == "proprietary" and licence["href"].startswith("https://") and licence["title"]
        assert all(link.get("title") for link in data_dict["links"] if link["rel"] != "self"), data_dict["links"]
        for item in collection.get_items():
            # Every asset of an item is described, with the same media type and roles, in item_assets.
            for key, asset in item.assets.items():
                described = data_dict["item_assets"][key]
                assert (asset.media_type, asset.roles) == (described["type"], described["roles"])
            assert all(link.title for link in item.links if link.rel != "self")
        validate(collection)
    assert create_collection("SLC").to_dict(include_self_link=False)["item_assets"]["data"]["roles"] == ["data"]
