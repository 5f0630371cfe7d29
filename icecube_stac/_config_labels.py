"""The ``labels`` config key: a labels file or folder to attach to the cube, or ``"catalog"``.

``"catalog"`` reads the STAC label items of the config's local catalog (the ``labels`` collection that
``icecube-stac index --labels`` writes). A relative path written in a config file is relative to that file's
folder, as ``catalog`` is (see :mod:`icecube_stac.config`). Only the value's form is checked here; the file
itself is read and checked when the cube is built (:func:`icecube_stac.labels.read_labels`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Final

from ._config_errors import fail
from ._config_limits import CATALOG_MAX_CHARS
from ._config_patterns import NON_BLANK, matches, nullable
from ._config_rules import Rule

__all__ = ["FROM_CATALOG", "LabelsRule"]

FROM_CATALOG: Final = "catalog"
_ALLOWED: Final = (
    f"expected the path of a labels file (icecube labels JSON, GeoJSON, STAC label item) or folder, at most "
    f"{CATALOG_MAX_CHARS:,} characters, {FROM_CATALOG!r} for the catalog's label items, or null for none"
)


@dataclass(frozen=True)
class LabelsRule(Rule):
    """A non-blank local path, ``"catalog"``, or null."""

    def check(self, key: str, value: object) -> str | None:
        if value is None:
            return None
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str) or not matches(NON_BLANK, value) or len(value) > CATALOG_MAX_CHARS:
            fail(key, value, _ALLOWED)
        if "://" in value:
            fail(key, value, "labels are read from local files only; " + _ALLOWED)
        return value

    def schema(self) -> dict[str, Any]:
        return nullable({"type": "string", "pattern": NON_BLANK, "maxLength": CATALOG_MAX_CHARS})
