"""Write one synthetic ICEYE COG product (``.tif`` + side-car ``.json``) and describe what was written.

:func:`write_cog_product` is the entry point; :func:`cog_item_for` gives the side-car item of a
spec without writing anything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from ._item import cog_item, embedded_properties, properties_metadata_value, sidecar_text
from ._names import product_stem
from ._plan import CogPlan, grd_pixels, plan_cog, slc_pixels
from ._preview import preview_document
from ._raster import CogLayout, auto_overview_count, write_cog
from ._spec import CogProductSpec

__all__ = ["GeneratedCogProduct", "cog_item_for", "write_cog_product"]


@dataclass(frozen=True)
class GeneratedCogProduct:
    """Paths and metadata of one written COG product.

    Attributes
    ----------
    spec
        The spec it was generated from.
    name
        File stem, e.g. ``ICEYE_6Q31WW_20251110T182058Z_7010715_X56_SLEDF_GRD`` (``..._AML`` /
        ``..._CPX`` for the 2024 preview generation).
    tif
        The raster.
    json
        The side-car file, or ``None`` when ``spec.with_sidecar`` is false.
    item
        The current-generation STAC item of the product (what the side-car holds, or would hold);
        the ground truth for reader tests, also for preview products.
    embedded
        The JSON object embedded in the TIFF: ``ICEYE_PROPERTIES`` (the properties plus
        ``iceye:rpc.err_bias``/``err_rand``), the preview's ``METADATA_JSON`` document, or ``None``.
    """

    spec: CogProductSpec
    name: str
    tif: Path
    json: Path | None
    item: Mapping[str, Any]
    embedded: Mapping[str, Any] | None


def cog_item_for(spec: CogProductSpec) -> dict[str, Any]:
    """Return the side-car STAC item of ``spec`` without writing files.

    Parameters
    ----------
    spec
        The product.

    Returns
    -------
    dict
        The item as :func:`write_cog_product` writes it.
    """
    return cog_item(plan_cog(spec))


def _bands(plan: CogPlan) -> tuple[np.ndarray[Any, Any], list[dict[str, str]]]:
    if plan.spec.level == "GRD":
        # [INF] ICEYE's GRD band NAME is not public; the SLC's first band is "amplitude".
        return grd_pixels(plan)[None], [{"NAME": "amplitude"}]
    return slc_pixels(plan), [{"NAME": "amplitude"}, {"NAME": "phase"}]


def _overviews(spec: CogProductSpec) -> int:
    if spec.overviews is not None:
        return spec.overviews
    if spec.level == "SLC":
        return 0
    return max(1, auto_overview_count(spec.shape[0], spec.shape[1], spec.tile_size))


def _layout(plan: CogPlan, stem: str, embedded: dict[str, Any] | None, band_tags: list[dict[str, str]]) -> CogLayout:
    spec, geometry = plan.spec, plan.geometry
    tags: dict[str, str] = {}
    if embedded is not None:
        tags["METADATA_JSON" if spec.preview_2024 else "ICEYE_PROPERTIES"] = properties_metadata_value(embedded)
    tags["PRODUCT_NAME"] = stem
    if not spec.preview_2024:
        tags["PRODUCT_FILE"] = f"{stem}.tif"
    grd = spec.level == "GRD"
    return CogLayout(
        tile_size=spec.tile_size,
        compress="LZW" if grd else "NONE",
        overviews=_overviews(spec),
        tiepoints=None if spec.preview_2024 else geometry.tiepoints,
        rpc=None if spec.preview_2024 else geometry.rpc,
        transform=geometry.transform if spec.preview_2024 else None,
        tags=tags,
        band_tags=band_tags,
        scales=[plan.band_scale] if grd else None,
        offsets=[0.0] if grd else None,
    )


def write_cog_product(spec: CogProductSpec, folder: str | Path) -> GeneratedCogProduct:
    """Write the COG (and its side-car item) of ``spec`` into ``folder``.

    Parameters
    ----------
    spec
        The product. ``preview_2024`` selects the ``_AML``/``_CPX`` generation, ``with_sidecar`` and
        ``embed_properties`` which metadata copies exist.
    folder
        Output folder, created if needed.

    Returns
    -------
    GeneratedCogProduct
        Paths, the STAC item and the embedded metadata. The same spec always gives the same bytes.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    plan = plan_cog(spec)
    item = cog_item(plan)
    stem = product_stem(spec)
    tif = out / f"{stem}.tif"
    document = preview_document(plan, item, tif.name) if spec.preview_2024 else embedded_properties(plan, item)
    embedded = document if spec.embed_properties else None
    bands, band_tags = _bands(plan)
    write_cog(tif, bands, 0.0, _layout(plan, stem, embedded, band_tags))
    sidecar = None
    if spec.with_sidecar:
        sidecar = out / f"{stem}.json"
        # [INF] the preview's side-car is taken to hold the same nested document as METADATA_JSON.
        text = json.dumps(document, indent=1) if spec.preview_2024 else sidecar_text(item)
        sidecar.write_text(text, encoding="utf-8", newline="\n")
    frozen = None if embedded is None else MappingProxyType(embedded)
    return GeneratedCogProduct(spec, stem, tif, sidecar, MappingProxyType(item), frozen)
