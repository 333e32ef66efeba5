"""Request checks for volume types: who may add, see and remove them (Cinder's types API).

Admins manage types; everyone else sees the public ones and the private ones their project
was given access to (``type_catalog``); any other private type is not found for them. A
volume that names no type gets its project's default type (3.62) or ``__DEFAULT__``. Extra
specs of an existing type are changed in ``updates``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hearth import errors
from hearth.context import RequestContext
from hearth.db import models, type_access, volume_types
from hearth.service import fields

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

REFERENCE = "must be a type name or id"


def new_volume_type(
    session: Session,
    context: RequestContext,
    name: Any,
    *,
    description: Any,
    extra_specs: Any,
    is_public: bool,
) -> models.VolumeType:
    """Check and insert a volume type (admins only)."""
    _require_admin(context, "create volume types")
    specs = fields.metadata("extra_specs", extra_specs)
    return volume_types.create(
        session,
        name=fields.text("name", name),
        description=fields.optional_text("description", description),
        extra_specs=dict(specs or {}),
        is_public=is_public,
    )


def visible(session: Session, context: RequestContext) -> Sequence[models.VolumeType]:
    """The types the caller may use: every one for admins, else the public ones and the
    private ones its project has access to."""
    if context.is_admin:
        return volume_types.find_all(session)
    granted = type_access.type_ids(session, context.project_id)
    return [t for t in volume_types.find_all(session) if t.is_public or t.id in granted]


def find(session: Session, context: RequestContext, name_or_id: str) -> models.VolumeType:
    """One type by id or name; a private one is not found for a project without access."""
    found = volume_types.get(session, name_or_id)
    hidden = not (found.is_public or context.is_admin)
    if hidden and found.id not in type_access.type_ids(session, context.project_id):
        raise errors.VolumeTypeNotFound(volume_type=name_or_id)
    return found


def for_volume(session: Session, context: RequestContext, value: Any) -> models.VolumeType:
    """The type of a new volume: the one named (404 when the caller cannot see it), else
    the project's default, else ``__DEFAULT__``."""
    if value is None:
        chosen = type_access.default_of(session, context.project_id)
        if chosen is not None:
            return volume_types.get(session, chosen.volume_type_id)
        return volume_types.get_default(session)
    return find(session, context, fields.reference("volume_type", value, reason=REFERENCE))


def delete(session: Session, context: RequestContext, name_or_id: str) -> None:
    """Remove a type no volume uses (admins only)."""
    _require_admin(context, "delete volume types")
    volume_types.delete(session, name_or_id)


def _require_admin(context: RequestContext, action: str) -> None:
    if not context.is_admin:
        raise errors.Forbidden(action=action)
