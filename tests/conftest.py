"""Shared fixtures: tiny generated ICEYE products (one per edge case), the real XML, the PostgreSQL check."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from icecube_stac.testing import GeneratedProduct, ProductSpec, write_product
from tests._reference import REAL_XML
from tests.support.pgstac_server import stack_requirements_problem


@pytest.fixture(scope="session")
def real_xml() -> Path:
    if not REAL_XML.is_file():
        pytest.fail(f"the real ICEYE XML is expected at {REAL_XML}")
    return REAL_XML


@pytest.fixture(scope="session")
def product_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("products")


@pytest.fixture(scope="session")
def grd(product_dir: Path) -> GeneratedProduct:
    return write_product(ProductSpec(level="GRD", image_id=200001, quicklook=True, seed=1), product_dir / "grd")


@pytest.fixture(scope="session")
def slc(product_dir: Path) -> GeneratedProduct:
    spec = ProductSpec(
        level="SLC",
        image_id=200002,
        acquisition_start=datetime(2024, 3, 5, 6, 1, 2, 345678),
        orbit_direction="ASCENDING",
        look_side="left",
        incidence_center=31.5,
        seed=2,
    )
    return write_product(spec, product_dir / "slc")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.fixture(scope="session")
def pgstac_requirements() -> None:
    """Fail, never skip, a test that needs PostgreSQL + PostGIS + pgstac when something is not installed.

    CI installs everything (see README), so a missing piece is a broken set-up: the message names what to
    install (``apt-get install postgresql-15-postgis-3``, ``pip install -e '.[test]'``).
    """
    problem = stack_requirements_problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
