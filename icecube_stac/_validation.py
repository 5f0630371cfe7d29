"""The STAC extension schemas icecube-stac declares, and offline validation against them.

Items and collections declare exactly the schema URIs in :data:`SCHEMA_URIS`; their JSON schemas are
vendored in ``icecube_stac/schemas/`` and :func:`validate` never fetches one from the network.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

import pystac
from pystac.validation.stac_validator import GetSchemaError, JsonSchemaSTACValidator

__all__ = ["SCHEMA_URIS", "STAC_EXTENSIONS", "validate"]

SCHEMA_URIS: dict[str, str] = {
    "sar": "https://stac-extensions.github.io/sar/v1.3.2/schema.json",
    "sat": "https://stac-extensions.github.io/sat/v1.2.0/schema.json",
    "view": "https://stac-extensions.github.io/view/v1.1.0/schema.json",
    "projection": "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
    "processing": "https://stac-extensions.github.io/processing/v1.1.0/schema.json",
    "product": "https://stac-extensions.github.io/product/v1.0.0/schema.json",
}
"""Extension name → the schema URI items and collections declare (and are validated against)."""

STAC_EXTENSIONS: list[str] = list(SCHEMA_URIS.values())
"""The ``stac_extensions`` list of every item and collection."""


class _OfflineValidator(JsonSchemaSTACValidator):
    """pystac's JSON-schema validator restricted to vendored schemas: it never fetches one."""

    def _get_schema(self, schema_uri: str) -> dict[str, Any]:
        if schema_uri not in self.schema_cache:
            raise GetSchemaError(schema_uri, LookupError("schema not vendored in icecube_stac/schemas"))
        return self.schema_cache[schema_uri]


@functools.cache
def _validator() -> _OfflineValidator:
    validator = _OfflineValidator()
    root = resources.files("icecube_stac") / "schemas"
    for name, uri in SCHEMA_URIS.items():
        version = uri.rsplit("/", 2)[-2]
        schema = json.loads((root / name / version / "schema.json").read_text(encoding="utf-8"))
        validator.schema_cache[uri] = schema
    return validator


def validate(obj: pystac.STACObject | Mapping[str, Any]) -> list[str]:
    """Validate an item, collection or catalog against the core and extension schemas, offline.

    Parameters
    ----------
    obj
        A pystac object or its dict form.

    Returns
    -------
    list of str
        The schema URIs validated against.

    Raises
    ------
    pystac.STACValidationError
        When the object does not conform; the message names the failing schema and path.
    """
    if isinstance(obj, Mapping):
        return list(pystac.validation.validate_dict(dict(obj), validator=_validator()))
    return list(obj.validate(validator=_validator()))
