"""Throw-away PostgreSQL + pgstac + stac-fastapi-pgstac stack for tests and benchmarks: the entry point.

Everything runs on the loopback interface, on free ports, from temporary folders that are removed on
exit, and every step is bounded in time. Nothing is downloaded: PostgreSQL and PostGIS come from Debian
(``apt-get install postgresql-15-postgis-3``), pgstac from the ``pypgstac`` wheel and the API from the
``stac-fastapi-pgstac`` wheel (the ``server`` extra, part of ``pip install -e '.[test]'``).
:func:`check_stack_requirements` tells, before anything starts, what is missing and how to install it.

This module migrates pgstac and puts the pieces together; :mod:`tests.support.postgres` runs the
database, :mod:`tests.support.stac_api` the API.

Examples
--------
>>> with pgstac_api() as stack:  # doctest: +SKIP
...     publish("catalogs/demo", stack.dsn)
...     client = pystac_client.Client.open(stack.url)
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from icecube_stac.publish import redact_dsn

from .postgres import PG_BINDIR_ENV, PostgresServer, find_pg_bindir, find_postgis
from .processes import APT_INSTALL, SERVER_EXTRA, RunAs, ServerError, import_psycopg
from .stac_api import StacApiServer

__all__ = [
    "APT_INSTALL",
    "PG_BINDIR_ENV",
    "PgstacApi",
    "PostgresServer",
    "ServerError",
    "StacApiServer",
    "check_stack_requirements",
    "find_pg_bindir",
    "find_postgis",
    "migrate_pgstac",
    "pgstac_api",
    "stack_requirements_problem",
]

# What the stack imports, in this process (psycopg, pypgstac) or in the API subprocess.
_PYTHON_MODULES = ("psycopg", "pypgstac", "stac_fastapi.pgstac", "uvicorn")


def _module_missing(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except ImportError:  # a missing parent package
        return True


def stack_requirements_problem(bindir: str | os.PathLike[str] | None = None) -> str | None:
    """Say, without starting anything, what the stack needs that is not installed.

    Parameters
    ----------
    bindir
        PostgreSQL binary directory to check (see :func:`tests.support.postgres.find_pg_bindir`).

    Returns
    -------
    str or None
        Every missing piece with the command that installs it; None when nothing is missing.
    """
    problems: list[str] = []
    try:
        find_postgis(find_pg_bindir(bindir))
        RunAs.for_current_user()
    except ServerError as exc:
        problems.append(str(exc))
    missing = [name for name in _PYTHON_MODULES if _module_missing(name)]
    if missing:
        problems.append(f"Python packages not installed: {', '.join(missing)}; {SERVER_EXTRA}")
    if not problems:
        return None
    return "cannot run the PostgreSQL + PostGIS + pgstac + stac-fastapi-pgstac test stack:\n" + "\n".join(
        f"  - {problem}" for problem in problems
    )


def check_stack_requirements(bindir: str | os.PathLike[str] | None = None) -> None:
    """Raise :class:`ServerError` with :func:`stack_requirements_problem`'s message when something is missing."""
    problem = stack_requirements_problem(bindir)
    if problem is not None:
        raise ServerError(problem)


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
        raise ServerError(f"pypgstac is not installed; {SERVER_EXTRA}") from exc
    psycopg = import_psycopg()
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
    *,
    database: str = "pgstac",
    timeout: float = 60.0,
    extra_env: Mapping[str, str] | None = None,
    bindir: str | os.PathLike[str] | None = None,
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
    bindir
        PostgreSQL binary directory; found automatically by default.

    Yields
    ------
    PgstacApi
        ``.dsn`` and ``.url`` of the running stack; everything is stopped and deleted on exit.
    """
    with PostgresServer(database=database, timeout=timeout, bindir=bindir) as pg:
        version = migrate_pgstac(pg.dsn, timeout=max(timeout, 120.0))
        with StacApiServer(pg.dsn, timeout=timeout, extra_env=extra_env) as api:
            yield PgstacApi(dsn=pg.dsn, url=api.url, pgstac_version=version)
