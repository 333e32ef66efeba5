"""The volume driver contract (``hearth.volume.drivers.base``), checked on every driver.

One suite, run on the fake driver of the unit tests, the file driver in ``copy`` mode on the
temporary directory (ext4), the file driver in ``reflink`` mode on a loop-mounted XFS, and
the RBD driver on the session's single-node Ceph cluster (``tests.ceph``), each test in a
RADOS namespace of its own.
Each driver comes with an adapter that writes and reads a volume's bytes the way a user of
that backend would (the file's bytes, the RBD image's through librbd, or the fake's
in-memory volume), so every case checks data, not calls: 1 GiB volumes with data at their
start, middle and end.

Start-up cleanup is checked here as far as one process can see it (it keeps everything
complete; a failed create leaves it nothing); what a killed process leaves is each
driver's own layout, checked in its functional tests and by ``tests/crash``. A local path
is either the volume's data or refused as not supported (the fake driver refuses).
"""

from __future__ import annotations

import abc
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

from hearth import errors
from hearth.db import models
from hearth.image import convert, info
from hearth.volume.drivers import base
from hearth.volume.drivers.file import FileDriver
from hearth.volume.drivers.rbd import RbdDriver
from tests.ceph import CephCluster, ceph_cluster
from tests.fakes import FakeDriver
from tests.xfs import xfs_dir, xfs_mount

__all__ = ["ceph_cluster", "xfs_dir", "xfs_mount"]  # fixtures, imported for pytest

GiB = base.GiB
BLOCK = 4096
OFFSETS = (0, 700 << 20, GiB - BLOCK)
"""Where data goes in a 1 GiB volume: its first block, the middle, its last block."""
ZEROS = bytes(BLOCK)


class Backend(abc.ABC):
    """A driver under test, with a way to touch the bytes of its volumes."""

    clone_mode: str
    """The ``clone_mode`` its stats must report."""

    def __init__(self, driver: base.VolumeDriver) -> None:
        self.driver = driver

    def close(self) -> None:  # noqa: B027 -- most backends hold nothing open
        """Let go of what the backend holds open (connections)."""

    @abc.abstractmethod
    def write(self, volume_id: str, offset: int, data: bytes) -> None:
        """Write ``data`` into the volume at ``offset``."""

    @abc.abstractmethod
    def read(self, volume_id: str, offset: int, length: int) -> bytes:
        """Read ``length`` bytes of the volume from ``offset``."""

    @abc.abstractmethod
    def size(self, volume_id: str) -> int:
        """The volume's size in bytes."""

    # What an image's ``write`` does to the data it is given, not yet a volume: through
    # the file for backends of local files; other backends override these.

    def write_target(self, target: convert.Target, offset: int, data: bytes) -> None:
        assert target.local_path is not None
        with target.local_path.open("r+b") as written:
            written.seek(offset)
            written.write(data)

    def read_target(self, target: convert.Target, offset: int, length: int) -> bytes:
        assert target.local_path is not None
        with target.local_path.open("rb") as read:
            read.seek(offset)
            return read.read(length)

    def target_size(self, target: convert.Target) -> int:
        assert target.local_path is not None
        return target.local_path.stat().st_size

    def resize_target(self, target: convert.Target, size: int) -> None:
        assert target.local_path is not None
        os.truncate(target.local_path, size)


class FakeBackend(Backend):
    clone_mode = "fake"

    def __init__(self) -> None:
        self.fake = FakeDriver()
        super().__init__(self.fake)

    def write(self, volume_id: str, offset: int, data: bytes) -> None:
        volume = self.fake.volumes[volume_id]
        assert offset + len(data) <= volume.size, "the test writes past the volume's end"
        volume.write(offset, data)

    def read(self, volume_id: str, offset: int, length: int) -> bytes:
        volume = self.fake.volumes[volume_id]
        return volume.read(offset, min(length, volume.size - offset))

    def size(self, volume_id: str) -> int:
        return self.fake.volumes[volume_id].size


class FileBackend(Backend):
    def __init__(self, directory: Path, clone_mode: Literal["copy", "reflink"]) -> None:
        self.file = FileDriver(directory, clone_mode)  # asked for: do_setup refuses if it can't
        self.clone_mode = clone_mode
        super().__init__(self.file)

    def path(self, volume_id: str) -> Path:
        return self.file.local_path(base.VolumeRef(volume_id, 0))

    def write(self, volume_id: str, offset: int, data: bytes) -> None:
        path = self.path(volume_id)
        assert offset + len(data) <= path.stat().st_size, "the test writes past the volume's end"
        with path.open("r+b") as volume:
            volume.seek(offset)
            volume.write(data)
            volume.flush()
            os.fsync(volume.fileno())

    def read(self, volume_id: str, offset: int, length: int) -> bytes:
        with self.path(volume_id).open("rb") as volume:
            volume.seek(offset)
            return volume.read(length)

    def size(self, volume_id: str) -> int:
        return self.path(volume_id).stat().st_size


class RbdBackend(Backend):
    """The RBD driver in a namespace of its own in the session's cluster; bytes are read
    and written through librbd, as a consumer of the image would."""

    clone_mode = "layered"

    def __init__(self, cluster: CephCluster) -> None:
        self.namespace = cluster.new_namespace()
        self.ioctx = cluster.ioctx(self.namespace)
        self.rbd = RbdDriver(cluster.driver_cluster(self.namespace))
        super().__init__(self.rbd)

    def close(self) -> None:
        self.ioctx.close()
        self.rbd.close()

    def _image(self, name: str) -> Any:
        import rbd

        return rbd.Image(self.ioctx, name)

    def write(self, volume_id: str, offset: int, data: bytes) -> None:
        self.write_target(self._target(volume_id), offset, data)

    def read(self, volume_id: str, offset: int, length: int) -> bytes:
        return self.read_target(self._target(volume_id), offset, length)

    def size(self, volume_id: str) -> int:
        return self.target_size(self._target(volume_id))

    def _target(self, volume_id: str) -> convert.Target:
        return convert.Target(qemu_name="", name=f"volume-{volume_id}")

    def write_target(self, target: convert.Target, offset: int, data: bytes) -> None:
        with self._image(target.name) as image:
            assert offset + len(data) <= image.size(), "the test writes past the volume's end"
            image.write(data, offset)
            image.flush()

    def read_target(self, target: convert.Target, offset: int, length: int) -> bytes:
        with self._image(target.name) as image:
            return bytes(image.read(offset, max(0, min(length, image.size() - offset))))

    def target_size(self, target: convert.Target) -> int:
        with self._image(target.name) as image:
            return int(image.size())

    def resize_target(self, target: convert.Target, size: int) -> None:
        with self._image(target.name) as image:
            image.resize(size)


def make_fake(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return FakeBackend()


def make_file_copy(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return FileBackend(tmp_path / "backend", "copy")


def make_file_reflink(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return FileBackend(request.getfixturevalue("xfs_dir"), "reflink")


def make_rbd(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return RbdBackend(request.getfixturevalue("ceph_cluster"))


MAKERS: dict[str, Callable[[pytest.FixtureRequest, Path], Backend]] = {
    "fake": make_fake,
    "file-copy-ext4": make_file_copy,
    "file-reflink-xfs": make_file_reflink,
    "rbd": make_rbd,
}


@pytest.fixture(
    params=[
        "fake",
        "file-copy-ext4",
        pytest.param("file-reflink-xfs", marks=pytest.mark.xfs),
        pytest.param("rbd", marks=pytest.mark.ceph),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each driver, set up on an empty backend."""
    made = MAKERS[request.param](request, tmp_path)
    made.driver.do_setup()
    yield made
    made.close()


def new_ref(size_gb: int = 1) -> base.VolumeRef:
    """A volume not yet created."""
    return base.VolumeRef(id=str(uuid.uuid4()), size_gb=size_gb)


def new_volume(backend: Backend, size_gb: int = 1) -> base.VolumeRef:
    volume = new_ref(size_gb)
    backend.driver.create_volume(volume)
    return volume


def snapshot_of(volume: base.VolumeRef) -> base.SnapshotRef:
    return base.SnapshotRef(
        id=str(uuid.uuid4()), volume_id=volume.id, volume_size_gb=volume.size_gb
    )


def block(tag: str, offset: int) -> bytes:
    """A block of data naming what it is and where it was written."""
    label = f"{tag}@{offset};".encode()
    return (label * (BLOCK // len(label) + 1))[:BLOCK]


def write_blocks(backend: Backend, volume: base.VolumeRef, tag: str) -> None:
    for offset in OFFSETS:
        backend.write(volume.id, offset, block(tag, offset))


def blocks_at(backend: Backend, volume: base.VolumeRef) -> list[bytes]:
    return [backend.read(volume.id, offset, BLOCK) for offset in OFFSETS]


def tagged(tag: str) -> list[bytes]:
    return [block(tag, offset) for offset in OFFSETS]


def test_a_new_volume_has_the_exact_size_and_reads_as_zeros(backend: Backend) -> None:
    volume = new_volume(backend)

    assert backend.size(volume.id) == GiB
    assert blocks_at(backend, volume) == [ZEROS] * len(OFFSETS)
    assert backend.read(volume.id, GiB - BLOCK, 2 * BLOCK) == ZEROS  # nothing past the end


def test_deleting_a_volume_twice_or_one_never_created_is_not_an_error(backend: Backend) -> None:
    volume = new_volume(backend)
    never_created = new_ref()

    backend.driver.delete_volume(volume)
    backend.driver.delete_volume(volume)
    backend.driver.delete_volume(never_created)

    assert not backend.driver.volume_exists(volume)


def test_deleting_a_snapshot_twice_or_one_never_created_is_not_an_error(
    backend: Backend,
) -> None:
    volume = new_volume(backend)
    snapshot = snapshot_of(volume)
    backend.driver.create_snapshot(snapshot)

    backend.driver.delete_snapshot(snapshot)
    backend.driver.delete_snapshot(snapshot)
    backend.driver.delete_snapshot(snapshot_of(volume))

    with pytest.raises(errors.BackendSourceMissing):
        backend.driver.create_volume_from_snapshot(new_ref(), snapshot)


def test_a_volume_from_a_snapshot_holds_its_data_and_reads_zeros_beyond_it(
    backend: Backend,
) -> None:
    volume = new_volume(backend)
    write_blocks(backend, volume, "source")
    snapshot = snapshot_of(volume)
    backend.driver.create_snapshot(snapshot)
    same_size, larger = new_ref(1), new_ref(2)

    backend.driver.create_volume_from_snapshot(same_size, snapshot)
    backend.driver.create_volume_from_snapshot(larger, snapshot)

    assert backend.size(same_size.id) == GiB
    assert blocks_at(backend, same_size) == tagged("source")
    assert backend.size(larger.id) == 2 * GiB
    assert blocks_at(backend, larger) == tagged("source")
    for offset in (GiB, GiB + (700 << 20), 2 * GiB - BLOCK):
        assert backend.read(larger.id, offset, BLOCK) == ZEROS


def test_a_snapshot_keeps_the_data_of_the_moment_it_was_taken(backend: Backend) -> None:
    volume = new_volume(backend)
    write_blocks(backend, volume, "before")
    snapshot = snapshot_of(volume)
    backend.driver.create_snapshot(snapshot)
    made_before = new_ref()
    backend.driver.create_volume_from_snapshot(made_before, snapshot)

    write_blocks(backend, volume, "after")
    made_after = new_ref()
    backend.driver.create_volume_from_snapshot(made_after, snapshot)

    assert blocks_at(backend, volume) == tagged("after")
    assert blocks_at(backend, made_before) == tagged("before")
    assert blocks_at(backend, made_after) == tagged("before")


def test_clone_holds_the_source_bytes_and_is_independent_afterwards(backend: Backend) -> None:
    source = new_volume(backend)
    write_blocks(backend, source, "source")
    clone = new_ref()

    backend.driver.create_cloned_volume(clone, source)

    assert backend.size(clone.id) == GiB
    assert blocks_at(backend, clone) == tagged("source")
    write_blocks(backend, clone, "clone")
    assert blocks_at(backend, source) == tagged("source")
    write_blocks(backend, source, "source again")
    assert blocks_at(backend, clone) == tagged("clone")


def test_a_larger_clone_reads_zeros_beyond_the_source(backend: Backend) -> None:
    source = new_volume(backend)
    write_blocks(backend, source, "source")
    clone = new_ref(3)

    backend.driver.create_cloned_volume(clone, source)

    assert backend.size(clone.id) == 3 * GiB
    assert blocks_at(backend, clone) == tagged("source")
    for offset in (GiB, 2 * GiB + (700 << 20), 3 * GiB - BLOCK):
        assert backend.read(clone.id, offset, BLOCK) == ZEROS


def test_deleting_a_volume_keeps_its_snapshots_and_clones(backend: Backend) -> None:
    source = new_volume(backend)
    write_blocks(backend, source, "source")
    snapshot, clone = snapshot_of(source), new_ref()
    backend.driver.create_snapshot(snapshot)
    backend.driver.create_cloned_volume(clone, source)

    backend.driver.delete_volume(source)
    from_snapshot = new_ref()
    backend.driver.create_volume_from_snapshot(from_snapshot, snapshot)

    assert not backend.driver.volume_exists(source)
    assert blocks_at(backend, clone) == tagged("source")
    assert blocks_at(backend, from_snapshot) == tagged("source")


def test_extend_keeps_the_data_and_grows_the_size(backend: Backend) -> None:
    volume = new_volume(backend)
    write_blocks(backend, volume, "kept")

    backend.driver.extend_volume(volume, 2)

    assert backend.size(volume.id) == 2 * GiB
    assert blocks_at(backend, volume) == tagged("kept")
    assert backend.read(volume.id, GiB, BLOCK) == ZEROS
    assert backend.read(volume.id, 2 * GiB - BLOCK, BLOCK) == ZEROS


def test_extend_refuses_to_shrink_and_keeps_the_volume(backend: Backend) -> None:
    volume = new_volume(backend, 2)
    write_blocks(backend, volume, "kept")

    with pytest.raises(errors.Invalid):
        backend.driver.extend_volume(volume, 1)

    assert backend.size(volume.id) == 2 * GiB
    assert blocks_at(backend, volume) == tagged("kept")


def test_extending_a_missing_volume_says_the_backend_lacks_it(backend: Backend) -> None:
    with pytest.raises(errors.BackendSourceMissing):
        backend.driver.extend_volume(new_ref(), 2)


@pytest.mark.parametrize("source_kind", ["volume", "snapshot"])
def test_a_copy_smaller_than_its_source_is_refused_and_leaves_nothing(
    backend: Backend, source_kind: str
) -> None:
    source = new_volume(backend, 2)
    target = new_ref(1)

    with pytest.raises(errors.Invalid):
        if source_kind == "volume":
            backend.driver.create_cloned_volume(target, source)
        else:
            snapshot = snapshot_of(source)
            backend.driver.create_snapshot(snapshot)
            backend.driver.create_volume_from_snapshot(target, snapshot)

    assert not backend.driver.volume_exists(target)


def clone_missing_volume(driver: base.VolumeDriver, target: base.VolumeRef) -> None:
    driver.create_cloned_volume(target, new_ref())


def create_from_missing_snapshot(driver: base.VolumeDriver, target: base.VolumeRef) -> None:
    missing = base.SnapshotRef(id=str(uuid.uuid4()), volume_id=str(uuid.uuid4()), volume_size_gb=1)
    driver.create_volume_from_snapshot(target, missing)


def snapshot_missing_volume(driver: base.VolumeDriver, target: base.VolumeRef) -> None:
    driver.create_snapshot(snapshot_of(target))


@pytest.mark.parametrize(
    "operation", [clone_missing_volume, create_from_missing_snapshot, snapshot_missing_volume]
)
def test_a_source_that_does_not_exist_raises_backend_source_missing(
    backend: Backend, operation: Callable[[base.VolumeDriver, base.VolumeRef], None]
) -> None:
    target = new_ref()

    with pytest.raises(errors.BackendSourceMissing):
        operation(backend.driver, target)

    assert not backend.driver.volume_exists(target)
    assert backend.driver.get_stats().provisioned_bytes == 0


def test_volume_exists_only_from_create_until_delete(backend: Backend) -> None:
    volume = new_ref()

    assert not backend.driver.volume_exists(volume)
    backend.driver.create_volume(volume)
    assert backend.driver.volume_exists(volume)
    assert not backend.driver.volume_exists(new_ref())
    backend.driver.delete_volume(volume)
    assert not backend.driver.volume_exists(volume)


def test_get_stats_provisioned_counts_every_volume_and_snapshot(backend: Backend) -> None:
    def provisioned() -> int:
        return backend.driver.get_stats().provisioned_bytes

    assert provisioned() == 0
    first = new_volume(backend, 1)
    assert provisioned() == GiB
    second = new_volume(backend, 2)
    assert provisioned() == 3 * GiB
    snapshot = snapshot_of(second)
    backend.driver.create_snapshot(snapshot)
    assert provisioned() == 5 * GiB
    backend.driver.extend_volume(first, 3)
    assert provisioned() == 7 * GiB
    backend.driver.delete_volume(second)
    backend.driver.delete_snapshot(snapshot)
    assert provisioned() == 3 * GiB


def test_get_stats_reports_how_the_backend_clones(backend: Backend) -> None:
    stats = backend.driver.get_stats()

    assert stats.clone_mode == backend.clone_mode
    assert 0 <= stats.free_bytes <= stats.total_bytes


def writing(
    backend: Backend, tag: str, offsets: tuple[int, ...]
) -> Callable[[convert.Target], None]:
    """A ``write`` for copy_image_to_volume that puts tagged blocks at ``offsets``."""

    def write(target: convert.Target) -> None:
        for offset in offsets:
            backend.write_target(target, offset, block(tag, offset))

    return write


def test_a_volume_from_an_image_holds_what_was_written_and_zeros_elsewhere(
    backend: Backend,
) -> None:
    volume = new_ref(2)

    backend.driver.copy_image_to_volume(volume, writing(backend, "image", OFFSETS[:2]))

    assert backend.size(volume.id) == 2 * GiB
    assert blocks_at(backend, volume)[:2] == tagged("image")[:2]
    assert backend.read(volume.id, OFFSETS[2], BLOCK) == ZEROS
    assert backend.read(volume.id, 2 * GiB - BLOCK, BLOCK) == ZEROS


def test_an_image_is_written_into_a_zeroed_file_of_the_volumes_size_never_visible_early(
    backend: Backend,
) -> None:
    volume = new_ref()
    seen: dict[str, object] = {}

    def write(target: convert.Target) -> None:
        seen["size"] = backend.target_size(target)
        seen["start"] = backend.read_target(target, 0, BLOCK)
        seen["visible"] = backend.driver.volume_exists(volume)

    backend.driver.copy_image_to_volume(volume, write)

    assert seen == {"size": GiB, "start": ZEROS, "visible": False}
    assert backend.driver.volume_exists(volume)


def test_a_failed_image_write_leaves_no_volume_and_keeps_its_error(backend: Backend) -> None:
    volume = new_ref()

    def write(target: convert.Target) -> None:
        writing(backend, "half", OFFSETS[:1])(target)
        raise errors.ImageChecksumMismatch(image_id="the-image")

    with pytest.raises(errors.ImageChecksumMismatch):
        backend.driver.copy_image_to_volume(volume, write)

    assert not backend.driver.volume_exists(volume)
    assert backend.driver.get_stats().provisioned_bytes == 0


def test_an_image_write_that_grows_the_file_is_refused_and_leaves_no_volume(
    backend: Backend,
) -> None:
    volume = new_ref()

    def write(target: convert.Target) -> None:
        backend.resize_target(target, 2 * GiB)

    with pytest.raises(errors.Invalid):
        backend.driver.copy_image_to_volume(volume, write)

    assert not backend.driver.volume_exists(volume)


def local_files_only(backend: Backend) -> None:
    """Restores write a new volume through its local file (``base.local_file``): a
    backend whose new volumes are not files (RBD) refuses them, and these rules are moot."""
    if isinstance(backend, RbdBackend):
        pytest.skip("RBD's new volumes are not local files: restores are refused there")


def test_a_write_that_truncates_rewrites_and_grows_back_makes_the_volume(
    backend: Backend,
) -> None:
    """As a restore from a backup writes: the file emptied, sized to the backup's volume,
    written, then grown to the new (larger) volume's size."""
    local_files_only(backend)
    volume = new_ref(2)

    def write(target: convert.Target) -> None:
        path = base.local_file(target, backend.driver.driver_name)
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            os.ftruncate(fd, GiB)
            for offset in OFFSETS:
                os.pwrite(fd, block("restored", offset), offset)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.truncate(path, 2 * GiB)

    backend.driver.copy_image_to_volume(volume, write)

    assert backend.size(volume.id) == 2 * GiB
    assert blocks_at(backend, volume) == tagged("restored")
    assert backend.read(volume.id, 2 * GiB - BLOCK, BLOCK) == ZEROS


def test_a_write_that_removes_its_file_and_fails_leaves_no_volume(backend: Backend) -> None:
    """As a restore that met a corrupted chunk does: it removes what it wrote, then raises."""
    local_files_only(backend)
    volume = new_ref()

    def write(target: convert.Target) -> None:
        writing(backend, "half", OFFSETS[:2])(target)
        base.local_file(target, backend.driver.driver_name).unlink()
        raise errors.BackupCorrupt(backup_id="the-backup", reason="a chunk fails its hash")

    with pytest.raises(errors.BackupCorrupt):
        backend.driver.copy_image_to_volume(volume, write)

    assert not backend.driver.volume_exists(volume)
    assert backend.driver.list_volumes() == []
    assert backend.driver.get_stats().provisioned_bytes == 0
    backend.driver.remove_partial_files()
    assert backend.driver.list_volumes() == []


def test_clone_image_either_declines_or_makes_the_volume(backend: Backend) -> None:
    volume = new_ref()
    image = info.ImageInfo(
        id=str(uuid.uuid4()),
        name="any",
        disk_format="raw",
        container_format="bare",
        size=GiB,
        virtual_size=GiB,
        checksum="0" * 32,
        os_hash_algo="sha256",
        os_hash_value="0" * 64,
        min_disk=0,
        min_ram=0,
        updated_at=models.utcnow(),
    )

    update = backend.driver.clone_image(volume, image)

    assert backend.driver.volume_exists(volume) is (update is not None)


def test_remove_partial_files_keeps_every_complete_volume_and_snapshot(backend: Backend) -> None:
    volume = new_volume(backend)
    write_blocks(backend, volume, "kept")
    snapshot, clone, from_image = snapshot_of(volume), new_ref(), new_ref()
    backend.driver.create_snapshot(snapshot)
    backend.driver.create_cloned_volume(clone, volume)
    backend.driver.copy_image_to_volume(from_image, writing(backend, "image", OFFSETS))
    listed = (backend.driver.list_volumes(), backend.driver.list_snapshots())

    removed = backend.driver.remove_partial_files()

    assert removed == []
    assert (backend.driver.list_volumes(), backend.driver.list_snapshots()) == listed
    assert blocks_at(backend, volume) == tagged("kept")
    assert blocks_at(backend, clone) == tagged("kept")
    assert blocks_at(backend, from_image) == tagged("image")
    from_snapshot = new_ref()
    backend.driver.create_volume_from_snapshot(from_snapshot, snapshot)
    assert blocks_at(backend, from_snapshot) == tagged("kept")


def test_a_create_that_fails_cleans_after_itself_and_leaves_nothing_partial(
    backend: Backend,
) -> None:
    def failing_write(target: convert.Target) -> None:
        writing(backend, "half", OFFSETS[:1])(target)
        raise errors.ImageFetchFailed(image_id="the-image")

    with pytest.raises(errors.ImageFetchFailed):
        backend.driver.copy_image_to_volume(new_ref(), failing_write)
    with pytest.raises(errors.Invalid):
        backend.driver.create_cloned_volume(new_ref(1), new_volume(backend, 2))
    with pytest.raises(errors.BackendSourceMissing):
        backend.driver.create_snapshot(snapshot_of(new_ref()))

    assert backend.driver.remove_partial_files() == []  # only a crash leaves anything


def test_local_path_is_the_volumes_data_or_not_supported(backend: Backend) -> None:
    volume = new_volume(backend)

    try:
        path = backend.driver.local_path(volume)
    except errors.NotSupportedByBackend as refused:
        assert refused.status == 400
        assert backend.driver.driver_name in refused.user_message
        return
    assert path.stat().st_size == GiB
    with path.open("r+b") as through_path:
        for offset in OFFSETS:
            through_path.seek(offset)
            through_path.write(block("through the path", offset))
        through_path.flush()
        os.fsync(through_path.fileno())
    clone = new_ref()
    backend.driver.create_cloned_volume(clone, volume)  # the driver reads what the path wrote
    assert blocks_at(backend, clone) == tagged("through the path")


def test_check_health_passes_on_a_set_up_backend_and_changes_nothing(backend: Backend) -> None:
    volume = new_volume(backend)
    before = (backend.driver.list_volumes(), backend.driver.list_snapshots())

    backend.driver.check_health()
    backend.driver.check_health()  # a probe can run again and again

    assert (backend.driver.list_volumes(), backend.driver.list_snapshots()) == before
    assert backend.driver.remove_partial_files() == []  # it leaves nothing behind
    assert backend.driver.volume_exists(volume)
