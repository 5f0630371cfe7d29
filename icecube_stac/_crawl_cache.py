"""The cache of catalogs made elsewhere: one stac-geoparquet file per catalog, outside the catalog, kept fresh.

Where: ``$ICECUBE_STAC_CACHE`` if set, else ``$XDG_CACHE_HOME/icecube-stac``, else ``~/.cache/icecube-stac``;
never inside the catalog it caches (refused). Each catalog has a folder ``catalogs/<key>``, the key being
the SHA-256 of the catalog's location (its real path, or its URL as given), holding ``items.parquet``
and ``manifest.json``. The folder is written in a private staging folder and swapped in as a whole
(:func:`icecube_stac._atomic.atomic_path`), so a reader sees the old cache or the new one, never a mix.

The manifest names its location with URL credentials redacted (and its SHA-256, which entries are matched
by) and records what the cache was made from (:class:`~icecube_stac._crawl.Stamp`), and how it is
checked before each search is up to the backend (see :mod:`icecube_stac._external_catalog`). The source
stamps' hrefs and the items' asset hrefs keep a URL's user-info (they are what is asked again and read), so
entries are made private (mode 0700).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from icecube_stac._atomic import atomic_path
from icecube_stac._crawl import Stamp
from icecube_stac._redact import redact_url
from icecube_stac.errors import IcecubeStacError, SearchError

__all__ = ["CACHE_ENV", "CACHE_VERSION", "CachedCatalog", "cache_folder", "stamps"]

CACHE_ENV: Final = "ICECUBE_STAC_CACHE"
CACHE_VERSION: Final = 1
"""Bumped when the cached rows change meaning: older caches are then rebuilt."""
_PARQUET: Final = "items.parquet"
_MANIFEST: Final = "manifest.json"
_MANIFEST_BYTES: Final = 1 << 30


def cache_folder(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the cache folder: ``override``, ``$ICECUBE_STAC_CACHE``, ``$XDG_CACHE_HOME/icecube-stac`` or ``~/.cache``.

    Parameters
    ----------
    override
        An explicit folder.

    Returns
    -------
    pathlib.Path
    """
    if override is not None:
        return Path(override).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "icecube-stac"


class CachedCatalog:
    """The cache entry of one catalog location.

    Parameters
    ----------
    key
        The catalog's location (real path or URL): it names the entry.
    folder
        The cache folder (:func:`cache_folder`).
    catalog_root
        For a local catalog, its folder: a cache inside it is refused.
    """

    def __init__(self, key: str, folder: Path, catalog_root: str | None = None) -> None:
        self.key = key
        real = Path(os.path.realpath(folder))
        if catalog_root is not None:
            root = Path(os.path.realpath(catalog_root))
            if real == root or root in real.parents:
                raise SearchError(
                    f"the cache folder {real} is inside the catalog {root}, which is never written to; set "
                    f"{CACHE_ENV} to a folder elsewhere"
                )
        self.digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        self.entry = real / "catalogs" / self.digest[:32]

    @property
    def parquet(self) -> Path:
        """The cached stac-geoparquet file."""
        return self.entry / _PARQUET

    def manifest(self) -> dict[str, Any] | None:
        """Return the entry's manifest when it is of this version and location and its parquet is whole, else None."""
        try:
            with (self.entry / _MANIFEST).open("rb") as f:
                data = json.loads(f.read(_MANIFEST_BYTES))
            status = self.parquet.stat() if data.get("items", 0) else None
        except (OSError, ValueError, AttributeError):
            return None
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION or not self._mine(data):
            return None
        if status is not None and data.get("parquet_size") != status.st_size:
            return None
        return data

    def _mine(self, manifest: dict[str, Any]) -> bool:
        """Whether a manifest is of this location: by its hash (the key it shows is redacted), or older: its key."""
        if "key_sha256" in manifest:
            return bool(manifest["key_sha256"] == self.digest)
        return bool(manifest.get("key") == self.key)  # written before the key was redacted

    def write(self, sources: list[Stamp], write_items: Callable[[Path], int], extra: dict[str, Any]) -> None:
        """Write a new entry: ``write_items(path)`` writes the parquet (or nothing) and returns the row count.

        Raises
        ------
        SearchError
            When the cache cannot be written (naming the folder).
        """
        try:
            self.entry.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with atomic_path(self.entry, overwrite=True) as staging:
                staging.mkdir(mode=0o700)
                count = write_items(staging / _PARQUET)
                size = (staging / _PARQUET).stat().st_size if count else 0
                manifest = {
                    "version": CACHE_VERSION,
                    "key": redact_url(self.key),  # never a URL's password on disk, in plain text
                    "key_sha256": self.digest,
                    "items": count,
                    "parquet_size": size,
                    "sources": [s.to_dict() for s in sources],
                    **extra,
                }
                (staging / _MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
        except SearchError:
            raise  # the items themselves (already named)
        except IcecubeStacError as exc:
            raise SearchError(f"cannot write the catalog cache {self.entry}: {exc}") from None
        except OSError as exc:
            raise SearchError(f"cannot write the catalog cache {self.entry}: {exc.strerror or exc}") from None


def stamps(manifest: dict[str, Any]) -> list[Stamp]:
    """Return the source stamps of a manifest."""
    return [Stamp(**s) for s in manifest.get("sources", []) if isinstance(s, dict)]
