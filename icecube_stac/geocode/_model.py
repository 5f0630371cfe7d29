"""A product's own geolocation (RPC, else GCP grid), read once and expressed in the cube's pixel space.

Legacy GRD GeoTIFFs carry an RPC tag and a GCP grid, COG products (GRD and SLC) an RPC tag and a
ModelTiepoint grid (which GDAL reads as GCPs), legacy SLC HDF5 files an ``RPC/`` group (and the XML sidecar
the same RPC). Every model maps ground to the *stored* raster; a COG stores the image transposed or
reversed (``ParsedItem.orientation``), so the model is rewritten for the cube's pixel space (rows = azimuth
lines in time order, columns = range samples near to far), which is what the readers return: the RPC's
line/sample terms are swapped and mirrored exactly (an RPC is affine in line and sample), GCP rows and
columns likewise.

Pixel convention: RPC line/sample and ICEYE's GCP row/column are both 0-based pixel-centre indices (they
agree to < 0.1 px, iceye_formats.md §4.1). GDAL reads RPCs that way but takes GCP pixel/line as corner
coordinates, so :meth:`Geolocation.gdal_gcps` adds half a pixel: the RPC and GCP paths then place the
same pixel at the same ground point.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from rasterio.control import GroundControlPoint
from rasterio.rpc import RPC

from icecube_stac._quiet import ignoring
from icecube_stac.errors import LoadError
from icecube_stac.item import Orientation, ParsedItem
from icecube_stac.vocabulary import Container

__all__ = ["Geolocation", "ModelChoice", "read_geolocation"]

ModelChoice = Literal["auto", "rpc", "gcp"]
"""``auto`` = the RPC when the product has one, else its GCP grid."""

_RPC_SCALARS: Final = (
    "line_off",
    "samp_off",
    "lat_off",
    "long_off",
    "height_off",
    "line_scale",
    "samp_scale",
    "lat_scale",
    "long_scale",
    "height_scale",
)
_RPC_ARRAYS: Final = ("line_num_coeff", "line_den_coeff", "samp_num_coeff", "samp_den_coeff")
_Gcp = tuple[float, float, float, float, float]  # row, col (pixel-centre indices), lon, lat, height


@dataclass(frozen=True)
class Geolocation:
    """Ground → cube pixel model of one product: plain values (picklable into dask workers).

    Attributes
    ----------
    kind
        ``"rpc"`` or ``"gcp"``.
    rpc
        RPC00B with rasterio's lower-case keys (0-based pixel-centre line = cube row, sample = cube column).
    gcps
        ``(row, col, lon, lat, height)`` in cube pixel-centre indices (EPSG:4326).
    height
        The product's average scene height (m), the RPC height when no DEM is given.
    """

    kind: Literal["rpc", "gcp"]
    rpc: Mapping[str, Any] | None
    gcps: tuple[_Gcp, ...]
    height: float

    def shifted(self, row: int, col: int) -> Geolocation:
        """Return the model of the window starting at ``(row, col)`` (its pixel (0, 0) is that pixel)."""
        if self.rpc is not None:
            rpc = dict(self.rpc)
            rpc["line_off"] = float(rpc["line_off"]) - row
            rpc["samp_off"] = float(rpc["samp_off"]) - col
            return replace(self, rpc=rpc)
        return replace(self, gcps=tuple((r - row, c - col, x, y, z) for r, c, x, y, z in self.gcps))

    def rasterio_rpcs(self) -> RPC:
        """Return the RPC as rasterio's :class:`~rasterio.rpc.RPC`."""
        assert self.rpc is not None
        values = dict(self.rpc)
        values.setdefault("err_bias", -1.0)
        values.setdefault("err_rand", -1.0)
        return RPC(**values)

    def gdal_gcps(self) -> list[GroundControlPoint]:
        """Return the GCPs as GDAL reads them: pixel/line are corner coordinates, so centres are + 0.5."""
        return [
            GroundControlPoint(row=r + 0.5, col=c + 0.5, x=x, y=y, z=z, id=str(k + 1))
            for k, (r, c, x, y, z) in enumerate(self.gcps)
        ]

    def warp_kwargs(self) -> dict[str, Any]:
        """Return the ``rpcs=`` or ``gcps=`` argument of :func:`rasterio.warp.reproject`."""
        return {"rpcs": self.rasterio_rpcs()} if self.kind == "rpc" else {"gcps": self.gdal_gcps()}


def _rpc_dict(values: Mapping[str, Any]) -> dict[str, Any]:
    lower = {str(k).lower(): v for k, v in values.items()}
    rpc: dict[str, Any] = {k: float(lower[k]) for k in _RPC_SCALARS}
    for key in _RPC_ARRAYS:
        coeffs = lower[key]
        rpc[key] = [float(c) for c in (coeffs.split() if isinstance(coeffs, str) else coeffs)]
    return rpc


def _mirror(rpc: dict[str, Any], axis: str, size: int) -> None:
    """Rewrite ``axis`` (``line``/``samp``) as ``size - 1 - axis``: offset mirrored, numerator negated."""
    rpc[f"{axis}_off"] = size - 1 - float(rpc[f"{axis}_off"])
    rpc[f"{axis}_num_coeff"] = [-float(c) for c in rpc[f"{axis}_num_coeff"]]


def _oriented_rpc(rpc: dict[str, Any], orientation: Orientation, shape: tuple[int, int]) -> dict[str, Any]:
    """Rewrite a stored-raster RPC for the cube's pixel space (the readers' transpose, then reversals)."""
    out = dict(rpc)
    if orientation.transposed:
        for name in ("off", "scale", "num_coeff", "den_coeff"):
            out[f"line_{name}"], out[f"samp_{name}"] = rpc[f"samp_{name}"], rpc[f"line_{name}"]
    if orientation.azimuth_reversed:
        _mirror(out, "line", shape[0])
    if orientation.range_reversed:
        _mirror(out, "samp", shape[1])
    return out


def _oriented_gcps(gcps: list[Any], orientation: Orientation, shape: tuple[int, int]) -> tuple[_Gcp, ...]:
    out: list[_Gcp] = []
    for gcp in gcps:
        row, col = (float(gcp.col), float(gcp.row)) if orientation.transposed else (float(gcp.row), float(gcp.col))
        row = shape[0] - 1 - row if orientation.azimuth_reversed else row
        col = shape[1] - 1 - col if orientation.range_reversed else col
        out.append((row, col, float(gcp.x), float(gcp.y), float(gcp.z or 0.0)))
    return tuple(out)


def _tiff_models(item: ParsedItem) -> tuple[dict[str, Any] | None, list[Any]]:
    """Read the RPC tag and the GCP grid of a GeoTIFF/COG (header only; GTiff driver, no side files)."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    from icecube_stac.formats.geotiff import _GDAL_ERRORS, _SAFE_GDAL  # the hostile-file settings, shared

    try:
        with (
            ignoring(NotGeoreferencedWarning),
            rasterio.Env(**_SAFE_GDAL),
            rasterio.open(item.data_href, driver="GTiff") as src,
        ):
            rpcs = src.rpcs
            gcps, crs = src.gcps
    except _GDAL_ERRORS as exc:
        raise LoadError(f"item {item.id!r}: cannot read the geolocation of {item.data_href}: {exc}") from None
    if gcps and crs is not None and crs.to_epsg() != 4326:
        raise LoadError(f"item {item.id!r}: the GCPs of {item.data_href} are in {crs}, expected EPSG:4326")
    return (None if rpcs is None else _rpc_dict(rpcs.to_dict())), list(gcps or [])


def _hdf5_rpc(item: ParsedItem) -> dict[str, Any] | None:
    from icecube_stac.formats import read_metadata

    source = item.metadata_href or item.data_href
    try:
        meta = read_metadata(source)
    except Exception as exc:  # any reader failure names the file: the geocoding cannot go on without it
        raise LoadError(f"item {item.id!r}: cannot read the RPC of {source}: {exc}") from None
    return None if meta.rpc is None else _rpc_dict(meta.rpc.to_dict())


def _height(item: ParsedItem, rpc: Mapping[str, Any] | None) -> float:
    value = item.item.properties.get("iceye:average_scene_height")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return float(rpc["height_off"]) if rpc is not None else 0.0


def read_geolocation(item: ParsedItem, choice: ModelChoice = "auto") -> Geolocation:
    """Read a product's geolocation model in the cube's pixel space.

    Parameters
    ----------
    item
        The parsed item (its data href, container, orientation and shape).
    choice
        ``"auto"`` (RPC, else GCPs), ``"rpc"`` or ``"gcp"``.

    Returns
    -------
    Geolocation

    Raises
    ------
    LoadError
        When the product has no model of the kind asked for (the message names the item and the file).
    """
    if item.shape is None:
        raise LoadError(f"item {item.id!r} has no proj:shape; geocoding needs the raster's shape")
    if item.container == Container.LEGACY_HDF5:
        rpc, gcps = _hdf5_rpc(item), list[Any]()
    else:
        rpc, gcps = _tiff_models(item)
    height = _height(item, rpc)
    if choice in ("auto", "rpc") and rpc is not None:
        return Geolocation("rpc", _oriented_rpc(rpc, item.orientation, item.shape), (), height)
    if choice in ("auto", "gcp") and len(gcps) >= 3:
        return Geolocation("gcp", None, _oriented_gcps(gcps, item.orientation, item.shape), height)
    has = [name for name, present in (("an RPC", rpc is not None), ("GCPs", len(gcps) >= 3)) if present]
    wanted = {"rpc": "RPC", "gcp": "GCP grid"}.get(choice, "RPC or GCP grid")
    raise LoadError(
        f"item {item.id!r}: {item.data_href} has no {wanted} to geocode it with "
        f"(it has {' and '.join(has) or 'neither'})"
    )
