"""The seed's create-volume flow run through the real TaskFlow engine, with the fake driver.

The stories that matter: success per source type; a driver failure reverted to ``error``;
rescheduling on and off; terminal failures never rescheduled; stale requests that must
change nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from hearth import errors
from hearth.db import backends, models, snapshots, statuses, volumes
from hearth.service.facade import Hearth
from hearth.volume import scheduling
from hearth.volume.flows import create_volume
from tests.create_flow import (
    ADMIN,
    RecordingScheduler,
    creating_volume,
    messages_for,
    retry_record,
    run_flow,
)
from tests.fakes import FakeDriver


def allocated_gb(hearth: Hearth, backend: str = "local") -> int:
    with hearth.services.db.transaction() as session:
        return backends.get(session, backend).allocated_capacity_gb


def event_types(sent: Any, volume_id: str) -> list[str]:
    return [n.event_type for n in sent.received() if n.payload.get("volume_id") == volume_id]


def test_raw_create_ends_available_with_start_and_end_notifications(
    hearth: Hearth, fake_driver: FakeDriver, sent: Any
) -> None:
    volume = hearth.create_volume(size=3, name="raw")

    assert volume.status == "available"
    assert volume.launched_at is not None
    assert volume.provider_location == f"fake:{volume.id}"
    assert fake_driver.volumes[volume.id].size == 3 << 30
    assert event_types(sent, volume.id) == ["volume.create.start", "volume.create.end"]
    end = sent.received("volume.create.end")[-1].payload
    assert end["status"] == "available"
    assert end["size"] == 3
    assert end["host"] == "local"
    assert end["launched_at"] is not None


def test_the_usage_payload_of_create_end_carries_cinders_keys(
    hearth: Hearth, fake_driver: FakeDriver, sent: Any
) -> None:
    volume = hearth.create_volume(size=1, name="usage", metadata={"tier": "gold"})

    end = sent.received("volume.create.end")[-1].payload
    assert set(end) == {
        "volume_id",
        "display_name",
        "tenant_id",
        "user_id",
        "size",
        "volume_type",
        "availability_zone",
        "status",
        "host",
        "created_at",
        "launched_at",
        "snapshot_id",
        "source_volid",
        "image_id",
        "backup_id",
        "metadata",
        "glance_metadata",
        "volume_attachment",
        "replication_status",
        "replication_extended_status",
        "replication_driver_data",
    }
    assert end["volume_id"] == volume.id
    assert end["metadata"] == {"tier": "gold"}
    assert end["glance_metadata"] == {}  # not made from an image
    assert end["volume_attachment"] == []
    assert end["replication_status"] == "disabled"
    assert (end["replication_extended_status"], end["replication_driver_data"]) == (None, None)
    start = sent.received("volume.create.start")[-1].payload
    assert set(start) == set(end)


def test_create_from_snapshot_holds_its_data_and_inherits_bootable(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    source = hearth.create_volume(size=1)
    with hearth.services.db.transaction() as session:
        volumes.update(session, source.id, bootable=True)
    fake_driver.volumes[source.id].write(4096, b"snapshot me")
    snap = hearth.create_snapshot(source.id)
    fake_driver.volumes[source.id].write(4096, b"changed!!!!")

    volume = hearth.create_volume(size=2, snapshot_id=snap.id)

    assert volume.status == "available"
    assert volume.bootable is True
    assert fake_driver.volumes[volume.id].size == 2 << 30
    assert fake_driver.volumes[volume.id].read(4096, 11) == b"snapshot me"


def test_clone_of_a_volume_holds_its_data_at_the_requested_size(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    source = hearth.create_volume(size=1)
    fake_driver.volumes[source.id].write(0, b"original")

    clone = hearth.create_volume(size=4, source_volid=source.id)

    assert clone.status == "available"
    assert clone.bootable is False
    assert fake_driver.volumes[clone.id].read(0, 8) == b"original"
    assert fake_driver.volumes[clone.id].size == 4 << 30
    assert hearth.get_volume(source.id).status == "available"


IMAGE_METADATA = {
    "image_id": "1b9a6f5e-0000-4000-8000-000000000001",
    "image_name": "cirros",
    "disk_format": "qcow2",
    "os_distro": "cirros",
}


def volume_from_an_image(hearth: Hearth) -> models.Volume:
    """An available volume as a create from an image leaves it (its image metadata)."""
    source = hearth.create_volume(size=1)
    with hearth.services.db.transaction() as session:
        volumes.update(session, source.id, bootable=True, volume_image_metadata=IMAGE_METADATA)
    return hearth.get_volume(source.id)


def test_a_snapshot_keeps_its_volumes_image_metadata_and_a_volume_from_it_carries_it(
    hearth: Hearth, fake_driver: FakeDriver, sent: Any
) -> None:
    source = volume_from_an_image(hearth)
    snap = hearth.create_snapshot(source.id)
    with hearth.services.db.transaction() as session:
        volumes.update(session, source.id, volume_image_metadata={"image_id": "changed"})

    volume = hearth.create_volume(size=2, snapshot_id=snap.id)

    with hearth.services.db.transaction() as session:
        assert snapshots.get(session, snap.id).volume_image_metadata == IMAGE_METADATA
    assert (volume.status, volume.bootable) == ("available", True)
    assert volume.volume_image_metadata == IMAGE_METADATA  # as it was when snapshotted
    end = sent.received("volume.create.end")[-1].payload
    assert (end["volume_id"], end["glance_metadata"]) == (volume.id, IMAGE_METADATA)


def test_a_clone_carries_its_sources_image_metadata(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    source = volume_from_an_image(hearth)

    clone = hearth.create_volume(size=1, source_volid=source.id)

    assert (clone.status, clone.bootable) == ("available", True)
    assert clone.volume_image_metadata == IMAGE_METADATA
    assert hearth.get_volume(source.id).volume_image_metadata == IMAGE_METADATA


def test_copies_of_a_volume_without_image_metadata_have_none(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    source = hearth.create_volume(size=1)
    snap = hearth.create_snapshot(source.id)

    clone = hearth.create_volume(size=1, source_volid=source.id)
    from_snapshot = hearth.create_volume(size=1, snapshot_id=snap.id)

    with hearth.services.db.transaction() as session:
        assert snapshots.get(session, snap.id).volume_image_metadata is None
    assert (clone.volume_image_metadata, from_snapshot.volume_image_metadata) == (None, None)


def test_a_failed_clone_keeps_no_image_metadata(hearth: Hearth, fake_driver: FakeDriver) -> None:
    source = volume_from_an_image(hearth)
    fake_driver.fail("create_cloned_volume", errors.BackendError(action="clone"), after=True)
    volume = creating_volume(hearth, source_volid=source.id)

    with pytest.raises(errors.BackendError):
        run_flow(hearth, volume, allow_reschedule=False, retry=retry_record())

    row = hearth.get_volume(volume.id)
    assert (row.status, row.volume_image_metadata) == ("error", None)


def test_driver_failure_reverts_to_error_with_a_user_message_and_leaves_no_volume(
    hearth: Hearth, fake_driver: FakeDriver, sent: Any
) -> None:
    fake_driver.fail(
        "create_volume", errors.BackendError(action="create the volume", detail="/x"), after=True
    )

    volume = hearth.create_volume(size=1)

    assert volume.status == "error"
    assert volume.host is None  # nothing is left on the backend: its claim was released
    assert volume.reschedule_count == 1
    assert volume.id not in fake_driver.volumes  # it was made, then removed by the revert
    [message] = messages_for(hearth, volume.id)
    assert message.detail_code == "no_valid_backend"  # rescheduled, but no other backend
    assert message.message == (
        "Failed to create volume: No backend can take the volume: every backend that could "
        "take it failed (local); the last failure: The storage backend failed to create "
        "the volume."
    )
    assert "/x" not in message.message
    assert event_types(sent, volume.id) == ["volume.create.start", "volume.create.error"]
    assert sent.received("volume.create.error")[-1].payload["status"] == "error"


def test_an_unexpected_exception_becomes_an_internal_error_message_without_a_traceback(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    volume = creating_volume(hearth)
    fake_driver.fail("create_volume", ZeroDivisionError("secret internals"))

    with pytest.raises(ZeroDivisionError):
        run_flow(hearth, volume, allow_reschedule=False, retry=retry_record())

    assert hearth.get_volume(volume.id).status == "error"
    [message] = messages_for(hearth, volume.id)
    assert message.detail_code == "internal_error"
    assert "secret internals" not in message.message
    assert "Traceback" not in message.message
    assert message.request_id is not None
    assert message.request_id in message.message


def test_an_unexpected_exception_is_rescheduled_and_its_last_cause_stays_generic(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    fake_driver.fail("create_volume", ZeroDivisionError("secret internals"))

    volume = hearth.create_volume(size=1)  # rescheduled; no other backend: error

    assert volume.status == "error"
    assert (volume.reschedule_count, volume.backends_tried) == (1, ["local"])
    assert volume.last_reschedule_cause == "internal_error: An internal error occurred."
    [message] = messages_for(hearth, volume.id)
    assert message.detail_code == "no_valid_backend"
    assert message.message == (
        "Failed to create volume: No backend can take the volume: every backend that could "
        "take it failed (local); the last failure: An internal error occurred."
    )
    assert "Traceback" not in message.message


@pytest.mark.parametrize("foreign", [RuntimeError("driver bug at /srv/x"), ValueError("bad")])
def test_a_foreign_exception_from_the_driver_reschedules_to_another_backend(
    hearth: Hearth, fake_driver: FakeDriver, foreign: Exception
) -> None:
    scheduler = RecordingScheduler()
    volume = creating_volume(hearth)
    fake_driver.fail("create_volume", foreign, after=True)

    with pytest.raises(type(foreign)):
        run_flow(hearth, volume, scheduler=scheduler, retry=retry_record())

    [cast] = scheduler.casts
    retry = cast["filters"]["retry"]
    assert (retry["num_attempts"], retry["backends"]) == (1, ["local"])
    assert (retry["exc_code"], retry["exc_reason"]) == (
        "internal_error",
        "An internal error occurred.",
    )
    row = hearth.get_volume(volume.id)
    assert (row.status, row.host) == ("creating", None)
    assert allocated_gb(hearth) == 0
    assert volume.id not in fake_driver.volumes  # made, then removed by the revert
    assert messages_for(hearth, volume.id) == []


def test_a_terminal_hearth_error_from_the_driver_is_not_rescheduled(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    scheduler = RecordingScheduler()
    volume = creating_volume(hearth)
    fake_driver.fail("create_volume", errors.HearthError(detail="the driver gave up"))

    with pytest.raises(errors.HearthError):
        run_flow(hearth, volume, scheduler=scheduler, retry=retry_record())

    assert scheduler.casts == []
    row = hearth.get_volume(volume.id)
    assert (row.status, row.host, row.reschedule_count) == ("error", None, 0)
    [message] = messages_for(hearth, volume.id)
    assert message.detail_code == "internal_error"
    assert "gave up" not in message.message


def test_a_row_deleted_before_the_flow_fails_cleanly_in_extract_volume_ref(
    hearth: Hearth, fake_driver: FakeDriver, sent: Any
) -> None:
    volume = creating_volume(hearth)
    with hearth.services.db.transaction() as session:
        volumes.delete(session, volume.id)
    sent.clear()

    with pytest.raises(errors.VolumeNotFound):
        run_flow(hearth, volume)

    assert "create_volume" not in fake_driver.calls
    assert "delete_volume" not in fake_driver.calls
    assert messages_for(hearth, volume.id) == []
    assert sent.received() == []


def test_a_stale_request_for_a_finished_volume_changes_nothing(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    volume = hearth.create_volume(size=1)
    fake_driver.volumes[volume.id].write(0, b"user data")

    with pytest.raises(errors.InvalidStatus):
        run_flow(hearth, volume)

    assert hearth.get_volume(volume.id).status == "available"
    assert fake_driver.volumes[volume.id].read(0, 9) == b"user data"


def test_a_request_for_a_volume_placed_on_another_backend_changes_nothing(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    volume = creating_volume(hearth, host="elsewhere")

    with pytest.raises(errors.Conflict):
        run_flow(hearth, volume)

    row = hearth.get_volume(volume.id)
    assert (row.status, row.host) == ("creating", "elsewhere")
    assert fake_driver.calls.count("create_volume") == 0


def test_with_rescheduling_off_a_reschedulable_failure_ends_in_error(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    scheduler = RecordingScheduler()
    volume = creating_volume(hearth)
    fake_driver.fail("create_volume", errors.BackendFull(action="create the volume"))

    with pytest.raises(errors.BackendFull):
        run_flow(hearth, volume, scheduler=scheduler, allow_reschedule=False, retry=retry_record())

    assert scheduler.casts == []
    row = hearth.get_volume(volume.id)
    assert (row.status, row.host) == ("error", None)  # nothing left there: claim released
    assert allocated_gb(hearth) == 0
    assert messages_for(hearth, volume.id)[0].detail_code == "backend_full"


def test_with_rescheduling_on_the_scheduler_gets_the_attempt_and_cause_and_the_host_is_cleared(
    hearth: Hearth, fake_driver: FakeDriver, sent: Any
) -> None:
    scheduler = RecordingScheduler()
    volume = creating_volume(hearth)
    fake_driver.fail("create_volume", errors.BackendError(action="create the volume"), after=True)

    with pytest.raises(errors.BackendError):
        run_flow(
            hearth,
            volume,
            scheduler=scheduler,
            retry=retry_record(1, ("local",)),
        )

    [cast] = scheduler.casts
    assert cast["volume_id"] == volume.id
    retry = cast["filters"]["retry"]
    assert retry["num_attempts"] == 1
    assert retry["backends"] == ["local"]
    assert retry["exc_code"] == "backend_error"
    assert retry["exc_reason"] == "The storage backend failed to create the volume."
    row = hearth.get_volume(volume.id)
    assert row.status == "creating"
    assert row.host is None
    assert allocated_gb(hearth) == 0  # the failed backend got its capacity back
    assert row.reschedule_count == 1
    assert row.last_reschedule_cause == (
        "backend_error: The storage backend failed to create the volume."
    )
    assert volume.id not in fake_driver.volumes
    assert messages_for(hearth, volume.id) == []
    assert "volume.create.error" not in event_types(sent, volume.id)


def test_a_terminal_failure_is_not_rescheduled_even_when_rescheduling_is_on(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    scheduler = RecordingScheduler()
    source = hearth.create_volume(size=1)
    snap = hearth.create_snapshot(source.id)
    del fake_driver.snapshots[snap.id]  # the backend lost the snapshot's data
    volume = creating_volume(hearth, snapshot_id=snap.id)

    with pytest.raises(errors.BackendSourceMissing):
        run_flow(hearth, volume, scheduler=scheduler, retry=retry_record())

    assert scheduler.casts == []
    assert hearth.get_volume(volume.id).status == "error"
    assert messages_for(hearth, volume.id)[0].detail_code == "backend_source_missing"


def test_a_failed_cast_to_the_scheduler_puts_the_volume_in_error(
    hearth: Hearth, fake_driver: FakeDriver, sent: Any
) -> None:
    scheduler = RecordingScheduler(fail=True)
    volume = creating_volume(hearth)
    fake_driver.fail("create_volume", errors.BackendError(action="create the volume"))

    with pytest.raises(errors.BackendError):
        run_flow(hearth, volume, scheduler=scheduler, retry=retry_record(1, ("local",)))

    [cast] = scheduler.casts  # the reschedule was attempted, and the bus refused it
    assert cast["volume_id"] == volume.id
    assert cast["filters"]["retry"]["exc_code"] == "backend_error"
    row = hearth.get_volume(volume.id)
    assert (row.status, row.host) == ("error", None)
    assert allocated_gb(hearth) == 0
    [message] = messages_for(hearth, volume.id)
    assert message.detail_code == "backend_error"  # the create's failure, not the bus's
    assert message.message == (
        "Failed to create volume: The storage backend failed to create the volume."
    )
    assert event_types(sent, volume.id) == ["volume.create.start", "volume.create.error"]


def test_an_image_deleted_before_the_flow_fails_terminally_and_makes_nothing(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    scheduler = RecordingScheduler()
    volume = creating_volume(hearth, image_id="0b6e5d1c-0000-4000-8000-000000000001")

    with pytest.raises(errors.ImageNotAvailable):
        run_flow(hearth, volume, scheduler=scheduler, retry=retry_record())

    assert scheduler.casts == []
    assert fake_driver.volumes == {}
    assert hearth.get_volume(volume.id).status == "error"
    [message] = messages_for(hearth, volume.id)
    assert message.detail_code == "image_not_available"
    assert "is not available: it was deleted" in message.message


def test_a_snapshot_that_stopped_being_available_fails_before_the_driver_is_called(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    source = hearth.create_volume(size=1)
    snap = hearth.create_snapshot(source.id)
    volume = creating_volume(hearth, snapshot_id=snap.id)
    with hearth.services.db.transaction() as session:
        snapshots.set_status(session, snap.id, statuses.SnapshotStatus.DELETING)

    with pytest.raises(errors.SourceNotAvailable):
        run_flow(hearth, volume)

    assert "create_volume_from_snapshot" not in fake_driver.calls
    assert messages_for(hearth, volume.id)[0].detail_code == "source_not_available"


def test_a_notification_driver_failure_never_fails_a_create(
    hearth: Hearth, fake_driver: FakeDriver, sent: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}

    def broken(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        raise RuntimeError("outbox is broken")

    monkeypatch.setattr(create_volume.notifications, "emit_volume", broken)

    volume = hearth.create_volume(size=1)

    assert volume.status == "available"
    assert volume.launched_at is not None
    assert calls["n"] >= 2  # create.start and create.end were both attempted


def test_concurrent_creates_all_end_available(hearth: Hearth, fake_driver: FakeDriver) -> None:
    import threading

    results: list[str] = []

    def create() -> None:
        for _ in range(5):
            results.append(hearth.create_volume(size=1).status)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == ["available"] * 40
    assert len(fake_driver.volumes) == 40


def test_flows_reuse_finished_flows_tasks_but_never_share_them_while_running(
    hearth: Hearth,
) -> None:
    manager = hearth.services.managers["local"]

    def tasks_of(engine: Any) -> set[int]:
        return {id(atom) for atom in engine.compilation.execution_graph.nodes}

    def loaded(volume: models.Volume) -> Any:
        engine = create_volume.get_flow(
            ADMIN, manager, hearth.services.db, manager.driver, None, "local",
            volume, False, ADMIN, scheduling.RequestSpec(volume.id, volume.size),
            scheduling.FilterProperties(),
        )  # fmt: skip
        engine.compile()
        return engine

    first, second = loaded(creating_volume(hearth)), loaded(creating_volume(hearth))
    assert not tasks_of(first) & tasks_of(second)  # both could run at once

    first.run()
    third = loaded(creating_volume(hearth))

    assert len(tasks_of(first) & tasks_of(third)) == 5  # all but OnFailureRescheduleTask


def test_a_flow_given_another_driver_gets_tasks_built_with_that_driver(hearth: Hearth) -> None:
    manager = hearth.services.managers["local"]
    other_driver = FakeDriver()

    def create_task(driver: Any) -> Any:
        engine = create_volume.get_flow(
            ADMIN, manager, hearth.services.db, driver, None, "local",
            creating_volume(hearth), False, ADMIN, None, scheduling.FilterProperties(),
        )  # fmt: skip
        engine.run()  # done: its tasks go back to the pool
        engine.compile()
        (task,) = [
            atom
            for atom in engine.compilation.execution_graph.nodes
            if isinstance(atom, create_volume.CreateVolumeFromSpecTask)
        ]
        return task

    assert create_task(manager.driver).driver is manager.driver
    assert create_task(other_driver).driver is other_driver
    assert create_task(manager.driver).driver is manager.driver
