"""Stage 74: the cube item's start/end_datetime span every acquisition, from either writer. An item with a
datetime only still counts, and times are ordered as times, not as text (``...:04Z`` is before ``...:04.5Z``,
and ``+02:00`` is two hours before ``Z``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pystac
import pytest

from icecube_stac.config import load_config
from icecube_stac.cube._build import cube_of_plan
from icecube_stac.cube._direct import write_plan
from icecube_stac.cube._plan import plan_cube
from icecube_stac.output import write_cube
from tests._cube_stacks import item_of, make_product


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> list[pystac.Item]:
    folder = tmp_path_factory.mktemp("item-times")
    return [item_of(make_product(folder, day=day, shape=(20, 12), seed=day)) for day in (2, 5, 9)]


def _span(items: list[pystac.Item], tmp_path: Path) -> list[tuple[Any, Any]]:
    """The (start, end) of the cube item written by the direct writer and by write_cube."""
    plan = plan_cube(items, config=load_config({}))
    write_plan(plan, tmp_path / "d.zarr")
    write_cube(cube_of_plan(plan), tmp_path / "x.zarr")
    spans = []
    for name in ("d", "x"):
        properties = json.loads((tmp_path / f"{name}.zarr.json").read_text())["properties"]
        spans.append((properties["start_datetime"], properties["end_datetime"]))
    return spans


def test_an_item_with_a_datetime_only_is_in_the_span(items: list[pystac.Item], tmp_path: Path) -> None:
    first, middle, last = (item.clone() for item in items)
    for item in (first, last):  # the first and last acquisitions say when they were, with no start/end
        del item.properties["start_datetime"], item.properties["end_datetime"]
    expected = tuple(item.to_dict()["properties"]["datetime"] for item in (first, last))
    assert all(expected)
    assert _span([first, middle, last], tmp_path) == [expected, expected]


def test_times_are_ordered_as_times_not_as_text(items: list[pystac.Item], tmp_path: Path) -> None:
    first, later = items[0].clone(), items[1].clone()
    first.properties["start_datetime"] = "2024-03-02T05:00:04+02:00"  # 03:00:04Z
    later.properties["start_datetime"] = "2024-03-02T03:00:04.5Z"  # later, but "." sorts before "+" and "Z"
    first.properties["end_datetime"] = "2024-03-05T04:00:09Z"
    later.properties["end_datetime"] = "2024-03-05T04:00:09.25Z"  # the last end, though it sorts first as text
    expected = ("2024-03-02T05:00:04+02:00", "2024-03-05T04:00:09.25Z")
    assert _span([first, later], tmp_path) == [expected, expected]
