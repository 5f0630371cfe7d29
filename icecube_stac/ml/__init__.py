"""Training-ready batches from labelled cubes: PyTorch datasets of aligned (image, label) patches.

Needs the ``ml`` extra (``pip install 'icecube-stac[ml]'``: torch, xbatcher).

>>> from icecube_stac.ml import PatchDataset, PatchSpec
>>> train = PatchDataset("cube.zarr", PatchSpec(size=(128, 128), channels="db"), subset="train")  # doctest: +SKIP
>>> loader = torch.utils.data.DataLoader(train, batch_size=8, num_workers=2)  # doctest: +SKIP
"""

from __future__ import annotations

from icecube_stac.ml._dataset import PatchDataset, PatchIterableDataset
from icecube_stac.ml._index import patch_index, split_index
from icecube_stac.ml._source import CubeSource
from icecube_stac.ml._spec import CHANNELS, BatchError, PatchSpec
from icecube_stac.ml._xbatcher import xbatcher_generator

__all__ = [
    "CHANNELS",
    "BatchError",
    "CubeSource",
    "PatchDataset",
    "PatchIterableDataset",
    "PatchSpec",
    "patch_index",
    "split_index",
    "xbatcher_generator",
]
