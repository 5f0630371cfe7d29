"""The ``icecube-stac`` command line: a thin layer over the public API, one subcommand per stage.

Every error icecube-stac raises on purpose (and every :class:`OSError`, with its path) is printed as
``error: ...`` on stderr, with URL credentials hidden, and the exit status is 1; 2 is left to argparse
for command-line usage errors.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from icecube_stac import __version__
from icecube_stac._cli_commands import (
    cmd_check_config,
    cmd_config_schema,
    cmd_cube,
    cmd_demo,
    cmd_index,
    cmd_publish,
    cmd_search,
    cmd_validate,
)
from icecube_stac._cli_process import tune_process
from icecube_stac._cube_target import SUFFIX_RULES
from icecube_stac._redact import redact_text
from icecube_stac.errors import IcecubeStacError, IcecubeStacWarning

__all__ = ["main"]


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


def _bbox(text: str) -> list[float]:
    """Parse ``--bbox MINLON,MINLAT,MAXLON,MAXLAT``."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"expected MINLON,MINLAT,MAXLON,MAXLAT (four numbers), got {text!r}")
    return values


def _datetime(text: str) -> dict[str, str | None]:
    """Parse ``--datetime START/END`` (dates or date-times; ``..`` or empty = open) into start/end dates."""
    start, sep, end = text.partition("/")
    end = end if sep else start  # one value: that day
    dates: dict[str, str | None] = {}
    for key, value in (("start_date", start), ("end_date", end)):
        value = value.strip()
        dates[key] = None if value in ("", "..") else value[:10]  # the config selects by acquisition date
    return dates


def _search_options(p: argparse.ArgumentParser) -> None:
    """Add the config argument and the flags that override config keys (as ``stac-client search`` has them)."""
    p.add_argument("config", help="config.json, or - to read it from standard input")
    p.add_argument("--catalog", help="local catalog folder or STAC API URL (overrides the config)")
    p.add_argument("--bbox", type=_bbox, metavar="MINLON,MINLAT,MAXLON,MAXLAT", help="area of interest (lon/lat)")
    p.add_argument("--intersects", metavar="GEOJSON|WKT", help="area of interest as a GeoJSON geometry or WKT")
    p.add_argument(
        "--datetime",
        type=_datetime,
        metavar="START/END",
        help="acquisition dates: 2024-03-01/2024-03-31, 2024-03-01/..",
    )
    p.add_argument("--filter", metavar="CQL2", help="CQL2 text or CQL2-JSON, ANDed with the config's filter")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="icecube-stac",
        description="ICEYE SAR products -> STAC catalog -> searches -> xarray time-series cubes.",
    )
    parser.add_argument("--version", action="version", version=f"icecube-stac {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log what happens (-vv: debug)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="index ICEYE products (XML, GRD .tif, SLC .h5) into a STAC catalog")
    p.add_argument("paths", nargs="+", help="product files or folders (searched recursively)")
    p.add_argument("--catalog", default="catalogs/default", help="catalog folder (default: catalogs/default)")
    p.add_argument("--prune", action="store_true", help="remove items whose product files no longer exist")
    p.add_argument(
        "--labels",
        metavar="FILE",
        help="write STAC label items (labels collection) from an icecube labels JSON, GeoJSON or label items",
    )
    p.add_argument("--absolute-hrefs", action="store_true", help="write absolute asset hrefs")
    p.add_argument(
        "--geocoded-assets",
        action="store_true",
        help="add a 'geocoded' asset to every GRD item: a GDAL warped VRT onto its UTM grid (stackstac, odc-stac)",
    )
    p.add_argument("--lock-timeout", type=float, metavar="SECONDS", help="fail if another run holds the catalog longer")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="run a config.json against a local catalog or a STAC API")
    _search_options(p)
    p.add_argument(
        "-o",
        "--output",
        help="write the matches as ItemCollection JSON to this file (replaced atomically), fifo or device; "
        "- for stdout. Without -o: a table on a terminal, else the JSON on stdout",
    )
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("publish", help="load a local catalog into a pgstac database (upsert)")
    p.add_argument("--catalog", required=True, help="catalog folder")
    p.add_argument("--dsn", required=True, help="postgresql://user:password@host:port/dbname")
    p.add_argument("--migrate", action="store_true", help="install or upgrade the pgstac schema first")
    p.add_argument("--prune", action="store_true", help="delete items the catalog no longer holds")
    p.add_argument(
        "--href-base",
        action="append",
        metavar="URL|FOLDER=URL",
        help="where the data are served: the URL of the catalog folder, or FOLDER=URL (repeatable)",
    )
    p.add_argument(
        "--context",
        choices=("on", "auto", "off", "keep"),
        default="on",
        help="pgstac context setting (numberMatched in searches; default on; keep = leave as it is)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("validate", help="validate a catalog folder, collection, item JSON or items.parquet offline")
    p.add_argument("path", nargs="?", help="what to validate")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument(
        "--schema-map", action="store_true", help="print the schema map file for stac-validator --schema-config"
    )
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("config-schema", help="print the JSON Schema of config.json")
    p.set_defaults(func=cmd_config_schema)

    p = sub.add_parser("check-config", help="validate a config.json and print it with every default filled in")
    _search_options(p)
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("cube", help="search with a config.json and write the matches as a Zarr or NetCDF cube")
    _search_options(p)
    p.add_argument("-o", "--output", required=True, help=f"output cube: {SUFFIX_RULES}")
    p.add_argument("--format", choices=("zarr", "netcdf"), help="output format (default: from the suffix, else zarr)")
    p.add_argument("--layout", choices=("native", "icecube"), default="native", help="variable and dim names")
    p.add_argument("--product-type", choices=("GRD", "SLC"), type=str.upper, help="override the config's product_type")
    p.add_argument("--chunks", type=_chunk_sizes, metavar="AZ,RG", help="chunk sizes in azimuth and range")
    p.add_argument("--scheduler", metavar="ADDRESS", help="dask.distributed scheduler address (tcp://host:8786)")
    p.add_argument("--skip-missing", action="store_true", help="leave out items whose data files are missing")
    p.add_argument(
        "--coregister",
        action="store_true",
        help="coregister the stack in radar geometry (the config's coregister object, else its defaults)",
    )
    p.add_argument(
        "--labels",
        metavar="FILE|catalog",
        help="attach labels: icecube labels JSON, GeoJSON, STAC label item(s), or 'catalog' (overrides the config)",
    )
    p.add_argument("--labelled", action="store_true", help="only products that have labels (config key labelled)")
    p.add_argument(
        "--geocode",
        nargs="?",
        const="true",
        metavar="CRS|JSON",
        help="map-grid cube (time, y, x): alone = UTM + ground spacing (or the config's geocode object); a CRS "
        "(EPSG:32648) or a JSON object of the geocode key; false = sensor geometry",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing cube written by icecube-stac (atomically); anything else is refused",
    )
    p.add_argument(
        "--compression",
        metavar="NAME[:LEVEL]",
        help="Zarr: none, lz4 (bit shuffle), zstd, blosc-zstd (default lz4; none for int16 SLCs without empty "
        "slots); NetCDF: zlib (default, level 1), none",
    )
    p.add_argument(
        "--zarr-format", type=int, choices=(2, 3), default=3, help="Zarr format version (2 for GDAL 3.10 and older)"
    )
    p.add_argument("--no-item", action="store_true", help="do not write the cube's STAC item (<output>.json)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_cube)

    p = sub.add_parser("demo", help="generate synthetic ICEYE products, index, search and write a demo cube")
    p.add_argument("--workdir", default=".", help="working folder (default: the current one)")
    p.add_argument("--grd", type=int, default=6, metavar="N", help="number of GRD products (default 6)")
    p.add_argument("--slc", type=int, default=4, metavar="N", help="number of SLC products (default 4)")
    p.add_argument("--size", type=int, default=256, metavar="N", help="raster size N x N pixels (default 256)")
    p.set_defaults(func=cmd_demo)
    return parser


def _logging(verbosity: int) -> None:
    if verbosity:
        logging.basicConfig(
            level=logging.DEBUG if verbosity > 1 else logging.INFO,
            stream=sys.stderr,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )


def _show_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None
) -> None:
    # One write, line and newline together: print() makes two, and the lines of warnings raised in two writer
    # threads at once were spliced ("warning: Awarning: B\n\n", found by the differential fuzz).
    sys.stderr.write(f"warning: {message}\n")


def _os_error_line(exc: OSError) -> str:
    """``PATH: reason`` (both paths of a two-path error), or the reason alone when the error names none."""
    where = ": ".join(str(name) for name in (exc.filename, exc.filename2) if name)
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{where}: {reason}" if where else reason


def _error(text: str) -> None:
    print(f"error: {redact_text(text)}", file=sys.stderr)


_EXIT_STATUS: list[int] = []  # the status main() returned when called as the process's command (_fast_exit)


def _fast_exit() -> None:
    """End the command's process after the ``atexit`` handlers, skipping the interpreter's finalisation.

    What is skipped is the tear-down of the thousands of modules and objects xarray, pandas and dask leave
    behind (about 0.3 s after a cube write, measured), which writes nothing: every file a command writes is
    closed (and synced) before it returns. Registered when the command starts, so the handlers of modules
    imported by the command (zarr's and dask's pools) have run; the one registered before, logging's (at the
    import of this module), is run here.
    """
    if not _EXIT_STATUS:
        return  # main() did not return (an uncaught error): the interpreter reports it and finalises as usual
    logging.shutdown()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # None: started with the stream closed (``>&-``), nothing to flush
                stream.flush()
    except (OSError, ValueError):
        return  # a closed or broken pipe: leave the reporting to the interpreter
    os._exit(_EXIT_STATUS[-1])


def _is_the_command() -> bool:
    """Tell whether this process runs the ``icecube-stac`` script or ``python -m icecube_stac.cli`` itself.

    A host script that calls :func:`main` (tests, benchmarks) may have ``atexit`` handlers of its own, which
    :func:`_fast_exit` would skip: it is registered only when the command line is the process.
    """
    entry = sys.modules.get("__main__")
    spec = getattr(entry, "__spec__", None)
    if spec is not None and spec.name == "icecube_stac.cli":
        return True
    return os.path.basename(str(getattr(entry, "__file__", "") or "")) in ("icecube-stac", "icecube-stac-script.py")


def _process_start_up() -> None:
    """Tune a process whose entry point is this command line (never done when ``main`` is called with args).

    Its start-up is made cheaper (:func:`icecube_stac._cli_process.tune_process`: scipy hidden from dask's
    probes, boto3 imported on first use, the garbage collector run less often, entry points scanned once), and
    a process that is the command itself ends without interpreter finalisation once the command returned
    (:func:`_fast_exit`).
    """
    tune_process()
    if _is_the_command():
        atexit.register(_fast_exit)


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
        status = _run(None)
        _EXIT_STATUS.append(status)  # the exit status of the command's process (see _fast_exit)
        return status
    return _run(argv)


def _run(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    _logging(args.verbose)
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
