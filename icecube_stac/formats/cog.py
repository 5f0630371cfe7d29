"""Readers of ICEYE's current products (Cloud-Optimized GeoTIFFs), returning windows in the cube's orientation.

ICEYE COGs are laid out "shadows-down" (range down the TIFF rows, azimuth along the columns, the
column direction depending on the look side). :func:`~icecube_stac.item.parse_item` decides the
layout from each item's metadata and passes it to the reader as options of the container name
(:class:`~icecube_stac.readers.ContainerName`); the reader maps every requested cube window (azimuth
lines in time order x range samples near to far) onto the raster window, reads it in one GDAL call
and transposes / flips it in memory. Windows at the edges map exactly (a reversed axis maps
``[a0, a1)`` to ``[n - a1, n - a0)``); GDAL decodes whole 512 x 512 tiles, so cube chunks that are
multiples of 512 read each tile once.

* **GRD** (``Container.COG_GRD``): band 1 DN exactly as stored (uint16), no ``SCALE`` applied: the cube's
  ``amplitude`` holds DN like legacy products, and the band ``SCALE``/``OFFSET`` is recorded on the
  item (``icecube:amplitude_scale``/``offset``) for calibration: sigma0 = calibration_factor *
  (DN * scale + offset)**2. DN 0 is ICEYE's no-data value and stays 0.
* **SLC** (``Container.COG_SLC``): complex64 ``A * exp(sign * 1j * phase)`` from the ``amplitude`` and
  ``phase`` bands, after undoing ``iceye:amplitude_mapping`` (``power``: ``A = stored ** (scale /
  exponent)``, as ICEYE's QGIS plugin does) and applying band ``SCALE``/``OFFSET``. ``sign`` is +1 by
  default (SNAP's I = A cos(phase), Q = A sin(phase), which reproduces a legacy SLC's ``s_i + 1j*s_q``); -1
  gives ICEYE's QGIS plugin's ``exp(-1j * phase)``. A zero amplitude (no-data) gives 0+0j whatever
  the phase (0 is a valid phase, so the phase band has no no-data value).

Remote hrefs (``https://``, ``s3://``, ...) are read by GDAL with range requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Self

import numpy as np
import numpy.typing as npt
import rasterio
from rasterio.windows import Window

from icecube_stac.errors import LoadError, MetadataError
from icecube_stac.formats._cog_options import CogReadOptions
from icecube_stac.formats._cog_product import item_from_cog_product
from icecube_stac.formats._cog_tiff import COG_GDAL_ENV, GDAL_ERRORS, open_cog_dataset
from icecube_stac.vocabulary import ProductLevel

__all__ = [
    "COG_GRD_READER",
    "COG_SLC_READER",
    "CogReadOptions",
    "CogReader",
    "item_from_cog_product",
]

_GRD_DTYPES: Final = frozenset({"uint16", "uint32", "float32"})
_SLC_DTYPES: Final = frozenset({"float32", "float64"})
_SLC_BANDS: Final = ("amplitude", "phase")
_DEFAULT_OPTIONS: Final = CogReadOptions()


def _check_bands(href: str, src: rasterio.DatasetReader, level: ProductLevel) -> None:
    dtypes = tuple(str(d) for d in src.dtypes)
    if level is ProductLevel.GRD:
        if src.count != 1 or dtypes[0] not in _GRD_DTYPES:
            raise MetadataError(
                href, f"a GRD COG has 1 band of {sorted(_GRD_DTYPES)} DN; this one has {src.count}: {dtypes}", "bands"
            )
        return
    if src.count != 2 or any(d not in _SLC_DTYPES for d in dtypes):
        raise MetadataError(
            href, f"an SLC COG has 2 float bands (amplitude, phase); this one has {src.count}: {dtypes}", "bands"
        )
    names = [str(src.tags(k).get("NAME") or src.descriptions[k - 1] or "").lower() for k in (1, 2)]
    for k, (name, wanted) in enumerate(zip(names, _SLC_BANDS, strict=True), start=1):
        if name and name != wanted:
            raise MetadataError(
                href, f"band {k} is named {name!r}; ICEYE SLC COGs store band 1 'amplitude' and band 2 'phase'", "NAME"
            )


class _CogRaster:
    """One open COG, read in cube orientation (rows = azimuth in time order, columns = range near to far)."""

    def __init__(self, href: str, level: ProductLevel, options: CogReadOptions) -> None:
        self.href, self._level, self._options = href, level, options
        self._src = open_cog_dataset(href)
        try:
            _check_bands(href, self._src, level)
        except BaseException:
            self._src.close()
            raise

    @property
    def shape(self) -> tuple[int, int]:
        """``(azimuth, range)`` size."""
        rows, cols = int(self._src.height), int(self._src.width)
        return (cols, rows) if self._options.transposed else (rows, cols)

    @property
    def band_scale(self) -> tuple[float, float]:
        """The first band's GDAL ``SCALE``/``OFFSET``: GRD amplitude = DN * scale + offset."""
        return float(self._src.scales[0]), float(self._src.offsets[0])

    @property
    def dtype(self) -> np.dtype[Any]:
        """The stored DN type (GRD) or complex64 (SLC)."""
        if self._level is ProductLevel.GRD:
            stored: np.dtype[Any] = np.dtype(self._src.dtypes[0])
            return stored
        return np.dtype(np.complex64)

    def _stored(self, window: slice, size: int, reversed_: bool) -> slice:
        start, stop, _ = window.indices(size)
        return slice(size - stop, size - start) if reversed_ else slice(start, stop)

    def read(self, rows: slice, cols: slice) -> npt.NDArray[Any]:
        """Read the cube window ``[rows, cols]`` (azimuth lines, range samples)."""
        opts = self._options
        n_az, n_rg = self.shape
        az, rg = self._stored(rows, n_az, opts.azimuth_reversed), self._stored(cols, n_rg, opts.range_reversed)
        window = Window.from_slices(rg, az) if opts.transposed else Window.from_slices(az, rg)
        bands = [1] if self._level is ProductLevel.GRD else [1, 2]
        try:
            with rasterio.Env(**COG_GDAL_ENV):
                data = self._src.read(bands, window=window)
        except GDAL_ERRORS as exc:
            raise LoadError(
                f"{self.href}: cannot read raster rows {window.row_off}:{window.row_off + window.height}, "
                f"columns {window.col_off}:{window.col_off + window.width}: {exc}"
            ) from None
        values = data[0] if self._level is ProductLevel.GRD else self._complex(data)
        if opts.transposed:
            values = values.T
        if opts.azimuth_reversed:
            values = values[::-1, :]
        if opts.range_reversed:
            values = values[:, ::-1]
        out: npt.NDArray[Any] = np.ascontiguousarray(values)
        return out

    def _complex(self, data: npt.NDArray[Any]) -> npt.NDArray[np.complex64]:
        # In float32, the precision of the complex64 result (within 2e-7 of float64 maths, 10x less CPU: the
        # float64/complex128 version was 40 % of an SLC COG cube's profile); cos and sin fill the parts in place.
        amplitude, phase = data[0].astype(np.float32, copy=False), data[1].astype(np.float32, copy=False)
        mapping = self._options.amplitude_mapping
        if mapping is not None:
            scale, exponent = mapping
            amplitude = np.power(amplitude, np.float32(scale / exponent))
        amplitude = amplitude * np.float32(self._src.scales[0]) + np.float32(self._src.offsets[0])
        phase = phase * np.float32(self._src.scales[1]) + np.float32(self._src.offsets[1])
        out: npt.NDArray[np.complex64] = np.empty(amplitude.shape, np.complex64)
        np.multiply(amplitude, np.cos(phase), out=out.real)
        np.multiply(amplitude, np.sin(phase), out=out.imag)
        if self._options.phase_sign < 0:
            np.negative(out.imag, out=out.imag)
        out[amplitude == 0] = 0  # no-data: 0 + 0j, whatever the phase says
        return out

    def close(self) -> None:
        """Close the dataset."""
        self._src.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True)
class CogReader:
    """The :class:`~icecube_stac.readers.Reader` of ICEYE GRD or SLC COGs, with its read options."""

    level: ProductLevel
    options: CogReadOptions = _DEFAULT_OPTIONS

    def open(self, href: str) -> _CogRaster:
        """Open a COG by local path or GDAL-readable URL."""
        return _CogRaster(href, self.level, self.options)

    def configured(self, options: Mapping[str, str]) -> CogReader:
        """Return this reader with the options a :class:`~icecube_stac.readers.ContainerName` carries."""
        return replace(self, options=CogReadOptions.from_options(options))


COG_GRD_READER: Final = CogReader(ProductLevel.GRD)
COG_SLC_READER: Final = CogReader(ProductLevel.SLC)
