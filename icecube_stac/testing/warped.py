"""Stacks of one ground truth seen through known pixel warps: fixtures for coregistration.

The generator of :mod:`icecube_stac.testing.generator` evaluates its scene through each product's own
geolocation and puts point targets on whole pixels, so the true pixel offset between two of its
products is only known as well as the geolocation. Here the truth is a continuous backscatter field
defined in the *reference* product's pixel coordinates (a log-normal texture of random plane waves, point
targets at fractional positions and a dark river). Product ``k`` samples it through a :class:`Warp`
``reference_pixel = matrix @ (row, col) + shift``, so every true offset is known exactly; speckle is
independent per product (GRD multi-look gamma, SLC circular Gaussian) unless ``coherent`` SLCs are asked
for, whose complex reflectivity is one band-limited field centred on the products' Doppler centroid and
shifted by an exact Fourier shift (pure shifts only).

Metadata come from the regular planner, with each product's scene centre moved to the ground point the
warp puts at its centre, so the corner coordinates agree with the pixels (what a coarse offset from the
geometry relies on).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._containers import geotiff_tags, write_geotiff, write_hdf5
from ._plan import ProductPlan, plan_product
from .generator import GeneratedProduct, ProductSpec, package_name, product_name, write_xml

__all__ = ["TruthScene", "Warp", "legacy_reference", "moved_spec", "true_offsets", "write_warped_stack"]

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Warp:
    """Where a product's pixels fall in the reference product: ``ref = matrix @ (row, col) + shift``.

    Attributes
    ----------
    shift
        (azimuth, range) translation in reference pixels.
    matrix
        2x2 linear part (identity for a pure shift).
    """

    shift: tuple[float, float] = (0.0, 0.0)
    matrix: tuple[tuple[float, float], tuple[float, float]] = ((1.0, 0.0), (0.0, 1.0))

    @classmethod
    def rotation(cls, shift: tuple[float, float], degrees: float, scale: float, centre: tuple[float, float]) -> Warp:
        """Return a rotation by ``degrees`` and a scale about ``centre`` (reference pixels), then ``shift``."""
        a = np.radians(degrees)
        m = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        c = np.asarray(centre, dtype=np.float64)
        t = c - m @ c + np.asarray(shift, dtype=np.float64)
        return cls((float(t[0]), float(t[1])), ((m[0, 0], m[0, 1]), (m[1, 0], m[1, 1])))

    def to_reference(self, rows: F64, cols: F64) -> tuple[F64, F64]:
        """Map product pixels to reference pixels."""
        m = self.matrix
        return (m[0][0] * rows + m[0][1] * cols + self.shift[0], m[1][0] * rows + m[1][1] * cols + self.shift[1])

    def to_product(self, rows: F64, cols: F64) -> tuple[F64, F64]:
        """Map reference pixels to product pixels (the offset a coregistration must find, plus the position)."""
        inverse = np.linalg.inv(np.asarray(self.matrix, dtype=np.float64))
        r, c = rows - self.shift[0], cols - self.shift[1]
        return (inverse[0, 0] * r + inverse[0, 1] * c, inverse[1, 0] * r + inverse[1, 1] * c)


@dataclass(frozen=True)
class TruthScene:
    """The continuous mean backscatter, in reference pixel coordinates.

    Attributes
    ----------
    seed
        Drives the texture, the targets and the river.
    waves
        Number of plane waves of the log-normal texture.
    texture_db
        Standard deviation of the texture in dB.
    targets
        Point targets per 10,000 px of the extent (Gaussian spots of ``target_sigma`` px, +20 dB).
    river
        Whether a dark (-15 dB), textureless river crosses the scene along azimuth.
    extent
        (rows, cols) of the reference scene, which places the targets and the river.
    """

    seed: int = 0
    waves: int = 160
    texture_db: float = 3.0
    targets: float = 5.0
    target_sigma: float = 0.8
    river: bool = True
    extent: tuple[int, int] = (256, 256)

    def _waves(self) -> tuple[F64, F64, F64, F64]:
        rng = np.random.default_rng([self.seed, 11])
        # Log-uniform frequencies from 0.01 to 0.35 cycles/px: structure at every scale, as fields, roads and
        # buildings give a real scene.
        freq = np.exp(rng.uniform(np.log(0.01), np.log(0.35), self.waves))
        angle = rng.uniform(0.0, np.pi, self.waves)
        phase = rng.uniform(0.0, 2 * np.pi, self.waves)
        amp = np.full(self.waves, self.texture_db * np.sqrt(2.0 / self.waves))
        return freq * np.cos(angle), freq * np.sin(angle), phase, amp

    def intensity(self, rows: F64, cols: F64) -> F64:
        """Return the mean intensity (linear, about 1 on land) at fractional reference pixels."""
        ky, kx, phase, amp = self._waves()
        db = np.zeros(np.shape(rows))
        for k in range(self.waves):  # one plane wave at a time: memory stays one image
            db += amp[k] * np.cos(2 * np.pi * (ky[k] * rows + kx[k] * cols) + phase[k])
        value = np.power(10.0, db / 10.0)
        rng = np.random.default_rng([self.seed, 12])
        n_rows, n_cols = self.extent
        if self.river:
            centre = n_cols * (0.3 + 0.05 * np.sin(2 * np.pi * rows / max(n_rows, 1)))
            value = np.where(np.abs(cols - centre) < 0.06 * n_cols, 0.03, value)
        count = int(self.targets * n_rows * n_cols / 10_000)
        ty, tx = rng.uniform(8, n_rows - 8, count), rng.uniform(8, n_cols - 8, count)
        _add_targets(value, np.asarray(rows, dtype=np.float64), np.asarray(cols, dtype=np.float64), (ty, tx), self)
        return np.asarray(value, dtype=np.float64)


def _add_targets(value: F64, rows: F64, cols: F64, targets: tuple[F64, F64], scene: TruthScene) -> None:
    """Add Gaussian point targets; pixels are binned (8 px) so each target visits only its neighbourhood."""
    flat_rows, flat_cols, flat = rows.ravel(), cols.ravel(), value.reshape(-1)
    width = int(np.floor(flat_cols.max() / 8)) + 3 if flat_cols.size else 1
    keys = (np.floor(flat_rows / 8).astype(np.int64) + 1) * width + np.floor(flat_cols / 8).astype(np.int64) + 1
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    for y, x in zip(*targets, strict=True):
        by, bx = int(np.floor(y / 8)) + 1, int(np.floor(x / 8)) + 1
        for row in (by - 1, by, by + 1):
            lo, hi = np.searchsorted(sorted_keys, [row * width + bx - 1, row * width + bx + 2])
            near = order[lo:hi]
            r2 = (flat_rows[near] - y) ** 2 + (flat_cols[near] - x) ** 2
            flat[near] += 100.0 * np.exp(-r2 / (2 * scene.target_sigma**2)) * (r2 < 25.0)


def legacy_reference(spec: ProductSpec) -> ProductPlan:
    """Return the plan (geometry, GCP grid) of a reference product, for :func:`moved_spec`."""
    return plan_product(spec, product_name(spec))


def moved_spec(reference: ProductPlan, spec: ProductSpec, warp: Warp) -> ProductSpec:
    """Return ``spec`` with its scene centre at the ground point that ``warp`` puts at its centre pixel.

    Parameters
    ----------
    reference
        The reference product's plan (:func:`legacy_reference`).
    spec
        The product to place.
    warp
        Its pixels in the reference: the product then sees the reference's ground about ``warp`` away.

    Returns
    -------
    ProductSpec
    """
    rows, cols = spec.shape
    ref_r, ref_c = warp.to_reference(np.array([(rows - 1) / 2.0]), np.array([(cols - 1) / 2.0]))
    line, samp = reference.gcp_line, reference.gcp_samp
    i = np.clip(np.searchsorted(line, ref_r[0]) - 1, 0, line.size - 2)
    j = np.clip(np.searchsorted(samp, ref_c[0]) - 1, 0, samp.size - 2)
    fr, fc = (ref_r[0] - line[i]) / (line[i + 1] - line[i]), (ref_c[0] - samp[j]) / (samp[j + 1] - samp[j])

    def at(grid: F64) -> float:
        top = grid[i, j] * (1 - fc) + grid[i, j + 1] * fc
        bottom = grid[i + 1, j] * (1 - fc) + grid[i + 1, j + 1] * fc
        return float(top * (1 - fr) + bottom * fr)

    return dataclasses.replace(spec, center_lat=at(reference.gcp_lat), center_lon=at(reference.gcp_lon))


def _coherent_field(shape: tuple[int, int], shift: tuple[float, float], doppler: float, seed: int) -> NDArray[Any]:
    """Return a unit-power complex field, band-limited around ``doppler`` cycles/line, sampled ``shift`` px on."""
    pad = 32
    n = (shape[0] + 2 * pad, shape[1] + 2 * pad)
    rng = np.random.default_rng([seed, 13])
    white = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    fa, fr = np.fft.fftfreq(n[0])[:, None], np.fft.fftfreq(n[1])[None, :]
    wrapped = (fa - doppler + 0.5) % 1.0 - 0.5  # the azimuth spectrum, centred on the Doppler centroid
    band = (np.abs(wrapped) < 0.4) & (np.abs(fr) < 0.4)
    # The continuous signal's own frequencies (around the centroid, not the aliased FFT bins) make the shift exact.
    spectrum = np.fft.fft2(white) * band * np.exp(2j * np.pi * ((doppler + wrapped) * shift[0] + fr * shift[1]))
    field = np.fft.ifft2(spectrum)[pad : pad + shape[0], pad : pad + shape[1]]
    return np.asarray(field / np.sqrt(np.mean(band)))


def _pixels(
    spec: ProductSpec,
    plan: ProductPlan,
    scene: TruthScene,
    warp: Warp,
    coherent: tuple[float, int] | None,
    looks: int,
) -> Any:
    rows, cols = np.meshgrid(
        np.arange(spec.shape[0], dtype=np.float64), np.arange(spec.shape[1], dtype=np.float64), indexing="ij"
    )
    mean = scene.intensity(*warp.to_reference(rows, cols))
    rng = np.random.default_rng([spec.seed, 14])
    factor = float(plan.fields["calibration_factor"])
    level = 1.0 / factor * 1e-2  # land DN**2 (GRD) or |DN|**2 (SLC) about 1 % of the calibration scale
    if spec.level == "GRD":
        speckle = rng.standard_gamma(looks, mean.shape) / looks
        return np.clip(np.rint(np.sqrt(mean * speckle * level)), 1, 65535).astype(np.uint16)
    if coherent is not None:
        field = _coherent_field(spec.shape, warp.shift, coherent[0], coherent[1])
    else:
        field = (rng.standard_normal(mean.shape) + 1j * rng.standard_normal(mean.shape)) / np.sqrt(2.0)
    samples = field * np.sqrt(mean * level)
    if spec.slc_dtype == "int16":
        parts = [np.clip(np.rint(p), -32767, 32767).astype(np.int16) for p in (samples.real, samples.imag)]
    else:
        parts = [samples.real.astype(np.float32), samples.imag.astype(np.float32)]
    return parts[0], parts[1]


def _with_doppler(fields: dict[str, Any], cycles_per_line: float) -> dict[str, Any]:
    """Replace the Doppler centroid estimates by a constant of ``cycles_per_line`` (Hz = that / line interval)."""
    coeffs = np.zeros_like(np.asarray(fields["dc_estimate_coeffs"], dtype=np.float64))
    coeffs[:, 0] = cycles_per_line / float(fields["azimuth_time_interval"])
    return {**fields, "dc_estimate_coeffs": coeffs}


def write_warped_stack(
    specs: Sequence[ProductSpec],
    warps: Sequence[Warp],
    folder: str | Path,
    *,
    scene: TruthScene | None = None,
    coherent_doppler: float | None = None,
    looks: int = 4,
    true_geometry: bool = True,
) -> list[GeneratedProduct]:
    """Write products that see one ground truth through known warps (the first is the reference).

    Parameters
    ----------
    specs
        One spec per product (GRD or SLC, any shapes); their centres are replaced so the geolocation
        agrees with the warp, and their seeds drive independent speckle.
    warps
        One :class:`Warp` per product; ``warps[0]`` is normally the identity.
    folder
        Root folder; each product goes to ``folder/<package name>`` as :func:`write_stack` does.
    scene
        The truth; default a :class:`TruthScene` over the first product's shape.
    coherent_doppler
        SLC only: one complex reflectivity for all products (pure shifts only), band-limited around this
        Doppler centroid in cycles per azimuth line, which is also written as every product's
        ``dc_estimate_coeffs`` (a constant).
    looks
        GRD speckle looks (gamma-distributed intensity); 1 is single-look speckle.
    true_geometry
        False writes every product with its spec's own centre, so the corner coordinates do not show the
        warp (a geolocation error as large as the warp).

    Returns
    -------
    list of GeneratedProduct
        In the order of ``specs``.
    """
    if len(specs) != len(warps) or not specs:
        raise ValueError(f"write_warped_stack needs one warp per spec, got {len(specs)} specs and {len(warps)} warps")
    truth = scene or TruthScene(extent=specs[0].shape)
    reference = legacy_reference(specs[0])
    products = []
    for spec, warp in zip(specs, warps, strict=True):
        moved = moved_spec(reference, spec, warp) if true_geometry else spec
        name = product_name(moved)
        plan = plan_product(moved, name)
        fields = dict(plan.fields)
        coherent = None
        if coherent_doppler is not None and moved.level == "SLC":
            fields, coherent = _with_doppler(fields, coherent_doppler), (coherent_doppler, truth.seed)
        out = Path(folder) / package_name(moved)
        out.mkdir(parents=True, exist_ok=True)
        pixels = _pixels(moved, plan, truth, warp, coherent, looks)
        if moved.level == "GRD":
            raster = out / f"{name}.tif"
            write_geotiff(raster, pixels, plan, geotiff_tags(fields, moved.spec_version, moved.processor_version), True)
        else:
            raster = out / f"{name}.h5"
            write_hdf5(raster, pixels, fields, moved.hdf5_chunks)
        xml = write_xml(moved, out / f"{name}.xml", fields) if moved.xml else None
        products.append(GeneratedProduct(moved, name, raster, xml, None, MappingProxyType(fields)))
    return products


def true_offsets(warp: Warp, rows: F64, cols: F64) -> tuple[F64, F64]:
    """Return the (azimuth, range) offset ``product pixel - reference pixel`` at reference pixels."""
    r, c = warp.to_product(rows, cols)
    return r - rows, c - cols
