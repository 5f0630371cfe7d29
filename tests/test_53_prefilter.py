"""Stage 53: the coarse datetime prefilter of the search body never drops what the date rule selects."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from icecube_stac._parquet import write_parquet
from icecube_stac.config import load_config
from icecube_stac.search import LocalCatalog, search, to_search_body
from icecube_stac.stac import item_from_product
from tests._cube_stacks import make_product


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A month-long acquisition (like icecube's fake fixtures): it ends on 2024-03-02 but its start and its
    # midpoint lie weeks before; and an ordinary one on 2024-03-20.
    root = tmp_path_factory.mktemp("prefilter")
    items = []
    for day, seed in ((2, 1), (20, 2)):
        item = item_from_product(make_product(root / "data", day=day, seed=seed).raster).to_dict()
        items.append(item)
    long_item = items[0]
    end = datetime.fromisoformat(long_item["properties"]["end_datetime"].replace("Z", "+00:00"))
    start = end - timedelta(days=30)
    long_item["properties"].update(start_datetime=_iso(start), datetime=_iso(start + (end - start) / 2))
    (root / "catalog").mkdir()
    write_parquet(root / "catalog" / "items.parquet", items)
    (root / "catalog" / "catalog.json").write_text(json.dumps({"type": "Catalog"}))
    return root / "catalog"


def test_a_long_acquisition_ending_in_the_window_is_found(catalog: Path) -> None:
    config = load_config({"start_date": 20240302, "end_date": 20240305, "catalog": str(catalog)})
    body = to_search_body(config)
    assert body["datetime"].startswith("../")  # bounded above only: every item time is <= its end
    found = search(config)
    assert len(found) == 1 and found[0].properties["end_datetime"].startswith("2024-03-02")
    later = load_config({"start_date": 20240310, "end_date": 20240331, "catalog": str(catalog)})
    assert [i.properties["end_datetime"][:10] for i in search(later)] == ["2024-03-20"]
    assert len(LocalCatalog(catalog).search(to_search_body(load_config({"end_date": 20240301})))) == 0
