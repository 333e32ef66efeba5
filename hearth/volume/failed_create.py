"""The outcome of a create that failed: the volume in ``error``, no image data left on it.

Called by whoever gives a create up: the flow's reverts (``OnFailureRescheduleTask``,
``ExtractVolumeRefTask``), the scheduler when no backend can take the volume, the facade
when the bus refuses its cast, and reconciliation when a create was resumed too often.
"""

from __future__ import annotations

import logging
from typing import Any

from hearth import errors, messages, notifications
from hearth.context import RequestContext
from hearth.db import backends, restores, statuses, volumes
from hearth.db.session import Database

LOG = logging.getLogger(__name__)


def error_out(
    db: Database,
    context: RequestContext,
    volume_id: str,
    cause: BaseException | None,
    *,
    free_backend: bool = False,
) -> None:
    """Put a volume whose create failed in ``error``, with a user message and a
    ``create.error`` notification, in one transaction. Never raises. The volume keeps no
    progress and no image metadata (a crashed create may have left both).

    ``free_backend``: the backend holds nothing of the volume any more, so the row gives
    up its host and the backend gets the claimed capacity back. A backup the create held
    is ``available`` again (``restores``), in the same transaction.
    """
    error = cause if cause is not None else errors.HearthError()
    try:
        with db.transaction() as session:
            row = volumes.find(session, volume_id)
            if row is None or row.status not in statuses.CREATE_IN_PROGRESS:
                return
            fields: dict[str, Any] = {"progress": None, "volume_image_metadata": None}
            if free_backend and row.host is not None:
                backends.release(session, row.host, row.size)
                fields["host"] = None
            if not volumes.set_status(
                session,
                volume_id,
                statuses.VolumeStatus.ERROR,
                expected=statuses.CREATE_IN_PROGRESS,
                **fields,
            ):
                raise errors.Conflict(reason="the volume changed under its failed create")
            if row.backup_id is not None:
                restores.release(session, row.backup_id, volume_id)
            messages.record_failure(
                session,
                context,
                action=messages.Action.CREATE_VOLUME,
                resource_type="VOLUME",
                resource_id=volume_id,
                error=error,
            )
            notifications.emit_volume(session, volumes.get(session, volume_id), "create.error")
    except Exception:
        LOG.exception("could not record the failed create of volume %s", volume_id)


def forget_image_data(db: Database, volume_id: str) -> None:
    """A failed create keeps no image metadata and no progress. Never raises."""
    try:
        with db.transaction() as session:
            volumes.update(session, volume_id, volume_image_metadata=None, progress=None)
    except errors.HearthError as exc:
        LOG.warning("could not clear the image fields of volume %s: %s", volume_id, exc)
