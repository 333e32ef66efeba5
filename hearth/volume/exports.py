"""The volume manager's half of attachments: make and remove exports through the driver, and
put the backend's target back in line with the attachment rows after a restart.

The request layer (``hearth.service.attaching``) moves an attachment to ``attaching`` or
``detaching`` and casts here. :func:`export` asks the driver for the export and stores the
``connection_info`` it returns; :func:`unexport` removes the export, then the row. Each
outcome commits with the volume's settled status, its event (``volume.attach.error``,
``volume.detach.end``, ...) and, on failure, a user message. Both are safe to run twice.

:func:`reconcile` runs when the manager starts and on every reconciliation pass: an export
whose attachment still holds ``connection_info`` is made again from it (same target, same
credentials) when the target lost it (a restarted tgtd); a ``detaching`` attachment is
finished; an ``attaching`` one whose message was lost is exported; a target with no
attachment of this backend is removed.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from hearth import errors, messages, notifications
from hearth.context import RequestContext
from hearth.db import attachments, models, volumes
from hearth.db.statuses import AttachStatus
from hearth.notifications import events
from hearth.volume.drivers import base

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hearth.volume.manager import VolumeManager

LOG = logging.getLogger(__name__)
_EXPORTED = frozenset({AttachStatus.ATTACHING, AttachStatus.ATTACHED, AttachStatus.ERROR_DETACHING})


def export(manager: VolumeManager, context: RequestContext, attachment_id: str) -> None:
    """Make the export of an ``attaching`` attachment and store its connection_info."""
    with manager.db.read() as session:
        attachment = attachments.find(session, attachment_id)
        if attachment is None or attachment.status != AttachStatus.ATTACHING:
            return
        if attachment.connection_info is not None:
            return  # exported already (reconciliation took up a message still queued)
        volume = volumes.get(session, attachment.volume_id)
    try:
        info = manager.driver.export(_ref(attachment, volume))
    except errors.HearthError as exc:
        _failed(
            manager, context, attachment, AttachStatus.ERROR_ATTACHING, events.VOLUME_ATTACH, exc
        )
        return
    with manager.db.transaction() as session:
        volumes.get_for_update(session, volume.id)
        stored = attachments.set_status(
            session,
            attachment_id,
            AttachStatus.ATTACHING,
            expected=[AttachStatus.ATTACHING],
            connection_info=info,
        )
    if not stored:  # deleted meanwhile: nobody will use the export
        manager.driver.unexport(_ref(attachment, volume))


def unexport(manager: VolumeManager, context: RequestContext, attachment_id: str) -> None:
    """Remove the export of a ``detaching`` attachment, then the attachment."""
    with manager.db.read() as session:
        attachment = attachments.find(session, attachment_id)
        if attachment is None or attachment.status != AttachStatus.DETACHING:
            return
        volume = volumes.get(session, attachment.volume_id)
    try:
        manager.driver.unexport(_ref(attachment, volume))
    except errors.HearthError as exc:
        _failed(
            manager, context, attachment, AttachStatus.ERROR_DETACHING, events.VOLUME_DETACH, exc
        )
        return
    with manager.db.transaction() as session:
        volumes.get_for_update(session, volume.id)
        attachments.delete(session, attachment_id)
        attachments.settle_volume(session, volume.id)
        notifications.emit_volume(
            session, volumes.get(session, volume.id), events.VOLUME_DETACH.end
        )


def reconcile(manager: VolumeManager, context: RequestContext) -> int:
    """Put the backend's exports in line with its attachments; returns how many were
    made again, finished or removed."""
    held = manager.driver.exports()
    with manager.db.read() as session:
        rows = attachments.for_host(session, manager.host)
        known = {row.id for row in attachments_by_id(session, held or [])}
    done = 0
    for attachment in rows:
        if manager.in_hand(attachment.id):
            continue
        # through the manager: one run at a time per attachment, as for its messages
        if attachment.status == AttachStatus.DETACHING:
            manager.unexport_attachment(context, attachment.id)
            done += 1
        elif attachment.status == AttachStatus.ATTACHING and attachment.connection_info is None:
            manager.export_attachment(context, attachment.id)
            done += 1
        elif held is not None and attachment.status in _EXPORTED and attachment.id not in held:
            done += _restore(manager, attachment)
    for orphan in set(held or []) - known:
        LOG.info("removing the export of attachment %s: no such attachment", orphan)
        manager.driver.unexport(base.ExportRef(orphan, base.VolumeRef(orphan, 0)))
        done += 1
    return done


def attachments_by_id(session: Session, ids: list[str]) -> list[models.Attachment]:
    """The attachment rows (of any backend) among ``ids``."""
    found = (attachments.find(session, row_id) for row_id in ids)
    return [row for row in found if row is not None]


def _restore(manager: VolumeManager, attachment: models.Attachment) -> int:
    if attachment.connection_info is None:
        return 0
    with manager.db.read() as session:
        volume = volumes.get(session, attachment.volume_id)
    try:
        manager.driver.export(_ref(attachment, volume))
    except errors.HearthError as exc:  # the next pass tries again
        LOG.error("could not restore the export of attachment %s: %s", attachment.id, exc)
        return 0
    LOG.info("restored the export of attachment %s", attachment.id)
    return 1


def _ref(attachment: models.Attachment, volume: models.Volume) -> base.ExportRef:
    return base.ExportRef(
        attachment_id=attachment.id,
        volume=base.VolumeRef(volume.id, volume.size, volume.provider_location),
        connector=dict(attachment.connector or {}),
        access_mode=attachment.attach_mode,
        connection_info=attachment.connection_info,
    )


def _failed(
    manager: VolumeManager,
    context: RequestContext,
    attachment: models.Attachment,
    status: AttachStatus,
    operation: events.Operation,
    error: errors.HearthError,
) -> None:
    """Leave the attachment in its failed status, the volume settled, with the
    operation's ``.error`` event and a user message, in one transaction."""
    LOG.error("%s of attachment %s failed: %s", operation.action, attachment.id, error)
    action = (
        messages.Action.ATTACH_VOLUME
        if status == AttachStatus.ERROR_ATTACHING
        else (messages.Action.DETACH_VOLUME)
    )
    with manager.db.transaction() as session:
        volumes.get_for_update(session, attachment.volume_id)
        if attachments.set_status(session, attachment.id, status, last_error=error.user_message):
            attachments.settle_volume(session, attachment.volume_id)
            volume = volumes.get(session, attachment.volume_id)
            notifications.emit_volume(session, volume, operation.error)
            messages.record_failure(
                session,
                dataclasses.replace(
                    context, user_id=attachment.user_id, project_id=attachment.project_id
                ),
                action=action,
                resource_type="VOLUME",
                resource_id=attachment.volume_id,
                error=error,
            )
