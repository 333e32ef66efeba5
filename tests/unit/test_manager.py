"""The volume manager around the flow: source locks, snapshots, capacity reports."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from hearth import coordination, errors
from hearth.context import RequestContext
from hearth.db import backends, statuses, volumes
from hearth.service.facade import Hearth
from tests.fakes import BlockingCloneDriver, FakeDriver


@pytest.fixture
def blocking_driver() -> BlockingCloneDriver:
    return BlockingCloneDriver()


@pytest.fixture
def fake_driver(blocking_driver: BlockingCloneDriver) -> FakeDriver:
    return blocking_driver


def test_a_clone_holds_its_sources_delete_lock_for_the_whole_create(
    hearth: Hearth, blocking_driver: BlockingCloneDriver
) -> None:
    source = hearth.create_volume(1)
    result: dict[str, Any] = {}
    worker = threading.Thread(
        target=lambda: result.setdefault("clone", hearth.create_volume(source_volid=source.id))
    )
    worker.start()
    assert blocking_driver.cloning.wait(10)

    other = coordination.Locks(hearth.services.settings.lock_url)
    other.start()
    lock = other._coordinator.get_lock(coordination.volume_delete_lock(source.id).encode())
    try:
        assert lock.acquire(blocking=False) is False  # a delete would wait here
        blocking_driver.finish.set()
        worker.join(10)
        assert lock.acquire(blocking=5) is True
        lock.release()
    finally:
        other.stop()

    assert result["clone"].status == "available"


def test_a_failed_snapshot_is_left_in_error_with_a_message(
    hearth: Hearth, blocking_driver: BlockingCloneDriver
) -> None:
    volume = hearth.create_volume(1)
    blocking_driver.fail("create_snapshot", errors.BackendFull(action="snapshot the volume"))

    snap = hearth.create_snapshot(volume.id)

    assert snap.status == "error"
    [message] = hearth.list_messages(resource_id=snap.id)
    assert message.detail_code == "backend_full"
    assert message.message == (
        "Failed to create snapshot: The storage backend has no space left to snapshot the volume."
    )
    hearth.delete_snapshot(snap.id)
    assert hearth.list_snapshots() == []


def test_capacity_is_reported_at_start_and_after_changes(
    hearth: Hearth, blocking_driver: BlockingCloneDriver
) -> None:
    manager = hearth.services.managers["local"]
    with hearth.services.db.transaction() as session:
        first = backends.get(session, "local")
    assert first.provisioned_bytes == 0
    assert first.clone_mode == "fake"

    hearth.create_volume(2)
    manager.report_stats_if_pending()

    with hearth.services.db.transaction() as session:
        assert backends.get(session, "local").provisioned_bytes == 2 << 30


def test_a_delete_arriving_while_the_create_still_ends_waits_for_it_instead_of_being_dropped(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    volume = hearth.create_volume(1)
    manager = hearth.services.managers["local"]
    with hearth.services.db.transaction() as session:
        volumes.set_status(session, volume.id, statuses.VolumeStatus.DELETING)
    admin = RequestContext(user_id="admin", project_id="admin", is_admin=True)
    done = threading.Event()

    with manager._exclusive(volume.id):  # the create's tail: its row is already available
        deleting = threading.Thread(
            target=lambda: (manager.delete_volume(admin, volume.id), done.set())
        )
        deleting.start()
        assert not done.wait(0.3)  # it waits rather than returns
    deleting.join(10)

    assert done.is_set()
    assert volume.id not in fake_driver.volumes
    with hearth.services.db.read() as session:
        assert volumes.find(session, volume.id) is None
    manager.delete_volume(admin, volume.id)  # a duplicate after it finds nothing to do
