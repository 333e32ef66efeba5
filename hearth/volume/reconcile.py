"""Reconciliation: finishing, or undoing, the work a crash left unfinished on one backend.

A volume manager runs it when it starts (every unfinished row of its backend) and then every
``recovery.interval`` seconds (rows untouched for ``recovery.stale_after`` seconds that it
is not working on: their message was lost). It checks each against what the backend holds:

- a create whose journal says ``made`` and whose volume the backend holds is finished
  (``available``, ``create.end``); any other create runs its flow again (creates are
  idempotent: a new file replaces a leftover one), at most ``recovery.max_resumes`` times,
  then fails with a user message;
- a delete is run again (deletes accept what is already gone);
- an extend is finished if the backend holds the larger volume, else the volume goes back
  to ``available`` at its old size with a user message;
- a snapshot being created is captured again; one being deleted is deleted again;
- a migration to this backend is copied again, one from it has its source copy removed
  (``migration.take_up``); a revert runs again, an upload's volume is ``available`` again
  (``actions.take_up``);
- at the end the backend's claims are recounted from its volume rows.

A create from a backup needs nothing more: its backup stays ``restoring`` for it until the
create is ``made`` or ``error`` (``hearth.db.restores``), both of which free it.

Files of operations that died (the driver's temporary files) are removed at start-up by the
driver, before this runs.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hearth import config, errors, messages, notifications
from hearth.context import RequestContext
from hearth.db import backends, models, quota_usages, snapshots, statuses, volumes
from hearth.notifications import events
from hearth.volume import actions, failed_create, migration, scheduling
from hearth.volume.drivers import base
from hearth.volume.flows import create_volume

if TYPE_CHECKING:
    from hearth.volume.manager import VolumeManager

LOG = logging.getLogger(__name__)
VOLUME_WORK = (
    *statuses.CREATE_IN_PROGRESS,
    statuses.VolumeStatus.DELETING,
    statuses.VolumeStatus.EXTENDING,
)
SNAPSHOT_WORK = (statuses.SnapshotStatus.CREATING, statuses.SnapshotStatus.DELETING)


def reconcile(
    manager: VolumeManager, recovery: config.RecoverySettings, *, everything: bool
) -> Counter[str]:
    """Take up the unfinished work of the manager's backend; returns what was done."""
    cutoff = models.utcnow() - timedelta(seconds=0 if everything else recovery.stale_after)
    done: Counter[str] = Counter()
    with manager.db.read() as session:
        stuck_volumes = volumes.find_all(session, host=manager.host, statuses=VOLUME_WORK)
        stuck_snapshots = snapshots.find_on_host(session, manager.host, statuses=SNAPSHOT_WORK)
    for volume in stuck_volumes:
        if _untouched_since(volume, cutoff) and not manager.in_hand(volume.id):
            done[_take_up_volume(manager, volume, recovery)] += 1
    for snapshot in stuck_snapshots:
        if _untouched_since(snapshot, cutoff) and not manager.in_hand(snapshot.id):
            done[_take_up_snapshot(manager, snapshot)] += 1
    for kind, taken in (
        ("migrations taken up", migration.take_up(manager, cutoff)),
        ("volume actions taken up", actions.take_up(manager, cutoff)),
    ):
        if taken:
            done[kind] += taken
    with manager.db.transaction() as session:
        before, after = backends.recount(session, manager.host)
    if before != after:
        done["capacity corrected"] += 1
        LOG.warning("backend %s claimed %s GiB, its volumes hold %s", manager.host, before, after)
    if done:
        LOG.warning("reconciled backend %s: %s", manager.host, dict(done))
    return done


def _take_up_volume(
    manager: VolumeManager, volume: models.Volume, recovery: config.RecoverySettings
) -> str:
    context = _owner(volume)
    if volume.status in statuses.CREATE_IN_PROGRESS:
        return _resume_create(manager, volume, context, recovery)
    if volume.status == statuses.VolumeStatus.DELETING:
        manager.delete_volume(context, volume.id)
        return "deletes resumed"
    return _settle_extend(manager, volume, context)


def _resume_create(
    manager: VolumeManager,
    volume: models.Volume,
    context: RequestContext,
    recovery: config.RecoverySettings,
) -> str:
    ref = base.VolumeRef(volume.id, volume.size, volume.provider_location)
    if volume.create_step == "made" and manager.driver.volume_exists(ref):
        finish = create_volume.CreateVolumeOnFinishTask(manager.db, "create.end")
        finish.execute(context, volume, None)
        return "creates finished"
    if volume.create_resumes >= recovery.max_resumes:
        manager.driver.delete_volume(ref)
        outcome = f"given up after {volume.create_resumes + 1} tries"
        error = errors.Interrupted(action="create", outcome=outcome)
        failed_create.error_out(manager.db, context, volume.id, error, free_backend=True)
        return "creates failed"
    with manager.db.transaction() as session:
        volumes.update(session, volume.id, create_resumes=volume.create_resumes + 1)
        spec, filter_properties = scheduling.rebuild(session, volume)
    manager.create_volume(context, volume, spec, filter_properties, allow_reschedule=True)
    return "creates resumed"


def _settle_extend(manager: VolumeManager, volume: models.Volume, context: RequestContext) -> str:
    held = manager.driver.volume_size(base.VolumeRef(volume.id, volume.size)) or 0
    grown = held > volume.size * base.GiB
    with manager.db.transaction() as session:
        new_size = held // base.GiB if grown else volume.size
        if not volumes.set_status(
            session,
            volume.id,
            statuses.VolumeStatus.AVAILABLE,
            expected=[statuses.VolumeStatus.EXTENDING],
            size=new_size,
        ):
            return "extends already settled"
        settled = volumes.get(session, volume.id)
        if grown:  # the reserved growth is committed, or released with the undo
            quota_usages.commit(session, volume.id)
        else:
            quota_usages.release(session, volume.id)
        if grown:
            notifications.emit_volume(session, settled, events.VOLUME_RESIZE.end)
        else:
            notifications.emit_volume(session, settled, events.VOLUME_RESIZE.error)
            messages.record_failure(
                session,
                context,
                action=messages.Action.EXTEND_VOLUME,
                resource_type="VOLUME",
                resource_id=volume.id,
                error=errors.Interrupted(
                    action="extend",
                    outcome=f"the volume keeps its size of {volume.size} GiB; extend it again",
                ),
            )
    return "extends finished" if grown else "extends undone"


def _take_up_snapshot(manager: VolumeManager, snapshot: models.Snapshot) -> str:
    context = RequestContext(user_id=snapshot.user_id, project_id=snapshot.project_id)
    if snapshot.status == statuses.SnapshotStatus.CREATING:
        manager.create_snapshot(context, snapshot.id)
        return "snapshots resumed"
    manager.delete_snapshot(context, snapshot.id)
    return "snapshot deletes resumed"


def _owner(volume: models.Volume) -> RequestContext:
    """The context work is resumed in: the volume's owner, so messages reach them."""
    return RequestContext(user_id=volume.user_id, project_id=volume.project_id)


def _untouched_since(row: models.Volume | models.Snapshot, cutoff: datetime) -> bool:
    return (row.updated_at or row.created_at) <= cutoff
