"""Stage 44: the fast paths that make indexing quick give the same results as the exact, slower ones.

Discovery from folder listings equals looking every file up; a no-op re-index reads no item file; the
long-lived HDF5 reader child keeps the isolation of one child per file (time limit, crash, fresh state
after a failure, one child per process); the default worker count follows the machine.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta
from multiprocessing.context import BaseContext
from pathlib import Path

import pytest

from icecube_stac import _index_read
from icecube_stac import catalog as catalog_module
from icecube_stac._catalog_files import ExistingCatalog
from icecube_stac._discovery import discover_products
from icecube_stac._item_document import ItemDocument
from icecube_stac.catalog import index, read_items
from icecube_stac.errors import CatalogError, MetadataError
from icecube_stac.formats._isolated import isolated
from icecube_stac.testing import ProductSpec, write_product
from icecube_stac.testing.cog import CogProductSpec, write_cog_product


def _spec(i: int, level: str = "GRD", **changes: object) -> ProductSpec:
    spec = ProductSpec(
        level=level,  # type: ignore[arg-type]
        image_id=800000 + i,
        acquisition_start=datetime(2024, 5, 1, 6, 0, 0) + timedelta(days=i),
        seed=i,
    )
    return ProductSpec(**{**spec.__dict__, **changes})


def test_discovery_from_listings_equals_looking_every_file_up(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_product(_spec(0, quicklook=True), data / "a")
    slc = write_product(_spec(1, "SLC"), data / "a")  # two products in one folder
    upper = write_product(_spec(2), data / "b")
    assert upper.xml is not None
    upper.xml.rename(upper.xml.with_suffix(".XML"))  # an upper-case sidecar suffix
    orphan = write_product(_spec(3), data / "c")
    orphan.raster.unlink()  # an XML whose raster is missing
    linked = write_product(_spec(4), tmp_path / "archive")
    (data / "d").mkdir()
    for path in (linked.raster, linked.xml):
        assert path is not None
        (data / "d" / path.name).symlink_to(path)  # a product made of links into an archive
    write_cog_product(CogProductSpec(level="GRD", shape=(40, 30)), data / "e")
    write_cog_product(CogProductSpec(level="GRD", shape=(40, 30), with_sidecar=False, image_id=7010716), data / "f")
    (data / "g").mkdir()
    (data / "g" / "dangling.tif").symlink_to(tmp_path / "nowhere.tif")
    listed, listed_failures = discover_products([data])
    files = sorted(p for p in data.rglob("*") if p.suffix.lower() in {".tif", ".xml", ".h5", ".json"})
    given, given_failures = discover_products([p for p in files if p.is_file()])
    assert listed == given
    assert len(listed) == 7 and slc.raster in {p.raster for p in listed}
    assert [f.path for f in listed_failures] == [str(data / "g" / "dangling.tif")]
    assert given_failures == []


def test_a_no_op_reindex_reads_no_item_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    products = [write_product(_spec(i), data / str(i)) for i in range(3)]
    catalog = tmp_path / "catalog"
    index([data], catalog)
    loads: list[Path] = []
    original = ItemDocument._load

    def counted(self: ItemDocument) -> None:
        loads.append(Path(self._path))  # type: ignore[arg-type]
        original(self)

    monkeypatch.setattr(ItemDocument, "_load", counted)
    again = index([data], catalog)
    assert not again.written and len(again.unchanged) == 3 and loads == []
    # A new product needs the others' metadata (an identical copy is skipped): they are read then, once each.
    new = write_product(_spec(3), data / "3")
    assert index([data], catalog).added == [new.name]
    assert sorted(p.name for p in loads) == sorted(f"{p.name}.json" for p in products)
    assert {i.id for i in read_items(catalog)} == {p.name for p in [*products, new]}


def test_an_item_file_changed_behind_the_catalogs_back_is_read_at_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    products = [write_product(_spec(i), data / str(i)) for i in range(2)]
    catalog = tmp_path / "catalog"
    index([data], catalog)
    touched = catalog / "iceye-grd" / "items" / f"{products[0].name}.json"
    os.utime(touched, ns=(1, 1))  # another mtime: no longer the file the last run wrote
    existing = ExistingCatalog(catalog, "relative")
    assert existing.items[products[0].name]._data is not None  # read and checked now
    assert existing.items[products[1].name]._data is None  # as written: read only if needed
    touched.write_text("{not json")
    with pytest.raises(CatalogError, match="corrupt item file"):
        ExistingCatalog(catalog, "relative")
    for deep in ("[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000):
        touched.write_text(deep)  # nested beyond the JSON parser's recursion limit
        with pytest.raises(CatalogError, match=f"{touched.name}: corrupt item file"):
            ExistingCatalog(catalog, "relative")


# --- the long-lived HDF5 reader child ------------------------------------------------------------------------


def _pid(_: object) -> int:
    return os.getpid()


def _loops(_: object) -> None:
    time.sleep(60)  # as libhdf5 looping in C, where no Python timeout reaches


def _crashes(_: object) -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def _fails(path: object) -> None:
    raise MetadataError(str(path), "a corrupt container")


def test_the_reader_child_is_reused_and_replaced_after_any_failure(tmp_path: Path) -> None:
    path = tmp_path / "x.h5"
    first = isolated(_pid, path)
    assert first != os.getpid() and isolated(_pid, path) == first  # one child for many files
    with pytest.raises(MetadataError, match="a corrupt container"):
        isolated(_fails, path)
    second = isolated(_pid, path)
    assert second != first  # a failed read: the next file gets a fresh library state
    started = time.monotonic()
    with pytest.raises(MetadataError, match=r"could not be read within 1 s") as err:
        isolated(_loops, path, timeout=1.0)
    assert str(path) in str(err.value) and time.monotonic() - started < 10
    with pytest.raises(MetadataError, match=r"crashed \(signal 11\)"):
        isolated(_crashes, path)
    third = isolated(_pid, path)
    assert third not in {first, second}
    with pytest.raises(ProcessLookupError):
        os.kill(second, 0)  # the replaced children are gone (reaped), not left running


def test_a_forked_process_gets_its_own_reader_child(tmp_path: Path) -> None:
    path = tmp_path / "x.h5"
    parents = isolated(_pid, path)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.write(write, str(isolated(_pid, path)).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        childs = int(pipe.read())
    assert childs not in {parents, os.getpid(), pid}
    assert isolated(_pid, path) == parents  # the parent's child is untouched


def test_default_workers_follow_the_machine() -> None:
    assert _index_read.auto_workers(3) == 3
    expected = min(len(os.sched_getaffinity(0)), 4) if sys.platform.startswith("linux") else 1
    assert _index_read.auto_workers(None) == expected


def test_many_new_products_are_read_by_workers_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    [write_product(_spec(i, "SLC" if i % 2 else "GRD"), data / str(i)) for i in range(4)]
    monkeypatch.setattr(_index_read, "PARALLEL_THRESHOLD", 2)
    monkeypatch.setattr(catalog_module, "auto_workers", lambda workers: 2 if workers is None else workers)
    pools: list[int] = []

    def counted(max_workers: int, mp_context: BaseContext) -> ProcessPoolExecutor:
        pools.append(max_workers)
        return ProcessPoolExecutor(max_workers=max_workers, mp_context=mp_context)

    monkeypatch.setattr(_index_read, "ProcessPoolExecutor", counted)
    report = index([data], tmp_path / "catalog")
    assert report.ok and len(report.added) == 4 and pools == [2]
