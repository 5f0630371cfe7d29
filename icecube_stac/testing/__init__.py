"""Synthetic ICEYE legacy Level-1 products for tests, demos and benchmarks.

Examples
--------
>>> from icecube_stac.testing import ProductSpec, write_product
>>> product = write_product(ProductSpec(level="GRD", shape=(64, 48)), "out")  # doctest: +SKIP
"""

from __future__ import annotations

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
    "GeneratedProduct",
    "ProductSpec",
    "demo_specs",
    "metadata_fields",
    "package_name",
    "product_name",
    "write_grd",
    "write_product",
    "write_slc",
    "write_stack",
    "write_xml",
]
