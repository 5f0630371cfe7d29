"""STAC items → a lazy ``xarray.Dataset`` time series in sensor geometry (ARCHITECTURE.md decision 6).

Layout
------
dims ``("time", "azimuth", "range")`` with 0-based integer pixel coords. GRD items give the variable
``amplitude`` (float32 DN exactly as stored in the uint16 GeoTIFF); SLC items give ``slc`` (complex64
``s_i + 1j*s_q``, no scaling). Rows are azimuth lines in acquisition-time order, columns range samples.

The stage is split by job: :mod:`._timeaxis` (natural timeline or icecube's N-day slots),
:mod:`._blocks` (chunk sizes and the block reads, through :mod:`icecube_stac.readers`), :mod:`._coords`
(coordinates and attributes), :mod:`._plan` (all of it as plain values and numpy arrays), :mod:`._graph` (the
dask graph of the reads) and :mod:`._build` (:func:`build_cube`: the plan as a lazy ``xarray.Dataset``).
:mod:`._direct` writes a plan to Zarr without xarray, pandas or dask (the command line's plain cubes); this
package imports :func:`build_cube`, and with it xarray and dask, on first use.

Grid
----
The first item (in time order) defines the (azimuth, range) grid. Pixel (0, 0) of every product is put at
grid pixel (0, 0); a product with another shape is padded at the end (bottom/right) with the fill value or
cropped, with a :class:`ShapeMismatchWarning`. ``coregistered=true`` in the config states that the stack is
pixel-aligned; ``coregistered=false`` (the default) means pixel (azimuth, range) is *not* the same ground
point across time; the dataset attrs say so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from icecube_stac.cube._blocks import DEFAULT_CHUNKS, DIMS, RasterSource, read_block
from icecube_stac.cube._plan import OnMissing
from icecube_stac.cube._warnings import CubeWarning, ShapeMismatchWarning, SkippedItemWarning, TimeSlotWarning

if TYPE_CHECKING:
    from icecube_stac.cube._build import build_cube

__all__ = [
    "DEFAULT_CHUNKS",
    "DIMS",
    "CubeWarning",
    "OnMissing",
    "RasterSource",
    "ShapeMismatchWarning",
    "SkippedItemWarning",
    "TimeSlotWarning",
    "build_cube",
    "read_block",
]


def __getattr__(name: str) -> Any:
    # build_cube on first use: importing the package (for the plan or the block reads) imports no xarray or dask.
    if name == "build_cube":
        from icecube_stac.cube._build import build_cube

        return build_cube
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
