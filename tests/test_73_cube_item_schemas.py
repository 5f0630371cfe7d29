"""Stage 73: the STAC item beside a written cube validates offline against the vendored datacube and xarray-assets
schemas (and PROJJSON v0.4, which the datacube schema refers to), with our validator and with stac-validator."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pystac
import pytest

from icecube_stac import _validation
from icecube_stac.catalog import index
from icecube_stac.cli import main
from icecube_stac.config import load_config
from icecube_stac.cube_item import CUBE_EXTENSIONS, PRODUCT_EXTENSION, cube_item_path
from icecube_stac.geocode import GeocodeOptions, geocode_cube
from icecube_stac.output import write_cube
from icecube_stac.pipeline import load_cube
from icecube_stac.stac import item_from_product, schema_map_file, stac_validator_schema_map, validate, validate_path
from icecube_stac.testing import ProductSpec, write_product
from tests._cube_stacks import make_product

DATACUBE, XARRAY_ASSETS = CUBE_EXTENSIONS
PROJJSON = "https://proj.org/schemas/v0.4/projjson.schema.json"
VENDORED = {
    DATACUBE: "datacube/v2.2.0/schema.json",
    XARRAY_ASSETS: "xarray-assets/v1.0.0/schema.json",
    PROJJSON: "proj/v0.4/projjson.schema.json",
}
Item = dict[str, Any]


def _refuse(*args: object, **kwargs: object) -> None:
    raise AssertionError("tried to open a network connection")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _refuse)


@pytest.fixture(params=["fast", "jsonschema"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Validate with fastjsonschema first (the default), or with jsonschema alone (which resolves every $ref)."""
    if request.param == "jsonschema":
        monkeypatch.setattr(_validation, "_fast", lambda uri: None)
    return str(request.param)


@pytest.fixture(scope="module")
def sensor_items(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The items of a sensor-geometry cube written as Zarr and as NetCDF from a 3-product catalog."""
    folder = tmp_path_factory.mktemp("cube-item-schemas")
    for day in (2, 4, 9):
        make_product(folder / "data", day=day, seed=40 + day)
    assert index([folder / "data"], folder / "catalog", progress=False).ok
    config = load_config({"start_date": 20240301, "end_date": 20240331, "catalog": str(folder / "catalog")})
    cube = load_cube(config)
    return {suffix: cube_item_path(write_cube(cube, folder / f"cube{suffix}")) for suffix in (".zarr", ".nc")}


@pytest.fixture(scope="module")
def geocoded_item(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The item of a geocoded (map-grid, UTM) cube of one small generated GRD."""
    folder = tmp_path_factory.mktemp("geocoded-cube-item")
    product = write_product(ProductSpec(shape=(64, 48), seed=3), folder / "grd")
    cube = geocode_cube([item_from_product(product.raster)], GeocodeOptions())
    return cube_item_path(write_cube(cube, folder / "geo.zarr", progress=False))


def _read(path: Path) -> Item:
    data: Item = json.loads(path.read_text(encoding="utf-8"))
    return data


def _stac_validator(path: Path, **kwargs: Any) -> tuple[bool, list[dict[str, Any]]]:
    from stac_validator.validate import StacValidate

    run = StacValidate(str(path), **kwargs)
    valid = bool(run.run())
    return valid, list(run.message)


def test_the_vendored_cube_schemas_are_draft7_and_mapped_by_their_id() -> None:
    mapped = stac_validator_schema_map()
    assert set(CUBE_EXTENSIONS) <= set(mapped)
    for uri, relative in VENDORED.items():
        assert Path(mapped[uri]) == schema_map_file().parent / relative and Path(mapped[uri]).is_file()
        schema = json.loads(Path(mapped[uri]).read_text(encoding="utf-8"))
        jsonschema.Draft7Validator.check_schema(schema)
        assert schema["$id"].rstrip("#") == uri  # stored as published: the $id is the URI items declare


def _remote_refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        found = [ref.split("#", 1)[0]] if isinstance(ref, str) and "://" in ref else []
        return found + [r for value in node.values() for r in _remote_refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _remote_refs(value)]
    return []


def test_every_remote_reference_of_the_cube_schemas_is_vendored() -> None:
    mapped = stac_validator_schema_map()
    refs = {ref for uri in VENDORED for ref in _remote_refs(json.loads(Path(mapped[uri]).read_text()))}
    assert PROJJSON in refs  # datacube's reference_system; PROJJSON v0.4 itself refers to nothing remote
    assert refs <= set(mapped), refs - set(mapped)


@pytest.mark.parametrize("suffix", [".zarr", ".nc"])
def test_the_sensor_cube_item_validates_offline(
    sensor_items: dict[str, Path], suffix: str, engine: str, no_network: None
) -> None:
    path = sensor_items[suffix]
    item = _read(path)
    assert item["stac_extensions"] == [*CUBE_EXTENSIONS, PRODUCT_EXTENSION]  # it says its product:type
    assert "x" not in item["properties"]["cube:dimensions"]
    assert _validation.problems(item) == []
    assert set(validate(item)) >= set(CUBE_EXTENSIONS)
    assert set(validate(pystac.Item.from_file(str(path)))) >= set(CUBE_EXTENSIONS)
    assert [checked.problems for checked in validate_path(path)] == [[]]


@pytest.mark.filterwarnings("ignore:The 'stac_validator' package has been deprecated:DeprecationWarning")
@pytest.mark.parametrize("suffix", [".zarr", ".nc"])
def test_stac_validator_validates_the_sensor_cube_item_offline(
    sensor_items: dict[str, Path], suffix: str, no_network: None
) -> None:
    valid, message = _stac_validator(sensor_items[suffix], schema_config=str(schema_map_file()))
    assert valid, message
    schemas = message[0]["schema"]
    assert {VENDORED[DATACUBE], VENDORED[XARRAY_ASSETS]} <= {str(s) for s in schemas}, schemas


def test_the_geocoded_cube_item_validates_offline(geocoded_item: Path, engine: str, no_network: None) -> None:
    item = _read(geocoded_item)
    dims = item["properties"]["cube:dimensions"]
    assert dims["x"]["type"] == dims["y"]["type"] == "spatial" and isinstance(dims["x"]["reference_system"], int)
    # jsonschema resolves all three reference_system branches, PROJJSON v0.4 included: offline, from the vendored copy.
    assert _validation.problems(item) == []
    assert [checked.problems for checked in validate_path(geocoded_item)] == [[]]


@pytest.mark.filterwarnings("ignore:The 'stac_validator' package has been deprecated:DeprecationWarning")
def test_stac_validator_validates_the_geocoded_cube_item_offline(geocoded_item: Path, no_network: None) -> None:
    valid, message = _stac_validator(geocoded_item, schema_config=str(schema_map_file()))
    assert valid, message
    valid, message = _stac_validator(geocoded_item, schema_map=stac_validator_schema_map())
    assert valid, message


def test_the_validate_command_accepts_the_cube_item(
    geocoded_item: Path, no_network: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(geocoded_item)]) == 0, capsys.readouterr()


def _set_dimensions(item: Item) -> None:
    item["properties"]["cube:dimensions"] = ["time", "azimuth", "range"]


def _set_variable_dimensions(item: Item) -> None:
    item["properties"]["cube:variables"]["amplitude"]["dimensions"] = "time"


def _set_time_values(item: Item) -> None:
    item["properties"]["cube:dimensions"]["time"]["values"] = [1, 2, 3]


def _set_open_kwargs(item: Item) -> None:
    item["assets"]["data"]["xarray:open_kwargs"] = "engine=zarr"


def _drop_dimensions(item: Item) -> None:
    del item["properties"]["cube:dimensions"]


MUTATIONS: dict[str, tuple[Callable[[Item], None], str, str]] = {
    "dimensions not an object": (_set_dimensions, "properties.cube:dimensions: ", "is not of type 'object'"),
    "variable dims not a list": (
        _set_variable_dimensions,
        "properties.cube:variables.amplitude.dimensions: ",
        "is not of type 'array'",
    ),
    "time values not strings": (_set_time_values, "properties.cube:dimensions.time.values.0: ", "not of type 'string'"),
    "open_kwargs not an object": (_set_open_kwargs, "assets.data.xarray:open_kwargs: ", "is not of type 'object'"),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_a_broken_cube_item_fails_naming_the_field(
    sensor_items: dict[str, Path], name: str, engine: str, no_network: None
) -> None:
    mutate, where, what = MUTATIONS[name]
    item = _read(sensor_items[".zarr"])
    mutate(item)
    found = _validation.problems(item)
    schema = XARRAY_ASSETS if "xarray:" in where else DATACUBE
    assert len(found) == 1 and found[0].startswith(f"{schema}: {where}") and what in found[0], found
    with pytest.raises(pystac.STACValidationError, match=f"'cube.zarr' does not validate: .*{where}"):
        validate(item)


@pytest.mark.filterwarnings("ignore:The 'stac_validator' package has been deprecated:DeprecationWarning")
@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_stac_validator_refuses_a_broken_cube_item(
    sensor_items: dict[str, Path], name: str, tmp_path: Path, no_network: None
) -> None:
    mutate, where, _what = MUTATIONS[name]
    item = _read(sensor_items[".zarr"])
    mutate(item)
    broken = tmp_path / "cube.zarr.json"
    broken.write_text(json.dumps(item), encoding="utf-8")
    valid, message = _stac_validator(broken, schema_config=str(schema_map_file()))
    assert not valid
    # stac-validator names the failing vendored schema (its message picks one branch of the datacube anyOf).
    schema = XARRAY_ASSETS if "xarray:" in where else DATACUBE
    assert message[0]["failed_schema"] == VENDORED[schema], message
    if schema == XARRAY_ASSETS:
        assert message[0]["error_message"].endswith("Error is in assets -> data -> xarray:open_kwargs "), message


def test_a_cube_item_without_dimensions_fails_the_datacube_schema(
    sensor_items: dict[str, Path], engine: str, no_network: None
) -> None:
    item = _read(sensor_items[".zarr"])
    _drop_dimensions(item)
    found = _validation.problems(item)
    assert found and all(line.startswith(f"{DATACUBE}: ") for line in found), found
