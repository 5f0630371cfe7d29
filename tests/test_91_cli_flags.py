"""Stage 91: command-line habits: --version, flags that override the config, stdin configs, JSON reports,
offline validation, progress only on a terminal, logging with -v."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from icecube_stac import __version__
from icecube_stac._cli_commands import _href_base
from icecube_stac.cli import _datetime
from icecube_stac.testing import demo_specs, write_stack


def _cli(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "icecube_stac.cli", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-flags")
    write_stack(demo_specs(n_grd=5, n_slc=2, shape=(32, 24)), root / "data")
    result = _cli("index", "data", "-q", "--json", cwd=root)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert len(report["added"]) == 7 and report["failures"] == []
    (root / "config.json").write_text(json.dumps({"product_type": "GRD", "start_date": 20240301}))
    return root


def _ids(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    return [f["id"] for f in json.loads(result.stdout)["features"]]


def _props(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [f["properties"] for f in json.loads(result.stdout)["features"]]


def test_version(workdir: Path) -> None:
    result = _cli("--version", cwd=workdir)
    assert result.returncode == 0 and result.stdout.strip() == f"icecube-stac {__version__}"


def test_piped_search_prints_json_and_flags_override_the_config(workdir: Path) -> None:
    everything = _cli("search", "config.json", cwd=workdir)  # stdout is a pipe: JSON, not a table
    assert len(_ids(everything)) == 5
    dates = sorted(p["end_datetime"][:10] for p in _props(everything))
    window = _cli("search", "config.json", "--datetime", f"{dates[1]}/{dates[3]}", cwd=workdir)
    assert sorted(p["end_datetime"][:10] for p in _props(window)) == dates[1:4]
    incidences = sorted(p["view:incidence_angle"] for p in _props(everything))
    cql = _cli("search", "config.json", "--filter", f'"view:incidence_angle" > {incidences[2]}', cwd=workdir)
    assert len(_ids(cql)) == 2
    assert _ids(_cli("search", "config.json", "--bbox", "0,0,1,1", cwd=workdir)) == []
    assert len(_ids(_cli("search", "config.json", "--bbox", "102,16,103,17", cwd=workdir))) == 5
    polygon = "POLYGON((102 16, 103 16, 103 17, 102 17, 102 16))"
    assert len(_ids(_cli("search", "config.json", "--intersects", polygon, cwd=workdir))) == 5


def test_config_from_stdin(workdir: Path) -> None:
    result = _cli("search", "-", cwd=workdir, stdin=json.dumps({"product_type": "SLC"}))
    assert len(_ids(result)) == 2
    bad = _cli("search", "-", cwd=workdir, stdin="[1, 2]")
    assert bad.returncode == 1 and "standard input" in bad.stderr


def test_bad_flags_are_usage_errors(workdir: Path) -> None:
    result = _cli("search", "config.json", "--bbox", "1,2,3", cwd=workdir)
    assert result.returncode == 2 and "four numbers" in result.stderr


def test_validate_command(workdir: Path) -> None:
    result = _cli("validate", "catalogs/default", cwd=workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 invalid" in result.stdout
    broken = workdir / "broken.json"
    item = json.loads(next((workdir / "catalogs/default/iceye-grd/items").glob("*.json")).read_text())
    item["properties"]["view:incidence_angle"] = "steep"
    broken.write_text(json.dumps(item))
    result = _cli("validate", str(broken), "--json", cwd=workdir)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["objects"] == 1 and report["failures"] and "incidence" in json.dumps(report["failures"])
    schema_map = _cli("validate", "--schema-map", cwd=workdir)
    assert schema_map.returncode == 0 and Path(schema_map.stdout.strip()).is_file()


def test_cube_progress_and_logging_stay_off_stdout(workdir: Path) -> None:
    result = _cli("-v", "cube", "config.json", "-o", "c.zarr", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("cube: amplitude")
    assert "[" not in result.stdout and "%" not in result.stdout  # no progress bar in the results
    assert "%|" not in result.stderr  # stderr is not a terminal here: no bar there either
    assert (workdir / "c.zarr.json").is_file()


def test_datetime_and_href_base_parsing() -> None:
    assert _datetime("2024-03-01/2024-03-31") == {"start_date": "2024-03-01", "end_date": "2024-03-31"}
    assert _datetime("2024-03-01T10:00:00Z/..") == {"start_date": "2024-03-01", "end_date": None}
    assert _datetime("2024-03-05") == {"start_date": "2024-03-05", "end_date": "2024-03-05"}
    assert _href_base(["https://data.example.com/cat"]) == "https://data.example.com/cat"
    assert _href_base(["/data/a=https://x/a", "/data/b=https://x/b"]) == {
        "/data/a": "https://x/a",
        "/data/b": "https://x/b",
    }
    assert _href_base(None) is None


def test_a_warning_is_printed_in_one_write_so_threads_never_splice_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from icecube_stac.cli import _show_warning

    class Recorder:
        def __init__(self) -> None:
            self.writes: list[str] = []
            self.lock = threading.Lock()

        def write(self, text: str) -> int:
            with self.lock:
                self.writes.append(text)
            return len(text)

        def flush(self) -> None:
            pass

    recorder = Recorder()
    monkeypatch.setattr(sys, "stderr", recorder)

    def warn_many(name: str) -> None:
        for k in range(200):
            _show_warning(RuntimeWarning(f"{name} {k}"), RuntimeWarning, "x.py", 1)

    threads = [threading.Thread(target=warn_many, args=(name,)) for name in ("Mean of empty slice", "invalid value")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Each warning is one write holding its whole line: another thread's text can only come between lines.
    assert len(recorder.writes) == 400
    assert all(w.startswith("warning: ") and w.endswith("\n") and w.count("\n") == 1 for w in recorder.writes)
