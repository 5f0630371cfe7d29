"""icecube-stac: ICEYE SAR products → STAC catalog → searches → lazy xarray time-series cubes.

The public API, stage by stage (each arrow is one function)::

    read_metadata(path) -> IceyeMetadata -> item_from_product(path) -> index(paths, catalog)
    load_config(config.json) -> CubeConfig -> to_search_body(config) -> search(config)
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from icecube_stac.catalog import IndexReport, index, read_items
from icecube_stac.config import CubeConfig, config_json_schema, load_config
from icecube_stac.errors import (
    CatalogError,
    ConfigError,
    IcecubeStacError,
    IcecubeStacWarning,
    LoadError,
    MetadataError,
    SearchError,
    UnsupportedProductError,
)
from icecube_stac.formats import read_metadata
from icecube_stac.metadata import IceyeMetadata
from icecube_stac.search import LocalCatalog, StacApi, search, to_search_body
from icecube_stac.stac import create_collection, create_item, item_from_product, validate

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
    "SearchError",
    "StacApi",
    "UnsupportedProductError",
    "__version__",
    "config_json_schema",
    "create_collection",
    "create_item",
    "index",
    "item_from_product",
    "load_config",
    "read_items",
    "read_metadata",
    "search",
    "to_search_body",
    "validate",
]
