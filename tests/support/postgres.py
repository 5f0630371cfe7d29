"""A private PostgreSQL + PostGIS cluster in a temporary folder: find the binaries, start, create, stop.

The binaries come from Debian's packages (``apt-get install postgresql-15-postgis-3``); when they are
missing, :func:`find_pg_bindir` and :func:`find_postgis` say so and name that command. Set
``ICECUBE_STAC_PG_BINDIR`` to use the server binaries of another installation.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote

from .processes import (
    APT_INSTALL,
    PORT_ATTEMPTS,
    PORT_IN_USE,
    POSTGRES_USER,
    RunAs,
    ServerError,
    free_port,
    import_psycopg,
    tail,
)

__all__ = ["PG_BINDIR_ENV", "PostgresServer", "find_pg_bindir", "find_postgis"]

PG_BINDIR_ENV = "ICECUBE_STAC_PG_BINDIR"
_SERVER_EXES = ("initdb", "pg_ctl", "postgres")


def _missing_exes(bindir: Path) -> list[str]:
    return [exe for exe in _SERVER_EXES if not (bindir / exe).is_file()]


def find_pg_bindir(bindir: str | os.PathLike[str] | None = None) -> Path:
    """Locate the directory holding ``initdb``, ``pg_ctl`` and ``postgres``.

    Parameters
    ----------
    bindir
        Use exactly this directory. By default ``$ICECUBE_STAC_PG_BINDIR`` if set, else
        ``pg_config --bindir`` and then the newest Debian ``/usr/lib/postgresql/<major>/bin``
        (Debian keeps the server binaries outside ``PATH``).

    Returns
    -------
    Path
        The binary directory.

    Raises
    ------
    ServerError
        If the binaries are not there; the message names the Debian package to install.
    """
    if bindir is None and os.environ.get(PG_BINDIR_ENV):
        bindir = os.environ[PG_BINDIR_ENV]
        where = f"{bindir} (from ${PG_BINDIR_ENV})"
    elif bindir is not None:
        where = str(bindir)
    else:
        where = "`pg_config --bindir` or /usr/lib/postgresql/*/bin"
    if bindir is not None:
        candidates = [Path(bindir)]
    else:
        candidates = []
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
    for candidate in candidates:
        if not _missing_exes(candidate):
            return candidate
    raise ServerError(
        f"PostgreSQL server binaries ({', '.join(_SERVER_EXES)}) not found in {where}: the tests and benchmarks "
        f"that run a real STAC API need PostgreSQL 15 + PostGIS. Install them with: {APT_INSTALL}"
    )


def _sharedir(bindir: Path) -> Path | None:
    """The ``share`` folder of the installation in ``bindir``, per its own ``pg_config``; None if unknown."""
    pg_config = bindir / "pg_config"
    if not pg_config.is_file():
        return None
    try:
        out = subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    text = out.stdout.strip()
    return Path(text) if text else None


def find_postgis(bindir: Path) -> Path | None:
    """Check that PostGIS is installed for the PostgreSQL in ``bindir``.

    Parameters
    ----------
    bindir
        A directory returned by :func:`find_pg_bindir`.

    Returns
    -------
    Path or None
        The ``postgis.control`` extension file, or None when the installation does not say where
        its extensions live (``CREATE EXTENSION postgis`` is then the check).

    Raises
    ------
    ServerError
        If the installation's extension folder has no PostGIS; the message names the package.
    """
    sharedir = _sharedir(bindir)
    if sharedir is None:
        return None
    control = sharedir / "extension" / "postgis.control"
    if control.is_file():
        return control
    raise ServerError(
        f"PostGIS is not installed for the PostgreSQL in {bindir} (no {control}): the tests and benchmarks that "
        f"run a real STAC API need it. Install it with: {APT_INSTALL}"
    )


class PostgresServer:
    """A private PostgreSQL cluster in a temporary folder, for the lifetime of a ``with`` block.

    Parameters
    ----------
    database
        Name of the database created once the server is up.
    postgis
        Check that PostGIS is installed and run ``CREATE EXTENSION postgis`` in that database.
    timeout
        Seconds allowed for each of initdb, start-up, database creation and shutdown.
    bindir
        Directory of the server binaries (see :func:`find_pg_bindir`); found automatically by default.

    Attributes
    ----------
    port
        The TCP port on 127.0.0.1, once started.
    workdir
        The temporary folder (data directory, socket, log), once started.
    """

    def __init__(
        self,
        *,
        database: str = "pgstac",
        postgis: bool = True,
        timeout: float = 60.0,
        bindir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.database = database
        self.postgis = postgis
        self.timeout = timeout
        self.bindir = bindir
        self.port: int | None = None
        self.workdir: Path | None = None
        self._bindir: Path | None = None
        self._runas = RunAs()
        self._started = False

    @property
    def dsn(self) -> str:
        """``postgresql://postgres@127.0.0.1:PORT/DATABASE`` of the running server."""
        if self.port is None:
            raise ServerError("PostgresServer is not running; use it as a context manager")
        return f"postgresql://{POSTGRES_USER}@127.0.0.1:{self.port}/{quote(self.database)}"

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
        self._bindir = find_pg_bindir(self.bindir)
        if self.postgis:
            find_postgis(self._bindir)
        self._runas = RunAs.for_current_user()
        self.workdir = Path(tempfile.mkdtemp(prefix="icecube-pg-"))
        self._runas.chown(self.workdir)
        self._initdb()
        self._configure()
        for attempt in range(1, PORT_ATTEMPTS + 1):
            if self._start_server(last_attempt=attempt == PORT_ATTEMPTS):
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
            POSTGRES_USER,
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
        if not last_attempt and any(text in tail(log) for text in PORT_IN_USE):
            log.unlink(missing_ok=True)
            return False
        raise ServerError(
            f"PostgreSQL did not start on 127.0.0.1:{self.port} ({result.stderr.strip()}); server log:\n{tail(log)}"
        )

    def _create_database(self) -> None:
        psycopg = import_psycopg()
        admin = f"postgresql://{POSTGRES_USER}@127.0.0.1:{self.port}/postgres"
        timeout = max(1, int(self.timeout))
        try:
            with psycopg.connect(admin, autocommit=True, connect_timeout=timeout) as conn:
                conn.execute(f"SET statement_timeout = '{timeout}s'")
                conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(self.database)))
            if self.postgis:
                with psycopg.connect(self.dsn, autocommit=True, connect_timeout=timeout) as conn:
                    conn.execute(f"SET statement_timeout = '{timeout}s'")
                    conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except (psycopg.errors.FeatureNotSupported, psycopg.errors.UndefinedFile) as exc:
            raise ServerError(f"PostGIS is not available ({exc}); install it with: {APT_INSTALL}") from exc
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
