"""File names inside a catalog folder, shared by the writer (catalog) and the reader (search)."""

from __future__ import annotations

from typing import Final

__all__ = ["PARQUET_NAME", "STATE_NAME"]

PARQUET_NAME: Final = "items.parquet"
STATE_NAME: Final = ".icecube-index.json"
