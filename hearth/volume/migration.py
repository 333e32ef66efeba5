"""A volume moving to another backend (retype with migration, ``os-migrate_volume``): the
target backend's manager copies it, switches it over, and the source's copy is removed.

The row is the journal (``service/migration.py`` began it, claiming the size on the
target), and every step is safe to run again after a crash:

1. ``migrating`` (migration_host = target): the target's manager copies the source's file
   (read through the source driver's local path) into a new volume of the same id on its
   own backend, written under its ``tmp/`` and renamed into place when complete
   (``copy_image_to_volume``): a kill mid-copy leaves only a partial file, removed at start-
   up, and reconciliation copies again.
2. One transaction switches the volume: host = target (whose claim it now holds), the new
   type for a retype, the status it had, ``completing`` with migration_host = the source;
   the source's claim is released.
3. The source's copy is deleted (``delete_volume`` accepts it gone), then ``success``.

A failed copy gives the target's claim back, leaves the volume where it was, in the status
it had, with ``error`` as its migration status and a user message. ``take_up`` is what
reconciliation runs for a backend: steps 1-2 for migrations to it, step 3 for migrations
from it.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hearth import copying, errors, messages
from hearth.context import RequestContext, admin_context
from hearth.db import backends, models, volumes
from hearth.image import convert
from hearth.volume.drivers import base

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hearth.volume.manager import VolumeManager

LOG = logging.getLogger(__name__)
MIGRATING, COMPLETING, SUCCESS, ERROR = "migrating", "completing", "success", "error"


def migrate(manager: VolumeManager, context: RequestContext, volume_id: str) -> None:
    """Steps 1-3 for a volume migrating to ``manager``'s backend."""
    with manager.db.read() as session:
        volume = volumes.find(session, volume_id)
    if volume is None or volume.migration_status != MIGRATING:
        LOG.info("volume %s is not migrating any more; request dropped", volume_id)
        return
    if volume.migration_host != manager.host or volume.host is None:
        LOG.warning("volume %s migrates to %s, not here", volume_id, volume.migration_host)
        return
    ref = base.VolumeRef(volume.id, volume.size)
    try:
        _copy(manager, volume.host, ref)
    except errors.HearthError as exc:
        _failed(manager, context, volume, exc)
        return
    with manager.db.transaction() as session:
        _switch(session, volume, manager.host)
    manager.stats_changed()
    remove_source(manager, volume_id)


def remove_source(manager: VolumeManager, volume_id: str) -> None:
    """Step 3: delete the copy a completed migration left on its source backend."""
    with manager.db.read() as session:
        volume = volumes.find(session, volume_id)
    if volume is None or volume.migration_status != COMPLETING or volume.migration_host is None:
        return
    source = volume.migration_host
    driver = manager.driver if source == manager.host else _peer(manager, source)
    try:
        driver.delete_volume(base.VolumeRef(volume.id, volume.size))
    except errors.HearthError as exc:  # left completing: the source's reconciliation retries
        LOG.warning("removing the source copy of migrated volume %s failed: %s", volume_id, exc)
        return
    with manager.db.transaction() as session:
        volumes.update(session, volume_id, migration_status=SUCCESS, migration_host=None)


def take_up(manager: VolumeManager, cutoff: datetime) -> int:
    """Reconciliation: resume the migrations to this backend and finish those from it
    (those untouched since ``cutoff``)."""
    with manager.db.read() as session:
        found = volumes.find_migrations(session, manager.host)
    mine = [v for v in found if (v.updated_at or v.created_at) <= cutoff]
    for volume in mine:
        if manager.in_hand(volume.id):
            continue
        with manager.exclusively(volume.id) as free:
            if not free:
                continue
            if volume.migration_status == MIGRATING:
                migrate(manager, admin_context(volume.project_id), volume.id)
            elif volume.migration_status == COMPLETING:
                remove_source(manager, volume.id)
    return len(mine)


def _copy(manager: VolumeManager, source_host: str, volume: base.VolumeRef) -> None:
    """The source's bytes into a new volume of the same id here, holes kept."""
    source = _peer(manager, source_host).local_path(volume)

    def write(into: convert.Target) -> None:
        target = base.local_file(into, manager.driver.driver_name)
        try:
            src_fd = os.open(source, os.O_RDONLY)
        except OSError as exc:
            raise errors.from_os_error(
                exc, "read the volume", source=("volume", volume.id)
            ) from exc
        try:
            dst_fd = os.open(target, os.O_WRONLY)
            try:
                copying.sparse_copy(src_fd, dst_fd)
            finally:
                os.close(dst_fd)
        except OSError as exc:
            raise errors.from_os_error(exc, "copy the volume") from exc
        finally:
            os.close(src_fd)

    manager.driver.copy_image_to_volume(volume, write)


def _switch(session: Session, volume: models.Volume, target: str) -> None:
    """Step 2, in the caller's transaction: the volume is the target's from now on."""
    changes: dict[str, Any] = {
        "host": target,
        "migration_status": COMPLETING,
        "migration_host": volume.host,
        "migration_type_id": None,
        "migration_return_status": None,
    }
    if volume.migration_type_id is not None:
        changes["volume_type_id"] = volume.migration_type_id
    volumes.set_status(session, volume.id, volume.migration_return_status or "available", **changes)
    assert volume.host is not None
    backends.release(session, volume.host, volume.size)


def _failed(
    manager: VolumeManager,
    context: RequestContext,
    volume: models.Volume,
    error: errors.HearthError,
) -> None:
    LOG.error("migration of volume %s to %s failed: %s", volume.id, manager.host, error)
    with manager.db.transaction() as session:
        volumes.set_status(
            session,
            volume.id,
            volume.migration_return_status or "available",
            migration_status=ERROR,
            migration_host=None,
            migration_type_id=None,
            migration_return_status=None,
        )
        backends.release(session, manager.host, volume.size)
        messages.record_failure(
            session,
            context,
            action=messages.Action.MIGRATE_VOLUME,
            resource_type="VOLUME",
            resource_id=volume.id,
            error=error,
        )


def _peer(manager: VolumeManager, backend: str) -> base.VolumeDriver:
    if manager.peer_driver is None:
        raise errors.NotSupportedByBackend(driver=manager.driver.driver_name, operation="migrate")
    return manager.peer_driver(backend)
