"""What a backup service takes up when it starts: the work a dead service left.

Called by ``BackupManager.init_host``, holding the service's lock. The rows it looks at are
those of this service (``host`` is its name), of no service yet (the message may be lost
with an in-process bus), and of services whose lock is free (dead). For each:

- ``creating``: its temporary snapshot is removed; a backup whose manifest the repository
  holds was complete (it becomes ``available``), any other becomes ``error`` with
  ``fail_reason``, a backup never started is started again; its volume returns to the
  status it had;
- ``restoring``: its temporary file is removed (the volume's own file was not replaced
  unless the restore was complete) and the restore runs again, from the start;
- ``deleting``: the delete runs again (each of its steps may run twice).

Then unreferenced chunks (a backup that died before its manifest) are swept, under the
repository's lock. Restores, deletes and the sweep run after start-up, in a thread (a
restore may wait for a volume's create), as :class:`Leftover` items.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hearth import errors, messages
from hearth.backup import catalog
from hearth.backup_service import files, state
from hearth.context import RequestContext
from hearth.db import backups, models, statuses, volumes

if TYPE_CHECKING:
    from hearth.backup_service.manager import BackupManager

LOG = logging.getLogger(__name__)
Backup = statuses.BackupStatus
Volume = statuses.VolumeStatus
IN_PROGRESS = (Backup.CREATING, Backup.RESTORING, Backup.DELETING)


@dataclass(frozen=True)
class Leftover:
    """Work recovery hands back to be run after start-up."""

    backup_id: str
    run: Callable[[BackupManager], None]


def recover(manager: BackupManager) -> list[Leftover]:
    """Settle what dead services left (see the module docstring); returns what is left
    to run, the sweep of unreferenced chunks last (when anything was left)."""
    with manager.db.read() as session:
        rows = backups.find_all(session, statuses=IN_PROGRESS)
    dead: dict[str | None, bool] = {None: True, manager.name: True}
    leftovers: list[Leftover] = []
    for row in rows:
        if row.host not in dead:
            dead[row.host] = _is_dead(manager, row.host)
        if dead[row.host]:
            leftovers.extend(_settle(manager, row))
    if rows:  # a backup cut short may have left chunks that no manifest names
        leftovers.append(Leftover("*", sweep))
    return leftovers


def _settle(manager: BackupManager, row: models.Backup) -> list[Leftover]:
    context = RequestContext(user_id=row.user_id, project_id=row.project_id)
    files.remove(row.temp_snapshot_path)
    if row.status == Backup.CREATING:
        if row.host is None:
            return [Leftover(row.id, lambda m: m.create_backup(context, row.id))]
        _finish_create(manager, context, row)
        return []
    if row.status == Backup.RESTORING:
        return _restore_leftover(manager, context, row)
    return [Leftover(row.id, lambda m: m.delete_backup(context, row.id))]


def _restore_leftover(
    manager: BackupManager, context: RequestContext, row: models.Backup
) -> list[Leftover]:
    """A restore into an existing volume runs again; a backup held by a create from it
    is the create's (its volume is not ``restoring-backup``): the create flow and its
    reconciliation end that hold, never this service."""
    volume_id = row.restore_volume_id
    with manager.db.read() as session:
        volume = volumes.find(session, volume_id) if volume_id is not None else None
    if volume is not None and volume.status == Volume.RESTORING_BACKUP:
        return [Leftover(row.id, lambda m: m.restore_backup(context, row.id, volume.id))]
    creating = volume is not None and volume.status in statuses.CREATE_IN_PROGRESS
    if creating and volume is not None and volume.backup_id == row.id:
        return []  # the create's hold
    with manager.db.transaction() as session:  # nothing writes it any more
        backups.set_status(
            session, row.id, Backup.AVAILABLE, expected=[Backup.RESTORING], restore_volume_id=None
        )
    LOG.info("backup %s was held by no restore: available again", row.id)
    return []


def _finish_create(manager: BackupManager, context: RequestContext, row: models.Backup) -> None:
    """A backup cut short: complete if its manifest was stored, else failed."""
    try:
        manifest = catalog.load(manager.repository(), row.id)
    except errors.BackupNotFound:
        manifest = None
    except errors.HearthError as exc:
        LOG.warning("backup %s: its manifest cannot be read: %s", row.id, exc)
        manifest = None
    if manifest is None:
        interrupted = errors.Interrupted(
            action="backup", outcome="it was not complete; make a new backup"
        )
        manager.record_failure(context, row.id, messages.Action.CREATE_BACKUP, interrupted)
        LOG.info("backup %s was cut short by a restart: error", row.id)
        return
    with manager.db.transaction() as session:
        state.return_volume(session, row)
        backups.set_status(
            session,
            row.id,
            Backup.AVAILABLE,
            expected=[Backup.CREATING],
            object_count=len(manifest.chunk_keys()),
            progress=None,
            temp_snapshot_path=None,
            volume_previous_status=None,
        )
    LOG.info("backup %s was complete when its service died: available", row.id)


def sweep(manager: BackupManager) -> None:
    """Free the chunks no manifest names, holding the repository's lock."""
    repository = manager.repository()
    with manager.locks.hold(state.repository_lock(repository)):
        freed = catalog.collect_garbage(repository)
    if freed:
        LOG.info("freed %d chunks no backup references", freed)


def _is_dead(manager: BackupManager, host: str | None) -> bool:
    """Whether the backup service ``host`` is gone (its lock can be taken)."""
    held = manager.locks.try_acquire(state.service_lock(str(host)))
    if held is None:
        return False
    held.release()
    return True
