"""The volume files a backup reads and a restore writes, reached through the backend's driver.

Used by the backup manager. A backup of a volume reads a temporary snapshot of the
volume's file made in a directory of its own beside the file (same file system, so a
reflink where it can): ``.backup-<backup id>/``, recorded on the row, removed afterwards
and by recovery. A backup of a snapshot reads the snapshot's file itself (nothing writes
to it). A restore writes a temporary file beside the volume's file
(``.restore-<backup id>.part``, recorded on the row), grows it to the volume's size, and
replaces the volume's file with it only once it is complete and durable: a restore that
fails leaves the volume's bytes as they were.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from hearth import errors
from hearth.db import models
from hearth.volume.drivers import base

SNAPSHOT_DIR_PREFIX = ".backup-"
RESTORE_PREFIX = ".restore-"


def volume_ref(volume: models.Volume) -> base.VolumeRef:
    return base.VolumeRef(volume.id, volume.size, volume.provider_location)


def snapshot_ref(snapshot: models.Snapshot) -> base.SnapshotRef:
    return base.SnapshotRef(
        snapshot.id, snapshot.volume_id, snapshot.volume_size, snapshot.provider_location
    )


def snapshot_dir(volume_file: Path, backup_id: str) -> Path:
    """Where the temporary snapshot of a backup of ``volume_file`` is made."""
    return volume_file.parent / f"{SNAPSHOT_DIR_PREFIX}{backup_id}"


def restore_file(volume_file: Path, backup_id: str) -> Path:
    """The temporary file a restore into ``volume_file`` writes."""
    return volume_file.parent / f"{RESTORE_PREFIX}{backup_id}.part"


def make_dir(path: Path) -> None:
    """Create the snapshot directory (a leftover one is emptied first)."""
    remove(path)
    try:
        path.mkdir(mode=0o700)
    except OSError as exc:
        raise errors.from_os_error(exc, "prepare the backup's snapshot") from exc


def remove(path: Path | str | None) -> None:
    """Remove a temporary snapshot directory or restore file; only names this module
    makes are removed (a path read back from a row is checked), and a missing one is
    fine."""
    if path is None:
        return
    chosen = Path(path)
    if not chosen.name.startswith((SNAPSHOT_DIR_PREFIX, RESTORE_PREFIX)):
        raise errors.InvalidInput(field="temp_snapshot_path", reason="not a backup's file")
    try:
        if chosen.is_dir() and not chosen.is_symlink():
            shutil.rmtree(chosen)
        else:
            chosen.unlink(missing_ok=True)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise errors.from_os_error(exc, "remove a backup's temporary file") from exc


def publish(temporary: Path, volume_file: Path, size_bytes: int) -> None:
    """Make the restored ``temporary`` the volume's file: grown to the volume's size,
    fsynced, renamed over the volume's file, the directory fsynced."""
    action = "replace the volume's data with the restored backup"
    try:
        fd = os.open(temporary, os.O_WRONLY)
        try:
            if os.fstat(fd).st_size > size_bytes:
                raise errors.Invalid(reason="the backup is larger than the volume")
            os.ftruncate(fd, size_bytes)
            os.fsync(fd)
        finally:
            os.close(fd)
        if not volume_file.exists():
            raise OSError(errno.ENOENT, "the volume's file is gone")
        os.replace(temporary, volume_file)
        directory = os.open(volume_file.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as exc:
        raise errors.from_os_error(exc, action) from exc
