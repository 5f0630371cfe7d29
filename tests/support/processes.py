"""Plumbing shared by the servers of the test stack: the error type, install hints, ports, logs, users.

Nothing here starts a server; :mod:`tests.support.postgres` and :mod:`tests.support.stac_api` do.
"""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from icecube_stac.errors import IcecubeStacError
from icecube_stac.publish import redact_dsn

__all__ = [
    "APT_INSTALL",
    "PORT_ATTEMPTS",
    "PORT_IN_USE",
    "POSTGRES_USER",
    "SERVER_EXTRA",
    "RunAs",
    "ServerError",
    "dsn_parts",
    "free_port",
    "import_psycopg",
    "tail",
]

# The one Debian package to install: it pulls in postgresql-15 (initdb, pg_ctl, postgres) with it.
APT_INSTALL = "apt-get install postgresql-15-postgis-3"
SERVER_EXTRA = "pip install -e '.[test]' (the server extra: pypgstac[psycopg], stac-fastapi-pgstac, uvicorn)"
POSTGRES_USER = "postgres"
LOG_TAIL_CHARS = 4000
# free_port() cannot reserve a port, so a parallel run may take it first: retry on a new one.
PORT_ATTEMPTS = 3
PORT_IN_USE = ("already in use", "could not bind")


class ServerError(IcecubeStacError, RuntimeError):
    """A piece of the test stack could not be found, started or stopped in time."""


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


def tail(path: Path, chars: int = LOG_TAIL_CHARS) -> str:
    """Return the end of a log file, or a note when there is none."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return text[-chars:] if text.strip() else "(log is empty)"


@dataclass(frozen=True)
class RunAs:
    """Who the PostgreSQL processes run as: PostgreSQL refuses to run as root."""

    uid: int | None = None
    gid: int | None = None

    @classmethod
    def for_current_user(cls) -> RunAs:
        """Nobody else for a normal user; the ``postgres`` system user for root."""
        if os.geteuid() != 0:
            return cls()
        try:
            entry = pwd.getpwnam(POSTGRES_USER)
        except KeyError as exc:
            raise ServerError(
                f"running as root, but there is no {POSTGRES_USER!r} system user to run PostgreSQL as; "
                f"install PostgreSQL and PostGIS (it creates that user): {APT_INSTALL}, or run as a normal user"
            ) from exc
        return cls(uid=entry.pw_uid, gid=entry.pw_gid)

    def chown(self, path: Path) -> None:
        """Give a folder to the user the servers run as."""
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)

    def run(self, args: list[str], *, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
        """Run a command as that user, with a clean ``PG*``-free environment, and capture its output."""
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


def dsn_parts(dsn: str) -> dict[str, str]:
    """Split a ``postgresql://`` URI into the libpq environment variables it stands for."""
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ServerError(f"expected a postgresql:// DSN, got {redact_dsn(dsn)!r}")
    return {
        "PGUSER": unquote(parts.username or POSTGRES_USER),
        # stac-fastapi-pgstac requires a password setting even when the server trusts us.
        "PGPASSWORD": unquote(parts.password or "unused"),
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGDATABASE": unquote(parts.path.lstrip("/") or POSTGRES_USER),
    }


def import_psycopg() -> Any:
    """Import psycopg (3) lazily, so that importing the harness works without the server extra."""
    try:
        import psycopg
        import psycopg.sql
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ServerError(f"psycopg is not installed; {SERVER_EXTRA}") from exc
    return psycopg
