"""Attachment rows: the repository of ``hearth.service.attaching`` (the status machine) and
of the volume manager's exports (``hearth.volume.exports``).

Status changes are compare-and-set, as for volumes; every change is published on the
``attachments`` topic after its commit, so a caller waiting for an export wakes at once.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hearth import errors, logs
from hearth.db import models, rows
from hearth.db import session as db_session

Attachment = models.Attachment
TOPIC = "attachments"
LOG = logging.getLogger(__name__)
SORT_KEYS = frozenset({"id", "status", "volume_id", "instance_uuid", "created_at", "updated_at"})


def create(session: Session, **fields: Any) -> Attachment:
    """Insert an attachment row and return it (its id filled in)."""
    attachment: Attachment = rows.insert(session, Attachment, fields)
    logs.status_change(LOG, "attachment", attachment.id, "new", attachment.status)
    db_session.touch(session, TOPIC, attachment.id)
    return attachment


def find(
    session: Session, attachment_id: str, *, project_id: str | None = None
) -> Attachment | None:
    """The attachment, or None (also another project's, with ``project_id``). Always read
    from the database, so a read after a row lock sees what the lock holder committed."""
    attachment = session.get(Attachment, attachment_id, populate_existing=True)
    if attachment is None or (project_id is not None and attachment.project_id != project_id):
        return None
    return attachment


def get(session: Session, attachment_id: str, *, project_id: str | None = None) -> Attachment:
    """The attachment; raises AttachmentNotFound."""
    attachment = find(session, attachment_id, project_id=project_id)
    if attachment is None:
        raise errors.AttachmentNotFound(attachment_id=attachment_id)
    return attachment


def for_volume(session: Session, volume_id: str) -> Sequence[Attachment]:
    """Every attachment of a volume, oldest first."""
    query = (
        sa.select(Attachment)
        .where(Attachment.volume_id == volume_id)
        .order_by(Attachment.created_at, Attachment.id)
    )
    return session.scalars(query).all()


def for_host(
    session: Session, host: str, *, statuses: Collection[str] | None = None
) -> Sequence[Attachment]:
    """The attachments whose exports a backend's manager owns, oldest first."""
    query = sa.select(Attachment).where(Attachment.host == host)
    if statuses is not None:
        query = query.where(Attachment.status.in_(list(statuses)))
    return session.scalars(query.order_by(Attachment.created_at, Attachment.id)).all()


@dataclass(frozen=True)
class Filters:
    """What an attachment list is narrowed to; None means any."""

    project_id: str | None = None
    volume_id: str | None = None
    instance_id: str | None = None
    status: str | None = None


def find_page(
    session: Session,
    filters: Filters,
    sort: Sequence[rows.SortKey],
    *,
    limit: int | None = None,
    marker: str | None = None,
) -> Sequence[Attachment]:
    """One page of attachments matching ``filters``; an unknown marker is not found."""
    query = sa.select(Attachment)
    for column, wanted in (
        (Attachment.project_id, filters.project_id),
        (Attachment.volume_id, filters.volume_id),
        (Attachment.instance_uuid, filters.instance_id),
        (Attachment.status, filters.status),
    ):
        if wanted is not None:
            query = query.where(column == wanted)
    try:
        return rows.page(session, query, Attachment, sort, limit=limit, marker=marker)
    except LookupError:
        raise errors.AttachmentNotFound(attachment_id=marker) from None


def set_status(
    session: Session,
    attachment_id: str,
    status: str,
    *,
    expected: Collection[str] | None = None,
    **fields: Any,
) -> bool:
    """Compare-and-set the status (and other fields); False when gone or not ``expected``."""
    changed = rows.compare_and_set_status(
        session, Attachment, attachment_id, status, expected, fields
    )
    if changed:
        logs.status_change(LOG, "attachment", attachment_id, expected or "*", status)
    return changed


def delete(session: Session, attachment_id: str) -> None:
    """Remove the row (a no-op when it is already gone)."""
    rows.delete(session, Attachment, attachment_id)
    logs.status_change(LOG, "attachment", attachment_id, "*", "deleted")


def count_for_volume(session: Session, volume_id: str) -> int:
    """How many attachments a volume has, whatever their status."""
    query = (
        sa.select(sa.func.count()).select_from(Attachment).where(Attachment.volume_id == volume_id)
    )
    return int(session.scalar(query) or 0)


def loaded(volume: models.Volume) -> Sequence[Attachment]:
    """The volume's attachments if its read loaded them, else [] (a row read without
    them, e.g. by a manager, never makes a view query the database)."""
    if "attachments" in sa.inspect(volume).unloaded:
        return []
    return volume.attachments


# What a volume's attachments add up to, strongest first: (attachment statuses, volume
# status, volume attach_status). An attached consumer keeps the volume in-use whatever
# the others do; with none, the volume is available and detached.
_SETTLED = (
    ({"attached", "error_detaching"}, "in-use", "attached"),
    ({"detaching"}, "detaching", "detaching"),
    ({"attaching"}, "attaching", "attaching"),
    ({"reserved", "error_attaching"}, "reserved", "reserved"),
)
ATTACH_STATES = frozenset({"available", "reserved", "attaching", "in-use", "detaching"})
"""Volume statuses its attachments decide (``statuses.VOLUME_ATTACH_STATES``)."""


def settle_volume(session: Session, volume_id: str) -> str | None:
    """Set the volume's status and attach_status from its attachments, in the caller's
    transaction (which row-locked the volume); returns the new status, or None when the
    volume is in a status attachments do not decide (``error``, ``extending``, gone)."""
    present = {attachment.status for attachment in for_volume(session, volume_id)}
    status, attach_status = "available", "detached"
    for statuses, volume_status, volume_attach_status in _SETTLED:
        if present & statuses:
            status, attach_status = volume_status, volume_attach_status
            break
    changed = rows.compare_and_set_status(
        session, models.Volume, volume_id, status, ATTACH_STATES, {"attach_status": attach_status}
    )
    if not changed:
        return None
    logs.status_change(logging.getLogger("hearth.db.volumes"), "volume", volume_id, "*", status)
    return status
