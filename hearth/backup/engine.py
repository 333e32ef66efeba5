"""Backing a volume file up into a repository: the data path of a backup.

Called by the backup service with the volume's file and a ``drivers.base.BackupRepository``
(the way back, into a new volume, is ``restore.py``).

A backup reads a temporary snapshot of the volume (``snapshot.temporary``) in fixed,
aligned windows of ``chunk_size`` bytes, only those holding data (``extents``). The main
thread reads; a thread pool hashes, compresses and stores (hashlib and zstandard release
the GIL). An all-zero window becomes a hole; a window whose key the repository holds
already is not stored again (deduplication across every backup of the repository).
Incremental backups take the parent's chunk size and codec, and skip reading windows the
extent maps show unchanged since the parent's kept snapshot; without that snapshot they
read every data window and store only those whose hash is new. The manifest is written
last and commits the backup; a backup that fails leaves only unreferenced chunks, which
the next ``catalog.collect_garbage`` frees.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from hearth import errors
from hearth.backup import catalog, chunks, extents, pipeline, snapshot
from hearth.backup.drivers.base import BackupRepository
from hearth.backup.manifest import Extent, Manifest, encode
from hearth.backup.pipeline import Progress

MiB = 1 << 20
ChangeDetection = Literal["full", "extent-map", "hash"]


@dataclass(frozen=True)
class BackupOptions:
    """How to back up. An incremental takes ``chunk_size`` and ``compression`` from its
    parent, so the two share chunk keys."""

    chunk_size: int = 4 * MiB
    """Bytes per chunk; a multiple of 4 KiB (chunks are aligned to it)."""
    compression: str = "zstd"
    level: int = 3
    """zstd's level: 3 is zstd's own default."""
    workers: int = 3
    """Threads that hash, compress and store chunks: one per core, and one more to work
    while another waits for an fsync (measured on 2 cores)."""


@dataclass(frozen=True)
class BackupResult:
    """What a backup did: its manifest and where its time went."""

    manifest: Manifest
    snapshot: snapshot.SnapshotKind
    change_detection: ChangeDetection
    bytes_read: int
    bytes_skipped: int
    """Data bytes not read: the extent maps showed them shared with the parent."""
    chunks_stored: int
    bytes_stored: int
    """Compressed bytes of the chunks this backup added to the repository."""
    chunks_deduplicated: int
    kept_snapshot: Path | None = None


def back_up(
    source: Path,
    repository: BackupRepository,
    backup_id: str,
    parent_id: str | None = None,
    *,
    snapshot_dir: Path | None = None,
    parent_snapshot: Path | None = None,
    keep_snapshot: Path | None = None,
    options: BackupOptions = BackupOptions(),
    progress: Progress | None = None,
) -> BackupResult:
    """Back ``source`` up as ``backup_id`` (incremental on ``parent_id`` when given).

    ``snapshot_dir``: where the temporary snapshot is made (the volume's file system);
    None reads ``source`` in place, for a source nothing writes to. ``parent_snapshot``:
    the snapshot the parent's backup kept (its ``kept_snapshot``, and no other file: windows
    it shares with this snapshot are taken from the parent unread). ``keep_snapshot``:
    where to keep this backup's snapshot for the next incremental; only a reflink is
    kept, and removing a kept snapshot no longer needed is the caller's job.
    Raises BackupExists, BackupNotFound (the parent), BackupRepositoryError, BackendError
    (reading the volume), InvalidInput (the options).
    """
    if repository.exists("manifest", backup_id):
        raise errors.BackupExists(backup_id=backup_id)
    parent = catalog.load(repository, parent_id) if parent_id is not None else None
    run = _Run(repository, options, parent, progress)
    try:
        with snapshot.temporary(source, snapshot_dir) as snap:
            size = run.read(snap.path, parent_snapshot, options.workers)
            manifest = Manifest(
                backup_id=backup_id,
                parent_id=parent_id,
                volume_size=size,
                chunk_size=run.chunk_size,
                compression=run.compression,
                extents=run.extents(size),
                created_at=datetime.now(UTC).isoformat(),
            )
            if not repository.put("manifest", backup_id, encode(manifest)):
                raise errors.BackupExists(backup_id=backup_id)
            kept = snapshot.keep(snap, keep_snapshot) if keep_snapshot else None
    except OSError as exc:
        raise _translate(exc, "read the volume for a backup") from exc
    return BackupResult(
        manifest=manifest,
        snapshot=snap.kind,
        change_detection=run.detection,
        bytes_read=run.bytes_read,
        bytes_skipped=run.bytes_skipped,
        chunks_stored=run.chunks_stored,
        bytes_stored=run.bytes_stored,
        chunks_deduplicated=run.chunks_deduplicated,
        kept_snapshot=kept,
    )


class _Run:
    """One backup's reading and storing, and its tally. ``_store`` runs on the pool's
    threads and touches nothing shared; everything else runs in the calling thread."""

    def __init__(
        self,
        repository: BackupRepository,
        options: BackupOptions,
        parent: Manifest | None,
        progress: Progress | None,
    ) -> None:
        self.repository = repository
        self.parent = parent
        self.chunk_size = parent.chunk_size if parent else options.chunk_size
        self.compression = parent.compression if parent else options.compression
        if self.chunk_size <= 0 or self.chunk_size % chunks.BLOCK:
            raise errors.InvalidInput(field="chunk_size", reason="must be a multiple of 4096")
        self.codec = chunks.codec(self.compression)
        self.level = options.level
        self.known = parent.chunk_keys() if parent else frozenset()
        self.progress = progress
        self.detection: ChangeDetection = "full" if parent is None else "hash"
        self.records: dict[int, str | None] = {}  # window offset -> chunk key, None: zeros
        self.bytes_read = self.bytes_skipped = self.bytes_stored = 0
        self.chunks_stored = self.chunks_deduplicated = 0
        self._done = self._total = 0

    def read(self, path: Path, parent_snapshot: Path | None, workers: int) -> int:
        """Read and store every data window of ``path`` not known unchanged; its size."""
        fd = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            windows = extents.data_windows(fd, size, self.chunk_size)
            self._total = sum(min(self.chunk_size, size - start) for start in windows)
            unchanged = self._unchanged(fd, windows, size, parent_snapshot)
            with pipeline.Pipeline(workers, self._collect) as work:
                for start in windows:
                    length = min(self.chunk_size, size - start)
                    if start in unchanged:
                        self.records[start] = unchanged[start]
                        self.bytes_skipped += length
                        self._advance(length)
                        continue
                    data = os.pread(fd, length, start)
                    if len(data) != length:
                        raise OSError(errno.EIO, "the snapshot ended early")
                    self.bytes_read += length
                    work.submit((start, length), self._store, data)
        finally:
            os.close(fd)
        return size

    def _store(self, data: bytes) -> tuple[str | None, int | None]:
        """The window's record (its key; None for zeros) and the bytes it added (None:
        nothing, the repository holds it already)."""
        if chunks.is_zero(data):
            return None, None
        key = chunks.key_of(self.compression, data)
        if key in self.known or self.repository.exists("chunk", key):
            return key, None
        encoded = self.codec.encode(data, self.level)
        return key, len(encoded) if self.repository.put("chunk", key, encoded) else None

    def _collect(self, window: tuple[int, int], outcome: tuple[str | None, int | None]) -> None:
        (start, length), (key, added) = window, outcome
        self.records[start] = key
        if added is not None:
            self.chunks_stored += 1
            self.bytes_stored += added
        elif key is not None:
            self.chunks_deduplicated += 1
        self._advance(length)

    def _advance(self, length: int) -> None:
        self._done += length
        if self.progress is not None:
            self.progress(self._done, self._total)

    def _unchanged(
        self, fd: int, windows: list[int], size: int, parent_snapshot: Path | None
    ) -> dict[int, str | None]:
        """The parent's records of the windows its kept snapshot still shares with this
        one (extent maps); empty when there is no parent, snapshot or map."""
        if self.parent is None or parent_snapshot is None or not parent_snapshot.exists():
            return {}
        base_fd = os.open(parent_snapshot, os.O_RDONLY)
        try:
            # a file of another size cannot be the parent's snapshot: trust the hashes
            same_size = os.fstat(base_fd).st_size == self.parent.volume_size
            old = extents.extent_map(base_fd) if same_size else None
        finally:
            os.close(base_fd)
        new = extents.extent_map(fd) if old is not None else None
        if old is None or new is None:
            return {}
        self.detection = "extent-map"
        inherited = _parent_records(self.parent, self.chunk_size, size)
        candidates = [start for start in windows if start in inherited]
        shared = extents.shared_windows(new, old, candidates, self.chunk_size, size)
        return {start: inherited[start] for start in shared}

    def extents(self, size: int) -> tuple[Extent, ...]:
        """The manifest's extents: each window's record, and holes (merged) elsewhere."""
        tiles: list[Extent] = []
        position = 0
        for start in sorted(self.records):
            key = self.records[start]
            if key is None:
                continue  # an all-zero window: part of the hole around it
            if start > position:
                tiles.append(Extent(position, start - position, None))
            end = min(start + self.chunk_size, size)
            tiles.append(Extent(start, end - start, key))
            position = end
        if position < size:
            tiles.append(Extent(position, size - position, None))
        return tuple(tiles)


def _parent_records(parent: Manifest, chunk_size: int, size: int) -> dict[int, str | None]:
    """The parent's record of each window it covered with the same length as now."""
    records: dict[int, str | None] = {}
    for extent in parent.extents:
        for start in range(extent.offset, extent.end, chunk_size):
            if min(start + chunk_size, parent.volume_size) == min(start + chunk_size, size):
                records[start] = extent.chunk
    return records


def _translate(exc: OSError, action: str) -> errors.HearthError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return errors.BackendFull(action=action, detail=str(exc))
    return errors.BackendError(action=action, detail=str(exc))
