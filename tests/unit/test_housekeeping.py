"""The housekeeper's schedule: a purge on the first beat, then once per interval; a failed
purge is logged and tried again on the next interval, never raised into the heartbeat."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from hearth import config, errors
from hearth.db import idempotency_keys, models
from hearth.db.session import Database
from hearth.service import housekeeping


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'hearth.db'}")
    database.upgrade()
    yield database
    database.dispose()


def add_expired_key(db: Database, key: str) -> None:
    with db.transaction() as session:
        idempotency_keys.record(
            session,
            project_id="p",
            key=key,
            fingerprint="0" * 64,
            resource_id=key,
            expires_at=models.utcnow() - timedelta(seconds=1),
        )


def keys(db: Database) -> list[str]:
    with db.read() as session:
        return sorted(session.scalars(sa.select(models.IdempotencyKey.key)))


def test_a_purge_runs_on_the_first_beat_then_once_per_interval(db: Database) -> None:
    clock = Clock()
    keeper = housekeeping.Housekeeper(
        db, config.HousekeepingSettings(interval_seconds=10), clock=clock
    )
    add_expired_key(db, "first")
    keeper.purge_if_due()
    assert keys(db) == []

    add_expired_key(db, "second")
    clock.now += 9.9
    keeper.purge_if_due()
    assert keys(db) == ["second"]  # not due yet

    clock.now += 0.1
    keeper.purge_if_due()
    assert keys(db) == []


def test_a_failed_purge_is_logged_and_tried_again_next_interval(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    keeper = housekeeping.Housekeeper(
        db, config.HousekeepingSettings(interval_seconds=10), clock=clock
    )
    real = idempotency_keys.purge_expired

    def unavailable(*args: object, **kwargs: object) -> int:
        raise errors.DatabaseUnavailable()

    monkeypatch.setattr(idempotency_keys, "purge_expired", unavailable)
    add_expired_key(db, "kept-by-the-failure")
    with caplog.at_level(logging.WARNING, logger=housekeeping.__name__):
        keeper.purge_if_due()  # does not raise
    assert "housekeeping purge failed" in caplog.text
    assert keys(db) == ["kept-by-the-failure"]

    monkeypatch.setattr(idempotency_keys, "purge_expired", real)
    clock.now += 10
    keeper.purge_if_due()
    assert keys(db) == []
