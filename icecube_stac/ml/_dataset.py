"""PyTorch datasets of aligned ``(image, label)`` patches over a cube (extra ``ml``: torch).

:class:`PatchDataset` (map-style: shuffling samplers, random access) reads each patch's window on demand;
:class:`PatchIterableDataset` reads one block per chunk (the union of its patches) once and cuts every patch
of it, blocks shared out across DataLoader workers. Both yield ``image`` float32 ``(time_window·channels,
rows, cols)`` and ``label`` int64 ``(rows, cols)`` (the window's last slice), exactly aligned: the same
``(time, row, col)`` window of the SAR variable and of ``labels`` on the same grid. Only the cube's path (or
the lazy dataset) is pickled into workers; nothing is loaded whole.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import xarray as xr
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from icecube_stac.ml._channels import check_channels, to_channels
from icecube_stac.ml._index import Subset, patch_index, split_index
from icecube_stac.ml._source import CubeSource
from icecube_stac.ml._spec import BatchError, PatchSpec, SplitBy

__all__ = ["PatchDataset", "PatchIterableDataset"]

Sample = tuple[torch.Tensor, torch.Tensor]


class _Patches:
    """The patches of one subset of a cube and how to read them (shared by both datasets)."""

    def __init__(
        self,
        cube: str | os.PathLike[str] | xr.Dataset,
        spec: PatchSpec,
        subset: Subset,
        split_by: SplitBy,
        validation_fraction: float,
    ) -> None:
        self.source = CubeSource(cube)
        self.spec = spec
        check_channels(spec, self.source.level)
        if not self.source.has_labels:
            raise BatchError("the cube has no labels variable: attach labels first (cube --labels, attach_labels)")
        labelled = self.source.labelled if spec.labelled_only else None
        everything = patch_index(self.source.shape, spec, labelled, self.source.chunks)
        self.index = split_index(everything, spec, self.source.shape, subset, split_by, validation_fraction)
        if len(self.index) == 0:
            raise BatchError(
                f"no {subset} patches of {spec.size} in a cube of {self.source.shape} "
                f"(labelled slices only: {spec.labelled_only})"
            )

    def window(
        self, t: int, r: int, c: int, rows: int, cols: int
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        first = t - self.spec.time_window + 1
        times, rr, cc = slice(first, t + 1), slice(r, r + rows), slice(c, c + cols)
        image = to_channels(self.source.image(times, rr, cc), self.source.calibration[times], self.spec)
        return image, self.source.labels(t, rr, cc)

    def blocks(self) -> list[npt.NDArray[np.int64]]:
        """Group the patches by time step and chunk (the order of :func:`patch_index` keeps groups contiguous)."""
        ch = np.asarray(self.source.chunks)
        keys = np.column_stack([self.index[:, 0], self.index[:, 1] // ch[0], self.index[:, 2] // ch[1]])
        cuts = np.flatnonzero(np.any(np.diff(keys, axis=0) != 0, axis=1)) + 1
        return [b for b in np.split(self.index, cuts) if len(b)]


def _tensors(image: npt.NDArray[np.float32], label: npt.NDArray[np.int64]) -> Sample:
    return torch.from_numpy(np.ascontiguousarray(image)), torch.from_numpy(np.ascontiguousarray(label))


class PatchDataset(Dataset[Sample]):
    """Map-style dataset of ``(image, label)`` patches.

    Parameters
    ----------
    cube
        A Zarr cube path (read with zarr directly), a NetCDF cube path, or an ``xarray.Dataset`` with labels
        (:func:`~icecube_stac.labels.attach_labels`, ``cube --labels``).
    spec
        Patch size, stride, time window, channels, normalisation.
    subset, split_by, validation_fraction
        ``"all"``, or ``"train"``/``"validation"`` of a split by ``"time"`` or ``"space"`` that cannot leak
        (:mod:`icecube_stac.ml._index`).

    Raises
    ------
    BatchError
        For a cube without labels, channels its level lacks, or a patch that does not fit.
    """

    def __init__(
        self,
        cube: str | os.PathLike[str] | xr.Dataset,
        spec: PatchSpec | None = None,
        *,
        subset: Subset = "all",
        split_by: SplitBy = "time",
        validation_fraction: float = 0.2,
    ) -> None:
        self._patches = _Patches(cube, spec or PatchSpec(), subset, split_by, validation_fraction)

    @classmethod
    def from_config(
        cls, config: Any, spec: PatchSpec | None = None, *, labels: Any = None, **kwargs: Any
    ) -> PatchDataset:
        """Build the cube of a config (:func:`~icecube_stac.load_cube`, with its ``labels``) and cut it lazily."""
        from icecube_stac.pipeline import load_cube

        return cls(load_cube(config, labels=labels), spec, **kwargs)

    @property
    def index(self) -> npt.NDArray[np.int64]:
        """The ``(time, row, col)`` origin of every patch."""
        return self._patches.index

    def __len__(self) -> int:
        return len(self._patches.index)

    def __getitem__(self, i: int) -> Sample:
        t, r, c = (int(v) for v in self._patches.index[i])
        rows, cols = self._patches.spec.size
        return _tensors(*self._patches.window(t, r, c, rows, cols))


class PatchIterableDataset(IterableDataset[Sample]):
    """Iterable dataset of the same patches, read one chunk block at a time (parameters as :class:`PatchDataset`).

    Each block (the patches of one time step and chunk) is read once; blocks are dealt round-robin to the
    DataLoader's workers, so every patch is yielded exactly once per epoch whatever ``num_workers`` is.
    """

    def __init__(
        self,
        cube: str | os.PathLike[str] | xr.Dataset,
        spec: PatchSpec | None = None,
        *,
        subset: Subset = "all",
        split_by: SplitBy = "time",
        validation_fraction: float = 0.2,
    ) -> None:
        self._patches = _Patches(cube, spec or PatchSpec(), subset, split_by, validation_fraction)

    @property
    def index(self) -> npt.NDArray[np.int64]:
        """The ``(time, row, col)`` origin of every patch, in iteration order of one worker."""
        return self._patches.index

    def __len__(self) -> int:
        return len(self._patches.index)

    def __iter__(self) -> Iterator[Sample]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        rows, cols = self._patches.spec.size
        for number, block in enumerate(self._patches.blocks()):
            if number % workers != worker:
                continue
            t = int(block[0, 0])
            r0, c0 = int(block[:, 1].min()), int(block[:, 2].min())
            image, label = self._patches.window(
                t, r0, c0, int(block[:, 1].max()) - r0 + rows, int(block[:, 2].max()) - c0 + cols
            )
            for _, r, c in block:
                rr, cc = int(r) - r0, int(c) - c0
                yield _tensors(image[:, rr : rr + rows, cc : cc + cols], label[rr : rr + rows, cc : cc + cols])
