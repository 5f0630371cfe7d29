"""The cube command's plan, made in a forked child while the command imports the writer's libraries.

The search and the plan (:func:`~icecube_stac.cube._plan.plan_cube` of
:func:`~icecube_stac.pipeline.matching_items`) and the imports of what writes the cube (zarr, the readers'
h5py or rasterio) are independent, and each holds the GIL: :func:`planned` runs the first in a forked child
(:func:`icecube_stac._forked.run_in_child`) and the second meanwhile, on the command's two cores. Only the
command's own process does so (:func:`icecube_stac._cli_process.is_tuned`), and not when the cube is to be
written by one worker (``DASK_NUM_WORKERS=1``, ``DASK_SCHEDULER=synchronous``): one worker means one process.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from icecube_stac._cli_process import is_tuned
from icecube_stac._cube_target import format_of
from icecube_stac._workers import writer_workers

if TYPE_CHECKING:
    from icecube_stac.cube._plan import CubePlan

__all__ = ["planned", "warm_ups"]

# What each writer imports first (the direct Zarr writer; the xarray one), then the reader of the product type's
# legacy generation, the cube item's modules, and last the readers that may not be needed (a speculative import
# still running when the plan arrives delays the write: 0.04 s of rasterio for an HDF5 SLC stack, measured).
# The imports stop when the plan arrives; whatever is left is imported where it is used.
_DIRECT: Final = ("icecube_stac.cube._direct", "zarr", "zarr.api.asynchronous", "zarr.core.sync", "zarr.codecs")
_XARRAY: Final = ("xarray", "dask.array")
_FIRST: Final[Mapping[str | None, tuple[str, ...]]] = {
    "SLC": ("icecube_stac.formats.hdf5",),
    "GRD": ("icecube_stac.formats.geotiff",),
    None: ("icecube_stac.formats.geotiff", "icecube_stac.formats.hdf5"),
}
_ITEM: Final = ("icecube_stac.cube_item",)
_THEN: Final = ("icecube_stac.formats.cog",)


def warm_ups(args: argparse.Namespace, config: Any) -> tuple[str, ...]:
    """Return the modules the command imports while its plan is made: the writer's, the readers', the item's."""
    direct = args.layout == "native" and args.zarr_format == 3 and format_of(Path(args.output), args.format) == "zarr"
    kind = config.product_type if config.product_type in _FIRST else None
    return (*(_DIRECT if direct else _XARRAY), *_FIRST[kind], *_ITEM, *_THEN)


def _plan(config: Any, chunks: Any, on_missing: Literal["raise", "skip"]) -> CubePlan:
    from icecube_stac.cube._plan import plan_cube
    from icecube_stac.pipeline import matching_items

    return plan_cube(matching_items(config), config=config, chunks=chunks, on_missing=on_missing)


def planned(args: argparse.Namespace, config: Any, on_missing: Literal["raise", "skip"]) -> CubePlan:
    """Return the cube's plan: searched and planned in a forked child when this is the command's process.

    Parameters
    ----------
    args
        The ``cube`` command's arguments (``output``, ``format``, ``layout``, ``zarr_format``, ``chunks``).
    config
        The loaded cube config.
    on_missing
        As for :func:`~icecube_stac.cube._plan.plan_cube`.

    Returns
    -------
    CubePlan
        The same plan either way; warnings and errors are those of the in-process step.
    """
    step = functools.partial(_plan, config, args.chunks, on_missing)
    if not is_tuned() or writer_workers() < 2:
        return step()
    from icecube_stac._forked import run_in_child

    return run_in_child(step, warm_ups(args, config))
