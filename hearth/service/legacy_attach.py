"""The older attach API, the volume actions Nova used before attachments (3.27): a part of
the library facade over the same rows and status machine (``attaching``).

Each action maps onto attachments, marked ``legacy``:

- ``os-reserve`` makes a reserved attachment; ``os-unreserve`` removes it;
- ``os-initialize_connection`` gives it the connector (or makes one with it) and answers
  the export's ``connection_info``; asked again for the same consumer, the same answer;
- ``os-attach`` completes it, with the instance and mount point (from ``reserved`` too: a
  consumer that reads the volume without an export, as Cinder allows);
- ``os-begin_detaching``/``os-roll_detaching`` move the volume to ``detaching`` and back;
- ``os-terminate_connection`` removes the exports of that consumer (with their
  attachments: the volume is then ``available``), and a later ``os-detach`` finds nothing
  left to do; ``os-detach`` removes one attachment (the only one, or the one named);
- ``os-force_detach`` (admins) removes attachments whatever their status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hearth import errors, notifications
from hearth.context import RequestContext
from hearth.db import attachments, models, statuses, volumes
from hearth.notifications import events
from hearth.service import attaching, attachment_ops, fields

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

AttachStatus = statuses.AttachStatus
_PENDING = (AttachStatus.RESERVED, AttachStatus.ERROR_ATTACHING)


class LegacyAttachOperations(attachment_ops.AttachmentOperations):
    """The volume actions of the older attach API."""

    def reserve_volume(self, volume_id: str, *, context: RequestContext | None = None) -> None:
        """``os-reserve``: the volume is ``reserved`` for an attach to come."""
        self.create_attachment(volume_id, legacy=True, context=context)

    def unreserve_volume(self, volume_id: str, *, context: RequestContext | None = None) -> None:
        """``os-unreserve``: drop the reservations that were never exported."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            volume = volumes.get_for_update(session, volume_id, project_id=ctx.visible_project)
            pending = [a for a in _legacy(session, volume_id) if a.connection_info is None]
            if volume.status != statuses.VolumeStatus.RESERVED or not pending:
                raise _refused("unreserve", volume)
            for attachment in pending:
                attachments.delete(session, attachment.id)
            attachments.settle_volume(session, volume_id)

    def initialize_connection(
        self, volume_id: str, connector: Any, *, context: RequestContext | None = None
    ) -> dict[str, Any]:
        """``os-initialize_connection``: export the volume to ``connector``; returns the
        ``connection_info``."""
        ctx = context or self.context
        if not isinstance(connector, dict):
            raise errors.InvalidInput(field="connector", reason="must be a JSON object")
        with self.services.db.read() as session:
            volumes.get(session, volume_id, project_id=ctx.visible_project)
            found = _legacy(session, volume_id)
        for attachment in found:
            if attachment.connection_info is not None and _same(attachment.connector, connector):
                return dict(attachment.connection_info)
        pending = [a for a in found if a.status in _PENDING]
        if pending:
            made = self.update_attachment(pending[0].id, connector, context=ctx)
        else:
            made = self.create_attachment(volume_id, connector=connector, legacy=True, context=ctx)
        assert made.connection_info is not None, "an export answers with connection_info"
        return dict(made.connection_info)

    def attach_volume(
        self,
        volume_id: str,
        *,
        instance_uuid: Any = None,
        mountpoint: Any = None,
        host_name: Any = None,
        mode: Any = None,
        context: RequestContext | None = None,
    ) -> None:
        """``os-attach``: the consumer is connected; the volume is ``in-use``."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            volume = volumes.get_for_update(session, volume_id, project_id=ctx.visible_project)
            found = _legacy(session, volume_id)
            ready = [a for a in found if a.status == AttachStatus.ATTACHING and a.connection_info]
            candidates = ready or [a for a in found if a.status == AttachStatus.RESERVED]
            if not candidates:
                raise _refused("attach", volume)
            chosen = candidates[0]
            attachments.set_status(
                session,
                chosen.id,
                AttachStatus.ATTACHED,
                expected=[chosen.status],
                attached_at=models.utcnow(),
                instance_uuid=_text("instance_uuid", instance_uuid, 36) or chosen.instance_uuid,
                mountpoint=_text("mountpoint", mountpoint, 255),
                attached_host=_text("host_name", host_name, 255) or chosen.attached_host,
                attach_mode=attaching.mode_of(mode) if mode is not None else chosen.attach_mode,
            )
            attachments.settle_volume(session, volume_id)
            notifications.emit_volume(
                session, volumes.get(session, volume_id), events.VOLUME_ATTACH.end
            )

    def begin_detaching(self, volume_id: str, *, context: RequestContext | None = None) -> None:
        """``os-begin_detaching``: an in-use volume is ``detaching``."""
        self._move(volume_id, statuses.VolumeStatus.IN_USE, "detaching", "begin detaching", context)

    def roll_detaching(self, volume_id: str, *, context: RequestContext | None = None) -> None:
        """``os-roll_detaching``: a detach that did not happen; back to what the
        attachments say (``in-use``). A volume not ``detaching`` is left as it is."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            volume = volumes.get_for_update(session, volume_id, project_id=ctx.visible_project)
            if volume.status == statuses.VolumeStatus.DETACHING:
                attachments.settle_volume(session, volume_id)

    def terminate_connection(
        self, volume_id: str, connector: Any, *, context: RequestContext | None = None
    ) -> None:
        """``os-terminate_connection``: remove the exports made for ``connector``."""
        ctx = context or self.context
        if not isinstance(connector, dict):
            raise errors.InvalidInput(field="connector", reason="must be a JSON object")
        with self.services.db.read() as session:
            volumes.get(session, volume_id, project_id=ctx.visible_project)
            found = attachments.for_volume(session, volume_id)
        for attachment in found:
            if attachment.connection_info is not None and _same(attachment.connector, connector):
                self.delete_attachment(attachment.id, context=ctx)

    def detach_volume(
        self,
        volume_id: str,
        *,
        attachment_id: Any = None,
        context: RequestContext | None = None,
    ) -> None:
        """``os-detach``: remove the attachment named (or the volume's only one)."""
        ctx = context or self.context
        for attachment in self._chosen(ctx, volume_id, attachment_id):
            self.delete_attachment(attachment.id, context=ctx)

    def force_detach(
        self,
        volume_id: str,
        *,
        attachment_id: Any = None,
        context: RequestContext | None = None,
    ) -> None:
        """``os-force_detach`` (admins): remove attachments whatever their status."""
        ctx = context or self.context
        if not ctx.is_admin:
            raise errors.Forbidden(action="force a detach")
        for attachment in self._chosen(ctx, volume_id, attachment_id, every=True):
            with self.services.db.transaction() as session:
                host = _force(session, attachment.id)
            if host is not None:
                self.services.volume_api.unexport_attachment(ctx, host, attachment.id)
                self._wait_for(attachment.id, attachment_ops.gone_or_failed_detach, None)

    def _chosen(
        self, ctx: RequestContext, volume_id: str, attachment_id: Any, every: bool = False
    ) -> list[models.Attachment]:
        with self.services.db.read() as session:
            volumes.get(session, volume_id, project_id=ctx.visible_project)
            found = list(attachments.for_volume(session, volume_id))
        if attachment_id is not None:
            fields.reference("attachment_id", attachment_id)
            chosen = [a for a in found if a.id == attachment_id]
            if not chosen:
                raise errors.InvalidReference(
                    field="attachment_id", kind="Attachment", value=attachment_id
                )
            return chosen
        if len(found) > 1 and not every:
            raise errors.InvalidInput(
                field="attachment_id", reason="the volume has several attachments; name one"
            )
        return found

    def _move(
        self,
        volume_id: str,
        expected: str,
        status: str,
        action: str,
        context: RequestContext | None,
    ) -> None:
        ctx = context or self.context
        with self.services.db.transaction() as session:
            volume = volumes.get_for_update(session, volume_id, project_id=ctx.visible_project)
            if not volumes.set_status(
                session, volume_id, status, expected=[expected], attach_status=status
            ):
                raise _refused(action, volume)


def _legacy(session: Session, volume_id: str) -> list[models.Attachment]:
    return [a for a in attachments.for_volume(session, volume_id) if a.legacy]


def _force(session: Session, attachment_id: str) -> str | None:
    """Move an attachment to ``detaching`` from any status (its export is removed by its
    manager: returns the backend), or delete one that has no export (returns None)."""
    attachment = attachments.get(session, attachment_id)
    volumes.get_for_update(session, attachment.volume_id)
    if attachment.connection_info is None:
        attachments.delete(session, attachment_id)
        attachments.settle_volume(session, attachment.volume_id)
        return None
    attachments.set_status(session, attachment_id, AttachStatus.DETACHING)
    attachments.settle_volume(session, attachment.volume_id)
    notifications.emit_volume(
        session, volumes.get(session, attachment.volume_id), events.VOLUME_DETACH.start
    )
    return attachment.host


def _same(stored: Mapping[str, Any] | None, given: Mapping[str, Any]) -> bool:
    """Whether two connectors are the same consumer: by initiator, else by host."""
    stored = stored or {}
    if stored.get("initiator") or given.get("initiator"):
        return bool(stored.get("initiator") == given.get("initiator"))
    return bool(stored.get("host") == given.get("host"))


def _text(field: str, value: Any, length: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > length:
        raise errors.InvalidInput(field=field, reason=f"must be text of 1 to {length} characters")
    return fields.storable(field, value)


def _refused(action: str, volume: models.Volume) -> errors.InvalidStatus:
    return errors.InvalidStatus(
        action=action, kind="volume", resource_id=volume.id, status=volume.status
    )
