"""Bad input through the library facade: each gets an error that names the problem, and
changes nothing -- no row, no backend volume, no message, no notification."""

from __future__ import annotations

from typing import Any

import pytest

from hearth import errors
from hearth.context import RequestContext
from hearth.db import models, snapshots, statuses, volumes
from hearth.service.facade import Hearth
from tests.fakes import FakeDriver
from tests.unchanged import Unchanged, rejects, unchanged

__all__ = ["unchanged"]  # fixture, imported for pytest

MISSING = "7f1f5b4e-0000-4000-8000-00000000dead"


@pytest.mark.parametrize(
    ("size", "fragment"),
    [
        (0, "between 1 and 16384 GiB, got 0"),
        (-3, "between 1 and 16384 GiB, got -3"),
        (16385, "got 16385"),
        ("abc", "must be an integer, got 'abc'"),
        (1.5, "must be an integer, got 1.5"),
        (True, "must be an integer, got True"),
        (None, "a size in GiB is required"),
    ],
)
def test_a_bad_size_is_rejected_and_names_the_field(
    hearth: Hearth, unchanged: Unchanged, size: Any, fragment: str
) -> None:
    error = rejects(unchanged, lambda: hearth.create_volume(size), errors.InvalidInput, fragment)
    assert error.fields["field"] == "size"
    assert error.status == 400


def test_a_size_given_as_digits_is_accepted(hearth: Hearth) -> None:
    assert hearth.create_volume("2").size == 2


def test_a_size_smaller_than_the_snapshot_is_rejected(hearth: Hearth, unchanged: Unchanged) -> None:
    source = hearth.create_volume(3)
    snap = hearth.create_snapshot(source.id)
    rejects(
        unchanged,
        lambda: hearth.create_volume(2, snapshot_id=snap.id),
        errors.InvalidInput,
        "'size'",
        "at least the snapshot's size of 3 GiB, got 2",
    )


def test_a_size_smaller_than_the_source_volume_is_rejected(
    hearth: Hearth, unchanged: Unchanged
) -> None:
    source = hearth.create_volume(5)
    rejects(
        unchanged,
        lambda: hearth.create_volume(4, source_volid=source.id),
        errors.InvalidInput,
        "at least the source volume's size of 5 GiB, got 4",
    )


def test_without_a_size_a_copy_takes_its_sources_size(hearth: Hearth) -> None:
    source = hearth.create_volume(3)
    assert hearth.create_volume(source_volid=source.id).size == 3


@pytest.mark.parametrize(
    ("field", "error", "kind"),
    [
        ("snapshot_id", errors.SnapshotNotFound, "Snapshot"),
        ("source_volid", errors.VolumeNotFound, "Volume"),
    ],
)
def test_a_source_that_does_not_exist_is_not_found(
    hearth: Hearth, unchanged: Unchanged, field: str, error: type[errors.HearthError], kind: str
) -> None:
    refused = rejects(
        unchanged,
        lambda: hearth.create_volume(1, **{field: MISSING}),
        error,
        f"{kind} {MISSING} could not be found",
    )
    assert refused.status == 404  # as Cinder answers


def test_a_snapshot_that_is_not_available_is_rejected(hearth: Hearth, unchanged: Unchanged) -> None:
    source = hearth.create_volume(1)
    snap = hearth.create_snapshot(source.id)
    with hearth.services.db.transaction() as session:
        snapshots.set_status(session, snap.id, statuses.SnapshotStatus.ERROR)
    rejects(
        unchanged,
        lambda: hearth.create_volume(1, snapshot_id=snap.id),
        errors.SourceNotAvailable,
        f"Snapshot {snap.id} is not available (its status is 'error')",
    )


def test_a_source_volume_that_is_not_available_is_rejected(
    hearth: Hearth, unchanged: Unchanged
) -> None:
    with hearth.services.db.transaction() as session:
        creating = volumes.create(
            session,
            project_id="admin",
            user_id="admin",
            size=1,
            status="creating",
            host="local",
            availability_zone="nova",
        )
    rejects(
        unchanged,
        lambda: hearth.create_volume(1, source_volid=creating.id),
        errors.SourceNotAvailable,
        "its status is 'creating'",
    )


def test_two_sources_at_once_are_rejected(hearth: Hearth, unchanged: Unchanged) -> None:
    source = hearth.create_volume(1)
    snap = hearth.create_snapshot(source.id)
    rejects(
        unchanged,
        lambda: hearth.create_volume(1, snapshot_id=snap.id, source_volid=source.id),
        errors.InvalidInput,
        "give only one source; snapshot_id and source_volid were given",
    )


def test_an_unknown_volume_type_is_not_found(hearth: Hearth, unchanged: Unchanged) -> None:
    refused = rejects(
        unchanged,
        lambda: hearth.create_volume(1, volume_type="platinum"),
        errors.VolumeTypeNotFound,
        "Volume type platinum could not be found",
    )
    assert refused.status == 404


def test_a_volume_type_may_be_named_by_name_or_id(hearth: Hearth) -> None:
    gold = hearth.create_volume_type("gold", extra_specs={"tier": "1"})
    assert hearth.create_volume(1, volume_type="gold").volume_type_id == gold.id
    assert hearth.create_volume(1, volume_type=gold.id).volume_type_id == gold.id
    assert hearth.create_volume(1).volume_type is not None


def test_an_unknown_availability_zone_is_rejected(hearth: Hearth, unchanged: Unchanged) -> None:
    rejects(
        unchanged,
        lambda: hearth.create_volume(1, availability_zone="mars"),
        errors.InvalidInput,
        "'availability_zone'",
        "'mars' is not one of ['nova']",
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "x" * 256}, "name"),
        ({"description": 42}, "description"),
        ({"metadata": ["a"]}, "metadata"),
        ({"metadata": {"k": 1}}, "metadata"),
        ({"snapshot_id": ""}, "snapshot_id"),
    ],
)
def test_malformed_fields_are_rejected_by_name(
    hearth: Hearth, unchanged: Unchanged, fields: dict[str, Any], field: str
) -> None:
    error = rejects(unchanged, lambda: hearth.create_volume(1, **fields), errors.InvalidInput)
    assert error.fields["field"] == field


def test_an_image_that_does_not_exist_is_rejected_by_field(
    hearth: Hearth, unchanged: Unchanged
) -> None:
    error = rejects(
        unchanged,
        lambda: hearth.create_volume(1, image_id=MISSING),
        errors.InvalidReference,
        "'image_id'",
        f"Image {MISSING} does not exist",
    )
    assert error.status == 400


def test_a_volume_with_snapshots_cannot_be_deleted(hearth: Hearth, unchanged: Unchanged) -> None:
    volume = hearth.create_volume(1)
    hearth.create_snapshot(volume.id)
    error = rejects(
        unchanged,
        lambda: hearth.delete_volume(volume.id),
        errors.VolumeHasSnapshots,
        "still has 1 snapshot(s)",
    )
    assert error.status == 409


def test_a_volume_being_created_cannot_be_deleted(hearth: Hearth, unchanged: Unchanged) -> None:
    with hearth.services.db.transaction() as session:
        creating = volumes.create(
            session,
            project_id="admin",
            user_id="admin",
            size=1,
            status="creating",
            host="local",
            availability_zone="nova",
        )
    error = rejects(
        unchanged,
        lambda: hearth.delete_volume(creating.id),
        errors.InvalidStatus,
        f"Cannot delete volume {creating.id}: its status is 'creating'",
    )
    assert error.status == 409


def test_deleting_a_volume_that_does_not_exist_is_not_found(
    hearth: Hearth, unchanged: Unchanged
) -> None:
    rejects(unchanged, lambda: hearth.delete_volume(MISSING), errors.VolumeNotFound)


@pytest.mark.parametrize(("new_size", "fragment"), [(1, "greater than the current 2"), ("x", "")])
def test_a_bad_extend_is_rejected(
    hearth: Hearth, unchanged: Unchanged, new_size: Any, fragment: str
) -> None:
    volume = hearth.create_volume(2)
    rejects(
        unchanged, lambda: hearth.extend_volume(volume.id, new_size), errors.InvalidInput, fragment
    )


def test_a_snapshot_of_a_volume_that_is_not_available_is_refused(
    hearth: Hearth, unchanged: Unchanged
) -> None:
    volume = hearth.create_volume(1)
    with hearth.services.db.transaction() as session:
        volumes.set_status(session, volume.id, statuses.VolumeStatus.ERROR)
    rejects(
        unchanged,
        lambda: hearth.create_snapshot(volume.id),
        errors.InvalidStatus,
        "Cannot snapshot volume",
    )


def test_another_projects_volumes_are_invisible(
    hearth: Hearth, project_a: RequestContext, project_b: RequestContext, unchanged: Unchanged
) -> None:
    mine = hearth.create_volume(1, context=project_a)
    snap = hearth.create_snapshot(mine.id, context=project_a)
    unchanged.mark()
    for call, error in [
        (lambda: hearth.get_volume(mine.id, context=project_b), errors.VolumeNotFound),
        (lambda: hearth.delete_volume(mine.id, context=project_b), errors.VolumeNotFound),
        (lambda: hearth.extend_volume(mine.id, 5, context=project_b), errors.VolumeNotFound),
        (lambda: hearth.create_snapshot(mine.id, context=project_b), errors.VolumeNotFound),
        (
            lambda: hearth.create_volume(1, source_volid=mine.id, context=project_b),
            errors.VolumeNotFound,
        ),
        (
            lambda: hearth.create_volume(1, snapshot_id=snap.id, context=project_b),
            errors.SnapshotNotFound,
        ),
        (lambda: hearth.delete_snapshot(snap.id, context=project_b), errors.SnapshotNotFound),
    ]:
        with pytest.raises(error):
            call()
    assert hearth.list_volumes(context=project_b) == []
    assert [v.id for v in hearth.list_volumes(context=project_a)] == [mine.id]


def test_a_successful_delete_removes_row_and_data(
    hearth: Hearth, fake_driver: FakeDriver, sent: Any
) -> None:
    volume = hearth.create_volume(1)
    hearth.delete_volume(volume.id)

    with pytest.raises(errors.VolumeNotFound):
        hearth.get_volume(volume.id)
    assert volume.id not in fake_driver.volumes
    assert [n.event_type for n in sent.received()][-2:] == [
        "volume.delete.start",
        "volume.delete.end",
    ]


def test_a_failed_backend_delete_leaves_the_row_in_error_deleting_with_a_message(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    volume = hearth.create_volume(1)
    fake_driver.fail("delete_volume", errors.BackendError(action="delete the volume"))

    hearth.delete_volume(volume.id)

    assert hearth.get_volume(volume.id).status == "error_deleting"
    [message] = hearth.list_messages(resource_id=volume.id)
    assert message.message == (
        "Failed to delete volume: The storage backend failed to delete the volume."
    )
    hearth.delete_volume(volume.id)  # an error_deleting volume can be deleted again
    assert volume.id not in fake_driver.volumes


def test_extend_grows_the_volume(hearth: Hearth, fake_driver: FakeDriver) -> None:
    volume = hearth.create_volume(1)
    assert hearth.extend_volume(volume.id, 3).size == 3
    assert fake_driver.volumes[volume.id].size == 3 << 30


def test_a_never_placed_volume_is_deleted_without_a_backend(hearth: Hearth) -> None:
    with hearth.services.db.transaction() as session:
        orphan: models.Volume = volumes.create(
            session,
            project_id="admin",
            user_id="admin",
            size=1,
            status="error",
            host=None,
            availability_zone="nova",
        )
    hearth.delete_volume(orphan.id)
    with pytest.raises(errors.VolumeNotFound):
        hearth.get_volume(orphan.id)
