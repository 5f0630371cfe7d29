"""Throw-away PostgreSQL + pgstac + stac-fastapi-pgstac stack for tests and benchmarks.

Everything runs on the loopback interface, on free ports, from a temporary folder that is
removed on exit, and every step is bounded in time. Nothing is downloaded: PostgreSQL and
PostGIS come from Debian packages, pgstac from the ``pypgstac`` wheel and the API from the
``stac-fastapi-pgstac`` wheel (``pip install 'icecube-stac[server]'``).

Examples
--------
>>> with pgstac_api() as stack:  # doctest: +SKIP
...     publish("catalogs/demo", stack.dsn)
...     client = pystac_client.Client.open(stack.url)
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote, unquote, urlsplit

from icecube_stac.errors import IcecubeStacError
from icecube_stac.publish import redact_dsn

__all__ = [
    "PgstacApi",
    "PostgresServer",
    "ServerError",
    "StacApiServer",
    "migrate_pgstac",
    "pgstac_api",
]

_DEBIAN_PACKAGES = "postgresql-15 postgresql-15-postgis-3"
_SERVER_EXTRA = "pip install 'icecube-stac[server]' (pypgstac[psycopg], stac-fastapi-pgstac, uvicorn)"
_POSTGRES_USER = "postgres"
_LOG_TAIL_CHARS = 4000
# free_port() cannot reserve a port, so a parallel run may take it first: retry on a new one.
_PORT_ATTEMPTS = 3
_PORT_IN_USE = ("already in use", "could not bind")
# The readiness probe must reach 127.0.0.1 directly even when an HTTP(S)_PROXY is configured.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServerError(IcecubeStacError, RuntimeError):
    """A piece of the test stack could not be found, started or stopped in time."""


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now.

    Returns
    -------
    int
        The port number. Another process could grab it before we bind it, so callers
        that race other test runs should be ready to retry.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, chars: int = _LOG_TAIL_CHARS) -> str:
    """Return the end of a log file, or a note when there is none."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return text[-chars:] if text.strip() else "(log is empty)"


def find_pg_bindir() -> Path:
    """Locate the directory holding ``initdb``, ``pg_ctl`` and ``postgres``.

    ``pg_config --bindir`` is asked first; Debian puts the server binaries outside ``PATH``
    in ``/usr/lib/postgresql/<major>/bin``, so the newest of those is the fallback.

    Returns
    -------
    Path
        The binary directory.

    Raises
    ------
    ServerError
        If no PostgreSQL server installation is found; the message names the Debian packages.
    """
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
            candidates.append(Path(out.stdout.strip()))
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(Path(p) for p in debian)
    for bindir in candidates:
        if all((bindir / exe).is_file() for exe in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise ServerError(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found via `pg_config --bindir` "
        f"or /usr/lib/postgresql/*/bin; install the Debian packages: apt-get install {_DEBIAN_PACKAGES}"
    )


@dataclass(frozen=True)
class _RunAs:
    """Who the PostgreSQL processes run as: PostgreSQL refuses to run as root."""

    uid: int | None = None
    gid: int | None = None

    @classmethod
    def for_current_user(cls) -> _RunAs:
        if os.geteuid() != 0:
            return cls()
        try:
            entry = pwd.getpwnam(_POSTGRES_USER)
        except KeyError as exc:
            raise ServerError(
                f"running as root, but there is no {_POSTGRES_USER!r} system user to run PostgreSQL as; "
                f"install the Debian packages {_DEBIAN_PACKAGES} (they create it) or run as a normal user"
            ) from exc
        return cls(uid=entry.pw_uid, gid=entry.pw_gid)

    def chown(self, path: Path) -> None:
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)

    def run(self, args: list[str], *, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
        # subprocess switches user itself (setgid/setgroups/setuid in the child), so there is no
        # dependence on runuser/su and no extra process between us and pg_ctl.
        switch: dict[str, Any] = {}
        if self.uid is not None:
            switch = {"user": self.uid, "group": self.gid, "extra_groups": []}
        # PG* variables of the caller (PGDATA, PGPORT, PGOPTIONS...) are meant for another server.
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        env.update({"LC_ALL": "C", "LANG": "C"})
        if self.uid is not None:
            env["HOME"] = str(cwd)
        return subprocess.run(
            args,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **switch,
        )


def _dsn_parts(dsn: str) -> dict[str, str]:
    """Split a ``postgresql://`` URI into the libpq environment variables it stands for."""
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ServerError(f"expected a postgresql:// DSN, got {redact_dsn(dsn)!r}")
    return {
        "PGUSER": unquote(parts.username or _POSTGRES_USER),
        # stac-fastapi-pgstac requires a password setting even when the server trusts us.
        "PGPASSWORD": unquote(parts.password or "unused"),
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGDATABASE": unquote(parts.path.lstrip("/") or _POSTGRES_USER),
    }


# --------------------------------------------------------------------------- PostgreSQL


class PostgresServer:
    """A private PostgreSQL cluster in a temporary folder, for the lifetime of a ``with`` block.

    Parameters
    ----------
    database
        Name of the database created once the server is up.
    postgis
        Run ``CREATE EXTENSION postgis`` in that database (checks PostGIS is installed).
    timeout
        Seconds allowed for each of initdb, start-up, database creation and shutdown.

    Attributes
    ----------
    port
        The TCP port on 127.0.0.1, once started.
    workdir
        The temporary folder (data directory, socket, log), once started.
    """

    def __init__(self, *, database: str = "pgstac", postgis: bool = True, timeout: float = 60.0) -> None:
        self.database = database
        self.postgis = postgis
        self.timeout = timeout
        self.port: int | None = None
        self.workdir: Path | None = None
        self._bindir: Path | None = None
        self._runas = _RunAs()
        self._started = False

    @property
    def dsn(self) -> str:
        """``postgresql://postgres@127.0.0.1:PORT/DATABASE`` of the running server."""
        if self.port is None:
            raise ServerError("PostgresServer is not running; use it as a context manager")
        return f"postgresql://{_POSTGRES_USER}@127.0.0.1:{self.port}/{quote(self.database)}"

    @property
    def log_path(self) -> Path:
        """The server log inside the work folder (useful when something fails)."""
        if self.workdir is None:
            raise ServerError("PostgresServer is not running")
        return self.workdir / "postgres.log"

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

    def start(self) -> None:
        """Create the cluster, start the server and create the database."""
        self._bindir = find_pg_bindir()
        self._runas = _RunAs.for_current_user()
        self.workdir = Path(tempfile.mkdtemp(prefix="icecube-pg-"))
        self._runas.chown(self.workdir)
        self._initdb()
        self._configure()
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            if self._start_server(last_attempt=attempt == _PORT_ATTEMPTS):
                break
        self._create_database()

    def stop(self) -> None:
        """Stop the server (if started) and remove the work folder; safe to call twice."""
        try:
            if self._started:
                self._stop_server()
        finally:
            self._started = False
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
            self.port = None

    # -- steps

    def _pg(self, exe: str, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        assert self._bindir is not None and self.workdir is not None
        try:
            return self._runas.run([str(self._bindir / exe), *args], cwd=self.workdir, timeout=timeout or self.timeout)
        except subprocess.TimeoutExpired as exc:
            raise ServerError(f"{exe} did not finish within {exc.timeout:g} s") from exc

    def _initdb(self) -> None:
        assert self.workdir is not None
        result = self._pg(
            "initdb",
            "-D",
            str(self.workdir / "data"),
            "-U",
            _POSTGRES_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            # Nothing here must survive a crash, so skip the fsyncs that dominate initdb's time.
            "--no-sync",
        )
        if result.returncode != 0:
            raise ServerError(f"initdb failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def _configure(self) -> None:
        assert self.workdir is not None
        data = self.workdir / "data"
        sockdir = self.workdir / "sock"
        sockdir.mkdir()
        self._runas.chown(sockdir)
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{sockdir}'",
            # A disposable test database: durability is wasted time.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "50",
            "timezone": "'UTC'",
            "logging_collector": "off",
        }
        conf = "".join(f"{key} = {value}\n" for key, value in settings.items())
        with (data / "postgresql.conf").open("a") as fh:
            fh.write("\n# icecube-stac test server\n" + conf)
        # Trust only the socket inside our private folder and the loopback address.
        (data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n", encoding="ascii")

    def _start_server(self, *, last_attempt: bool) -> bool:
        """Start on a fresh free port; return False (to retry) if the port was taken meanwhile."""
        assert self.workdir is not None
        log = self.log_path
        self.port = free_port()
        # The last "port" line of postgresql.conf wins, so each attempt simply appends its own.
        with (self.workdir / "data" / "postgresql.conf").open("a") as fh:
            fh.write(f"port = {self.port}\n")
        # Set before launching: even a pg_ctl that times out may leave a postmaster to stop.
        self._started = True
        result = self._pg(
            "pg_ctl",
            "-D",
            str(self.workdir / "data"),
            "-l",
            str(log),
            "-w",
            "-t",
            str(max(1, int(self.timeout))),
            "start",
            timeout=self.timeout + 10,
        )
        if result.returncode == 0:
            return True
        self._started = False
        if not last_attempt and any(text in _tail(log) for text in _PORT_IN_USE):
            log.unlink(missing_ok=True)
            return False
        raise ServerError(
            f"PostgreSQL did not start on 127.0.0.1:{self.port} ({result.stderr.strip()}); server log:\n{_tail(log)}"
        )

    def _create_database(self) -> None:
        psycopg = _import_psycopg()
        admin = f"postgresql://{_POSTGRES_USER}@127.0.0.1:{self.port}/postgres"
        timeout = max(1, int(self.timeout))
        try:
            with psycopg.connect(admin, autocommit=True, connect_timeout=timeout) as conn:
                conn.execute(f"SET statement_timeout = '{timeout}s'")
                conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(self.database)))
            if self.postgis:
                with psycopg.connect(self.dsn, autocommit=True, connect_timeout=timeout) as conn:
                    conn.execute(f"SET statement_timeout = '{timeout}s'")
                    conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.errors.FeatureNotSupported as exc:
            raise ServerError(f"PostGIS is not available ({exc}); install {_DEBIAN_PACKAGES}") from exc
        except psycopg.errors.UndefinedFile as exc:
            raise ServerError(f"PostGIS is not available ({exc}); install {_DEBIAN_PACKAGES}") from exc
        except psycopg.Error as exc:
            raise ServerError(f"could not create database {self.database!r}: {exc}") from exc

    def _stop_server(self) -> None:
        assert self.workdir is not None
        data = self.workdir / "data"
        # "immediate" skips the shutdown checkpoint: the data is thrown away anyway.
        result = self._pg("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "-t", "20", "stop", timeout=30)
        if result.returncode != 0 and (data / "postmaster.pid").exists():
            self._kill_postmaster(data / "postmaster.pid")

    @staticmethod
    def _kill_postmaster(pidfile: Path) -> None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(pidfile.read_text().splitlines()[0])
            os.kill(pid, 9)


def _import_psycopg() -> Any:
    """Import psycopg (3) lazily, so that the package works without the server extra."""
    try:
        import psycopg
        import psycopg.sql
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ServerError(f"psycopg is not installed; {_SERVER_EXTRA}") from exc
    return psycopg


# --------------------------------------------------------------------------- pgstac


def migrate_pgstac(dsn: str, *, timeout: float = 120.0) -> str:
    """Install or upgrade the pgstac schema in a database to the version of ``pypgstac``.

    Parameters
    ----------
    dsn
        Database to migrate; the role must be allowed to create extensions and roles.
    timeout
        Seconds allowed for connecting and for the migration statement.

    Returns
    -------
    str
        The pgstac version now installed (e.g. ``"0.10.0"``).

    Raises
    ------
    ServerError
        If pypgstac is missing or the migration fails.
    """
    try:
        from pypgstac.db import PgstacDB
        from pypgstac.migrate import Migrate
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ServerError(f"pypgstac is not installed; {_SERVER_EXTRA}") from exc
    psycopg = _import_psycopg()
    bounded = psycopg.conninfo.make_conninfo(
        dsn,
        connect_timeout=max(1, int(timeout)),
        options=f"-c statement_timeout={int(timeout * 1000)}",
    )
    db = PgstacDB(dsn=bounded)
    try:
        version: str = Migrate(db).run_migration()
    except psycopg.Error as exc:
        raise ServerError(f"pgstac migration of {redact_dsn(dsn)} failed: {exc}") from exc
    finally:
        pool = db.pool
        db.disconnect()
        # disconnect() forgets the pool without closing it, which would leak its worker thread.
        if pool is not None:
            pool.close()
    return version


# --------------------------------------------------------------------------- STAC API


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
        env.update(_dsn_parts(self.dsn))
        env.update({"ENABLE_TRANSACTIONS_EXTENSIONS": "false", "DB_MIN_CONN_SIZE": "1"})
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        """Launch uvicorn and wait until ``GET /conformance`` answers 200."""
        # The cwd is a fresh folder because the app's settings also read a ".env" file from it.
        self._workdir = Path(tempfile.mkdtemp(prefix="icecube-stac-api-"))
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            if self._launch(self._workdir / f"uvicorn-{attempt}.log", last_attempt=attempt == _PORT_ATTEMPTS):
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
            if last_attempt or not any(text in _tail(log) for text in _PORT_IN_USE):
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
                    f"(database {redact_dsn(self.dsn)}); its output:\n{_tail(log)}"
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
            f"({last_error}); its output:\n{_tail(log)}"
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


# --------------------------------------------------------------------------- all together


@dataclass(frozen=True)
class PgstacApi:
    """A running stack: where the database and the API are.

    Attributes
    ----------
    dsn
        ``postgresql://`` URI of the pgstac database (for :func:`icecube_stac.publish.publish`).
    url
        Root URL of the STAC API (for ``pystac_client.Client.open``).
    pgstac_version
        The pgstac schema version installed.
    """

    dsn: str
    url: str
    pgstac_version: str


@contextlib.contextmanager
def pgstac_api(
    *, database: str = "pgstac", timeout: float = 60.0, extra_env: Mapping[str, str] | None = None
) -> Iterator[PgstacApi]:
    """Run PostgreSQL, install pgstac and serve stac-fastapi-pgstac on top, all on loopback.

    Parameters
    ----------
    database
        Name of the database to create.
    timeout
        Seconds allowed for each step (server start, migration, API start).
    extra_env
        More settings for the API process (see :class:`StacApiServer`).

    Yields
    ------
    PgstacApi
        ``.dsn`` and ``.url`` of the running stack; everything is stopped and deleted on exit.
    """
    with PostgresServer(database=database, timeout=timeout) as pg:
        version = migrate_pgstac(pg.dsn, timeout=max(timeout, 120.0))
        with StacApiServer(pg.dsn, timeout=timeout, extra_env=extra_env) as api:
            yield PgstacApi(dsn=pg.dsn, url=api.url, pgstac_version=version)
