"""The request layer of backups: checks a request and writes the rows that start it (Cinder's
backup API).

As for volumes (``requests``), every check runs before anything is written, inside the
transaction that then writes, so a bad request changes nothing; the status changes that
start the work are compare-and-set on row-locked volumes. A backup starts with its volume
``backing-up`` (the status it had is kept on the backup, to return to); a restore with the
backup ``restoring`` and its volume ``restoring-backup``; a delete with the backup
``deleting``. The backup service (``hearth.backup_service``) does the rest.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hearth import config, errors
from hearth.context import RequestContext
from hearth.db import (
    backup_services,
    backups,
    models,
    quota_usages,
    snapshots,
    statuses,
    volumes,
)
from hearth.service import fields, quotas

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Backup = statuses.BackupStatus
Volume = statuses.VolumeStatus
RESET_STATUSES = (Backup.AVAILABLE, Backup.ERROR)
"""What ``os-reset_status`` may set (as Cinder)."""
RECORD_FIELDS = (
    "id",
    "volume_id",
    "snapshot_id",
    "parent_id",
    "name",
    "description",
    "project_id",
    "user_id",
    "size",
    "availability_zone",
    "container",
    "service",
    "object_count",
)
"""The fields an exported backup record carries (its data stays in the repository)."""


@dataclass(frozen=True)
class BackupRequest:
    """A create-backup request as a user gave it (values not yet checked)."""

    volume_id: Any = None
    name: Any = None
    description: Any = None
    incremental: Any = False
    force: Any = False
    snapshot_id: Any = None
    container: Any = None
    metadata: Any = None
    availability_zone: Any = None


def new_backup(
    session: Session, context: RequestContext, request: BackupRequest, settings: config.Settings
) -> models.Backup:
    """Check a create-backup request, insert its row (``creating``) and move the volume to
    ``backing-up`` (unless a snapshot is backed up)."""
    fields.reference("volume_id", request.volume_id, reason="a volume id is required")
    incremental = _flag("incremental", request.incremental)
    force = _flag("force", request.force)
    volume = volumes.get_for_update(session, request.volume_id, project_id=context.visible_project)
    snapshot = _snapshot(session, context, request.snapshot_id, volume)
    if snapshot is None:
        allowed = {Volume.AVAILABLE, Volume.IN_USE} if force else {Volume.AVAILABLE}
        if volume.status not in allowed or volume.host is None:
            raise errors.InvalidStatus(
                action="back up", kind="volume", resource_id=volume.id, status=volume.status
            )
    parent = backups.latest_available(session, volume.id) if incremental else None
    if incremental and parent is None:
        raise errors.InvalidInput(
            field="incremental",
            reason=f"volume {volume.id} has no available backup to build an incremental on",
        )
    backup = backups.create(
        session,
        volume_id=volume.id,
        snapshot_id=snapshot.id if snapshot else None,
        parent_id=parent.id if parent else None,
        name=fields.optional_text("name", request.name),
        description=fields.optional_text("description", request.description),
        project_id=context.project_id,
        user_id=context.user_id,
        size=volume.size,
        status=Backup.CREATING,
        availability_zone=_zone(session, request.availability_zone, settings),
        container=fields.optional_text("container", request.container),
        service=settings.backup.driver,
        object_count=0,
        data_timestamp=snapshot.created_at if snapshot else models.utcnow(),
        backup_metadata=fields.metadata("metadata", request.metadata),
        volume_previous_status=None if snapshot else volume.status,
    )
    # the row charged its usage: over a limit, the transaction rolls both back
    quotas.enforce(
        session, settings.quotas, context.project_id, quota_usages.backup_deltas(volume.size)
    )
    if snapshot is None:
        volumes.set_status(session, volume.id, Volume.BACKING_UP, expected=[volume.status])
    return backup


def begin_delete(
    session: Session, context: RequestContext, backup_id: str, *, force: bool = False
) -> models.Backup:
    """Move a backup to ``deleting``: from ``available`` or ``error``, or with ``force``
    (admins) also from ``deleting``/``error_deleting``; never while incremental backups
    depend on it (BackupHasDependents, 400 as Cinder)."""
    if force and not context.is_admin:
        raise errors.Forbidden(action="force-delete a backup")
    backup = backups.get(session, backup_id, project_id=context.visible_project)
    allowed = statuses.BACKUP_FORCE_DELETABLE if force else statuses.BACKUP_DELETABLE
    if backup.status not in allowed:
        raise errors.InvalidStatus(
            action="delete", kind="backup", resource_id=backup_id, status=backup.status
        )
    children = backups.find_all(session, parent_id=backup_id)
    if children:
        names = ", ".join(child.id for child in children)
        raise errors.BackupHasDependents(backup_id=backup_id, children=names)
    if not backups.set_status(session, backup_id, Backup.DELETING, expected=allowed):
        raise errors.InvalidStatus(
            action="delete", kind="backup", resource_id=backup_id, status=backup.status
        )
    return backup


def begin_restore(
    session: Session, context: RequestContext, backup_id: str, volume_id: Any
) -> models.Backup:
    """Check a restore and move the backup to ``restoring``; with ``volume_id``, that
    volume (available, at least the backup's size) to ``restoring-backup``. Without it the
    caller creates the new volume and records it (:func:`set_restore_target`)."""
    backup = backups.get(session, backup_id, project_id=context.visible_project)
    if backup.status != Backup.AVAILABLE:
        raise errors.InvalidStatus(
            action="restore", kind="backup", resource_id=backup_id, status=backup.status
        )
    if volume_id is not None:
        fields.reference("volume_id", volume_id)
        volume = volumes.get_for_update(session, volume_id, project_id=context.visible_project)
        if volume.status != Volume.AVAILABLE or volume.host is None:
            raise errors.InvalidStatus(
                action="restore into", kind="volume", resource_id=volume_id, status=volume.status
            )
        if volume.size < backup.size:
            raise errors.InvalidInput(
                field="volume_id",
                reason=f"volume {volume_id} holds {volume.size} GiB, less than the "
                f"backup's {backup.size} GiB",
            )
        volumes.set_status(session, volume_id, Volume.RESTORING_BACKUP, expected=[Volume.AVAILABLE])
    if not backups.set_status(
        session,
        backup_id,
        Backup.RESTORING,
        expected=[Backup.AVAILABLE],
        restore_volume_id=volume_id,
    ):  # another request took it since it was read: the volume's change rolls back
        raise errors.InvalidStatus(
            action="restore", kind="backup", resource_id=backup_id, status="changed"
        )
    return backup


def update(
    session: Session, context: RequestContext, backup_id: str, changes: dict[str, Any]
) -> None:
    """Change a backup's name, description or metadata (replaced whole)."""
    backups.get(session, backup_id, project_id=context.visible_project)
    unknown = sorted(set(changes) - {"name", "description", "metadata"})
    if unknown:
        raise errors.InvalidInput(field=unknown[0], reason="cannot be changed")
    checked: dict[str, Any] = {}
    for name in ("name", "description"):
        if name in changes:
            checked[name] = fields.optional_text(name, changes[name])
    if "metadata" in changes:
        checked["backup_metadata"] = fields.metadata("metadata", changes["metadata"])
    if checked:
        backups.update(session, backup_id, **checked)


def set_restore_target(session: Session, backup_id: str, volume_id: str) -> None:
    """Record the new volume a restore writes into."""
    backups.update(session, backup_id, restore_volume_id=volume_id)


def reset_status(session: Session, context: RequestContext, backup_id: str, status: Any) -> None:
    """An admin's ``os-reset_status``: set ``available`` or ``error``, whatever it was."""
    if not context.is_admin:
        raise errors.Forbidden(action="reset the status of a backup")
    backups.get(session, backup_id)
    if status not in RESET_STATUSES:
        raise errors.InvalidInput(
            field="status", reason=f"must be one of {', '.join(RESET_STATUSES)}, got {status!r}"
        )
    backups.set_status(session, backup_id, status, progress=None, restore_volume_id=None)


def export_record(session: Session, context: RequestContext, backup_id: str) -> dict[str, str]:
    """An admin's export of an available backup: ``backup_service`` and ``backup_url``
    (the row's fields, base64 JSON), which ``import_record`` takes back."""
    if not context.is_admin:
        raise errors.Forbidden(action="export a backup record")
    backup = backups.get(session, backup_id)
    if backup.status != Backup.AVAILABLE:
        raise errors.InvalidStatus(
            action="export", kind="backup", resource_id=backup_id, status=backup.status
        )
    record: dict[str, Any] = {name: getattr(backup, name) for name in RECORD_FIELDS}
    record["metadata"] = dict(backup.backup_metadata or {})
    record["service_metadata"] = backup.id  # the manifest that holds its data
    text = json.dumps(record, sort_keys=True).encode()
    return {"backup_service": backup.service or "", "backup_url": base64.b64encode(text).decode()}


def decode_record(context: RequestContext, service: Any, url: Any, driver: str) -> dict[str, Any]:
    """The record of an import, checked (its manifest is checked by the caller)."""
    if not context.is_admin:
        raise errors.Forbidden(action="import a backup record")
    fields.text("backup_service", service)
    if service != driver:
        raise errors.InvalidInput(
            field="backup_service", reason=f"this deployment's backup driver is {driver!r}"
        )
    try:
        record = json.loads(
            base64.b64decode(fields.text("backup_url", url, 1 << 16), validate=True)
        )
    except (binascii.Error, ValueError):
        raise errors.InvalidInput(
            field="backup_url", reason="is not an exported backup record"
        ) from None
    if not isinstance(record, dict) or not all(name in record for name in RECORD_FIELDS):
        raise errors.InvalidInput(field="backup_url", reason="is not an exported backup record")
    fields.reference("backup_url", record["id"], reason="holds no backup id")
    if not isinstance(record["size"], int) or isinstance(record["size"], bool):
        raise errors.InvalidInput(field="backup_url", reason="holds no size")
    return record


def new_imported(session: Session, record: dict[str, Any]) -> models.Backup:
    """Insert the row of an imported backup (``available``); Conflict if the id exists."""
    if backups.find(session, record["id"]) is not None:
        raise errors.Conflict(reason=f"Backup {record['id']} already exists.")
    values = {name: record[name] for name in RECORD_FIELDS}
    return backups.create(
        session,
        **values,
        status=Backup.AVAILABLE,
        backup_metadata=fields.metadata("backup_url", record.get("metadata")),
        data_timestamp=models.utcnow(),
    )


def _flag(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise errors.InvalidInput(field=field, reason="must be true or false")
    return value


def _snapshot(
    session: Session, context: RequestContext, snapshot_id: Any, volume: models.Volume
) -> models.Snapshot | None:
    if snapshot_id is None:
        return None
    fields.reference("snapshot_id", snapshot_id)
    snapshot = snapshots.find(session, snapshot_id, project_id=context.visible_project)
    if snapshot is None:
        raise errors.SnapshotNotFound(snapshot_id=snapshot_id)
    if snapshot.volume_id != volume.id:
        raise errors.InvalidInput(
            field="snapshot_id", reason=f"snapshot {snapshot_id} is not of volume {volume.id}"
        )
    if snapshot.status != statuses.SnapshotStatus.AVAILABLE:
        raise errors.InvalidStatus(
            action="back up", kind="snapshot", resource_id=snapshot_id, status=snapshot.status
        )
    return snapshot


def _zone(session: Session, value: Any, settings: config.Settings) -> str:
    """The requested zone, one a backup service reported (default: ``[backup]``'s)."""
    zone = fields.optional_text("availability_zone", value)
    if zone is None:
        return settings.backup.availability_zone
    known = {row.availability_zone for row in backup_services.find_all(session)}
    if zone not in known:
        raise errors.InvalidInput(
            field="availability_zone",
            reason=f"no backup service serves {zone!r} (zones: {sorted(known)})",
        )
    return zone
