"""Volume rows: the repository every layer uses to read and change volumes."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.orm import Session

from hearth import errors, logs
from hearth.db import models, quota_usages, rows

Volume = models.Volume
LOG = logging.getLogger(__name__)
_VIEWED = (orm.selectinload(Volume.attachments),)
"""What the reads for views load beside the type: the attachments (one more query)."""


def create(session: Session, **fields: Any) -> Volume:
    """Insert a volume row and return it (its id is filled in); its project's quota usage
    counts it from this transaction on (``quota_usages``)."""
    volume: Volume = rows.insert(session, Volume, fields)
    kind = quota_usages.type_name(session, volume.volume_type_id)
    quota_usages.charge(session, volume.project_id, quota_usages.volume_deltas(volume.size, kind))
    logs.note(volume_id=volume.id)
    logs.status_change(LOG, "volume", volume.id, "new", volume.status)
    return volume


def find(
    session: Session,
    volume_id: str,
    *,
    project_id: str | None = None,
    with_type: bool = False,
) -> Volume | None:
    """The volume, or None. With ``project_id``, only a volume of that project;
    ``with_type`` also loads its volume type."""
    options = [orm.joinedload(Volume.volume_type), *_VIEWED] if with_type else []
    return rows.find_in_project(session, Volume, volume_id, project_id, options)


def get(
    session: Session,
    volume_id: str,
    *,
    project_id: str | None = None,
    with_type: bool = False,
) -> Volume:
    """The volume; raises VolumeNotFound (also for another project's volume)."""
    volume = find(session, volume_id, project_id=project_id, with_type=with_type)
    if volume is None:
        raise errors.VolumeNotFound(volume_id=volume_id)
    return volume


def get_for_update(session: Session, volume_id: str, *, project_id: str | None = None) -> Volume:
    """The volume, row-locked until the transaction ends (serializes status changes)."""
    # OF volumes: PostgreSQL refuses to lock the outer-joined (eager) volume_types side
    query = sa.select(Volume).where(Volume.id == volume_id).with_for_update(of=Volume)
    volume = session.scalars(query).one_or_none()
    if volume is None or (project_id is not None and volume.project_id != project_id):
        raise errors.VolumeNotFound(volume_id=volume_id)
    return volume


def find_all(
    session: Session,
    *,
    project_id: str | None = None,
    host: str | None = None,
    statuses: Collection[str] | None = None,
    name: str | None = None,
    limit: int | None = None,
    with_type: bool = False,
) -> Sequence[Volume]:
    """Volumes matching every given filter, oldest first."""
    query = sa.select(Volume).order_by(Volume.created_at, Volume.id)
    if with_type:
        query = query.options(orm.joinedload(Volume.volume_type), *_VIEWED)
    if project_id is not None:
        query = query.where(Volume.project_id == project_id)
    if host is not None:
        query = query.where(Volume.host == host)
    if statuses is not None:
        query = query.where(Volume.status.in_(list(statuses)))
    if name is not None:
        query = query.where(Volume.name == name)
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()


@dataclass(frozen=True)
class Filters:
    """What a volume list is narrowed to; None (or empty) means any."""

    project_id: str | None = None
    name: str | None = None
    status: str | None = None
    availability_zone: str | None = None
    bootable: bool | None = None
    size: int | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


SORT_KEYS = frozenset(
    {"id", "name", "status", "size", "availability_zone", "bootable", "created_at", "updated_at"}
)


def find_page(
    session: Session,
    filters: Filters,
    sort: Sequence[rows.SortKey],
    *,
    limit: int | None = None,
    marker: str | None = None,
    offset: int = 0,
) -> Sequence[Volume]:
    """One page of the volumes matching ``filters`` (with their types), in ``sort`` order
    after the volume ``marker``; raises VolumeNotFound for a marker not in the list."""
    query = sa.select(Volume).options(orm.joinedload(Volume.volume_type), *_VIEWED)
    for column, wanted in (
        (Volume.project_id, filters.project_id),
        (Volume.name, filters.name),
        (Volume.status, filters.status),
        (Volume.availability_zone, filters.availability_zone),
        (Volume.bootable, filters.bootable),
        (Volume.size, filters.size),
    ):
        if wanted is not None:
            query = query.where(column == wanted)
    for key, value in filters.metadata.items():
        query = query.where(Volume.volume_metadata[key].as_string() == value)
    try:
        return rows.page(session, query, Volume, sort, limit=limit, marker=marker, offset=offset)
    except LookupError:
        raise errors.VolumeNotFound(volume_id=marker) from None


def update(session: Session, volume_id: str, **fields: Any) -> None:
    """Change fields of a volume; raises VolumeNotFound when the row is gone."""
    if not rows.update_by_id(session, Volume, volume_id, fields):
        raise errors.VolumeNotFound(volume_id=volume_id)


def set_status(
    session: Session,
    volume_id: str,
    status: str,
    *,
    expected: Collection[str] | None = None,
    **fields: Any,
) -> bool:
    """Compare-and-set the status (and other fields); False when gone or not ``expected``."""
    changed = rows.compare_and_set_status(session, Volume, volume_id, status, expected, fields)
    if changed:
        logs.status_change(LOG, "volume", volume_id, expected or "*", status)
    return changed


def update_and_get(session: Session, volume_id: str, **fields: Any) -> Volume:
    """:func:`update`, returning the changed row from the same statement (no re-read)."""
    volume = rows.update_by_id_returning(session, Volume, volume_id, fields)
    if volume is None:
        raise errors.VolumeNotFound(volume_id=volume_id)
    return volume


def set_status_and_get(
    session: Session,
    volume_id: str,
    status: str,
    *,
    expected: Collection[str] | None = None,
    **fields: Any,
) -> Volume | None:
    """:func:`set_status`, returning the changed row from the same statement (None when
    gone or not ``expected``, as set_status's False)."""
    volume = rows.compare_and_set_status_returning(
        session, Volume, volume_id, status, expected, fields
    )
    if volume is not None:
        logs.status_change(LOG, "volume", volume_id, expected or "*", status)
    return volume


def place(session: Session, volume_id: str, host: str, availability_zone: str) -> bool:
    """Record the backend chosen for a ``creating`` volume that has none yet; False (nothing
    changed) otherwise. The caller claims the capacity in the same transaction."""
    result = session.execute(
        sa.update(Volume)
        .where(Volume.id == volume_id, Volume.status == "creating", Volume.host.is_(None))
        .values(
            host=host,
            availability_zone=availability_zone,
            scheduled_at=models.utcnow(),
            updated_at=models.utcnow(),
            create_step="scheduled",
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def delete(session: Session, volume_id: str) -> None:
    """Remove the row (a no-op when it is already gone) and give back its quota usage,
    with any reservation it still holds."""
    removed = session.execute(
        sa.delete(Volume)
        .where(Volume.id == volume_id)
        .returning(Volume.project_id, Volume.size, Volume.volume_type_id)
        .execution_options(synchronize_session=False)
    ).first()
    if removed is not None:  # what the DELETE removed, so two deletes never refund twice
        project_id, size, type_id = removed
        quota_usages.release(session, volume_id)
        kind = quota_usages.type_name(session, type_id)
        quota_usages.refund(session, project_id, quota_usages.volume_deltas(size, kind))
    rows.delete(session, Volume, volume_id)  # already gone: only tells the subscribers
    logs.status_change(LOG, "volume", volume_id, "*", "deleted")


def find_migrations(session: Session, host: str) -> Sequence[Volume]:
    """Volumes whose migration names ``host``: migrating to it, or completing from it."""
    query = (
        sa.select(Volume)
        .where(
            Volume.migration_host == host, Volume.migration_status.in_(["migrating", "completing"])
        )
        .order_by(Volume.created_at)
    )
    return session.scalars(query).all()
