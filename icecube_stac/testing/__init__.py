"""Synthetic ICEYE products for tests, demos and benchmarks: legacy Level-1 and the current COG generation.

Legacy products (GeoTIFF / HDF5 + XML) come from :func:`write_product`; current-generation products
(COG + side-car STAC item, and ICEYE's open-data catalog layout) from :mod:`icecube_stac.testing.cog`,
whose main names are re-exported here.

Examples
--------
>>> from icecube_stac.testing import ProductSpec, write_product
>>> product = write_product(ProductSpec(level="GRD", shape=(64, 48)), "out")  # doctest: +SKIP
>>> from icecube_stac.testing import CogProductSpec, write_cog_product
>>> cog = write_cog_product(CogProductSpec(level="SLC", shape=(64, 48)), "out")  # doctest: +SKIP
"""

from __future__ import annotations

from .cog import (
    CogProductSpec,
    GeneratedCogProduct,
    OpendataCatalog,
    cog_item_for,
    daily_stack_specs,
    write_cog_product,
    write_opendata_catalog,
)
from .generator import (
    GeneratedProduct,
    ProductSpec,
    demo_specs,
    metadata_fields,
    package_name,
    product_name,
    write_grd,
    write_product,
    write_slc,
    write_stack,
    write_xml,
)

__all__ = [
    "CogProductSpec",
    "GeneratedCogProduct",
    "GeneratedProduct",
    "OpendataCatalog",
    "ProductSpec",
    "cog_item_for",
    "daily_stack_specs",
    "demo_specs",
    "metadata_fields",
    "package_name",
    "product_name",
    "write_cog_product",
    "write_grd",
    "write_opendata_catalog",
    "write_product",
    "write_slc",
    "write_stack",
    "write_xml",
]
