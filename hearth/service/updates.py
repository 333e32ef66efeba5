"""Request checks for changes to existing rows: names, descriptions and metadata of
volumes and snapshots, and volume types' extra specs (Cinder's update and metadata APIs).

As in ``requests`` (each value checked by ``fields``), every check runs before anything is
written, in the transaction that then writes; a resource of another project is not found.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hearth import errors
from hearth.context import RequestContext
from hearth.db import models, snapshots, volume_types, volumes
from hearth.service import fields

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

TEXT_FIELDS = ("name", "description")


def update_volume(
    session: Session, context: RequestContext, volume_id: str, changes: Mapping[str, Any]
) -> models.Volume:
    """Change a volume's name, description and (replacing it) metadata."""
    volume = volumes.get_for_update(session, volume_id, project_id=context.visible_project)
    changed = _text_changes(changes)
    if "metadata" in changes:
        changed["volume_metadata"] = fields.metadata("metadata", changes["metadata"])
    if changed:
        volumes.update(session, volume_id, **changed)
    return volume


def set_volume_metadata(
    session: Session,
    context: RequestContext,
    volume_id: str,
    metadata: Any,
    *,
    replace: bool,
) -> dict[str, str]:
    """Merge (or with ``replace``, substitute) metadata items; returns all of them."""
    volume = volumes.get_for_update(session, volume_id, project_id=context.visible_project)
    given = fields.metadata("metadata", metadata)
    merged = given if replace else {**volume.volume_metadata, **given}
    volumes.update(session, volume_id, volume_metadata=merged)
    return merged


def delete_volume_metadata(
    session: Session, context: RequestContext, volume_id: str, key: str
) -> None:
    """Remove one metadata item; raises MetadataKeyNotFound when it is absent."""
    volume = volumes.get_for_update(session, volume_id, project_id=context.visible_project)
    if key not in volume.volume_metadata:
        raise errors.MetadataKeyNotFound(kind="Volume", resource_id=volume_id, key=key)
    remaining = {k: v for k, v in volume.volume_metadata.items() if k != key}
    volumes.update(session, volume_id, volume_metadata=remaining)


def update_snapshot(
    session: Session, context: RequestContext, snapshot_id: str, changes: Mapping[str, Any]
) -> None:
    """Change a snapshot's name and description."""
    snapshots.get(session, snapshot_id, project_id=context.visible_project)
    changed = _text_changes(changes)
    if "metadata" in changes:
        changed["snapshot_metadata"] = fields.metadata("metadata", changes["metadata"])
    if changed:
        snapshots.update(session, snapshot_id, **changed)


def set_extra_specs(
    session: Session, context: RequestContext, type_id: str, specs: Any, *, replace: bool
) -> dict[str, str]:
    """Merge extra specs into a volume type (admins only); returns all of them."""
    _require_admin(context, "change volume types")
    volume_type = volume_types.get(session, type_id)
    given = fields.metadata("extra_specs", specs)
    merged = given if replace else {**volume_type.extra_specs, **given}
    volume_types.update(session, volume_type.id, extra_specs=merged)
    return merged


def delete_extra_spec(session: Session, context: RequestContext, type_id: str, key: str) -> None:
    """Remove one extra spec of a volume type (admins only)."""
    _require_admin(context, "change volume types")
    volume_type = volume_types.get(session, type_id)
    if key not in volume_type.extra_specs:
        raise errors.MetadataKeyNotFound(kind="Volume type", resource_id=type_id, key=key)
    remaining = {k: v for k, v in volume_type.extra_specs.items() if k != key}
    volume_types.update(session, volume_type.id, extra_specs=remaining)


def _text_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: fields.optional_text(name, changes[name]) for name in TEXT_FIELDS if name in changes
    }


def _require_admin(context: RequestContext, action: str) -> None:
    if not context.is_admin:
        raise errors.Forbidden(action=action)
