"""The request layer: checks a request and writes the rows that start it (Cinder's volume API).

Every check runs before anything is written, inside the transaction that then writes, so
a bad request gets an error that names the problem and changes nothing. Status changes that
start an action (``deleting``, ``extending``) are compare-and-set on a row-locked volume, so
two requests cannot both start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hearth import config, errors
from hearth.context import RequestContext
from hearth.db import (
    attachments,
    backends,
    backups,
    models,
    quota_usages,
    restores,
    snapshots,
    statuses,
    volumes,
)
from hearth.image import info
from hearth.service import fields, image_requests, quotas, service_rows, type_requests
from hearth.volume import scheduling

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

SOURCE_FIELDS = ("snapshot_id", "source_volid", "image_id", "backup_id")


@dataclass(frozen=True)
class VolumeRequest:
    """A create-volume request as a user gave it (values not yet checked)."""

    size: Any = None
    name: Any = None
    description: Any = None
    volume_type: Any = None
    availability_zone: Any = None
    snapshot_id: Any = None
    source_volid: Any = None
    image_id: Any = None
    backup_id: Any = None
    metadata: Any = field(default=None)


def new_volume(
    session: Session,
    context: RequestContext,
    request: VolumeRequest,
    settings: config.Settings,
) -> tuple[models.Volume, scheduling.RequestSpec]:
    """Check a create request and insert its row (``creating``, not yet placed); returns the
    row and the request spec the scheduler places it by."""
    _single_source(request)
    scope = context.visible_project
    source: models.Volume | models.Snapshot | models.Backup | None = None
    source_size: int | None = None
    source_volume: models.Volume | None = None
    if request.snapshot_id is not None:
        snapshot = _snapshot_source(session, request.snapshot_id, scope)
        source, source_size = snapshot, snapshot.volume_size
        source_volume = volumes.get(session, snapshot.volume_id)
    elif request.source_volid is not None:
        source_volume = _volume_source(session, request.source_volid, scope)
        source, source_size = source_volume, source_volume.size
    elif request.backup_id is not None:
        source = _backup_source(session, request.backup_id, scope)
        source_size = source.size
    max_size = settings.limits.max_volume_size_gb
    image: info.ImageInfo | None = None
    if request.image_id is not None:
        image = image_requests.for_volume(session, context, request.image_id)
        size = _image_size(request.size, image, max_size)
    else:
        size = _size(request.size, source_size, max_size, source)
    volume_type = type_requests.for_volume(session, context, request.volume_type)
    zone = _zone(session, request.availability_zone, source_volume)
    volume = volumes.create(
        session,
        name=fields.optional_text("name", request.name),
        description=fields.optional_text("description", request.description),
        project_id=context.project_id,
        user_id=context.user_id,
        size=size,
        status=statuses.VolumeStatus.CREATING,
        availability_zone=zone or settings.default_availability_zone,
        volume_type_id=volume_type.id,
        snapshot_id=request.snapshot_id,
        source_volid=request.source_volid,
        image_id=image.id if image is not None else None,
        backup_id=request.backup_id,
        volume_metadata=fields.metadata("metadata", request.metadata),
    )
    # the row charged its usage: over a limit, the transaction rolls both back
    quotas.check_volume_size(session, settings.quotas, context.project_id, size)
    quotas.enforce(
        session,
        settings.quotas,
        context.project_id,
        quota_usages.volume_deltas(size, volume_type.name),
    )
    if isinstance(source, models.Backup) and not restores.hold(session, source.id, volume.id):
        raise errors.SourceNotAvailable(kind="Backup", source_id=source.id, status="restoring")
    spec = scheduling.build(
        volume,
        volume_type,
        requested_zone=zone,
        source_host=source_volume.host if source_volume is not None else None,
    )
    return volume, spec


def begin_volume_delete(session: Session, context: RequestContext, volume_id: str) -> str | None:
    """Move a volume to ``deleting`` and return the backend that must delete its data; or,
    for a volume never placed on a backend, delete its row and return None."""
    volume = volumes.get_for_update(session, volume_id, project_id=_scope(context))
    service_rows.refuse_if_frozen(session, volume.host, "delete", "volume", volume_id)
    if volume.status not in statuses.VOLUME_DELETABLE:
        raise errors.InvalidStatus(
            action="delete", kind="volume", resource_id=volume_id, status=volume.status
        )
    count = snapshots.count_for_volume(session, volume_id)
    if count:
        raise errors.VolumeHasSnapshots(volume_id=volume_id, count=count)
    if attachments.count_for_volume(session, volume_id):
        raise errors.Conflict(reason=f"Cannot delete volume {volume_id}: it has attachments.")
    if volume.host is None:
        volumes.delete(session, volume_id)
        return None
    volumes.set_status(session, volume_id, statuses.VolumeStatus.DELETING)
    return volume.host


def begin_volume_extend(
    session: Session,
    context: RequestContext,
    volume_id: str,
    new_size: Any,
    max_size: int,
    quota_settings: config.QuotaSettings | None = None,
) -> models.Volume:
    """Check an extend request, reserve the growth's quota (committed or released with
    the outcome) and move the volume to ``extending``."""
    volume = volumes.get_for_update(session, volume_id, project_id=_scope(context))
    service_rows.refuse_if_frozen(session, volume.host, "extend", "volume", volume_id)
    size = fields.integer("new_size", new_size)
    if size <= volume.size or size > max_size:
        raise errors.InvalidInput(
            field="new_size",
            reason=f"must be greater than the current {volume.size} GiB and at most "
            f"{max_size} GiB, got {size}",
        )
    if volume.status != statuses.VolumeStatus.AVAILABLE or volume.host is None:
        raise errors.InvalidStatus(
            action="extend", kind="volume", resource_id=volume_id, status=volume.status
        )
    chosen = quota_settings or config.QuotaSettings()
    quotas.check_volume_size(session, chosen, volume.project_id, size)
    growth = quota_usages.growth_deltas(
        size - volume.size, quota_usages.type_name(session, volume.volume_type_id)
    )
    quota_usages.reserve(session, volume.project_id, volume_id, growth)
    quotas.enforce(session, chosen, volume.project_id, growth)
    if not backends.claim(session, volume.host, size - volume.size):
        raise errors.CapacityExceeded(backend=volume.host, size=size - volume.size)
    volumes.set_status(session, volume_id, statuses.VolumeStatus.EXTENDING)
    return volume


def new_snapshot(
    session: Session,
    context: RequestContext,
    volume_id: Any,
    name: Any = None,
    description: Any = None,
    metadata: Any = None,
    quota_settings: config.QuotaSettings | None = None,
) -> models.Snapshot:
    """Check a create-snapshot request and insert its row (``creating``), its quota
    usage charged with it."""
    if volume_id is None:  # as Cinder: the volume acted on is not found
        raise errors.VolumeNotFound(volume_id="None")
    fields.reference("volume_id", volume_id, reason="a volume id is required")
    # the volume is the resource acted on: missing (or another project's) is not found
    volume = volumes.get_for_update(session, volume_id, project_id=_scope(context))
    service_rows.refuse_if_frozen(session, volume.host, "snapshot", "volume", volume_id)
    if volume.status != statuses.VolumeStatus.AVAILABLE:
        raise errors.InvalidStatus(
            action="snapshot", kind="volume", resource_id=volume_id, status=volume.status
        )
    snapshot = snapshots.create(
        session,
        volume_id=volume_id,
        name=fields.optional_text("name", name),
        description=fields.optional_text("description", description),
        project_id=context.project_id,
        user_id=context.user_id,
        volume_size=volume.size,
        status=statuses.SnapshotStatus.CREATING,
        snapshot_metadata=fields.metadata("metadata", metadata),
    )
    kind = quota_usages.type_name(session, volume.volume_type_id)
    quotas.enforce(
        session,
        quota_settings or config.QuotaSettings(),
        context.project_id,
        quota_usages.snapshot_deltas(volume.size, kind),
    )
    return snapshot


def begin_snapshot_delete(
    session: Session, context: RequestContext, snapshot_id: str
) -> models.Snapshot:
    """Move a snapshot to ``deleting``."""
    snapshot = snapshots.get(session, snapshot_id, project_id=_scope(context))
    host = volumes.get(session, snapshot.volume_id).host
    service_rows.refuse_if_frozen(session, host, "delete", "snapshot", snapshot_id)
    if not snapshots.set_status(
        session,
        snapshot_id,
        statuses.SnapshotStatus.DELETING,
        expected=statuses.SNAPSHOT_DELETABLE,
    ):
        raise errors.InvalidStatus(
            action="delete", kind="snapshot", resource_id=snapshot_id, status=snapshot.status
        )
    return snapshot


def _scope(context: RequestContext) -> str | None:
    return context.visible_project


def _single_source(request: VolumeRequest) -> str | None:
    given = [name for name in SOURCE_FIELDS if getattr(request, name) is not None]
    for name in given:
        fields.reference(name, getattr(request, name))
    if len(given) > 1:
        raise errors.InvalidInput(
            field=given[1], reason=f"give only one source; {' and '.join(given)} were given"
        )
    return given[0] if given else None


def _snapshot_source(session: Session, snapshot_id: str, scope: str | None) -> models.Snapshot:
    snapshot = snapshots.find(session, snapshot_id, project_id=scope)
    if snapshot is None:  # 404, as Cinder answers a create from a missing snapshot
        raise errors.SnapshotNotFound(snapshot_id=snapshot_id)
    if snapshot.status != statuses.SnapshotStatus.AVAILABLE:
        raise errors.SourceNotAvailable(
            kind="Snapshot", source_id=snapshot_id, status=snapshot.status
        )
    return snapshot


def _volume_source(session: Session, volume_id: str, scope: str | None) -> models.Volume:
    volume = volumes.find(session, volume_id, project_id=scope)
    if volume is None:  # 404, as Cinder answers a clone of a missing volume
        raise errors.VolumeNotFound(volume_id=volume_id)
    if volume.status != statuses.VolumeStatus.AVAILABLE:
        raise errors.SourceNotAvailable(kind="Volume", source_id=volume_id, status=volume.status)
    return volume


def _backup_source(session: Session, backup_id: str, scope: str | None) -> models.Backup:
    """The backup a volume is made from: the caller's (404 otherwise, as Cinder), and
    ``available``."""
    backup = backups.get(session, backup_id, project_id=scope)
    if backup.status != statuses.BackupStatus.AVAILABLE:
        raise errors.SourceNotAvailable(kind="Backup", source_id=backup_id, status=backup.status)
    return backup


def _size(value: Any, source_size: int | None, max_size: int, source: object) -> int:
    if value is None:
        if source_size is None:
            raise errors.InvalidInput(field="size", reason="a size in GiB is required")
        return source_size
    size = fields.integer("size", value, minimum=1, maximum=max_size, unit=" GiB")
    if source_size is not None and size < source_size:
        kind = "source volume"
        if isinstance(source, models.Snapshot):
            kind = "snapshot"
        elif isinstance(source, models.Backup):
            kind = "backup"
        raise errors.InvalidInput(
            field="size",
            reason=f"must be at least the {kind}'s size of {source_size} GiB, got {size}",
        )
    return size


def _image_size(value: Any, image: info.ImageInfo, max_size: int) -> int:
    """The size of a volume from an image: at least its virtual size and its min_disk;
    by default, just that."""
    needed = image.min_volume_gb
    if value is None:
        if needed > max_size:
            raise errors.InvalidInput(
                field="size", reason=f"image {image.id} needs {needed} GiB, over {max_size} GiB"
            )
        return needed
    size = _size(value, None, max_size, None)
    if size < needed:
        raise errors.InvalidInput(
            field="size",
            reason=f"must be at least {needed} GiB for image {image.id} (virtual size "
            f"{image.virtual_size_gb} GiB, min_disk {image.min_disk} GiB), got {size}",
        )
    return size


def _zone(session: Session, value: Any, source: models.Volume | None) -> str | None:
    """The requested zone, checked against the zones backends reported; a copy stays in
    its source's zone."""
    zone = fields.optional_text("availability_zone", value)
    if source is not None:
        if zone is not None and zone != source.availability_zone:
            raise errors.InvalidInput(
                field="availability_zone",
                reason=f"must be the source's zone {source.availability_zone!r}",
            )
        return source.availability_zone
    known = {backend.availability_zone for backend in backends.find_all(session)}
    if zone is not None and known and zone not in known:
        raise errors.InvalidInput(
            field="availability_zone", reason=f"{zone!r} is not one of {sorted(known)}"
        )
    return zone
