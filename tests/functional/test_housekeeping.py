"""Nothing grows forever: the three tables that would (delivered notifications, idempotency
keys, user messages) are filled with rows of every age, and the scheduled purge of a running
process -- not a repository call -- removes exactly the expired ones, again and again, on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from hearth.db import models
from hearth.db.session import Database
from hearth.service import wiring
from tests.conftest import make_settings
from tests.db_backends import database, database_url, empty_database
from tests.waiting import wait_until

__all__ = ["database", "database_url", "empty_database"]  # fixtures, imported for pytest

ROWS = 40
"""Rows of each age per table in one filling."""


@pytest.fixture
def running(tmp_path: Path, database: Database, database_url: str) -> Iterator[wiring.Services]:
    """A scheduler process on the test's database, purging every 0.2 s."""
    settings = make_settings(
        tmp_path / "data",
        database={"url": database_url},
        scheduler={"report_interval": 0.05},
        housekeeping={"interval_seconds": 0.2},
    )
    services = wiring.build(settings, roles={"scheduler"})
    services.start()
    yield services
    services.stop()


def test_the_scheduled_purge_removes_exactly_what_expired_and_keeps_doing_so(
    database: Database, running: wiring.Services
) -> None:
    kept = {"outbox": set(), "keys": set(), "messages": set()}
    for filling in ("first", "second"):
        kept = fill(database, filling, kept)
        assert wait_until(purged_to(database, kept), timeout=15), (held(database), kept)
    # what is still needed stays, purge after purge
    assert not wait_until(lambda: not purged_to(database, kept)(), timeout=1)


def purged_to(db: Database, kept: dict[str, set[str]]) -> Callable[[], bool]:
    return lambda: held(db) == kept


def fill(db: Database, filling: str, kept: dict[str, set[str]]) -> dict[str, set[str]]:
    """Add rows of every age to the three tables; returns what must remain afterwards: what
    ``kept`` names (the earlier fillings' survivors) and this filling's rows still needed."""
    now = models.utcnow()
    old, recent, soon, long_ago = (
        now - timedelta(hours=2),
        now - timedelta(seconds=10),
        now + timedelta(hours=1),
        now - timedelta(days=31),
    )
    with db.transaction() as session:
        for i in range(ROWS):
            for sent_at, age in ((old, "old"), (recent, "recent"), (None, "pending")):
                session.add(outbox_entry(f"{filling}-{age}-{i}", sent_at))
            for expires_at, age in ((old, "expired"), (soon, "live")):
                session.add(idempotency_key(f"{filling}-{age}-{i}", expires_at))
            for expires, created, age in (
                (old, long_ago, "expired"),
                (soon, long_ago, "live"),
                (None, long_ago, "undated-old"),
                (None, recent, "undated-recent"),
            ):
                session.add(user_message(f"{filling}-{age}-{i}", expires, created))
    return {
        "outbox": kept["outbox"] | names(filling, ("recent", "pending")),
        "keys": kept["keys"] | names(filling, ("live",)),
        "messages": kept["messages"] | names(filling, ("live", "undated-recent")),
    }


def outbox_entry(name: str, sent_at: datetime | None) -> models.OutboxEntry:
    # added directly: the relay is handed no commit, so nothing is delivered by it
    return models.OutboxEntry(
        event_type="volume.create.end",
        priority="INFO",
        publisher_id=name,
        payload={},
        sent_at=sent_at,
    )


def idempotency_key(name: str, expires_at: datetime) -> models.IdempotencyKey:
    return models.IdempotencyKey(
        project_id="project-a",
        key=name,
        fingerprint="0" * 64,
        resource_id=name[:36],
        expires_at=expires_at,
    )


def user_message(
    name: str, expires_at: datetime | None, created_at: datetime
) -> models.UserMessage:
    return models.UserMessage(
        project_id="project-a",
        request_id=name,
        resource_type="VOLUME",
        action="create volume",
        detail_code="backend_error",
        message="Failed to create volume.",
        created_at=created_at,
        expires_at=expires_at,
    )


def names(filling: str, ages: tuple[str, ...]) -> set[str]:
    return {f"{filling}-{age}-{i}" for age in ages for i in range(ROWS)}


def held(db: Database) -> dict[str, set[str]]:
    """The names of the rows each table holds."""
    with db.read() as session:
        return {
            "outbox": set(session.scalars(sa.select(models.OutboxEntry.publisher_id))),
            "keys": set(session.scalars(sa.select(models.IdempotencyKey.key))),
            "messages": set(session.scalars(sa.select(models.UserMessage.request_id))),
        }
