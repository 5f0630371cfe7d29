"""Stage 59: RealPaths (folders resolved once per batch) answers exactly as os.path.realpath and resolve_href,
on trees with symbolic links to folders and files, relative and absolute, dangling and looping."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from icecube_stac._realpath import RealPaths
from icecube_stac.vocabulary import resolve_href

NAMES = ("a", "b", "c", "la", "lb", "lf", "loop")


def _tree(root: Path, seed: int) -> None:
    rng = random.Random(seed)
    for folder in ("a", "a/b", "a/b/c", "b", "b/c", "c/a"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for name in ("a/f", "a/b/f", "b/c/f", "c/f"):
        (root / name).write_text("x")
    links = [
        ("la", "a/b"),
        ("a/lb", "../b"),
        ("b/c/la", str(root / "a")),
        ("c/lf", "../a/b/f"),
        ("a/b/dangling", "nowhere/at/all"),
        ("loop", "loop2"),
        ("loop2", "loop"),
        ("c/a/lb", "../../la/.."),
    ]
    for name, target in rng.sample(links, k=rng.randint(4, len(links))):
        (root / name).symlink_to(target)


def _paths(root: Path, seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    parts = [*NAMES, "f", "..", ".", "", "dangling", "lb", "la", "loop2"]
    paths = []
    for _ in range(count):
        inner = "/".join(rng.choice(parts) for _ in range(rng.randint(1, 6)))
        paths.append(f"{root}/{inner}")
    return paths


@pytest.mark.parametrize("seed", range(12))
def test_same_answers_as_realpath(tmp_path: Path, seed: int) -> None:
    _tree(tmp_path, seed)
    paths = RealPaths()  # one instance for every path: the folders it remembers must never mislead it
    for path in _paths(tmp_path, seed, 400):
        assert paths.resolve(path) == os.path.realpath(path), path


@pytest.mark.parametrize("seed", range(12))
def test_existing_file_is_isfile_then_realpath(tmp_path: Path, seed: int) -> None:
    _tree(tmp_path, seed)
    paths = RealPaths()
    for path in _paths(tmp_path, seed, 400):
        assert paths.existing_file(path) == (os.path.realpath(path) if os.path.isfile(path) else None), path


def test_relative_paths_and_hrefs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path, 0)
    monkeypatch.chdir(tmp_path / "a")
    paths = RealPaths()
    for path in ("b/f", "../la/../f", "./lb/c", "", "."):
        assert paths.resolve(path) == os.path.realpath(path)
    base = tmp_path / "c" / "a"
    for href in ("../f", "lb/c/f", "/abs/x.tif", "https://host/x.tif", "s3://bucket/x", "./../../la/f"):
        assert paths.href(href, base) == resolve_href(href, base)


def test_each_folder_is_resolved_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    products = tmp_path / "data"
    for i in range(300):
        (products / f"p{i}").mkdir(parents=True)
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    hrefs = [f"../data/p{i}/p{i}.{ext}" for i in range(300) for ext in ("tif", "xml")]
    expected = [resolve_href(h, catalog) for h in hrefs]
    looked_at: list[str] = []
    islink = os.path.islink

    def counting(path: str) -> bool:
        looked_at.append(path)
        return islink(path)

    monkeypatch.setattr(os.path, "islink", counting)
    paths = RealPaths()
    assert [paths.href(h, catalog) for h in hrefs] == expected
    # One look per file (600) and per folder (300 products, data, and the components of tmp_path), never more.
    assert len(looked_at) == len(set(looked_at)) <= 600 + 300 + 1 + len(tmp_path.parts) + 1


def test_existing_file_of_a_path_with_a_nul_is_none_as_isfile(tmp_path: Path) -> None:
    # An item id may hold a NUL (Arrow strings can): isfile says False, lstat raises ValueError.
    path = f"{tmp_path}/a\x00b.json"
    assert RealPaths().existing_file(path) is None
    assert not os.path.isfile(path)


@pytest.mark.parametrize(
    "inner", ["./" * 1200, "a/../" * 700, "la/" + "./" * 1100, "/" * 1500], ids=["dots", "a-up", "link-dots", "slashes"]
)
def test_paths_of_many_components_as_realpath(tmp_path: Path, inner: str) -> None:
    # A foreign parquet may hold such an href (or item id): realpath answers it, so must RealPaths.
    _tree(tmp_path, 0)
    path = f"{tmp_path}/{inner}f"
    assert RealPaths().resolve(path) == os.path.realpath(path)
    assert RealPaths().existing_file(path) == (os.path.realpath(path) if os.path.isfile(path) else None)
