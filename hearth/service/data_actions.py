"""Request checks for the volume actions that replace or copy a volume's data on its own
backend: ``revert`` to the latest snapshot (3.40), ``os-volume_upload_image`` and
``os-reimage`` (3.68).

Each checks everything, then in the same transaction moves the volume (and the snapshot
or image it uses) to its working status with compare-and-set, and returns what the facade
casts to the volume's manager (``hearth.volume.actions`` does the work). Bad input raises
an ``Invalid`` error naming the field and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hearth import errors
from hearth.context import RequestContext
from hearth.db import models, snapshots, statuses, volumes
from hearth.service import fields, image_requests
from hearth.service.volume_actions import flag

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Status = statuses.VolumeStatus
UPLOAD_FORMATS = frozenset({"raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi"})
"""Disk formats an upload converts a volume to (``qemu-img convert -O``)."""
REIMAGE_STATUSES = frozenset({Status.AVAILABLE, Status.ERROR})


@dataclass(frozen=True)
class Work:
    """What the manager is asked to do: on which backend, with which volume."""

    host: str
    volume: models.Volume


def begin_revert(
    session: Session, context: RequestContext, volume_id: str, arguments: Mapping[str, Any]
) -> tuple[Work, models.Snapshot]:
    """Check a revert (the volume's latest snapshot, both ``available``, same size) and
    move the volume to ``reverting`` and the snapshot to ``restoring``."""
    volume = volumes.get_for_update(session, volume_id, project_id=context.visible_project)
    snapshot_id = fields.reference("snapshot_id", arguments.get("snapshot_id"))
    snapshot = snapshots.find(session, snapshot_id, project_id=context.visible_project)
    if snapshot is None or snapshot.volume_id != volume_id:
        raise errors.InvalidReference(
            field="snapshot_id", kind=f"A snapshot of volume {volume_id}", value=snapshot_id
        )
    latest = snapshots.find_all(session, volume_id=volume_id)[-1]
    if latest.id != snapshot.id:
        raise errors.InvalidInput(
            field="snapshot_id",
            reason=f"only the volume's latest snapshot ({latest.id}) may be reverted to",
        )
    if snapshot.volume_size != volume.size:
        raise errors.InvalidInput(
            field="snapshot_id",
            reason=f"the volume was extended to {volume.size} GiB after the snapshot was taken",
        )
    if volume.status != Status.AVAILABLE or volume.host is None:
        raise _refused("revert", volume)
    if not snapshots.set_status(
        session,
        snapshot.id,
        statuses.SnapshotStatus.RESTORING,
        expected=[statuses.SnapshotStatus.AVAILABLE],
    ):
        raise errors.InvalidStatus(
            action="revert to", kind="snapshot", resource_id=snapshot.id, status=snapshot.status
        )
    volumes.set_status(session, volume_id, Status.REVERTING)
    return Work(volume.host, volume), snapshot


def begin_upload(
    session: Session, context: RequestContext, volume_id: str, arguments: Mapping[str, Any]
) -> tuple[Work, models.Image]:
    """Check an upload to a new image and insert the image (``queued``); the volume moves
    to ``uploading``. ``force`` (to upload an attached volume) is accepted: Hearth's
    volumes are never attached while ``available``."""
    volume = volumes.get_for_update(session, volume_id, project_id=context.visible_project)
    disk_format = arguments.get("disk_format", "raw")
    if disk_format not in UPLOAD_FORMATS:
        raise errors.InvalidInput(
            field="disk_format", reason=f"must be one of {', '.join(sorted(UPLOAD_FORMATS))}"
        )
    flag("force", arguments.get("force", False))
    if flag("protected", arguments.get("protected", False)):
        raise errors.InvalidInput(field="protected", reason="protected images are not supported")
    request = image_requests.ImageRequest(
        name=arguments.get("image_name"),
        disk_format=disk_format,
        container_format=arguments.get("container_format", "bare"),
        visibility=arguments.get("visibility", "private"),
        min_disk=volume.size,
    )
    image = image_requests.new_image(session, context, request)
    if volume.status != Status.AVAILABLE or volume.host is None:
        raise _refused("upload", volume)
    volumes.set_status(session, volume_id, Status.UPLOADING, expected=[Status.AVAILABLE])
    return Work(volume.host, volume), image


def begin_reimage(
    session: Session, context: RequestContext, volume_id: str, arguments: Mapping[str, Any]
) -> tuple[Work, str]:
    """Check a reimage (an image that fits the volume; ``reimage_reserved`` for a volume
    in ``error``) and move the volume to ``downloading``; returns the image id."""
    volume = volumes.get_for_update(session, volume_id, project_id=context.visible_project)
    image_id = fields.reference("image_id", arguments.get("image_id"))
    reserved = flag("reimage_reserved", arguments.get("reimage_reserved", False))
    image = image_requests.for_volume(session, context, image_id)
    needed = max(image.min_disk, image.virtual_size_gb)
    if needed > volume.size:
        raise errors.InvalidInput(
            field="image_id", reason=f"the image needs {needed} GiB; the volume has {volume.size}"
        )
    allowed = REIMAGE_STATUSES if reserved else {Status.AVAILABLE}
    if volume.status not in allowed or volume.host is None:
        raise _refused("reimage", volume)
    volumes.set_status(session, volume_id, Status.DOWNLOADING, expected=[volume.status])
    return Work(volume.host, volume), image.id


def _refused(action: str, volume: models.Volume) -> errors.HearthError:
    return errors.InvalidStatus(
        action=action, kind="volume", resource_id=volume.id, status=volume.status
    )
