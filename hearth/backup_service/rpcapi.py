"""Casts to the backup service: one queue, ``backup``, that every backup service consumes.

Used by the request layer (``hearth.service.backups``) once it has written the rows that
start the work; whichever backup service takes the message does it.
"""

from __future__ import annotations

from typing import Any

from hearth import bus as message_bus
from hearth.context import RequestContext

VERSION = "1.0"
TOPIC = "backup"


class BackupAPI:
    """Sends work to a backup service, wherever it runs."""

    def __init__(self, bus: message_bus.Bus) -> None:
        self._bus = bus

    def create_backup(self, context: RequestContext, backup_id: str) -> None:
        """Back up the volume (or snapshot) of a ``creating`` backup."""
        self._cast("create_backup", context, backup_id=backup_id)

    def delete_backup(self, context: RequestContext, backup_id: str) -> None:
        """Delete a ``deleting`` backup's data, then its row."""
        self._cast("delete_backup", context, backup_id=backup_id)

    def restore_backup(self, context: RequestContext, backup_id: str, volume_id: str) -> None:
        """Write a ``restoring`` backup into the volume (waiting for it to be created)."""
        self._cast("restore_backup", context, backup_id=backup_id, volume_id=volume_id)

    def _cast(self, method: str, context: RequestContext, **args: Any) -> None:
        self._bus.cast(TOPIC, method, context, VERSION, **args)
