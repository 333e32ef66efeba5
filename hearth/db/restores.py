"""A create from a backup holds its backup: the backup is ``restoring``, its
``restore_volume_id`` the volume being made, from the accepted request to the create's end.

The request layer takes the hold in the transaction that inserts the volume row
(``hearth.service.requests``); the create flow's ``backup`` source takes it again when it
was let go meanwhile (an admin's status reset); the end of the create lets it go in the
transaction that ends it: the step ``made`` (``CreateVolumeFromSpecTask``) or ``error``
(``hearth.volume.failed_create``). So a crash never leaves a backup ``restoring`` for a
create that ended, and a create resumed after a crash finds its hold still there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hearth.db import backups, statuses

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Status = statuses.BackupStatus


def holds(backup: backups.Backup, volume_id: str) -> bool:
    """Whether the backup is ``restoring`` into that volume."""
    return backup.status == Status.RESTORING and backup.restore_volume_id == volume_id


def hold(session: Session, backup_id: str, volume_id: str) -> bool:
    """``available`` -> ``restoring`` into ``volume_id`` (compare-and-set); True also when
    the volume holds it already. False: the backup is gone or busy with something else."""
    if backups.set_status(
        session,
        backup_id,
        Status.RESTORING,
        expected=[Status.AVAILABLE],
        restore_volume_id=volume_id,
    ):
        return True
    backup = backups.find(session, backup_id)
    return backup is not None and holds(backup, volume_id)


def release(session: Session, backup_id: str, volume_id: str) -> bool:
    """``restoring`` into ``volume_id`` -> ``available``; a backup the volume does not hold
    (gone, reset, restoring elsewhere) is left as it is. True when it was let go."""
    backup = backups.find(session, backup_id)
    if backup is None or not holds(backup, volume_id):
        return False
    return backups.set_status(
        session,
        backup_id,
        Status.AVAILABLE,
        expected=[Status.RESTORING],
        restore_volume_id=None,
        progress=None,
    )
