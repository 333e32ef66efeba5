"""Each task of the create flow, its execute and revert called directly (no engine)."""

from __future__ import annotations

from typing import Any

import pytest
from taskflow.types import failure as ft

from hearth import errors
from hearth.db import images, models, statuses, volumes
from hearth.service.facade import Hearth
from hearth.volume import scheduling
from hearth.volume.drivers import base
from hearth.volume.flows import create_volume, sources
from tests.create_flow import (
    ADMIN,
    RecordingScheduler,
    creating_volume,
    messages_for,
)
from tests.fakes import FakeDriver, FakeVolume


def a_failure(error: BaseException) -> ft.Failure:
    try:
        raise error
    except type(error):
        return ft.Failure()


def status_of(hearth: Hearth, volume_id: str) -> str:
    return hearth.get_volume(volume_id).status


def test_extract_volume_ref_provides_the_row_as_it_is_now(hearth: Hearth) -> None:
    volume = creating_volume(hearth, name="before")
    with hearth.services.db.transaction() as session:
        volumes.update(session, volume.id, name="after")
    task = create_volume.ExtractVolumeRefTask(hearth.services.db, "local")

    refreshed = task.execute(ADMIN, volume)

    assert task.provides == {"refreshed"}
    assert refreshed.name == "after"


def test_extract_volume_ref_revert_sets_error_only_for_a_later_failure(hearth: Hearth) -> None:
    volume = creating_volume(hearth)
    quiet = create_volume.ExtractVolumeRefTask(hearth.services.db, "local", set_error=False)
    task = create_volume.ExtractVolumeRefTask(hearth.services.db, "local")
    later = {"x": a_failure(errors.BackendError(action="create the volume"))}

    quiet.revert(ADMIN, volume, volume, flow_failures=later)
    assert status_of(hearth, volume.id) == "creating"
    task.revert(ADMIN, volume, a_failure(errors.VolumeNotFound(volume_id=volume.id)))
    assert status_of(hearth, volume.id) == "creating"  # its own failure: nothing to undo
    task.revert(ADMIN, volume, volume, flow_failures=later)
    assert status_of(hearth, volume.id) == "error"
    assert messages_for(hearth, volume.id)[0].detail_code == "backend_error"


def test_on_failure_reschedule_execute_does_nothing(hearth: Hearth, fake_driver: Any) -> None:
    task = create_volume.OnFailureRescheduleTask(ADMIN, hearth.services.db, fake_driver, None, True)
    assert task.execute(volume=None) is None
    assert fake_driver.calls == ["do_setup"]


def test_on_failure_reschedule_revert_twice_is_safe(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    volume = creating_volume(hearth)
    fake_driver.volumes[volume.id] = FakeVolume(1 << 30)  # what a failed create left
    task = create_volume.OnFailureRescheduleTask(
        ADMIN, hearth.services.db, fake_driver, RecordingScheduler(), False
    )
    failures = {"t": a_failure(errors.BackendError(action="create the volume"))}
    for _ in range(2):
        task.revert(
            context=ADMIN,
            result=None,
            flow_failures=failures,
            volume=volume,
            request_spec=None,
            filter_properties=scheduling.FilterProperties(),
        )

    assert status_of(hearth, volume.id) == "error"
    assert volume.id not in fake_driver.volumes
    assert len(messages_for(hearth, volume.id)) == 1


def test_on_failure_reschedule_revert_clears_image_metadata_and_progress(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    volume = creating_volume(hearth, image_id=active_image_row(hearth).id)
    with hearth.services.db.transaction() as session:
        volumes.update(
            session,
            volume.id,
            volume_image_metadata={"image_id": volume.image_id},
            progress={"phase": "convert", "done": 1, "total": 2},
        )
    task = create_volume.OnFailureRescheduleTask(
        ADMIN, hearth.services.db, fake_driver, None, False
    )

    task.revert(
        context=ADMIN,
        result=None,
        flow_failures={"t": a_failure(errors.ImageChecksumMismatch(image_id="x"))},
        volume=volume,
        request_spec=None,
        filter_properties=scheduling.FilterProperties(),
    )

    row = hearth.get_volume(volume.id)
    assert (row.status, row.volume_image_metadata, row.progress) == ("error", None, None)
    assert messages_for(hearth, volume.id)[0].detail_code == "image_checksum_mismatch"


def test_on_failure_reschedule_keeps_the_host_when_cleanup_fails(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    volume = creating_volume(hearth)
    scheduler = RecordingScheduler()
    fake_driver.fail("delete_volume", errors.BackendError(action="delete the volume"))
    task = create_volume.OnFailureRescheduleTask(
        ADMIN, hearth.services.db, fake_driver, scheduler, True
    )

    task.revert(
        context=ADMIN,
        result=None,
        flow_failures={"t": a_failure(errors.BackendError(action="create the volume"))},
        volume=volume,
        request_spec=scheduling.RequestSpec(volume.id, volume.size),
        filter_properties=scheduling.FilterProperties(scheduling.Attempts(number=1)),
    )

    assert scheduler.casts == []  # never reschedule while leftovers remain here
    row = hearth.get_volume(volume.id)
    assert (row.status, row.host) == ("error", "local")


@pytest.mark.parametrize(
    ("source", "expected_type"),
    [(None, "raw"), ("snapshot", "snap"), ("volume", "source_vol"), ("image", "image")],
)
def test_extract_volume_spec_names_the_source_type(
    hearth: Hearth, source: str | None, expected_type: str
) -> None:
    parent = hearth.create_volume(size=1)
    fields: dict[str, Any] = {"size": 2}
    if source == "snapshot":
        fields["snapshot_id"] = hearth.create_snapshot(parent.id).id
    elif source == "volume":
        fields["source_volid"] = parent.id
    elif source == "image":
        fields["image_id"] = active_image_row(hearth).id
    volume = creating_volume(hearth, **fields)
    task = create_volume.ExtractVolumeSpecTask(hearth.services.db)

    spec = task.execute(ADMIN, volume, None)

    assert task.provides == {"volume_spec"}
    assert spec.type == expected_type
    assert spec.volume == base.VolumeRef(volume.id, 2, None)
    if source == "volume":
        assert spec.source_volume is not None
        assert spec.source_volume.id == parent.id
        assert spec.source_volstatus == "available"
    if source == "snapshot":
        assert spec.source_snapshot is not None
        assert spec.source_snapshot.volume_id == parent.id
    if source == "image":
        assert spec.image is not None
        assert spec.image.id == fields["image_id"]
        assert spec.source_bootable is True


def active_image_row(hearth: Hearth) -> models.Image:
    """An image row as the store leaves an upload (no file: the task reads the row only)."""
    with hearth.services.db.transaction() as session:
        return images.create(
            session,
            name="row-only",
            owner="admin",
            visibility="private",
            disk_format="raw",
            container_format="bare",
            status=statuses.ImageStatus.ACTIVE,
            size=1 << 20,
            checksum="0" * 32,
            os_hash_algo="sha256",
            os_hash_value="0" * 64,
            virtual_size=1 << 20,
            updated_at=models.utcnow(),
        )


@pytest.mark.parametrize("source", ["snapshot", "volume"])
def test_extract_volume_spec_reads_the_image_metadata_its_source_carries(
    hearth: Hearth, source: str
) -> None:
    parent = hearth.create_volume(size=1)
    with hearth.services.db.transaction() as session:
        volumes.update(session, parent.id, volume_image_metadata={"image_id": "i1"})
    if source == "snapshot":
        volume = creating_volume(hearth, snapshot_id=hearth.create_snapshot(parent.id).id)
    else:
        volume = creating_volume(hearth, source_volid=parent.id)

    spec = create_volume.ExtractVolumeSpecTask(hearth.services.db).execute(ADMIN, volume, None)

    assert spec.source_image_metadata == {"image_id": "i1"}
    assert spec.image_metadata() == {"image_id": "i1"}


def test_create_volume_from_spec_records_the_images_properties_but_not_reserved_ones(
    hearth: Hearth, fake_driver: FakeDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = active_image_row(hearth)
    properties = {"os_distro": "cirros", "hw_disk_bus": "scsi", "owner": "x", "size": "1"}
    with hearth.services.db.transaction() as session:
        images.update(session, image.id, properties={**properties, "image_id": "forged"})
    volume = creating_volume(hearth, image_id=image.id)
    spec = create_volume.ExtractVolumeSpecTask(hearth.services.db).execute(ADMIN, volume, None)
    made = base.ModelUpdate(provider_location="cloned-by-the-backend")
    monkeypatch.setattr(fake_driver, "clone_image", lambda volume, image: made)
    manager = hearth.services.managers["local"]
    task = create_volume.CreateVolumeFromSpecTask(manager, hearth.services.db, fake_driver)

    task.execute(ADMIN, volume, spec)

    row = hearth.get_volume(volume.id)
    assert row.provider_location == "cloned-by-the-backend"
    assert row.volume_image_metadata == {
        "image_id": image.id,
        "image_name": "row-only",
        "checksum": "0" * 32,
        "container_format": "bare",
        "disk_format": "raw",
        "min_disk": 0,
        "min_ram": 0,
        "size": 1 << 20,
        "os_distro": "cirros",
        "hw_disk_bus": "scsi",
    }


def test_extract_volume_spec_refuses_a_source_on_another_backend(hearth: Hearth) -> None:
    parent = hearth.create_volume(size=1)
    with hearth.services.db.transaction() as session:
        volumes.update(session, parent.id, host="other")
    volume = creating_volume(hearth, source_volid=parent.id)

    with pytest.raises(errors.Invalid, match="held by another backend"):
        create_volume.ExtractVolumeSpecTask(hearth.services.db).execute(ADMIN, volume, None)


def test_extract_volume_spec_revert_restores_the_source_status(hearth: Hearth) -> None:
    parent = hearth.create_volume(size=1)
    volume = creating_volume(hearth, source_volid=parent.id)
    task = create_volume.ExtractVolumeSpecTask(hearth.services.db)
    spec = task.execute(ADMIN, volume, None)
    with hearth.services.db.transaction() as session:
        volumes.set_status(session, parent.id, statuses.VolumeStatus.EXTENDING)

    task.revert(ADMIN, spec)
    assert status_of(hearth, parent.id) == "available"
    task.revert(ADMIN, a_failure(errors.VolumeNotFound(volume_id="x")))  # no-op
    assert status_of(hearth, parent.id) == "available"


def test_notify_volume_action_queues_the_event_and_never_raises(hearth: Hearth, sent: Any) -> None:
    volume = creating_volume(hearth)
    task = create_volume.NotifyVolumeActionTask(hearth.services.db, "create.start")

    task.execute(ADMIN, volume)
    with hearth.services.db.transaction() as session:
        volumes.delete(session, volume.id)
    task.execute(ADMIN, volume)  # the row is gone: logged, not raised

    [event] = sent.received("volume.create.start")
    assert event.payload["volume_id"] == volume.id
    assert event.publisher_id == "volume.local"


@pytest.mark.parametrize("suffix", ["", None])
def test_notify_volume_action_with_no_event_suffix_sends_nothing_and_does_not_fail(
    hearth: Hearth, sent: Any, suffix: str | None
) -> None:
    volume = creating_volume(hearth)
    sent.clear()
    task = create_volume.NotifyVolumeActionTask(hearth.services.db, suffix)

    task.execute(ADMIN, volume)

    assert task.name == "NotifyVolumeActionTask;volume:create"
    assert sent.received() == []
    assert hearth.get_volume(volume.id).create_step is None  # no journal step either


def test_create_volume_on_finish_with_no_event_suffix_sets_available_and_sends_nothing(
    hearth: Hearth, sent: Any
) -> None:
    volume = creating_volume(hearth)
    sent.clear()

    create_volume.CreateVolumeOnFinishTask(hearth.services.db, None).execute(ADMIN, volume, None)

    assert status_of(hearth, volume.id) == "available"
    assert sent.received() == []


def test_create_volume_from_spec_stores_the_drivers_model_update(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    volume = creating_volume(hearth, size=2)
    spec = sources.VolumeSpec(
        type="raw", volume=base.VolumeRef(volume.id, 2), volume_name=None, status="creating"
    )
    task = create_volume.CreateVolumeFromSpecTask(None, hearth.services.db, fake_driver)

    task.execute(ADMIN, volume, spec)

    assert hearth.get_volume(volume.id).provider_location == f"fake:{volume.id}"
    assert fake_driver.volumes[volume.id].size == 2 << 30


def test_create_volume_from_spec_rejects_an_unknown_source_type(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    volume = creating_volume(hearth)
    spec = sources.VolumeSpec(
        type="tape", volume=base.VolumeRef(volume.id, 1), volume_name=None, status="creating"
    )
    task = create_volume.CreateVolumeFromSpecTask(None, hearth.services.db, fake_driver)

    with pytest.raises(errors.SourceNotSupported, match="'tape'"):
        task.execute(ADMIN, volume, spec)
    assert volume.id not in fake_driver.volumes


def test_create_volume_on_finish_sets_available_and_never_raises(hearth: Hearth, sent: Any) -> None:
    volume = creating_volume(hearth)
    task = create_volume.CreateVolumeOnFinishTask(hearth.services.db, "create.end")

    task.execute(ADMIN, volume, None)
    row = hearth.get_volume(volume.id)
    assert row.status == "available"
    assert row.launched_at is not None
    assert sent.received("volume.create.end")[0].payload["status"] == "available"

    with hearth.services.db.transaction() as session:
        volumes.delete(session, volume.id)
    task.execute(ADMIN, volume, None)  # gone: logged, not raised


def test_create_volume_on_finish_does_not_revive_a_volume_that_left_creating(
    hearth: Hearth,
) -> None:
    volume = creating_volume(hearth)
    with hearth.services.db.transaction() as session:
        volumes.set_status(session, volume.id, statuses.VolumeStatus.ERROR)

    create_volume.CreateVolumeOnFinishTask(hearth.services.db, "create.end").execute(
        ADMIN, volume, None
    )

    assert status_of(hearth, volume.id) == "error"


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        (errors.BackendError(action="create the volume"), True),
        (errors.ImageFetchFailed(image_id="i"), True),
        (errors.BackendSourceMissing(kind="snapshot", source_id="s"), False),
        (errors.ImageTooBig(image_id="i", reason="too big"), False),
        (errors.HearthError(), False),
        (RuntimeError("a driver's bug"), True),
        (ValueError("untranslated"), True),
        (KeyboardInterrupt(), False),
        (None, False),
    ],
)
def test_the_class_of_a_hearth_error_decides_and_a_foreign_exception_is_rescheduled(
    cause: BaseException | None, expected: bool
) -> None:
    assert create_volume.may_reschedule(cause) is expected
