"""Volume type rows: named classes of volumes with extra specs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hearth import errors
from hearth.db import models, rows

VolumeType = models.VolumeType
DEFAULT_NAME = "__DEFAULT__"


def create(session: Session, *, name: str, **fields: Any) -> VolumeType:
    """Insert a volume type; raises DuplicateName when the name is taken."""
    if find(session, name) is not None:
        raise errors.DuplicateName(kind="A volume type", name=name)
    return rows.insert(session, VolumeType, {"name": name, **fields})


def find(session: Session, name_or_id: str) -> VolumeType | None:
    """The type with this id or, failing that, this name; or None."""
    by_id = session.get(VolumeType, name_or_id)
    if by_id is not None:
        return by_id
    return session.scalars(sa.select(VolumeType).where(VolumeType.name == name_or_id)).first()


def get(session: Session, name_or_id: str) -> VolumeType:
    """The type with this id or name; raises VolumeTypeNotFound."""
    volume_type = find(session, name_or_id)
    if volume_type is None:
        raise errors.VolumeTypeNotFound(volume_type=name_or_id)
    return volume_type


def get_default(session: Session) -> VolumeType:
    """The type given to volumes whose request names none."""
    return get(session, DEFAULT_NAME)


def find_all(session: Session) -> Sequence[VolumeType]:
    """Every volume type, by name."""
    return session.scalars(sa.select(VolumeType).order_by(VolumeType.name)).all()


def delete(session: Session, name_or_id: str) -> None:
    """Remove a type no volume uses; raises Conflict while a volume still does."""
    volume_type = get(session, name_or_id)
    in_use = count_volumes(session, volume_type.id)
    if in_use:
        raise errors.Conflict(
            reason=f"Volume type {volume_type.name} is used by {in_use} volume(s)."
        )
    if session.scalar(sa.select(sa.func.count()).where(_default_of_a_project(volume_type.id))):
        raise errors.Conflict(
            reason=f"Volume type {volume_type.name} is the default type of a project."
        )
    for dependent in (models.VolumeTypeAccess, models.EncryptionType):
        session.execute(sa.delete(dependent).where(dependent.volume_type_id == volume_type.id))
    rows.delete(session, VolumeType, volume_type.id)


def count_volumes(session: Session, volume_type_id: str) -> int:
    """How many volumes have this type."""
    query = sa.select(sa.func.count()).select_from(models.Volume)
    return session.scalar(query.where(models.Volume.volume_type_id == volume_type_id)) or 0


def _default_of_a_project(volume_type_id: str) -> sa.ColumnElement[bool]:
    return models.DefaultVolumeType.volume_type_id == volume_type_id


def update(session: Session, type_id: str, **fields: Any) -> None:
    """Change fields of a volume type; raises VolumeTypeNotFound when the row is gone."""
    if not rows.update_by_id(session, VolumeType, type_id, fields):
        raise errors.VolumeTypeNotFound(volume_type=type_id)
