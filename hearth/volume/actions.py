"""The volume manager's side of the data actions on one backend: revert to a snapshot,
upload to an image, reimage. Called by ``VolumeEndpoint`` after the request layer
(``service/data_actions.py``) moved the rows to their working statuses.

Each replaces or copies the data through the driver in a way a crash cannot half-do (the
driver writes a new file under ``tmp/`` and renames it over the old one; the image store
receives under its upload lock) and then, in one transaction, puts the rows back:
``available`` on success; on failure the volume returns to ``available`` (an upload,
whose volume is untouched) or goes to ``error`` (a revert or reimage, whose data may be
gone), with a user message. A crash mid-way leaves the status for reconciliation
(``take_up``), which runs the action again: each is idempotent.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hearth import errors, messages
from hearth.context import RequestContext, admin_context
from hearth.db import images, snapshots, statuses, volumes
from hearth.image import info, inspect, store
from hearth.volume.drivers import base
from hearth.volume.flows import image_source

if TYPE_CHECKING:
    from hearth.volume.manager import VolumeManager

LOG = logging.getLogger(__name__)
Status = statuses.VolumeStatus


def revert_to_snapshot(
    manager: VolumeManager, context: RequestContext, volume_id: str, snapshot_id: str
) -> None:
    """Replace a ``reverting`` volume's data with its ``restoring`` snapshot's."""
    with manager.db.read() as session:
        volume = volumes.get(session, volume_id)
        snapshot = snapshots.get(session, snapshot_id)
    try:
        manager.driver.revert_to_snapshot(
            base.VolumeRef(volume.id, volume.size, volume.provider_location),
            base.SnapshotRef(
                snapshot.id, volume.id, snapshot.volume_size, snapshot.provider_location
            ),
        )
    except errors.HearthError as exc:
        _failed(
            manager,
            context,
            volume_id,
            Status.ERROR,
            messages.Action.REVERT_VOLUME,
            exc,
            snapshot_id=snapshot_id,
        )
        return
    with manager.db.transaction() as session:
        volumes.set_status(session, volume_id, Status.AVAILABLE, expected=[Status.REVERTING])
        snapshots.set_status(
            session,
            snapshot_id,
            statuses.SnapshotStatus.AVAILABLE,
            expected=[statuses.SnapshotStatus.RESTORING],
        )
    manager.stats_changed()


def upload_to_image(
    manager: VolumeManager, context: RequestContext, volume_id: str, image_id: str
) -> None:
    """Copy an ``uploading`` volume's bytes into the ``queued`` image, converted to its
    disk format; the volume returns to ``available`` either way."""
    image_store, tools = manager.image_store, manager.image_tools
    assert image_store is not None and tools is not None, "wiring gives managers both"
    with manager.db.read() as session:
        volume = volumes.get(session, volume_id)
        disk_format = images.get(session, image_id).disk_format
    source = manager.driver.local_path(base.VolumeRef(volume.id, volume.size))
    qemu_format = inspect.DISK_FORMATS[disk_format][1]

    def write(target: Path) -> None:
        tools.converter.from_raw(source, qemu_format, target, image_id=image_id)

    try:
        image_store.upload(image_id, store.Source(write=write))
    except errors.HearthError as exc:
        with manager.db.transaction() as session:  # the store removed a row it received
            if images.find(session, image_id) is not None:
                images.delete(session, image_id)
        _failed(manager, context, volume_id, Status.AVAILABLE, messages.Action.UPLOAD_IMAGE, exc)
        return
    with manager.db.transaction() as session:
        volumes.set_status(session, volume_id, Status.AVAILABLE, expected=[Status.UPLOADING])


def reimage(manager: VolumeManager, context: RequestContext, volume_id: str, image_id: str) -> None:
    """Replace a ``downloading`` volume's data with the image's (fetched, inspected and
    converted as a create from the image is); the volume keeps its id and size."""
    tools = manager.image_tools
    assert tools is not None, "wiring gives managers their image tools"
    with manager.db.read() as session:
        volume = volumes.get(session, volume_id)
        row = images.find(session, image_id)
    target = base.VolumeRef(volume.id, volume.size, volume.provider_location)
    try:
        if row is None or row.status != statuses.ImageStatus.ACTIVE:
            raise errors.ImageNotAvailable(image_id=image_id, reason="it is gone or not active")
        image = info.from_row(row)
        image_source.check_fits(image, image.virtual_size, target)
        request = image_source.Request(manager.driver, tools, manager.db, target, image)
        image_source.download(request, target, image_source.VolumeWatch(manager.db, volume_id))
    except errors.HearthError as exc:
        _failed(manager, context, volume_id, Status.ERROR, messages.Action.REIMAGE_VOLUME, exc)
        return
    with manager.db.transaction() as session:
        volumes.set_status(
            session,
            volume_id,
            Status.AVAILABLE,
            expected=[Status.DOWNLOADING],
            progress=None,
            bootable=True,
            image_id=image.id,
            volume_image_metadata=image.volume_metadata(),
        )
    manager.stats_changed()


def _failed(
    manager: VolumeManager,
    context: RequestContext,
    volume_id: str,
    status: str,
    action: messages.Action,
    error: errors.HearthError,
    *,
    snapshot_id: str | None = None,
) -> None:
    """The volume to ``status`` (and the snapshot a revert used back to ``available``)
    with a user message, in one transaction."""
    LOG.error("%s of volume %s failed on backend %s: %s", action, volume_id, manager.host, error)
    with manager.db.transaction() as session:
        volumes.set_status(session, volume_id, status, progress=None)
        if snapshot_id is not None:
            snapshots.set_status(session, snapshot_id, statuses.SnapshotStatus.AVAILABLE)
        messages.record_failure(
            session,
            context,
            action=action,
            resource_type="VOLUME",
            resource_id=volume_id,
            error=error,
        )


def take_up(manager: VolumeManager, cutoff: datetime) -> int:
    """Reconciliation: a revert a crash cut short runs again (the snapshot is intact); an
    upload's volume returns to ``available`` (the image store marks its image ``killed``)."""
    with manager.db.read() as session:
        stuck = volumes.find_all(
            session, host=manager.host, statuses=[Status.REVERTING, Status.UPLOADING]
        )
        restoring = {
            s.volume_id: s.id
            for s in snapshots.find_on_host(
                session, manager.host, statuses=[statuses.SnapshotStatus.RESTORING]
            )
        }
    taken = 0
    for volume in stuck:
        if (volume.updated_at or volume.created_at) > cutoff or manager.in_hand(volume.id):
            continue
        with manager.exclusively(volume.id) as free:
            if not free:
                continue
            taken += 1
            context = admin_context(volume.project_id)
            if volume.status == Status.REVERTING and volume.id in restoring:
                revert_to_snapshot(manager, context, volume.id, restoring[volume.id])
            else:
                with manager.db.transaction() as session:
                    volumes.set_status(
                        session, volume.id, Status.AVAILABLE, expected=[volume.status]
                    )
    return taken
