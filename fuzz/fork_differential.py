"""Differential check of the config fuzz campaign: ``icecube-stac cube`` forked vs in-process.

The command run as its own process, on Linux, with more than one writer worker, makes its search and plan
in a forked child (``icecube_stac/_forked.py``, ``_cli_plan.py``); with ``DASK_NUM_WORKERS=1`` it does
everything in one process. :func:`differential` runs the real command as a subprocess both ways, each into
its own output folder (of the same name length, so no message wraps differently), and returns what
differs: the exit status, stdout and stderr (the two output folders replaced by one placeholder) and, when
both succeeded, the written files one by one (JSON parsed, without the item's ``created`` timestamp; every
other file byte for byte).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["differential", "output_files"]

_PLACEHOLDER = "<OUT>"
_RUNS = (("forked", "2", "p2"), ("in-process", "1", "p1"))  # name, DASK_NUM_WORKERS, folder (same length)


def _normalised(value: Any, folder: str, uri: str) -> Any:
    """Return a parsed JSON value without ``created`` members and with the output folder as a placeholder."""
    if isinstance(value, dict):
        # ``created`` is the item's write time, which differs between any two runs, forked or not.
        return {k: _normalised(v, folder, uri) for k, v in value.items() if k != "created"}
    if isinstance(value, list):
        return [_normalised(v, folder, uri) for v in value]
    if isinstance(value, str):
        return value.replace(uri, _PLACEHOLDER).replace(folder, _PLACEHOLDER)
    return value


def output_files(folder: Path) -> dict[str, Any]:
    """Return every file under ``folder`` by relative path: JSON parsed and normalised, other files' bytes.

    Parameters
    ----------
    folder
        A run's output folder.

    Returns
    -------
    dict
        Relative path to the normalised JSON value (``.json`` files that parse) or the raw bytes.
    """
    files: dict[str, Any] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.suffix == ".json":
            try:
                files[str(path.relative_to(folder))] = _normalised(json.loads(data), str(folder), folder.as_uri())
                continue
            except ValueError:  # not JSON after all: compared as bytes
                pass
        files[str(path.relative_to(folder))] = data
    return files


def _run(argv: list[str], workers: str, timeout: float) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("DASK_NUM_WORKERS", "DASK_SCHEDULER")}
    env["DASK_NUM_WORKERS"] = workers
    started = time.monotonic()
    try:
        done = subprocess.run(argv, capture_output=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "stdout": "", "stderr": "", "seconds": time.monotonic() - started}
    return {
        "status": str(done.returncode),
        "stdout": done.stdout.decode("utf-8", "replace"),
        "stderr": done.stderr.decode("utf-8", "replace"),
        "seconds": time.monotonic() - started,
    }


def _file_differences(left: dict[str, Any], right: dict[str, Any]) -> list[str]:
    found = [
        f"only {name}: {path}"
        for name, a, b in (("forked", left, right), ("in-process", right, left))
        for path in a
        if path not in b
    ]
    found += [f"file differs: {path}" for path in left if path in right and left[path] != right[path]]
    return found


def differential(config: Path, catalog: str, work: Path, extra: list[str], timeout: float) -> dict[str, Any]:
    """Run ``cube`` forked and in-process and compare them.

    Parameters
    ----------
    config
        The case's config file.
    catalog
        The catalog given with ``--catalog``.
    work
        A folder of this worker's own; the runs' output folders are made (afresh) in it.
    extra
        More command-line options (``--skip-missing``).
    timeout
        Seconds per run; a run over it counts as a difference.

    Returns
    -------
    dict
        ``differences`` (empty when the runs agree), the ``extra`` options, and per run (``forked``,
        ``in-process``) its status, seconds and normalised stdout and stderr.
    """
    runs: dict[str, dict[str, Any]] = {}
    files: dict[str, dict[str, Any]] = {}
    for name, workers, sub in _RUNS:
        folder = work / sub
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        out = folder / "cube.zarr"
        argv = [sys.executable, "-m", "icecube_stac.cli", "cube", str(config), "--catalog", catalog, "-o", str(out)]
        run = _run([*argv, "-q", "--overwrite", *extra], workers, timeout)
        for stream in ("stdout", "stderr"):
            run[stream] = run[stream].replace(folder.as_uri(), _PLACEHOLDER).replace(str(folder), _PLACEHOLDER)
        runs[name] = run
        if run["status"] == "0":
            files[name] = output_files(folder)
    forked, alone = runs["forked"], runs["in-process"]
    differences = [f"{name} timed out" for name, run in runs.items() if run["status"] == "timeout"]
    differences += [f"{key} differs" for key in ("status", "stdout", "stderr") if forked[key] != alone[key]]
    if len(files) == 2:
        differences += _file_differences(files["forked"], files["in-process"])
    return {"differences": differences, "extra": extra, **runs}
