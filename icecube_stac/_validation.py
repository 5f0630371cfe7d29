"""The STAC schemas icecube-stac declares, and fast offline validation of STAC documents against them.

Items and collections declare exactly the extension schema URIs in :data:`SCHEMA_URIS`. Every schema a
validation needs (core STAC 1.1.0, GeoJSON and the extensions) is vendored in ``icecube_stac/schemas/``
and listed in ``schemas/schema-map.json`` (schema URI → file), the very file ``stac-validator`` takes as
``--schema-config`` to validate offline too. Nothing is ever fetched from the network. Each schema is
compiled once per process; when ``fastjsonschema`` is installed it answers "valid?" (about 0.6 ms an item
instead of 4-10 ms), and ``jsonschema`` then only runs on documents that fail, to name every problem. The
indexer checks every item before it is written.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Final

import jsonschema
import pystac
import referencing
from jsonschema.exceptions import ValidationError, best_match
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT7

__all__ = [
    "SCHEMA_MAP",
    "SCHEMA_URIS",
    "STAC_EXTENSIONS",
    "problems",
    "schema_map_file",
    "stac_validator_schema_map",
    "validate",
]

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

SCHEMA_MAP: Final = "schema-map.json"
"""Name of the schema map in ``icecube_stac/schemas/`` (``{"schemas": {uri: relative path}}``)."""

_STAC_VERSION: Final = "1.1.0"
_CORE: Final = {
    "Feature": ("item", f"https://schemas.stacspec.org/v{_STAC_VERSION}/item-spec/json-schema/item.json"),
    "Collection": (
        "collection",
        f"https://schemas.stacspec.org/v{_STAC_VERSION}/collection-spec/json-schema/collection.json",
    ),
    "Catalog": ("catalog", f"https://schemas.stacspec.org/v{_STAC_VERSION}/catalog-spec/json-schema/catalog.json"),
}
_NAMES: Final = {uri: f"STAC {kind} {_STAC_VERSION}" for kind, uri in _CORE.values()} | {
    uri: f"{name} {uri.rsplit('/', 2)[-2]}" for name, uri in SCHEMA_URIS.items()
}
_MAX_MESSAGE: Final = 240


def _schemas_folder() -> Path:
    return Path(str(resources.files("icecube_stac") / "schemas"))


def schema_map_file() -> Path:
    """Return the shipped schema map, for ``stac-validator --schema-config`` (paths relative to the file).

    Returns
    -------
    pathlib.Path
    """
    return _schemas_folder() / SCHEMA_MAP


@functools.cache
def _relative_map() -> dict[str, str]:
    data = json.loads(schema_map_file().read_text(encoding="utf-8"))
    return dict(data["schemas"])


def stac_validator_schema_map() -> dict[str, str]:
    """Return schema URI → absolute path of every vendored schema (stac-validator's ``schema_map=``).

    Returns
    -------
    dict
    """
    folder = _schemas_folder()
    return {uri: str(folder / path) for uri, path in _relative_map().items()}


@functools.cache
def _contents(uri: str) -> dict[str, Any]:
    path = _relative_map().get(uri)
    if path is None:
        raise LookupError(uri)
    data: dict[str, Any] = json.loads((_schemas_folder() / path).read_text(encoding="utf-8"))
    return data


@functools.cache
def _registry() -> referencing.Registry[Any]:
    resources_ = [
        (uri, referencing.Resource.from_contents(_contents(uri), default_specification=DRAFT7))
        for uri in _relative_map()
    ]
    return referencing.Registry().with_resources(resources_).crawl()


@functools.cache
def _compiled(uri: str) -> jsonschema.protocols.Validator | None:
    if uri not in _relative_map():
        return None
    validator: jsonschema.protocols.Validator = jsonschema.Draft7Validator(_contents(uri), registry=_registry())
    return validator


def _any_string(value: Any) -> bool:
    return True


@functools.cache
def _fast(uri: str) -> Callable[[Any], Any] | None:
    """Return a fastjsonschema validator for a vendored schema, or None (not installed, or not vendored)."""
    try:
        import fastjsonschema  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    if uri not in _relative_map():
        return None

    def vendored(ref: str) -> Any:
        try:
            return _contents(ref.split("#", 1)[0])
        except LookupError:
            return {}  # never needed by icecube-stac documents (e.g. PROJJSON); jsonschema names it if it is

    handlers = {"https": vendored, "http": vendored}
    # use_default=False: fastjsonschema would otherwise write schema defaults (link "method": "GET") into data.
    # Formats are not asserted, as jsonschema, pystac and stac-validator do not: fastjsonschema alone would refuse
    # a local path with a space (an asset href) as no "iri-reference", so a folder "My Products" could not index.
    formats = {name: _any_string for name in ("iri", "iri-reference", "uri", "uri-reference")}
    validate_fast: Callable[[Any], Any] = fastjsonschema.compile(
        _contents(uri), handlers=handlers, use_default=False, formats=formats
    )
    return validate_fast


def _fast_failure(uri: str, data: Mapping[str, Any]) -> str | None:
    """Return fastjsonschema's message when the document fails ``uri`` (None when it passes or cannot tell)."""
    validate_fast = _fast(uri)
    if validate_fast is None:
        return "unchecked"
    import fastjsonschema  # type: ignore[import-not-found, unused-ignore]

    try:
        validate_fast(data)
    except fastjsonschema.JsonSchemaValueException as exc:
        return str(exc.message)
    return None


def _where(error: ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(document)"


def _wrong_branch(error: ValidationError) -> bool:
    """Tell whether an error only says that a oneOf/anyOf branch is for another kind of value."""
    discriminator = error.validator == "const" and list(error.relative_path) == ["type"]
    return discriminator or (error.validator == "type" and error.validator_value == "null")


def _leaf(error: ValidationError) -> ValidationError:
    """Descend from a oneOf/anyOf failure to the deepest error of the branch meant for the value."""
    while error.context:
        candidates = [e for e in error.context if not _wrong_branch(e)]
        if not candidates:
            break
        error = best_match(sorted(candidates, key=lambda e: -len(e.absolute_path))[:1]) or error
    return error


def _message(error: ValidationError) -> str:
    chosen = _leaf(error)
    text = f"{_where(chosen)}: {chosen.message}"
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def schema_uris(data: Mapping[str, Any]) -> list[str]:
    """Return the schemas a STAC document must follow: its core schema, then its ``stac_extensions``.

    Parameters
    ----------
    data
        An item, collection or catalog dict.

    Returns
    -------
    list of str
    """
    core = _CORE.get(str(data.get("type")))
    extensions = data.get("stac_extensions") or []
    return ([core[1]] if core else []) + [str(e) for e in extensions if isinstance(extensions, list)]


def problems(data: Any) -> list[str]:
    """Validate a STAC document offline; return every problem (empty when it is valid).

    Parameters
    ----------
    data
        An item, collection or catalog as a JSON dict.

    Returns
    -------
    list of str
        One line per violation: ``<schema>: <path in the document>: <what is wrong>``.
    """
    if not isinstance(data, Mapping):
        return [f"not a STAC object: a JSON object was expected, got {type(data).__name__}"]
    if str(data.get("type")) not in _CORE:
        return [f"type: got {data.get('type')!r}; a STAC object is a 'Feature', 'Collection' or 'Catalog'"]
    if data.get("stac_version") != _STAC_VERSION:
        return [
            f"stac_version: got {data.get('stac_version')!r}; only STAC {_STAC_VERSION} schemas are vendored, "
            "so other versions cannot be validated offline"
        ]
    found: list[str] = []
    for uri in schema_uris(data):
        fast = _fast_failure(uri, data)
        if fast is None:
            continue  # valid for that schema
        found += _schema_problems(uri, data, fast)
    return list(dict.fromkeys(found))  # one line per distinct problem


def _schema_problems(uri: str, data: Mapping[str, Any], fast: str) -> list[str]:
    """Every violation of one schema, by jsonschema (fastjsonschema's message if jsonschema sees none)."""
    name = _NAMES.get(uri, uri)
    validator = _compiled(uri)
    if validator is None:
        return [f"stac_extensions: {uri} is not vendored in icecube_stac/schemas: cannot validate offline"]
    try:
        errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    except Unresolvable as exc:
        return [f"{name}: cannot be checked offline: it refers to {exc}, which is not vendored"]
    if not errors and fast != "unchecked":
        return [f"{name}: {fast}"]
    return [f"{name}: {_message(error)}" for error in errors]


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
        When the object does not conform; the message names each failing schema and path.
    """
    data = obj.to_dict(include_self_link=False, transform_hrefs=False) if isinstance(obj, pystac.STACObject) else obj
    found = problems(data)
    if found:
        what = f"{data.get('type', 'object')} {data.get('id')!r}" if isinstance(data, Mapping) else "object"
        raise pystac.STACValidationError(f"{what} does not validate: " + "; ".join(found))
    return schema_uris(data)
