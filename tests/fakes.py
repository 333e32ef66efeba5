"""A fake volume driver for unit tests: volumes in memory, failures on demand.

Its volumes are no local files: it keeps the default ``local_path`` (not supported)."""

from __future__ import annotations

import errno
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hearth import errors
from hearth.image import convert
from hearth.volume.drivers import base


@dataclass
class FakeVolume:
    """A sparse in-memory volume: only written bytes are kept."""

    size: int
    data: dict[int, int] = field(default_factory=dict)

    def write(self, offset: int, payload: bytes) -> None:
        for index, byte in enumerate(payload):
            self.data[offset + index] = byte

    def read(self, offset: int, length: int) -> bytes:
        return bytes(self.data.get(offset + i, 0) for i in range(length))

    def copy(self, size: int) -> FakeVolume:
        if size < self.size:
            raise errors.Invalid(reason="a copy cannot be smaller than its source")
        return FakeVolume(size, dict(self.data))


class FakeDriver(base.VolumeDriver):
    """Keeps volumes and snapshots in dicts; ``fail`` makes the next call of a method raise.

    ``fail(method, error, after=True)`` raises *after* the method made its volume, to test
    that reverts remove half-made volumes.
    """

    driver_name = "fake"

    def __init__(self, total_bytes: int = 1 << 50) -> None:
        self.volumes: dict[str, FakeVolume] = {}
        self.snapshots: dict[str, FakeVolume] = {}
        self.calls: list[str] = []
        self.total_bytes = total_bytes
        self._failures: dict[str, tuple[BaseException, bool]] = {}
        self._lock = threading.Lock()

    def fail(self, method: str, error: BaseException, *, after: bool = False) -> None:
        """Make the next call of ``method`` raise ``error`` (before or after its work)."""
        self._failures[method] = (error, after)

    def _enter(self, method: str) -> BaseException | None:
        with self._lock:
            self.calls.append(method)
            error, after = self._failures.pop(method, (None, False))
        if error is not None and not after:
            raise error
        return error

    def do_setup(self) -> None:
        self._enter("do_setup")

    def remove_partial_files(self) -> list[str]:
        return []  # a create either stores a volume in the dict or stores nothing

    def create_volume(self, volume: base.VolumeRef) -> base.ModelUpdate | None:
        late = self._enter("create_volume")
        self.volumes[volume.id] = FakeVolume(volume.size_bytes)
        if late:
            raise late
        return base.ModelUpdate(provider_location=f"fake:{volume.id}")

    def create_volume_from_snapshot(
        self, volume: base.VolumeRef, snapshot: base.SnapshotRef
    ) -> base.ModelUpdate | None:
        late = self._enter("create_volume_from_snapshot")
        source = self._source(self.snapshots, snapshot.id, "snapshot")
        self.volumes[volume.id] = source.copy(volume.size_bytes)
        if late:
            raise late
        return None

    def revert_to_snapshot(self, volume: base.VolumeRef, snapshot: base.SnapshotRef) -> None:
        late = self._enter("revert_to_snapshot")
        source = self._source(self.snapshots, snapshot.id, "snapshot")
        self.volumes[volume.id] = source.copy(volume.size_bytes)
        if late:
            raise late

    def create_cloned_volume(
        self, volume: base.VolumeRef, src_vref: base.VolumeRef
    ) -> base.ModelUpdate | None:
        late = self._enter("create_cloned_volume")
        source = self._source(self.volumes, src_vref.id, "volume")
        self.volumes[volume.id] = source.copy(volume.size_bytes)
        if late:
            raise late
        return None

    def copy_image_to_volume(
        self, volume: base.VolumeRef, write: Callable[[convert.Target], None]
    ) -> base.ModelUpdate | None:
        """Lets ``write`` fill a real sparse file, then keeps its non-zero blocks."""
        self._raise_now(self._enter("copy_image_to_volume"))
        with tempfile.TemporaryDirectory(prefix="fake-driver-") as scratch:
            path = Path(scratch) / "volume.part"
            with path.open("wb") as sparse:
                sparse.truncate(volume.size_bytes)
            write(convert.Target.file(path))
            if path.stat().st_size != volume.size_bytes:
                raise errors.Invalid(reason="the image is larger than the volume")
            self.volumes[volume.id] = FakeVolume(volume.size_bytes, _nonzero_bytes(path))
        return None

    def delete_volume(self, volume: base.VolumeRef) -> None:
        self._raise_now(self._enter("delete_volume"))
        self.volumes.pop(volume.id, None)

    def create_snapshot(self, snapshot: base.SnapshotRef) -> base.ModelUpdate | None:
        self._raise_now(self._enter("create_snapshot"))
        source = self._source(self.volumes, snapshot.volume_id, "volume")
        self.snapshots[snapshot.id] = source.copy(source.size)
        return None

    def delete_snapshot(self, snapshot: base.SnapshotRef) -> None:
        self._raise_now(self._enter("delete_snapshot"))
        self.snapshots.pop(snapshot.id, None)

    def extend_volume(self, volume: base.VolumeRef, new_size_gb: int) -> None:
        self._raise_now(self._enter("extend_volume"))
        target = self._source(self.volumes, volume.id, "volume")
        if new_size_gb * base.GiB < target.size:
            raise errors.Invalid(reason="a volume cannot shrink")
        target.size = new_size_gb * base.GiB

    def list_volumes(self) -> list[str]:
        return sorted(self.volumes)

    def list_snapshots(self) -> list[str]:
        return sorted(self.snapshots)

    def volume_size(self, volume: base.VolumeRef) -> int | None:
        found = self.volumes.get(volume.id)
        return None if found is None else found.size

    def get_stats(self) -> base.BackendStats:
        provisioned = sum(v.size for v in [*self.volumes.values(), *self.snapshots.values()])
        return base.BackendStats(
            total_bytes=self.total_bytes,
            free_bytes=self.total_bytes - provisioned,
            provisioned_bytes=provisioned,
            allocated_bytes=0,
            clone_mode="fake",
        )

    @staticmethod
    def _raise_now(error: BaseException | None) -> None:
        if error is not None:
            raise error

    @staticmethod
    def _source(pool: dict[str, FakeVolume], source_id: str, kind: str) -> FakeVolume:
        try:
            return pool[source_id]
        except KeyError:
            raise errors.BackendSourceMissing(kind=kind, source_id=source_id) from None


class BlockingCloneDriver(FakeDriver):
    """A fake driver whose clones wait until the test lets them finish (``finish``);
    ``cloning`` is set once a clone has started."""

    def __init__(self) -> None:
        super().__init__()
        self.cloning = threading.Event()
        self.finish = threading.Event()

    def create_cloned_volume(
        self, volume: base.VolumeRef, src_vref: base.VolumeRef
    ) -> base.ModelUpdate | None:
        self.cloning.set()
        assert self.finish.wait(10)
        return super().create_cloned_volume(volume, src_vref)


def _nonzero_bytes(path: Path, block: int = 4096) -> dict[int, int]:
    """The non-zero bytes of a sparse file, by offset (holes and zero blocks skipped)."""
    data: dict[int, int] = {}
    with path.open("rb") as source:
        fd, offset, size = source.fileno(), 0, os.fstat(source.fileno()).st_size
        while offset < size:
            try:
                start = os.lseek(fd, offset, os.SEEK_DATA)
            except OSError as exc:
                if exc.errno == errno.ENXIO:
                    break
                raise
            end = os.lseek(fd, start, os.SEEK_HOLE)
            for position in range(start, end, block):
                chunk = os.pread(fd, min(block, end - position), position)
                if chunk.count(0) != len(chunk):
                    data.update((position + i, b) for i, b in enumerate(chunk) if b)
            offset = end
    return data
