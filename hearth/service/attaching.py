"""The attach status machine: checks an attach or detach request and writes the rows that
start it (Cinder's ``attachment_*`` volume API).

::

    volume      available -> reserved -> attaching -> in-use -> detaching -> available
    attachment  (new) reserved -> attaching -> attached -> detaching -> (row deleted)
                          `-> error_attaching (export failed; update again or delete)

An attachment is made ``reserved`` (no connector) or straight ``attaching`` (with one);
giving a connector moves it to ``attaching`` and asks its backend's manager for the export
(``hearth.volume.exports``), which stores ``connection_info``; ``complete`` makes it
``attached``; ``delete`` removes a row with no export at once, else moves it to
``detaching`` for the manager to remove the export and the row. The volume's status is
what its attachments add up to (``attachments.settle_volume``). Every function runs in
the caller's transaction on a row-locked volume and checks everything before writing, so
a refused request (InvalidStatus 409, InvalidInput 400) changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hearth import errors, notifications
from hearth.context import RequestContext
from hearth.db import attachments, models, statuses, volume_types, volumes
from hearth.notifications import events
from hearth.service import fields

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

MODES = ("rw", "ro")
MULTIATTACH_SPEC = "<is> True"
"""The extra spec ``multiattach`` of a type whose volumes may have several attachments."""
_ATTACHABLE = frozenset(
    {statuses.VolumeStatus.AVAILABLE, statuses.VolumeStatus.RESERVED, statuses.VolumeStatus.IN_USE}
)
AttachStatus = statuses.AttachStatus


def create(
    session: Session,
    context: RequestContext,
    volume_id: Any,
    *,
    instance_uuid: Any = None,
    connector: Any = None,
    mode: Any = None,
    legacy: bool = False,
) -> models.Attachment:
    """Reserve the volume for a new attachment; with a (non-empty) connector, also begin
    its export: then the attachment is ``attaching`` and the caller casts it."""
    fields.reference("volume_uuid", volume_id, reason="a volume id is required")
    volume = volumes.get_for_update(session, volume_id, project_id=context.visible_project)
    instance = _optional_text("instance_uuid", instance_uuid)
    access_mode = mode_of(mode)
    # an empty connector is none: Cinder's clients send {} to reserve only
    checked = _connector(connector) if connector is not None else None
    checked = checked or None
    existing = attachments.for_volume(session, volume.id)
    if volume.status not in _ATTACHABLE or volume.host is None:
        raise _refused("attach", volume)
    if existing and not multiattach(session, volume):
        raise errors.InvalidStatus(
            action="attach",
            kind="volume",
            resource_id=volume.id,
            status=volume.status,
            detail="not multiattach",
        )
    attachment = attachments.create(
        session,
        volume_id=volume.id,
        project_id=context.project_id,
        user_id=context.user_id,
        host=volume.host,
        status=AttachStatus.RESERVED,
        instance_uuid=instance,
        attach_mode=access_mode,
        legacy=legacy,
    )
    attachments.settle_volume(session, volume.id)
    if checked is not None:
        _begin_export(session, attachment, checked)
    return attachment


def update(
    session: Session, context: RequestContext, attachment_id: str, connector: Any, mode: Any = None
) -> models.Attachment:
    """Give a reserved (or failed) attachment its connector and begin its export."""
    attachment = _locked(session, context, attachment_id)
    if connector is None:
        raise errors.InvalidInput(field="connector", reason="a connector object is required")
    checked = _connector(connector)
    access_mode = mode_of(mode) if mode is not None else None
    if attachment.status not in (AttachStatus.RESERVED, AttachStatus.ERROR_ATTACHING):
        raise _refused("update", attachment)
    if access_mode is not None:
        attachments.set_status(session, attachment.id, attachment.status, attach_mode=access_mode)
    _begin_export(session, attachment, checked)
    return attachment


def complete(session: Session, context: RequestContext, attachment_id: str) -> None:
    """Mark an exported attachment ``attached`` (os-complete): the consumer is connected."""
    attachment = _locked(session, context, attachment_id)
    if attachment.status == AttachStatus.ATTACHED:
        return  # Nova may complete twice; the second changes nothing
    if attachment.status != AttachStatus.ATTACHING or attachment.connection_info is None:
        raise _refused("complete", attachment)
    attachments.set_status(
        session,
        attachment.id,
        AttachStatus.ATTACHED,
        expected=[AttachStatus.ATTACHING],
        attached_at=models.utcnow(),
    )
    _settle_and_emit(session, attachment.volume_id, events.VOLUME_ATTACH.end)


def begin_delete(session: Session, context: RequestContext, attachment_id: str) -> str | None:
    """Start removing an attachment. One with no export is deleted now (returns None);
    one with an export becomes ``detaching`` and the backend that must remove the export
    is returned (the caller casts to it)."""
    attachment = _locked(session, context, attachment_id)
    exported = attachment.connection_info is not None
    if attachment.status == AttachStatus.DETACHING or (
        attachment.status == AttachStatus.ATTACHING and not exported
    ):
        raise _refused("delete", attachment)  # its manager is at work on it
    if not exported:
        attachments.delete(session, attachment.id)
        attachments.settle_volume(session, attachment.volume_id)
        return None
    attachments.set_status(
        session, attachment.id, AttachStatus.DETACHING, expected=[attachment.status]
    )
    _settle_and_emit(session, attachment.volume_id, events.VOLUME_DETACH.start)
    return attachment.host


def multiattach(session: Session, volume: models.Volume) -> bool:
    """Whether the volume's type allows several attachments at once."""
    if volume.volume_type_id is None:
        return False
    volume_type = volume_types.find(session, volume.volume_type_id)
    specs = volume_type.extra_specs if volume_type is not None else {}
    return str(specs.get("multiattach", "")).strip() == MULTIATTACH_SPEC


def _begin_export(
    session: Session, attachment: models.Attachment, connector: dict[str, Any]
) -> None:
    attachments.set_status(
        session,
        attachment.id,
        AttachStatus.ATTACHING,
        expected=[AttachStatus.RESERVED, AttachStatus.ERROR_ATTACHING],
        connector=connector,
        attached_host=connector.get("host"),
        connection_info=None,
        last_error=None,
    )
    _settle_and_emit(session, attachment.volume_id, events.VOLUME_ATTACH.start)


def _settle_and_emit(session: Session, volume_id: str, event: events.Event) -> None:
    attachments.settle_volume(session, volume_id)
    notifications.emit_volume(session, volumes.get(session, volume_id), event)


def _locked(session: Session, context: RequestContext, attachment_id: str) -> models.Attachment:
    """The attachment, its volume row-locked first (the order every writer takes)."""
    scope = context.visible_project
    found = attachments.get(session, attachment_id, project_id=scope)
    volumes.get_for_update(session, found.volume_id)
    return attachments.get(session, attachment_id, project_id=scope)  # as of the lock


def _refused(action: str, row: models.Volume | models.Attachment) -> errors.InvalidStatus:
    kind = "volume" if isinstance(row, models.Volume) else "attachment"
    return errors.InvalidStatus(action=action, kind=kind, resource_id=row.id, status=row.status)


def mode_of(value: Any) -> str:
    """An attach mode: ``rw`` (the default) or ``ro``."""
    if value is None:
        return "rw"
    if value not in MODES:
        raise errors.InvalidInput(field="mode", reason=f"must be one of {list(MODES)}")
    return str(value)


def _optional_text(field: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > 36:
        raise errors.InvalidInput(field=field, reason="must be an id of 1 to 36 characters")
    return fields.storable(field, value)


def _connector(value: Any) -> dict[str, Any]:
    """The consumer's connector as os-brick builds it: an object whose ``initiator`` and
    ``host``, when given, are text; other keys are kept as given (plain JSON values)."""
    if not isinstance(value, dict):
        raise errors.InvalidInput(field="connector", reason="must be a JSON object")
    for key in ("initiator", "host", "ip", "platform", "os_type"):
        given = value.get(key)
        if given is not None and (not isinstance(given, str) or not given or len(given) > 255):
            raise errors.InvalidInput(
                field=f"connector.{key}", reason="must be text of 1 to 255 characters"
            )
        if isinstance(given, str):
            fields.storable(f"connector.{key}", given)
    for key in value:
        if not isinstance(key, str):
            raise errors.InvalidInput(field="connector", reason="keys must be text")
        fields.storable("connector", key)
    return dict(value)
