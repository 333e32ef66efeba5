"""Volumes from backups, end to end on the file backend and a real backup repository.

A 1 GiB volume gets data at its start, middle and end, is backed up by the real engine
(``tests.backups``), and a new volume is created from the backup through the library: it
must hold every byte of the source (compared whole), be as thin as the source, read zeros
past the source when larger, and leave nothing behind when a chunk is corrupted.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from hearth.backup import engine
from hearth.service.facade import Hearth
from tests import backups

GiB = 1 << 30
MiB = 1 << 20
PIECES = {
    0: os.urandom(3 * MiB),
    GiB // 2 + 12345: os.urandom(MiB + 7),
    GiB - 64 * 1024: os.urandom(64 * 1024),
}
DATA_BYTES = sum(len(data) for data in PIECES.values())


def volume_file(hearth: Hearth, volume_id: str) -> Path:
    return hearth.services.settings.backend_directory("local") / "volumes" / f"volume-{volume_id}"


def backend_leftovers(hearth: Hearth) -> list[str]:
    tmp = hearth.services.settings.backend_directory("local") / "tmp"
    return sorted(p.name for p in tmp.iterdir()) if tmp.exists() else []


def source_volume(hearth: Hearth, pieces: dict[int, bytes] = PIECES) -> Path:
    volume = hearth.create_volume(1, name="source")
    assert volume.status == "available"
    path = volume_file(hearth, volume.id)
    fd = os.open(path, os.O_WRONLY)
    try:
        for offset, data in pieces.items():
            os.pwrite(fd, data, offset)
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def same_bytes(left: Path, right: Path, length: int) -> bool:
    """Every byte of the first ``length`` bytes of both files, compared."""
    step = 64 * MiB
    with left.open("rb") as a, right.open("rb") as b:
        for _ in range(0, length, step):
            if a.read(step) != b.read(step):
                return False
    return True


def no_data_from(path: Path, offset: int) -> bool:
    """Whether the file holds no data extent at or after ``offset`` (a hole to its end)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.lseek(fd, offset, os.SEEK_DATA)
    except OSError as exc:
        return exc.errno == errno.ENXIO
    finally:
        os.close(fd)
    return False


def allocated(path: Path) -> int:
    return os.stat(path).st_blocks * 512


def test_a_volume_from_a_backup_holds_every_byte_and_stays_sparse(file_hearth: Hearth) -> None:
    source = source_volume(file_hearth)
    backup = backups.backed_up(file_hearth, source, volume_id=source.name.split("-", 1)[1])

    volume = file_hearth.create_volume(backup_id=backup.id)

    assert volume.status == "available", file_hearth.list_messages(resource_id=volume.id)
    restored = volume_file(file_hearth, volume.id)
    assert restored.stat().st_size == GiB
    assert same_bytes(restored, source, GiB)
    assert allocated(restored) <= allocated(source) + MiB  # thin: about the data it holds
    assert allocated(restored) < 16 * MiB
    assert backups.get(file_hearth, backup.id).status == "available"
    assert backend_leftovers(file_hearth) == []


def test_a_larger_volume_from_a_backup_holds_the_data_then_a_hole(file_hearth: Hearth) -> None:
    source = source_volume(file_hearth)
    backup = backups.backed_up(file_hearth, source)

    volume = file_hearth.create_volume(3, backup_id=backup.id)

    assert volume.status == "available"
    restored = volume_file(file_hearth, volume.id)
    assert restored.stat().st_size == 3 * GiB
    assert same_bytes(restored, source, GiB)
    assert no_data_from(restored, GiB)
    assert allocated(restored) < 16 * MiB


def test_a_volume_from_an_incremental_backup_holds_the_data_of_that_backup(
    file_hearth: Hearth,
) -> None:
    source = source_volume(file_hearth)
    full = backups.backed_up(file_hearth, source)
    changed = os.urandom(MiB)
    fd = os.open(source, os.O_WRONLY)
    try:
        os.pwrite(fd, changed, GiB // 2 + 12345)
        os.pwrite(fd, b"appended at 900 MiB", 900 * MiB)
        os.fsync(fd)
    finally:
        os.close(fd)
    repository = file_hearth.services.backup_repository()
    incremental_id = "0c1d2e3f-0000-4000-8000-00000000000a"
    engine.back_up(source, repository, incremental_id, full.id, options=backups.SMALL_CHUNKS)
    incremental = backups.backup_row(file_hearth, id=incremental_id, parent_id=full.id)

    older = file_hearth.create_volume(backup_id=full.id)
    newer = file_hearth.create_volume(backup_id=incremental.id)

    assert (older.status, newer.status) == ("available", "available")
    assert same_bytes(volume_file(file_hearth, newer.id), source, GiB)
    with volume_file(file_hearth, older.id).open("rb") as old:
        old.seek(GiB // 2 + 12345)
        assert old.read(MiB + 7) == PIECES[GiB // 2 + 12345]
        old.seek(900 * MiB)
        assert old.read(19) == bytes(19)


def test_a_corrupted_chunk_fails_the_create_with_a_message_and_leaves_nothing(
    file_hearth: Hearth,
) -> None:
    source = source_volume(file_hearth)
    backup = backups.backed_up(file_hearth, source)
    key = backups.damage_chunk(file_hearth, backup.id)

    volume = file_hearth.create_volume(backup_id=backup.id)

    assert volume.status == "error"
    [message] = file_hearth.list_messages(resource_id=volume.id)
    assert message.detail_code == "backup_corrupt"
    assert f"Backup {backup.id} is corrupt" in message.message
    assert key in message.message
    assert not volume_file(file_hearth, volume.id).exists()
    assert backend_leftovers(file_hearth) == []
    assert backups.get(file_hearth, backup.id).status == "available"
    assert volume.host is None  # nothing on the backend: its capacity was given back


@pytest.mark.parametrize("chunk_mib", [1, 4])
def test_every_byte_survives_whatever_the_chunk_size(file_hearth: Hearth, chunk_mib: int) -> None:
    source = source_volume(file_hearth)
    options = engine.BackupOptions(chunk_size=chunk_mib * MiB, workers=2)
    backup = backups.backed_up(file_hearth, source, options=options)

    volume = file_hearth.create_volume(backup_id=backup.id)

    assert volume.status == "available"
    assert same_bytes(volume_file(file_hearth, volume.id), source, GiB)
