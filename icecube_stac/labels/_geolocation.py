"""Geolocation of one product's stored pixel grid: lon/lat ↔ pixel through its RPC, GCPs or affine transform.

ICEYE legacy products carry an RPC (XML sidecar, GeoTIFF tags, HDF5 ``RPC/`` group; read by
:func:`icecube_stac.read_metadata`) and a GCP grid (GeoTIFF). COG products may carry RPC tags, GCPs or an
affine transform with a CRS. The first available one, in that order, is used through rasterio's transformers.
Coordinates are those of the product file as stored: ``x`` = column, ``y`` = row, pixel centres at integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
from rasterio.crs import CRS
from rasterio.rpc import RPC
from rasterio.transform import AffineTransformer, GCPTransformer, RPCTransformer
from rasterio.warp import transform as warp_transform

from icecube_stac.errors import IcecubeStacError
from icecube_stac.formats import read_metadata

__all__ = ["Geolocation", "geolocation_of"]

F64 = npt.NDArray[np.float64]
_WGS84 = CRS.from_epsg(4326)


@dataclass(frozen=True)
class Geolocation:
    """A product's pixel ↔ lon/lat model (one of RPC, GCPs or affine + CRS).

    Attributes
    ----------
    method
        ``rpc``, ``gcp`` or ``affine``.
    model
        rasterio RPC, (gcps, crs) or (Affine, crs).
    height
        Height above the ellipsoid used with RPCs (the RPC height offset: ICEYE's average scene height).
    """

    method: str
    model: Any
    height: float = 0.0

    def _transformer(self) -> Any:
        if self.method == "rpc":
            return RPCTransformer(self.model)
        if self.method == "gcp":
            return GCPTransformer(self.model[0])
        return AffineTransformer(self.model[0])

    def _from_wgs84(self, lon: F64, lat: F64) -> tuple[F64, F64]:
        if self.method == "rpc" or self.model[1] is None or CRS.from_user_input(self.model[1]) == _WGS84:
            return lon, lat
        xs, ys = warp_transform(_WGS84, self.model[1], lon.tolist(), lat.tolist())
        return np.asarray(xs, np.float64), np.asarray(ys, np.float64)

    def _to_wgs84(self, xs: F64, ys: F64) -> tuple[F64, F64]:
        if self.method == "rpc" or self.model[1] is None or CRS.from_user_input(self.model[1]) == _WGS84:
            return xs, ys
        lon, lat = warp_transform(self.model[1], _WGS84, xs.tolist(), ys.tolist())
        return np.asarray(lon, np.float64), np.asarray(lat, np.float64)

    def to_pixel(self, lon: F64, lat: F64) -> tuple[F64, F64]:
        """Return stored ``(x, y)`` pixel coordinates (pixel centres at integers) of lon/lat points."""
        xs, ys = self._from_wgs84(np.asarray(lon, np.float64), np.asarray(lat, np.float64))
        with self._transformer() as t:
            zs = np.full(xs.shape, self.height) if self.method == "rpc" else None
            rows, cols = t.rowcol(xs, ys, zs=zs, op=lambda v: v)
        # rasterio's fractional row/col put pixel centres at .5: shift them onto integers.
        return np.asarray(cols, np.float64) - 0.5, np.asarray(rows, np.float64) - 0.5

    def to_lonlat(self, x: F64, y: F64) -> tuple[F64, F64]:
        """Return lon/lat of stored ``(x, y)`` pixel coordinates (pixel centres at integers)."""
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        with self._transformer() as t:
            zs = np.full(x.shape, self.height) if self.method == "rpc" else None
            xs, ys = t.xy(y, x, zs=zs, offset="center")
        return self._to_wgs84(np.asarray(xs, np.float64), np.asarray(ys, np.float64))


def _metadata_rpc(href: str) -> Geolocation | None:
    try:
        rpc = read_metadata(href).rpc
    except (IcecubeStacError, OSError, ValueError):
        return None
    if rpc is None:
        return None
    fields = {k.upper(): v for k, v in rpc.to_dict().items()}
    model = RPC(
        height_off=fields["HEIGHT_OFF"],
        height_scale=fields["HEIGHT_SCALE"],
        lat_off=fields["LAT_OFF"],
        lat_scale=fields["LAT_SCALE"],
        long_off=fields["LONG_OFF"],
        long_scale=fields["LONG_SCALE"],
        line_off=fields["LINE_OFF"],
        line_scale=fields["LINE_SCALE"],
        samp_off=fields["SAMP_OFF"],
        samp_scale=fields["SAMP_SCALE"],
        line_num_coeff=list(fields["LINE_NUM_COEFF"]),
        line_den_coeff=list(fields["LINE_DEN_COEFF"]),
        samp_num_coeff=list(fields["SAMP_NUM_COEFF"]),
        samp_den_coeff=list(fields["SAMP_DEN_COEFF"]),
    )
    return Geolocation("rpc", model, float(fields["HEIGHT_OFF"]))


def _raster_model(href: str) -> Geolocation | None:
    try:
        with rasterio.open(href) as src:
            if src.rpcs is not None:
                return Geolocation("rpc", src.rpcs, float(src.rpcs.height_off))
            gcps, crs = src.gcps
            if gcps:
                return Geolocation("gcp", (tuple(gcps), crs))
            if src.crs is not None and not src.transform.is_identity:
                return Geolocation("affine", (src.transform, src.crs))
    except (rasterio.errors.RasterioError, OSError):
        return None
    return None


def geolocation_of(data_href: str, metadata_href: str = "") -> Geolocation | None:
    """Return the geolocation model of a product, or None when it has none.

    Parameters
    ----------
    data_href
        The product raster (GeoTIFF, COG or HDF5).
    metadata_href
        The ICEYE metadata file (XML sidecar), tried first for its full-precision RPC.

    Returns
    -------
    Geolocation or None
        RPC (metadata, then raster tags), else GCPs, else an affine transform with a CRS.
    """
    for href in (metadata_href, data_href):
        if href and (found := _metadata_rpc(href)) is not None:
            return found
    return _raster_model(data_href) if data_href else None
