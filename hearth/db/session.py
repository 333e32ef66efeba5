"""The database handle: engine, transactions, migrations, and after-commit signals.

Every component gets one :class:`Database` from the composition root and opens short
transactions with :meth:`Database.transaction`. Library exceptions stop here: SQLAlchemy's
errors leave this module as :mod:`hearth.errors` classes. A server that cannot be reached
is ``DatabaseUnreachable`` and a PostgreSQL database that does not exist
``DatabaseMissing``, each naming the server and the database (never the password) and
saying what to do; :meth:`Database.create_database` is how ``hearth db upgrade`` creates a
missing one.

SQLite runs in WAL mode. A :meth:`Database.transaction` starts with ``BEGIN IMMEDIATE``:
writers queue on SQLite's one write lock (with a busy timeout) instead of failing when a
read upgrades to a write. A :meth:`Database.read` runs on its own pool with a plain
``BEGIN``: in WAL mode readers never wait for writers, nor writers for them.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from hearth import errors

LOG = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
MAINTENANCE_DATABASE = "postgres"
_MISSING = re.compile(r'database "(?P<name>[^"]+)" does not exist')


class Database:
    """A connection pool plus the conventions every transaction follows."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "NORMAL") -> None:
        self.url = sa.make_url(url)
        self.engine = _create_engine(self.url, sqlite_synchronous, "BEGIN IMMEDIATE")
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._reader = (
            _create_engine(self.url, sqlite_synchronous, "BEGIN") if self.is_sqlite else self.engine
        )
        self._read_sessions = sessionmaker(self._reader, expire_on_commit=False)
        self._subscribers: dict[str, list[Callable[[list[Any]], None]]] = {}
        self._lock = threading.Lock()
        # SQLite has one write lock, and its busy handler waits for it by sleeping (up to
        # 100 ms a time): this process's writers queue on a Python lock instead, and only
        # other processes' writers meet the busy handler.
        self._sqlite_writer: threading.RLock | None = threading.RLock() if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded SQLite database."""
        return self.url.get_backend_name() == "sqlite"

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (one consistent snapshot); never use it to write."""
        session = self._read_sessions()
        try:
            with session.begin():  # its commit writes nothing; a rollback would expire rows
                yield session
        except exc.OperationalError as error:
            raise unavailable(self.url, error) from error
        except exc.DBAPIError as error:
            raise errors.HearthError(detail=str(error.orig)) from error
        finally:
            session.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        session = self._sessions()
        writer = self._sqlite_writer or contextlib.nullcontext()
        try:
            with writer, session.begin():
                yield session
        except exc.IntegrityError as error:
            raise errors.Conflict(reason="the change conflicts with existing data") from error
        except exc.OperationalError as error:
            raise unavailable(self.url, error) from error
        except exc.DBAPIError as error:  # anything else the driver refuses is our bug
            raise errors.HearthError(detail=str(error.orig)) from error
        finally:
            session.close()
        self._signal(session.info.get("topics", {}))

    def subscribe(self, topic: str, callback: Callable[[list[Any]], None]) -> None:
        """After every commit whose transaction touched ``topic``, call ``callback`` with
        the items it touched (see :func:`touch`), in the committing thread."""
        with self._lock:
            self._subscribers.setdefault(topic, []).append(callback)

    def upgrade(self) -> None:
        """Bring the schema to the newest migration."""
        config = _alembic_config()
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                alembic_command.upgrade(config, "head")
        except exc.OperationalError as error:
            raise unavailable(self.url, error) from error

    def is_current(self) -> bool:
        """True when the schema is at the newest migration."""
        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
        try:
            with self.engine.connect() as connection:
                current = MigrationContext.configure(connection).get_current_revision()
        except exc.OperationalError as error:
            raise unavailable(self.url, error) from error
        return current == head

    def create_database(self) -> None:
        """Create the (PostgreSQL) database the URL names, connecting as the same user to
        the server's ``postgres`` database. A user who may not create databases gets
        ``DatabaseMissing`` with the statement an administrator must run."""
        name = self.url.database or ""
        server = sa.create_engine(
            self.url.set(database=MAINTENANCE_DATABASE),
            isolation_level="AUTOCOMMIT",  # CREATE DATABASE cannot run in a transaction
            poolclass=NullPool,
        )
        try:
            with server.connect() as connection:
                quoted = connection.dialect.identifier_preparer.quote(name)
                connection.exec_driver_sql(f"CREATE DATABASE {quoted}")
        except exc.ProgrammingError as error:  # insufficient privilege (42501)
            raise errors.DatabaseMissing(
                database=name, server=_server(self.url), advice=_ask_admin(self.url)
            ) from error
        except exc.OperationalError as error:
            raise unavailable(self.url, error) from error
        finally:
            server.dispose()
        LOG.info("created database %r at %s", name, _server(self.url))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        self._reader.dispose()

    def _signal(self, topics: dict[str, list[Any]]) -> None:
        for topic, items in topics.items():
            for callback in self._subscribers.get(topic, ()):
                try:
                    callback(items)
                except Exception:  # a subscriber's failure is its own: the commit stands
                    LOG.exception("after-commit subscriber for %r failed", topic)


def touch(session: Session, topic: str, item: Any) -> None:
    """Record that the session's transaction touched ``item`` of ``topic``; subscribers of
    the topic receive the items once the transaction has committed."""
    session.info.setdefault("topics", {}).setdefault(topic, []).append(item)


def unavailable(url: sa.URL, error: exc.DBAPIError) -> errors.DatabaseUnavailable:
    """The Hearth error for an OperationalError: a connection that could not be made
    (PostgreSQL's connect errors carry no SQLSTATE) names the server and what to do;
    anything else (a lock held past the busy timeout) is plain DatabaseUnavailable."""
    text = str(error.orig)
    if url.get_backend_name() == "sqlite":
        if "unable to open" not in text:
            return errors.DatabaseUnavailable(detail=text)
        return errors.DatabaseUnreachable(
            database=url.database, server="this host", reason=text, detail=text
        )
    if getattr(error.orig, "sqlstate", None) is not None:
        return errors.DatabaseUnavailable(detail=text)
    missing = _MISSING.search(text)
    if missing is not None:
        advice = (
            "Run `hearth db upgrade` to create it and its schema, or create it yourself: "
            f"`{_createdb(url)}`."
        )
        return errors.DatabaseMissing(
            database=missing["name"], server=_server(url), advice=advice, detail=text
        )
    return errors.DatabaseUnreachable(
        database=url.database, server=_server(url), reason=_reason(text), detail=text
    )


def _server(url: sa.URL) -> str:
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def _reason(text: str) -> str:
    """The cause in psycopg's connect error: 'connection failed: connection to server at
    "h", port 1 failed: Connection refused' is 'Connection refused'."""
    first = text.strip().splitlines()[0] if text.strip() else text
    cause = first.rpartition("failed: ")[2] if "failed: " in first else first
    return cause.removeprefix("FATAL:").strip()


def _createdb(url: sa.URL, owner: str | None = None) -> str:
    host, port = url.host or "localhost", url.port or 5432
    user = f" -U {url.username}" if url.username and owner is None else ""
    owned = f" -O {owner}" if owner else ""
    return f"createdb -h {host} -p {port}{user}{owned} {url.database}"


def _ask_admin(url: sa.URL) -> str:
    user = url.username or "this user"
    return (
        f"User {user!r} may not create databases: as a PostgreSQL superuser run "
        f"`{_createdb(url, owner=url.username)}` (or CREATE DATABASE), then "
        "`hearth db upgrade` again."
    )


def _alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _create_engine(url: sa.URL, sqlite_synchronous: str, begin: str) -> Engine:
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=40)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False}, pool_size=10, max_overflow=40
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={sqlite_synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine
