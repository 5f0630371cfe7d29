"""The ``icecube-stac`` subcommands: each turns parsed arguments into one call of the public API and prints.

Results go to standard output (tables on a terminal, JSON with ``--json`` or when piped), progress and
warnings to standard error. Heavy stages are imported inside each command, so a command pays only for its own.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from icecube_stac._redact import redact_url

__all__ = [
    "cmd_check_config",
    "cmd_config_schema",
    "cmd_cube",
    "cmd_demo",
    "cmd_index",
    "cmd_publish",
    "cmd_search",
    "cmd_validate",
    "load_args_config",
]


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2))


def cmd_index(args: argparse.Namespace) -> int:
    """``icecube-stac index``: index products into a catalog and print the report."""
    from icecube_stac.catalog import index

    report = index(
        args.paths,
        args.catalog,
        prune=args.prune,
        asset_hrefs="absolute" if args.absolute_hrefs else "relative",
        progress=not args.quiet,
        lock_timeout=args.lock_timeout,
        labels=getattr(args, "labels", None),
        geocoded_assets=getattr(args, "geocoded_assets", False),
    )
    if args.json:
        _print_json(report.to_dict())
    else:
        print(report.summary())
    return 0 if report.ok else 1


def _read_stdin_config() -> dict[str, Any]:
    from icecube_stac.errors import ConfigError

    text = sys.stdin.read()
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ConfigError("<stdin>", text[:80], f"expected a JSON object on standard input ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError("<stdin>", type(data).__name__, "expected a JSON object on standard input")
    return data


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Config keys given as flags (the flags win over the config file, as with stac-client search)."""
    overrides: dict[str, Any] = {}
    if getattr(args, "catalog", None):
        overrides["catalog"] = args.catalog
    if getattr(args, "bbox", None) is not None:
        overrides.update(bbox=args.bbox, intersects=None)
    if getattr(args, "intersects", None) is not None:
        text = args.intersects.strip()
        overrides.update(intersects=json.loads(text) if text.startswith("{") else text, bbox=None)
    if getattr(args, "datetime", None) is not None:
        overrides.update(args.datetime)
    if getattr(args, "filter", None) is not None:
        text = args.filter.strip()
        overrides["filter"] = json.loads(text) if text.startswith("{") else text
    if getattr(args, "product_type", None):
        overrides["product_type"] = args.product_type
    if getattr(args, "labels", None):
        overrides["labels"] = args.labels
    if getattr(args, "labelled", False):
        overrides["labelled"] = True
    return overrides


def load_args_config(args: argparse.Namespace) -> Any:
    """Load the config named by ``args.config`` (``-`` = standard input) with the flag overrides applied."""
    from icecube_stac.config import load_config

    source: Any = _read_stdin_config() if args.config == "-" else args.config
    return load_config(source, **_overrides(args))


def _format_table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def _item_table(items: Iterable[Any]) -> str:
    header = ("id", "datetime", "type", "incidence", "orbit", "look", "platform")
    rows = [header] + [
        (
            i.id,
            str(i.properties.get("datetime", "")),
            str(i.properties.get("product:type", "")),
            f"{i.properties.get('view:incidence_angle', float('nan')):.2f}",
            str(i.properties.get("sat:orbit_state", "")),
            str(i.properties.get("sar:observation_direction", "")),
            str(i.properties.get("platform", "")),
        )
        for i in items
    ]
    return _format_table(rows)


def cmd_search(args: argparse.Namespace) -> int:
    """``icecube-stac search``: a table on a terminal, the ItemCollection JSON when piped or with ``-o``."""
    import pystac

    from icecube_stac._atomic import write_bytes
    from icecube_stac.search import search

    config = load_args_config(args)
    items = search(config)
    summary = f"{len(items)} item(s) matched in {redact_url(str(config.catalog))}"
    output: str | None = args.output
    if output is None and sys.stdout.isatty():
        if len(items):
            print(_item_table(items))
        print(summary)
        return 0
    collection = pystac.ItemCollection(items).to_dict(transform_hrefs=False)
    data = (json.dumps(collection, indent=2) + "\n").encode("utf-8")
    if write_bytes("-" if output is None else output, data):  # into stdout, a fifo or a device
        print(summary, file=sys.stderr)
        return 0
    if len(items):
        print(_item_table(items))
    print(summary)
    print(f"wrote {output}")
    return 0


def _href_base(values: Sequence[str] | None) -> str | dict[str, str] | None:
    """``--href-base URL`` (one URL for the catalog folder) or repeated ``--href-base FOLDER=URL``."""
    if not values:
        return None
    pairs = [value.split("=", 1) for value in values if "=" in value and "://" not in value.split("=", 1)[0]]
    if not pairs:
        if len(values) > 1:
            raise argparse.ArgumentTypeError("--href-base: give one URL, or FOLDER=URL pairs")
        return values[0]
    if len(pairs) != len(values):
        raise argparse.ArgumentTypeError("--href-base: do not mix a URL and FOLDER=URL pairs")
    return {folder: url for folder, url in pairs}


def cmd_publish(args: argparse.Namespace) -> int:
    """``icecube-stac publish``: load a local catalog into pgstac."""
    from icecube_stac.publish import publish

    report = publish(
        args.catalog,
        args.dsn,
        migrate=args.migrate,
        prune=args.prune,
        href_base=_href_base(args.href_base),
        context=None if args.context == "keep" else args.context,
    )
    if args.json:
        _print_json(report.to_dict())
    else:
        print(report.summary())
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """``icecube-stac validate``: every STAC object under a path, offline; exit 1 if any is invalid."""
    from icecube_stac.stac import schema_map_file, validate_path

    if args.schema_map:
        print(
            schema_map_file()
        )  # stac-validator PATH --recursive --schema-config "$(icecube-stac validate --schema-map)"
        return 0
    if args.path is None:
        raise argparse.ArgumentTypeError("validate: give a PATH (or --schema-map)")
    checked = validate_path(args.path)
    failed = [c for c in checked if c.problems]
    if args.json:
        failures = [{"object": c.name, "problems": list(c.problems)} for c in failed]
        _print_json({"path": str(args.path), "objects": len(checked), "failures": failures})
    else:
        for c in failed:
            for problem in c.problems:
                print(f"INVALID {c.name}: {problem}")
        print(f"{len(checked)} STAC object(s) checked: {len(checked) - len(failed)} valid, {len(failed)} invalid")
    return 1 if failed else 0


def cmd_config_schema(args: argparse.Namespace) -> int:
    """``icecube-stac config-schema``: the JSON Schema of config.json."""
    from icecube_stac.config import config_json_schema

    _print_json(config_json_schema())
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    """``icecube-stac check-config``: the config with every default filled in, secrets hidden."""
    config = load_args_config(args)
    shown = config.to_dict()
    shown["catalog"] = redact_url(str(shown["catalog"]))
    if shown.get("headers"):
        shown["headers"] = {name: "***" for name in shown["headers"]}  # never echo credentials
    _print_json(shown)
    return 0


def _with_geocode(config: Any, flag: str | None) -> Any:
    """Apply ``--geocode [CRS|JSON|true|false]``; alone it keeps a geocode object the config already has."""
    if flag is None:
        return config
    from icecube_stac.errors import ConfigError

    text = flag.strip()
    value: Any
    if text.lower() in ("true", "false"):
        value = text.lower() == "true"
        if value and config.geocode:
            return config  # the config's own options win over a bare --geocode
    elif text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError("geocode", text[:80], f"--geocode: expected a JSON object ({exc})") from None
    else:
        value = {"crs": text}
    return config.replace(geocode=value)


def _plain_cube(args: argparse.Namespace, config: Any) -> bool:
    """Tell whether the cube is a plain one the direct Zarr writer may store (still to be checked on its plan)."""
    # coregister with coregistered: true is left to load_cube too, which warns that the key is ignored.
    return not (
        args.scheduler or config.geocode or config.coregister.enabled or config.labels is not None or config.labelled
    )


def _print_cube(name: str, dtype: str, sizes: dict[str, int], nbytes: int) -> None:
    dims = ", ".join(f"{dim}={size}" for dim, size in sizes.items())
    print(f"cube: {name} {dtype} ({dims}), {nbytes / 1e6:.1f} MB uncompressed")


def _direct_cube(args: argparse.Namespace, config: Any, on_missing: Any) -> Any:
    """Write a plain cube straight from its plan; return None when written, else the lazy cube of the plan.

    The plan (search, time axis, grid) is made without xarray, pandas or dask; only a cube the direct writer
    cannot store exactly as ``write_cube`` would (:func:`~icecube_stac.cube._direct.direct_writable`) imports them.
    """
    import numpy as np

    from icecube_stac._cli_plan import planned

    plan = planned(args, config, on_missing)  # before the writer's import: it is imported beside the search
    from icecube_stac.cube._direct import direct_writable, write_plan

    if not direct_writable(plan, args.output, format=args.format, layout=args.layout, zarr_format=args.zarr_format):
        from icecube_stac.cube._build import cube_of_plan

        return cube_of_plan(plan)
    sizes = dict(zip(("time", "azimuth", "range"), (len(plan.sources), *plan.grid), strict=True))
    _print_cube(plan.name, plan.dtype, sizes, int(np.prod(list(sizes.values()))) * np.dtype(plan.dtype).itemsize)
    out = write_plan(
        plan,
        args.output,
        overwrite=args.overwrite,
        progress=not args.quiet,
        compression=args.compression,
        stac_item=not args.no_item,
    )
    print(f"wrote {out}")
    return None


def cmd_cube(args: argparse.Namespace) -> int:
    """``icecube-stac cube``: search, build and write the cube (and its STAC item)."""
    from icecube_stac._cube_target import check_cube_target

    config = _with_geocode(load_args_config(args), getattr(args, "geocode", None))
    if getattr(args, "coregister", False) and not config.coregister.enabled:
        config = config.replace(coregister=True)  # a coregister object in the config keeps its options
    check_cube_target(args.output, args.format, args.overwrite)  # a bad -o fails before the search, not after
    on_missing: Literal["raise", "skip"] = "skip" if args.skip_missing else "raise"
    if _plain_cube(args, config):
        cube = _direct_cube(args, config, on_missing)
        if cube is None:
            return 0
    else:
        from icecube_stac.pipeline import load_cube

        cube = load_cube(config, chunks=args.chunks, on_missing=on_missing)
    from icecube_stac.output import write_cube

    variable = next(iter(cube.data_vars.values()))
    _print_cube(str(variable.name), str(variable.dtype), dict(cube.sizes), variable.nbytes)
    client: Any = None
    if args.scheduler:
        from distributed import Client

        client = Client(args.scheduler)  # type: ignore[no-untyped-call]
    try:
        out = write_cube(
            cube,
            args.output,
            format=args.format,
            layout=args.layout,
            overwrite=args.overwrite,
            progress=not args.quiet,
            client=client,
            compression=args.compression,
            zarr_format=args.zarr_format,
            stac_item=not args.no_item,
        )
    finally:
        if client is not None:
            client.close()
    print(f"wrote {out}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """``icecube-stac demo``: the end-to-end demo."""
    from icecube_stac.demo import run_demo

    run_demo(args.workdir, n_grd=args.grd, n_slc=args.slc, shape=(args.size, args.size))
    return 0
