"""Refuse local product paths that are not regular files: a FIFO would block a reader, a device never ends.

The XML reader opens its file without blocking and checks it (:mod:`icecube_stac.formats.xml`); GDAL and
HDF5 open by path, so the raster readers ask :func:`require_regular_file` first.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from icecube_stac.errors import MetadataError

__all__ = ["require_regular_file"]


def require_regular_file(path: str | Path) -> None:
    """Raise unless ``path`` is a regular file (after links); a missing path is left to the reader to report.

    Parameters
    ----------
    path
        A local path.

    Raises
    ------
    MetadataError
        When the path is a FIFO, a device, a socket or a folder.
    """
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return  # missing, unreadable or not a path: the reader says so in its own words
    if not stat.S_ISREG(mode):
        raise MetadataError(path, "not a regular file (a FIFO, device or folder); ICEYE products are plain files")
