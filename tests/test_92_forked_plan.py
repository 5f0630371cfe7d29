"""Stage 92: the cube command's plan is made in a forked child while the command imports the writer.

:func:`icecube_stac._forked.run_in_child` returns the child's value, replays its warnings, raises its reported
errors, and computes the step itself whenever the child cannot deliver (a bug, a crash, an unpicklable value);
the child is always reaped. The ``cube`` command run as a process writes the same cube with the same output
whether its plan is made in a child or (one worker) in-process, and its process never imports DuckDB.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from icecube_stac._forked import fork_available, run_in_child
from icecube_stac.cube._warnings import SkippedItemWarning
from icecube_stac.errors import ConfigError
from tests._cube_stacks import indexed_slc_stack

pytestmark = pytest.mark.skipif(not fork_available(), reason="forking is used on Linux only")

_PARENT = os.getpid()


def _in_child() -> bool:
    return os.getpid() != _PARENT


def _wait_for(path: Path) -> None:
    # Bounded: a test that went wrong ends with a failure, never hangs the suite.
    deadline = time.monotonic() + 60
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.01)


def _write_pid(path: Path) -> None:
    # Whole or not at all: the child may be interrupted or killed while it writes (the reader sees no half).
    path.with_suffix(".part").write_text(str(os.getpid()))
    os.replace(path.with_suffix(".part"), path)


def _gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


_ALONE = "ICECUBE_STAC_TEST_ALONE"


def _alone(test: Callable[..., None]) -> Callable[..., None]:
    """Run ``test`` where it can fork: here when this process has no other thread, else alone in a new pytest.

    ``run_in_child`` never forks while another Python thread runs (a lock held at the fork would hang the
    child), and the whole suite leaves some behind (zarr's event loop, other stages' servers): the test then
    runs by itself in a fresh interpreter, as the command's process is when it forks.
    """

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        if threading.active_count() == 1:
            test(*args, **kwargs)
            return
        assert not os.environ.get(_ALONE), "the fresh pytest process has other threads too"
        node = os.environ["PYTEST_CURRENT_TEST"].rsplit(" ", 1)[0]
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", node],
            env={**os.environ, _ALONE: "1"},
            cwd=Path(__file__).resolve().parents[1],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0 and " passed" in run.stdout, run.stdout[-4000:] + run.stderr[-4000:]

    return wrapper


@_alone
def test_the_value_is_computed_in_the_child() -> None:
    assert run_in_child(os.getpid) not in (_PARENT, None)


@_alone
def test_the_childs_warnings_are_issued_once_in_the_parent() -> None:
    def step() -> str:
        warnings.warn("2 item(s) skipped because their data are missing: a; b", SkippedItemWarning, stacklevel=1)
        return "child" if _in_child() else "parent"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert run_in_child(step) == "child"
    assert [(w.category, str(w.message)) for w in caught] == [
        (SkippedItemWarning, "2 item(s) skipped because their data are missing: a; b")
    ]


def _warn_here() -> None:
    warnings.warn("the same warning from the same line", SkippedItemWarning, stacklevel=1)


@_alone
def test_a_replayed_warning_goes_by_the_module_that_issued_it() -> None:
    # A filter naming a module matches the module's warnings (warnings.warn matches __name__, not the path).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore")
        warnings.filterwarnings("always", module=__name__)
        run_in_child(_warn_here)
    assert [str(w.message) for w in caught] == ["the same warning from the same line"]
    # And the module's registry remembers it: under "default", the same warning from the same line is shown
    # once, whether the first was issued in the child or in-process.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        run_in_child(_warn_here)
        _warn_here()
    assert len(caught) == 1, [str(w.message) for w in caught]


@_alone
def test_a_reported_error_of_the_child_is_raised_in_the_parent() -> None:
    def step() -> str:
        if _in_child():
            raise ConfigError("catalog", "/nowhere", "a catalog folder that exists")
        return "computed again in the parent"

    with pytest.raises(ConfigError, match="config key 'catalog': got '/nowhere'") as raised:
        run_in_child(step)
    assert (raised.value.key, raised.value.value) == ("catalog", "/nowhere")


@pytest.mark.parametrize("trouble", ["bug", "unpicklable", "killed"])
@_alone
def test_the_parent_computes_the_step_when_the_child_cannot_deliver(trouble: str, tmp_path: Path) -> None:
    def step() -> Any:
        if not _in_child():
            return "parent"
        _write_pid(tmp_path / "child.pid")
        if trouble == "bug":
            raise ValueError("a bug keeps its real traceback: the parent runs the step again")
        if trouble == "unpicklable":
            return lambda: None
        os.kill(os.getpid(), signal.SIGKILL)
        return "never"

    assert run_in_child(step) == "parent"
    assert _gone(int((tmp_path / "child.pid").read_text())), "the child was not reaped"


@_alone
def test_warm_ups_are_imported_while_the_child_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flag = tmp_path / "imported"
    (tmp_path / "warm_module_92.py").write_text(f"open({str(flag)!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    def step() -> bool:
        if _in_child():
            _wait_for(flag)  # the child ends only after the parent imported the module
        return _in_child()

    assert run_in_child(step, ("no_such_module_92", "warm_module_92"))
    assert "warm_module_92" in sys.modules
    sys.modules.pop("warm_module_92")


@_alone
def test_an_interrupted_parent_kills_and_reaps_the_child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "interrupting_92.py").write_text("raise KeyboardInterrupt\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    pid_file = tmp_path / "child.pid"

    def step() -> None:
        if _in_child():
            _write_pid(pid_file)
            _wait_for(tmp_path / "never")  # stays busy until killed

    with pytest.raises(KeyboardInterrupt):
        run_in_child(step, ("interrupting_92",))
    sys.modules.pop("interrupting_92", None)
    # The parent may be interrupted before the child wrote its pid: then the child never ran that far.
    if pid_file.exists():
        assert _gone(int(pid_file.read_text())), "the child was left running"


@_alone
def test_a_warm_up_that_fails_to_import_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A broken binary module (h5py built against another numpy raises ValueError) that the step never needs
    # must not fail the command: in-process it would never have been imported at all.
    tried = tmp_path / "tried"
    (tmp_path / "broken_92.py").write_text(f"open({str(tried)!r}, 'w').close()\nraise ValueError('numpy.dtype')\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    def step() -> bool:
        if _in_child():
            _wait_for(tried)  # the outcome comes only after the parent's import failed
        return _in_child()

    assert run_in_child(step, ("broken_92",)) is True
    assert "broken_92" not in sys.modules


@_alone
def test_no_fork_while_another_thread_runs() -> None:
    # A thread holding a lock at the fork (writing to stderr, logging) would leave the child waiting for ever.
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="busy-92")
    thread.start()
    try:
        assert run_in_child(os.getpid) == _PARENT
    finally:
        stop.set()
        thread.join()
    assert run_in_child(os.getpid) != _PARENT


def test_warm_ups_with_a_pipe_above_descriptor_1023() -> None:
    # A command started with many inherited descriptors gets its pipe above select()'s limit (FD_SETSIZE).
    script = (
        "import os, resource, sys\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))\n"
        "held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]\n"
        "from icecube_stac._forked import run_in_child\n"
        "parent = os.getpid()\n"
        "print(run_in_child(lambda: os.getpid() != parent, ('json',)))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert (run.returncode, run.stdout) == (0, "True\n"), run.stderr


class _BrokenStream:
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


@_alone
def test_closed_or_broken_standard_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    # Started with stdout closed (``>&-``), Python has sys.stdout None: the step still runs, in a child.
    monkeypatch.setattr(sys, "stdout", None)
    assert run_in_child(os.getpid) != _PARENT
    # A stream that cannot be flushed would leave its buffer to be written by both processes: no fork then.
    monkeypatch.setattr(sys, "stdout", _BrokenStream())
    assert run_in_child(os.getpid) == _PARENT


_SCRIPT = """
import os, signal, sys, time
from pathlib import Path
from icecube_stac import _forked
folder, mode = Path(sys.argv[1]), sys.argv[2]
parent = os.getpid()

def step():
    if os.getpid() == parent:
        return "parent"
    (folder / "child.part").write_text(str(os.getpid()))
    os.replace(folder / "child.part", folder / "child.pid")
    if mode == "kill":
        time.sleep(120)  # until the killed parent takes it along
    return "child"

if mode == "race":
    real_fork = os.fork

    def fork():
        pid = real_fork()
        if pid == 0:
            os.kill(os.getpid(), signal.SIGINT)  # a Ctrl-C at the worst moment: in the child, just forked
        return pid

    os.fork = fork
try:
    print(_forked.run_in_child(step), flush=True)
except KeyboardInterrupt:
    print("interrupted in the " + ("parent" if os.getpid() == parent else "child"), flush=True)
    os._exit(0)
"""


def _gone_or_zombie(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


def test_a_killed_parent_takes_its_child_along(tmp_path: Path) -> None:
    # kill -9 (or SIGTERM) of the command must not leave the child running, holding the command's pipes.
    process = subprocess.Popen([sys.executable, "-c", _SCRIPT, str(tmp_path), "kill"], stdout=subprocess.PIPE)
    try:
        _wait_for(tmp_path / "child.pid")
        child = int((tmp_path / "child.pid").read_text())
    finally:
        process.kill()
        process.communicate(timeout=60)
    deadline = time.monotonic() + 60
    while not _gone_or_zombie(child):
        if time.monotonic() > deadline:
            os.kill(child, signal.SIGKILL)
            raise AssertionError("the child outlived its killed parent")
        time.sleep(0.01)


def test_an_interrupt_right_after_the_fork_stays_out_of_the_child(tmp_path: Path) -> None:
    # The child ignores Ctrl-C (its parent relays it); before its handlers are set it must not raise either,
    # or it would run the command on from the fork: a second "interrupted", a second exit.
    run = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path), "race"], capture_output=True, text=True, timeout=120
    )
    assert (run.returncode, run.stdout) == (0, "child\n"), run


@_alone
def test_an_interrupted_parent_lets_the_child_clean_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # In-process, Ctrl-C during a write unwinds it and removes its staging folder; the child must get the
    # same chance (one KeyboardInterrupt), not be killed with the folder left behind.
    from icecube_stac._atomic import atomic_path

    started = tmp_path / "started"
    (tmp_path / "interrupting_later_92.py").write_text(
        f"import pathlib, time\nfor _ in range(6000):\n    if pathlib.Path({str(started)!r}).exists():\n"
        "        break\n    time.sleep(0.01)\nraise KeyboardInterrupt\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    def step() -> None:
        if _in_child():
            with atomic_path(tmp_path / "cache" / "entry") as staging:
                staging.mkdir()
                started.touch()
                _wait_for(tmp_path / "never")

    with pytest.raises(KeyboardInterrupt):
        run_in_child(step, ("interrupting_later_92",))
    sys.modules.pop("interrupting_later_92", None)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == []


# The command as its own process (main() without argv: tuned, so the plan is made in a child), reporting what
# it imported; run twice, forked and with one worker (in-process).
_COMMAND = """
import json, sys
sys.argv = ["icecube-stac", "cube", *json.loads(sys.argv[1])]
from icecube_stac.cli import main
status = main()
print(json.dumps({"status": status, "duckdb": "duckdb" in sys.modules}), file=sys.stderr)
"""


def _command(args: list[str], workers: str) -> tuple[dict[str, Any], str, str]:
    env = {**os.environ, "DASK_NUM_WORKERS": workers}
    run = subprocess.run(
        [sys.executable, "-c", _COMMAND, json.dumps(args)], capture_output=True, text=True, env=env, timeout=300
    )
    *lines, last = run.stderr.splitlines()
    return json.loads(last), run.stdout, "\n".join(lines)


def _files(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return indexed_slc_stack(tmp_path_factory.mktemp("forked-plan"))


def test_the_command_writes_the_same_cube_with_its_plan_made_in_a_child(catalog: Path, tmp_path: Path) -> None:
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({"catalog": str(catalog), "product_type": "SLC"}))
    forked = _command([str(config), "-o", str(tmp_path / "forked.zarr"), "-q"], "2")
    alone = _command([str(config), "-o", str(tmp_path / "alone.zarr"), "-q"], "1")
    assert forked[0] == {"status": 0, "duckdb": False}, forked  # the search ran in the child
    assert alone[0] == {"status": 0, "duckdb": True}, alone
    assert forked[1].replace("forked", "alone") == alone[1] and forked[2] == alone[2] == ""
    assert _files(tmp_path / "forked.zarr") == _files(tmp_path / "alone.zarr")


def test_the_command_reports_the_same_warnings_and_errors_with_a_child(catalog: Path, tmp_path: Path) -> None:
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({"catalog": str(catalog), "product_type": "SLC"}))
    data = sorted((catalog.parent / "data").rglob("*.h5"))[1]
    moved = data.with_name(data.name + ".moved")
    data.rename(moved)  # the item stays in the catalog, its data are gone
    try:
        for extra, status, said in (["--skip-missing"], 0, "warning: 1 item(s) skipped"), ([], 1, "error: item"):
            forked = _command([str(config), "-o", str(tmp_path / "f.zarr"), "-q", "--overwrite", *extra], "2")
            alone = _command([str(config), "-o", str(tmp_path / "a.zarr"), "-q", "--overwrite", *extra], "1")
            assert forked[0]["status"] == alone[0]["status"] == status
            assert not forked[0]["duckdb"] and alone[0]["duckdb"]
            assert forked[2] == alone[2] and forked[2].startswith(said) and forked[2].count(str(data)) == 1
    finally:
        moved.rename(data)


@pytest.mark.parametrize(
    ("output", "product_type", "first", "reader"),
    [
        ("c.zarr", "SLC", "icecube_stac.cube._direct", "icecube_stac.formats.hdf5"),
        ("c.zarr", "GRD", "icecube_stac.cube._direct", "icecube_stac.formats.geotiff"),
        ("c.nc", "SLC", "xarray", "icecube_stac.formats.hdf5"),
    ],
)
def test_warm_ups_put_the_writer_and_likely_reader_before_the_speculative_one(
    output: str, product_type: str, first: str, reader: str
) -> None:
    import argparse

    from icecube_stac._cli_plan import warm_ups
    from icecube_stac.config import load_config

    args = argparse.Namespace(layout="native", zarr_format=3, output=output, format=None)
    order = warm_ups(args, load_config({"product_type": product_type}))
    assert order[0] == first
    assert order.index(reader) < order.index("icecube_stac.cube_item") < order.index("icecube_stac.formats.cog")
