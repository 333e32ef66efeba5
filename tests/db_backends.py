"""The databases Hearth runs on, as fixtures: every database test runs on SQLite and PostgreSQL.

SQLite is a file in the test's temporary directory. PostgreSQL is a fresh database per test,
created on the server named by ``HEARTH_TEST_POSTGRES_URL`` (default: the local server, trust
auth) and dropped at teardown. When that server cannot be reached, the PostgreSQL cases skip
-- and fail under ``CI=true`` (see ``tests.conftest.require``).

Conftest files re-export the fixtures: ``from tests.db_backends import database, ...``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql

from hearth.db import session as db_session
from tests.conftest import require

ADMIN_URL = sa.make_url(
    os.environ.get(
        "HEARTH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
)
"""A database on the PostgreSQL server, as a user who may create and drop databases."""

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _libpq(url: sa.URL) -> str:
    """The URL in the form psycopg itself accepts (no ``+psycopg`` driver part)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@functools.cache
def postgres_unreachable_reason() -> str | None:
    """Why the PostgreSQL server cannot be used, or None when it can (asked once per run)."""
    try:
        with psycopg.connect(_libpq(ADMIN_URL), connect_timeout=5):
            return None
    except psycopg.Error as error:
        return f"PostgreSQL at {ADMIN_URL} is unreachable: {error}"


def _admin(statement: sql.Composed) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction block
    with psycopg.connect(_libpq(ADMIN_URL), autocommit=True) as connection:
        connection.execute(statement)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of each kind, removed after the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hearth.sqlite'}"
        return
    with fresh_postgres_database() as url:
        yield url


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards (skips -- or fails
    under CI=true -- when the server is unreachable)."""
    reason = postgres_unreachable_reason()
    require(reason is None, reason or "")
    name = f"hearth_test_{uuid.uuid4().hex[:12]}"
    _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield ADMIN_URL.set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def empty_database(database_url: str) -> Iterator[db_session.Database]:
    """A Database on an empty schema (no migration applied), disposed after the test."""
    database = db_session.Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def database(empty_database: db_session.Database) -> db_session.Database:
    """A Database whose schema is at the newest migration."""
    empty_database.upgrade()
    return empty_database
