"""stac-fastapi-pgstac served by uvicorn in a subprocess on 127.0.0.1, until the ``with`` block ends."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

from icecube_stac.publish import redact_dsn

from .processes import PORT_ATTEMPTS, PORT_IN_USE, ServerError, dsn_parts, free_port, tail

__all__ = ["StacApiServer"]

# The readiness probe must reach 127.0.0.1 directly even when an HTTP(S)_PROXY is configured.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class StacApiServer:
    """stac-fastapi-pgstac served by uvicorn in a subprocess on 127.0.0.1.

    Parameters
    ----------
    dsn
        ``postgresql://`` URI of a pgstac database.
    timeout
        Seconds allowed for the API to answer ``GET /conformance``.
    extra_env
        More settings for the app, e.g. ``{"ENABLE_TRANSACTIONS_EXTENSIONS": "true"}``.
    """

    _PASSTHROUGH_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV", "SYSTEMROOT")

    def __init__(self, dsn: str, *, timeout: float = 30.0, extra_env: Mapping[str, str] | None = None) -> None:
        self.dsn = dsn
        self.timeout = timeout
        self.extra_env = dict(extra_env or {})
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None

    @property
    def url(self) -> str:
        """Root URL of the API, without a trailing slash."""
        if self.port is None:
            raise ServerError("StacApiServer is not running; use it as a context manager")
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _environment(self) -> dict[str, str]:
        # A minimal environment: the app reads every one of its (many) settings from the
        # environment, so stray variables of the calling shell must not leak in.
        env = {key: os.environ[key] for key in self._PASSTHROUGH_ENV if key in os.environ}
        env.update(dsn_parts(self.dsn))
        env.update({"ENABLE_TRANSACTIONS_EXTENSIONS": "false", "DB_MIN_CONN_SIZE": "1"})
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        """Launch uvicorn and wait until ``GET /conformance`` answers 200."""
        # The cwd is a fresh folder because the app's settings also read a ".env" file from it.
        self._workdir = Path(tempfile.mkdtemp(prefix="icecube-stac-api-"))
        for attempt in range(1, PORT_ATTEMPTS + 1):
            if self._launch(self._workdir / f"uvicorn-{attempt}.log", last_attempt=attempt == PORT_ATTEMPTS):
                return

    def _launch(self, log: Path, *, last_attempt: bool) -> bool:
        """Start uvicorn on a fresh free port; return False (to retry) if the port was taken."""
        assert self._workdir is not None
        self.port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "stac_fastapi.pgstac.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        with log.open("wb") as fh:
            self._proc = subprocess.Popen(
                cmd, cwd=self._workdir, env=self._environment(), stdout=fh, stderr=subprocess.STDOUT
            )
        try:
            self._wait_ready(log)
        except ServerError:
            if last_attempt or not any(text in tail(log) for text in PORT_IN_USE):
                raise
            self._proc.wait(timeout=10)
            return False
        return True

    def _wait_ready(self, log: Path) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise ServerError(
                    f"stac-fastapi-pgstac exited with code {self._proc.returncode} before answering "
                    f"(database {redact_dsn(self.dsn)}); its output:\n{tail(log)}"
                )
            try:
                with _NO_PROXY.open(f"{self.url}/conformance", timeout=2) as response:
                    if response.status == 200:
                        return
                    last_error = f"HTTP {response.status}"
            except (urllib.error.URLError, OSError) as exc:
                last_error = str(exc)
            time.sleep(0.1)
        raise ServerError(
            f"stac-fastapi-pgstac did not answer GET {self.url}/conformance within {self.timeout:g} s "
            f"({last_error}); its output:\n{tail(log)}"
        )

    def stop(self) -> None:
        """Terminate the server process and remove its folder; safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
        self._workdir = None
        self.port = None
