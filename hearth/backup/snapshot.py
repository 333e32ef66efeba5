"""The temporary snapshot a backup reads, so the volume stays usable while it runs.

Used by ``engine.back_up``: the volume file is reflinked (FICLONE: instant, shares every
extent) into a directory on its file system, or, where the file system cannot reflink,
copied sparsely (SEEK_DATA/SEEK_HOLE and ``copy_file_range``: holes stay holes). The
backup reads the snapshot; writes to the volume meanwhile do not reach it. The snapshot
is removed afterwards, unless the caller keeps a reflinked one as the base the next
incremental backup compares extent maps with.

The bytes move through ``hearth.copying``, as the file driver's clones do.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hearth import copying

SnapshotKind = Literal["reflink", "copy", "none"]


@dataclass(frozen=True)
class Snapshot:
    """The file a backup reads and how it was made (``none``: the source itself)."""

    path: Path
    kind: SnapshotKind


@contextmanager
def temporary(source: Path, directory: Path | None) -> Iterator[Snapshot]:
    """A snapshot of ``source`` in ``directory`` (same file system for a reflink), removed
    on exit unless :func:`keep` moved it away. ``directory`` None: read ``source`` itself
    (for sources nothing writes to, such as a volume snapshot). Raises OSError."""
    if directory is None:
        yield Snapshot(source, "none")
        return
    path = directory / f".backup-snapshot-{uuid.uuid4().hex}"
    try:
        kind = _make(source, path)
        yield Snapshot(path, kind)
    finally:
        path.unlink(missing_ok=True)


def keep(snapshot: Snapshot, destination: Path) -> Path | None:
    """Move a reflinked snapshot to ``destination`` (same directory tree, same file
    system) so it outlives the backup; a copied snapshot is not worth its space: None."""
    if snapshot.kind != "reflink":
        return None
    os.replace(snapshot.path, destination)
    return destination


def _make(source: Path, path: Path) -> SnapshotKind:
    src_fd = os.open(source, os.O_RDONLY)
    try:
        dst_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                copying.reflink(src_fd, dst_fd)
                return "reflink"
            except OSError as exc:
                if exc.errno not in copying.NO_REFLINK:
                    raise
            copying.sparse_copy(src_fd, dst_fd)
            return "copy"
        finally:
            os.close(dst_fd)
    finally:
        os.close(src_fd)
