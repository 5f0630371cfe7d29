"""Stage 00: the code base is ruff-clean and mypy --strict clean (run as tests so CI always checks them)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=600
    )


@pytest.mark.parametrize("args", [("ruff", "check", "."), ("ruff", "format", "--check", ".")], ids=["lint", "format"])
def test_ruff(args: tuple[str, ...]) -> None:
    if shutil.which("ruff") is None and _run("ruff", "--version").returncode != 0:
        pytest.fail("ruff is not installed: pip install -e '.[test]'")
    result = _run(*args)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = _run("mypy", "--strict", "icecube_stac")
    assert result.returncode == 0, result.stdout + result.stderr


def _modules() -> list[Path]:
    return sorted((ROOT / "icecube_stac").rglob("*.py"))


@pytest.mark.parametrize("module", _modules(), ids=lambda p: str(p.relative_to(ROOT / "icecube_stac")))
def test_one_job_per_module(module: Path) -> None:
    """Every module is under 400 lines, opens with a docstring stating its job, and declares ``__all__``."""
    import ast

    text = module.read_text()
    tree = ast.parse(text)
    assert len(text.splitlines()) < 400, f"{module.name} has {len(text.splitlines())} lines"
    docstring = ast.get_docstring(tree)
    assert docstring and len(docstring.splitlines()[0]) > 20, f"{module.name} lacks a docstring stating its job"
    names = {
        t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)
    }
    annotated = {
        node.target.id for node in tree.body if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    }
    assert "__all__" in names | annotated, f"{module.name} has no explicit __all__"
