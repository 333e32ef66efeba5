"""Request checks for the state actions on volumes (``POST /volumes/{id}/action``): the
administrator's ``os-reset_status`` and ``os-force_delete``, and the owner's bootable and
read-only flags and image metadata.

These change rows only, in the caller's transaction, after every check (bad input raises an
``Invalid`` error naming the field and writes nothing); a force delete then casts the
delete to the volume's backend (the facade does). A volume of another project is not found.
The actions that move data (revert, upload, retype, migrate, reimage) begin in
``data_actions`` and ``migration``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hearth import errors
from hearth.context import RequestContext
from hearth.db import models, snapshots, statuses, volumes
from hearth.service import fields

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

TRUE_WORDS = frozenset({"1", "t", "true", "on", "y", "yes"})
FALSE_WORDS = frozenset({"0", "f", "false", "off", "n", "no"})
IMAGE_METADATA_STATUSES = frozenset({statuses.VolumeStatus.AVAILABLE, "in-use"})


def flag(field: str, value: Any) -> bool:
    """A boolean as OpenStack clients send one (true/false, or their words as text);
    anything else is refused naming the field (Cinder's strict ``bool_from_string``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise errors.InvalidInput(field=field, reason="must be a boolean (true or false)")


def require_admin(context: RequestContext, action: str) -> None:
    """Refuse a caller who is not an administrator (403)."""
    if not context.is_admin:
        raise errors.Forbidden(action=action)


def reset_status(
    session: Session, context: RequestContext, volume_id: str, arguments: Mapping[str, Any]
) -> None:
    """Set a volume's status (and migration status) as an administrator says, whatever it
    is now; nothing else changes and nothing is cast."""
    require_admin(context, "reset the status of a volume")
    volumes.get_for_update(session, volume_id)
    changes: dict[str, Any] = {}
    if "migration_status" in arguments:
        migration = _choice("migration_status", arguments["migration_status"])
        if migration not in statuses.MIGRATION_RESETTABLE:
            raise _not_one_of("migration_status", migration, statuses.MIGRATION_RESETTABLE)
        changes["migration_status"] = None if migration == "none" else migration
    status = arguments.get("status")
    if status is None and not changes and "attach_status" not in arguments:
        raise errors.InvalidInput(field="status", reason="a status to set is required")
    if status is not None:
        status = _choice("status", status)
        if status not in statuses.VOLUME_RESETTABLE:
            raise _not_one_of("status", status, statuses.VOLUME_RESETTABLE)
    if "attach_status" in arguments:
        attach = _choice("attach_status", arguments["attach_status"])
        if attach not in {"attached", "detached"}:
            raise _not_one_of("attach_status", attach, {"attached", "detached"})
    if status is not None:
        volumes.set_status(session, volume_id, status, **changes)
    elif changes:
        volumes.update(session, volume_id, **changes)


def begin_force_delete(session: Session, context: RequestContext, volume_id: str) -> str | None:
    """Move a volume to ``deleting`` whatever its status (administrators only) and return
    its backend; a volume never placed is deleted here (None). A volume with snapshots is
    refused, as a plain delete."""
    require_admin(context, "force-delete a volume")
    volume = volumes.get_for_update(session, volume_id)
    count = snapshots.count_for_volume(session, volume_id)
    if count:
        raise errors.VolumeHasSnapshots(volume_id=volume_id, count=count)
    if volume.host is None:
        volumes.delete(session, volume_id)
        return None
    volumes.set_status(session, volume_id, statuses.VolumeStatus.DELETING)
    return volume.host


def set_bootable(
    session: Session, context: RequestContext, volume_id: str, arguments: Mapping[str, Any]
) -> None:
    """Mark a volume bootable or not (``{"bootable": true}``)."""
    volumes.get_for_update(session, volume_id, project_id=context.visible_project)
    if "bootable" not in arguments:
        raise errors.InvalidInput(field="bootable", reason="is required")
    volumes.update(session, volume_id, bootable=flag("bootable", arguments["bootable"]))


def set_readonly(
    session: Session, context: RequestContext, volume_id: str, arguments: Mapping[str, Any]
) -> None:
    """Set a volume's read-only flag (``{"readonly": true}``); not while in maintenance."""
    volume = volumes.get_for_update(session, volume_id, project_id=context.visible_project)
    if "readonly" not in arguments:
        raise errors.InvalidInput(field="readonly", reason="is required")
    readonly = flag("readonly", arguments["readonly"])
    if volume.status == statuses.VolumeStatus.MAINTENANCE:
        raise _status_refused("update the read-only flag of", volume)
    volumes.update(session, volume_id, readonly=readonly)


def set_image_metadata(
    session: Session, context: RequestContext, volume_id: str, arguments: Mapping[str, Any]
) -> dict[str, str]:
    """Merge items into a volume's image metadata; returns all of it (string values)."""
    volume = volumes.get_for_update(session, volume_id, project_id=context.visible_project)
    given = fields.metadata("metadata", arguments.get("metadata"))
    if not given:
        raise errors.InvalidInput(field="metadata", reason="at least one item is required")
    if volume.status not in IMAGE_METADATA_STATUSES:
        raise _status_refused("change the image metadata of", volume)
    merged = {**image_metadata(volume), **given}
    volumes.update(session, volume_id, volume_image_metadata=merged)
    return merged


def unset_image_metadata(
    session: Session, context: RequestContext, volume_id: str, arguments: Mapping[str, Any]
) -> None:
    """Remove one item of a volume's image metadata (``{"key": "..."}``); an absent key
    is MetadataKeyNotFound (404)."""
    volume = volumes.get_for_update(session, volume_id, project_id=context.visible_project)
    key = fields.text("key", arguments.get("key"))
    if volume.status not in IMAGE_METADATA_STATUSES:
        raise _status_refused("change the image metadata of", volume)
    current = image_metadata(volume)
    if key not in current:
        raise errors.MetadataKeyNotFound(
            kind="The image metadata of volume", resource_id=volume_id, key=key
        )
    remaining = {k: v for k, v in current.items() if k != key}
    volumes.update(session, volume_id, volume_image_metadata=remaining or None)


def image_metadata(volume: models.Volume) -> dict[str, str]:
    """A volume's image metadata with string values, as Cinder stores it ({} when none)."""
    recorded = volume.volume_image_metadata or {}
    return {key: str(value) for key, value in recorded.items() if value is not None}


def _choice(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise errors.InvalidInput(field=field, reason="must be a string")
    return value.strip().lower()


def _not_one_of(field: str, value: str, allowed: frozenset[str] | set[str]) -> errors.HearthError:
    return errors.InvalidInput(
        field=field, reason=f"{value!r} is not one of {', '.join(sorted(allowed))}"
    )


def _status_refused(action: str, volume: models.Volume) -> errors.HearthError:
    return errors.InvalidStatus(
        action=action, kind="volume", resource_id=volume.id, status=volume.status
    )
