"""File driver: each volume is a raw sparse file in one backend directory.

Layout under the backend directory::

    volumes/volume-<id>      one raw file per volume, exactly size_gb GiB, sparse
    snapshots/snapshot-<id>  one raw file per snapshot
    tmp/                     files being written; renamed into place only when complete

Every new file is written under ``tmp/``, fsynced, renamed to its final name and the
directory fsynced: a crash never leaves a partial file under a final name, and whatever is
left in ``tmp/`` is removed by :meth:`FileDriver.remove_partial_files` at start-up. A
create replaces a file of the same id left by an earlier attempt: only a volume still in
``creating`` is ever created, and such a file holds nothing anyone has used. Clones
and snapshots are reflinks where the file system supports them (XFS with reflink=1, btrfs)
and sparse copies elsewhere (``clone_mode`` says which).
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from hearth import copying, errors
from hearth.image import convert
from hearth.volume.drivers import base, iscsi_target

LOG = logging.getLogger(__name__)
CloneMode = Literal["auto", "reflink", "copy"]


class FileDriver(base.VolumeDriver):
    """Raw sparse files in a directory, cloned by reflink or sparse copy."""

    driver_name = "file"

    def __init__(
        self,
        directory: Path,
        clone_mode: CloneMode = "auto",
        target: iscsi_target.TgtTarget | None = None,
    ) -> None:
        self.directory = directory
        self.target = target
        """Where iSCSI exports are made (None: only ``local`` connections)."""
        self._requested_mode = clone_mode
        self.clone_mode = "copy"
        self._volumes = directory / "volumes"
        self._snapshots = directory / "snapshots"
        self._tmp = directory / "tmp"

    def do_setup(self) -> None:
        try:
            for folder in (self._volumes, self._snapshots, self._tmp):
                folder.mkdir(parents=True, exist_ok=True)
            can_reflink = copying.supports_reflink(self._tmp)
        except OSError as exc:
            raise errors.from_os_error(exc, "prepare its directory") from exc
        if self._requested_mode == "reflink" and not can_reflink:
            raise errors.ConfigError(
                reason="clone_mode is 'reflink' but the backend's file system cannot reflink"
            )
        self.clone_mode = "reflink" if can_reflink and self._requested_mode != "copy" else "copy"
        if self.target is not None:
            self.target.start()
        LOG.info("file backend ready, clone mode %s", self.clone_mode)

    def export(self, export: base.ExportRef) -> dict[str, Any]:
        """iSCSI through the backend's tgtd for a connector with an ``initiator`` when a
        target is configured; else ``local`` (the file's path)."""
        initiator = export.connector.get("initiator")
        if self.target is None or not initiator:
            return super().export(export)
        if export.connection_info is not None:
            data = export.connection_info["data"]
            username, password = data["auth_username"], data["auth_password"]
        else:
            username, password = iscsi_target.new_credentials()
        path = self._volume_path(export.volume.id)
        if not path.is_file():
            raise errors.BackendSourceMissing(kind="volume", source_id=export.volume.id)
        self.target.export(
            export.attachment_id,
            path,
            initiator=str(initiator),
            username=username,
            password=password,
            readonly=export.access_mode == "ro",
        )
        return iscsi_target.connection_info(
            self.target,
            attachment_id=export.attachment_id,
            volume_id=export.volume.id,
            username=username,
            password=password,
            access_mode=export.access_mode,
        )

    def unexport(self, export: base.ExportRef) -> None:
        if self.target is not None:
            self.target.remove(export.attachment_id)

    def exports(self) -> list[str] | None:
        if self.target is None:
            return None
        self.target.ensure_running()
        return self.target.exported()

    def stop(self) -> None:
        if self.target is not None:
            self.target.stop()

    def remove_partial_files(self) -> list[str]:
        """Delete what operations that never finished left in ``tmp/``; returns the names.

        Only safe while no operation runs on this backend (the manager calls it at start-up).
        """
        removed = []
        try:
            for leftover in self._tmp.iterdir():
                if leftover.is_dir() and not leftover.is_symlink():
                    shutil.rmtree(leftover)
                else:
                    leftover.unlink(missing_ok=True)
                removed.append(leftover.name)
        except OSError as exc:
            raise errors.from_os_error(exc, "remove unfinished files") from exc
        return removed

    def check_health(self) -> None:
        """Its three folders are directories and ``tmp/`` takes a new file (written, then
        removed; no fsync: a probe must stay cheap); with a target, tgtd answers."""
        for folder in (self._volumes, self._snapshots, self._tmp):
            if not folder.is_dir():
                raise errors.BackendError(action=f"find its {folder.name}/ directory")
        probe = self._tmp / f"health-{uuid.uuid4()}"
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, b"\0")
            finally:
                os.close(fd)
                probe.unlink(missing_ok=True)
        except OSError as exc:
            raise errors.from_os_error(exc, "write a file in its tmp/ directory") from exc
        if self.target is not None:
            self.target.targets()  # tgtd answers (ExportFailed, a BackendError, if not)

    def create_volume(self, volume: base.VolumeRef) -> base.ModelUpdate | None:
        with self._new_file(self._volume_path(volume.id), "create the volume") as fd:
            os.ftruncate(fd, volume.size_bytes)
        return None

    def copy_image_to_volume(
        self, volume: base.VolumeRef, write: Callable[[convert.Target], None]
    ) -> base.ModelUpdate | None:
        action = "copy the image into the volume"
        with self._new_path(self._volume_path(volume.id), action) as (fd, temporary):
            os.ftruncate(fd, volume.size_bytes)
            write(convert.Target.file(temporary))
            if os.fstat(fd).st_size != volume.size_bytes:
                raise errors.Invalid(reason="the image is larger than the volume")
        return None

    def create_volume_from_snapshot(
        self, volume: base.VolumeRef, snapshot: base.SnapshotRef
    ) -> base.ModelUpdate | None:
        source = self._snapshot_path(snapshot.id)
        self._clone_file(source, self._volume_path(volume.id), volume.size_bytes, "snapshot")
        return None

    def create_cloned_volume(
        self, volume: base.VolumeRef, src_vref: base.VolumeRef
    ) -> base.ModelUpdate | None:
        source = self._volume_path(src_vref.id)
        self._clone_file(source, self._volume_path(volume.id), volume.size_bytes, "volume")
        return None

    def create_snapshot(self, snapshot: base.SnapshotRef) -> base.ModelUpdate | None:
        source = self._volume_path(snapshot.volume_id)
        self._clone_file(source, self._snapshot_path(snapshot.id), None, "volume")
        return None

    def revert_to_snapshot(self, volume: base.VolumeRef, snapshot: base.SnapshotRef) -> None:
        """A copy of the snapshot written under ``tmp/`` and renamed over the volume."""
        source = self._snapshot_path(snapshot.id)
        self._clone_file(source, self._volume_path(volume.id), volume.size_bytes, "snapshot")

    def delete_volume(self, volume: base.VolumeRef) -> None:
        self._remove(self._volume_path(volume.id), "delete the volume")

    def delete_snapshot(self, snapshot: base.SnapshotRef) -> None:
        self._remove(self._snapshot_path(snapshot.id), "delete the snapshot")

    def extend_volume(self, volume: base.VolumeRef, new_size_gb: int) -> None:
        path = self._volume_path(volume.id)
        try:
            fd = os.open(path, os.O_WRONLY)
            try:
                if os.fstat(fd).st_size > new_size_gb * base.GiB:
                    raise errors.Invalid(reason="a volume cannot shrink")
                os.ftruncate(fd, new_size_gb * base.GiB)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise errors.from_os_error(
                exc, "extend the volume", source=("volume", volume.id)
            ) from exc

    def volume_size(self, volume: base.VolumeRef) -> int | None:
        try:
            return self._volume_path(volume.id).stat().st_size
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise errors.from_os_error(exc, "inspect the volume") from exc

    def list_volumes(self) -> list[str]:
        return self._ids_in(self._volumes, "volume-")

    def list_snapshots(self) -> list[str]:
        return self._ids_in(self._snapshots, "snapshot-")

    def _ids_in(self, folder: Path, prefix: str) -> list[str]:
        try:
            names = [entry.name for entry in os.scandir(folder) if entry.is_file()]
        except OSError as exc:
            raise errors.from_os_error(exc, "list its contents") from exc
        return sorted(name.removeprefix(prefix) for name in names if name.startswith(prefix))

    def local_path(self, volume: base.VolumeRef) -> Path:
        """The volume's raw file (whether it exists is not checked)."""
        return self._volume_path(volume.id)

    def snapshot_local_path(self, snapshot: base.SnapshotRef) -> Path:
        """The snapshot's raw file (whether it exists is not checked)."""
        return self._snapshot_path(snapshot.id)

    def get_stats(self) -> base.BackendStats:
        try:
            fs = os.statvfs(self.directory)
            provisioned = allocated = 0
            for folder in (self._volumes, self._snapshots):
                for entry in os.scandir(folder):
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:  # deleted since it was listed
                        continue
                    provisioned += info.st_size
                    allocated += info.st_blocks * 512
        except OSError as exc:
            raise errors.from_os_error(exc, "report its capacity") from exc
        return base.BackendStats(
            total_bytes=fs.f_blocks * fs.f_frsize,
            free_bytes=fs.f_bavail * fs.f_frsize,
            provisioned_bytes=provisioned,
            allocated_bytes=allocated,
            clone_mode=self.clone_mode,
        )

    def get_space(self) -> base.SpaceStats:
        try:
            fs = os.statvfs(self.directory)
        except OSError as exc:
            raise errors.from_os_error(exc, "report its capacity") from exc
        return base.SpaceStats(fs.f_blocks * fs.f_frsize, fs.f_bavail * fs.f_frsize)

    def _volume_path(self, volume_id: str) -> Path:
        return self._volumes / f"volume-{_checked_id(volume_id)}"

    def _snapshot_path(self, snapshot_id: str) -> Path:
        return self._snapshots / f"snapshot-{_checked_id(snapshot_id)}"

    def _clone_file(self, source: Path, target: Path, size: int | None, kind: str) -> None:
        """Copy ``source`` to ``target`` (reflink or sparse), then grow it to ``size``."""
        action = f"copy the {kind}"
        try:
            src_fd = os.open(source, os.O_RDONLY)
        except OSError as exc:
            raise errors.from_os_error(exc, action, source=(kind, _id_of(source))) from exc
        try:
            with self._new_file(target, action) as dst_fd:
                source_size = os.fstat(src_fd).st_size
                if size is not None and size < source_size:
                    raise errors.Invalid(reason=f"the new volume is smaller than its {kind}")
                if self.clone_mode == "reflink":
                    copying.reflink(src_fd, dst_fd)
                else:
                    copying.sparse_copy(src_fd, dst_fd)
                if size is not None and size > source_size:
                    os.ftruncate(dst_fd, size)
        finally:
            os.close(src_fd)

    @contextmanager
    def _new_file(self, final: Path, action: str) -> Iterator[int]:
        """A descriptor on a fresh temporary file that becomes ``final`` when the block
        succeeds (fsync, rename, fsync directory) and disappears when it fails."""
        with self._new_path(final, action) as (fd, _temporary):
            yield fd

    @contextmanager
    def _new_path(self, final: Path, action: str) -> Iterator[tuple[int, Path]]:
        """:meth:`_new_file`, also giving the temporary file's path (for another process
        to write into)."""
        temporary = self._tmp / f"{final.name}.{uuid.uuid4().hex}.part"
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise errors.from_os_error(exc, action) from exc
        try:
            try:
                yield fd, temporary
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(temporary, final)
            _fsync_directory(final.parent)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise errors.from_os_error(exc, action) from exc
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def _remove(self, path: Path, action: str) -> None:
        try:
            path.unlink()
        except FileNotFoundError:
            return  # already gone: deletes are idempotent
        except OSError as exc:
            raise errors.from_os_error(exc, action) from exc
        try:
            _fsync_directory(path.parent)
        except OSError as exc:
            raise errors.from_os_error(exc, action) from exc


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _checked_id(resource_id: str) -> str:
    """Ids become file names: refuse anything that could leave the directory."""
    try:
        return str(uuid.UUID(resource_id))
    except ValueError as exc:
        raise errors.InvalidInput(field="id", reason=f"{resource_id!r} is not a UUID") from exc


def _id_of(path: Path) -> str:
    return path.name.split("-", 1)[1]
