"""Stage 90: the command line as a user runs it (a subprocess per command)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema

from icecube_stac.testing import demo_specs, write_stack


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "icecube_stac.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_index_then_search_to_item_collection(tmp_path: Path) -> None:
    write_stack(demo_specs(n_grd=4, n_slc=2, shape=(32, 24)), tmp_path / "data")
    result = _cli("index", "data", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "6 added" in result.stdout
    assert (tmp_path / "catalogs" / "default" / "items.parquet").is_file()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"product_type": "GRD", "start_date": 20240301, "end_date": 20240430}))
    result = _cli("search", "config.json", "-o", "matches.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["id", "datetime", "type", "incidence"]
    assert "4 item(s) matched" in result.stdout
    matches = json.loads((tmp_path / "matches.json").read_text())
    assert matches["type"] == "FeatureCollection" and len(matches["features"]) == 4
    assert all(f["properties"]["product:type"] == "GRD" for f in matches["features"])


def test_bad_config_is_reported_with_key_value_and_allowed(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text(json.dumps({"start_dat": 20240101, "max_incidence_angle": 120}))
    result = _cli("search", "bad.json", cwd=tmp_path)
    assert result.returncode == 1  # every IcecubeStacError exits 1 (was 2)
    assert "bad.json" in result.stderr
    assert "did you mean 'start_date'" in result.stderr
    assert "max_incidence_angle" in result.stderr and "120" in result.stderr


def test_config_schema_validates_the_examples(tmp_path: Path) -> None:
    result = _cli("config-schema", cwd=tmp_path)
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    examples = Path(__file__).resolve().parents[1] / "examples"
    for path in sorted(examples.glob("*.json")):
        jsonschema.validate(json.loads(path.read_text()), schema)


def test_check_config_hides_header_values(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text(json.dumps({"headers": {"Authorization": "Bearer s3cret"}}))
    result = _cli("check-config", "c.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "s3cret" not in result.stdout and '"Authorization": "***"' in result.stdout


def test_search_of_missing_catalog(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text("{}")
    result = _cli("search", "c.json", "--catalog", "catalogs/none", cwd=tmp_path)
    assert result.returncode == 1  # every IcecubeStacError exits 1 (was 2)
    assert "no catalog at catalogs/none" in result.stderr


def test_quickstart_example_runs(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "qs")], capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "6 added" in result.stdout
    medians = [float(line.split()[-1]) for line in result.stdout.splitlines() if line.startswith("  2024-")]
    assert len(medians) == 4 and all(-25.0 < m < 0.0 for m in medians)  # plausible sigma0 of land, in dB
    assert (tmp_path / "qs" / "cube.zarr").is_dir()


def test_package_import_is_lazy_and_keeps_the_public_api(tmp_path: Path) -> None:
    """``import icecube_stac`` loads no stage (numpy, pystac, config, search); every public name still resolves."""
    script = (
        "import sys, icecube_stac\n"
        "stages = ('numpy', 'pystac', 'icecube_stac.config', 'icecube_stac.search')\n"
        "print(sorted(m for m in stages if m in sys.modules))\n"
        "import icecube_stac.pipeline\n"  # imports the module icecube_stac.search, whose name is also a function's
        "print(callable(icecube_stac.search), icecube_stac.search.__module__)\n"
        "from icecube_stac import search, load_config\n"
        "print(search is icecube_stac.search, load_config.__module__)\n"
        "names = dir(icecube_stac)\n"
        "print([n for n in icecube_stac.__all__ if getattr(icecube_stac, n, None) is None or n not in names])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "[]",
        "True icecube_stac.search",
        "True icecube_stac.config",
        "[]",
    ]
