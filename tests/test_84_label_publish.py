"""Label items reach a real STAC API: ``publish`` loads the labels collection into pgstac with the products."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pystac_client import Client

from icecube_stac import index, load_config, load_cube, search
from icecube_stac.labels import read_labels
from icecube_stac.publish import publish
from tests._cube_stacks import make_product
from tests.support.pgstac_server import pgstac_api

pytestmark = pytest.mark.filterwarnings("ignore:Server does not conform to SORT")


def test_publish_loads_label_items_and_their_source_links(tmp_path: Path, pgstac_requirements: None) -> None:
    products = [make_product(tmp_path / "data", day=k + 1, seed=k) for k in range(2)]
    labels = [{"product_file": products[1].raster.name, "labels": {"objects": [{"class": "ship", "point": [3, 4]}]}}]
    (tmp_path / "labels.json").write_text(json.dumps(labels))
    index([tmp_path / "data"], tmp_path / "cat", labels=tmp_path / "labels.json")
    with pgstac_api() as api:
        report = publish(tmp_path / "cat", api.dsn)
        assert report.to_dict()["items"] == 3
        client = Client.open(api.url)
        assert {c.id for c in client.get_collections()} == {"iceye-grd", "labels"}
        (item,) = client.search(collections=["labels"]).items()
        assert item.id == f"{products[1].name}-labels"
        assert item.properties["label:type"] == "vector"
        source = next(link for link in item.links if link.rel == "source")
        assert source.extra_fields["label:assets"] == ["data"]
        assert source.href.endswith(f"iceye-grd/items/{products[1].name}.json")
        # pgstac derives an end_datetime from the label item's datetime, so a date filter alone would match
        # it there; searches and cubes select products only, and labelled: true the labelled product.
        config = load_config({"catalog": api.url, "start_date": 20240101})
        assert [i.id for i in search(config)] == [p.name for p in products]
        labelled = config.replace(labelled=True, max_items=1)
        assert [i.id for i in search(labelled, labels=read_labels(tmp_path / "labels.json"))] == [products[1].name]
        cube = load_cube(config, labels=tmp_path / "labels.json")
        assert [str(v) for v in cube["id"].values] == [p.name for p in products]
        assert cube["labelled"].values.tolist() == [False, True] and cube["labels"].values[1, 4, 3] == 1
