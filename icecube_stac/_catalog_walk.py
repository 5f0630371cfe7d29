"""Read a local static STAC catalog file by file from its root, refusing loops and links that leave it.

:func:`walk` follows ``child`` and ``item`` links breadth-first and yields each document once, with the
document it was reached from. Every problem is a :class:`~icecube_stac.errors.CatalogError` naming the
file and the link: a link loop (or a file linked twice), a remote link, a link that resolves outside the
catalog's folder (``../../etc/passwd``), a missing or unreadable file, JSON that is not a STAC object of
the kind the link promises. Nothing recurses, so no catalog can exhaust the stack.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from icecube_stac.errors import CatalogError
from icecube_stac.vocabulary import local_path

__all__ = ["MAX_DOCUMENT_BYTES", "Document", "read_document", "walk"]

MAX_DOCUMENT_BYTES: Final = 64 * 1024 * 1024
"""A STAC JSON document larger than this is refused (catalog files are kilobytes)."""

_KINDS: Final = {"root": ("Catalog", "Collection"), "child": ("Catalog", "Collection"), "item": ("Feature",)}
_NAMES: Final = {"Catalog": "catalog", "Collection": "collection", "Feature": "item"}


@dataclass(frozen=True)
class Document:
    """One file of a catalog: where it is, its JSON, the link relation that reached it and from where."""

    path: Path
    data: dict[str, Any]
    rel: str
    parent: Document | None

    @property
    def kind(self) -> str:
        """``Catalog``, ``Collection`` or ``Feature``."""
        return str(self.data.get("type"))

    def ancestors(self) -> Iterator[Document]:
        """Yield the documents above this one, nearest first."""
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


def read_document(path: Path, rel: str = "root", via: Path | None = None) -> dict[str, Any]:
    """Read one STAC JSON file and check that it is the kind of object ``rel`` leads to.

    Parameters
    ----------
    path
        The file.
    rel
        ``root``, ``child`` (a catalog or collection) or ``item`` (a Feature).
    via
        The document whose link led here, for messages.

    Returns
    -------
    dict

    Raises
    ------
    CatalogError
        When the file cannot be read, is too large, is not JSON or not the expected STAC object.
    """
    where = f"{path}" + (f" (linked as {rel!r} from {via})" if via is not None else "")
    try:
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            raise CatalogError(f"{where}: {size} bytes; a STAC document is at most {MAX_DOCUMENT_BYTES} bytes")
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise CatalogError(f"{where}: cannot be read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise CatalogError(f"{where}: not a JSON document ({exc})") from None
    expected = _KINDS[rel]
    kind = data.get("type") if isinstance(data, dict) else None
    if kind not in expected:
        wanted = " or ".join(f"a STAC {_NAMES[k]} (type {k!r})" for k in expected)
        got = f"type {kind!r}" if isinstance(data, dict) else f"a JSON {type(data).__name__}"
        raise CatalogError(f"{where}: expected {wanted}, got {got}")
    document: dict[str, Any] = data
    return document


def _target(link: Any, document: Document, top: Path) -> Path:
    """Return the resolved file a child/item link names, or say why it cannot be followed."""
    rel = link.get("rel")
    href = link.get("href")
    if not isinstance(href, str) or not href.strip():
        raise CatalogError(f"{document.path}: a {rel!r} link has no href")
    local = local_path(href)
    if local is None:
        raise CatalogError(
            f"{document.path}: {rel!r} link {href!r} is remote; only local catalogs are read (download it first)"
        )
    target = (document.path.parent / local).resolve()
    if top not in target.parents:
        raise CatalogError(
            f"{document.path}: {rel!r} link {href!r} leads outside the catalog folder {top} (to {target}); "
            "child and item links must stay inside it"
        )
    if not target.is_file():
        raise CatalogError(f"{document.path}: {rel!r} link {href!r}: {target} does not exist")
    return target


def _refuse_revisit(target: Path, document: Document, rel: str, seen: dict[Path, Document]) -> None:
    earlier = seen[target]
    if target == document.path or earlier in document.ancestors():
        raise CatalogError(
            f"{document.path}: {rel!r} link back to {target}, which leads here: a link loop; "
            "child and item links must form a tree"
        )
    via = earlier.parent.path if earlier.parent is not None else "the root"
    raise CatalogError(
        f"{document.path}: {rel!r} link to {target}, which is already linked from {via}; "
        "each catalog file must be linked once"
    )


def walk(root: Path, skip: Callable[[Path, str], None] | None = None) -> Iterator[Document]:
    """Yield every document of a static catalog once, breadth-first from its root file.

    Parameters
    ----------
    root
        The root ``catalog.json`` (or a collection file).
    skip
        When given, a link that cannot be followed is reported to it (the file holding the link, the
        message) and skipped instead of raising.

    Yields
    ------
    Document
        The root first; each document before the ones it links.

    Raises
    ------
    CatalogError
        Naming the file and the link, for any link that cannot be followed safely.
    """
    path = root.resolve()
    top = path.parent
    first = Document(path, read_document(path), "root", None)
    seen = {path: first}
    queue = deque([first])
    while queue:
        document = queue.popleft()
        yield document
        if document.kind == "Feature":
            continue
        links = document.data.get("links") or []
        if not isinstance(links, list):
            raise CatalogError(f"{document.path}: 'links' must be a list, got {type(links).__name__}")
        for link in links:
            rel = link.get("rel") if isinstance(link, dict) else None
            if rel not in ("child", "item"):
                continue
            try:
                node = _follow(link, rel, document, top, seen)
            except CatalogError as exc:
                if skip is None:
                    raise
                skip(document.path, str(exc))
                continue
            seen[node.path] = node
            queue.append(node)


def _follow(link: Any, rel: str, document: Document, top: Path, seen: dict[Path, Document]) -> Document:
    target = _target(link, document, top)
    if target in seen:
        _refuse_revisit(target, document, rel, seen)
    return Document(target, read_document(target, rel, document.path), rel, document)
