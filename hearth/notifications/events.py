"""The events Hearth emits, their payloads, and ``emit``: the outbox-facing half of
notifications.

Every operation a volume manager carries out is reported the same way: ``<resource>.
<action>.start`` when it begins, ``.end`` when it succeeds, ``.error`` (priority ERROR) when
it fails. :data:`OPERATIONS` is that table; the manager, reconciliation and the create flow
emit its events, so an operation that reports a phase another does not is visible here.
The image-volume cache adds observations of its own (:data:`IMAGE_CACHE_EVENTS`).

``emit`` adds a notification to the caller's transaction, so a status change and the event
that reports it commit together, or neither does; the relay delivers it after the commit.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from hearth.db import models, outbox

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class Phase(enum.StrEnum):
    """Where an operation is: every operation emits all three (``error`` when it fails)."""

    START = "start"
    END = "end"
    ERROR = "error"


@dataclass(frozen=True)
class Event:
    """One event of the table: ``<resource>.<action>.<phase>``."""

    resource: Literal["volume", "snapshot", "backup"]
    action: str
    phase: Phase

    @property
    def type(self) -> str:
        """The event type consumers see, e.g. ``volume.delete.start``."""
        return f"{self.resource}.{self.action}.{self.phase}"

    @property
    def priority(self) -> str:
        """ERROR for an operation that failed, else INFO."""
        return "ERROR" if self.phase is Phase.ERROR else "INFO"


@dataclass(frozen=True)
class Operation:
    """An operation that is reported: its ``start``, ``end`` and ``error`` events."""

    resource: Literal["volume", "snapshot", "backup"]
    action: str

    @property
    def start(self) -> Event:
        return Event(self.resource, self.action, Phase.START)

    @property
    def end(self) -> Event:
        return Event(self.resource, self.action, Phase.END)

    @property
    def error(self) -> Event:
        return Event(self.resource, self.action, Phase.ERROR)


VOLUME_CREATE = Operation("volume", "create")
VOLUME_DELETE = Operation("volume", "delete")
VOLUME_RESIZE = Operation("volume", "resize")
"""An extend (OpenStack's consumers know it as a resize)."""
SNAPSHOT_CREATE = Operation("snapshot", "create")
SNAPSHOT_DELETE = Operation("snapshot", "delete")
BACKUP_CREATE = Operation("backup", "create")
BACKUP_DELETE = Operation("backup", "delete")
BACKUP_RESTORE = Operation("backup", "restore")
"""The backup service's operations (``hearth.backup_service``)."""
VOLUME_ATTACH = Operation("volume", "attach")
"""An attachment's export: ``start`` when a connector is given, ``end`` at os-complete."""
VOLUME_DETACH = Operation("volume", "detach")
OPERATIONS = (
    VOLUME_CREATE,
    VOLUME_DELETE,
    VOLUME_RESIZE,
    SNAPSHOT_CREATE,
    SNAPSHOT_DELETE,
    BACKUP_CREATE,
    BACKUP_DELETE,
    BACKUP_RESTORE,
    VOLUME_ATTACH,
    VOLUME_DETACH,
)
"""Every reported operation."""
IMAGE_CACHE_EVENTS = frozenset(
    {"image_volume_cache.hit", "image_volume_cache.miss", "image_volume_cache.evict"}
)
"""What the image-volume cache reports (``hearth.image.cache``): observations, not phases."""
EVENTS = {
    event.type: event
    for operation in OPERATIONS
    for event in (operation.start, operation.end, operation.error)
}
"""Every event of an operation, by event type."""
EVENT_TYPES = frozenset(EVENTS) | IMAGE_CACHE_EVENTS
"""Every event type Hearth emits."""


def volume_event(suffix: str) -> Event:
    """The volume event ``volume.<suffix>`` of the table (``create.start``); raises
    ValueError for one that is not in it."""
    event = EVENTS.get(f"volume.{suffix}")
    if event is None:
        raise ValueError(f"volume.{suffix} is not an event Hearth emits")
    return event


VOLUME_REPLICATION_STATUS = "disabled"
"""Every volume's ``replication_status``: Hearth does not replicate (as the API shows)."""


def volume_usage(volume: models.Volume) -> dict[str, Any]:
    """The usage payload of a volume, with the keys of Cinder's (``_usage_from_volume``).

    Every key is always present: ``glance_metadata`` is the volume's image metadata
    (empty for a volume not made from an image, where Cinder leaves the key out);
    ``volume_attachment`` is empty (Hearth attaches nothing); the ``replication_*`` keys say
    the volume is not replicated. Next to Cinder's ``snapshot_id``, the other sources a
    volume can be made from: ``source_volid``, ``image_id`` and ``backup_id``.
    """
    return {
        "volume_id": volume.id,
        "display_name": volume.name,
        "tenant_id": volume.project_id,
        "user_id": volume.user_id,
        "size": volume.size,
        "volume_type": volume.volume_type_id,
        "availability_zone": volume.availability_zone,
        "status": volume.status,
        "host": volume.host,
        "created_at": _iso(volume.created_at),
        "launched_at": _iso(volume.launched_at),
        "snapshot_id": volume.snapshot_id,
        "source_volid": volume.source_volid,
        "image_id": volume.image_id,
        "backup_id": volume.backup_id,
        "metadata": dict(volume.volume_metadata or {}),
        "glance_metadata": dict(volume.volume_image_metadata or {}),
        "volume_attachment": [],
        "replication_status": VOLUME_REPLICATION_STATUS,
        "replication_extended_status": None,
        "replication_driver_data": None,
    }


def snapshot_usage(snapshot: models.Snapshot) -> dict[str, Any]:
    """The usage payload of a snapshot."""
    return {
        "snapshot_id": snapshot.id,
        "display_name": snapshot.name,
        "tenant_id": snapshot.project_id,
        "user_id": snapshot.user_id,
        "volume_id": snapshot.volume_id,
        "volume_size": snapshot.volume_size,
        "status": snapshot.status,
        "created_at": _iso(snapshot.created_at),
    }


def backup_usage(backup: models.Backup, dependents: int = 0) -> dict[str, Any]:
    """The usage payload of a backup, with the keys of Cinder's (``_usage_from_backup``);
    ``dependents``: how many incremental backups build on it."""
    return {
        "tenant_id": backup.project_id,
        "user_id": backup.user_id,
        "availability_zone": backup.availability_zone,
        "backup_id": backup.id,
        "host": backup.host,
        "display_name": backup.name,
        "created_at": _iso(backup.created_at),
        "status": backup.status,
        "volume_id": backup.volume_id,
        "size": backup.size,
        "service_metadata": backup.container,
        "service": backup.service,
        "fail_reason": backup.fail_reason,
        "parent_id": backup.parent_id,
        "num_dependent_backups": dependents,
        "snapshot_id": backup.snapshot_id,
    }


def emit_backup(
    session: Session, backup: models.Backup, event: Event, *, host: str, dependents: int = 0
) -> None:
    """Queue a backup event with the backup's usage payload as it is now, published by the
    backup service ``host``."""
    if event.resource != "backup":
        raise ValueError(f"{event.type} is not a backup event")
    session.flush()
    emit(
        session,
        event.type,
        backup_usage(backup, dependents),
        publisher_id=f"backup.{host}",
        priority=event.priority,
    )


def emit(
    session: Session,
    event_type: str,
    payload: dict[str, Any],
    *,
    publisher_id: str,
    priority: str = "INFO",
) -> None:
    """Queue a notification in the caller's transaction."""
    outbox.add(
        session,
        event_type=event_type,
        priority=priority,
        publisher_id=publisher_id,
        payload=payload,
    )


def emit_volume(session: Session, volume: models.Volume, event: Event | str) -> None:
    """Queue a volume event with the volume's usage payload as it is now. ``event`` is an
    event of the table, or its suffix after ``volume.`` (``"create.start"``)."""
    chosen = volume_event(event) if isinstance(event, str) else event
    if chosen.resource != "volume":
        raise ValueError(f"{chosen.type} is not a volume event")
    session.flush()
    emit(
        session,
        chosen.type,
        volume_usage(volume),
        publisher_id=f"volume.{volume.host or 'unscheduled'}",
        priority=chosen.priority,
    )


def emit_snapshot(session: Session, snapshot: models.Snapshot, event: Event, *, host: str) -> None:
    """Queue a snapshot event with the snapshot's usage payload as it is now, published by
    the manager of backend ``host``."""
    if event.resource != "snapshot":
        raise ValueError(f"{event.type} is not a snapshot event")
    session.flush()
    emit(
        session,
        event.type,
        snapshot_usage(snapshot),
        publisher_id=f"volume.{host}",
        priority=event.priority,
    )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
