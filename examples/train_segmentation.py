"""Train a tiny segmentation model on the demo stack with generated labels, on CPU, in well under a minute.

    pip install -e '.[ml]'
    python examples/train_segmentation.py [--workdir DIR] [--steps N]

It generates the demo's GRD stack (``icecube_stac.testing.demo_specs``), indexes it, writes one mask per
product (bright targets: DN above the product's 80th percentile after a 5 × 5 mean, the kind of mask a
thresholding labeller makes), attaches them as icecube 1.x raster labels to the cube, writes the cube to Zarr,
and trains a two-layer CNN on σ0 (dB) patches with a time split, two DataLoader workers and the iterable
dataset. It prints the loss of the first and last steps and the validation pixel accuracy.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import torch
from scipy.ndimage import uniform_filter
from torch.utils.data import DataLoader

from icecube_stac import index, load_config, load_cube, write_cube
from icecube_stac.ml import PatchDataset, PatchIterableDataset, PatchSpec
from icecube_stac.testing import demo_specs, write_product


def make_labelled_cube(workdir: Path, n_products: int = 5, size: int = 128) -> Path:
    """Generate products, masks and the labelled Zarr cube; return the cube's path."""
    specs = demo_specs(n_products, 0, shape=(size, size))
    products = [write_product(spec, workdir / "data" / str(spec.image_id)) for spec in specs]
    index([workdir / "data"], workdir / "catalog")
    entries = []
    for product in products:
        with rasterio.open(product.raster) as src:
            dn = src.read(1).astype(np.float64)
        smooth = uniform_filter(dn, 5)
        mask = (smooth > np.percentile(smooth, 80)).astype(np.uint8)
        path = workdir / "masks" / f"{product.name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():  # a PNG mask has no georeferencing, on purpose
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            with rasterio.open(path, "w", driver="PNG", width=size, height=size, count=1, dtype="uint8") as dst:
                dst.write(mask, 1)
        entries.append({"product_file": product.raster.name, "labels": {"segmentation": f"masks/{path.name}"}})
    (workdir / "labels.json").write_text(json.dumps(entries, indent=2))
    config = load_config(
        {
            "catalog": str(workdir / "catalog"),
            "start_date": 20240101,
            "product_type": "GRD",
            "chunks": {"azimuth": 64, "range": 64},
        }
    )
    cube = load_cube(config, labels=workdir / "labels.json")
    return write_cube(cube, workdir / "cube.zarr", overwrite=True)


def train(cube: Path, steps: int = 60, workers: int = 2, seed: int = 0) -> dict[str, Any]:
    """Train the tiny model; return the first and last losses and the validation accuracy."""
    torch.manual_seed(seed)
    spec = PatchSpec(size=(32, 32), stride=(32, 32), channels="db", normalise=(-13.5, 8.0))
    train_set = PatchIterableDataset(cube, spec, subset="train", split_by="time", validation_fraction=0.2)
    validation = PatchDataset(cube, spec, subset="validation", split_by="time", validation_fraction=0.2)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 5, padding=2), torch.nn.ReLU(), torch.nn.Conv2d(8, 2, 1))
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    loss_fn = torch.nn.CrossEntropyLoss()
    losses: list[float] = []
    started = time.perf_counter()
    while len(losses) < steps:
        for image, label in DataLoader(train_set, batch_size=8, num_workers=workers):
            optimiser.zero_grad()
            loss = loss_fn(model(image), label)
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
            if len(losses) == steps:
                break
    with torch.no_grad():
        correct = total = 0
        for image, label in DataLoader(validation, batch_size=16):
            correct += int((model(image).argmax(1) == label).sum())
            total += label.numel()
    return {
        "first_loss": losses[0],
        "last_loss": float(np.mean(losses[-5:])),
        "validation_accuracy": correct / total,
        "train_patches": len(train_set),
        "validation_patches": len(validation),
        "seconds": time.perf_counter() - started,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the example; return its metrics."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workdir", type=Path, help="where products, catalog and cube go (default: a temporary folder)"
    )
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        metrics = train(make_labelled_cube(workdir), steps=args.steps)
    print(json.dumps(metrics, indent=2))
    return metrics


if __name__ == "__main__":
    main()
