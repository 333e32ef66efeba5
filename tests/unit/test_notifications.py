"""The outbox and its relay: committed notifications delivered in order, at least once."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hearth import notifications
from hearth.db import models, outbox
from hearth.db.session import Database
from tests.waiting import wait_until


class FlakyDriver:
    """Fails while ``broken`` is set; records what it delivered."""

    def __init__(self) -> None:
        self.broken = False
        self.delivered: list[str] = []

    def deliver(self, notification: notifications.Notification) -> None:
        if self.broken:
            raise ConnectionError("down")
        self.delivered.append(notification.payload["n"])

    def close(self) -> None:
        pass


@pytest.fixture
def db(tmp_path: Path) -> Any:
    database = Database(f"sqlite:///{tmp_path / 'outbox.db'}")
    database.upgrade()
    yield database
    database.dispose()


def emit(db: Database, n: str) -> None:
    with db.transaction() as session:
        notifications.emit(session, "test.event", {"n": n}, publisher_id="test")


def test_a_committed_notification_is_delivered_right_after_commit(db: Database) -> None:
    memory = notifications.MemoryDriver()
    notifications.Relay(db, [memory])

    emit(db, "1")

    [delivered] = memory.received()
    assert delivered.event_type == "test.event"
    assert delivered.payload == {"n": "1"}
    assert len(delivered.message_id) == 36


def test_a_rolled_back_notification_is_never_delivered(db: Database) -> None:
    memory = notifications.MemoryDriver()
    notifications.Relay(db, [memory])

    with pytest.raises(RuntimeError), db.transaction() as session:
        notifications.emit(session, "test.event", {"n": "x"}, publisher_id="test")
        raise RuntimeError("the status change failed")

    assert memory.received() == []


def test_a_failing_driver_delays_delivery_but_keeps_the_order(db: Database) -> None:
    flaky = FlakyDriver()
    relay = notifications.Relay(db, [flaky], max_backoff=0.05)
    relay.start()
    try:
        flaky.broken = True
        emit(db, "1")
        emit(db, "2")
        assert flaky.delivered == []
        assert relay.backlog

        flaky.broken = False
        emit(db, "3")
        assert wait_until(lambda: not relay.backlog, timeout=10)
    finally:
        relay.stop()

    assert flaky.delivered == ["1", "2", "3"]
    with db.transaction() as session:
        assert outbox.pending(session, limit=10) == []


def test_a_commit_never_waits_for_a_failing_driver_while_a_backlog_is_pending(
    db: Database,
) -> None:
    flaky = FlakyDriver()
    relay = notifications.Relay(db, [flaky], max_backoff=3600)
    flaky.broken = True
    emit(db, "1")  # fails once, in the committing thread: backlog
    calls = {"n": 0}
    original = flaky.deliver

    def counting(notification: notifications.Notification) -> None:
        calls["n"] += 1
        original(notification)

    flaky.deliver = counting  # type: ignore[method-assign]
    for n in range(5):
        emit(db, str(n))

    assert relay.backlog
    assert calls["n"] == 0  # later commits left delivery to the relay's thread


def test_entries_left_by_an_earlier_process_are_delivered_first(db: Database) -> None:
    emit(db, "old")  # no relay yet: stays pending, as after a crash
    memory = notifications.MemoryDriver()
    relay = notifications.Relay(db, [memory])
    relay.start()
    try:
        assert wait_until(lambda: not relay.backlog, timeout=10)
        emit(db, "new")
    finally:
        relay.stop()

    assert [n.payload["n"] for n in memory.received()] == ["old", "new"]


def test_deliveries_are_marked_sent_in_batches(db: Database) -> None:
    memory = notifications.MemoryDriver()
    relay = notifications.Relay(db, [memory], batch_size=3, mark_interval=3600)
    for n in range(4):
        emit(db, str(n))
    with db.transaction() as session:
        still_pending = [e.payload["n"] for e in outbox.pending(session, limit=10)]
    assert still_pending == ["3"]  # delivered, its mark waits for the next batch

    relay.flush()

    assert len(memory.received()) == 4  # nothing delivered twice
    with db.transaction() as session:
        assert outbox.pending(session, limit=10) == []


def test_the_background_relay_purges_what_it_delivered_long_ago(db: Database) -> None:
    memory = notifications.MemoryDriver()
    relay = notifications.Relay(db, [memory], mark_interval=0.05, purge_interval=0.05)
    relay.start()
    try:
        emit(db, "old")
        emit(db, "recent")
        assert wait_until(lambda: sent_entries(db) == ["old", "recent"], timeout=10)
        with db.transaction() as session:  # as if "old" had been delivered two hours ago
            session.execute(
                sa.update(models.OutboxEntry)
                .where(models.OutboxEntry.payload["n"].as_string() == "old")
                .values(sent_at=models.utcnow() - timedelta(hours=2))
            )

        assert wait_until(lambda: sent_entries(db) == ["recent"], timeout=10)
    finally:
        relay.stop()

    assert [x.payload["n"] for x in memory.received()] == ["old", "recent"]


def sent_entries(db: Database) -> list[str]:
    """The payloads of the entries marked sent and not purged, oldest first."""
    with db.read() as session:
        entries = session.scalars(
            sa.select(models.OutboxEntry)
            .where(models.OutboxEntry.sent_at.is_not(None))
            .order_by(models.OutboxEntry.seq)
        )
        return [entry.payload["n"] for entry in entries]


def test_concurrent_commits_deliver_each_notification_exactly_once(db: Database) -> None:
    memory = notifications.MemoryDriver()
    notifications.Relay(db, [memory])

    def writer(thread: int) -> None:
        for n in range(25):
            emit(db, f"{thread}-{n}")

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    delivered = [n.payload["n"] for n in memory.received()]
    assert sorted(delivered) == sorted(f"{t}-{n}" for t in range(8) for n in range(25))
    for t in range(8):  # each writer's own notifications arrive in its order
        mine = [d for d in delivered if d.startswith(f"{t}-")]
        assert mine == [f"{t}-{n}" for n in range(25)]
