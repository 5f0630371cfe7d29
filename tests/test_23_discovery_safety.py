"""Discovery never leaves the input folders, never hangs on links, and refuses names that are not UTF-8.

A link to ``/usr`` in an input folder made an index run walk all of ``/usr``; a file named with a byte
that is not UTF-8 (``b'\\xff'``, which Python maps to a lone surrogate) passed every check and made the
catalog writer fail with ``UnicodeEncodeError ... surrogates not allowed``, losing every good product of
the run. Now: folder links are not followed (those leaving the input folders are reported), file links
are products like files, and such names are failures that name the file with its bytes escaped.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from icecube_stac._discovery import discover_products
from icecube_stac.catalog import index, read_items
from icecube_stac.errors import UnsupportedProductError
from icecube_stac.formats import printable_path, read_metadata
from icecube_stac.stac import item_from_product
from icecube_stac.testing import GeneratedProduct, ProductSpec, write_product


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> GeneratedProduct:
    spec = ProductSpec(level="GRD", image_id=230101, shape=(16, 12), seed=8)
    return write_product(spec, tmp_path_factory.mktemp("discovery") / "p")


def _copy(product: GeneratedProduct, folder: Path, stem: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    raster = Path(shutil.copy2(product.raster, folder / f"{stem or product.name}.tif"))
    assert product.xml is not None
    shutil.copy2(product.xml, raster.with_suffix(".xml"))
    return raster


def _non_utf8(name: str) -> str:
    return os.fsdecode(os.fsencode(name) + b"\xff")


def test_printable_path_escapes_bytes_that_are_not_utf8_and_control_characters() -> None:
    assert printable_path(_non_utf8("/data/ICEYE")) == "/data/ICEYE\\xff"
    assert printable_path("/data/a\nb\tc") == "/data/a\\nb\\tc"
    assert printable_path("/data/caf\u00e9") == "/data/caf\u00e9"


@pytest.mark.parametrize("where", ["file", "folder"])
def test_a_name_that_is_not_utf8_is_a_failure_and_every_good_product_is_indexed(
    product: GeneratedProduct, tmp_path: Path, where: str
) -> None:
    data = tmp_path / "data"
    good = _copy(product, data / "good")
    if where == "file":
        bad = _copy(product, data / "bad", _non_utf8(product.name))  # its sidecar has the same name
    else:
        bad = _copy(product, data / _non_utf8("bad"))
    report = index([data], tmp_path / "catalog")
    assert report.added == [good.stem], report.summary()
    (failure,) = report.failures
    assert failure.path == printable_path(bad)
    assert "not valid UTF-8" in failure.reason
    report.summary().encode("utf-8")  # printable: the CLI can show it
    assert [item.id for item in read_items(tmp_path / "catalog")] == [good.stem]


@pytest.mark.parametrize("character", ["\n", "\t", "\x85", "\x7f"])
def test_a_name_with_control_characters_is_a_failure_shown_on_one_line(
    product: GeneratedProduct, tmp_path: Path, character: str
) -> None:
    data = tmp_path / "data"
    good = _copy(product, data / "good")
    bad = _copy(product, data / "bad", f"{product.name}{character}x")  # was: an item that does not validate
    report = index([data], tmp_path / "catalog")
    assert report.added == [good.stem], report.summary()
    (failure,) = report.failures
    assert failure.path == printable_path(bad) and "\n" not in failure.path and character not in failure.path
    assert "control characters" in failure.reason


def test_reading_a_product_whose_name_is_not_utf8_names_the_file(product: GeneratedProduct, tmp_path: Path) -> None:
    raster = _copy(product, tmp_path, _non_utf8(product.name))
    for read in (read_metadata, item_from_product):
        with pytest.raises(UnsupportedProductError, match=r"not valid UTF-8") as err:
            read(raster)
        assert err.value.source == printable_path(raster)


def test_a_link_to_a_file_with_a_name_that_is_not_utf8_is_refused(product: GeneratedProduct, tmp_path: Path) -> None:
    target = _copy(product, tmp_path / "archive", _non_utf8("x"))
    link = tmp_path / "data" / f"{product.name}.tif"
    link.parent.mkdir()
    link.symlink_to(target)  # the link's name is fine, the asset href (the resolved target) would not be
    _, failures = discover_products([link.parent])
    assert [f.path for f in failures] == [str(link)] and "not valid UTF-8" in failures[0].reason


def test_a_link_to_a_folder_outside_the_inputs_is_reported_not_followed(
    product: GeneratedProduct, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    _copy(product, outside)
    data = tmp_path / "data"
    data.mkdir()
    (data / "usr").symlink_to("/usr", target_is_directory=True)  # was: walk all of /usr
    (data / "proc").symlink_to("/proc/self", target_is_directory=True)  # /proc/self/root is /
    (data / "out").symlink_to(outside, target_is_directory=True)
    products, failures = discover_products([data])
    assert products == []
    reasons = {Path(f.path).name: f.reason for f in failures}
    assert sorted(reasons) == ["out", "proc", "usr"]
    assert "outside the input folders (/usr) is not followed" in reasons["usr"]
    assert str(outside) in reasons["out"]


def test_links_inside_the_inputs_and_loops_add_nothing_and_never_hang(
    product: GeneratedProduct, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    raster = _copy(product, data / "real")
    (data / "again").symlink_to(data / "real", target_is_directory=True)
    (data / "loop").symlink_to(data, target_is_directory=True)
    (data / "a").symlink_to(data / "b")
    (data / "b").symlink_to(data / "a")
    (data / "self.xml").symlink_to(data / "self.xml")
    products, failures = discover_products([data])
    assert [p.raster for p in products] == [raster]
    assert [Path(f.path).name for f in failures] == ["self.xml"]  # a link loop named like a product


def test_a_folder_link_to_another_input_folder_is_silent(product: GeneratedProduct, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    raster = _copy(product, second)
    first.mkdir()
    (first / "to_second").symlink_to(second, target_is_directory=True)
    products, failures = discover_products([first, second])
    assert [p.raster for p in products] == [raster] and failures == []


def test_a_link_to_a_product_file_elsewhere_is_indexed(product: GeneratedProduct, tmp_path: Path) -> None:
    archive = _copy(product, tmp_path / "archive")
    data = tmp_path / "data"
    data.mkdir()
    for path in (archive, archive.with_suffix(".xml")):
        (data / path.name).symlink_to(path)
    report = index([data], tmp_path / "catalog")
    assert report.ok and report.added == [product.name], report.summary()
    (item,) = read_items(tmp_path / "catalog")
    assert Path(item.assets["data"].href) == archive.resolve()  # the href is the file itself


@pytest.mark.parametrize("special", ["fifo", "device"])
def test_fifos_and_devices_named_like_products_are_failures_without_blocking(
    product: GeneratedProduct, tmp_path: Path, special: str
) -> None:
    data = tmp_path / "data"
    raster = _copy(product, data)
    sidecar = raster.with_suffix(".xml")
    sidecar.unlink()
    if special == "fifo":
        os.mkfifo(sidecar)  # a FIFO sidecar is not a sidecar: the raster's own metadata are used
    else:
        sidecar.symlink_to("/dev/zero")
    (data / "ICEYE_X7_GRD_SM_1_20240101T000000.xml").symlink_to("/dev/zero")
    products, failures = discover_products([data])
    assert [(p.raster, p.xml) for p in products] == [(raster, None)]
    assert sorted(Path(f.path).name for f in failures) == ["ICEYE_X7_GRD_SM_1_20240101T000000.xml", sidecar.name]
