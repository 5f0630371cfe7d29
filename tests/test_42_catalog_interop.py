"""Stage 42: what other tools read — items.parquet on its own, offline validation of anything, stac-validator."""

from __future__ import annotations

import json
import shutil
import socket
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import stac_geoparquet.arrow

from icecube_stac.catalog import index
from icecube_stac.errors import CatalogError
from icecube_stac.stac import schema_map_file, stac_validator_schema_map, validate_path
from icecube_stac.testing import ProductSpec, write_product
from icecube_stac.vocabulary import PARQUET_TYPE, resolve_href


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder: data/ (GRD with quicklook, spec 2.4, and SLC) and catalogs/c indexed from it."""
    root = tmp_path_factory.mktemp("project")
    for i, level in enumerate(("GRD", "GRD", "SLC")):
        spec = ProductSpec(
            level=level,  # type: ignore[arg-type]
            image_id=840000 + i,
            acquisition_start=datetime(2024, 7, 1) + timedelta(days=i),
            spec_version="2.4" if i == 0 else "2.3",
            quicklook=level == "GRD",
            seed=i,
        )
        write_product(spec, root / "data" / f"p{i}")
    assert index([root / "data"], root / "catalogs" / "c").ok
    return root


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def _parquet_items(parquet: Path) -> list[dict[str, object]]:
    return list(stac_geoparquet.arrow.stac_table_to_items(pq.read_table(parquet)))


# --------------------------------------------------------------------------- B7: the parquet stands on its own


def test_parquet_hrefs_resolve_from_the_parquet_folder(project: Path, tmp_path: Path) -> None:
    catalog = project / "catalogs" / "c"
    parquet = catalog / "items.parquet"
    rows = _parquet_items(parquet)
    assert len(rows) == 3
    for row in rows:
        for asset in row["assets"].values():  # type: ignore[attr-defined]
            href = asset["href"]
            assert not Path(href).is_absolute()
            assert Path(resolve_href(href, parquet.parent)).is_file(), href  # from the parquet's folder
        links = {link["rel"]: link["href"] for link in row["links"]}  # type: ignore[attr-defined]
        assert (parquet.parent / links["alternate"]).is_file()  # each row links its item's JSON file
        assert (parquet.parent / links["collection"]).resolve() == (catalog / row["collection"] / "collection.json")  # type: ignore[operator]
    # The collections travel inside the file (stac-geoparquet metadata).
    meta = json.loads(pq.read_schema(parquet).metadata[b"stac-geoparquet"])
    assert sorted(meta["collections"]) == ["iceye-grd", "iceye-slc"]
    # The project moved elsewhere: the parquet still resolves its data.
    moved = tmp_path / "moved"
    shutil.copytree(project, moved)
    row = _parquet_items(moved / "catalogs" / "c" / "items.parquet")[0]
    href = row["assets"]["data"]["href"]  # type: ignore[index]
    assert Path(resolve_href(href, moved / "catalogs" / "c")).is_file()


def test_absolute_hrefs_catalog_has_absolute_parquet_hrefs(project: Path, tmp_path: Path) -> None:
    index([project / "data"], tmp_path / "abs", asset_hrefs="absolute")
    for row in _parquet_items(tmp_path / "abs" / "items.parquet"):
        assert all(Path(a["href"]).is_file() for a in row["assets"].values())  # type: ignore[attr-defined]


def test_catalog_and_collections_link_the_parquet(project: Path) -> None:
    catalog = project / "catalogs" / "c"
    documents = [catalog / "catalog.json", *sorted(catalog.glob("*/collection.json"))]
    for path in documents:
        (link,) = [x for x in json.loads(path.read_text())["links"] if x.get("type") == PARQUET_TYPE]
        assert link["rel"] == "alternate" and link["title"]
        assert (path.parent / link["href"]).resolve() == catalog / "items.parquet"


# --------------------------------------------------------------------------- B8: validate anything, offline


def test_validate_path_checks_every_object(project: Path, no_network: None) -> None:
    catalog = project / "catalogs" / "c"
    checked = validate_path(catalog)
    names = [c.name for c in checked]
    assert sum(name.endswith(".json") for name in names) == 1 + 2 + 3  # catalog, collections, items
    assert sum(" row " in name for name in names) == 3 and str(catalog / "items.parquet") in names
    assert all(c.ok for c in checked), [c for c in checked if not c.ok]
    item = next(catalog.glob("iceye-grd/items/*.json"))
    assert [c.ok for c in validate_path(item)] == [True]
    assert len(validate_path(catalog / "iceye-grd" / "collection.json")) == 1 + 2
    assert len(validate_path(catalog / "items.parquet")) == 1 + 3


def test_validate_path_names_each_failure(project: Path, tmp_path: Path, no_network: None) -> None:
    catalog = tmp_path / "c"
    shutil.copytree(project / "catalogs" / "c", catalog)
    bad_item = sorted(catalog.glob("iceye-grd/items/*.json"))[0]
    data = json.loads(bad_item.read_text())
    data["properties"]["sar:looks_range"] = 1.5
    data["properties"]["view:incidence_angle"] = 95
    bad_item.write_text(json.dumps(data))
    collection = catalog / "iceye-slc" / "collection.json"
    data = json.loads(collection.read_text())
    data["links"].append({"rel": "item", "href": "../../../../../etc/passwd"})
    data["links"].append({"rel": "child", "href": "../catalog.json"})
    collection.write_text(json.dumps(data))
    (next(catalog.glob("iceye-slc/items/*.json"))).unlink()
    failures = {c.name: c.problems for c in validate_path(catalog) if not c.ok}
    item_problems = " ".join(failures[str(bad_item)])
    assert "sar:looks_range" in item_problems and "view:incidence_angle" in item_problems
    collection_problems = " ".join(failures[str(collection.resolve())])
    assert "leads outside the catalog folder" in collection_problems
    assert "link loop" in collection_problems and "does not exist" in collection_problems
    parquet_problems = " ".join(failures[str(catalog / "items.parquet")])
    assert "out of sync" in parquet_problems
    with pytest.raises(CatalogError, match="nothing to validate"):
        validate_path(tmp_path)


# stac-validator 4.1.2 is a shim over stac_valid 4.2, which provides the same stac_validator module.
@pytest.mark.filterwarnings("ignore:The 'stac_validator' package has been deprecated:DeprecationWarning")
def test_stac_validator_validates_the_catalog_offline_with_the_schema_map(project: Path, no_network: None) -> None:
    from stac_validator.validate import StacValidate

    catalog = project / "catalogs" / "c" / "catalog.json"
    run = StacValidate(str(catalog), recursive=True, schema_config=str(schema_map_file()))
    assert run.run(), run.message
    assert len(run.message) == 1 + 2 + 3 and all(m["valid_stac"] for m in run.message)
    # The same through the Python map (absolute paths); a broken item is caught, still offline.
    item = next((project / "catalogs" / "c").glob("iceye-grd/items/*.json"))
    single = StacValidate(str(item), schema_map=stac_validator_schema_map())
    assert single.run(), single.message
    broken = json.loads(item.read_text())
    broken["properties"]["sar:observation_direction"] = "up"
    (tmp := project / "broken.json").write_text(json.dumps(broken))
    failing = StacValidate(str(tmp), schema_map=stac_validator_schema_map())
    assert not failing.run() and "observation_direction" in json.dumps(failing.message)
    tmp.unlink()


@pytest.mark.parametrize("engine", ["fastjsonschema", "jsonschema"])
def test_validation_never_changes_the_document_and_both_engines_agree(
    project: Path, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import copy

    from icecube_stac import _validation

    if engine == "jsonschema":
        monkeypatch.setattr(_validation, "_fast", lambda uri: None)
    else:
        import fastjsonschema  # noqa: F401  (a dependency: the fast path must be the one tested here)

        assert _validation._fast(_validation.SCHEMA_URIS["sar"]) is not None
    for path in sorted((project / "catalogs" / "c").rglob("*.json")):
        if path.name == ".icecube-index.json":
            continue
        document = json.loads(path.read_text())
        before = copy.deepcopy(document)
        assert _validation.problems(document) == [], path
        assert document == before, f"validation changed {path}"  # no schema default written into it
    item = json.loads(next((project / "catalogs" / "c").glob("iceye-grd/items/*.json")).read_text())
    item["properties"]["sar:looks_range"] = 1.5
    item["properties"]["view:incidence_angle"] = 91
    found = " ".join(_validation.problems(item))
    assert "sar:looks_range" in found and "view:incidence_angle" in found
