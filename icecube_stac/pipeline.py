"""The one composition of search and load: config → search → selection rules → cube.

:func:`~icecube_stac.search.search` knows nothing about pixels and
:func:`~icecube_stac.cube.build_cube` never searches; :func:`load_cube` is the only place (with the
CLI's ``cube`` command, which calls it) that chains them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pystac

from icecube_stac.config import CubeConfig
from icecube_stac.cube._plan import OnMissing
from icecube_stac.errors import LoadError
from icecube_stac.search import SearchBackend, search

if TYPE_CHECKING:
    import xarray as xr

    from icecube_stac.labels import LabelSet

__all__ = ["load_cube", "matching_items"]


def matching_items(
    config: CubeConfig, *, backend: SearchBackend | None = None, labels: LabelSet | None = None
) -> pystac.ItemCollection:
    """Search a config's catalog (or ``backend``) and return the matches; none is an error naming the catalog.

    The command line's direct Zarr writer (:mod:`icecube_stac.cube._direct`) starts here too, without the
    imports of :func:`load_cube`'s xarray stage.

    Raises
    ------
    LoadError
        When nothing matches.
    SearchError
        When the search itself fails.
    """
    # The search selects products only (never label items) and, with labelled: true, the labelled ones.
    items = search(config, backend=backend, labels=labels)
    if not items:
        raise LoadError(
            f"no items matched the search in {config.catalog}: check the dates, incidence range, product "
            "type and filters of the config (`icecube-stac search CONFIG` lists the matches)"
        )
    return items


def load_cube(
    config: CubeConfig,
    *,
    backend: SearchBackend | None = None,
    chunks: Mapping[str, int] | None = None,
    fill_value: float | None = None,
    on_missing: OnMissing = "raise",
    labels: str | Path | LabelSet | None = None,
) -> xr.Dataset:
    """Search a config's catalog, apply icecube's selection rules, and build the lazy cube of the matches.

    Parameters
    ----------
    config
        A validated config (:func:`~icecube_stac.config.load_config`); ``config.catalog`` is searched
        unless ``backend`` is given.
    backend
        An explicit search backend (:class:`~icecube_stac.search.LocalCatalog`,
        :class:`~icecube_stac.search.StacApi`, ...).
    chunks, fill_value, on_missing
        As for :func:`~icecube_stac.cube.build_cube`.

    labels
        Labels to attach (a file/folder, ``"catalog"`` or a parsed set); default ``config.labels``
        (:mod:`icecube_stac.labels`). ``config.labelled`` keeps only the labelled products.

    Notes
    -----
    With ``config.coregister`` enabled (and ``coregistered`` false) the sensor-geometry cube is coregistered
    onto its reference slice (:func:`icecube_stac.coregister.coregister_cube`): the window offsets are
    computed here, the resampling stays lazy.

    Returns
    -------
    xarray.Dataset
        The cube of :func:`~icecube_stac.cube.build_cube`, or with ``config.geocode`` the map-grid cube of
        :func:`~icecube_stac.geocode.geocode_cube`.

    Raises
    ------
    LoadError
        When nothing matches (the message names the catalog), or as :func:`build_cube` raises.
    SearchError
        When the search itself fails.
    """
    if not isinstance(config, CubeConfig):
        raise TypeError(f"load_cube() needs a CubeConfig (see load_config), not {type(config).__name__}")
    label_set = None
    if labels is not None or config.labels is not None or config.labelled:
        from icecube_stac.labels._pipeline import labels_for

        label_set = labels_for(config, labels)
    items = matching_items(config, backend=backend, labels=label_set)
    if config.geocode:
        # A map-grid cube (config key geocode): the same items warped from their own RPC/GCPs.
        from icecube_stac.geocode import geocode_cube

        ds = geocode_cube(items, config=config, chunks=chunks, fill_value=fill_value, on_missing=on_missing)
    else:
        from icecube_stac.cube._build import build_cube

        ds = build_cube(items, config=config, chunks=chunks, fill_value=fill_value, on_missing=on_missing)
        ds = _coregister(ds, config)
    if label_set is None or (config.labelled and labels is None and config.labels is None):
        return ds
    from icecube_stac.labels import attach_labels

    return attach_labels(ds, label_set)


def _coregister(cube: xr.Dataset, config: CubeConfig) -> xr.Dataset:
    """Align the cube's slices when the config asks for it (``coregister``) and does not say they are.

    Radar-geometry cubes only: with ``geocode`` the geocoding stage says that ``coregister`` is ignored.
    """
    if not config.coregister.enabled:
        return cube
    from icecube_stac.coregister import CoregistrationWarning, coregister_cube  # scipy/scikit-image: only here

    if config.coregistered:
        warnings.warn(
            "config key 'coregister' is ignored: coregistered: true says the stack is already aligned",
            CoregistrationWarning,
            stacklevel=3,
        )
        return cube
    return coregister_cube(cube, config.coregister)
