"""Snapshot rows."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hearth import errors, logs
from hearth.db import backends, models, quota_usages, rows

Snapshot = models.Snapshot
LOG = logging.getLogger(__name__)


def create(session: Session, **fields: Any) -> Snapshot:
    """Insert a snapshot row and return it; its project's quota usage and its volume's
    backend's ``snapshot_capacity_gb`` count it."""
    snapshot: Snapshot = rows.insert(session, Snapshot, fields)
    backends.count_snapshot(
        session, _host_of_volume(session, snapshot.volume_id), snapshot.volume_size
    )
    kind = _type_of_volume(session, snapshot.volume_id)
    deltas = quota_usages.snapshot_deltas(snapshot.volume_size, kind)
    quota_usages.charge(session, snapshot.project_id, deltas)
    logs.note(snapshot_id=snapshot.id, volume_id=snapshot.volume_id)
    logs.status_change(LOG, "snapshot", snapshot.id, "new", snapshot.status)
    return snapshot


def find(session: Session, snapshot_id: str, *, project_id: str | None = None) -> Snapshot | None:
    """The snapshot, or None. With ``project_id``, only a snapshot of that project."""
    return rows.find_in_project(session, Snapshot, snapshot_id, project_id)


def get(session: Session, snapshot_id: str, *, project_id: str | None = None) -> Snapshot:
    """The snapshot; raises SnapshotNotFound (also for another project's snapshot)."""
    snapshot = find(session, snapshot_id, project_id=project_id)
    if snapshot is None:
        raise errors.SnapshotNotFound(snapshot_id=snapshot_id)
    return snapshot


def find_all(
    session: Session,
    *,
    project_id: str | None = None,
    volume_id: str | None = None,
    statuses: Collection[str] | None = None,
) -> Sequence[Snapshot]:
    """Snapshots matching every given filter, oldest first."""
    query = sa.select(Snapshot).order_by(Snapshot.created_at, Snapshot.id)
    if project_id is not None:
        query = query.where(Snapshot.project_id == project_id)
    if volume_id is not None:
        query = query.where(Snapshot.volume_id == volume_id)
    if statuses is not None:
        query = query.where(Snapshot.status.in_(list(statuses)))
    return session.scalars(query).all()


def find_on_host(session: Session, host: str, *, statuses: Collection[str]) -> Sequence[Snapshot]:
    """Snapshots in these statuses of the volumes placed on ``host``."""
    query = (
        sa.select(Snapshot)
        .join(models.Volume, models.Volume.id == Snapshot.volume_id)
        .where(models.Volume.host == host, Snapshot.status.in_(list(statuses)))
        .order_by(Snapshot.created_at)
    )
    return session.scalars(query).all()


SORT_KEYS = frozenset({"id", "name", "status", "created_at", "updated_at"})


def find_page(
    session: Session,
    sort: Sequence[rows.SortKey],
    *,
    project_id: str | None = None,
    filters: Mapping[str, Any] | None = None,
    metadata: Mapping[str, str] | None = None,
    limit: int | None = None,
    marker: str | None = None,
    offset: int = 0,
) -> Sequence[Snapshot]:
    """One page of snapshots whose columns equal ``filters`` (name, status, volume_id)
    and whose metadata holds ``metadata``; raises SnapshotNotFound for an unknown marker."""
    query = sa.select(Snapshot)
    if project_id is not None:
        query = query.where(Snapshot.project_id == project_id)
    for name, wanted in (filters or {}).items():
        query = query.where(getattr(Snapshot, name) == wanted)
    for key, value in (metadata or {}).items():
        query = query.where(Snapshot.snapshot_metadata[key].as_string() == value)
    try:
        return rows.page(session, query, Snapshot, sort, limit=limit, marker=marker, offset=offset)
    except LookupError:
        raise errors.SnapshotNotFound(snapshot_id=marker) from None


def count_for_volume(session: Session, volume_id: str) -> int:
    """How many snapshots a volume has, whatever their status."""
    query = sa.select(sa.func.count()).select_from(Snapshot).where(Snapshot.volume_id == volume_id)
    return int(session.scalar(query) or 0)


def update(session: Session, snapshot_id: str, **fields: Any) -> None:
    """Change fields of a snapshot; raises SnapshotNotFound when the row is gone."""
    if not rows.update_by_id(session, Snapshot, snapshot_id, fields):
        raise errors.SnapshotNotFound(snapshot_id=snapshot_id)


def set_status(
    session: Session,
    snapshot_id: str,
    status: str,
    *,
    expected: Collection[str] | None = None,
    **fields: Any,
) -> bool:
    """Compare-and-set the status; False (nothing changed) when gone or not ``expected``."""
    changed = rows.compare_and_set_status(session, Snapshot, snapshot_id, status, expected, fields)
    if changed:
        logs.status_change(LOG, "snapshot", snapshot_id, expected or "*", status)
    return changed


def delete(session: Session, snapshot_id: str) -> None:
    """Remove the row (a no-op when it is already gone) and give back its quota usage and
    its count on the backend."""
    removed = session.execute(
        sa.delete(Snapshot)
        .where(Snapshot.id == snapshot_id)
        .returning(Snapshot.project_id, Snapshot.volume_size, Snapshot.volume_id)
        .execution_options(synchronize_session=False)
    ).first()
    if removed is not None:  # what the DELETE removed, so two deletes never refund twice
        project_id, size, volume_id = removed
        quota_usages.release(session, snapshot_id)
        deltas = quota_usages.snapshot_deltas(size, _type_of_volume(session, volume_id))
        quota_usages.refund(session, project_id, deltas)
        backends.count_snapshot(session, _host_of_volume(session, volume_id), -size)
    rows.delete(session, Snapshot, snapshot_id)  # already gone: only tells the subscribers
    logs.status_change(LOG, "snapshot", snapshot_id, "*", "deleted")


def _host_of_volume(session: Session, volume_id: str) -> str | None:
    return session.scalar(sa.select(models.Volume.host).where(models.Volume.id == volume_id))


def _type_of_volume(session: Session, volume_id: str) -> str | None:
    type_id = session.scalar(
        sa.select(models.Volume.volume_type_id).where(models.Volume.id == volume_id)
    )
    return quota_usages.type_name(session, type_id)
