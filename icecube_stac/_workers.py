"""How many blocks a cube writer stores at once: the dask knobs both writers honour, else the usable cores.

A module of its own, with no import beyond the standard library, so that the command line can decide before
it imports a writer (:mod:`icecube_stac._cli_plan`).
"""

from __future__ import annotations

import os
from typing import Final

__all__ = ["usable_cores", "writer_workers"]

# dask's names of its single-threaded scheduler (DASK_SCHEDULER, dask.base.named_schedulers).
_ONE_THREAD: Final = frozenset({"sync", "synchronous", "single-threaded"})


def usable_cores() -> int:
    """Return the cores this process may run on: its CPU affinity (as a container or ``taskset`` limits it)."""
    usable = getattr(os, "sched_getaffinity", None)
    return len(usable(0)) if usable is not None else os.cpu_count() or 1


def writer_workers() -> int:
    """Return how many blocks are written at once: ``DASK_NUM_WORKERS``, 1 for a single-threaded dask, or the cores.

    The knobs of the xarray writer's dask threads too (dask reads ``DASK_*`` variables as its config): a
    single-threaded scheduler (chosen to bound memory or to debug) writes one block at a time there, so the
    direct writer does too.
    """
    if os.environ.get("DASK_SCHEDULER", "").strip().lower() in _ONE_THREAD:
        return 1
    value = os.environ.get("DASK_NUM_WORKERS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else usable_cores()
