"""What an indexing run reports: the outcome per item, and every product that failed or warned, with why.

:func:`icecube_stac.catalog.index` returns an :class:`IndexReport`; :func:`failure_reason` turns an
exception raised while reading one product into the one-line reason the report lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from icecube_stac.errors import MetadataError

__all__ = ["IndexFailure", "IndexReport", "failure_reason"]


@dataclass(frozen=True)
class IndexFailure:
    """One product that could not be indexed (or was indexed with a warning), and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"

    def to_dict(self) -> dict[str, str]:
        """Return ``{"path", "reason"}``."""
        return {"path": self.path, "reason": self.reason}


@dataclass
class IndexReport:
    """What an indexing run did."""

    catalog: Path
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    vanished_kept: list[str] = field(default_factory=list)
    failures: list[IndexFailure] = field(default_factory=list)
    warnings: list[IndexFailure] = field(default_factory=list)
    written: bool = False

    @property
    def ok(self) -> bool:
        """True when every product found was indexed."""
        return not self.failures

    def summary(self) -> str:
        """One line per kind of outcome, then one per failure."""
        lines = [
            f"catalog {self.catalog}: {len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed, {len(self.failures)} failed"
            + (f", {len(self.kept)} kept from other folders" if self.kept else "")
            + ("" if self.written else " (nothing written: catalog already up to date)")
        ]
        if self.vanished_kept:
            lines.append(
                f"{len(self.vanished_kept)} item(s) whose product files are gone were kept; "
                "pass prune=True (--prune) to remove them"
            )
        lines += [f"WARNING {warning}" for warning in self.warnings]
        lines += [f"FAILED {failure}" for failure in self.failures]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON values (``--json``): every list, ``ok`` and ``written``."""
        outcomes = ("added", "updated", "unchanged", "kept", "removed", "vanished_kept")
        return {
            "catalog": str(self.catalog),
            "ok": self.ok,
            "written": self.written,
            **{name: list(getattr(self, name)) for name in outcomes},
            "failures": [f.to_dict() for f in self.failures],
            "warnings": [w.to_dict() for w in self.warnings],
        }


def failure_reason(exc: Exception, primary: Path) -> str:
    """Describe a product failure: the field and the offending file named, without repeating the product path.

    Parameters
    ----------
    exc
        The error raised while reading the product.
    primary
        The product's primary file (the path the report lists).

    Returns
    -------
    str
    """
    if not isinstance(exc, MetadataError):
        return str(exc)
    reason = f"field {exc.field!r}: {exc.reason}" if exc.field else exc.reason
    if Path(exc.source).resolve() != primary.resolve():
        reason = f"{Path(exc.source).name}: {reason}"
    return reason
