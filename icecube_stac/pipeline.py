"""The one composition of search and load: config → search → selection rules → cube.

:func:`~icecube_stac.search.search` knows nothing about pixels and
:func:`~icecube_stac.cube.build_cube` never searches; :func:`load_cube` is the only place (with the
CLI's ``cube`` command, which calls it) that chains them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import xarray as xr

from icecube_stac.config import CubeConfig
from icecube_stac.cube import OnMissing, build_cube
from icecube_stac.errors import LoadError
from icecube_stac.search import SearchBackend, search

__all__ = ["load_cube"]


def load_cube(
    config: CubeConfig,
    *,
    backend: SearchBackend | None = None,
    chunks: Mapping[str, int] | None = None,
    fill_value: float | None = None,
    on_missing: OnMissing = "raise",
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
    items = search(config, backend=backend)
    if not items:
        raise LoadError(
            f"no items matched the search in {config.catalog}: check the dates, incidence range, product "
            "type and filters of the config (`icecube-stac search CONFIG` lists the matches)"
        )
    if config.geocode:
        # A map-grid cube (config key geocode): the same items warped from their own RPC/GCPs.
        from icecube_stac.geocode import geocode_cube

        return geocode_cube(items, config=config, chunks=chunks, fill_value=fill_value, on_missing=on_missing)
    cube = build_cube(items, config=config, chunks=chunks, fill_value=fill_value, on_missing=on_missing)
    return _coregister(cube, config)


def _coregister(cube: xr.Dataset, config: CubeConfig) -> xr.Dataset:
    """Align the cube's slices when the config asks for it (``coregister``) and does not say they are."""
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
