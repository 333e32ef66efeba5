"""The file driver on real file systems: what only raw files show.

Which clone mode it picks (reflink on XFS, sparse copy on ext4), that a reflink clone costs
no data blocks and a sparse copy keeps holes, that a failed create leaves no file behind,
that leftovers of crashed creates are removed, that ids cannot leave the backend directory,
and one story through the ``Hearth`` facade on XFS. What every driver must do is in
``tests/contract``.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth import errors
from hearth.volume.drivers import base
from hearth.volume.drivers.file import CloneMode, FileDriver
from tests.conftest import make_settings, open_hearth, require
from tests.xfs import filesystem_type, unmount, xfs_dir, xfs_mount

__all__ = ["xfs_dir", "xfs_mount"]  # fixtures, imported for pytest

GiB = base.GiB
MiB = 1 << 20
CHUNK = 8 * MiB
SLACK = 16 * MiB
"""How far free space may move for reasons other than data (metadata, the log, inodes)."""


@pytest.fixture
def ext4_dir(tmp_path: Path) -> Path:
    """A backend directory on the temporary directory, which must be ext4."""
    kind = filesystem_type(tmp_path)
    require(kind == "ext2/ext3", f"the temporary directory is on {kind}, not ext4")
    return tmp_path / "backend"


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 64 MiB tmpfs: a file system that fills up quickly."""
    require(os.geteuid() == 0, "mounting a tmpfs needs root")
    mount_dir = tmp_path / "small"
    mount_dir.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "hearth-test", str(mount_dir)], check=True
    )
    try:
        yield mount_dir
    finally:
        unmount(mount_dir)


def ready_driver(directory: Path, clone_mode: CloneMode = "auto") -> FileDriver:
    driver = FileDriver(directory, clone_mode)
    driver.do_setup()
    return driver


def new_volume(driver: FileDriver, size_gb: int = 1) -> base.VolumeRef:
    volume = base.VolumeRef(id=str(uuid.uuid4()), size_gb=size_gb)
    driver.create_volume(volume)
    return volume


def new_ref(size_gb: int = 1) -> base.VolumeRef:
    return base.VolumeRef(id=str(uuid.uuid4()), size_gb=size_gb)


def chunk_at(offset: int, length: int = CHUNK) -> bytes:
    """Non-zero data that says where it belongs."""
    label = f"<{offset:012x}>".encode()
    return (label * (length // len(label) + 1))[:length]


def write_at(path: Path, offset: int, data: bytes) -> None:
    with path.open("r+b") as volume:
        volume.seek(offset)
        volume.write(data)
        volume.flush()
        os.fsync(volume.fileno())


def read_at(path: Path, offset: int, length: int) -> bytes:
    with path.open("rb") as volume:
        volume.seek(offset)
        return volume.read(length)


def fill(path: Path) -> None:
    """Write data over the whole file, a chunk at a time."""
    size = path.stat().st_size
    with path.open("r+b") as volume:
        for offset in range(0, size, CHUNK):
            volume.write(chunk_at(offset))
        volume.flush()
        os.fsync(volume.fileno())


def free_bytes(directory: Path) -> int:
    """Free space of the file system, once everything written has been allocated."""
    os.sync()
    fs = os.statvfs(directory)
    return fs.f_bfree * fs.f_frsize


def allocated(path: Path) -> int:
    return path.stat().st_blocks * 512


def names_in(directory: Path) -> list[str]:
    return sorted(entry.name for entry in directory.iterdir())


@pytest.mark.xfs
def test_clone_mode_is_reflink_on_xfs(xfs_dir: Path) -> None:
    driver = ready_driver(xfs_dir)

    assert driver.clone_mode == "reflink"
    assert driver.get_stats().clone_mode == "reflink"


def test_clone_mode_is_copy_on_ext4(ext4_dir: Path) -> None:
    driver = ready_driver(ext4_dir)

    assert driver.clone_mode == "copy"
    assert driver.get_stats().clone_mode == "copy"


def test_clone_mode_reflink_on_ext4_is_refused_at_setup(ext4_dir: Path) -> None:
    with pytest.raises(errors.ConfigError, match="cannot reflink"):
        ready_driver(ext4_dir, "reflink")


@pytest.mark.xfs
def test_reflink_clone_of_a_full_volume_allocates_no_new_data_blocks(xfs_dir: Path) -> None:
    driver = ready_driver(xfs_dir)
    source = new_volume(driver)
    empty = free_bytes(xfs_dir)
    fill(driver.local_path(source))
    full = free_bytes(xfs_dir)
    clone, from_snapshot = new_ref(), new_ref(2)
    snapshot = base.SnapshotRef(id=str(uuid.uuid4()), volume_id=source.id, volume_size_gb=1)

    driver.create_cloned_volume(clone, source)
    driver.create_snapshot(snapshot)
    driver.create_volume_from_snapshot(from_snapshot, snapshot)

    after = free_bytes(xfs_dir)
    assert empty - full > GiB - SLACK  # the measure sees a volume's worth of data written
    assert full - after < SLACK  # three more volumes' worth of data, and no new data blocks
    for target in (clone, from_snapshot):
        path = driver.local_path(target)
        for offset in (0, 704 * MiB, GiB - CHUNK):  # where chunks start
            assert read_at(path, offset, CHUNK) == chunk_at(offset)
    assert read_at(driver.local_path(from_snapshot), GiB, CHUNK) == bytes(CHUNK)


def test_sparse_copy_of_a_mostly_empty_volume_keeps_the_copy_sparse(ext4_dir: Path) -> None:
    driver = ready_driver(ext4_dir, "copy")
    source = new_volume(driver)
    offsets = [n * 100 * MiB for n in range(10)]  # 10 MiB of data: 1% of the volume
    for offset in offsets:
        write_at(driver.local_path(source), offset, chunk_at(offset, MiB))
    clone = new_ref()

    driver.create_cloned_volume(clone, source)

    clone_path = driver.local_path(clone)
    assert allocated(driver.local_path(source)) >= 10 * MiB
    assert allocated(clone_path) < 12 * MiB
    assert clone_path.stat().st_size == GiB
    for offset in offsets:
        assert read_at(clone_path, offset, MiB) == chunk_at(offset, MiB)
        assert read_at(clone_path, offset + MiB, MiB) == bytes(MiB)


@pytest.fixture(params=["copy-ext4", pytest.param("reflink-xfs", marks=pytest.mark.xfs)])
def any_mode_driver(request: pytest.FixtureRequest, tmp_path: Path) -> FileDriver:
    """The file driver in each clone mode, on a file system where that mode works."""
    if request.param == "copy-ext4":
        return ready_driver(tmp_path / "backend", "copy")
    return ready_driver(request.getfixturevalue("xfs_dir"), "reflink")


def test_a_clone_smaller_than_its_source_fails_and_leaves_no_file(
    any_mode_driver: FileDriver,
) -> None:
    driver = any_mode_driver
    source = new_volume(driver, 2)
    write_at(driver.local_path(source), GiB + MiB, chunk_at(GiB + MiB, MiB))
    clone = new_ref(1)

    with pytest.raises(errors.Invalid, match="smaller"):
        driver.create_cloned_volume(clone, source)

    assert not driver.volume_exists(clone)
    assert names_in(driver.directory / "volumes") == [f"volume-{source.id}"]
    assert names_in(driver.directory / "tmp") == []


def test_a_copy_that_runs_out_of_space_raises_backend_full_and_leaves_no_file(
    small_tmpfs: Path,
) -> None:
    driver = ready_driver(small_tmpfs / "backend", "copy")
    source = new_volume(driver)
    for offset in range(0, 40 * MiB, MiB):  # 40 MiB of data: no room for a second copy
        write_at(driver.local_path(source), offset * 20, chunk_at(offset * 20, MiB))
    clone = new_ref()

    with pytest.raises(errors.BackendFull) as raised:
        driver.create_cloned_volume(clone, source)

    assert str(small_tmpfs) not in str(raised.value.user_message)
    assert not driver.volume_exists(clone)
    assert names_in(driver.directory / "volumes") == [f"volume-{source.id}"]
    assert names_in(driver.directory / "tmp") == []
    driver.create_cloned_volume(clone, new_volume(driver))  # the space came back
    assert driver.volume_exists(clone)


def test_remove_partial_files_removes_leftovers_in_tmp_and_nothing_else(
    ext4_dir: Path,
) -> None:
    driver = ready_driver(ext4_dir)
    kept = new_volume(driver)
    leftovers = [f"volume-{uuid.uuid4()}.{uuid.uuid4().hex}.part" for _ in range(2)]
    for name in leftovers:
        (ext4_dir / "tmp" / name).write_bytes(b"half a volume")

    removed = ready_driver(ext4_dir).remove_partial_files()  # as at the next start

    assert sorted(removed) == sorted(leftovers)
    assert names_in(ext4_dir / "tmp") == []
    assert names_in(ext4_dir / "volumes") == [f"volume-{kept.id}"]


@pytest.mark.parametrize("bad_id", ["x/../../../victim", "../victim", "", "volume-1", "a" * 36])
def test_ids_that_are_not_uuids_are_rejected(tmp_path: Path, bad_id: str) -> None:
    driver = ready_driver(tmp_path / "backend", "copy")
    source = new_volume(driver)
    # with this directory present, an unchecked "x/../../../victim" would reach tmp_path
    (tmp_path / "backend" / "volumes" / "volume-x").mkdir()
    victim = tmp_path / "victim"
    victim.write_bytes(b"not a volume")
    before = sorted(tmp_path.rglob("*"))
    bad = base.VolumeRef(id=bad_id, size_gb=1)
    bad_snapshot = base.SnapshotRef(id=bad_id, volume_id=source.id, volume_size_gb=1)

    for attempt in (
        lambda: driver.delete_volume(bad),
        lambda: driver.create_volume(bad),
        lambda: driver.create_cloned_volume(bad, source),
        lambda: driver.create_snapshot(bad_snapshot),
        lambda: driver.volume_exists(bad),
    ):
        with pytest.raises(errors.InvalidInput):
            attempt()

    assert sorted(tmp_path.rglob("*")) == before
    assert victim.read_bytes() == b"not a volume"


@pytest.mark.xfs
def test_volumes_snapshots_and_clones_through_hearth_on_xfs(tmp_path: Path, xfs_dir: Path) -> None:
    settings = make_settings(
        tmp_path / "data", backends={"local": {"directory": str(xfs_dir / "backend")}}
    )
    hearth = open_hearth(settings)
    try:
        origin = hearth.create_volume(size=1, name="origin")
        origin_path = hearth.volume_path(origin.id)
        for offset in (0, 700 * MiB, GiB - MiB):
            write_at(origin_path, offset, chunk_at(offset, MiB))
        snapshot = hearth.create_snapshot(origin.id)
        write_at(origin_path, 0, b"after the snapshot")

        restored = hearth.create_volume(size=2, snapshot_id=snapshot.id)
        clone = hearth.create_volume(size=1, source_volid=origin.id)

        assert [origin.status, snapshot.status] == ["available", "available"]
        assert [restored.status, clone.status] == ["available", "available"]
        assert hearth.list_backends()[0].clone_mode == "reflink"
        restored_path, clone_path = hearth.volume_path(restored.id), hearth.volume_path(clone.id)
        assert restored_path.stat().st_size == 2 * GiB
        assert read_at(restored_path, 0, MiB) == chunk_at(0, MiB)
        assert read_at(restored_path, GiB, MiB) == bytes(MiB)
        assert read_at(clone_path, 0, 18) == b"after the snapshot"
        for path in (restored_path, clone_path):
            for offset in (700 * MiB, GiB - MiB):
                assert read_at(path, offset, MiB) == chunk_at(offset, MiB)
        write_at(clone_path, 700 * MiB, b"clone only")
        assert read_at(origin_path, 700 * MiB, MiB) == chunk_at(700 * MiB, MiB)
        assert read_at(restored_path, 700 * MiB, MiB) == chunk_at(700 * MiB, MiB)
    finally:
        hearth.close()
