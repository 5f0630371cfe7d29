"""The read options of an ICEYE COG (orientation, SLC phase sign, amplitude mapping) and how items state them.

:func:`~icecube_stac.item.parse_item` builds a :class:`CogReadOptions` per item and sends it to the
reader as string options of the container name (:class:`~icecube_stac.readers.ContainerName`), which
travel into dask worker processes. The phase sign comes from the item's ``icecube:phase_sign``, else
the environment variable ``ICECUBE_STAC_PHASE_SIGN`` of the process that parses the items, else +1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from icecube_stac.vocabulary import Prop

__all__ = ["PHASE_SIGN_ENV", "CogReadOptions", "amplitude_mapping", "phase_sign"]

PHASE_SIGN_ENV: Final = "ICECUBE_STAC_PHASE_SIGN"
_KEYS: Final = frozenset({"transposed", "azimuth_reversed", "range_reversed", "phase_sign", "amplitude_mapping"})


@dataclass(frozen=True)
class CogReadOptions:
    """How to turn a COG's raster into cube pixels (decided per item by ``parse_item``).

    Attributes
    ----------
    transposed
        Range runs down the raster rows (azimuth along the columns), as in ICEYE's shadows-down layout.
    azimuth_reversed, range_reversed
        Stored azimuth index 0 is the last line in time / stored range index 0 is the far sample.
    phase_sign
        +1: ``A * exp(+1j * phase)``; -1: ``A * exp(-1j * phase)`` (SLC).
    amplitude_mapping
        ``(scale, exponent)`` of an ``iceye:amplitude_mapping`` power function to undo (SLC), or None.
    """

    transposed: bool = True
    azimuth_reversed: bool = False
    range_reversed: bool = False
    phase_sign: int = 1
    amplitude_mapping: tuple[float, float] | None = None

    def to_options(self) -> dict[str, str]:
        """Return the options as strings, for a :class:`~icecube_stac.readers.ContainerName`."""
        out = {
            "transposed": str(int(self.transposed)),
            "azimuth_reversed": str(int(self.azimuth_reversed)),
            "range_reversed": str(int(self.range_reversed)),
            "phase_sign": str(self.phase_sign),
        }
        if self.amplitude_mapping is not None:
            scale, exponent = self.amplitude_mapping
            out["amplitude_mapping"] = f"power:{scale!r}:{exponent!r}"
        return out

    @classmethod
    def from_options(cls, options: Mapping[str, str]) -> CogReadOptions:
        """Parse :meth:`to_options` strings.

        Raises
        ------
        ValueError
            For an unknown key or a bad value.
        """
        unknown = set(options) - _KEYS
        if unknown:
            raise ValueError(f"unknown COG reader option(s) {sorted(unknown)}; known: {sorted(_KEYS)}")
        mapping = None
        if "amplitude_mapping" in options:
            function, scale, exponent = options["amplitude_mapping"].split(":")
            if function != "power":
                raise ValueError(f"amplitude mapping {function!r}: only 'power' is known")
            mapping = (float(scale), float(exponent))
        sign = int(options.get("phase_sign", "1"))
        if sign not in (1, -1):
            raise ValueError(f"phase_sign must be 1 or -1, got {sign}")
        return cls(
            transposed=options.get("transposed", "1") == "1",
            azimuth_reversed=options.get("azimuth_reversed", "0") == "1",
            range_reversed=options.get("range_reversed", "0") == "1",
            phase_sign=sign,
            amplitude_mapping=mapping,
        )


def phase_sign(props: Mapping[str, Any], environ: Mapping[str, str]) -> int:
    """Return an SLC item's phase sign: ``icecube:phase_sign``, else ``ICECUBE_STAC_PHASE_SIGN``, else +1.

    Raises
    ------
    ValueError
        When the value is not +1 or -1 (the message names where it came from).
    """
    value: Any = props.get(Prop.PHASE_SIGN)
    where = Prop.PHASE_SIGN
    if value is None:
        value, where = environ.get(PHASE_SIGN_ENV, "1"), f"environment variable {PHASE_SIGN_ENV}"
    try:
        sign = int(str(value).strip())
    except ValueError:
        sign = 0
    if sign not in (1, -1):
        raise ValueError(f"{where} is {value!r}; use +1 (amplitude * exp(+1j*phase)) or -1 (exp(-1j*phase))")
    return sign


def amplitude_mapping(props: Mapping[str, Any]) -> tuple[float, float] | None:
    """Return ``(scale, exponent)`` of an item's ``iceye:amplitude_mapping`` power function, or None.

    Raises
    ------
    ValueError
        For a mapping that is not a ``power`` function with positive scale and exponent.
    """
    mapping = props.get(Prop.AMPLITUDE_MAPPING)
    if mapping is None:
        return None
    try:
        function = mapping["function"]
        scale, exponent = float(mapping["parameters"]["scale"]), float(mapping["parameters"]["exponent"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"{Prop.AMPLITUDE_MAPPING} {mapping!r} is not {{'function': 'power', 'parameters': "
            "{'scale': s, 'exponent': e}}"
        ) from None
    if function != "power" or scale <= 0 or exponent <= 0:
        raise ValueError(
            f"{Prop.AMPLITUDE_MAPPING} {mapping!r}: only a 'power' function with positive scale and exponent can be "
            "undone"
        )
    return scale, exponent
