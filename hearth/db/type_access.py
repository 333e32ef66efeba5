"""Volume type access rows: the projects that may see and use a private volume type
(Cinder's ``os-volume-type-access``), and each project's default type (microversion 3.62).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hearth import errors
from hearth.db import models

Access = models.VolumeTypeAccess
ProjectDefault = models.DefaultVolumeType


def projects(session: Session, volume_type_id: str) -> Sequence[str]:
    """The projects given access to a type, sorted."""
    query = sa.select(Access.project_id).where(Access.volume_type_id == volume_type_id)
    return session.scalars(query.order_by(Access.project_id)).all()


def type_ids(session: Session, project_id: str) -> set[str]:
    """The ids of the private types a project was given access to."""
    query = sa.select(Access.volume_type_id).where(Access.project_id == project_id)
    return set(session.scalars(query).all())


def add(session: Session, volume_type_id: str, project_id: str) -> None:
    """Give a project access; raises Conflict when it already has it."""
    if session.get(Access, (volume_type_id, project_id)) is not None:
        raise errors.Conflict(
            reason=f"Project {project_id} already has access to volume type {volume_type_id}."
        )
    session.add(Access(volume_type_id=volume_type_id, project_id=project_id))
    session.flush()


def remove(session: Session, volume_type_id: str, project_id: str) -> None:
    """Take a project's access away; raises NotFound when it had none."""
    row = session.get(Access, (volume_type_id, project_id))
    if row is None:
        raise errors.NotFound(
            kind="Access of project", resource_id=f"{project_id} to volume type {volume_type_id}"
        )
    session.delete(row)
    session.flush()


def forget_type(session: Session, volume_type_id: str) -> None:
    """Remove every access row of a type being deleted."""
    session.execute(sa.delete(Access).where(Access.volume_type_id == volume_type_id))


def default_of(session: Session, project_id: str) -> ProjectDefault | None:
    """The project's own default type, if one was set."""
    return session.get(ProjectDefault, project_id)


def all_defaults(session: Session) -> Sequence[ProjectDefault]:
    """Every project's default type, by project."""
    query = sa.select(ProjectDefault).order_by(ProjectDefault.project_id)
    return session.scalars(query).all()


def set_default(session: Session, project_id: str, volume_type_id: str) -> ProjectDefault:
    """Make a type the project's default (replacing any other)."""
    row = session.get(ProjectDefault, project_id)
    if row is None:
        row = ProjectDefault(project_id=project_id, volume_type_id=volume_type_id)
        session.add(row)
    else:
        row.volume_type_id = volume_type_id
    session.flush()
    return row


def unset_default(session: Session, project_id: str) -> None:
    """Drop the project's default; raises NotFound when it had none."""
    row = session.get(ProjectDefault, project_id)
    if row is None:
        raise errors.NotFound(kind="Default volume type of project", resource_id=project_id)
    session.delete(row)
    session.flush()


def is_a_default(session: Session, volume_type_id: str) -> bool:
    """Whether some project has this type as its default."""
    query = sa.select(sa.func.count()).where(ProjectDefault.volume_type_id == volume_type_id)
    return bool(session.scalar(query))
