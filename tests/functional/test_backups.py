"""Backups through the facade on real files: the file driver's volumes, the backup service
in process, the repository in the data directory.

Each test writes data at the start, the middle and the end of a 1 GiB sparse volume, backs
it up (full, then incremental), restores (into a new volume, onto an existing one) and
compares every byte; a sparse volume stays sparse; a corrupted chunk fails the restore with
a message and leaves the target's bytes as they were, not ``available``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hearth import errors
from hearth.db import backup_services, statuses, volumes
from hearth.service import wiring
from hearth.service.facade import Hearth
from tests.conftest import Sent, make_settings, open_hearth
from tests.waiting import wait_until

MiB = 1 << 20
GiB = 1 << 30
START, MIDDLE, END = 0, GiB // 2 + 12345, GiB - 3 * MiB


@pytest.fixture
def hearth(tmp_path: Path) -> Iterator[Hearth]:
    opened = open_hearth(make_settings(tmp_path / "data", backup={"chunk_size_mb": 1}))
    yield opened
    opened.close()


@pytest.fixture
def sent(hearth: Hearth) -> Sent:
    return Sent(hearth)


def noise(length: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(length)


def write(path: Path, writes: dict[int, bytes]) -> None:
    with path.open("r+b") as volume:
        for offset, data in writes.items():
            volume.seek(offset)
            volume.write(data)


def volume_with_data(hearth: Hearth, size: int = 1) -> tuple[str, Path]:
    volume = hearth.create_volume(size)
    assert volume.status == "available"
    path = hearth.volume_path(volume.id)
    write(path, {START: noise(3 * MiB, 1), MIDDLE: b"hearth " * 200_000, END: noise(3 * MiB, 2)})
    return volume.id, path


def data_ranges(path: Path) -> list[tuple[int, int]]:
    """The file's data extents (SEEK_DATA/SEEK_HOLE); everything else reads as zeros."""
    found = []
    with path.open("rb") as file:
        fd, size, offset = file.fileno(), path.stat().st_size, 0
        while offset < size:
            try:
                start = os.lseek(fd, offset, os.SEEK_DATA)
            except OSError:  # ENXIO: no data after offset
                break
            offset = os.lseek(fd, start, os.SEEK_HOLE)
            found.append((start, offset))
    return found


def digest(path: Path, *, with_size: bool = True) -> str:
    """A hash of every byte of the file in a form holes cannot change: its size, and each
    4 KiB block that is not all zeros with its offset (holes are zeros by definition, and
    reading 1 GiB of them costs seconds on a loaded machine)."""
    hasher = hashlib.sha256(str(path.stat().st_size if with_size else "").encode())
    zero = bytes(4096)
    with path.open("rb") as file:
        for start, end in data_ranges(path):
            file.seek(start)
            data = file.read(end - start)
            for at in range(0, len(data), 4096):
                block = data[at : at + 4096]
                if block != zero[: len(block)]:
                    hasher.update((start + at).to_bytes(8, "big") + block)
    return hasher.hexdigest()


def test_a_full_backup_restores_every_byte_into_a_new_volume_that_stays_sparse(
    hearth: Hearth, sent: Sent
) -> None:
    volume_id, path = volume_with_data(hearth)

    backup = hearth.create_backup(volume_id, name="full")

    assert backup.status == "available", backup.fail_reason
    assert backup.object_count > 0 and backup.parent_id is None
    assert hearth.get_volume(volume_id).status == "available"
    assert not list(path.parent.glob(".backup-*"))  # the temporary snapshot is gone
    restored = hearth.restore_backup(backup.id)
    assert restored.status == "available"
    assert restored.name == f"restore_backup_{backup.id}"
    target = hearth.volume_path(restored.id)
    assert digest(target) == digest(path)
    assert target.stat().st_size == GiB
    assert target.stat().st_blocks * 512 < 32 * MiB  # 7 MiB of data, not 1 GiB
    assert hearth.get_backup(backup.id).status == "available"
    kinds = [n.event_type for n in sent.received() if n.event_type.startswith("backup.")]
    assert kinds == [
        "backup.create.start",
        "backup.create.end",
        "backup.restore.start",
        "backup.restore.end",
    ]
    payload = sent.received("backup.create.end")[0].payload
    assert payload["backup_id"] == backup.id and payload["status"] == "available"
    assert {"tenant_id", "user_id", "availability_zone", "size", "volume_id"} <= set(payload)


def test_an_incremental_backup_restores_onto_an_existing_volume_and_delete_frees_chunks(
    hearth: Hearth,
) -> None:
    volume_id, path = volume_with_data(hearth)
    full = hearth.create_backup(volume_id)
    first = digest(path)
    write(path, {MIDDLE: b"changed " * 1000, END + MiB: noise(MiB, 3)})
    incremental = hearth.create_backup(volume_id, incremental=True)
    assert incremental.status == "available", incremental.fail_reason
    assert incremental.parent_id == full.id
    assert hearth.count_dependent_backups(full.id) == 1
    other = hearth.create_volume(2)
    other_path = hearth.volume_path(other.id)

    volume = hearth.restore_backup(incremental.id, volume_id=other.id)

    assert volume.status == "available"
    assert other_path.stat().st_size == 2 * GiB  # the volume keeps its size
    # every byte: the backup's, then zeros up to the larger volume's end
    assert digest(other_path, with_size=False) == digest(path, with_size=False)
    hearth.restore_backup(full.id, volume_id=volume_id)
    assert digest(path) == first

    with pytest.raises(errors.BackupHasDependents) as refused:
        hearth.delete_backup(full.id)
    assert refused.value.status == 400
    assert hearth.get_backup(full.id).status == "available"
    repository = hearth.services.backup_repository()
    hearth.delete_backup(incremental.id)
    hearth.delete_backup(full.id)
    assert list(repository.keys("chunk")) == [] and list(repository.keys("manifest")) == []
    assert hearth.list_backups() == []


def test_a_corrupted_chunk_fails_the_restore_with_a_message_and_keeps_the_target(
    hearth: Hearth,
) -> None:
    volume_id, _path = volume_with_data(hearth)
    backup = hearth.create_backup(volume_id)
    repository_dir = hearth.services.settings.backup_directory
    chunk = next(p for p in repository_dir.rglob("*") if p.is_file() and "chunk" in str(p))
    chunk.write_bytes(b"not what was stored")
    target = hearth.create_volume(1)
    target_path = hearth.volume_path(target.id)
    write(target_path, {0: b"keep me"})

    hearth.restore_backup(backup.id, volume_id=target.id)

    assert hearth.get_volume(target.id).status == "error_restoring"
    with target_path.open("rb") as kept:
        assert kept.read(7) == b"keep me"
    failed = hearth.get_backup(backup.id)
    assert failed.status == "error" and failed.fail_reason and "corrupt" in failed.fail_reason
    (message,) = hearth.list_messages(resource_id=backup.id)
    assert message.message.startswith("Failed to restore backup")
    assert not list(target_path.parent.glob(".restore-*"))


def test_an_in_use_volume_needs_force_and_returns_to_in_use(hearth: Hearth) -> None:
    volume_id, _path = volume_with_data(hearth)
    with hearth.services.db.transaction() as session:
        volumes.set_status(session, volume_id, "in-use")

    with pytest.raises(errors.InvalidStatus):
        hearth.create_backup(volume_id)
    backup = hearth.create_backup(volume_id, force=True)

    assert backup.status == "available"
    assert hearth.get_volume(volume_id).status == "in-use"
    hearth.volume_path(volume_id).unlink()  # the next backup cannot read it
    failed = hearth.create_backup(volume_id, force=True)
    assert failed.status == "error" and failed.fail_reason
    assert hearth.get_volume(volume_id).status == "in-use"
    (message,) = hearth.list_messages(resource_id=failed.id)
    assert message.message.startswith("Failed to create backup")


def test_a_backup_of_a_snapshot_reads_the_snapshot_and_leaves_the_volume_alone(
    hearth: Hearth,
) -> None:
    volume_id, path = volume_with_data(hearth)
    before = digest(path)
    snapshot = hearth.create_snapshot(volume_id)
    write(path, {0: b"after the snapshot"})

    backup = hearth.create_backup(volume_id, snapshot_id=snapshot.id)

    assert backup.status == "available" and backup.snapshot_id == snapshot.id
    restored = hearth.restore_backup(backup.id)
    assert digest(hearth.volume_path(restored.id)) == before


def test_bad_restores_and_backups_are_refused_and_change_nothing(hearth: Hearth) -> None:
    volume_id, _path = volume_with_data(hearth, size=2)
    backup = hearth.create_backup(volume_id)
    small = hearth.create_volume(1)

    with pytest.raises(errors.InvalidInput, match="volume_id"):
        hearth.restore_backup(backup.id, volume_id=small.id)
    with pytest.raises(errors.VolumeNotFound):
        hearth.restore_backup(backup.id, volume_id="no-such-volume")
    with pytest.raises(errors.BackupNotFound):
        hearth.restore_backup("no-such-backup")
    with pytest.raises(errors.InvalidInput, match="incremental"):
        hearth.create_backup(small.id, incremental=True)
    with pytest.raises(errors.InvalidInput, match="force"):
        hearth.create_backup(small.id, force="yes")
    with pytest.raises(errors.VolumeNotFound):
        hearth.create_backup("no-such-volume")

    assert hearth.get_volume(small.id).status == "available"
    assert hearth.get_backup(backup.id).status == "available"
    assert len(hearth.list_backups()) == 1
    assert len(hearth.list_volumes()) == 2


def test_reset_status_force_delete_export_and_import(hearth: Hearth) -> None:
    volume_id, _path = volume_with_data(hearth)
    backup = hearth.create_backup(volume_id, name="exported", metadata={"k": "v"})
    record = hearth.export_backup_record(backup.id)
    assert record["backup_service"] == "posix"

    with pytest.raises(errors.Conflict):
        hearth.import_backup_record(record["backup_service"], record["backup_url"])
    with pytest.raises(errors.InvalidInput, match="backup_url"):
        hearth.import_backup_record("posix", "bm90IGEgcmVjb3Jk")
    with pytest.raises(errors.InvalidInput, match="backup_service"):
        hearth.import_backup_record("swift", record["backup_url"])
    with pytest.raises(errors.InvalidInput, match="status"):
        hearth.reset_backup_status(backup.id, "creating")
    hearth.reset_backup_status(backup.id, "error")
    assert hearth.get_backup(backup.id).status == "error"
    with hearth.services.db.transaction() as session:  # the row is lost, the data is not
        from hearth.db import backups

        backups.delete(session, backup.id)
    imported = hearth.import_backup_record("posix", record["backup_url"])
    assert imported.id == backup.id and imported.status == "available"
    assert imported.name == "exported" and imported.backup_metadata == {"k": "v"}
    restored = hearth.restore_backup(imported.id)
    assert restored.status == "available"
    with hearth.services.db.transaction() as session:
        from hearth.db import backups

        backups.set_status(session, backup.id, statuses.BackupStatus.ERROR_DELETING)
    with pytest.raises(errors.InvalidStatus):
        hearth.delete_backup(backup.id)
    hearth.delete_backup(backup.id, force=True)
    assert hearth.list_backups() == []


def test_a_record_imported_under_a_new_id_shares_the_chunks_until_both_are_deleted(
    hearth: Hearth,
) -> None:
    volume_id, path = volume_with_data(hearth)
    original = hearth.create_backup(volume_id)
    record = hearth.export_backup_record(original.id)
    decoded = json.loads(base64.b64decode(record["backup_url"]))
    decoded["id"] = str(uuid.uuid4())  # as Tempest's import test does
    url = base64.b64encode(json.dumps(decoded).encode()).decode()

    imported = hearth.import_backup_record("posix", url)

    assert imported.id == decoded["id"] and imported.status == "available"
    assert imported.object_count == original.object_count
    hearth.delete_backup(original.id)
    restored = hearth.restore_backup(imported.id)
    assert digest(hearth.volume_path(restored.id)) == digest(path)
    hearth.delete_backup(imported.id)
    assert list(hearth.services.backup_repository().keys("chunk")) == []


def test_the_backup_role_consumes_its_queue_heartbeats_and_owns_its_name(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", scheduler={"report_interval": 0.1})
    services = wiring.build(settings, roles={"backup"})
    services.start()
    try:
        assert services.backup_manager is not None and services.consumers() == 1
        with services.db.read() as session:
            first = backup_services.find_all(session)[0].reported_at
        assert first is not None
        assert wait_until(lambda: _reported_at(services) > first, timeout=10)
        twin = wiring.build(settings, roles={"backup"})
        with pytest.raises(errors.BackendBusy, match="backup service backup"):
            twin.start()
        twin.stop()
    finally:
        services.stop()


def _reported_at(services: wiring.Services) -> Any:
    with services.db.read() as session:
        return backup_services.find_all(session)[0].reported_at


def test_backups_count_against_the_projects_backup_quotas(tmp_path: Path) -> None:
    """The ``backups`` quota refuses a backup over it (413 naming the quota), changing
    nothing; a deleted backup gives its usage back, and usage always equals the recount."""
    hearth = open_hearth(make_settings(tmp_path / "data", quotas={"backups": 1}))
    try:
        volume = hearth.create_volume(1)
        first = hearth.create_backup(volume.id)
        assert first.status == "available"
        with pytest.raises(errors.QuotaExceeded, match="backups"):
            hearth.create_backup(volume.id, name="one too many")
        assert [b.id for b in hearth.list_backups()] == [first.id]
        assert hearth.get_volume(volume.id).status == "available"
        usage = hearth.quota_set(hearth.context.project_id, usage=True)
        assert usage["backups"]["in_use"] == 1
        assert usage["backup_gigabytes"]["in_use"] == 1
        assert hearth.check_quotas() == []
        hearth.delete_backup(first.id)
        usage = hearth.quota_set(hearth.context.project_id, usage=True)
        assert (usage["backups"]["in_use"], usage["backup_gigabytes"]["in_use"]) == (0, 0)
        assert hearth.check_quotas() == []
    finally:
        hearth.close()
