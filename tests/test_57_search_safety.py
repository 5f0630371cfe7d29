"""Stage 57: searches are safe: any catalog path works, ``timeout`` bounds a whole API search, URL credentials
never show, and ``search`` output goes only where it should (stdout, a regular file, a fifo; never over a link)."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from icecube_stac import _atomic
from icecube_stac._atomic import write_bytes
from icecube_stac._redact import redact_text, redact_url
from icecube_stac.catalog import index
from icecube_stac.cli import main
from icecube_stac.config import load_config
from icecube_stac.errors import SearchError
from icecube_stac.search import search
from icecube_stac.testing import demo_specs, write_stack

pytestmark = pytest.mark.filterwarnings("ignore:Server does not conform")

_CONFORMS = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#filter",
]
_MAX_SLEEP = 4.0  # no handler ever sleeps longer: the server stops by itself soon after a test


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("search-safety") / "data"
    write_stack(demo_specs(n_grd=3, n_slc=0, shape=(16, 12)), folder)
    return folder


# ------------------------------------------------------------------------------- any catalog path


@pytest.mark.parametrize("name", ["it's here", "quote'n\"double", "semi;colon -- x"])
def test_catalog_path_with_quotes_can_be_searched(tmp_path: Path, data: Path, name: str) -> None:
    catalog = tmp_path / name / "catalog"
    index([data], catalog, progress=False)
    assert len(search(load_config({}, catalog=str(catalog)))) == 3


def test_glob_characters_in_a_catalog_path_match_only_that_catalog(tmp_path: Path, data: Path) -> None:
    index([data], tmp_path / "catAx", progress=False)
    index([sorted(data.iterdir())[0]], tmp_path / "cat?x", progress=False)  # one product folder
    assert len(search(load_config({}, catalog=str(tmp_path / "cat?x")))) == 1  # not the 4 of a glob


def test_missing_glob_catalog_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SearchError, match="no catalog"):
        search(load_config({}, catalog=str(tmp_path / "cat*")))


# ------------------------------------------------------------------------------- a tiny real STAC API


class _Api(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answer: Callable[[_Handler], None]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer
        self.requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: _Api

    def do_GET(self) -> None:
        self.server.requests += 1
        length = int(self.headers.get("Content-Length") or 0)
        self.body = json.loads(self.rfile.read(length) or b"{}")
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
            self.server.answer(self)

    do_POST = do_GET

    def send_json(self, data: dict[str, Any]) -> None:
        raw = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def landing(self, conforms: list[str] = _CONFORMS) -> None:
        base = f"http://{self.headers['Host']}"
        self.send_json(
            {
                "type": "Catalog",
                "id": "slow",
                "description": "a test API",
                "stac_version": "1.0.0",
                "conformsTo": conforms,
                "links": [
                    {"rel": "self", "href": f"{base}/"},
                    {"rel": "root", "href": f"{base}/"},
                    {"rel": "search", "href": f"{base}/search", "method": "POST", "type": "application/geo+json"},
                ],
            }
        )

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def api(request: pytest.FixtureRequest) -> Iterator[_Api]:
    server = _Api(request.param)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _slow_landing(handler: _Handler) -> None:
    time.sleep(_MAX_SLEEP)
    handler.landing()


def _trickling_search(handler: _Handler) -> None:
    if handler.path.startswith("/search"):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/geo+json")
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        deadline = time.monotonic() + _MAX_SLEEP
        while time.monotonic() < deadline:  # a byte every 0.2 s: no single read ever times out
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.2)
        return
    handler.landing()


def _item(page: int) -> dict[str, Any]:
    properties = {"datetime": "2024-03-01T00:00:00Z"}
    return {"type": "Feature", "stac_version": "1.0.0", "id": f"p{page:02d}", "geometry": None,
            "properties": properties, "links": [], "assets": {}}  # fmt: skip


def _endless_pages(handler: _Handler) -> None:
    if not handler.path.startswith("/search"):
        handler.landing()
        return
    time.sleep(0.2)
    page = int(handler.body.get("page", 0))
    more = {"rel": "next", "href": f"http://{handler.headers['Host']}/search", "method": "POST",
            "body": {**handler.body, "page": page + 1}}  # fmt: skip
    links = [] if page >= 21 else [more]
    handler.send_json({"type": "FeatureCollection", "features": [_item(page)], "links": links})


def _no_filter(handler: _Handler) -> None:
    handler.landing(conforms=_CONFORMS[:2])


def _error_page(handler: _Handler) -> None:
    if not handler.path.startswith("/search"):
        handler.landing()
        return
    raw = ("<html>\n<body>\n" + "oops, token=t0ken http://u:s3cr3t@h/x\n" * 100 + "</body></html>").encode()
    handler.send_response(500)
    handler.send_header("Content-Length", str(len(raw)))
    handler.end_headers()
    handler.wfile.write(raw)


def _timed_search(url: str, timeout: float) -> tuple[float, SearchError]:
    config = load_config({"catalog": url, "timeout": timeout})
    began = time.monotonic()
    with pytest.raises(SearchError) as info:
        search(config)
    return time.monotonic() - began, info.value


@pytest.mark.parametrize("api", [_slow_landing], indirect=True)
def test_timeout_bounds_a_slow_answer(api: _Api) -> None:
    elapsed, error = _timed_search(api.url, 1)
    assert elapsed < 2.5, elapsed
    assert "timeout" in str(error) and api.url in str(error)


@pytest.mark.parametrize("api", [_trickling_search], indirect=True)
def test_timeout_bounds_an_answer_that_trickles(api: _Api) -> None:
    elapsed, error = _timed_search(api.url, 1)
    assert elapsed < 2.5, elapsed
    assert "timeout" in str(error)


@pytest.mark.parametrize("api", [_endless_pages], indirect=True)
def test_timeout_bounds_the_whole_paginated_search(api: _Api) -> None:
    elapsed, error = _timed_search(api.url, 1)
    assert elapsed < 2.5, elapsed
    assert "timeout" in str(error) and api.requests < 10


@pytest.mark.parametrize("api", [_endless_pages], indirect=True)
def test_a_paginated_search_within_the_timeout_succeeds(api: _Api) -> None:
    found = search(load_config({"catalog": api.url, "timeout": 20}))
    assert [item.id for item in found] == [f"p{page:02d}" for page in range(22)]
    assert api.requests >= 23  # the landing page and 22 pages


# ------------------------------------------------------------------------------- credentials never shown


def test_redact_url() -> None:
    assert redact_url("https://user:s3cr3t@host/api") == "https://user:***@host/api"
    assert redact_url("https://tok3n@host:8080/api") == "https://***@host:8080/api"
    assert redact_url("https://host/api?token=abc&x=1") == "https://host/api?token=***&x=1"
    assert (
        redact_url("https://host/a?X-Amz-Signature=ff&sig=1&api_key=k")
        == "https://host/a?X-Amz-Signature=***&sig=***&api_key=***"
    )
    assert redact_url("catalogs/default") == "catalogs/default"
    assert redact_url("https://host/api") == "https://host/api"
    text = "GET https://u:pw%40x@h/s failed; see http://a:b@c/d?password=q"
    assert redact_text(text) == "GET https://u:***@h/s failed; see http://a:***@c/d?password=***"


@pytest.mark.parametrize("api", [_no_filter], indirect=True)
def test_search_errors_hide_url_credentials(api: _Api) -> None:
    url = api.url.replace("http://", "http://user:s3cr3t@") + "/?token=t0ken"
    with pytest.raises(SearchError, match="Filter extension") as info:
        search(load_config({"catalog": url, "timeout": 5}))
    assert "s3cr3t" not in str(info.value) and "t0ken" not in str(info.value) and "user:***@" in str(info.value)
    assert info.value.__cause__ is None  # the cause's text may quote the URL
    assert info.value.__context__ is None or info.value.__suppress_context__


@pytest.mark.parametrize("api", [_error_page], indirect=True)
def test_api_error_pages_become_one_short_line(api: _Api) -> None:
    with pytest.raises(SearchError, match="search at") as info:
        search(load_config({"catalog": api.url, "timeout": 5}))
    text = str(info.value)
    assert "\n" not in text and len(text) < 700 and "s3cr3t" not in text


def test_cli_hides_url_credentials(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.json").write_text(json.dumps({"catalog": "http://user:s3cr3t@127.0.0.1:9/api", "timeout": 2}))
    assert main(["search", str(tmp_path / "c.json")]) == 1
    captured = capsys.readouterr()
    assert "s3cr3t" not in captured.err + captured.out and "user:***@127.0.0.1:9" in captured.err
    assert captured.err.startswith("error: ") and "Traceback" not in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert main(["check-config", str(tmp_path / "c.json")]) == 0
    assert "s3cr3t" not in capsys.readouterr().out


# ------------------------------------------------------------------------------- where search output goes


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, data: Path) -> Path:
    root = tmp_path_factory.mktemp("search-project")
    index([data], root / "catalog", progress=False)
    (root / "c.json").write_text(json.dumps({"catalog": str(root / "catalog")}))
    return root


def _cli(project: Path, *args: str, stdout: int = subprocess.PIPE) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "icecube_stac.cli", "search", str(project / "c.json"), *args]
    return subprocess.run(command, stdout=stdout, stderr=subprocess.PIPE, check=False, timeout=120)


def _features(raw: bytes | str) -> list[dict[str, Any]]:
    data = json.loads(raw)
    assert data["type"] == "FeatureCollection"
    features: list[dict[str, Any]] = data["features"]
    return features


# Never point a test at the real /dev/stdout or /dev/full through the CLI: run as root, a regression would
# replace them for the whole machine (as the bug did). Links in tmp_path to the same things behave alike.


@pytest.mark.parametrize("output", [None, "-", "stdout-link"])
def test_search_json_to_stdout(project: Path, tmp_path: Path, output: str | None) -> None:
    link = tmp_path / "stdout-link"
    link.symlink_to("/proc/self/fd/1")  # what /dev/stdout is
    args = () if output is None else ("-o", str(link) if output == "stdout-link" else output)
    result = _cli(project, *args)
    assert result.returncode == 0, result.stderr
    assert len(_features(result.stdout)) == 3  # stdout holds the JSON only
    assert b"3 item(s) matched" in result.stderr
    assert link.is_symlink()


def test_dev_stdout_is_written_through_the_descriptor(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    def no_rename(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("/dev/stdout must never be replaced")

    monkeypatch.setattr(_atomic, "atomic_path", no_rename)
    assert write_bytes("/dev/stdout", b"to stdout\n") and write_bytes("-", b"again\n")
    assert capfd.readouterr().out == "to stdout\nagain\n"


def test_search_on_a_terminal_shows_the_table(project: Path) -> None:
    leader, follower = pty.openpty()
    try:
        result = _cli(project, stdout=follower)
        os.close(follower)
        follower = -1
        shown = b""
        while chunk := _read(leader):
            shown += chunk
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)
    assert result.returncode == 0, result.stderr
    assert shown.split()[:4] == [b"id", b"datetime", b"type", b"incidence"] and b"3 item(s) matched" in shown


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the terminal's other side is closed
        return b""


def test_search_into_a_fifo_writes_into_it(project: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "stdout-like"
    link.symlink_to(fifo)  # as /dev/stdout -> /proc/self/fd/1 -> pipe
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = _cli(project, "-o", str(link))
    reader.join(30)
    assert result.returncode == 0, result.stderr
    assert len(_features(received[0])) == 3
    assert link.is_symlink() and fifo.is_fifo()


@pytest.mark.parametrize("kind", ["symlink", "directory"])
def test_search_never_replaces_a_link_or_folder(project: Path, tmp_path: Path, kind: str) -> None:
    target = tmp_path / "out.json"
    victim = tmp_path / "victim.json"
    victim.write_text("precious")
    if kind == "symlink":
        target.symlink_to(victim)
    else:
        target.mkdir()
    result = _cli(project, "-o", str(target))
    assert result.returncode == 1
    err = result.stderr.decode()
    assert err.startswith("error: ") and str(target) in err and "Traceback" not in err
    assert victim.read_text() == "precious"
    assert target.is_symlink() if kind == "symlink" else target.is_dir()


def test_search_to_a_full_device_names_it(project: Path, tmp_path: Path) -> None:
    full = tmp_path / "full"
    full.symlink_to("/dev/full")  # every write: ENOSPC
    result = _cli(project, "-o", str(full))
    assert result.returncode == 1
    assert str(full).encode() in result.stderr and b"No space left on device" in result.stderr
    assert full.is_symlink() and full.is_char_device()


def test_every_userinfo_is_redacted() -> None:
    from icecube_stac._redact import redact_text, redact_url

    assert "S3" not in redact_url("https://u:S3@h/apihttps://u:S3@h/api")
    assert "S3" not in redact_text("failed: see https://u:S3@h/a and s3://k:S3@bucket/x")


@pytest.mark.parametrize("char", ["\f", "\v", "\n", "\t", "\r", "\x1c", "\x85", "\u2028", "\xa0", "\x00"])
@pytest.mark.parametrize("where", ["start", "middle"])
def test_a_control_or_space_character_in_the_userinfo_does_not_keep_it_shown(char: str, where: str) -> None:
    """Config fuzz case 337: ``https://<form feed>user:PASS@host`` showed PASS in load_config's message."""
    from icecube_stac._config_errors import hide_credentials, shown
    from icecube_stac._redact import redact_text, redact_url
    from icecube_stac.config import load_config
    from icecube_stac.errors import ConfigError

    userinfo = f"{char}user:S3CR3T-PW" if where == "start" else f"us{char}er:S3CR3T-PW"
    url = f"https://{userinfo}@stac.example.com/api"
    message = ""  # accepted where urllib finds a host: the config holds the URL as given, to be used
    try:
        load_config({"catalog": url, "start_date": "2024-01-01", "end_date": "2024-01-31"})
    except ConfigError as err:  # refused (a form feed first leaves no host), naming the URL
        message = str(err)
    shows = [message, hide_credentials(url), shown(url), redact_url(url), redact_text(f"see {url} now")]
    assert [text for text in shows if "S3CR3T" in text] == []


def test_the_api_backend_repr_shows_no_credentials() -> None:
    from icecube_stac.search import StacApi

    api = StacApi("https://user:pa55@stac.example.com/api?token=t0k", headers={"Authorization": "Bearer s3cr3t"})
    shown = repr(api)
    assert "pa55" not in shown and "t0k" not in shown and "s3cr3t" not in shown
    expected = "StacApi('https://user:***@stac.example.com/api?token=***', headers=['Authorization'], timeout=30.0)"
    assert shown == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pa'S3CR3T@stac.example.com/api",  # quotes and spaces are legal in a password
        'https://user:pa"S3CR3T@stac.example.com/api',
        "https://user:pa S3CR3T@stac.example.com/api",
        "https://stac.example.com/o'brien/api?token=S3CR3T",  # a quote before the query
        "https://stac.example.com/api?x-api-key=S3CR3T",
        "https://stac.example.com/api?API-Key=S3CR3T",
        "https://stac.example.com/api?client_secret=S3CR3T",
        "https://stac.example.com/api?id_token=S3CR3T&limit=5",
        "https://stac.example.com/api#access_token=S3CR3T&state=x",  # OAuth's implicit flow
        "https://stac.example.com/api?a?token=S3CR3T",
    ],
)
def test_a_whole_url_shows_no_secret_in_the_reprs(url: str) -> None:
    from icecube_stac.search import StacApi

    assert "S3CR3T" not in redact_url(url)
    assert "S3CR3T" not in repr(load_config({"catalog": url}))
    assert "S3CR3T" not in repr(StacApi(url))
    assert redact_url(url).split("://")[1].split("/")[0].endswith("stac.example.com")  # still says where


@pytest.mark.parametrize(
    "text",
    ["https://h/x?" + "?" * 65_400, "https://h/x#" + "?=" * 30_000, "https://h/?" + "a?" * 30_000],
    ids=["question marks", "fragment", "names"],
)
def test_redaction_stays_linear_on_runs_of_separators(text: str) -> None:
    started = time.perf_counter()
    redact_url(text), redact_text(text)
    config = load_config({"filter": {"op": "=", "args": [{"property": "x"}, text]}})
    repr(config)
    assert time.perf_counter() - started < 2  # the quadratic pattern took ~18 s on the first text
