"""Training batches: aligned (image, label) patches from labelled cubes, no-leak splits, workers, xbatcher, example."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import zarr
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader

from icecube_stac import build_cube, open_cube, write_cube
from icecube_stac.labels import attach_labels, read_labels
from icecube_stac.ml import (
    BatchError,
    PatchDataset,
    PatchIterableDataset,
    PatchSpec,
    patch_index,
    split_index,
    xbatcher_generator,
)
from tests._cube_stacks import item_of, make_product

SHAPE = (64, 48)
CHUNKS = {"azimuth": 32, "range": 24}


def _labelled_cube(tmp_path: Path, level: str = "GRD", n: int = 4) -> tuple[Path, Any]:
    products = [make_product(tmp_path / "data", level=level, day=k + 1, seed=k) for k in range(n)]
    rng = np.random.default_rng(1)
    entries = []
    for k, p in enumerate(products):
        if k == 1:
            continue  # one unlabelled slice
        boxes = []
        for _ in range(6):
            x0, y0 = int(rng.integers(0, SHAPE[1] - 8)), int(rng.integers(0, SHAPE[0] - 8))
            boxes.append(
                {"class": f"c{int(rng.integers(3))}", "bbox": {"xmin": x0, "ymin": y0, "xmax": x0 + 7, "ymax": y0 + 5}}
            )
        entries.append({"product_file": p.raster.name, "labels": {"objects": boxes}})
    (tmp_path / "labels.json").write_text(json.dumps(entries))
    ds = attach_labels(build_cube([item_of(p) for p in products], chunks=CHUNKS), read_labels(tmp_path / "labels.json"))
    return write_cube(ds, tmp_path / "cube.zarr"), ds


@pytest.fixture(scope="module")
def grd(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    return _labelled_cube(tmp_path_factory.mktemp("grd"))


def test_patches_are_the_cube_windows_aligned_with_their_labels(grd: tuple[Path, Any]) -> None:
    path, _ = grd
    spec = PatchSpec(size=(16, 12), stride=(8, 12), time_window=2)
    data = PatchDataset(path, spec)
    store = zarr.open_group(str(path), mode="r")
    dn, labels, labelled = store["amplitude"][:], store["labels"][:], store["labelled"][:]
    assert {int(t) for t in data.index[:, 0]} == {t for t in range(1, 4) if labelled[t]}  # last slice labelled
    assert len(data) == len({tuple(v) for v in data.index})
    for i in range(0, len(data), 7):
        t, r, c = (int(v) for v in data.index[i])
        image, label = data[i]
        assert image.dtype == torch.float32 and image.shape == (2, 16, 12) and label.dtype == torch.int64
        expected = dn[t - 1 : t + 1, r : r + 16, c : c + 12].astype(np.float32)  # legacy GRD: amplitude = DN
        np.testing.assert_array_equal(image.numpy(), np.where(expected == 0, 0, expected))
        np.testing.assert_array_equal(label.numpy(), labels[t, r : r + 16, c : c + 12])


def test_db_channel_matches_the_calibration_helpers_and_sources_agree(grd: tuple[Path, Any]) -> None:
    path, built = grd
    spec = PatchSpec(size=(32, 24), channels="db", normalise=(-10.0, 4.0), nan_value=-99.0)
    from_zarr, from_memory, from_netcdf = PatchDataset(path, spec), PatchDataset(built, spec), None
    write_cube(built, path.with_suffix(".nc"))
    from_netcdf = PatchDataset(path.with_suffix(".nc"), spec)
    cube = open_cube(path)
    reference = ((cube.iceye.to_db(cube.iceye.sigma0()) - -10.0) / 4.0).fillna(-99.0).values
    for i in range(len(from_zarr)):
        t, r, c = (int(v) for v in from_zarr.index[i])
        image = from_zarr[i][0].numpy()[0]
        np.testing.assert_allclose(image, reference[t, r : r + 32, c : c + 24], rtol=1e-5, atol=1e-4)
        for other in (from_memory, from_netcdf):
            np.testing.assert_allclose(other[i][0].numpy(), from_zarr[i][0].numpy(), rtol=1e-6)
            np.testing.assert_array_equal(other[i][1].numpy(), from_zarr[i][1].numpy())


def test_iterable_dataset_with_two_workers_yields_every_patch_once(grd: tuple[Path, Any]) -> None:
    path, _ = grd
    spec = PatchSpec(size=(16, 12), stride=(16, 12))
    reference = PatchDataset(path, spec)
    expected = sorted(bytes(reference[i][0].numpy()) + bytes(reference[i][1].numpy()) for i in range(len(reference)))
    for dataset in (PatchIterableDataset(path, spec), reference):
        seen = []
        for images, labels in DataLoader(dataset, batch_size=5, num_workers=2):
            seen += [bytes(im.numpy()) + bytes(lb.numpy()) for im, lb in zip(images, labels, strict=True)]
        assert sorted(seen) == expected


@pytest.mark.parametrize("split_by", ["time", "space"])
def test_train_and_validation_never_share_a_pixel(grd: tuple[Path, Any], split_by: str) -> None:
    path, _ = grd
    spec = PatchSpec(size=(16, 12), stride=(8, 6), time_window=2, labelled_only=False)
    train = PatchDataset(path, spec, subset="train", split_by=split_by, validation_fraction=0.5)  # type: ignore[arg-type]
    validation = PatchDataset(path, spec, subset="validation", split_by=split_by, validation_fraction=0.5)  # type: ignore[arg-type]
    assert len(train) and len(validation)

    def footprint(index: np.ndarray) -> np.ndarray:
        mask = np.zeros((4, *SHAPE), bool)
        for t, r, c in index:
            mask[t - 1 : t + 1, r : r + 16, c : c + 12] = True
        return mask

    a, b = footprint(train.index), footprint(validation.index)
    assert not (a & b).any()  # no (time, pixel) sample in both sets
    if split_by == "space":
        assert not (a.any(axis=0) & b.any(axis=0)).any()  # not even the same pixel at another time
    else:
        assert not (a.any(axis=(1, 2)) & b.any(axis=(1, 2))).any()


def test_slc_channels(tmp_path: Path) -> None:
    path, _ = _labelled_cube(tmp_path, "SLC", n=2)
    store = zarr.open_group(str(path), mode="r")
    slc = store["slc_real"][:].astype(np.float32) + 1j * store["slc_imag"][:].astype(np.float32)
    for channels, parts in (("real_imag", (slc.real, slc.imag)), ("amplitude_phase", (np.abs(slc), np.angle(slc)))):
        data = PatchDataset(path, PatchSpec(size=(32, 24), channels=channels))  # type: ignore[arg-type]
        t, r, c = (int(v) for v in data.index[0])
        image = data[0][0].numpy()
        for k, part in enumerate(parts):
            np.testing.assert_allclose(image[k], part[t, r : r + 32, c : c + 24], rtol=1e-6)
    with pytest.raises(BatchError, match="'amplitude' for a SLC cube"):
        PatchDataset(path, PatchSpec(size=(32, 24), channels="amplitude"))


def test_bad_specs_and_cubes_are_refused(grd: tuple[Path, Any], tmp_path: Path) -> None:
    path, built = grd
    with pytest.raises(BatchError, match="real_imag"):
        PatchDataset(path, PatchSpec(size=(16, 16), channels="real_imag"))
    with pytest.raises(BatchError, match="larger than the cube"):
        PatchDataset(path, PatchSpec(size=(128, 16)))
    with pytest.raises(BatchError, match="no labels variable"):
        PatchDataset(built.drop_vars(["labels"]), PatchSpec(size=(16, 16)))
    with pytest.raises(BatchError, match="patch size"):
        PatchSpec(size=(0, 16))
    with pytest.raises(BatchError, match="fraction"):
        PatchDataset(path, PatchSpec(size=(16, 16)), subset="train", validation_fraction=1.5)


def test_xbatcher_generator_batches_are_aligned(grd: tuple[Path, Any]) -> None:
    path, _ = grd
    cube = open_cube(path)
    batches = list(xbatcher_generator(cube, PatchSpec(size=(32, 24))))
    assert len(batches) == 4 * 2 * 2
    for batch in batches:
        region = cube.sel(time=batch["time"], azimuth=batch["azimuth"], range=batch["range"])
        np.testing.assert_array_equal(batch["labels"].values, region["labels"].values)
        np.testing.assert_array_equal(batch["amplitude"].values, region["amplitude"].values)


def test_example_trains_a_model_on_the_demo_stack(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "train_segmentation", Path(__file__).parent.parent / "examples" / "train_segmentation.py"
    )
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    metrics = example.main(["--workdir", str(tmp_path), "--steps", "60"])
    assert metrics["last_loss"] < 0.6 * metrics["first_loss"]
    assert metrics["validation_accuracy"] > 0.85  # above the 0.80 of predicting background everywhere
    assert metrics["train_patches"] and metrics["validation_patches"]


def test_dataset_from_a_config(tmp_path: Path) -> None:
    from icecube_stac import index, load_config

    _, _ = _labelled_cube(tmp_path, n=3)
    index([tmp_path / "data"], tmp_path / "cat")
    config = load_config(
        {"catalog": str(tmp_path / "cat"), "start_date": 20240101, "labels": str(tmp_path / "labels.json")}
    )
    data = PatchDataset.from_config(config, PatchSpec(size=(32, 24)))
    reference = PatchDataset(tmp_path / "cube.zarr", PatchSpec(size=(32, 24)))
    assert data.index.tolist() == reference.index.tolist()
    for i in range(len(data)):
        np.testing.assert_array_equal(data[i][0].numpy(), reference[i][0].numpy())
        np.testing.assert_array_equal(data[i][1].numpy(), reference[i][1].numpy())


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"size": 5}, "size"),  # refused, not read as a square: PatchSpec fields are typed tuples
        ({"size": (16.0, 16)}, "size"),
        ({"size": (True, 16)}, "size"),
        ({"stride": "ab"}, "stride"),
        ({"stride": 3}, "stride"),
        ({"time_window": True}, "time_window"),
        ({"time_window": 2.0}, "time_window"),
        ({"channels": ["a"]}, "channels"),
        ({"channels": "rgb"}, "channels"),
        ({"normalise": 5}, "normalise"),
        ({"normalise": (0, "x")}, "normalise"),
        ({"normalise": (0, 1, 2)}, "normalise"),
        ({"normalise": (math.nan, 1)}, "normalise"),
        ({"normalise": (0, math.inf)}, "normalise"),
        ({"normalise": (0, 0)}, "normalise"),
        ({"normalise": (0, True)}, "normalise"),
        ({"nan_value": math.nan}, "nan_value"),
        ({"nan_value": -math.inf}, "nan_value"),
        ({"nan_value": "0"}, "nan_value"),
        ({"labelled_only": 1}, "labelled_only"),
    ],
)
def test_a_patch_spec_of_the_wrong_type_or_not_finite_is_refused(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(BatchError, match=rf"^patch {field} .*: expected "):
        PatchSpec(**kwargs)


def test_good_patch_specs_are_kept() -> None:
    spec = PatchSpec(size=(8, 4), stride=(2, 2), time_window=2, normalise=(np.float32(1.5), 2), nan_value=-1)
    assert spec.step == (2, 2) and spec.n_channels == 2 and spec.normalise == (1.5, 2.0)


def test_the_patch_index_is_bounded_before_it_is_built() -> None:
    spec = PatchSpec(size=(1, 1), stride=(1, 1))
    with pytest.raises(BatchError, match=r"10,000,000,000 patches .*size \(1, 1\) and stride \(1, 1\)"):
        patch_index((1, 100_000, 100_000), spec, None, (256, 256))
    assert patch_index((2, 100, 100), PatchSpec(size=(100, 100)), [True, True], (256, 256)).tolist() == [
        [0, 0, 0],
        [1, 0, 0],
    ]


def _reference_index(shape: tuple[int, int, int], spec: PatchSpec, labelled: Any, chunks: tuple[int, int]) -> Any:
    """The patch order as first specified: time, then the chunk of the origin, then row-major origins."""
    r0 = range(0, shape[1] - spec.size[0] + 1, spec.step[0])
    c0 = range(0, shape[2] - spec.size[1] + 1, spec.step[1])
    times = [t for t in range(spec.time_window - 1, shape[0]) if labelled is None or labelled[t]]
    origins = sorted(((r, c) for r in r0 for c in c0), key=lambda rc: (rc[0] // chunks[0], rc[1] // chunks[1]))
    return [[t, r, c] for t in times for r, c in origins]


@settings(max_examples=100, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 4), st.integers(1, 40), st.integers(1, 40)),
    size=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    stride=st.none() | st.tuples(st.integers(1, 9), st.integers(1, 9)),
    window=st.integers(1, 3),
    chunks=st.tuples(st.integers(1, 16), st.integers(1, 16)),
    data=st.data(),
)
def test_the_patch_index_is_every_window_in_chunk_order(
    shape: tuple[int, int, int],
    size: tuple[int, int],
    stride: tuple[int, int] | None,
    window: int,
    chunks: tuple[int, int],
    data: st.DataObject,
) -> None:
    assume(size[0] <= shape[1] and size[1] <= shape[2] and window <= shape[0])
    labelled = data.draw(st.none() | st.lists(st.booleans(), min_size=shape[0], max_size=shape[0]))
    spec = PatchSpec(size=size, stride=stride, time_window=window)
    got = patch_index(shape, spec, labelled, chunks)
    assert got.dtype == np.int64 and got.shape[1] == 3
    assert got.tolist() == _reference_index(shape, spec, labelled, chunks)


@pytest.mark.parametrize("fraction", ["x", None, [0.5], True, False, math.nan, 0, 1, -0.1, 1.5])
def test_a_split_fraction_is_a_real_number_between_0_and_1(fraction: Any) -> None:
    spec = PatchSpec(size=(16, 16))
    everything = patch_index((4, 32, 32), spec, None, (16, 16))
    with pytest.raises(BatchError, match=r"validation fraction .*: expected a number between 0 and 1 \(exclusive\)"):
        split_index(everything, spec, (4, 32, 32), "train", "time", fraction)
    assert len(split_index(everything, spec, (4, 32, 32), "validation", "time", np.float64(0.25))) == 4
