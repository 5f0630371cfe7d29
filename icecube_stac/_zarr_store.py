"""The zarr-python store both cube writers write through: each stored file starts its write-back at once.

A cube is published only after one ``sync(2)`` (:mod:`icecube_stac._atomic`). :class:`WritebackStore` is
zarr's ``LocalStore`` whose writes hand each stored file to the kernel's write-back as soon as it is complete
(:func:`icecube_stac._writeback.start_writeback`), so the disk writes the chunks while the next are computed
and the final sync finds little left: ~0.15 s of a 1.3 s 12-SLC cube written through xarray (Zarr v2,
measured), as the direct writer measured before. What is stored is unchanged. The class lives at module level
so that dask's distributed workers can unpickle the store they are sent.
"""

from __future__ import annotations

import asyncio

from zarr.core.buffer import Buffer
from zarr.storage import LocalStore

from icecube_stac._writeback import start_writeback

__all__ = ["WritebackStore"]


class WritebackStore(LocalStore):
    """A local Zarr store whose every stored key starts its write-back to disk right after the write."""

    async def set(self, key: str, value: Buffer) -> None:
        """Store ``value`` at ``key`` (atomically, as ``LocalStore``), then start its write-back."""
        await super().set(key, value)
        await asyncio.to_thread(start_writeback, (self.root / key,))

    async def set_if_not_exists(self, key: str, value: Buffer) -> None:
        """Store ``value`` at ``key`` unless it exists (as ``LocalStore``), then start its write-back."""
        await super().set_if_not_exists(key, value)
        await asyncio.to_thread(start_writeback, (self.root / key,))
