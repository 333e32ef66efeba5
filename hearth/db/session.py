"""The database handle: engine, transactions, migrations, and after-commit signals.

Every component gets one :class:`Database` from the composition root and opens short
transactions with :meth:`Database.transaction`. Library exceptions stop here: SQLAlchemy's
errors leave this module as :mod:`hearth.errors` classes.

SQLite runs in WAL mode. A :meth:`Database.transaction` starts with ``BEGIN IMMEDIATE``:
writers queue on SQLite's one write lock (with a busy timeout) instead of failing when a
read upgrades to a write. A :meth:`Database.read` runs on its own pool with a plain
``BEGIN``: in WAL mode readers never wait for writers, nor writers for them.
"""

from __future__ import annotations

import contextlib
import logging
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

from hearth import errors

LOG = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000


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
            raise errors.DatabaseUnavailable(detail=str(error.orig)) from error
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
            raise errors.DatabaseUnavailable(detail=str(error.orig)) from error
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
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            alembic_command.upgrade(config, "head")

    def is_current(self) -> bool:
        """True when the schema is at the newest migration."""
        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
        with self.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        return current == head

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
