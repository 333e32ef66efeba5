"""What the backup manager and recovery share: the locks' names, and a volume's return.

``backup-service-<name>-manager`` is held by a backup service for as long as it serves
(whoever can take it knows that service is dead); ``backup-repository-<name>`` is held
across writing a backup and sweeping chunks of one repository (``hearth.backup.catalog``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hearth.backup.drivers.base import BackupRepository
from hearth.db import models, statuses, volumes

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def service_lock(name: str) -> str:
    """The lock a backup service holds for as long as it serves under ``name``."""
    return f"backup-service-{name}-manager"


def repository_lock(repository: BackupRepository) -> str:
    """The lock held across writing a backup and sweeping chunks of one repository."""
    return f"backup-repository-{repository.name}"


def return_volume(session: Session, backup: models.Backup) -> None:
    """Put a ``backing-up`` volume back in the status it had before the backup. Call it
    before the backup's own update in the same session, which clears what it reads."""
    if backup.snapshot_id is not None:
        return  # a backup of a snapshot leaves its volume's status alone
    previous = backup.volume_previous_status or statuses.VolumeStatus.AVAILABLE
    volumes.set_status(
        session, backup.volume_id, previous, expected=[statuses.VolumeStatus.BACKING_UP]
    )
