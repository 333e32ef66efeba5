"""Restoring a backup into a file: the data path of a volume created from a backup.

Called by the create flow's ``backup`` source with a temporary file of the new volume
(the caller publishes it once this returns). Reads the manifest, then, on a few threads,
fetches each chunk, decodes it, checks it against its key and writes it at its offset
(threads write disjoint ranges of one descriptor; more threads than cores pay, since a
thread waits on the repository or on the page cache as often as on the CPU). Holes of the
manifest are never written, nor are all-zero blocks inside chunks, so a sparse volume
stays sparse. On any failure the target is removed: nothing that looks like a complete
volume is left behind.
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
    workers: int = 3,
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

    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise _translate(exc) from exc

    def fetch_and_write(key: str, offset: int, length: int) -> int:
        data = chunks.unpack(backup_id, backup.compression, key, repository.get("chunk", key))
        if len(data) != length:
            reason = f"chunk {key} holds {len(data)} bytes, not {length}"
            raise errors.BackupCorrupt(backup_id=backup_id, reason=reason)
        return chunks.write_sparse(fd, data, offset)

    def tally(extent: Extent, count: int) -> None:
        nonlocal done, written
        written += count
        done += extent.length
        if progress is not None:
            progress(done, total)

    try:
        os.ftruncate(fd, backup.volume_size)
        with pipeline.Pipeline(workers, tally) as work:
            for extent in data_extents:
                work.submit(extent, fetch_and_write, extent.chunk, extent.offset, extent.length)
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
