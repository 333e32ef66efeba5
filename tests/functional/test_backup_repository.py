"""The backup repository on real files: backups, restores, verify and delete.

Volumes are sparse files of tens of MiB in the temporary directory (on ext4 the snapshot is
a sparse copy), or on the session's XFS (the snapshot is a reflink and incrementals compare
extent maps). Every restore is compared byte for byte with the volume it was taken from.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
from pathlib import Path

import pytest

from hearth import errors
from hearth.backup import catalog, engine, restore
from hearth.backup.drivers.posix import PosixRepository
from tests.xfs import xfs_dir, xfs_mount

__all__ = ["xfs_dir", "xfs_mount"]  # fixtures, imported for pytest

MiB = 1 << 20
CHUNK = 4 * MiB
VOLUME = 64 * MiB
START, MIDDLE, END = 0, 30 * MiB + 12345, VOLUME - 3 * MiB


def write(path: Path, writes: dict[int, bytes], size: int = VOLUME) -> None:
    """Make ``path`` a sparse file of ``size`` (if missing) and write each piece at its
    offset."""
    with path.open("r+b" if path.exists() else "w+b") as volume:
        volume.truncate(size)
        for offset, data in writes.items():
            volume.seek(offset)
            volume.write(data)


def noise(length: int, seed: int) -> bytes:
    """Incompressible, reproducible bytes (a zero block among them is vanishingly rare)."""
    return random.Random(seed).randbytes(length)


def start_middle_end(path: Path) -> None:
    write(path, {START: noise(5 * MiB, 1), MIDDLE: b"hearth " * 300_000, END: noise(3 * MiB, 2)})


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def allocated(path: Path) -> int:
    return path.stat().st_blocks * 512


def chunk_keys(repository: PosixRepository) -> set[str]:
    return set(repository.keys("chunk"))


@pytest.fixture
def repository(tmp_path: Path) -> PosixRepository:
    return PosixRepository(tmp_path / "repository")


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    path = tmp_path / "volume"
    start_middle_end(path)
    return path


def back_up(
    volume: Path, repository: PosixRepository, backup_id: str, parent: str | None = None
) -> engine.BackupResult:
    return engine.back_up(volume, repository, backup_id, parent, snapshot_dir=volume.parent)


def test_a_full_backup_restores_every_byte_of_data_at_the_start_middle_and_end(
    tmp_path: Path, repository: PosixRepository, volume: Path
) -> None:
    result = back_up(volume, repository, "full")
    target = tmp_path / "restored"
    restored = restore.restore(repository, "full", target)
    assert digest(target) == digest(volume)
    assert restored.volume_size == VOLUME == target.stat().st_size
    assert result.snapshot != "none" and result.change_detection == "full"
    assert result.bytes_read == 5 * CHUNK  # of 16 windows: the holes were never read
    assert [p.name for p in tmp_path.iterdir() if "snapshot" in p.name] == []


def test_an_incremental_backup_stores_only_what_changed_and_restores_both_versions(
    tmp_path: Path, repository: PosixRepository, volume: Path
) -> None:
    back_up(volume, repository, "full")
    first = digest(volume)
    write(volume, {MIDDLE + 100: b"changed", 50 * MiB: noise(MiB, 3)})
    result = back_up(volume, repository, "incremental", "full")
    assert result.manifest.parent_id == "full"
    assert result.change_detection == "hash"  # no parent snapshot was kept on ext4
    assert result.chunks_stored == 2  # the middle chunk, and one new chunk at 50 MiB
    for backup_id, expected in (("full", first), ("incremental", digest(volume))):
        target = tmp_path / f"restored-{backup_id}"
        restore.restore(repository, backup_id, target)
        assert digest(target) == expected


def test_a_sparse_volume_stays_sparse_and_stores_little_more_than_its_data(
    tmp_path: Path, repository: PosixRepository
) -> None:
    volume = tmp_path / "sparse"
    zeros_on_disk = bytes(CHUNK)  # allocated, but all zeros: stored as a hole
    write(volume, {0: noise(MiB, 4), 20 * MiB: zeros_on_disk, 40 * MiB + 8192: noise(4096, 5)})
    result = back_up(volume, repository, "sparse")
    target = tmp_path / "restored"
    restore.restore(repository, "sparse", target)
    assert digest(target) == digest(volume)
    assert allocated(target) <= allocated(volume) - CHUNK
    assert allocated(target) <= MiB + 64 * 1024
    assert result.bytes_stored <= MiB + 64 * 1024
    assert result.manifest.data_bytes() == 2 * CHUNK  # two windows hold data; zeros do not


def test_backups_of_the_same_data_share_their_chunks(
    tmp_path: Path, repository: PosixRepository, volume: Path
) -> None:
    first = back_up(volume, repository, "one")
    copy = tmp_path / "copy"
    start_middle_end(copy)
    second = back_up(copy, repository, "two")
    assert second.chunks_stored == 0 and second.bytes_stored == 0
    assert second.chunks_deduplicated == first.chunks_stored
    assert chunk_keys(repository) == first.manifest.chunk_keys()


def test_delete_frees_exactly_the_chunks_no_remaining_backup_references(
    tmp_path: Path, repository: PosixRepository, volume: Path
) -> None:
    kept = back_up(volume, repository, "kept").manifest
    other = tmp_path / "other"
    write(other, {START: noise(5 * MiB, 1), 10 * MiB: noise(2 * MiB, 6)})
    doomed = back_up(other, repository, "doomed").manifest
    before = chunk_keys(repository)
    assert catalog.delete(repository, "doomed") == len(doomed.chunk_keys() - kept.chunk_keys())
    assert chunk_keys(repository) == before - (doomed.chunk_keys() - kept.chunk_keys())
    assert chunk_keys(repository) == kept.chunk_keys()
    assert list(repository.keys("manifest")) == ["kept"]
    with pytest.raises(errors.BackupNotFound):
        catalog.delete(repository, "doomed")


def test_deleting_a_parent_with_an_incremental_child_is_refused_and_changes_nothing(
    repository: PosixRepository, volume: Path
) -> None:
    back_up(volume, repository, "parent")
    write(volume, {START: b"new"})
    back_up(volume, repository, "child", "parent")
    chunks_before = chunk_keys(repository)
    with pytest.raises(errors.BackupHasDependents, match="child"):
        catalog.delete(repository, "parent")
    assert chunk_keys(repository) == chunks_before
    assert sorted(repository.keys("manifest")) == ["child", "parent"]
    catalog.delete(repository, "child")
    catalog.delete(repository, "parent")
    assert chunk_keys(repository) == set()


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "remove"])
def test_a_damaged_chunk_is_found_by_verify_and_fails_restore_leaving_no_target(
    tmp_path: Path, repository: PosixRepository, volume: Path, damage: str
) -> None:
    manifest = back_up(volume, repository, "damaged").manifest
    key = sorted(manifest.chunk_keys())[0]
    path = repository.root / "chunks" / key[:2] / key[2:4] / key
    stored = path.read_bytes()
    if damage == "flip a byte":
        path.write_bytes(stored[:100] + bytes([stored[100] ^ 1]) + stored[101:])
    elif damage == "truncate":
        path.write_bytes(stored[: len(stored) // 2])
    else:
        path.unlink()
    report = catalog.verify(repository)
    assert not report.ok
    assert [(p.backup_id, key in p.reason) for p in report.problems] == [("damaged", True)]
    target = tmp_path / "restored"
    with pytest.raises(errors.BackupCorrupt, match=key):
        restore.restore(repository, "damaged", target)
    assert not target.exists()


def test_verify_of_sound_backups_reads_each_shared_chunk_once(
    repository: PosixRepository, volume: Path
) -> None:
    back_up(volume, repository, "a")
    back_up(volume, repository, "b")
    report = catalog.verify(repository)
    assert report.ok and report.backups == ("a", "b")
    assert report.chunks_checked == len(chunk_keys(repository))
    with pytest.raises(errors.BackupNotFound):
        catalog.verify(repository, "missing")


def test_a_crash_between_manifest_delete_and_sweep_leaves_nothing_referenced_missing(
    tmp_path: Path, repository: PosixRepository, volume: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    back_up(volume, repository, "live")
    other = tmp_path / "other"
    write(other, {START: noise(5 * MiB, 1), 10 * MiB: noise(2 * MiB, 7)})
    back_up(other, repository, "dying")

    def crash(_repository: object) -> int:
        raise SystemExit("killed after the manifest was deleted")

    monkeypatch.setattr(catalog, "collect_garbage", crash)
    with pytest.raises(SystemExit):
        catalog.delete(repository, "dying")
    monkeypatch.undo()
    assert list(repository.keys("manifest")) == ["live"]
    assert catalog.verify(repository).ok
    restore.restore(repository, "live", tmp_path / "restored")
    assert digest(tmp_path / "restored") == digest(volume)
    live = catalog.load(repository, "live").chunk_keys()
    orphans = chunk_keys(repository) - live
    assert len(orphans) == 1  # the chunk at 10 MiB only "dying" held
    assert catalog.collect_garbage(repository) == 1
    assert chunk_keys(repository) == live


def test_a_backup_id_already_in_the_repository_is_refused(
    repository: PosixRepository, volume: Path
) -> None:
    back_up(volume, repository, "taken")
    with pytest.raises(errors.BackupExists):
        back_up(volume, repository, "taken")
    with pytest.raises(errors.BackupNotFound):
        back_up(volume, repository, "orphan", "no-such-parent")


def test_an_unreadable_manifest_fails_restore_and_blocks_the_sweep(
    tmp_path: Path, repository: PosixRepository, volume: Path
) -> None:
    back_up(volume, repository, "good")
    repository.put("manifest", "bad", b'{"format": 1, "extents": [')
    target = tmp_path / "restored"
    with pytest.raises(errors.BackupCorrupt, match="manifest"):
        restore.restore(repository, "bad", target)
    assert not target.exists()
    before = chunk_keys(repository)
    with pytest.raises(errors.BackupCorrupt):
        catalog.collect_garbage(repository)
    assert chunk_keys(repository) == before


def test_the_volume_can_be_written_while_it_is_backed_up(
    tmp_path: Path, repository: PosixRepository, volume: Path
) -> None:
    before = digest(volume)
    calls: list[tuple[int, int]] = []

    def scribble(done: int, total: int) -> None:
        calls.append((done, total))
        write(volume, {START: b"written during the backup"})

    options = engine.BackupOptions(workers=1)
    engine.back_up(
        volume, repository, "b", snapshot_dir=tmp_path, options=options, progress=scribble
    )
    restore.restore(repository, "b", tmp_path / "restored")
    assert digest(tmp_path / "restored") == before != digest(volume)
    assert calls[-1][0] == calls[-1][1] > 0
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_two_writers_of_one_chunk_store_it_once(repository: PosixRepository) -> None:
    key, data = "ab" * 32, noise(MiB, 8)
    created: list[bool] = []
    barrier = threading.Barrier(4)

    def put() -> None:
        barrier.wait()
        created.append(repository.put("chunk", key, data))

    threads = [threading.Thread(target=put) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(created) == [False, False, False, True]
    assert repository.get("chunk", key) == data
    assert os.listdir(repository.root / "tmp") == []


def test_an_incremental_on_xfs_reads_only_the_extents_its_parent_no_longer_shares(
    xfs_dir: Path,
) -> None:
    repository = PosixRepository(xfs_dir / "repository")
    volume = xfs_dir / "volume"
    start_middle_end(volume)
    parent_snapshot = xfs_dir / "kept-full"
    full = engine.back_up(
        volume, repository, "full", snapshot_dir=xfs_dir, keep_snapshot=parent_snapshot
    )
    assert full.snapshot == "reflink" and full.kept_snapshot == parent_snapshot
    write(volume, {MIDDLE + 100: b"changed"})
    os.sync()
    result = engine.back_up(
        volume, repository, "incremental", "full", snapshot_dir=xfs_dir,
        parent_snapshot=parent_snapshot,
    )  # fmt: skip
    assert result.change_detection == "extent-map"
    assert result.bytes_read == CHUNK  # the one window the write touched
    assert result.bytes_skipped == full.bytes_read - CHUNK
    target = xfs_dir / "restored"
    restore.restore(repository, "incremental", target)
    assert digest(target) == digest(volume)
    assert sorted(p.name for p in xfs_dir.iterdir()) == [
        "kept-full", "repository", "restored", "volume",
    ]  # fmt: skip
