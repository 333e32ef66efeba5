"""The ``backup`` source of the create flow: a volume holding a backup's data.

``ExtractVolumeSpecTask`` reads the backup row into the spec (:func:`spec_of`: its id,
size and status; a missing backup, one busy with something else or larger than the
volume is refused there, terminally). ``CreateVolumeFromSpecTask`` calls
:func:`create_volume` (through ``sources.create_from_backup``): the backup is held
(``restoring``, ``hearth.db.restores``) and restored (``hearth.backup.restore``) into the
new file the driver makes for the volume (``copy_image_to_volume``: the volume appears
only once its data is complete and durable), then grown to the volume's size. Holes of
the backup stay holes. Any failure removes the file; the hold is let go by the end of the
create (``made`` or ``error``), not here, so a create rescheduled or resumed after a crash
keeps its backup.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from hearth import errors
from hearth.backup import restore
from hearth.backup.drivers.base import BackupRepository
from hearth.db import backups, restores, statuses, volumes
from hearth.db.session import Database
from hearth.image import convert, progress
from hearth.notifications import events
from hearth.volume.drivers import base
from hearth.volume.flows import image_source

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hearth.db import models
    from hearth.volume.flows.sources import VolumeSpec

RepositoryFactory = Callable[[], BackupRepository]
"""How a manager reaches the backup repository (``Services.backup_repository``)."""


def spec_of(session: Session, spec: VolumeSpec, row: models.Volume) -> VolumeSpec:
    """``spec`` with the ``backup`` source of ``row``; raises BackupNotFound,
    SourceNotAvailable (neither ``available`` nor held by this volume) or Invalid (the
    backup's volume is larger than this one), all terminal."""
    assert row.backup_id is not None
    backup = backups.find(session, row.backup_id)
    if backup is None:
        raise errors.BackupNotFound(backup_id=row.backup_id)
    usable = backup.status == statuses.BackupStatus.AVAILABLE or restores.holds(backup, row.id)
    if not usable:
        raise errors.SourceNotAvailable(kind="Backup", source_id=backup.id, status=backup.status)
    if backup.size > row.size:
        raise errors.Invalid(
            reason=f"the volume ({row.size} GiB) is smaller than backup {backup.id} "
            f"({backup.size} GiB)"
        )
    return dataclasses.replace(
        spec, type="backup", backup_size=backup.size, backup_status=backup.status
    )


def create_volume(
    driver: base.VolumeDriver,
    db: Database,
    repository: RepositoryFactory,
    volume: base.VolumeRef,
    backup_id: str,
) -> base.ModelUpdate | None:
    """Make ``volume`` hold backup ``backup_id``'s data; the driver's model update."""
    with db.transaction() as session:
        if not restores.hold(session, backup_id, volume.id):
            backup = backups.get(session, backup_id)
            raise errors.SourceNotAvailable(
                kind="Backup", source_id=backup_id, status=backup.status
            )
        _notify(session, backup_id, volume.id, events.BACKUP_RESTORE.start)
    watch = image_source.VolumeWatch(db, volume.id)
    store = repository()

    def write(target: convert.Target) -> None:
        path = base.local_file(target, driver.driver_name)

        def report(done: int, total: int) -> None:
            watch.report.report(progress.Phase.RESTORE, done, total)

        result = restore.restore(store, backup_id, path, progress=report)
        if result.volume_size > volume.size_bytes:
            raise errors.Invalid(
                reason=f"backup {backup_id} holds {result.volume_size} bytes, more than "
                f"the volume's {volume.size_gb} GiB"
            )
        _grow(path, volume.size_bytes)

    return driver.copy_image_to_volume(volume, write)


def release_made(session: Session, backup_id: str, volume_id: str) -> None:
    """The volume holds the backup's data: the backup is free again, and
    ``backup.restore.end`` is queued with that change (as the backup service's restores
    send it)."""
    if restores.release(session, backup_id, volume_id):
        _notify(session, backup_id, volume_id, events.BACKUP_RESTORE.end)


def _notify(session: Session, backup_id: str, volume_id: str, event: events.Event) -> None:
    volume = volumes.get(session, volume_id)
    backup = backups.get(session, backup_id)
    events.emit_backup(session, backup, event, host=volume.host or "volume")


def _grow(path: Path, size: int) -> None:
    """The restored file ends at the backup's volume size; the rest of a larger volume
    reads as zeros (a hole)."""
    try:
        os.truncate(path, size)
    except OSError as exc:
        raise errors.from_os_error(exc, "grow the volume restored from a backup") from exc
