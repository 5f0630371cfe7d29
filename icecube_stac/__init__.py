"""icecube-stac: ICEYE SAR products → STAC catalog → searches → lazy xarray time-series cubes.

The public API, stage by stage (each arrow is one function)::

    read_metadata(path) -> IceyeMetadata -> item_from_product(path) -> index(paths, catalog)
    load_config(config.json) -> CubeConfig -> to_search_body(config) -> search(config)
    duckdb_connection() -> DuckDB with the shipped extensions (SQL over items.parquet, offline)
    build_cube(items) -> xarray.Dataset -> write_cube(ds, "cube.zarr") / open_cube(path)
    load_cube(config) = search(config) -> build_cube(items, config=config)
"""

from __future__ import annotations

import sys
import types
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from icecube_stac.errors import (
    CatalogError,
    ConfigError,
    IcecubeStacError,
    IcecubeStacWarning,
    LoadError,
    MetadataError,
    OutputExistsError,
    SearchError,
    UnsupportedProductError,
)

if TYPE_CHECKING:
    from icecube_stac._duckdb import duckdb_connection
    from icecube_stac.catalog import IndexReport, index, read_items
    from icecube_stac.config import CubeConfig, config_json_schema, load_config
    from icecube_stac.cube import build_cube
    from icecube_stac.demo import run_demo
    from icecube_stac.formats import read_metadata
    from icecube_stac.metadata import IceyeMetadata
    from icecube_stac.output import open_cube, write_cube
    from icecube_stac.pipeline import load_cube
    from icecube_stac.search import LocalCatalog, StacApi, search, to_search_body
    from icecube_stac.stac import create_collection, create_item, item_from_product, validate, validate_path

# Each stage's heavy dependencies (numpy and shapely for configs, pystac for searches, pyarrow and
# stac-geoparquet for indexing, rasterio/h5py for reading, xarray and dask for cubes, duckdb for SQL) are imported
# on first use: a command pays only for the stages it runs.
_LAZY = {
    "CubeConfig": "icecube_stac.config",
    "config_json_schema": "icecube_stac.config",
    "load_config": "icecube_stac.config",
    "LocalCatalog": "icecube_stac.search",
    "StacApi": "icecube_stac.search",
    "search": "icecube_stac.search",
    "to_search_body": "icecube_stac.search",
    "IndexReport": "icecube_stac.catalog",
    "index": "icecube_stac.catalog",
    "read_items": "icecube_stac.catalog",
    "read_metadata": "icecube_stac.formats",
    "IceyeMetadata": "icecube_stac.metadata",
    "create_collection": "icecube_stac.stac",
    "create_item": "icecube_stac.stac",
    "item_from_product": "icecube_stac.stac",
    "validate": "icecube_stac.stac",
    "validate_path": "icecube_stac.stac",
    "build_cube": "icecube_stac.cube",
    "load_cube": "icecube_stac.pipeline",
    "open_cube": "icecube_stac.output",
    "write_cube": "icecube_stac.output",
    "run_demo": "icecube_stac.demo",
    "duckdb_connection": "icecube_stac._duckdb",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'icecube_stac' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """The package module: ``icecube_stac.search`` stays the function when its submodule is imported.

    Importing a submodule sets it as an attribute of its package; the function ``search`` shares its name
    with the module ``icecube_stac.search``, which (imported on first use) would otherwise replace it. The
    module stays reachable as ``sys.modules["icecube_stac.search"]`` and by ``from icecube_stac.search import``.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


try:
    __version__ = version("icecube-stac")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without installing
    __version__ = "0+unknown"

__all__ = [
    "CatalogError",
    "ConfigError",
    "CubeConfig",
    "IceyeMetadata",
    "IcecubeStacError",
    "IcecubeStacWarning",
    "IndexReport",
    "LoadError",
    "LocalCatalog",
    "MetadataError",
    "OutputExistsError",
    "SearchError",
    "StacApi",
    "UnsupportedProductError",
    "__version__",
    "build_cube",
    "config_json_schema",
    "create_collection",
    "create_item",
    "duckdb_connection",
    "index",
    "item_from_product",
    "load_config",
    "load_cube",
    "open_cube",
    "read_items",
    "read_metadata",
    "run_demo",
    "search",
    "to_search_body",
    "validate",
    "validate_path",
    "write_cube",
]
