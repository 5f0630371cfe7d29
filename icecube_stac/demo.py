"""End-to-end demo: synthetic ICEYE products → STAC catalog → search → cube → Zarr + a quicklook panel.

Everything happens under one working folder::

    demo-data/                generated products (GRD GeoTIFF + SLC HDF5 + XML + quicklooks)
    catalogs/demo/            the STAC catalog indexed from them
    demo-output/cube.zarr     the cube of the products matching examples/config.json
    demo-output/timeseries.png  one panel per time step, amplitude in dB

Re-running replaces every output atomically, so the demo is idempotent.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import xarray as xr

from icecube_stac.calibration import intensity, to_db
from icecube_stac.catalog import index
from icecube_stac.config import CubeConfig, load_config
from icecube_stac.errors import ConfigError
from icecube_stac.output import atomic_path, open_cube, write_cube
from icecube_stac.pipeline import load_cube

__all__ = ["DemoResult", "find_example_config", "plot_timeseries", "run_demo"]

DATA_DIR: Final = "demo-data"
CATALOG_DIR: Final = "catalogs/demo"
OUTPUT_DIR: Final = "demo-output"
MAX_PRODUCTS: Final = 10_000
CONFIG_NAME: Final = "examples/config.json"
# Used when examples/config.json is found neither in the working folder nor next to the package;
# the same content as the repository's example.
BUILTIN_CONFIG: Final[Mapping[str, Any]] = {
    "start_date": 20240301,
    "end_date": 20240321,
    "min_incidence_angle": 15,
    "max_incidence_angle": 40,
    "temporal_resolution": 0,
    "coregistered": False,
    "space_overlap": False,
    "temporal_overlap": True,
    "product_type": "GRD",
}
_PANEL_INCHES: Final = 2.4
_MAX_COLUMNS: Final = 5


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` produced.

    Attributes
    ----------
    workdir
        The working folder; the other paths are inside it.
    products
        The generated rasters.
    catalog
        The catalog folder.
    indexed
        Number of items in the catalog.
    config_source
        The config file used, or ``"built-in"``.
    matched
        Ids of the items the config matched, in cube order.
    cube
        The Zarr cube.
    timeseries_png
        The quicklook panel.
    dims
        Cube dimension sizes.
    nbytes
        Uncompressed size of the cube's data variable.
    """

    workdir: Path
    products: tuple[Path, ...]
    catalog: Path
    indexed: int
    config_source: str
    matched: tuple[str, ...]
    cube: Path
    timeseries_png: Path
    dims: Mapping[str, int]
    nbytes: int

    def report(self) -> str:
        """Return a short human-readable report."""
        levels = [p.suffix.lower() for p in self.products]
        grd, slc = sum(s in (".tif", ".tiff") for s in levels), sum(s in (".h5", ".hdf5") for s in levels)
        dims = ", ".join(f"{k}={v}" for k, v in self.dims.items())

        def rel(path: Path) -> str:
            return str(path.relative_to(self.workdir)) if path.is_relative_to(self.workdir) else str(path)

        return "\n".join(
            [
                f"icecube-stac demo in {self.workdir}",
                f"  generated {len(self.products)} products ({grd} GRD, {slc} SLC) in {DATA_DIR}/",
                f"  indexed   {self.indexed} items into {rel(self.catalog)}",
                f"  config    {self.config_source} -> {len(self.matched)} item(s) matched",
                f"  cube      {dims} ({self.nbytes / 1e6:.1f} MB uncompressed)",
                f"  wrote     {rel(self.cube)}",
                f"  wrote     {rel(self.timeseries_png)}",
            ]
        )


def find_example_config(workdir: str | os.PathLike[str] = ".") -> Path | None:
    """Return ``examples/config.json`` from ``workdir`` or from the source tree next to the package.

    Parameters
    ----------
    workdir
        Looked in first.

    Returns
    -------
    pathlib.Path or None
        None when neither exists (the demo then uses :data:`BUILTIN_CONFIG`).
    """
    candidates = [Path(workdir) / CONFIG_NAME, Path(__file__).resolve().parent.parent / CONFIG_NAME]
    return next((path for path in candidates if path.is_file()), None)


def _generate(workdir: Path, n_grd: int, n_slc: int, shape: tuple[int, int]) -> tuple[Path, ...]:
    from icecube_stac.testing import demo_specs, write_stack

    target = workdir / DATA_DIR
    with atomic_path(target, overwrite=True) as staging:
        written = write_stack(demo_specs(n_grd, n_slc, shape=shape), staging)
        relative = [product.raster.relative_to(staging) for product in written]
    return tuple(target / path for path in relative)


def _panel_title(ds: xr.Dataset, step: int) -> str:
    when = pd.Timestamp(ds["time"].values[step])
    if not ds["id"].values[step]:
        return f"{when:%Y-%m-%d}\n(no acquisition)"
    orbit = str(ds["orbit_state"].values[step]) or "?"
    incidence = float(ds["incidence_angle"].values[step])
    return f"{when:%Y-%m-%d %H:%M}\n{orbit}, {incidence:.1f}°"


def plot_timeseries(ds: xr.Dataset, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Save one small panel per time step (amplitude in dB), titled with date, orbit state and incidence.

    Parameters
    ----------
    ds
        A GRD or SLC cube (computed or lazy).
    path
        The PNG to write (replaced atomically).
    title
        Figure title; default from the cube's attrs.

    Returns
    -------
    pathlib.Path
    """
    # The object-oriented Agg canvas never touches pyplot's global backend of the caller's session.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # 10·log10(|DN|²) = 20·log10(|DN|): the amplitude in dB.
    decibels = np.asarray(to_db(intensity(ds)).values, dtype=np.float32)
    steps = decibels.shape[0]
    columns = min(steps, _MAX_COLUMNS)
    rows = math.ceil(steps / columns)
    finite = decibels[np.isfinite(decibels)]
    low, high = np.percentile(finite, [2, 98]) if finite.size else (0.0, 1.0)
    figure = Figure(figsize=(columns * _PANEL_INCHES, rows * _PANEL_INCHES + 0.6), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False)
    image = None
    for step, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if step >= steps:
            continue
        image = ax.imshow(decibels[step], cmap="gray", vmin=low, vmax=high, interpolation="nearest")
        ax.set_title(_panel_title(ds, step), fontsize=8)
    if image is not None:
        figure.colorbar(image, ax=axes, shrink=0.8, label="amplitude (dB of DN)")
    product = ds.attrs.get("product_type", "")
    figure.suptitle(title or f"ICEYE {product} time series (sensor geometry: azimuth down, range across)")
    target = Path(path)
    with atomic_path(target, overwrite=True) as staging:
        figure.savefig(staging, format="png", dpi=100)
    return target


def _load_demo_config(workdir: Path) -> tuple[CubeConfig, str]:
    catalog = str(workdir / CATALOG_DIR)
    found = find_example_config(workdir)
    if found is None:
        return load_config(dict(BUILTIN_CONFIG), catalog=catalog), "built-in config"
    return load_config(found, catalog=catalog), str(found)


def _whole(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(name, value, f"expected a whole number from {low} to {high}")
    return value


def _checked_request(n_grd: int, n_slc: int, shape: Sequence[int]) -> tuple[int, int]:
    """Refuse demo sizes that cannot be generated, before anything is written."""
    grd, slc = _whole("n_grd (--grd)", n_grd, 0, MAX_PRODUCTS), _whole("n_slc (--slc)", n_slc, 0, MAX_PRODUCTS)
    if grd + slc == 0 or grd + slc > MAX_PRODUCTS:
        raise ConfigError("n_grd + n_slc", grd + slc, f"expected 1 to {MAX_PRODUCTS} products in all")
    if len(shape) != 2:
        raise ConfigError("shape (--size)", list(shape), "expected (azimuth, range)")
    return _whole("shape (--size)", shape[0], 16, 16384), _whole("shape (--size)", shape[1], 16, 16384)


def run_demo(
    workdir: str | os.PathLike[str] = ".",
    *,
    n_grd: int = 6,
    n_slc: int = 4,
    shape: Sequence[int] = (256, 256),
    echo: bool = True,
) -> DemoResult:
    """Generate a realistic ICEYE stack, index it, search it with the example config and write its cube.

    Parameters
    ----------
    workdir
        Working folder (created if needed); see the module docstring for what goes where.
    n_grd, n_slc
        Numbers of generated GRD and SLC products.
    shape
        (azimuth, range) shape of every product.
    echo
        Print the report.

    Returns
    -------
    DemoResult
    """
    size = _checked_request(n_grd, n_slc, shape)
    root = Path(workdir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    products = _generate(root, n_grd, n_slc, size)
    catalog = root / CATALOG_DIR
    indexed = index([root / DATA_DIR], catalog, prune=True)
    if not indexed.ok:
        raise RuntimeError("indexing the generated products failed:\n" + indexed.summary())
    config, config_source = _load_demo_config(root)
    cube = load_cube(config)
    cube_path = write_cube(cube, root / OUTPUT_DIR / "cube.zarr", overwrite=True)
    written = open_cube(cube_path)
    png = plot_timeseries(written, root / OUTPUT_DIR / "timeseries.png")
    variable = next(iter(written.data_vars.values()))
    result = DemoResult(
        workdir=root,
        products=products,
        catalog=catalog,
        indexed=len(indexed.added) + len(indexed.updated) + len(indexed.unchanged),
        config_source=config_source,
        matched=tuple(str(v) for v in written["id"].values if v),
        cube=cube_path,
        timeseries_png=png,
        dims={str(k): int(v) for k, v in written.sizes.items()},
        nbytes=int(variable.nbytes),
    )
    if echo:
        print(result.report())
    return result
