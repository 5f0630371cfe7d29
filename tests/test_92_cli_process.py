"""Stage 92: the tuning of a process whose entry point is the command line stays in that process.

``icecube-stac`` run as a command raises the garbage collector's thresholds, imports boto3 on first use and
scans entry points once (icecube_stac._cli_process); ``main(argv)`` called by a host program changes nothing.
"""

from __future__ import annotations

import gc
import importlib.metadata
import json
import subprocess
import sys

import pytest

from icecube_stac import cli
from icecube_stac._cli_process import GC_THRESHOLDS

_AS_THE_COMMAND = """
import gc, json, sys
sys.argv = ["icecube-stac", "config-schema"]
from icecube_stac.cli import main
before = gc.get_threshold()
status = main()
print(json.dumps({"before": before, "after": gc.get_threshold(), "status": status}), file=sys.stderr)
"""


def test_the_command_process_collects_less_often() -> None:
    result = subprocess.run([sys.executable, "-c", _AS_THE_COMMAND], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stderr.strip().splitlines()[-1])
    assert seen["status"] == 0 and tuple(seen["before"]) == (700, 10, 10)
    assert tuple(seen["after"]) == GC_THRESHOLDS and GC_THRESHOLDS[0] > 700


def test_a_host_program_keeps_its_collector_settings(capsys: pytest.CaptureFixture[str]) -> None:
    mine = (1234, 11, 12)
    previous = gc.get_threshold()
    gc.set_threshold(*mine)
    try:
        assert cli.main(["config-schema"]) == 0
        assert gc.get_threshold() == mine
        assert not hasattr(importlib.metadata.entry_points, "icecube_stac_once")
        assert not [f for f in sys.meta_path if type(f).__module__ == "icecube_stac._cli_process"]
    finally:
        gc.set_threshold(*previous)
    assert json.loads(capsys.readouterr().out)["type"] == "object"


_BOTO3_ON_FIRST_USE = """
import sys, threading
from icecube_stac._cli_process import tune_process
tune_process()
import rasterio
import rasterio.session
assert "botocore" not in sys.modules, "boto3 was imported with rasterio"
assert rasterio.session.boto3 is not None  # rasterio still sees boto3 as installed
found = []
threads = [threading.Thread(target=lambda: found.append(rasterio.session.boto3.Session)) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
import boto3
import boto3.session
assert found == [boto3.session.Session] * 4, found  # every thread got the real class, imported once
assert type(rasterio.session.Session.from_path("s3://bucket/key.tif")).__name__ == "AWSSession"
print("ok")
"""


def test_boto3_is_imported_on_first_use_and_works_for_s3() -> None:
    result = subprocess.run([sys.executable, "-c", _BOTO3_ON_FIRST_USE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


_ENTRY_POINTS = """
import importlib.metadata as metadata
plain = {(e.group, e.name, e.value) for e in metadata.entry_points(group="console_scripts")}
every = {g: sorted(e.name for e in metadata.entry_points().select(group=g)) for g in metadata.entry_points().groups}
from icecube_stac._cli_process import tune_process
tune_process()
assert {(e.group, e.name, e.value) for e in metadata.entry_points(group="console_scripts")} == plain
assert {g: sorted(e.name for e in metadata.entry_points().select(group=g)) for g in every} == every
assert [e.name for e in metadata.entry_points(group="console_scripts", name="icecube-stac")] == ["icecube-stac"]
scans = []
distributions = metadata.distributions
metadata.distributions = lambda **kw: scans.append(kw) or distributions(**kw)
for group in ("console_scripts", "fsspec.specs", "xarray.backends"):
    metadata.entry_points(group=group)
assert scans == [], scans  # the distributions were scanned once, before
print("ok")
"""


def test_entry_points_scanned_once_select_as_before() -> None:
    result = subprocess.run([sys.executable, "-c", _ENTRY_POINTS], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


_DASK_WITHOUT_DOCSTRINGS = """
import sys
from icecube_stac._cli_process import tune_process
tune_process()
import dask.array as da
assert "This docstring was copied from numpy" not in (da.sum.__doc__ or "")  # no numpy docstring parsed
assert float(da.ones((4, 3), chunks=2).sum().compute()) == 12.0 and da.sum is not None
assert "scipy" not in sys.modules
print("ok")
"""


def test_the_command_process_builds_no_dask_docstrings() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _DASK_WITHOUT_DOCSTRINGS], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
    import dask.array as da  # this (host) process keeps dask's derived docstrings

    assert "This docstring was copied from numpy" in (da.sum.__doc__ or "")


def test_the_command_ends_cleanly_with_its_output_closed() -> None:
    # Started with stdout closed (``icecube-stac ... >&-``), Python has no sys.stdout: the fast exit must not
    # report an AttributeError from flushing it.
    import os

    result = subprocess.run(
        [sys.executable, "-m", "icecube_stac.cli", "config-schema"],
        capture_output=False,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.close(1),  # closes the child's stdout only, before it execs
    )
    assert result.returncode == 0, result.stderr
    assert "Exception ignored" not in result.stderr and "Traceback" not in result.stderr, result.stderr
