"""Window offsets of one slice against the reference: subpixel cross-correlation of amplitude windows.

The reference is cut into a grid of square windows; each window is read from the slice where the coarse
offset puts it (only those windows are read, through the product's reader, never the whole raster) and
correlated with scikit-image's :func:`~skimage.registration.phase_cross_correlation` (plain
cross-correlation, ``normalization=None``: phase normalisation whitens the spectrum and so weights the
speckle as much as the scene; ``upsample_factor`` gives the subpixel peak). A second pass correlates the
window again after shifting it by the first estimate (a Fourier shift of a slightly larger read), which
removes the bias towards whole pixels that the windows' non-periodic edges cause.

Windows are refused before the fit (their offset is NaN) when they hold no-data (NaN fill, GRD DN 0) or
fall outside the slice, when the reference window is dark (water: its mean amplitude below
:data:`DARK_FRACTION` of the median window), or when the correlation peak is weak (normalised peak below
:data:`MIN_PEAK` or less than :data:`MIN_PEAK_RATIO` times the highest value outside its main lobe, whose
width is measured: a smooth scene correlates over many pixels).

Before the windows, one large central window correlated at whole-pixel precision checks the starting
offset (:func:`_central_offset`). SLC windows are deramped and detected at twice the sampling
(:func:`read_window`); GRD windows are the DN as read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from icecube_stac.coregister._scipy import phase_cross_correlation
from icecube_stac.cube._graph import RasterSource
from icecube_stac.errors import LoadError
from icecube_stac.readers import OpenRaster, get_reader

__all__ = ["DARK_FRACTION", "MIN_PEAK", "MIN_PEAK_RATIO", "SliceOffsets", "measure_slice", "reference_windows"]

F64 = NDArray[np.float64]

DARK_FRACTION: Final = 0.3
MIN_PEAK: Final = 0.08
MIN_PEAK_RATIO: Final = 1.3
_PAD: Final = 8  # pixels read around a slice window for the second, Fourier-shifted pass
_NODATA_FRACTION: Final = 0.01
_EXCLUDE: Final = 3  # half-size of the peak's neighbourhood left out of the peak ratio
_CENTRE: Final = 512  # side of the central window of the integer pre-search


@dataclass(frozen=True)
class SliceOffsets:
    """The measured offsets of one slice.

    Attributes
    ----------
    offsets
        ``(n, 2)`` (azimuth, range) ``slice - reference`` at each window centre; NaN for a refused window.
    refused
        Why windows were refused: ``{"no data": 3, "dark": 2, "weak peak": 1}``.
    start
        The offset the window search started from (geometric, or from the central window).
    """

    offsets: F64
    refused: dict[str, int]
    start: tuple[float, float] = (0.0, 0.0)


def window_origins(shape: tuple[int, int], window: int, grid: tuple[int, int]) -> tuple[int, NDArray[np.int64]]:
    """Return the window side (shrunk to fit small rasters) and the ``(n, 2)`` top-left corners of the grid."""
    side = int(min(window, (min(shape) - 2 * _PAD) // 2))
    axes = []
    for extent, count in zip(shape, grid, strict=True):
        low, high = _PAD, extent - side - _PAD
        axes.append(np.rint(np.linspace(low, high, count) if count > 1 else [(low + high) / 2]).astype(np.int64))
    rows, cols = np.meshgrid(*axes, indexing="ij")
    return side, np.stack([rows.ravel(), cols.ravel()], axis=1)


def _amplitude(data: NDArray[Any]) -> F64:
    amplitude: F64 = np.abs(data).astype(np.float64)
    amplitude[amplitude == 0] = np.nan  # GRD DN 0 is ICEYE's no-data
    return amplitude


def _detect_oversampled(data: NDArray[np.complex128], origin: tuple[int, int], doppler: tuple[float, ...]) -> F64:
    """Amplitude of complex samples at twice the sampling, after moving their spectrum to zero Doppler."""
    valid = np.isfinite(data) & (data != 0)
    lines = np.arange(origin[0], origin[0] + data.shape[0], dtype=np.float64)[:, None]
    cols = np.arange(origin[1], origin[1] + data.shape[1], dtype=np.float64)[None, :]
    cycles = np.polynomial.polynomial.polyval(cols, doppler) if doppler else np.zeros_like(cols)
    flat = np.where(valid, data, 0) * np.exp(-2j * np.pi * cycles * lines)
    rows, width = data.shape
    spectrum = np.fft.fftshift(np.fft.fft2(flat))
    padded = np.zeros((2 * rows, 2 * width), dtype=np.complex128)
    padded[rows // 2 : rows // 2 + rows, width // 2 : width // 2 + width] = spectrum
    amplitude: F64 = np.abs(np.fft.ifft2(np.fft.ifftshift(padded))) * 4.0
    amplitude[~np.repeat(np.repeat(valid, 2, axis=0), 2, axis=1)] = np.nan
    return amplitude


@contextmanager
def opened(source: RasterSource) -> Iterator[OpenRaster]:
    """Open a product's raster once for all its windows; a failure is a LoadError naming the item and href."""
    try:
        raster = get_reader(source.container).open(source.href)
    except Exception as exc:
        # Raised without the chain: dask.distributed pickles it, and a library's own error may not pickle.
        message = f"item {source.item_id!r}: cannot read {source.href}: {type(exc).__name__}: {exc}"
    else:
        with raster:
            yield raster
        return
    raise LoadError(message)


def read_window(
    raster: OpenRaster, origin: tuple[int, int], size: tuple[int, int], factor: int, doppler: tuple[float, ...]
) -> F64:
    """Read a window of a product's amplitude (``factor`` 2: SLC, detected at twice the sampling); NaN outside.

    Detecting a fully sampled SLC aliases its amplitude (the amplitude spectrum is twice as wide as the
    complex one), which biases the correlation peak by up to a few tenths of a pixel; SLC windows are
    therefore oversampled twice (FFT zero padding, after removing the Doppler centroid's azimuth ramp so
    that the spectrum does not straddle the band edge) before detection, as ROI_PAC/ISCE ampcor do.
    """
    data = np.full(size, complex(np.nan, np.nan), dtype=np.complex128)
    r0, c0 = origin
    r1, c1 = max(r0, 0), max(c0, 0)
    r2, c2 = min(r0 + size[0], raster.shape[0]), min(c0 + size[1], raster.shape[1])
    if r2 > r1 and c2 > c1:
        data[r1 - r0 : r2 - r0, c1 - c0 : c2 - c0] = raster.read(slice(r1, r2), slice(c1, c2))
    return _detect_oversampled(data, origin, doppler) if factor == 2 else _amplitude(data)


def reference_windows(
    source: RasterSource, side: int, origins: NDArray[np.int64], factor: int, doppler: tuple[float, ...]
) -> list[F64]:
    """Read the reference's windows (read with a pad, so that oversampling rings only outside them)."""
    pad = _PAD * factor
    size = (side + 2 * _PAD,) * 2
    with opened(source) as raster:
        return [
            read_window(raster, (int(r) - _PAD, int(c) - _PAD), size, factor, doppler)[pad:-pad, pad:-pad]
            for r, c in origins
        ]


def _shifted(big: F64, by: F64) -> F64:
    """``big(x + by)`` by a Fourier shift (periodic: the wrapped rows and columns lie in the pad)."""
    fa, fr = np.fft.fftfreq(big.shape[0])[:, None], np.fft.fftfreq(big.shape[1])[None, :]
    phase = np.exp(2j * np.pi * (fa * by[0] + fr * by[1]))
    return np.asarray(np.fft.ifft2(np.fft.fft2(big) * phase).real)


def _lobe(surface: F64, peak: tuple[int, int], level: float) -> int:
    """Half-width of the main correlation lobe: pixels from the peak until it falls below ``level``."""
    rows, cols = surface.shape
    width = 1
    while width < min(rows, cols) // 4:
        ring = (
            surface[(peak[0] + width) % rows, peak[1]],
            surface[(peak[0] - width) % rows, peak[1]],
            surface[peak[0], (peak[1] + width) % cols],
            surface[peak[0], (peak[1] - width) % cols],
        )
        if max(ring) < level:
            break
        width += 1
    return width


def _peak_quality(ref: NDArray[np.complex128], moving: NDArray[np.complex128], factor: int) -> tuple[float, float]:
    """Normalised cross-correlation peak and its ratio to the highest value outside its main lobe.

    ``ref`` and ``moving`` are the windows' spectra (mean removed). The lobe is as wide as the scene's
    texture makes it (a smooth scene correlates over many pixels), so it is measured (down to half the
    peak) and left out with a margin, rather than a fixed neighbourhood.
    """
    surface = np.fft.ifft2(ref * np.conj(moving)).real
    energy = float(np.sqrt(np.sum(np.abs(ref) ** 2) * np.sum(np.abs(moving) ** 2))) / ref.size  # Parseval
    surface /= max(energy, 1e-30)
    peak = np.unravel_index(int(np.argmax(surface)), surface.shape)
    best = float(surface[peak])
    lobe = 2 * _lobe(surface, (int(peak[0]), int(peak[1])), best / 2)
    half = min(max(_EXCLUDE * factor, lobe), min(surface.shape) // 4)  # a quarter of the window stays outside
    rolled = np.roll(surface, (half - peak[0], half - peak[1]), axis=(0, 1))
    rolled[: 2 * half + 1, : 2 * half + 1] = -np.inf
    return best, best / max(float(rolled.max()), 1e-30)


def _offset(
    ref: F64, raster: OpenRaster, origin: NDArray[np.int64], start: F64, options: tuple[int, int, tuple[float, ...]]
) -> F64 | str:
    """Two-pass subpixel offset of one window, or the reason it is refused (arrays at ``factor`` x sampling)."""
    upsample, factor, doppler = options
    side, pad = ref.shape[0] // factor, _PAD * factor
    base = np.rint(start).astype(np.int64)
    corner = (int(origin[0] + base[0] - _PAD), int(origin[1] + base[1] - _PAD))
    big = read_window(raster, corner, (side + 2 * _PAD,) * 2, factor, doppler)
    if np.isnan(big[pad:-pad, pad:-pad]).mean() > _NODATA_FRACTION:
        return "no data"
    big = np.where(np.isnan(big), np.nanmean(big), big)
    # Spectra computed once and shared by both passes and the peak screening.
    spectrum = np.fft.fft2(ref - ref.mean())
    first = big[pad:-pad, pad:-pad]
    # The first pass only centres the second one: a coarse peak (1/4 px) is enough and 25x cheaper.
    coarse_upsample = min(upsample, 4)
    shift, _, _ = phase_cross_correlation(
        spectrum,
        np.fft.fft2(first - first.mean()),
        upsample_factor=coarse_upsample,
        normalization=None,
        space="fourier",
    )
    estimate = base - np.asarray(shift, dtype=np.float64) / factor
    within = np.asarray(estimate - base, dtype=np.float64)
    if np.any(np.abs(within) > _PAD - 1):
        return "weak peak"  # a peak this far from the coarse offset is not trusted (and not re-read)
    second = _shifted(big, within * factor)[pad:-pad, pad:-pad]
    moved = np.fft.fft2(second - second.mean())
    peak, ratio = _peak_quality(spectrum, moved, factor)
    if peak < MIN_PEAK or ratio < MIN_PEAK_RATIO:
        return "weak peak"
    residual, _, _ = phase_cross_correlation(
        spectrum, moved, upsample_factor=upsample, normalization=None, space="fourier"
    )
    return np.asarray(estimate - np.asarray(residual, dtype=np.float64) / factor, dtype=np.float64)


def _central_offset(reference: OpenRaster, raster: OpenRaster, start: F64) -> F64:
    """Integer offset of one large central window (up to :data:`_CENTRE` px), or ``start`` if it is unreliable.

    It catches offsets that the geometry missed (no metadata, a wrong geolocation) before the fine windows,
    which only see a few pixels around their start.
    """
    rows, cols = reference.shape
    size = int(min(_CENTRE, min(rows, cols) // 2))
    origin = ((rows - size) // 2, (cols - size) // 2)
    base = np.rint(start).astype(np.int64)
    ref = read_window(reference, origin, (size, size), 1, ())
    moving = read_window(raster, (origin[0] + int(base[0]), origin[1] + int(base[1])), (size, size), 1, ())
    if max(np.isnan(ref).mean(), np.isnan(moving).mean()) > 0.1:
        return start
    ref, moving = (np.where(np.isnan(w), np.nanmean(w), w) for w in (ref, moving))
    spectra = np.fft.fft2(ref - ref.mean()), np.fft.fft2(moving - moving.mean())
    peak, ratio = _peak_quality(*spectra, 1)
    if peak < MIN_PEAK or ratio < MIN_PEAK_RATIO:
        return start
    shift, _, _ = phase_cross_correlation(*spectra, upsample_factor=1, normalization=None, space="fourier")
    found = base - np.asarray(shift, dtype=np.float64)
    # Within a pixel of the start the start is kept: it is fractional, the central estimate whole.
    return start if np.all(np.abs(found - start) <= 1.0) else np.asarray(found, dtype=np.float64)


def measure_slice(
    references: list[F64],
    origins: NDArray[np.int64],
    sources: tuple[RasterSource, RasterSource],
    coarse: tuple[float, float],
    options: tuple[int, int, tuple[float, ...]],
) -> SliceOffsets:
    """Measure the offset of every window of one slice (a dask task: plain arguments, files opened inside).

    Parameters
    ----------
    references
        The reference windows (:func:`reference_windows`).
    origins
        Their top-left corners in the reference.
    sources
        The reference's and the slice's rasters.
    coarse
        The geometric offset (or 0), refined by one central window (:func:`_central_offset`) first.
    options
        ``(upsample_factor, factor, doppler)``: the peak's upsampling, the detection sampling (1 GRD, 2 SLC)
        and the slice's Doppler centroid polynomial (SLC).

    Returns
    -------
    SliceOffsets
    """
    # One BLAS thread: scikit-image's upsampled DFT multiplies tiny matrices, which a multi-threaded BLAS
    # (beside dask's own threads) makes ~10x slower (48 ms instead of 4 ms per window, measured).
    with threadpool_limits(limits=1, user_api="blas"), opened(sources[0]) as reference, opened(sources[1]) as raster:
        start = _central_offset(reference, raster, np.asarray(coarse, dtype=np.float64))
        return _measure(references, origins, raster, start, options)


def _measure(
    references: list[F64],
    origins: NDArray[np.int64],
    raster: OpenRaster,
    start: F64,
    options: tuple[int, int, tuple[float, ...]],
) -> SliceOffsets:
    offsets = np.full((len(references), 2), np.nan)
    refused: dict[str, int] = {}
    means = np.array([np.nanmean(w) if np.isfinite(w).any() else np.nan for w in references])
    dark = DARK_FRACTION * float(np.nanmedian(means)) if np.isfinite(means).any() else np.inf
    for k, (ref, origin) in enumerate(zip(references, origins, strict=True)):
        if ref.size == 0:  # no window fits inside the pads of so small a raster (window_origins)
            result: F64 | str = f"raster too small (under {2 * _PAD + 2} px a side)"
        elif np.isnan(ref).mean() > _NODATA_FRACTION:
            result = "no data"
        elif not means[k] >= dark:
            result = "dark"
        else:
            result = _offset(np.where(np.isnan(ref), np.nanmean(ref), ref), raster, origin, start, options)
        if isinstance(result, str):
            refused[result] = refused.get(result, 0) + 1
        else:
            offsets[k] = result
    return SliceOffsets(offsets, refused, (float(start[0]), float(start[1])))
