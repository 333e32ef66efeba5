"""Restoring a backup into a file: the data path of a volume created from a backup.

Called by the create flow's ``backup`` source with a temporary file of the new volume
(the caller publishes it once this returns). Reads the manifest, then fetches, decodes
and checks each chunk against its key on a few threads while the calling thread writes
them at their offsets. Holes of the manifest are never written, nor are all-zero blocks
inside chunks, so a sparse volume stays sparse. On any failure the target is removed:
nothing that looks like a complete volume is left behind.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from hearth import errors
from hearth.backup import catalog, chunks, pipeline
from hearth.backup.drivers.base import BackupRepository
from hearth.backup.manifest import Extent
from hearth.backup.pipeline import Progress


@dataclass(frozen=True)
class RestoreResult:
    """What a restore wrote: the volume's size, and the bytes written into it."""

    volume_size: int
    bytes_written: int


def restore(
    repository: BackupRepository,
    backup_id: str,
    target: Path,
    *,
    workers: int = 2,
    progress: Progress | None = None,
) -> RestoreResult:
    """Write backup ``backup_id`` into ``target`` (created, or emptied), fsynced.

    The file ends exactly the backup's volume size; growing it to a larger volume is the
    caller's. Raises BackupNotFound, BackupCorrupt (a chunk missing or damaged: the
    target is removed), BackupRepositoryError, BackendFull or BackendError (writing).
    """
    backup = catalog.load(repository, backup_id)
    data_extents = [extent for extent in backup.extents if extent.chunk is not None]
    total = sum(extent.length for extent in data_extents)
    done = written = 0

    def fetch(key: str, length: int) -> bytes:
        data = chunks.unpack(backup_id, backup.compression, key, repository.get("chunk", key))
        if len(data) != length:
            reason = f"chunk {key} holds {len(data)} bytes, not {length}"
            raise errors.BackupCorrupt(backup_id=backup_id, reason=reason)
        return data

    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise _translate(exc) from exc
    try:
        os.ftruncate(fd, backup.volume_size)

        def write(extent: Extent, data: bytes) -> None:
            nonlocal done, written
            written += chunks.write_sparse(fd, data, extent.offset)
            done += extent.length
            if progress is not None:
                progress(done, total)

        with pipeline.Pipeline(workers, write) as work:
            for extent in data_extents:
                work.submit(extent, fetch, extent.chunk, extent.length)
        os.fsync(fd)
    except BaseException as exc:
        os.close(fd)
        target.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _translate(exc) from exc
        raise
    os.close(fd)
    return RestoreResult(volume_size=backup.volume_size, bytes_written=written)


def _translate(exc: OSError) -> errors.HearthError:
    action = "write the volume restored from a backup"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return errors.BackendFull(action=action, detail=str(exc))
    return errors.BackendError(action=action, detail=str(exc))
