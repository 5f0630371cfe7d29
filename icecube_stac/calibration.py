"""Radiometric helpers for icecube-stac cubes: lazy functions and the ``ds.iceye`` accessor.

ICEYE calibration differs by product level (iceye_formats.md §3.1, §4.1 and pitfall 18):

========  ===============================  =============================================================
level     stored                           calibration
========  ===============================  =============================================================
GRD       DN (uint16 amplitude)            σ0 = calibration_factor · A², A = DN (legacy) or DN·SCALE + OFFSET
                                           (COG band scale, coords ``amplitude_scale``/``_offset``). ICEYE
                                           already applied sin θ:
                                           never apply it again. β0 would need the per-pixel incidence.
                                           DN 0 is ICEYE's (and SNAP's) no-data value: the calibrated
                                           views (amplitude, intensity, σ0) hold NaN there; the cube's
                                           stored ``amplitude`` keeps the DN as they are.
SLC       s_i + j·s_q (complex DN)         β0 = calibration_factor · |DN|². σ0 = β0 · sin θ(range), θ the
                                           incidence of each range sample (:func:`incidence`: the quadratic
                                           through ``incidence_near``/``incidence_angle``/``incidence_far``
                                           at the first, middle and last sample of each product);
                                           ``sigma0(ds, incidence="centre")`` uses the scene centre only.
========  ===============================  =============================================================

``calibration_factor`` is taken per time step from the cube's ``calibration_factor`` coord (it spans orders of
magnitude between products, so it is never a constant). Every function works on dask-backed cubes without
computing anything; empty time slots stay NaN.

Examples
--------
>>> import icecube_stac.calibration  # registers the accessor  # doctest: +SKIP
>>> sigma0_db = ds.iceye.to_db(ds.iceye.sigma0())  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import xarray as xr
import xarray.ufuncs as xu

from icecube_stac.errors import LoadError
from icecube_stac.vocabulary import CUBE_VARIABLES, ProductLevel

__all__ = [
    "IceyeAccessor",
    "amplitude",
    "beta0",
    "incidence",
    "intensity",
    "phase",
    "product_type",
    "sigma0",
    "to_db",
]

_GRD_VAR: Final = CUBE_VARIABLES[ProductLevel.GRD]
_SLC_VAR: Final = CUBE_VARIABLES[ProductLevel.SLC]
_NODATA: Final = {"comment": "DN 0 is ICEYE's GRD no-data value: NaN here (the stored DN keep 0)"}


def product_type(ds: xr.Dataset) -> ProductLevel:
    """Return the product level of a cube from its data variable (``amplitude`` → GRD, ``slc`` → SLC).

    Parameters
    ----------
    ds
        A cube from :func:`icecube_stac.cube.build_cube` or :func:`icecube_stac.output.open_cube`.

    Returns
    -------
    ProductLevel
        GRD or SLC (a string enum: ``product_type(ds) == "GRD"`` works).

    Raises
    ------
    LoadError
        When the dataset has neither variable.
    """
    if _SLC_VAR in ds.data_vars:
        return ProductLevel.SLC
    if _GRD_VAR in ds.data_vars:
        return ProductLevel.GRD
    raise LoadError(
        f"not an icecube-stac cube: no {_GRD_VAR!r} (GRD) or {_SLC_VAR!r} (SLC) variable among "
        f"{sorted(map(str, ds.data_vars))}; open icecube-layout files with icecube_stac.output.open_cube"
    )


def _named(data: xr.DataArray, name: str, long_name: str, units: str, **extra: str) -> xr.DataArray:
    data = data.rename(name)
    data.attrs = {"long_name": long_name, "units": units, **extra}
    return data


def _calibration_factor(ds: xr.Dataset) -> xr.DataArray:
    if "calibration_factor" not in ds.coords:
        raise LoadError(
            "the cube has no calibration_factor coord (the STAC items lacked iceye:calibration_factor), so it "
            "cannot be calibrated"
        )
    return ds.coords["calibration_factor"].astype(np.float32)


def _grd_dn(ds: xr.Dataset) -> xr.DataArray:
    """Return the GRD amplitude ``DN * amplitude_scale + amplitude_offset``, ICEYE's no-data DN 0 masked (NaN).

    Legacy GeoTIFF DN are the amplitude (scale 1, offset 0); COG GRDs store a scaled amplitude whose band
    SCALE/OFFSET the cube keeps per time step (an item without them gives NaN: unknown, never guessed).
    """
    dn = ds[_GRD_VAR]
    masked = dn.where(dn != 0)
    if "amplitude_scale" not in ds.coords:  # a cube written before COG support: legacy DN only
        return masked
    scale = ds.coords["amplitude_scale"].astype(np.float32)
    offset = ds.coords["amplitude_offset"].astype(np.float32) if "amplitude_offset" in ds.coords else 0.0
    return masked * scale + offset


def amplitude(ds: xr.Dataset) -> xr.DataArray:
    """Return the amplitude: ``|slc|`` for SLC, the stored DN for GRD (float32, DN 0 = no-data → NaN).

    Parameters
    ----------
    ds
        A cube.

    Returns
    -------
    xarray.DataArray
        Named ``amplitude``; lazy.
    """
    if product_type(ds) == "SLC":
        values = abs(ds[_SLC_VAR]).astype(np.float32)
        return _named(values, "amplitude", "amplitude |s_i + j*s_q| (DN)", "1")
    return _named(_grd_dn(ds).astype(np.float32), "amplitude", "amplitude DN (GRD, sigma0-scaled)", "1", **_NODATA)


def intensity(ds: xr.Dataset) -> xr.DataArray:
    """Return the intensity ``|DN|²`` (``s_i² + s_q²`` for SLC, ``DN²`` for GRD), float32.

    Parameters
    ----------
    ds
        A cube.

    Returns
    -------
    xarray.DataArray
        Named ``intensity``; lazy. Computed in float32 from the complex64 or float32 cube, so int16 samples
        cannot overflow (pitfall 5).
    """
    if product_type(ds) == "SLC":
        slc = ds[_SLC_VAR]
        values = slc.real**2 + slc.imag**2
        return _named(values.astype(np.float32), "intensity", "intensity |DN|^2", "1")
    return _named((_grd_dn(ds) ** 2).astype(np.float32), "intensity", "intensity |DN|^2", "1", **_NODATA)


def phase(ds: xr.Dataset) -> xr.DataArray:
    """Return the SLC phase ``angle(s_i + j·s_q)`` in radians, in (-π, π].

    Parameters
    ----------
    ds
        An SLC cube.

    Returns
    -------
    xarray.DataArray
        Named ``phase``, float32; lazy.

    Raises
    ------
    LoadError
        For a GRD cube: GRD products are detected amplitude and carry no phase.
    """
    if product_type(ds) != "SLC":
        raise LoadError("phase needs complex SLC data; a GRD cube holds detected amplitude DN and has no phase")
    values = xu.angle(ds[_SLC_VAR]).astype(np.float32)
    return _named(values, "phase", "interferometric phase of s_i + j*s_q", "rad")


def beta0(ds: xr.Dataset) -> xr.DataArray:
    """Return radar brightness β0 = calibration_factor · |DN|² of an SLC cube (linear).

    Parameters
    ----------
    ds
        An SLC cube.

    Returns
    -------
    xarray.DataArray
        Named ``beta0``, float32; lazy.

    Raises
    ------
    LoadError
        For a GRD cube: its DN are already σ0-scaled (sin θ applied by ICEYE); β0 would need the per-pixel
        incidence angle, which the cube does not carry. Use :func:`sigma0` for GRD.
    """
    if product_type(ds) != "SLC":
        raise LoadError(
            "beta0 of a GRD cube is not available: ICEYE GRD DN are already sigma0-scaled (sin(incidence) "
            "applied), so beta0 = calibration_factor * DN^2 / sin(local incidence) would need the per-pixel "
            "incidence angle, which the cube does not carry; use sigma0() for GRD"
        )
    values = _calibration_factor(ds) * intensity(ds)
    return _named(values.astype(np.float32), "beta0", "radar brightness beta nought (linear)", "1")


def incidence(ds: xr.Dataset) -> xr.DataArray:
    """Return the incidence angle of every range sample of every time step, in degrees.

    The quadratic through ``incidence_near``, ``incidence_angle`` (scene centre) and ``incidence_far`` at
    the first, middle and last range sample of each product (``range_samples`` wide): ICEYE's own
    incidence polynomial reproduces those three values at exactly those samples (iceye_formats.md §2.6).
    A time step without near/far values gets its scene-centre incidence everywhere.

    Parameters
    ----------
    ds
        A cube with the ``incidence_*`` and ``range_samples`` coords of :func:`icecube_stac.cube.build_cube`.

    Returns
    -------
    xarray.DataArray
        dims ``(time, range)``, float64; lazy-cheap (computed from coordinates only).
    """
    needed = ("incidence_angle", "incidence_near", "incidence_far", "range_samples")
    missing = [name for name in needed if name not in ds.coords]
    if missing:
        raise LoadError(f"the per-range incidence needs the cube coords {missing} (rebuild the cube)")
    centre, near, far = (ds.coords[name].astype(np.float64) for name in needed[:3])
    last = (ds.coords["range_samples"] - 1).clip(min=1).astype(np.float64)
    t = ds.coords["range"].astype(np.float64) / last
    # Lagrange basis for the nodes t = 0, 1/2, 1.
    curve = near * 2 * (t - 0.5) * (t - 1) - centre * 4 * t * (t - 1) + far * 2 * t * (t - 0.5)
    known = near.notnull() & far.notnull()
    values = curve.where(known, centre).transpose("time", "range")
    return _named(
        values.drop_vars([c for c in values.coords if c not in ("time", "range")]),
        "incidence",
        "incidence angle per range sample",
        "degree",
    )


def sigma0(ds: xr.Dataset, *, incidence_model: Literal["range", "centre"] = "range") -> xr.DataArray:
    """Return the backscatter coefficient σ0 (linear).

    GRD: σ0 = calibration_factor · DN² (sin θ is already in the DN; it is not applied again); DN 0 → NaN.
    SLC: σ0 = β0 · sin θ, θ the incidence of each range sample (:func:`incidence`), or with
    ``incidence_model="centre"`` the scene-centre incidence of each time step (off by up to ±0.6 dB at
    the swath edges of real ICEYE stripmaps).

    Parameters
    ----------
    ds
        A GRD or SLC cube.
    incidence_model
        ``"range"`` (default) or ``"centre"``; SLC only.

    Returns
    -------
    xarray.DataArray
        Named ``sigma0``, float32; lazy.
    """
    if incidence_model not in ("range", "centre"):
        raise ValueError(f"incidence_model must be 'range' or 'centre', got {incidence_model!r}")
    if product_type(ds) == "GRD":
        values = _calibration_factor(ds) * intensity(ds)
        return _named(values.astype(np.float32), "sigma0", "backscatter sigma nought (linear)", "1", **_NODATA)
    if "incidence_angle" not in ds.coords:
        raise LoadError("SLC sigma0 needs the incidence_angle coord (view:incidence_angle of each item)")
    theta = ds.coords["incidence_angle"] if incidence_model == "centre" else incidence(ds)
    sine = xu.sin(xu.deg2rad(theta)).astype(np.float32)
    values = beta0(ds) * sine
    how = "scene-centre incidence" if incidence_model == "centre" else "incidence of each range sample"
    return _named(
        values.astype(np.float32).transpose(*ds[_SLC_VAR].dims),
        "sigma0",
        "backscatter sigma nought (linear)",
        "1",
        comment=f"SLC: beta0 * sin({how})",
    )


def to_db(x: xr.DataArray) -> xr.DataArray:
    """Return ``10·log10(x)``, NaN where ``x <= 0`` (or NaN).

    Parameters
    ----------
    x
        A linear power quantity (intensity, β0, σ0).

    Returns
    -------
    xarray.DataArray
        Same name with ``_db`` appended, units ``dB``; lazy.
    """
    # Masking first keeps log10 from warning about zeros inside dask tasks.
    positive = x.where(x > 0)
    values: xr.DataArray = 10.0 * xu.log10(positive)
    long_name = str(x.attrs.get("long_name", x.name or "value"))
    result = values.rename(f"{x.name}_db" if x.name else None)
    result.attrs = {"long_name": f"{long_name} in decibels", "units": "dB"}
    return result


@xr.register_dataset_accessor("iceye")  # type: ignore[no-untyped-call]
class IceyeAccessor:
    """``ds.iceye``: the calibration helpers of this module as methods of a cube.

    Parameters
    ----------
    ds
        The cube.
    """

    def __init__(self, ds: xr.Dataset) -> None:
        self._ds = ds

    @property
    def product_type(self) -> ProductLevel:
        """``"GRD"`` or ``"SLC"``."""
        return product_type(self._ds)

    def amplitude(self) -> xr.DataArray:
        """See :func:`amplitude`."""
        return amplitude(self._ds)

    def intensity(self) -> xr.DataArray:
        """See :func:`intensity`."""
        return intensity(self._ds)

    def phase(self) -> xr.DataArray:
        """See :func:`phase`."""
        return phase(self._ds)

    def beta0(self) -> xr.DataArray:
        """See :func:`beta0`."""
        return beta0(self._ds)

    def sigma0(self, *, incidence_model: Literal["range", "centre"] = "range") -> xr.DataArray:
        """See :func:`sigma0`."""
        return sigma0(self._ds, incidence_model=incidence_model)

    def incidence(self) -> xr.DataArray:
        """See :func:`incidence`."""
        return incidence(self._ds)

    def to_sarpy_orientation(self) -> xr.Dataset:
        """See :func:`icecube_stac.orientation.to_sarpy_orientation`."""
        from icecube_stac.orientation import to_sarpy_orientation

        return to_sarpy_orientation(self._ds)

    @staticmethod
    def to_db(x: xr.DataArray) -> xr.DataArray:
        """See :func:`to_db`."""
        return to_db(x)
