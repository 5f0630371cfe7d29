"""Synthetic ICEYE products of the current generation: COG rasters, side-car STAC items, open-data catalogs.

A :class:`CogProductSpec` describes one product; :func:`write_cog_product` writes its COG and side-car
item (or the 2024 ``_AML``/``_CPX`` preview generation); :func:`write_opendata_catalog` writes scenes
in the layout of ICEYE's open-data STAC catalog. Geometry, radar parameters and pixels come from the
legacy generator (:func:`legacy_spec` gives the legacy twin of a spec), laid out "shadows-down"
by the one rule in :func:`azimuth_runs_with_columns`. :func:`read_tiff_tags` and
:func:`gdal_metadata_xml` read TIFF tags raw, to check what GDAL really wrote.

Examples
--------
>>> from icecube_stac.testing.cog import CogProductSpec, write_cog_product
>>> product = write_cog_product(CogProductSpec(level="GRD", shape=(64, 48)), "out")  # doctest: +SKIP
>>> product.tif.name  # doctest: +SKIP
'ICEYE_6Q31WW_20251110T182058Z_7010715_X56_SLEDF_GRD.tif'
"""

from __future__ import annotations

from ._item import COG_MEDIA_TYPE, STAC_EXTENSIONS
from ._names import geohash, item_id, product_stem, scene_id, scene_stem, stac_time
from ._opendata import COLLECTION_ID, OpendataCatalog, OpendataScene, write_opendata_catalog
from ._orientation import azimuth_runs_with_columns, column_of_line, line_of_column, to_shadows_down
from ._product import GeneratedCogProduct, cog_item_for, write_cog_product
from ._spec import CogProductSpec, instrument_mode, legacy_spec, mode_family, with_level
from ._stacks import daily_stack_specs
from ._tiff import (
    TiffIfd,
    TiffTag,
    cog_layout_problems,
    gdal_metadata_xml,
    read_tiff_ifds,
    read_tiff_tags,
    xml_unescape,
)

__all__ = [
    "COG_MEDIA_TYPE",
    "COLLECTION_ID",
    "STAC_EXTENSIONS",
    "CogProductSpec",
    "GeneratedCogProduct",
    "OpendataCatalog",
    "OpendataScene",
    "TiffIfd",
    "TiffTag",
    "azimuth_runs_with_columns",
    "cog_item_for",
    "cog_layout_problems",
    "column_of_line",
    "daily_stack_specs",
    "gdal_metadata_xml",
    "geohash",
    "instrument_mode",
    "item_id",
    "legacy_spec",
    "line_of_column",
    "mode_family",
    "product_stem",
    "read_tiff_ifds",
    "read_tiff_tags",
    "scene_id",
    "scene_stem",
    "stac_time",
    "to_shadows_down",
    "with_level",
    "write_cog_product",
    "write_opendata_catalog",
    "xml_unescape",
]
