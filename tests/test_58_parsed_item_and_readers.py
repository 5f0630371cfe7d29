"""The architecture's seams: the parsed item, the reader protocol (a fake reader builds a cube with no files),
the load/search split, and API-URL routing."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt
import pystac
import pytest

from icecube_stac.config import load_config
from icecube_stac.cube import build_cube
from icecube_stac.errors import LoadError
from icecube_stac.item import AS_STORED, acquisition_end, parse_item
from icecube_stac.readers import OpenRaster, get_reader, register_reader, unregister_reader
from icecube_stac.search import LocalCatalog, StacApi, open_backend
from icecube_stac.testing import GeneratedProduct
from icecube_stac.vocabulary import Container, ProductLevel, catalog_root, is_api_url
from tests._cube_stacks import SHAPE, item_of, make_product

# --------------------------------------------------------------------------------------------------------
# Parsed item
# --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def products(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GeneratedProduct]:
    folder = tmp_path_factory.mktemp("parsed")
    return {
        "GRD": make_product(folder, day=4, hour=7, incidence=23.5, look="left", orbit="ASCENDING"),
        "SLC": make_product(folder, level="SLC", day=6, incidence=28.0, slc_dtype="float32"),
    }


def test_parse_a_grd_item(products: dict[str, GeneratedProduct]) -> None:
    product = products["GRD"]
    item = item_of(product)
    parsed = parse_item(item)
    assert parsed.id == product.name and parsed.level is ProductLevel.GRD
    assert parsed.container == Container.LEGACY_GEOTIFF
    assert parsed.data_href == str(product.raster.resolve())
    assert parsed.metadata_href == str(product.xml.resolve()) if product.xml else parsed.metadata_href == ""
    assert parsed.shape == SHAPE and parsed.data_type == "uint16" and parsed.orientation == AS_STORED
    assert parsed.start is not None and parsed.end is not None and parsed.start < parsed.time < parsed.end
    assert parsed.acquired == parsed.end.date() == acquisition_end(item).date()
    assert (parsed.look_side, parsed.orbit_state) == ("left", "ascending")
    assert parsed.incidence_angle == pytest.approx(23.5, abs=1e-6)
    assert parsed.calibration_factor == item.properties["iceye:calibration_factor"]


def test_parse_an_slc_item(products: dict[str, GeneratedProduct]) -> None:
    parsed = parse_item(item_of(products["SLC"]))
    assert parsed.level is ProductLevel.SLC and parsed.container == Container.LEGACY_HDF5
    assert parsed.data_type == "cfloat32"


def _bare_item(item_id: str, *, day: int, href: str = "fake://scene", **props: Any) -> pystac.Item:
    start = datetime(2024, 5, day, 10, 0, 0, tzinfo=UTC)
    end = start.replace(second=10)
    item = pystac.Item(
        item_id,
        geometry=None,
        bbox=None,
        datetime=start,
        properties={"start_datetime": start.isoformat(), "end_datetime": end.isoformat(), **props},
    )
    item.add_asset("data", pystac.Asset(href, roles=["data"], extra_fields={"proj:shape": [6, 5]}))
    return item


def test_level_falls_back_to_data_type_and_suffix() -> None:
    by_suffix = _bare_item("a", day=1, href="/nowhere/x.h5")
    assert parse_item(by_suffix).level is ProductLevel.SLC
    unknown = _bare_item("b", day=1, href="/nowhere/x.bin")
    with pytest.raises(LoadError, match="cannot tell whether it is a GRD or an SLC"):
        parse_item(unknown)


@pytest.mark.parametrize("shape", [[0, 4], ["a", 3], [1]])
def test_bad_proj_shape_is_named(shape: list[Any]) -> None:
    item = _bare_item("bad", day=1, **{"product:type": "GRD"})
    item.assets["data"].extra_fields["proj:shape"] = shape
    with pytest.raises(LoadError, match=r"'bad': proj:shape"):
        parse_item(item)


def test_bad_datetime_is_named() -> None:
    item = _bare_item("late", day=1, **{"product:type": "GRD"})
    item.properties["end_datetime"] = "yesterday"
    with pytest.raises(LoadError, match=r"'late': end_datetime 'yesterday'"):
        parse_item(item)


# --------------------------------------------------------------------------------------------------------
# The reader seam: a fake container, no files at all
# --------------------------------------------------------------------------------------------------------


class _FakeRaster:
    def __init__(self, href: str, opened: list[str]) -> None:
        self.href, self._opened = href, opened
        opened.append(href)

    @property
    def shape(self) -> tuple[int, int]:
        return (6, 5)

    @property
    def dtype(self) -> np.dtype[Any]:
        return np.dtype(np.uint16)

    def read(self, rows: slice, cols: slice) -> npt.NDArray[Any]:
        seed = int(self.href.rsplit("-", 1)[-1])
        full = (np.arange(30, dtype=np.uint16).reshape(6, 5) + 100 * seed).astype(np.uint16)
        return full[rows, cols]

    def close(self) -> None:
        pass

    def __enter__(self) -> _FakeRaster:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


class _FakeReader:
    def __init__(self) -> None:
        self.opened: list[str] = []

    def open(self, href: str) -> _FakeRaster:
        return _FakeRaster(href, self.opened)


@pytest.fixture
def fake_reader() -> Iterator[_FakeReader]:
    reader = _FakeReader()
    register_reader(Container.LEGACY_GEOTIFF, reader)
    try:
        yield reader
    finally:
        unregister_reader(Container.LEGACY_GEOTIFF)


def test_a_fake_reader_builds_a_cube_with_no_files(fake_reader: _FakeReader) -> None:
    items = [_bare_item(f"fake-{k}", day=k, href=f"fake://scene-{k}", **{"product:type": "GRD"}) for k in (3, 1, 2)]
    ds = build_cube(items, chunks={"azimuth": 4, "range": 3})
    assert fake_reader.opened == []  # building opens nothing
    assert ds["id"].values.tolist() == ["fake-1", "fake-2", "fake-3"]
    values = ds["amplitude"].values
    assert fake_reader.opened and set(fake_reader.opened) == {f"fake://scene-{k}" for k in (1, 2, 3)}
    expected = np.stack([np.arange(30).reshape(6, 5) + 100 * k for k in (1, 2, 3)]).astype(np.float32)
    np.testing.assert_array_equal(values, expected)
    assert isinstance(_FakeRaster("fake://x-0", []), OpenRaster)


def test_the_fake_reader_is_asked_for_a_missing_shape(fake_reader: _FakeReader) -> None:
    item = _bare_item("fake-9", day=9, href="fake://scene-9", **{"product:type": "GRD"})
    del item.assets["data"].extra_fields["proj:shape"]
    ds = build_cube([item])
    assert ds["amplitude"].shape == (1, 6, 5) and fake_reader.opened == ["fake://scene-9"]


def test_unknown_container_is_named() -> None:
    with pytest.raises(KeyError, match=r"no reader for container 'cog-v9'.*legacy-geotiff"):
        get_reader("cog-v9")


def test_cube_modules_never_import_rasterio_or_h5py() -> None:
    package = Path(__file__).parents[1] / "icecube_stac" / "cube"
    for module in package.glob("*.py"):
        text = module.read_text()
        assert "import rasterio" not in text and "import h5py" not in text, module.name


# --------------------------------------------------------------------------------------------------------
# Load split from search; routing
# --------------------------------------------------------------------------------------------------------


def test_build_cube_never_searches(products: dict[str, GeneratedProduct]) -> None:
    with pytest.raises(TypeError, match="load_cube"):
        build_cube(load_config({}))  # type: ignore[arg-type]


def test_natural_timeline_keeps_the_latest_of_a_day_without_searching(fake_reader: _FakeReader) -> None:
    early = _bare_item("fake-1", day=2, href="fake://scene-1", **{"product:type": "GRD"})
    late = _bare_item("fake-2", day=2, href="fake://scene-2", **{"product:type": "GRD"})
    late.datetime = datetime(2024, 5, 2, 18, tzinfo=UTC)
    late.properties["end_datetime"] = "2024-05-02T18:00:10+00:00"
    with pytest.warns(UserWarning, match="left out fake-1"):
        ds = build_cube([early, late], config=load_config({"temporal_overlap": False}))
    assert ds["id"].values.tolist() == ["fake-2"]
    assert not math.isnan(float(ds["amplitude"].values.max()))


@pytest.mark.parametrize("url", ["HTTPS://stac.example.com/api", "Http://localhost:8080", " https://x/y"])
def test_api_urls_route_to_the_api_in_any_case(url: str) -> None:
    assert is_api_url(url)
    assert isinstance(open_backend(url), StacApi)


@pytest.mark.parametrize("path", ["catalogs/default", "file:///tmp/x", "s3-like/https-folder"])
def test_paths_route_to_the_local_backend(path: str) -> None:
    assert not is_api_url(path)


def test_catalog_root_normalisation(tmp_path: Path) -> None:
    assert catalog_root(tmp_path / "catalog.json") == tmp_path
    assert catalog_root(tmp_path / "items.parquet") == tmp_path
    assert catalog_root(tmp_path) == tmp_path
    (tmp_path / "catalog.json").write_text("{}")
    assert LocalCatalog(tmp_path / "catalog.json").root == tmp_path
