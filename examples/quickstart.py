"""The whole icecube-stac pipeline from Python, on a small generated stack.

Run from anywhere:  python examples/quickstart.py [WORKDIR]   (default: ./quickstart)

1. generate realistic ICEYE products (GRD GeoTIFF + XML, SLC HDF5 + XML),
2. index them into a STAC catalog,
3. search it with a config (the same dict could be a config.json, or point at a STAC API URL),
4. build a lazy GRD cube, calibrate it to sigma0 in dB, and write it to Zarr.
"""

from __future__ import annotations

import sys
from pathlib import Path

from icecube_stac import build_cube, index, load_config, open_cube, search, write_cube
from icecube_stac.testing import demo_specs, write_stack


def main(workdir: Path) -> None:
    """Run the four steps in ``workdir``."""
    write_stack(demo_specs(n_grd=4, n_slc=2, shape=(128, 128)), workdir / "data")
    report = index([workdir / "data"], workdir / "catalog")
    print(report.summary())

    config = load_config(
        {"start_date": 20240301, "end_date": 20240415, "product_type": "GRD", "min_incidence_angle": 15},
        catalog=str(workdir / "catalog"),
    )
    items = search(config)
    for item in items:
        print(f"  {item.id}  {item.properties['sat:orbit_state']:<10}  {item.properties['view:incidence_angle']:.1f}°")

    cube = build_cube(items, config=config)  # or load_cube(config): search and build in one call
    sigma0_db = cube.iceye.to_db(cube.iceye.sigma0())
    print(f"cube {dict(cube.sizes)}; median sigma0 per date (dB):")
    for when, value in zip(cube.time.values, sigma0_db.median(dim=("azimuth", "range")).values, strict=True):
        print(f"  {str(when)[:10]}  {value:6.2f}")
    target = write_cube(cube, workdir / "cube.zarr", overwrite=True)
    print(f"wrote {target}: {open_cube(target)['amplitude'].dtype}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "quickstart").resolve())
