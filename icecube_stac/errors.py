"""One exception hierarchy and one warning base for the whole package."""

from __future__ import annotations

__all__ = [
    "CatalogError",
    "ConfigError",
    "IcecubeStacError",
    "IcecubeStacWarning",
    "LoadError",
    "MetadataError",
    "OutputError",
    "OutputExistsError",
    "SearchError",
    "UnsupportedProductError",
]


class IcecubeStacError(Exception):
    """Base class of every error raised by icecube-stac on purpose."""


class MetadataError(IcecubeStacError):
    """A product's metadata is missing, malformed or unsafe to parse.

    Parameters
    ----------
    source
        The file (or file plus inner path) the metadata came from.
    reason
        What is wrong, in words a user can act on.
    field
        The ICEYE field name concerned, when one is.
    """

    def __init__(self, source: object, reason: str, field: str | None = None) -> None:
        self.source = str(source)
        self.reason = reason
        self.field = field
        where = f"{self.source}: field {field!r}: " if field else f"{self.source}: "
        super().__init__(where + reason)

    def __reduce__(self) -> tuple[type[MetadataError], tuple[str, str, str | None]]:
        # Errors cross dask worker processes: rebuild from the constructor arguments, not the message.
        return (type(self), (self.source, self.reason, self.field))


class UnsupportedProductError(MetadataError):
    """A file is not an ICEYE product this package can read (wrong format or no ICEYE metadata)."""


class CatalogError(IcecubeStacError):
    """A catalog folder is missing, unreadable or inconsistent (a single bad product is only reported)."""


class ConfigError(IcecubeStacError):
    """A ``config.json`` key has a bad value; the message names the key, the value and what is allowed."""

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(f"config key {key!r}: got {value!r}; {allowed}")

    def __reduce__(self) -> tuple[type[ConfigError], tuple[str, object, str]]:
        return (type(self), (self.key, self.value, self.allowed))


class SearchError(IcecubeStacError):
    """A search could not be run (catalog missing, API unreachable or lacking a needed capability)."""


class LoadError(IcecubeStacError):
    """Pixels could not be assembled into a cube (missing asset, unreadable file, mixed products)."""


class OutputError(IcecubeStacError, OSError):
    """An output (cube, catalog, search result) cannot be written; the message names the path and why.

    Also an :class:`OSError` (``errno`` is kept when the cause was one), so ``except OSError`` still catches it.
    """


class OutputExistsError(IcecubeStacError, FileExistsError):
    """A cube output path exists and overwriting was not asked for."""


class IcecubeStacWarning(UserWarning):
    """Base class of the warnings icecube-stac emits for recoverable problems."""
