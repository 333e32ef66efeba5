"""Request checks for volume types: who may add, see and remove them (Cinder's types API).

Admins manage types; everyone else sees the public ones only, and a private type is not
found for them. Extra specs of an existing type are changed in ``updates``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hearth import errors
from hearth.context import RequestContext
from hearth.db import models, volume_types
from hearth.service import fields

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


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
    """The types the caller may use: every one for admins, the public ones else."""
    return [t for t in volume_types.find_all(session) if context.is_admin or t.is_public]


def find(session: Session, context: RequestContext, name_or_id: str) -> models.VolumeType:
    """One type by id or name; a private one is not found for non-admins."""
    found = volume_types.get(session, name_or_id)
    if not (found.is_public or context.is_admin):
        raise errors.VolumeTypeNotFound(volume_type=name_or_id)
    return found


def delete(session: Session, context: RequestContext, name_or_id: str) -> None:
    """Remove a type no volume uses (admins only)."""
    _require_admin(context, "delete volume types")
    volume_types.delete(session, name_or_id)


def _require_admin(context: RequestContext, action: str) -> None:
    if not context.is_admin:
        raise errors.Forbidden(action=action)
