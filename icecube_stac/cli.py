"""The ``icecube-stac`` command line: a thin layer over the public API, one subcommand per stage.

Every error icecube-stac raises on purpose (and every :class:`OSError`, with its path) is printed as
``error: ...`` on stderr, with URL credentials hidden, and the exit status is 1; 2 is left to argparse
for command-line usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from icecube_stac._cube_target import SUFFIX_RULES
from icecube_stac._redact import redact_text, redact_url
from icecube_stac.errors import IcecubeStacError, IcecubeStacWarning

__all__ = ["main"]


def _cmd_index(args: argparse.Namespace) -> int:
    from icecube_stac.catalog import index

    report = index(
        args.paths,
        args.catalog,
        prune=args.prune,
        asset_hrefs="absolute" if args.absolute_hrefs else "relative",
        progress=not args.quiet,
    )
    print(report.summary())
    return 0 if report.ok else 1


def _load(args: argparse.Namespace) -> Any:
    from icecube_stac.config import load_config

    overrides: dict[str, Any] = {}
    if getattr(args, "catalog", None):
        overrides["catalog"] = args.catalog
    return load_config(args.config, **overrides)


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


def _cmd_search(args: argparse.Namespace) -> int:
    import pystac

    from icecube_stac._atomic import write_bytes
    from icecube_stac.search import search

    config = _load(args)
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


def _cmd_publish(args: argparse.Namespace) -> int:
    from icecube_stac.publish import publish

    report = publish(args.catalog, args.dsn, migrate=args.migrate, prune=args.prune)
    print(report)
    return 0


def _cmd_config_schema(args: argparse.Namespace) -> int:
    from icecube_stac.config import config_json_schema

    print(json.dumps(config_json_schema(), indent=2))
    return 0


def _cmd_validate_config(args: argparse.Namespace) -> int:
    config = _load(args)
    shown = config.to_dict()
    shown["catalog"] = redact_url(str(shown["catalog"]))
    if shown.get("headers"):
        shown["headers"] = {name: "***" for name in shown["headers"]}  # never echo credentials
    print(json.dumps(shown, indent=2))
    return 0


def _chunk_sizes(text: str) -> dict[str, int]:
    """Parse ``--chunks AZ,RG`` into cube chunk sizes."""
    parts = text.split(",")
    try:
        azimuth, range_ = (int(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected AZ,RG (two whole numbers, e.g. 1024,1024), got {text!r}") from None
    if azimuth < 1 or range_ < 1:
        raise argparse.ArgumentTypeError(f"chunk sizes must be >= 1, got {text!r}")
    return {"azimuth": azimuth, "range": range_}


def _cmd_cube(args: argparse.Namespace) -> int:
    from icecube_stac._cube_target import check_cube_target
    from icecube_stac.output import write_cube
    from icecube_stac.pipeline import load_cube

    config = _load(args)
    check_cube_target(args.output, args.format, args.overwrite)  # a bad -o fails before the search, not after
    if args.product_type:
        config = config.replace(product_type=args.product_type)
    cube = load_cube(config, chunks=args.chunks, on_missing="skip" if args.skip_missing else "raise")
    variable = next(iter(cube.data_vars.values()))
    dims = ", ".join(f"{name}={size}" for name, size in cube.sizes.items())
    print(f"cube: {variable.name} {variable.dtype} ({dims}), {variable.nbytes / 1e6:.1f} MB uncompressed")
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
        )
    finally:
        if client is not None:
            client.close()
    print(f"wrote {out}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from icecube_stac.demo import run_demo

    run_demo(args.workdir, n_grd=args.grd, n_slc=args.slc, shape=(args.size, args.size))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="icecube-stac",
        description="ICEYE SAR products -> STAC catalog -> searches -> xarray time-series cubes.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="index ICEYE products (XML, GRD .tif, SLC .h5) into a STAC catalog")
    p.add_argument("paths", nargs="+", help="product files or folders (searched recursively)")
    p.add_argument("--catalog", default="catalogs/default", help="catalog folder (default: catalogs/default)")
    p.add_argument("--prune", action="store_true", help="remove items whose product files no longer exist")
    p.add_argument("--absolute-hrefs", action="store_true", help="write absolute asset hrefs")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_index)

    p = sub.add_parser("search", help="run a config.json against a local catalog or a STAC API")
    p.add_argument("config", help="config.json")
    p.add_argument("--catalog", help="local catalog folder or STAC API URL (overrides the config)")
    p.add_argument(
        "-o",
        "--output",
        help="write the matches as ItemCollection JSON to this file (replaced atomically), fifo or device; "
        "- for stdout. Without -o: a table on a terminal, else the JSON on stdout",
    )
    p.set_defaults(func=_cmd_search)

    p = sub.add_parser("publish", help="load a local catalog into a pgstac database (upsert)")
    p.add_argument("--catalog", required=True, help="catalog folder")
    p.add_argument("--dsn", required=True, help="postgresql://user:password@host:port/dbname")
    p.add_argument("--migrate", action="store_true", help="install or upgrade the pgstac schema first")
    p.add_argument("--prune", action="store_true", help="delete items the catalog no longer holds")
    p.set_defaults(func=_cmd_publish)

    p = sub.add_parser("config-schema", help="print the JSON Schema of config.json")
    p.set_defaults(func=_cmd_config_schema)

    p = sub.add_parser("check-config", help="validate a config.json and print it with every default filled in")
    p.add_argument("config", help="config.json")
    p.set_defaults(func=_cmd_validate_config)
    p = sub.add_parser("cube", help="search with a config.json and write the matches as a Zarr or NetCDF cube")
    p.add_argument("config", help="config.json")
    p.add_argument("--catalog", help="local catalog folder or STAC API URL (overrides the config)")
    p.add_argument("-o", "--output", required=True, help=f"output cube: {SUFFIX_RULES}")
    p.add_argument("--format", choices=("zarr", "netcdf"), help="output format (default: from the suffix, else zarr)")
    p.add_argument("--layout", choices=("native", "icecube"), default="native", help="variable and dim names")
    p.add_argument("--product-type", choices=("GRD", "SLC"), type=str.upper, help="override the config's product_type")
    p.add_argument("--chunks", type=_chunk_sizes, metavar="AZ,RG", help="chunk sizes in azimuth and range")
    p.add_argument("--scheduler", metavar="ADDRESS", help="dask.distributed scheduler address (tcp://host:8786)")
    p.add_argument("--skip-missing", action="store_true", help="leave out items whose data files are missing")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing cube written by icecube-stac (atomically); anything else is refused",
    )
    p.add_argument(
        "--compression",
        metavar="NAME[:LEVEL]",
        help="Zarr: none, lz4 (default), zstd, blosc-zstd; NetCDF: zlib (default, level 1), none",
    )
    p.add_argument(
        "--zarr-format", type=int, choices=(2, 3), default=3, help="Zarr format version (2 for GDAL 3.10 and older)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_cube)

    p = sub.add_parser("demo", help="generate synthetic ICEYE products, index, search and write a demo cube")
    p.add_argument("--workdir", default=".", help="working folder (default: the current one)")
    p.add_argument("--grd", type=int, default=6, metavar="N", help="number of GRD products (default 6)")
    p.add_argument("--slc", type=int, default=4, metavar="N", help="number of SLC products (default 4)")
    p.add_argument("--size", type=int, default=256, metavar="N", help="raster size N x N pixels (default 256)")
    p.set_defaults(func=_cmd_demo)
    return parser


def _show_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None
) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _os_error_line(exc: OSError) -> str:
    """``PATH: reason`` (both paths of a two-path error), or the reason alone when the error names none."""
    where = ": ".join(str(name) for name in (exc.filename, exc.filename2) if name)
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{where}: {reason}" if where else reason


def _error(text: str) -> None:
    print(f"error: {redact_text(text)}", file=sys.stderr)


def _process_start_up() -> None:
    """Tune a process whose entry point is this command line (never done when ``main`` is called with args).

    ``import dask.array`` probes the optional scipy (sparse chunk types, ``scipy.fftpack``), which costs about
    0.25 s of every command's start-up where scipy is installed; no icecube-stac command uses scipy, so the
    probes are told it is absent (unless something imported it already).
    """
    sys.modules.setdefault("scipy", None)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``icecube-stac`` command line.

    Parameters
    ----------
    argv
        Arguments (default: ``sys.argv[1:]``, and this process is the command: see :func:`_process_start_up`).

    Returns
    -------
    int
        The exit status: 0 on success, 1 on any error (a bad config, a failed search or write, some input
        that could not be indexed), 130 when interrupted; argparse exits with 2 on a usage error.
    """
    if argv is None:
        _process_start_up()
    args = _parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    with warnings.catch_warnings():
        warnings.simplefilter("default", IcecubeStacWarning)
        warnings.showwarning = _show_warning
        try:
            return func(args)
        except IcecubeStacError as exc:
            _error(str(exc))
            return 1
        except OSError as exc:  # a file the user named cannot be read or written
            _error(_os_error_line(exc))
            return 1
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
