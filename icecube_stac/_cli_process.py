"""Start-up tuning of a process whose entry point is the ``icecube-stac`` command line (never of a host program).

:func:`tune_process` is called by :func:`icecube_stac.cli.main` when it runs as the process's command (no
``argv`` given); ``main(argv)`` called from a script, a test or a notebook leaves the interpreter as it is.
Each measure cuts the command's fixed cost without changing what it computes:

- scipy is hidden from ``dask.array``'s import-time probes (:class:`_ScipyHiddenFromDask`);
- ``boto3`` is imported on first use (:class:`_Boto3OnFirstUse`): rasterio imports it at its own import only
  to tell whether S3 sessions are possible (0.05-0.1 s, measured), and a command reading local files never
  uses it; an S3 read gets the real module at its first attribute access;
- dask's ``derived_from`` builds no docstrings (:class:`_DaskDocsSkipped`): about 0.07 s of parsing numpy's
  docstrings for ``help()``;
- the cyclic garbage collector runs less often (:data:`GC_THRESHOLDS`);
- the installed distributions' entry points are scanned once (:func:`_entry_points_once`), not once per
  library that looks for plugins (pystac, fsspec, numcodecs, zarr, xarray: about 6 ms a scan here).
"""

from __future__ import annotations

import gc
import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import sys
import threading
import types
from collections.abc import Sequence
from typing import Any, Final

__all__ = ["GC_THRESHOLDS", "is_tuned", "tune_process"]

# The command process's collector thresholds (default 700, 10, 10): the imports of xarray, pandas and dask
# allocate hundreds of thousands of objects that all live on, and at the default each 700 allocations trigger a
# collection that scans the young ones again (about 0.1 s of a cube command's start-up, measured). Still a
# bound: the reference cycles an index run leaves (pystac items) are collected after 50,000 allocations.
GC_THRESHOLDS: Final = (50_000, 20, 20)


class _ScipyHiddenFromDask:
    """A meta-path finder that hides scipy from ``dask.array``'s import-time probes only, then forgets it.

    ``import dask.array`` probes the optional scipy (sparse chunk types, ``scipy.fftpack``), which costs about
    0.25 s of start-up where scipy is installed, and the cube stage never hands dask a scipy object. While
    ``dask.array`` itself executes, ``sys.modules["scipy"]`` is None (the probes see scipy as absent); right
    after, the entry is removed, so any later ``import scipy`` (geocoding, coregistration) works as usual and
    pays its own import only. Nothing is hidden if scipy was imported before dask.array.
    """

    def find_spec(self, name: str, path: Sequence[str] | None = None, target: Any = None) -> Any:
        """Wrap the loader of ``dask.array`` (every other name is left to the next finders)."""
        if name != "dask.array":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        loader = getattr(spec, "loader", None)
        run = getattr(loader, "exec_module", None)
        if run is None:
            return spec

        def exec_module(module: Any) -> None:
            hide = "scipy" not in sys.modules
            if hide:
                sys.modules["scipy"] = None  # type: ignore[assignment]
            try:
                run(module)
            finally:
                if hide and sys.modules.get("scipy", 0) is None:
                    del sys.modules["scipy"]

        loader.exec_module = exec_module  # type: ignore[union-attr]
        return spec


class _OnFirstUse(types.ModuleType):
    """A stand-in for a module not imported yet: the first attribute looked up imports the real one.

    The real import replaces the stand-in in ``sys.modules``; a holder of the stand-in (rasterio's
    ``boto3`` global) keeps working through it. The lock makes two threads that need the module at once
    (parallel S3 reads) both wait for one complete import (``importlib.util.LazyLoader`` does not, in 3.11).
    """

    _lock = threading.Lock()

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and not self.__dict__.get("_ready"):
            # The import system's own look-ups while it sets the stand-in up (__path__, __file__) are not a use.
            raise AttributeError(attr)
        with self._lock:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            real = importlib.import_module(self.__name__)
        return getattr(real, attr)


class _StandInLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _OnFirstUse(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the stand-in imports the real module when it is first used."""
        module.__dict__["_ready"] = True


class _Boto3OnFirstUse:
    """A meta-path finder that answers the first ``import boto3`` with a stand-in (:class:`_OnFirstUse`).

    rasterio's probe then costs a module object and sees boto3 as present; the first ``boto3.Session`` (an
    S3 read) runs the real import. Nothing changes if boto3 was imported before or is not installed.
    """

    served = False

    def find_spec(self, name: str, path: Sequence[str] | None = None, target: Any = None) -> Any:
        """Return the stand-in's spec for the first ``boto3`` import (other names: the next finders)."""
        if name != "boto3" or self.served or importlib.machinery.PathFinder.find_spec(name, path) is None:
            return None
        self.served = True  # the stand-in's own import of the real module goes to the next finders
        return importlib.util.spec_from_loader(name, _StandInLoader())


class _DaskDocsSkipped:
    """A meta-path finder that makes ``dask.utils.derived_from`` skip building docstrings, then forgets it.

    ``import dask.array`` decorates some 250 functions and methods with ``derived_from(numpy...)``, which
    parses and rewrites the numpy docstring of each (about 0.07 s of a cube command's start-up, measured)
    for ``help()``. In the command's process the methods are kept as dask wrote them, with dask's own
    docstrings; a method the numpy or pandas original lacks still goes through ``derived_from`` (which then
    makes it raise NotImplementedError, as it always does).
    """

    def find_spec(self, name: str, path: Sequence[str] | None = None, target: Any = None) -> Any:
        """Wrap the loader of ``dask.utils`` (every other name is left to the next finders)."""
        if name != "dask.utils":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        loader: Any = getattr(spec, "loader", None)
        run = getattr(loader, "exec_module", None)
        if run is None:
            return spec

        def exec_module(module: Any) -> None:
            run(module)
            original = getattr(module, "derived_from", None)
            if callable(original):
                module.derived_from = _without_docstrings(original)

        loader.exec_module = exec_module
        return spec


def _without_docstrings(derived_from: Any) -> Any:
    """Wrap dask's ``derived_from`` so that it leaves methods the original class has as they are."""

    def without_docstrings(original_klass: Any, *args: Any, **kwargs: Any) -> Any:
        derive = derived_from(original_klass, *args, **kwargs)

        def decorate(method: Any) -> Any:
            if hasattr(original_klass, getattr(method, "__name__", "")):
                return method  # what derive would return, with its docstring rewritten
            return derive(method)

        return decorate

    return without_docstrings


def _entry_points_once() -> None:
    """Make :func:`importlib.metadata.entry_points` scan the installed distributions once for the process.

    The selection is the standard library's own (``select`` on the full scan); only a distribution installed
    while the command runs would be missed, and a command does not install any.
    """
    scan = importlib.metadata.entry_points
    if getattr(scan, "icecube_stac_once", False):
        return
    found: list[Any] = []

    def entry_points(**params: Any) -> Any:
        if not found:
            found.append(scan())
        return found[0].select(**params)

    entry_points.icecube_stac_once = True  # type: ignore[attr-defined]
    entry_points.__doc__ = scan.__doc__
    importlib.metadata.entry_points = entry_points


# Set by tune_process: this process is the command line's own (cli.main() as its entry point).
_TUNED: list[bool] = []


def is_tuned() -> bool:
    """Tell whether :func:`tune_process` ran: the process is the command's own, not a host program's."""
    return bool(_TUNED)


def tune_process() -> None:
    """Apply the start-up tuning of the command's process (see the module docstring); idempotent."""
    _TUNED[:] = [True]
    gc.set_threshold(*GC_THRESHOLDS)
    for finder in (_ScipyHiddenFromDask, _DaskDocsSkipped, _Boto3OnFirstUse):
        if not any(isinstance(f, finder) for f in sys.meta_path):
            sys.meta_path.insert(0, finder())
    _entry_points_once()
