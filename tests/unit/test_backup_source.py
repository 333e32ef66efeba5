"""Creating a volume from a backup, with the fake driver: the request's refusals (which
change nothing), the ``backup`` spec of ``ExtractVolumeSpecTask``, the creator, and the
backup's hold (``restoring`` during the create, ``available`` after it, whatever its end).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from hearth import errors
from hearth.context import RequestContext
from hearth.db import backends, restores, statuses, volumes
from hearth.db import backups as backup_rows
from hearth.image import convert
from hearth.service.facade import Hearth
from hearth.volume.drivers import base
from hearth.volume.flows import sources
from tests import backups
from tests.create_flow import (
    RecordingScheduler,
    creating_volume,
    messages_for,
    retry_record,
    run_flow,
)
from tests.fakes import FakeDriver
from tests.unchanged import Unchanged, rejects, unchanged

__all__ = ["unchanged"]  # fixture, imported for pytest

MiB = 1 << 20
MISSING = "7f1f5b4e-0000-4000-8000-00000000dead"
PIECES = {0: b"head" * 1024, 5 * MiB + 17: b"middle" * 700, 8 * MiB - 4096: b"T" * 4096}


@pytest.fixture
def disk(tmp_path: Path) -> Path:
    """An 8 MiB sparse file with data at its start, middle and end."""
    return backups.write_at(tmp_path / "disk.raw", 8 * MiB, PIECES)


def expected_bytes() -> dict[int, int]:
    return {
        offset + index: byte
        for offset, data in PIECES.items()
        for index, byte in enumerate(data)
        if byte
    }


def status_of(hearth: Hearth, backup_id: str) -> tuple[str, str | None]:
    row = backups.get(hearth, backup_id)
    return row.status, row.restore_volume_id


# the request: refused before anything is written


@pytest.mark.parametrize("status", ["creating", "error", "deleting", "restoring", "error_deleting"])
def test_a_backup_that_is_not_available_is_refused_with_400_and_changes_nothing(
    hearth: Hearth, unchanged: Unchanged, status: str
) -> None:
    backup = backups.backup_row(hearth, status=status)
    error = rejects(
        unchanged,
        lambda: hearth.create_volume(backup_id=backup.id),
        errors.SourceNotAvailable,
        f"Backup {backup.id} is not available (its status is '{status}')",
    )
    assert error.status == 400
    assert status_of(hearth, backup.id) == (status, None)


def test_a_missing_backup_is_not_found(hearth: Hearth, unchanged: Unchanged) -> None:
    error = rejects(
        unchanged,
        lambda: hearth.create_volume(backup_id=MISSING),
        errors.BackupNotFound,
        f"Backup {MISSING} could not be found",
    )
    assert error.status == 404


def test_another_projects_backup_is_not_found_and_stays_available(
    hearth: Hearth, unchanged: Unchanged, project_a: RequestContext
) -> None:
    theirs = backups.backup_row(hearth, project_id="project-b", user_id="bob")
    rejects(
        unchanged,
        lambda: hearth.create_volume(backup_id=theirs.id, context=project_a),
        errors.BackupNotFound,
    )
    assert status_of(hearth, theirs.id) == ("available", None)


def test_a_size_smaller_than_the_backup_is_refused_naming_the_size(
    hearth: Hearth, unchanged: Unchanged
) -> None:
    backup = backups.backup_row(hearth, size=3)
    error = rejects(
        unchanged,
        lambda: hearth.create_volume(2, backup_id=backup.id),
        errors.InvalidInput,
        "must be at least the backup's size of 3 GiB, got 2",
    )
    assert error.fields["field"] == "size"
    assert status_of(hearth, backup.id) == ("available", None)


def test_a_backup_with_another_source_is_refused(hearth: Hearth, unchanged: Unchanged) -> None:
    backup = backups.backup_row(hearth)
    rejects(
        unchanged,
        lambda: hearth.create_volume(1, backup_id=backup.id, image_id=MISSING),
        errors.InvalidInput,
        "give only one source",
    )


@pytest.mark.parametrize("bad", ["", 42, ["x"]])
def test_a_malformed_backup_id_is_refused_by_name(
    hearth: Hearth, unchanged: Unchanged, bad: Any
) -> None:
    error = rejects(unchanged, lambda: hearth.create_volume(1, backup_id=bad), errors.InvalidInput)
    assert error.fields["field"] == "backup_id"


# the spec


def spec_for(hearth: Hearth, **fields: Any) -> sources.VolumeSpec:
    row = creating_volume(hearth, **fields)
    with hearth.services.db.read() as session:
        return sources.read_spec(session, row)


def test_the_spec_of_a_volume_from_a_backup_carries_its_id_size_and_status(
    hearth: Hearth,
) -> None:
    backup = backups.backup_row(hearth, size=2)

    spec = spec_for(hearth, size=3, backup_id=backup.id)

    assert (spec.type, spec.backup_id, spec.backup_size, spec.backup_status) == (
        "backup",
        backup.id,
        2,
        "available",
    )
    assert sources.creator_for(spec) is sources.create_from_backup


def test_the_spec_accepts_a_backup_its_own_volume_holds_and_refuses_one_held_by_another(
    hearth: Hearth,
) -> None:
    backup = backups.backup_row(hearth, status="restoring", restore_volume_id=MISSING)
    with pytest.raises(errors.SourceNotAvailable, match="'restoring'"):
        spec_for(hearth, backup_id=backup.id)
    row = creating_volume(hearth, backup_id=backup.id)
    with hearth.services.db.transaction() as session:
        backup_rows.update(session, backup.id, restore_volume_id=row.id)
        assert sources.read_spec(session, row).backup_status == "restoring"


def test_the_spec_refuses_a_missing_backup_and_a_volume_smaller_than_its_backup(
    hearth: Hearth,
) -> None:
    with pytest.raises(errors.BackupNotFound):
        spec_for(hearth, backup_id=MISSING)
    big = backups.backup_row(hearth, size=2)
    with pytest.raises(errors.Invalid, match=r"the volume \(1 GiB\) is smaller than backup"):
        spec_for(hearth, size=1, backup_id=big.id)


# the create, end to end with the fake driver


class WatchingDriver(FakeDriver):
    """Records the backup's status while the volume's data is written."""

    def __init__(self) -> None:
        super().__init__()
        self.hearth: Hearth | None = None
        self.seen: list[tuple[str, str | None]] = []

    def copy_image_to_volume(self, volume: base.VolumeRef, write: Any) -> Any:
        assert self.hearth is not None
        with self.hearth.services.db.read() as session:
            row = volumes.get(session, volume.id)
        assert row.backup_id is not None
        self.seen.append(status_of(self.hearth, row.backup_id))
        return super().copy_image_to_volume(volume, write)


@pytest.fixture
def fake_driver() -> FakeDriver:
    return WatchingDriver()


def test_a_volume_from_a_backup_holds_its_bytes_and_the_backup_is_restoring_meanwhile(
    hearth: Hearth, fake_driver: WatchingDriver, disk: Path, sent: Any
) -> None:
    fake_driver.hearth = hearth
    backup = backups.backed_up(hearth, disk)

    volume = hearth.create_volume(backup_id=backup.id, name="restored")

    assert volume.status == "available"
    assert (volume.size, volume.backup_id) == (1, backup.id)  # the backup's size by default
    assert fake_driver.seen == [("restoring", volume.id)]
    assert status_of(hearth, backup.id) == ("available", None)
    assert backups.get(hearth, backup.id).progress is None
    assert volume.progress is None
    stored = fake_driver.volumes[volume.id]
    assert stored.size == 1 << 30
    assert stored.data == expected_bytes()
    events = [n for n in sent.received() if n.payload.get("volume_id") == volume.id]
    assert [n.event_type for n in events] == ["volume.create.start", "volume.create.end"]
    assert all(n.payload["backup_id"] == backup.id for n in events)
    assert events[-1].payload["status"] == "available"


def test_a_larger_volume_from_a_backup_reads_zeros_past_the_backups_data(
    hearth: Hearth, fake_driver: WatchingDriver, disk: Path
) -> None:
    fake_driver.hearth = hearth
    backup = backups.backed_up(hearth, disk)

    volume = hearth.create_volume(3, backup_id=backup.id)

    assert volume.status == "available"
    assert fake_driver.volumes[volume.id].size == 3 << 30
    assert fake_driver.volumes[volume.id].data == expected_bytes()


def test_a_corrupted_chunk_fails_the_create_terminally_and_frees_the_backup(
    hearth: Hearth, fake_driver: WatchingDriver, disk: Path, sent: Any
) -> None:
    fake_driver.hearth = hearth
    backup = backups.backed_up(hearth, disk)
    key = backups.damage_chunk(hearth, backup.id)
    scheduler = RecordingScheduler()
    volume = creating_volume(hearth, backup_id=backup.id)
    with hearth.services.db.transaction() as session:
        assert restores.hold(session, backup.id, volume.id)  # as the request layer does

    with pytest.raises(errors.BackupCorrupt, match=key):
        run_flow(hearth, volume, scheduler=scheduler, retry=retry_record())

    assert scheduler.casts == []  # terminal: another backend reads the same repository
    row = hearth.get_volume(volume.id)
    assert (row.status, row.progress) == ("error", None)
    assert volume.id not in fake_driver.volumes
    [message] = messages_for(hearth, volume.id)
    assert message.detail_code == "backup_corrupt"
    assert f"Backup {backup.id} is corrupt" in message.message and key in message.message
    assert status_of(hearth, backup.id) == ("available", None)
    assert [n.event_type for n in sent.received() if n.payload.get("volume_id") == volume.id][
        -1
    ] == "volume.create.error"


def test_a_backup_reset_to_error_after_the_request_fails_the_create_terminally(
    hearth: Hearth, fake_driver: WatchingDriver
) -> None:
    backup = backups.backup_row(hearth)
    volume = creating_volume(hearth, backup_id=backup.id)
    with hearth.services.db.transaction() as session:
        backup_rows.set_status(session, backup.id, statuses.BackupStatus.ERROR)
    scheduler = RecordingScheduler()

    with pytest.raises(errors.SourceNotAvailable):
        run_flow(hearth, volume, scheduler=scheduler, retry=retry_record())

    assert scheduler.casts == []
    assert "copy_image_to_volume" not in fake_driver.calls
    assert messages_for(hearth, volume.id)[0].detail_code == "source_not_available"
    assert status_of(hearth, backup.id) == ("error", None)  # not ours: left as it is


def test_a_missing_backup_fails_in_the_spec_and_is_never_rescheduled(
    hearth: Hearth, fake_driver: WatchingDriver
) -> None:
    scheduler = RecordingScheduler()
    volume = creating_volume(hearth, backup_id=MISSING)

    with pytest.raises(errors.BackupNotFound):
        run_flow(hearth, volume, scheduler=scheduler, retry=retry_record())

    assert scheduler.casts == []
    assert fake_driver.volumes == {}
    assert messages_for(hearth, volume.id)[0].detail_code == "backup_not_found"


def test_a_backend_failure_reschedules_keeping_the_backup_then_an_error_frees_it(
    hearth: Hearth, fake_driver: WatchingDriver, disk: Path
) -> None:
    fake_driver.hearth = hearth
    backup = backups.backed_up(hearth, disk)
    volume = creating_volume(hearth, backup_id=backup.id)
    scheduler = RecordingScheduler()
    fake_driver.fail("copy_image_to_volume", errors.BackendFull(action="write the volume"))

    with pytest.raises(errors.BackendFull):
        run_flow(hearth, volume, scheduler=scheduler, retry=retry_record())

    [cast] = scheduler.casts  # no room here: another backend may have it
    assert cast["volume_id"] == volume.id
    assert status_of(hearth, backup.id) == ("restoring", volume.id)  # still this create's
    with hearth.services.db.transaction() as session:
        backends.claim(session, "local", volume.size)
        volumes.update(session, volume.id, host="local")
    fake_driver.fail("copy_image_to_volume", errors.BackendFull(action="write the volume"))

    with pytest.raises(errors.BackendFull):
        run_flow(hearth, volume, allow_reschedule=False)

    assert hearth.get_volume(volume.id).status == "error"
    assert status_of(hearth, backup.id) == ("available", None)


def test_a_manager_without_a_backup_repository_refuses_the_source(
    hearth: Hearth, fake_driver: WatchingDriver
) -> None:
    backup = backups.backup_row(hearth)
    volume = creating_volume(hearth, backup_id=backup.id)
    hearth.services.managers["local"].backup_repository = None
    try:
        with pytest.raises(errors.SourceNotSupported, match="a backup on this backend"):
            run_flow(hearth, volume)
    finally:
        hearth.services.managers["local"].backup_repository = hearth.services.backup_repository


def test_the_restored_data_path_keeps_holes_as_holes(
    hearth: Hearth, fake_driver: WatchingDriver, disk: Path, tmp_path: Path
) -> None:
    """The fake driver keeps non-zero bytes only; the written file is checked here."""
    backup = backups.backed_up(hearth, disk)
    files: list[int] = []
    real = FakeDriver.copy_image_to_volume

    def measured(self: FakeDriver, volume: base.VolumeRef, write: Any) -> Any:
        def observe(target: convert.Target) -> None:
            write(target)
            assert target.local_path is not None
            files.append(os.stat(target.local_path).st_blocks * 512)

        return real(self, volume, observe)

    fake_driver.copy_image_to_volume = measured.__get__(fake_driver)  # type: ignore[method-assign]
    volume = hearth.create_volume(backup_id=backup.id)

    assert volume.status == "available"
    [allocated] = files
    assert allocated <= 3 * MiB  # three pieces of data in a 1 GiB volume
