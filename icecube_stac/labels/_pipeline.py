"""The labels step of :func:`icecube_stac.pipeline.load_cube`: which labels, which products, attach.

``labels`` (config key or argument) names a labels file or folder, or ``"catalog"``: the STAC label items
of the config's local catalog (``<catalog>/labels/``, written by ``icecube-stac index --labels``).
``labelled: true`` keeps only the searched products that have labels: an entry (icecube JSON, STAC label
item) or a geographic feature restricted to them; lon/lat features without a ``product_file`` may label any
product, so they keep every product.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pystac

from icecube_stac.config import CubeConfig
from icecube_stac.labels._model import LabelError, LabelSet
from icecube_stac.labels._sources import read_labels
from icecube_stac.vocabulary import ASSET_DATA, catalog_root, is_api_url

__all__ = ["LABELS_COLLECTION", "labelled_items", "labels_for"]

LABELS_COLLECTION = "labels"


def labels_for(config: CubeConfig, labels: str | Path | LabelSet | None = None) -> LabelSet | None:
    """Return the labels a cube load asks for (argument first, then ``config.labels``), or None.

    Raises
    ------
    LabelError
        For ``"catalog"`` with a STAC API catalog or a catalog without label items, and as
        :func:`~icecube_stac.labels.read_labels` raises.
    """
    if isinstance(labels, LabelSet):
        return labels
    source = labels if labels is not None else config.labels
    if source is None and config.labelled:
        source = "catalog"  # labelled: true with no labels named: the catalog's label items decide
    if source is None:
        return None
    if str(source) == "catalog":
        if is_api_url(config.catalog):
            raise LabelError(f"labels 'catalog' needs a local catalog, not the STAC API {config.catalog}")
        folder = catalog_root(config.catalog) / LABELS_COLLECTION
        if not folder.is_dir():
            raise LabelError(f"labels 'catalog': {config.catalog} has no label items (no {folder}): index --labels")
        return read_labels(folder)
    return read_labels(source)


def _product_file(item: pystac.Item) -> str:
    asset = item.assets.get(ASSET_DATA) or next((a for a in item.assets.values() if "data" in (a.roles or [])), None)
    return PurePosixPath(urlsplit(asset.href).path).name if asset is not None else ""


def labelled_items(items: pystac.ItemCollection, labels: LabelSet | None) -> pystac.ItemCollection:
    """Return the items whose product the labels cover (``labelled: true``), in the same order."""
    if labels is None:
        return pystac.ItemCollection([])
    if any(not f.product_file for f in labels.features):
        return items
    wanted = {e.product_file for e in labels.entries} | {f.product_file for f in labels.features}
    return pystac.ItemCollection([i for i in items if _product_file(i) in wanted])
