"""One ICEYE COG product (``.tif`` + side-car ``.json``) -> one normalised STAC item, checked against its raster.

The side-car STAC item is the primary metadata; the TIFF's ``ICEYE_PROPERTIES`` (the same properties,
embedded) is the fallback when the side-car is missing. The raster header is always read (cheap: no
pixels): its size must match the metadata, its bands (count and SLC band names) the product level, and
the GRD band ``SCALE``/``OFFSET`` is recorded on the item for calibration.

The indexer finds COG products with :func:`cog_product_files` (a ``.tif`` named the new way,
``ICEYE_<geohash6>_<YYYYMMDDThhmmssZ>_...``, or with a same-stem ``.json`` side-car; ICEYE's companion
products ``QLK``/``THM``/``CSI``/``VID`` are not products to index) and reads them with
:func:`item_from_cog_files`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pystac

from icecube_stac.errors import MetadataError, UnsupportedProductError
from icecube_stac.formats import ProductFiles
from icecube_stac.formats._cog_tiff import CogHeader, embedded_properties, read_cog_header
from icecube_stac.vocabulary import COG_MEDIA_TYPE, ProductLevel, Prop

__all__ = ["COG_NAME", "CogProductFiles", "cog_product_files", "item_from_cog_files", "item_from_cog_product"]

COG_NAME: Final = re.compile(r"ICEYE_[0-9A-Z]{6}_\d{8}T\d{6}Z_", re.IGNORECASE)
"""The start of ICEYE's current file names: ``ICEYE_<geohash6>_<YYYYMMDDThhmmssZ>_``."""
_RASTER_SUFFIXES: Final = (".tif", ".tiff")
# ICEYE's other products of a scene (quicklook, thumbnail, colour sub-aperture, video): not GRD/SLC data.
_COMPANIONS: Final = frozenset({"QLK", "QL", "THM", "CSI", "VID"})
_SLC_BAND_NAMES: Final = ("amplitude", "phase")
_PREVIEW_SUFFIXES: Final = ("_AML", "_CPX")
_BANDS: Final = {ProductLevel.GRD: 1, ProductLevel.SLC: 2}
_EXTENSIONS_OF_EMBEDDED: Final = ["https://sar.iceye.com/schema/product-spec/v0.2.2/schema.json"]


@dataclass(frozen=True)
class CogProductFiles(ProductFiles):
    """The files of one ICEYE COG product: the ``.tif`` (``raster``) and its side-car item (``sidecar``).

    ``xml`` is always None; ``raster`` is None for a side-car whose raster is not there (an orphan).
    """

    sidecar: Path | None = None

    @property
    def primary(self) -> Path:
        """The file that identifies the product: the raster if present, else the side-car."""
        path = self.raster or self.sidecar
        if path is None:
            raise ValueError("a COG product needs a raster or a side-car")
        return path


def _token(path: Path) -> str:
    return path.stem.rsplit("_", 1)[-1].upper()


def cog_product_files(path: Path, names: frozenset[str] | None = None) -> CogProductFiles | bool:
    """Tell whether a ``.tif``/``.tiff``/``.json`` file is (part of) an ICEYE COG product, and find its files.

    Parameters
    ----------
    path
        A candidate file.
    names
        The names of the files in its folder, when the caller listed it (saves a ``stat`` per sibling).

    Returns
    -------
    CogProductFiles or bool
        The product's files for a COG raster, or for a side-car named the new way whose raster is missing;
        True for a file that belongs to a COG product but is not one to index (a side-car whose raster is
        there, a ``QLK``/``THM``/``CSI``/``VID`` companion); False for a file that is not COG (legacy).
    """
    suffix = path.suffix.lower()

    def exists(candidate: Path) -> bool:
        return candidate.name in names if names is not None else candidate.is_file()

    if suffix == ".json":
        if COG_NAME.match(path.name) is None:
            return False
        if _token(path) in _COMPANIONS or any(exists(path.with_suffix(s)) for s in _RASTER_SUFFIXES):
            return True
        return CogProductFiles(None, None, sidecar=path)
    if suffix not in _RASTER_SUFFIXES:
        return False
    sidecar = path.with_suffix(".json")
    has_sidecar = exists(sidecar)
    if COG_NAME.match(path.name) is None and not has_sidecar:
        return False
    if COG_NAME.match(path.name) is not None and _token(path) in _COMPANIONS:
        return True
    return CogProductFiles(path, None, sidecar=sidecar if has_sidecar else None)


def _paths(path: Path) -> tuple[Path, Path | None]:
    """Return the raster and the side-car (None when there is none) of a product named by either file."""
    if path.suffix.lower() == ".json":
        for suffix in _RASTER_SUFFIXES:
            if path.with_suffix(suffix).is_file():
                return path.with_suffix(suffix), path
        raise MetadataError(path, f"no raster {path.with_suffix('.tif').name} beside the side-car item", "assets")
    if path.suffix.lower() not in _RASTER_SUFFIXES:
        raise UnsupportedProductError(path, "an ICEYE COG product is a .tif with a side-car .json")
    sidecar = path.with_suffix(".json")
    return path, sidecar if sidecar.is_file() else None


def _read_sidecar(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError) as exc:
        raise MetadataError(path, f"unreadable side-car item: {exc}") from None
    except json.JSONDecodeError as exc:
        raise MetadataError(path, f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    if not isinstance(value, dict):
        raise MetadataError(path, f"a STAC item (JSON object) was expected, got a JSON {type(value).__name__}")
    return value


def _footprint(props: dict[str, Any], header: CogHeader) -> dict[str, Any] | None:
    """Return the polygon of the four corner pixels from ICEYE's GDAL-order ``proj:transform`` (as side-cars have)."""
    value = props.get(Prop.PROJ_TRANSFORM)
    if not isinstance(value, list) or len(value) < 6:
        return None
    x0, a, b, y0, d, e = (float(v) for v in value[:6])
    corners = [(0, 0), (header.width - 1, 0), (header.width - 1, header.height - 1), (0, header.height - 1)]
    ring = [[x0 + a * c + b * r, y0 + d * c + e * r] for c, r in corners]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def _embedded_item(tif: Path, header: CogHeader) -> dict[str, Any]:
    """Rebuild a side-car-like item from ``ICEYE_PROPERTIES`` (the id is the product name: ICEYE's is not there)."""
    props = embedded_properties(header)
    kind = str(props.get(Prop.SAR_PRODUCT_TYPE) or "")
    level = kind.split("-")[0].lower() if kind.endswith("-COG") else ("slc" if len(header.dtypes) == 2 else "grd")
    geometry = _footprint(props, header)
    item: dict[str, Any] = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": list(_EXTENSIONS_OF_EMBEDDED),
        "id": header.tags.get("PRODUCT_NAME") or tif.stem,
        "geometry": geometry,
        "properties": props,
        "links": [],
        "assets": {f"{level}-cog": {"href": tif.name, "type": COG_MEDIA_TYPE, "roles": ["data"]}},
    }
    if geometry is not None:
        xs, ys = zip(*geometry["coordinates"][0], strict=True)
        item["bbox"] = [min(xs), min(ys), max(xs), max(ys)]
    return item


def _check_raster(source: Path, item: dict[str, Any], header: CogHeader) -> ProductLevel:
    props = item.get("properties") or {}
    kind = str(props.get(Prop.SAR_PRODUCT_TYPE) or "")
    level = ProductLevel.SLC if kind == "SLC-COG" else ProductLevel.GRD
    if len(header.dtypes) != _BANDS[level]:
        raise MetadataError(
            header.href,
            f"the metadata say {kind or 'GRD'} ({_BANDS[level]} band(s)) but the raster has {len(header.dtypes)}",
            "bands",
        )
    if level is ProductLevel.SLC:
        for k, (name, wanted) in enumerate(zip(header.names, _SLC_BAND_NAMES, strict=True), start=1):
            if name and name.lower() != wanted:
                raise MetadataError(
                    header.href,
                    f"band {k} is named {name!r}; ICEYE SLC COGs store band 1 'amplitude' and band 2 'phase'",
                    "NAME",
                )
    shape = props.get(Prop.PROJ_SHAPE)
    if isinstance(shape, list) and [int(v) for v in shape] != [header.width, header.height]:
        raise MetadataError(
            source,
            f"side-car says {shape} ([ImageWidth, ImageLength]) but the raster {Path(header.href).name} is "
            f"{header.width} x {header.height}",
            Prop.PROJ_SHAPE,
        )
    return level


def item_from_cog_product(path: str | Path) -> pystac.Item:
    """Read one ICEYE COG product into a normalised STAC item (see :mod:`icecube_stac.iceye_items`).

    Parameters
    ----------
    path
        The product's ``.tif`` or its side-car ``.json``.

    Returns
    -------
    pystac.Item
        Asset hrefs absolute (the files' folder); ``icecube:amplitude_scale``/``offset`` from the GRD band.

    Raises
    ------
    UnsupportedProductError
        A 2024 preview product (``_AML``/``_CPX``, ``METADATA_JSON``), or a TIFF without ICEYE metadata.
    MetadataError
        Missing raster, unreadable or truncated TIFF, side-car and raster of different sizes or levels,
        a misnamed band, broken ``ICEYE_PROPERTIES``, an invalid item; the message names file and field.
    """
    tif, sidecar = _paths(Path(path))
    return _item(tif, sidecar)


def item_from_cog_files(files: CogProductFiles) -> pystac.Item:
    """Read a COG product whose files are already known (from :func:`cog_product_files`) into its item.

    Parameters
    ----------
    files
        The product's files.

    Returns
    -------
    pystac.Item
        As :func:`item_from_cog_product` (asset hrefs absolute).

    Raises
    ------
    UnsupportedProductError, MetadataError
        As :func:`item_from_cog_product`; a side-car without its raster is a MetadataError on field ``assets``.
    """
    if files.raster is None:
        assert files.sidecar is not None
        _read_sidecar(files.sidecar)  # a broken side-car is reported as such, before its missing raster
        raise MetadataError(
            files.sidecar, f"no raster {files.sidecar.with_suffix('.tif').name} beside the side-car item", "assets"
        )
    return _item(files.raster, files.sidecar)


def _item(tif: Path, sidecar: Path | None) -> pystac.Item:
    from icecube_stac.iceye_items import normalise_iceye_item  # the normaliser imports this package

    if tif.stem.upper().endswith(_PREVIEW_SUFFIXES):
        raise UnsupportedProductError(
            tif, "ICEYE's 2024 preview COG generation (_AML/_CPX, METADATA_JSON) is not supported", "METADATA_JSON"
        )
    if not tif.is_file():
        raise MetadataError(tif, "the raster does not exist", "assets")
    header = read_cog_header(str(tif))
    if "METADATA_JSON" in header.tags:
        embedded_properties(header)  # raises the preview-generation error
    item = _read_sidecar(sidecar) if sidecar is not None else _embedded_item(tif, header)
    level = _check_raster(sidecar or tif, item, header)
    scale = header.scales[0] if level is ProductLevel.GRD else None
    offset = header.offsets[0] if level is ProductLevel.GRD else None
    return normalise_iceye_item(
        item, base_href=tif.parent, band_scale=scale, band_offset=offset, source=str(sidecar or tif)
    )
