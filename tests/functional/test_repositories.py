"""The repository modules of ``hearth.db`` on every database Hearth supports.

Each test runs on SQLite and on PostgreSQL (``tests.db_backends``) and reads back what it
wrote in a new transaction, as the rest of Hearth does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hearth import errors
from hearth.db import (
    backends,
    outbox,
    snapshots,
    user_messages,
    volume_types,
    volumes,
)
from hearth.db.session import Database
from hearth.db.statuses import SnapshotStatus, VolumeStatus

AVAILABLE = VolumeStatus.AVAILABLE
DELETING = VolumeStatus.DELETING


def new_volume(database: Database, **fields: Any) -> str:
    """Commit a volume of project-a (overridable fields) and return its id."""
    values = {
        "project_id": "project-a",
        "user_id": "alice",
        "size": 1,
        "status": AVAILABLE,
        "availability_zone": "nova",
        **fields,
    }
    with database.transaction() as session:
        return volumes.create(session, **values).id


def new_snapshot(database: Database, volume_id: str, **fields: Any) -> str:
    """Commit a snapshot of ``volume_id`` in project-a and return its id."""
    values = {
        "project_id": "project-a",
        "user_id": "alice",
        "volume_size": 1,
        "status": SnapshotStatus.AVAILABLE,
        **fields,
    }
    with database.transaction() as session:
        return snapshots.create(session, volume_id=volume_id, **values).id


def read_volume(database: Database, volume_id: str) -> volumes.Volume:
    with database.transaction() as session:
        return volumes.get(session, volume_id, with_type=True)


def add_entry(database: Database, event_type: str) -> int:
    """Commit an outbox entry and return its delivery sequence number."""
    with database.transaction() as session:
        return outbox.add(
            session,
            event_type=event_type,
            priority="INFO",
            publisher_id="volume.local",
            payload={"event": event_type},
        ).seq


def pending_events(database: Database) -> list[str]:
    with database.transaction() as session:
        return [entry.event_type for entry in outbox.pending(session, limit=100)]


# --- volumes -------------------------------------------------------------------------------


def test_a_created_volume_reads_back_with_its_fields_and_defaults(database: Database) -> None:
    volume_id = new_volume(database, name="data", size=10, host="local")

    volume = read_volume(database, volume_id)

    assert len(volume.id) == 36
    assert (volume.name, volume.size, volume.host, volume.status) == (
        "data",
        10,
        "local",
        "available",
    )
    assert volume.volume_metadata == {}
    assert volume.bootable is False
    assert volume.reschedule_count == 0
    assert volume.volume_type is None
    assert volume.updated_at is None


def test_a_missing_volume_is_none_to_find_and_not_found_to_get(database: Database) -> None:
    with database.transaction() as session:
        assert volumes.find(session, "no-such-volume") is None
        with pytest.raises(errors.VolumeNotFound):
            volumes.get(session, "no-such-volume")


def test_another_projects_volume_is_not_found(database: Database) -> None:
    volume_id = new_volume(database, project_id="project-a")

    with database.transaction() as session:
        assert volumes.get(session, volume_id, project_id="project-a").id == volume_id
        assert volumes.find(session, volume_id, project_id="project-b") is None
        with pytest.raises(errors.VolumeNotFound):
            volumes.get(session, volume_id, project_id="project-b")


def test_find_all_keeps_only_volumes_matching_every_filter(database: Database) -> None:
    a_local = new_volume(database, project_id="project-a", host="local", name="one")
    a_remote = new_volume(database, project_id="project-a", host="remote", status="error")
    b_local = new_volume(database, project_id="project-b", host="local", name="one")

    def ids(**filters: Any) -> set[str]:
        with database.transaction() as session:
            return {volume.id for volume in volumes.find_all(session, **filters)}

    assert ids() == {a_local, a_remote, b_local}
    assert ids(project_id="project-a") == {a_local, a_remote}
    assert ids(host="local") == {a_local, b_local}
    assert ids(statuses=["error", "deleting"]) == {a_remote}
    assert ids(name="one") == {a_local, b_local}
    assert ids(project_id="project-b", host="local", name="one") == {b_local}
    assert ids(statuses=[]) == set()


def test_find_all_lists_volumes_oldest_first_up_to_the_limit(database: Database) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    newest = new_volume(database, created_at=start + timedelta(hours=2))
    oldest = new_volume(database, created_at=start)
    middle = new_volume(database, created_at=start + timedelta(hours=1))

    with database.transaction() as session:
        everything = [volume.id for volume in volumes.find_all(session)]
        first_two = [volume.id for volume in volumes.find_all(session, limit=2)]

    assert everything == [oldest, middle, newest]
    assert first_two == [oldest, middle]


def test_update_changes_the_fields_and_stamps_updated_at(database: Database) -> None:
    volume_id = new_volume(database)

    with database.transaction() as session:
        volumes.update(session, volume_id, name="renamed", provider_location="/srv/v1")

    volume = read_volume(database, volume_id)
    assert (volume.name, volume.provider_location) == ("renamed", "/srv/v1")
    assert volume.updated_at is not None


def test_update_of_a_missing_volume_raises_volume_not_found(database: Database) -> None:
    with pytest.raises(errors.VolumeNotFound), database.transaction() as session:
        volumes.update(session, "no-such-volume", name="renamed")


def test_delete_removes_the_volume_and_does_nothing_once_it_is_gone(database: Database) -> None:
    volume_id = new_volume(database)

    with database.transaction() as session:
        volumes.delete(session, volume_id)
    with database.transaction() as session:
        volumes.delete(session, volume_id)
        assert volumes.find(session, volume_id) is None


def test_compare_and_set_changes_the_status_when_it_is_the_expected_one(
    database: Database,
) -> None:
    volume_id = new_volume(database, status="creating")

    with database.transaction() as session:
        changed = volumes.set_status(
            session, volume_id, AVAILABLE, expected=["creating", "downloading"], host="local"
        )

    assert changed is True
    volume = read_volume(database, volume_id)
    assert (volume.status, volume.host) == ("available", "local")
    assert volume.updated_at is not None


def test_compare_and_set_changes_nothing_when_the_status_differs(database: Database) -> None:
    volume_id = new_volume(database, status="error", host="local")

    with database.transaction() as session:
        changed = volumes.set_status(
            session, volume_id, DELETING, expected=[AVAILABLE], host="elsewhere"
        )

    assert changed is False
    volume = read_volume(database, volume_id)
    assert (volume.status, volume.host, volume.updated_at) == ("error", "local", None)


def test_compare_and_set_without_an_expected_status_always_changes_it(
    database: Database,
) -> None:
    volume_id = new_volume(database, status="error")

    with database.transaction() as session:
        assert volumes.set_status(session, volume_id, DELETING) is True

    assert read_volume(database, volume_id).status == "deleting"


def test_compare_and_set_of_a_missing_volume_returns_false(database: Database) -> None:
    with database.transaction() as session:
        assert volumes.set_status(session, "no-such-volume", DELETING) is False
        assert volumes.set_status(session, "no-such-volume", DELETING, expected=[AVAILABLE]) is (
            False
        )


def test_set_status_and_get_returns_the_changed_row_or_none(database: Database) -> None:
    volume_id = new_volume(database, status="creating", volume_metadata={"k": "v"})

    with database.transaction() as session:
        held = volumes.get(session, volume_id)  # a copy this session holds is refreshed too
        row = volumes.set_status_and_get(
            session, volume_id, AVAILABLE, expected=["creating"], progress=None
        )
        missed = volumes.set_status_and_get(session, volume_id, DELETING, expected=["creating"])

    assert row is not None and missed is None
    assert (row.status, row.volume_metadata, held.status) == ("available", {"k": "v"}, "available")
    assert row.updated_at is not None
    assert read_volume(database, volume_id).status == "available"


def test_update_and_get_returns_the_row_and_refuses_a_missing_one(database: Database) -> None:
    volume_id = new_volume(database, status="creating")

    with database.transaction() as session:
        row = volumes.update_and_get(session, volume_id, create_step="started")
        with pytest.raises(errors.VolumeNotFound):
            volumes.update_and_get(session, "no-such-volume", create_step="started")

    assert (row.create_step, row.status) == ("started", "creating")
    assert read_volume(database, volume_id).create_step == "started"


def test_compare_and_set_is_read_back_in_the_same_transaction(database: Database) -> None:
    volume_id = new_volume(database)

    with database.transaction() as session:
        before = volumes.get(session, volume_id)
        assert before.status == "available"
        volumes.set_status(session, volume_id, DELETING, expected=[AVAILABLE])
        assert volumes.get(session, volume_id).status == "deleting"


def test_get_for_update_returns_the_volume_only_within_its_project(database: Database) -> None:
    type_id = "00000000-0000-4000-8000-000000000000"
    volume_id = new_volume(database, project_id="project-a", volume_type_id=type_id)

    with database.transaction() as session:
        volume = volumes.get_for_update(session, volume_id, project_id="project-a")
        assert volume.id == volume_id
        assert volume.volume_type_id == type_id
    with pytest.raises(errors.VolumeNotFound), database.transaction() as session:
        volumes.get_for_update(session, volume_id, project_id="project-b")
    with pytest.raises(errors.VolumeNotFound), database.transaction() as session:
        volumes.get_for_update(session, "no-such-volume")


class _WatchedWriterLock:
    """The SQLite database's one writer lock, noting when a thread finds it taken."""

    def __init__(self, lock: Any) -> None:
        self._lock = lock
        self.contended = threading.Event()

    def __enter__(self) -> None:
        if not self._lock.acquire(blocking=False):
            self.contended.set()
            self._lock.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()


def waiting_for_the_holder(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> Callable[[Session, Future[Any]], bool]:
    """A check, given the holder's session and the other transaction's future: True once that
    transaction is waiting for what the holder's holds, False if it finished (or a minute
    passed) without waiting. On PostgreSQL the server says who blocks whom; on SQLite,
    where one write lock serializes this process's transactions, the lock says so."""
    if database.is_sqlite:
        lock = _WatchedWriterLock(database._sqlite_writer)
        monkeypatch.setattr(database, "_sqlite_writer", lock)

        def waits(session: Session) -> bool:
            return lock.contended.is_set()
    else:
        blocked = sa.text(
            "SELECT EXISTS (SELECT 1 FROM pg_locks"
            " WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid)))"
        )

        def waits(session: Session) -> bool:
            return bool(session.scalar(blocked))

    def check(session: Session, other: Future[Any]) -> bool:
        deadline = time.monotonic() + 60
        while not waits(session):
            if other.done() or time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    return check


def test_get_for_update_holds_off_a_concurrent_writer_until_commit(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    volume_id = new_volume(database)
    writer_waits = waiting_for_the_holder(database, monkeypatch)

    def delete_if_available() -> bool:
        with database.transaction() as session:
            return volumes.set_status(session, volume_id, DELETING, expected=[AVAILABLE])

    pool = ThreadPoolExecutor(max_workers=1)
    try:
        with database.transaction() as session:
            volumes.get_for_update(session, volume_id)
            writer = pool.submit(delete_if_available)
            assert writer_waits(session, writer), "the writer went ahead while the row was locked"
            volumes.set_status(session, volume_id, VolumeStatus.EXTENDING)
        # the writer saw the committed status, not the one it read before waiting
        assert writer.result(timeout=60) is False
    finally:
        pool.shutdown()
    assert read_volume(database, volume_id).status == "extending"


def test_only_one_of_twenty_concurrent_compare_and_sets_wins(database: Database) -> None:
    volume_id = new_volume(database)
    attempts = 20
    start = threading.Barrier(attempts, timeout=60)

    def delete_if_available(_: int) -> bool:
        start.wait()
        with database.transaction() as session:
            return volumes.set_status(session, volume_id, DELETING, expected=[AVAILABLE])

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        results = list(pool.map(delete_if_available, range(attempts)))

    assert results.count(True) == 1
    assert read_volume(database, volume_id).status == "deleting"


# --- snapshots -----------------------------------------------------------------------------


def test_a_created_snapshot_reads_back_within_its_project_only(database: Database) -> None:
    volume_id = new_volume(database)
    snapshot_id = new_snapshot(database, volume_id, name="nightly", volume_size=5)

    with database.transaction() as session:
        snapshot = snapshots.get(session, snapshot_id, project_id="project-a")
        assert snapshots.find(session, snapshot_id, project_id="project-b") is None
        with pytest.raises(errors.SnapshotNotFound):
            snapshots.get(session, snapshot_id, project_id="project-b")
        with pytest.raises(errors.SnapshotNotFound):
            snapshots.get(session, "no-such-snapshot")

    assert (snapshot.volume_id, snapshot.name, snapshot.volume_size) == (volume_id, "nightly", 5)
    assert snapshot.snapshot_metadata == {}


def test_find_all_snapshots_keeps_only_those_matching_every_filter(database: Database) -> None:
    first_volume = new_volume(database)
    second_volume = new_volume(database, project_id="project-b")
    first = new_snapshot(database, first_volume)
    failed = new_snapshot(database, first_volume, status="error")
    other = new_snapshot(database, second_volume, project_id="project-b")

    def ids(**filters: Any) -> set[str]:
        with database.transaction() as session:
            return {snapshot.id for snapshot in snapshots.find_all(session, **filters)}

    assert ids() == {first, failed, other}
    assert ids(volume_id=first_volume) == {first, failed}
    assert ids(project_id="project-b") == {other}
    assert ids(volume_id=first_volume, statuses=["error"]) == {failed}


def test_count_for_volume_counts_snapshots_whatever_their_status(database: Database) -> None:
    volume_id = new_volume(database)
    untouched = new_volume(database)
    new_snapshot(database, volume_id)
    new_snapshot(database, volume_id, status="error")
    new_snapshot(database, volume_id, status="deleting")

    with database.transaction() as session:
        assert snapshots.count_for_volume(session, volume_id) == 3
        assert snapshots.count_for_volume(session, untouched) == 0


def test_snapshot_update_compare_and_set_and_delete(database: Database) -> None:
    snapshot_id = new_snapshot(database, new_volume(database), status="creating")

    with database.transaction() as session:
        snapshots.update(session, snapshot_id, provider_location="/srv/s1")
        assert not snapshots.set_status(session, snapshot_id, "deleting", expected=["available"])
        assert snapshots.set_status(session, snapshot_id, "available", expected=["creating"])
    with database.transaction() as session:
        snapshot = snapshots.get(session, snapshot_id)
        assert (snapshot.status, snapshot.provider_location) == ("available", "/srv/s1")
        snapshots.delete(session, snapshot_id)
    with database.transaction() as session:
        assert snapshots.find(session, snapshot_id) is None
        assert snapshots.set_status(session, snapshot_id, "deleting") is False
        with pytest.raises(errors.SnapshotNotFound):
            snapshots.update(session, snapshot_id, name="gone")


def test_a_volume_with_snapshots_cannot_be_deleted(database: Database) -> None:
    volume_id = new_volume(database)
    snapshot_id = new_snapshot(database, volume_id)

    with pytest.raises(errors.Conflict), database.transaction() as session:
        volumes.delete(session, volume_id)

    with database.transaction() as session:
        assert volumes.find(session, volume_id) is not None
        snapshots.delete(session, snapshot_id)
        volumes.delete(session, volume_id)
    with database.transaction() as session:
        assert volumes.find(session, volume_id) is None


def test_a_snapshot_of_a_missing_volume_is_refused(database: Database) -> None:
    with pytest.raises(errors.Conflict):
        new_snapshot(database, "no-such-volume")


# --- volume types --------------------------------------------------------------------------


def test_the_default_volume_type_exists_after_upgrade(database: Database) -> None:
    with database.transaction() as session:
        default = volume_types.get_default(session)
        names = [volume_type.name for volume_type in volume_types.find_all(session)]

    assert default.name == "__DEFAULT__"
    assert default.is_public is True
    assert default.extra_specs == {}
    assert names == ["__DEFAULT__"]


def test_a_created_volume_type_is_found_by_id_or_by_name(database: Database) -> None:
    with database.transaction() as session:
        created = volume_types.create(session, name="fast", extra_specs={"tier": "ssd"})

    with database.transaction() as session:
        by_id = volume_types.get(session, created.id)
        by_name = volume_types.get(session, "fast")
        assert volume_types.find(session, "slow") is None
        with pytest.raises(errors.VolumeTypeNotFound):
            volume_types.get(session, "slow")
        names = [volume_type.name for volume_type in volume_types.find_all(session)]

    assert by_id.id == by_name.id == created.id
    assert by_name.extra_specs == {"tier": "ssd"}
    assert by_name.is_public is True
    assert names == ["__DEFAULT__", "fast"]


def test_creating_a_volume_type_with_a_taken_name_raises_duplicate_name(
    database: Database,
) -> None:
    with database.transaction() as session:
        volume_types.create(session, name="fast")

    with pytest.raises(errors.DuplicateName), database.transaction() as session:
        volume_types.create(session, name="fast")
    with database.transaction() as session:
        assert [t.name for t in volume_types.find_all(session)] == ["__DEFAULT__", "fast"]


def test_a_volume_type_in_use_cannot_be_deleted(database: Database) -> None:
    with database.transaction() as session:
        type_id = volume_types.create(session, name="fast").id
    volume_id = new_volume(database, volume_type_id=type_id)

    with pytest.raises(errors.Conflict), database.transaction() as session:
        volume_types.delete(session, "fast")
    assert read_volume(database, volume_id).volume_type is not None

    with database.transaction() as session:
        volumes.delete(session, volume_id)
        volume_types.delete(session, "fast")
    with database.transaction() as session:
        assert volume_types.find(session, type_id) is None


def test_a_volume_cannot_reference_a_missing_volume_type(database: Database) -> None:
    with pytest.raises(errors.Conflict):
        new_volume(database, volume_type_id="no-such-type")


# --- user messages -------------------------------------------------------------------------


def test_user_messages_are_listed_per_project_and_resource(database: Database) -> None:
    def message(project_id: str, resource_uuid: str) -> str:
        with database.transaction() as session:
            return user_messages.create(
                session,
                project_id=project_id,
                resource_type="VOLUME",
                resource_uuid=resource_uuid,
                action="create volume",
                detail_code="backend_full",
                message="The storage backend has no space left to create the volume.",
            ).id

    first = message("project-a", "volume-1")
    second = message("project-a", "volume-2")
    other = message("project-b", "volume-3")

    with database.transaction() as session:
        by_project = [m.id for m in user_messages.find_all(session, project_id="project-a")]
        by_resource = [m.id for m in user_messages.find_all(session, resource_uuid="volume-2")]
        read = user_messages.get(session, other, project_id="project-b")

    assert set(by_project) == {first, second}
    assert by_resource == [second]
    assert (read.level, read.detail_code) == ("ERROR", "backend_full")


def test_another_projects_message_is_not_found_and_a_deleted_one_is_gone(
    database: Database,
) -> None:
    with database.transaction() as session:
        message_id = user_messages.create(
            session,
            project_id="project-a",
            resource_type="VOLUME",
            action="create volume",
            detail_code="invalid_input",
            message="Invalid value for 'size'.",
        ).id

    with database.transaction() as session:
        with pytest.raises(errors.MessageNotFound):
            user_messages.get(session, message_id, project_id="project-b")
        user_messages.delete(session, message_id)
    with pytest.raises(errors.MessageNotFound), database.transaction() as session:
        user_messages.get(session, message_id)


# --- outbox --------------------------------------------------------------------------------


def test_pending_outbox_entries_come_in_the_order_they_were_written(database: Database) -> None:
    events = ["volume.create.start", "volume.create.end", "volume.delete.start"]
    seqs = [add_entry(database, event) for event in events]

    with database.transaction() as session:
        first_two = outbox.pending(session, limit=2)

    assert seqs == sorted(seqs)
    assert [entry.event_type for entry in first_two] == events[:2]
    assert first_two[0].payload == {"event": "volume.create.start"}
    assert first_two[0].attempts == 0
    assert first_two[0].sent_at is None
    assert pending_events(database) == events


def test_a_sent_entry_leaves_the_pending_list_with_its_attempt_counted(
    database: Database,
) -> None:
    sent = add_entry(database, "volume.create.start")
    add_entry(database, "volume.create.end")

    with database.transaction() as session:
        outbox.mark_sent(session, [sent])
        outbox.mark_sent(session, [])

    assert pending_events(database) == ["volume.create.end"]
    with database.transaction() as session:
        entry = session.get(outbox.OutboxEntry, sent)
        assert entry is not None
        assert entry.attempts == 1
        assert entry.sent_at is not None


def test_a_failed_attempt_is_counted_and_the_entry_stays_pending(database: Database) -> None:
    seq = add_entry(database, "volume.create.end")

    for _ in range(2):
        with database.transaction() as session:
            outbox.record_failed_attempt(session, seq)

    with database.transaction() as session:
        [entry] = outbox.pending(session, limit=10)
    assert (entry.seq, entry.attempts, entry.sent_at) == (seq, 2, None)


def test_purge_sent_deletes_only_entries_sent_before_the_cutoff(database: Database) -> None:
    sent = add_entry(database, "volume.create.start")
    add_entry(database, "volume.create.end")
    with database.transaction() as session:
        outbox.mark_sent(session, [sent])

    with database.transaction() as session:
        assert outbox.purge_sent(session, before=datetime.now(UTC) - timedelta(hours=1)) == 0
    with database.transaction() as session:
        assert outbox.purge_sent(session, before=datetime.now(UTC) + timedelta(seconds=1)) == 1
    with database.transaction() as session:
        assert session.get(outbox.OutboxEntry, sent) is None
    assert pending_events(database) == ["volume.create.end"]


def test_outbox_subscribers_are_called_after_the_commit(database: Database) -> None:
    seen: list[list[str]] = []
    handed: list[list[str]] = []

    def subscriber(entries: list[outbox.OutboxEntry]) -> None:
        seen.append(pending_events(database))
        handed.append([entry.event_type for entry in entries])

    database.subscribe(outbox.TOPIC, subscriber)

    with database.transaction() as session:
        for event in ("volume.create.start", "volume.create.end"):
            outbox.add(session, event_type=event, priority="INFO", publisher_id="p", payload={})
        assert seen == []

    # called once, with the entries of the transaction, which were committed when it ran
    assert seen == [["volume.create.start", "volume.create.end"]]
    assert handed == [["volume.create.start", "volume.create.end"]]


def test_outbox_subscribers_are_not_called_when_the_transaction_rolls_back(
    database: Database,
) -> None:
    calls: list[str] = []
    database.subscribe(outbox.TOPIC, lambda entries: calls.append("called"))

    with pytest.raises(RuntimeError), database.transaction() as session:
        outbox.add(
            session, event_type="volume.create.end", priority="INFO", publisher_id="p", payload={}
        )
        raise RuntimeError("the change failed")

    assert calls == []
    assert pending_events(database) == []


def test_outbox_subscribers_are_not_called_for_transactions_without_entries(
    database: Database,
) -> None:
    calls: list[str] = []
    database.subscribe(outbox.TOPIC, lambda entries: calls.append("called"))

    new_volume(database)

    assert calls == []


def test_a_failing_subscriber_does_not_undo_the_commit(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(entries: list[outbox.OutboxEntry]) -> None:
        raise RuntimeError("relay is down")

    database.subscribe(outbox.TOPIC, fail)

    with caplog.at_level(logging.ERROR, logger="hearth.db.session"):
        add_entry(database, "volume.create.end")

    assert pending_events(database) == ["volume.create.end"]
    assert "after-commit subscriber" in caplog.text


# --- backends ------------------------------------------------------------------------------


def test_reporting_a_backend_again_refreshes_its_one_row(database: Database) -> None:
    report = {"driver": "file", "availability_zone": "nova", "clone_mode": "copy"}
    with database.transaction() as session:
        backends.report(session, "local", total_bytes=100, free_bytes=100, **report)
    with database.transaction() as session:
        first = backends.get(session, "local")

    with database.transaction() as session:
        backends.report(session, "local", free_bytes=40, capabilities={"thin": True}, **report)
    with database.transaction() as session:
        rows = backends.find_all(session)
        with pytest.raises(errors.BackendNotFound):
            backends.get(session, "remote")

    [second] = rows
    assert (second.name, second.total_bytes, second.free_bytes) == ("local", 100, 40)
    assert second.capabilities == {"thin": True}
    assert second.created_at == first.created_at
    assert first.reported_at is not None
    assert second.reported_at is not None
    assert second.reported_at >= first.reported_at


# --- column types --------------------------------------------------------------------------


def test_timestamps_come_back_timezone_aware_in_utc(database: Database) -> None:
    before = datetime.now(UTC)
    scheduled = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    volume_id = new_volume(database, scheduled_at=scheduled)
    with database.transaction() as session:
        volumes.set_status(session, volume_id, DELETING)
    after = datetime.now(UTC)

    volume = read_volume(database, volume_id)

    for stamp in (volume.created_at, volume.updated_at, volume.scheduled_at):
        assert stamp is not None
        assert stamp.tzinfo == UTC
    assert before <= volume.created_at <= after
    assert volume.scheduled_at == scheduled
    assert volume.scheduled_at.hour == 10


def test_json_fields_round_trip_unchanged(database: Database) -> None:
    metadata = {
        "owner": "Zoë",
        "tags": ["a", "b"],
        "nested": {"depth": 2, "ratio": 0.5, "on": True, "none": None},
    }
    volume_id = new_volume(database, volume_metadata=metadata)
    snapshot_id = new_snapshot(database, volume_id, snapshot_metadata={"k": [1, 2, 3]})
    with database.transaction() as session:
        type_id = volume_types.create(session, name="meta", extra_specs={"qos:iops": "100"}).id

    with database.transaction() as session:
        assert volumes.get(session, volume_id).volume_metadata == metadata
        assert snapshots.get(session, snapshot_id).snapshot_metadata == {"k": [1, 2, 3]}
        assert volume_types.get(session, type_id).extra_specs == {"qos:iops": "100"}


@pytest.mark.parametrize(
    "sort",
    [
        [("created_at", True)],
        [("created_at", False)],
        [("size", True), ("created_at", True)],
        [("size", False), ("name", True)],  # mixed directions, a nullable text key
    ],
)
def test_pages_after_markers_add_up_to_the_whole_list_in_order(
    database: Database, sort: list[tuple[str, bool]]
) -> None:
    same_time = datetime(2026, 1, 1, tzinfo=UTC)  # ties: the id decides
    for i in range(23):
        new_volume(
            database,
            size=1 + i % 3,
            name=None if i % 4 == 0 else f"v{i % 5}",
            created_at=same_time if i % 2 else same_time + timedelta(seconds=i),
        )
    filters = volumes.Filters(project_id="project-a")
    with database.read() as session:
        whole = [v.id for v in volumes.find_page(session, filters, sort)]
        pages: list[str] = []
        marker = None
        while True:
            page = volumes.find_page(session, filters, sort, limit=5, marker=marker)
            if not page:
                break
            pages += [v.id for v in page]
            marker = page[-1].id
    assert len(whole) == 23 and pages == whole
