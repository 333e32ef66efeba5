"""The backup service's side of the bus: what a server on queue ``backup`` calls."""

from __future__ import annotations

from hearth.backup_service.manager import BackupManager
from hearth.context import RequestContext


class BackupEndpoint:
    """What the bus dispatches to the backup manager (queue ``backup``)."""

    RPC_VERSION = "1.0"
    RPC_METHODS = frozenset({"create_backup", "delete_backup", "restore_backup"})

    def __init__(self, manager: BackupManager) -> None:
        self.manager = manager

    def create_backup(self, context: RequestContext, backup_id: str) -> None:
        self.manager.create_backup(context, backup_id)

    def delete_backup(self, context: RequestContext, backup_id: str) -> None:
        self.manager.delete_backup(context, backup_id)

    def restore_backup(self, context: RequestContext, backup_id: str, volume_id: str) -> None:
        self.manager.restore_backup(context, backup_id, volume_id)
