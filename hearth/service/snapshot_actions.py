"""Request checks for snapshot actions (``POST /snapshots/{id}/action``) and snapshot
metadata (``/snapshots/{id}/metadata``).

``os-reset_status`` and ``os-force_delete`` are the administrator's; ``os-update_snapshot_
status`` is how the service that made a snapshot by its own means (Nova's assisted
snapshots) reports it: from ``creating`` to ``available`` or ``error``, from ``deleting``
to ``error_deleting``, with a progress text. Every check runs before anything is written;
a snapshot of another project is not found.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hearth import errors
from hearth.context import RequestContext
from hearth.db import snapshots, statuses, volumes
from hearth.service import fields
from hearth.service.volume_actions import require_admin

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Status = statuses.SnapshotStatus
UPDATES = {
    Status.CREATING: frozenset({Status.CREATING, Status.AVAILABLE, Status.ERROR}),
    Status.DELETING: frozenset({Status.DELETING, Status.ERROR_DELETING}),
}
"""``os-update_snapshot_status``: from each status, the statuses it may report."""


def reset_status(
    session: Session, context: RequestContext, snapshot_id: str, arguments: Mapping[str, Any]
) -> None:
    """Set a snapshot's status as an administrator says, whatever it is now."""
    require_admin(context, "reset the status of a snapshot")
    snapshots.get(session, snapshot_id)
    status = _status(arguments, statuses.SNAPSHOT_RESETTABLE)
    snapshots.set_status(session, snapshot_id, status)


def update_status(
    session: Session, context: RequestContext, snapshot_id: str, arguments: Mapping[str, Any]
) -> None:
    """Report a snapshot's status and progress (the owner or an administrator)."""
    snapshot = snapshots.get(session, snapshot_id, project_id=context.visible_project)
    status = _status(arguments, frozenset(s.value for s in Status))
    progress = fields.optional_text("progress", arguments.get("progress"))
    allowed = UPDATES.get(Status(snapshot.status), frozenset())
    if status not in allowed:
        raise errors.InvalidInput(
            field="status",
            reason=f"a snapshot in status '{snapshot.status}' cannot report {status!r}",
        )
    changes = {} if progress is None else {"progress": progress}
    if not snapshots.set_status(
        session, snapshot_id, status, expected=[snapshot.status], **changes
    ):  # changed meanwhile: say what it is now
        current = snapshots.get(session, snapshot_id).status
        raise errors.InvalidStatus(
            action="update", kind="snapshot", resource_id=snapshot_id, status=current
        )


def begin_force_delete(session: Session, context: RequestContext, snapshot_id: str) -> str:
    """Move a snapshot to ``deleting`` whatever its status (administrators only); returns
    the backend that deletes its data."""
    require_admin(context, "force-delete a snapshot")
    snapshot = snapshots.get(session, snapshot_id)
    host = volumes.get(session, snapshot.volume_id).host
    if host is None:  # a snapshot's volume is placed; a reset cannot unplace it
        raise errors.InvalidStatus(
            action="delete", kind="snapshot", resource_id=snapshot_id, status=snapshot.status
        )
    snapshots.set_status(session, snapshot_id, Status.DELETING)
    return host


def set_metadata(
    session: Session,
    context: RequestContext,
    snapshot_id: str,
    metadata: Any,
    *,
    replace: bool,
) -> dict[str, str]:
    """Merge (or with ``replace``, substitute) a snapshot's metadata; returns all of it."""
    snapshot = snapshots.get(session, snapshot_id, project_id=context.visible_project)
    given = fields.metadata("metadata", metadata)
    merged = given if replace else {**snapshot.snapshot_metadata, **given}
    snapshots.update(session, snapshot_id, snapshot_metadata=merged)
    return merged


def delete_metadata(session: Session, context: RequestContext, snapshot_id: str, key: str) -> None:
    """Remove one metadata item; MetadataKeyNotFound when it is absent."""
    snapshot = snapshots.get(session, snapshot_id, project_id=context.visible_project)
    if key not in snapshot.snapshot_metadata:
        raise errors.MetadataKeyNotFound(kind="Snapshot", resource_id=snapshot_id, key=key)
    remaining = {k: v for k, v in snapshot.snapshot_metadata.items() if k != key}
    snapshots.update(session, snapshot_id, snapshot_metadata=remaining)


def _status(arguments: Mapping[str, Any], allowed: frozenset[str]) -> str:
    value = arguments.get("status")
    if not isinstance(value, str) or not value.strip():
        raise errors.InvalidInput(field="status", reason="a status to set is required")
    status = value.strip().lower()
    if status not in allowed:
        raise errors.InvalidInput(
            field="status", reason=f"{status!r} is not one of {', '.join(sorted(allowed))}"
        )
    return status
