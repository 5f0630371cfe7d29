"""Windows of a cube for training: straight from a Zarr store's arrays, or from any xarray Dataset.

A Zarr path is read with zarr itself (only the chunks a window touches; no dask graph per patch), in the
storage form :func:`icecube_stac.output.write_cube` writes: ``amplitude`` uint16 (DN 0 = no-data),
``slc_real``/``slc_imag`` int16 (−32768 = no-data) or ``slc`` complex64, ``labels``, ``labelled`` and the
per-time ``calibration_factor``, ``amplitude_scale``, ``amplitude_offset``. Any other cube (NetCDF, the icecube
layout, a cube built from a config) goes through xarray (``isel(...).values``). Either way GRD windows come
back as amplitude ``DN·scale + offset`` (float32, NaN at no-data) and SLC windows as complex64.
The source reopens its store in each DataLoader worker (only the path is pickled).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from icecube_stac.ml._spec import BatchError

__all__ = ["CubeSource"]

_GRD_NODATA = 0
_SLC_NODATA = -32768


def _per_time(values: Any, n: int, default: float) -> npt.NDArray[np.float64]:
    out = np.full(n, default) if values is None else np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(out), out, default)


class CubeSource:
    """Read ``(time, rows, cols)`` windows of a cube's SAR variable and labels.

    Parameters
    ----------
    cube
        A Zarr folder written by :func:`~icecube_stac.write_cube`, or an ``xarray.Dataset`` (any cube).
    """

    def __init__(self, cube: str | os.PathLike[str] | xr.Dataset) -> None:
        self._path = None if isinstance(cube, xr.Dataset) else Path(cube)
        self._ds = cube if isinstance(cube, xr.Dataset) else None
        self._group: Any = None
        self._arrays: dict[str, Any] = {}
        if (
            self._path is not None
            and not (self._path / "zarr.json").is_file()
            and not (self._path / ".zgroup").is_file()
        ):
            from icecube_stac.output import open_cube

            self._ds, self._path = open_cube(self._path), None  # NetCDF or another layout: through xarray
        self._describe()

    # --- pickling: workers reopen the store -------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_group": None, "_arrays": {}}

    def _array(self, name: str) -> Any:
        # Opening an array reads its metadata (one store round trip): once per array and process.
        array = self._arrays.get(name)
        if array is None:
            array = self._arrays[name] = self._zarr()[name]
        return array

    def _zarr(self) -> Any:
        if self._group is None:
            import zarr

            self._group = zarr.open_group(str(self._path), mode="r")
        return self._group

    def _describe(self) -> None:
        if self._path is not None:
            group = self._zarr()
            names = set(group.array_keys())
            self.variable = next((v for v in ("amplitude", "slc", "slc_real") if v in names), "")
            array = group[self.variable] if self.variable else None
            coords = {
                k: group[k][:] for k in ("calibration_factor", "amplitude_scale", "amplitude_offset") if k in names
            }
            self.labelled = [bool(v) for v in group["labelled"][:]] if "labelled" in names else None
            self.has_labels = "labels" in names
        else:
            assert self._ds is not None
            names = set(map(str, self._ds.variables))
            self.variable = next((v for v in ("amplitude", "slc") if v in self._ds.data_vars), "")
            array = self._ds[self.variable] if self.variable else None
            coords = {
                k: self._ds[k].values
                for k in ("calibration_factor", "amplitude_scale", "amplitude_offset")
                if k in names
            }
            self.labelled = [bool(v) for v in self._ds["labelled"].values] if "labelled" in names else None
            self.has_labels = "labels" in self._ds.data_vars
        if array is None:
            raise BatchError("the cube has no SAR variable (amplitude or slc): not a cube of icecube-stac")
        self.shape: tuple[int, int, int] = tuple(int(s) for s in array.shape)  # type: ignore[assignment]
        chunks = (
            array.chunks
            if self._path is not None
            else (array.data.chunksize if hasattr(array.data, "chunksize") else array.shape)
        )
        self.chunks: tuple[int, int] = (int(chunks[1]), int(chunks[2]))
        self.level = "GRD" if self.variable == "amplitude" else "SLC"
        n = self.shape[0]
        self.calibration = _per_time(coords.get("calibration_factor"), n, math.nan)
        self.scale = _per_time(coords.get("amplitude_scale"), n, 1.0)
        self.offset = _per_time(coords.get("amplitude_offset"), n, 0.0)

    def image(self, times: slice, rows: slice, cols: slice) -> npt.NDArray[Any]:
        """Return GRD amplitude (float32, NaN no-data) or SLC complex64 of a window, ``(time, rows, cols)``."""
        if self._path is not None:
            if self.variable == "amplitude":
                dn = self._array("amplitude")[times, rows, cols]
                values = dn.astype(np.float32)
                if dn.dtype.kind in "iu":
                    values[dn == _GRD_NODATA] = np.nan
            elif self.variable == "slc":
                return np.asarray(self._array("slc")[times, rows, cols], dtype=np.complex64)
            else:
                real, imag = self._array("slc_real")[times, rows, cols], self._array("slc_imag")[times, rows, cols]
                out: npt.NDArray[np.complex64] = (real.astype(np.float32) + 1j * imag.astype(np.float32)).astype(
                    np.complex64
                )
                if real.dtype.kind == "i":
                    out[(real == _SLC_NODATA) | (imag == _SLC_NODATA)] = complex(np.nan, np.nan)
                return out
        else:
            assert self._ds is not None
            variable = self._ds[self.variable]
            window = {variable.dims[0]: times, variable.dims[1]: rows, variable.dims[2]: cols}
            data = np.asarray(variable.isel(window).values)  # only the chunks the window touches
            if self.variable == "slc":
                complex_data: npt.NDArray[np.complex64] = data.astype(np.complex64, copy=False)
                return complex_data
            values = data.astype(np.float32)
            values[values == _GRD_NODATA] = np.nan  # ICEYE's GRD no-data DN, as the calibration helpers read it
        scale, offset = self.scale[times], self.offset[times]
        if np.any(scale != 1.0):  # legacy products: amplitude is the DN, nothing to compute
            values *= scale.astype(np.float32)[:, None, None]
        if np.any(offset != 0.0):
            values += offset.astype(np.float32)[:, None, None]
        amplitude: npt.NDArray[np.float32] = values
        return amplitude

    def labels(self, time: int, rows: slice, cols: slice) -> npt.NDArray[np.int64]:
        """Return the label window of one time step (int64)."""
        if not self.has_labels:
            raise BatchError("the cube has no labels variable: attach labels first (cube --labels, attach_labels)")
        if self._path is not None:
            values = self._array("labels")[time, rows, cols]
        else:
            assert self._ds is not None
            variable = self._ds["labels"]
            values = variable.isel({variable.dims[0]: time, variable.dims[1]: rows, variable.dims[2]: cols}).values
        return np.asarray(values, dtype=np.int64)
