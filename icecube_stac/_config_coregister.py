"""The ``coregister`` config key: the frozen coregistration options and their :class:`Rule`.

``coregister`` is ``false`` (the default: nothing is done), ``true`` (the defaults below) or an object of
:class:`CoregisterOptions` fields. It is unrelated to ``coregistered: true``, which states that the stack is
already aligned (then nothing is done either, see :func:`icecube_stac.coregister.coregister_cube`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Final, Literal

from ._config_errors import fail, one_of, shown, whole_number_hint
from ._config_patterns import choice_pattern
from ._config_rules import Rule, integer, real

__all__ = [
    "COREGISTER_MODELS",
    "COREGISTER_RESAMPLINGS",
    "DISABLED",
    "MODEL_TERMS",
    "ON_FAILURE",
    "CoregisterOptions",
    "CoregisterRule",
]

COREGISTER_MODELS: Final = ("shift", "affine", "polynomial")
MODEL_TERMS: Final = {"shift": 1, "affine": 3, "polynomial": 6}
"""Terms per axis of each offset model (constant; + azimuth, range; + the three second-order terms)."""
COREGISTER_RESAMPLINGS: Final = ("nearest", "linear", "cubic")
ON_FAILURE: Final = ("drop", "keep")
_WINDOW: Final = (16, 1024)
_GRID: Final = (1, 64)
_UPSAMPLE: Final = (1, 1000)
_RESIDUAL: Final = (0.0, 10.0)
_MIN_WINDOWS: Final = {"shift": 3, "affine": 6, "polynomial": 10}


@dataclass(frozen=True)
class CoregisterOptions:
    """How to coregister a cube in radar geometry (config key ``coregister``).

    Attributes
    ----------
    enabled
        False for ``coregister: false`` (nothing is done).
    reference
        Item id of the reference slice; None = the first slice with data.
    window
        Side of the square amplitude windows correlated, pixels.
    grid
        (azimuth, range) number of windows, spread evenly over the reference.
    model
        ``shift`` (one offset per slice), ``affine`` (offset + linear terms: rotation, scale, shear) or
        ``polynomial`` (second order), fitted by least squares to the window offsets.
    resampling
        ``cubic`` (cubic B-spline, scipy.ndimage.map_coordinates order 3), ``linear`` or ``nearest``.
    on_failure
        A slice whose fit fails is dropped (``drop``) or kept unaligned with NaN quality (``keep``).
    upsample
        Subpixel precision of the correlation peak: 1/upsample pixel.
    max_residual
        RMS residual of the fit (pixels) above which a slice's fit counts as failed.
    """

    enabled: bool = False
    reference: str | None = None
    window: int = 64
    grid: tuple[int, int] = (6, 6)
    model: Literal["shift", "affine", "polynomial"] = "affine"
    resampling: Literal["nearest", "linear", "cubic"] = "cubic"
    on_failure: Literal["drop", "keep"] = "keep"
    upsample: int = 100
    max_residual: float = 0.5

    def to_json(self) -> bool | dict[str, Any]:
        """Return the config value: ``false`` when disabled, else the object with every option."""
        if self.enabled is False:  # an `is` test: options built directly may hold any type (the rule reports it)
            return False
        return {f.name: _json(getattr(self, f.name)) for f in fields(self) if f.name != "enabled"}


def _json(value: object) -> object:
    # Only sequences become lists; anything else is passed on as it is, for the checks to name it.
    return list(value) if isinstance(value, (tuple, list)) else value


DISABLED: Final = CoregisterOptions()
_OPTION_NAMES: Final = tuple(f.name for f in fields(CoregisterOptions) if f.name != "enabled")
_ALLOWED: Final = "expected false, true or an object with some of " + ", ".join(_OPTION_NAMES) + " (see config-schema)"


def _count(key: str, value: object, bounds: tuple[int, int], what: str) -> int:
    number = integer(value)
    if number is None or not bounds[0] <= number <= bounds[1]:
        fail(key, value, f"expected {what}, a whole number from {bounds[0]} to {bounds[1]}{whole_number_hint(value)}")
    return number


def _grid(key: str, value: object) -> tuple[int, int]:
    if integer(value) is not None:
        size = _count(key, value, _GRID, "the windows per axis")
        return size, size
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        fail(key, value, f"expected [azimuth, range] window counts (or one count), each {_GRID[0]} to {_GRID[1]}")
    rows, cols = (_count(key, v, _GRID, "the windows per axis") for v in value)
    return rows, cols


def _choice(key: str, value: object, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        fail(key, value, one_of(choices, value, nullable=False))
    return value.lower()


def _option(key: str, name: str, value: object) -> object:
    where = f"{key}.{name}"
    if name == "reference":
        if value is not None and (not isinstance(value, str) or not value.strip()):
            fail(where, value, "expected an item id (a non-empty string) or null for the first slice")
        return value
    if name == "window":
        return _count(where, value, _WINDOW, "the window side in pixels")
    if name == "grid":
        return _grid(where, value)
    if name == "upsample":
        return _count(where, value, _UPSAMPLE, "the upsampling factor of the correlation peak")
    if name == "max_residual":
        number = real(value)
        if number is None or not _RESIDUAL[0] < number <= _RESIDUAL[1]:
            fail(where, value, f"expected a number of pixels > {_RESIDUAL[0]:g} and at most {_RESIDUAL[1]:g}")
        return number
    choices = {"model": COREGISTER_MODELS, "resampling": COREGISTER_RESAMPLINGS, "on_failure": ON_FAILURE}
    return _choice(where, value, choices[name])


def _enough_windows(key: str, options: CoregisterOptions) -> CoregisterOptions:
    needed = _MIN_WINDOWS[options.model]
    if options.grid[0] * options.grid[1] < needed:
        fail(
            f"{key}.grid",
            list(options.grid),
            f"the {options.model} model needs at least {needed} windows (grid rows x columns)",
        )
    return options


@dataclass(frozen=True)
class CoregisterRule(Rule):
    """``false``/``true`` (0/1 too) or an object of :class:`CoregisterOptions` fields; canonical: the options."""

    def check(self, key: str, value: object) -> CoregisterOptions:
        if isinstance(value, CoregisterOptions):
            # Built directly: every field is checked like JSON input (the canonical form passes unchanged).
            if not isinstance(value.enabled, bool):
                fail(f"{key}.enabled", value.enabled, "expected true or false")
            return self.check(key, value.to_json()) if value.enabled else DISABLED
        if value is None or value is False or (integer(value) == 0 and not isinstance(value, bool)):
            return DISABLED
        if value is True or integer(value) == 1:
            return CoregisterOptions(enabled=True)
        if not isinstance(value, Mapping):
            fail(key, value, _ALLOWED + whole_number_hint(value))
        unknown = [name for name in value if name not in _OPTION_NAMES]
        if unknown:
            fail(key, value, f"unknown option {shown(unknown[0], 40)}; " + _ALLOWED)
        checked: dict[str, Any] = {str(n): _option(key, str(n), v) for n, v in value.items()}
        options = replace(DISABLED, enabled=True, **checked)
        return _enough_windows(key, options)

    def schema(self) -> dict[str, Any]:
        count = {"type": "integer", "minimum": _GRID[0], "maximum": _GRID[1]}
        properties: dict[str, Any] = {
            "reference": {"type": ["string", "null"], "minLength": 1, "description": "reference item id"},
            "window": {"type": "integer", "minimum": _WINDOW[0], "maximum": _WINDOW[1]},
            "grid": {"anyOf": [count, {"type": "array", "items": count, "minItems": 2, "maxItems": 2}]},
            "model": {"type": "string", "pattern": choice_pattern(COREGISTER_MODELS)},
            "resampling": {"type": "string", "pattern": choice_pattern(COREGISTER_RESAMPLINGS)},
            "on_failure": {"type": "string", "pattern": choice_pattern(ON_FAILURE)},
            "upsample": {"type": "integer", "minimum": _UPSAMPLE[0], "maximum": _UPSAMPLE[1]},
            "max_residual": {"type": "number", "exclusiveMinimum": _RESIDUAL[0], "maximum": _RESIDUAL[1]},
        }
        options = {"type": "object", "properties": properties, "additionalProperties": False}
        return {"anyOf": [{"type": ["boolean", "null"]}, {"enum": [0, 1]}, options]}
