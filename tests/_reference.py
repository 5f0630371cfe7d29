"""Where the real ICEYE XML is: the shared reference copy beside the repository, else the vendored copy."""

from __future__ import annotations

from pathlib import Path

_NAME = "ICEYE_X7_GRD_SM_154171_20211027T183203.xml"
_SHARED = Path(__file__).resolve().parents[2] / "shared" / "reference" / "data" / _NAME
# A byte-identical copy (see tests/data/README.md), so a plain clone of the repository also tests it.
_VENDORED = Path(__file__).resolve().parent / "data" / _NAME

REAL_XML = _SHARED if _SHARED.is_file() else _VENDORED
