"""Geocoding: ICEYE products warped from their own RPC (or GCP grid) onto one map grid, lazily, chunk by chunk.

``geocode_cube(items, GeocodeOptions(...))`` (or ``load_cube(config)`` with the config key ``geocode``)
returns a dask-backed ``(time, y, x)`` cube on one common grid: ``x``/``y`` in CRS units and a CF grid
mapping (``spatial_ref``), so rioxarray (``ds.rio.crs``), GDAL and QGIS place it. Legacy GRD GeoTIFFs,
legacy SLC HDF5 and COG products (GRD and SLC) are all geocoded from the product's own geolocation: the
RPC when there is one, else the GCP / ModelTiepoint grid, through GDAL (:func:`rasterio.warp.reproject`).
SLC products are geocoded as intensity (β0 by default, or σ0); complex samples are never interpolated
onto a map grid. Each dask task reads only the source window its block needs (plus a margin) through the
reader seam, so cubes stream and run on ``dask.distributed``.

Parts: :mod:`._grid` (CRS, pixel size, bounds), :mod:`._model` (geolocation in the cube's pixel space),
:mod:`._warp` (windows and the warp task), :mod:`._cf` (CF georeferencing), :mod:`._cube`
(:func:`geocode_cube`), :mod:`._assets` (the indexer's ``geocoded`` asset: a warped VRT per GRD item).
"""

from __future__ import annotations

from icecube_stac._config_geocode import GeocodeOptions
from icecube_stac.geocode._assets import ASSET_GEOCODED, stackstac_options
from icecube_stac.geocode._cube import DEFAULT_MAP_CHUNKS, MAP_DIMS, geocode_cube
from icecube_stac.geocode._grid import MapGrid, choose_grid, utm_crs

__all__ = [
    "ASSET_GEOCODED",
    "DEFAULT_MAP_CHUNKS",
    "MAP_DIMS",
    "GeocodeOptions",
    "MapGrid",
    "choose_grid",
    "geocode_cube",
    "stackstac_options",
    "utm_crs",
]
