"""Coregistration of a sensor-geometry cube in radar geometry (config key ``coregister``).

Every slice is aligned onto a reference slice (the first, or ``coregister.reference``):

1. **Coarse offset** from each product's corner geolocation when the footprints differ by more than a few
   pixels (:mod:`._geometry`), then checked by correlating one large central window at whole-pixel
   precision (:mod:`._estimate`), which also catches offsets the geometry missed.
2. **Window offsets**: subpixel cross-correlation of amplitude windows on a grid
   (scikit-image ``phase_cross_correlation`` with ``upsample_factor``), two passes, refusing no-data, dark
   (water) and weak-peak windows; only the windows are read (:mod:`._estimate`).
3. **Model fit**: ``shift``, ``affine`` or ``polynomial`` offsets by least squares with residual-based
   outlier rejection (:mod:`._model`).
4. **Lazy resampling**: one dask task per output chunk, cubic B-spline by default; SLC deramped by the
   Doppler centroid's azimuth phase ramp before and reramped after (:mod:`._resample`).
5. **Records**: per-slice ``coreg_*`` coordinates along ``time`` and ``coregistration_*`` attrs
   (:mod:`._record`). A slice whose fit fails is dropped or kept unaligned with NaN quality
   (``coregister.on_failure``), with a :class:`CoregistrationWarning` naming it.

:func:`icecube_stac.pipeline.load_cube` calls :func:`coregister_cube` when the config asks for it;
``coregistered: true`` (the stack is already aligned) means nothing is done.
"""

from __future__ import annotations

from icecube_stac._config_coregister import CoregisterOptions
from icecube_stac.coregister._run import CoregistrationWarning, coregister_cube

__all__ = ["CoregisterOptions", "CoregistrationWarning", "coregister_cube"]
