"""Backups for the tests of creates from a backup, made without the backup service.

:func:`backed_up` backs a file up with the real engine (``hearth.backup.engine.back_up``)
into the Hearth's repository and inserts its row (``hearth.db.backups.create``), as the
backup service would once a backup ends; :func:`backup_row` inserts a row alone (for the
refusals that never read data); :func:`damage_chunk` breaks one stored chunk.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from hearth.backup import engine
from hearth.db import backups, models, statuses
from hearth.service.facade import Hearth

GiB = 1 << 30
MiB = 1 << 20
SMALL_CHUNKS = engine.BackupOptions(chunk_size=MiB, workers=2)
"""1 MiB chunks: a test volume of a few MiB spans several."""


def backed_up(
    hearth: Hearth,
    source: Path,
    *,
    options: engine.BackupOptions = SMALL_CHUNKS,
    **fields: Any,
) -> models.Backup:
    """Back ``source`` up and record it ``available`` (``fields`` override the row's)."""
    backup_id = str(uuid.uuid4())
    result = engine.back_up(source, hearth.services.backup_repository(), backup_id, options=options)
    size_gb = -(-os.stat(source).st_size // GiB)
    return backup_row(
        hearth,
        id=backup_id,
        size=size_gb,
        object_count=len(result.manifest.chunk_keys()),
        **fields,
    )


def backup_row(hearth: Hearth, **fields: Any) -> models.Backup:
    """A backup row (``available``, 1 GiB, of the admin project unless ``fields`` say)."""
    values: dict[str, Any] = {
        "volume_id": str(uuid.uuid4()),
        "project_id": "admin",
        "user_id": "admin",
        "size": 1,
        "status": statuses.BackupStatus.AVAILABLE,
        "container": "posix",
        "service": "posix",
        "data_timestamp": models.utcnow(),
        **fields,
    }
    with hearth.services.db.transaction() as session:
        return backups.create(session, **values)


def get(hearth: Hearth, backup_id: str) -> models.Backup:
    """The backup row as it is now."""
    with hearth.services.db.read() as session:
        return backups.get(session, backup_id)


def chunk_path(hearth: Hearth, key: str) -> Path:
    """Where the posix repository stores a chunk."""
    root = hearth.services.settings.backup_directory
    return root / "chunks" / key[:2] / key[2:4] / key


def damage_chunk(hearth: Hearth, backup_id: str) -> str:
    """Flip a byte of one chunk of the backup (the last in key order); returns its key."""
    from hearth.backup import catalog

    manifest = catalog.load(hearth.services.backup_repository(), backup_id)
    key = sorted(manifest.chunk_keys())[-1]
    path = chunk_path(hearth, key)
    stored = path.read_bytes()
    middle = len(stored) // 2
    path.write_bytes(stored[:middle] + bytes([stored[middle] ^ 0xFF]) + stored[middle + 1 :])
    return key


def write_at(path: Path, size: int, pieces: dict[int, bytes]) -> Path:
    """A sparse file of ``size`` bytes holding ``pieces`` (offset -> data)."""
    with path.open("wb") as sparse:
        sparse.truncate(size)
        for offset, data in pieces.items():
            sparse.seek(offset)
            sparse.write(data)
    return path
