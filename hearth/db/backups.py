"""Backup rows: what the backup service and the create flow's ``backup`` source read and
write about a backup (its data is in the backup repository, ``hearth.backup``)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hearth import errors, logs
from hearth.db import models, quota_usages, rows

Backup = models.Backup
LOG = logging.getLogger(__name__)

SORT_KEYS = frozenset({"id", "name", "status", "size", "created_at", "updated_at"})


def create(session: Session, **fields: Any) -> Backup:
    """Insert a backup row and return it."""
    backup: Backup = rows.insert(session, Backup, fields)
    quota_usages.charge(session, backup.project_id, quota_usages.backup_deltas(backup.size))
    logs.note(backup_id=backup.id, volume_id=backup.volume_id)
    logs.status_change(LOG, "backup", backup.id, "new", backup.status)
    return backup


def find(session: Session, backup_id: str, *, project_id: str | None = None) -> Backup | None:
    """The backup, or None. With ``project_id``, only a backup of that project."""
    return rows.find_in_project(session, Backup, backup_id, project_id)


def get(session: Session, backup_id: str, *, project_id: str | None = None) -> Backup:
    """The backup; raises BackupNotFound (also for another project's backup)."""
    backup = find(session, backup_id, project_id=project_id)
    if backup is None:
        raise errors.BackupNotFound(backup_id=backup_id)
    return backup


def find_all(
    session: Session,
    *,
    project_id: str | None = None,
    volume_id: str | None = None,
    parent_id: str | None = None,
    host: str | None = None,
    statuses: Collection[str] | None = None,
) -> Sequence[Backup]:
    """Backups matching every given filter, oldest first."""
    query = sa.select(Backup).order_by(Backup.created_at, Backup.id)
    for column, wanted in (
        (Backup.project_id, project_id),
        (Backup.volume_id, volume_id),
        (Backup.parent_id, parent_id),
        (Backup.host, host),
    ):
        if wanted is not None:
            query = query.where(column == wanted)
    if statuses is not None:
        query = query.where(Backup.status.in_(list(statuses)))
    return session.scalars(query).all()


def find_page(
    session: Session,
    sort: Sequence[rows.SortKey],
    *,
    project_id: str | None = None,
    filters: Mapping[str, Any] | None = None,
    limit: int | None = None,
    marker: str | None = None,
) -> Sequence[Backup]:
    """One page of backups whose columns equal ``filters`` (name, status, volume_id);
    raises BackupNotFound for an unknown marker."""
    query = sa.select(Backup)
    if project_id is not None:
        query = query.where(Backup.project_id == project_id)
    for name, wanted in (filters or {}).items():
        query = query.where(getattr(Backup, name) == wanted)
    try:
        return rows.page(session, query, Backup, sort, limit=limit, marker=marker)
    except LookupError:
        raise errors.BackupNotFound(backup_id=marker) from None


def latest_available(session: Session, volume_id: str) -> Backup | None:
    """The volume's newest ``available`` backup: the parent of an incremental one."""
    query = (
        sa.select(Backup)
        .where(Backup.volume_id == volume_id, Backup.status == "available")
        .order_by(Backup.data_timestamp.desc(), Backup.created_at.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def count_children(session: Session, backup_id: str) -> int:
    """How many backups are incremental on top of this one (``has_dependent_backups``)."""
    query = sa.select(sa.func.count()).select_from(Backup).where(Backup.parent_id == backup_id)
    return int(session.scalar(query) or 0)


def update(session: Session, backup_id: str, **fields: Any) -> None:
    """Change fields of a backup; raises BackupNotFound when the row is gone."""
    if not rows.update_by_id(session, Backup, backup_id, fields):
        raise errors.BackupNotFound(backup_id=backup_id)


def set_status(
    session: Session,
    backup_id: str,
    status: str,
    *,
    expected: Collection[str] | None = None,
    **fields: Any,
) -> bool:
    """Compare-and-set the status; False (nothing changed) when gone or not ``expected``."""
    changed = rows.compare_and_set_status(session, Backup, backup_id, status, expected, fields)
    if changed:
        logs.status_change(LOG, "backup", backup_id, expected or "*", status)
    return changed


def delete(session: Session, backup_id: str) -> None:
    """Remove the row (a no-op when it is already gone) and give back its quota usage."""
    removed = session.execute(
        sa.delete(Backup)
        .where(Backup.id == backup_id)
        .returning(Backup.project_id, Backup.size)
        .execution_options(synchronize_session=False)
    ).first()
    if removed is not None:  # what the DELETE removed, so two deletes never refund twice
        quota_usages.refund(session, removed[0], quota_usages.backup_deltas(removed[1]))
    rows.delete(session, Backup, backup_id)  # already gone: only tells the subscribers
    logs.status_change(LOG, "backup", backup_id, "*", "deleted")


def count(
    session: Session, *, project_id: str | None = None, filters: Mapping[str, Any] | None = None
) -> int:
    """How many backups match (the list's ``count`` at microversion 3.45)."""
    query = sa.select(sa.func.count()).select_from(Backup)
    if project_id is not None:
        query = query.where(Backup.project_id == project_id)
    for name, wanted in (filters or {}).items():
        query = query.where(getattr(Backup, name) == wanted)
    return int(session.scalar(query) or 0)
