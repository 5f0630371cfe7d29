"""Write the preview products of an open-data scene: QLK COG and PNG, its KML ground overlay, and the THM thumbnail.

They are derived from a written GRD or SLC COG (its first band, block-averaged to at most 512 px);
the KML places the PNG on the product footprint with a ``gx:LatLonQuad``.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import rasterio
from numpy.typing import NDArray

from .._containers import write_png
from .._pixels import quicklook
from ._product import GeneratedCogProduct
from ._raster import CogLayout, write_cog

__all__ = ["QuicklookFiles", "write_quicklooks"]

_THUMBNAIL_MAX = 128

QuicklookFiles = dict[str, Path]


def _preview_pixels(product: GeneratedCogProduct) -> NDArray[np.uint8]:
    with rasterio.open(product.tif) as src:
        amplitude = src.read(1, masked=False).astype(np.float32)
    return quicklook(amplitude)


def _kml(name: str, png: str, corners: list[list[float]]) -> str:
    # gx:LatLonQuad wants the corners counter-clockwise from the lower left of the image.
    lower_left, lower_right, upper_right, upper_left = corners[3], corners[2], corners[1], corners[0]
    quad = " ".join(f"{lon!r},{lat!r}" for lon, lat in (lower_left, lower_right, upper_right, upper_left))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">\n'
        f"  <GroundOverlay>\n    <name>{escape(name)}</name>\n"
        f"    <Icon><href>{escape(png)}</href></Icon>\n"
        f"    <gx:LatLonQuad><coordinates>{quad}</coordinates></gx:LatLonQuad>\n"
        "  </GroundOverlay>\n</kml>\n"
    )


def write_quicklooks(product: GeneratedCogProduct, folder: Path, scene_stem: str) -> QuicklookFiles:
    """Write ``<scene>_QLK.tif``, ``_QLK.png``, ``_QLK.kml`` and ``_THM.png`` next to the scene's products.

    Parameters
    ----------
    product
        The GRD (preferably) or SLC product the previews show.
    folder
        The scene's data folder.
    scene_stem
        The scene stem (file names are ``<scene_stem>_QLK.*`` / ``_THM.png``).

    Returns
    -------
    dict
        ``{"qlk-cog", "qlk-png", "qlk-kml", "thumbnail"}`` to paths.
    """
    pixels = _preview_pixels(product)
    step = max(1, -(-max(pixels.shape) // _THUMBNAIL_MAX))
    files = {
        "qlk-cog": folder / f"{scene_stem}_QLK.tif",
        "qlk-png": folder / f"{scene_stem}_QLK.png",
        "qlk-kml": folder / f"{scene_stem}_QLK.kml",
        "thumbnail": folder / f"{scene_stem}_THM.png",
    }
    layout = CogLayout(tile_size=512, compress="DEFLATE", overviews=0, tags={"PRODUCT_NAME": f"{scene_stem}_QLK"})
    write_cog(files["qlk-cog"], pixels[None], 0.0, layout)
    write_png(files["qlk-png"], pixels)
    write_png(files["thumbnail"], np.ascontiguousarray(pixels[::step, ::step]))
    corners = product.item["geometry"]["coordinates"][0][:4]
    text = _kml(f"{scene_stem}_QLK", files["qlk-png"].name, corners)
    files["qlk-kml"].write_text(text, encoding="utf-8", newline="\n")
    return files
