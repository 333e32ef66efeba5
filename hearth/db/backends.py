"""Backend rows: capacity and capabilities as each manager last reported, and the claims.

A claim reserves a volume's size on a backend in one conditional UPDATE, so concurrent
schedulers can never promise more than ``capacity_limit_gb``. Every volume row whose
``host`` is set holds a claim of its size on that backend; whoever sets or clears ``host``
claims or releases in the same transaction. Snapshots are counted the same way in
``snapshot_capacity_gb`` (without a limit): the transaction that inserts a snapshot row
counts its ``volume_size`` on its volume's backend, the one that deletes the row uncounts
it. Capacity reports read both counters instead of adding up rows (``provisioned``), and
the audit and the reconciliation (:func:`recount`) check them against the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hearth import errors
from hearth.db import models

Backend = models.Backend


def report(session: Session, name: str, **fields: Any) -> Backend:
    """Insert or refresh a backend's row with a new report (and its time)."""
    backend = session.get(Backend, name)
    if backend is None:
        backend = Backend(name=name, allocated_capacity_gb=0)
        session.add(backend)
    for key, value in fields.items():
        setattr(backend, key, value)
    backend.reported_at = models.utcnow()
    session.flush()
    return backend


def get(session: Session, name: str) -> Backend:
    """The backend's row; raises BackendNotFound."""
    backend = session.get(Backend, name)
    if backend is None:
        raise errors.BackendNotFound(backend=name)
    return backend


def find_all(session: Session) -> Sequence[Backend]:
    """Every backend that ever reported, by name."""
    return session.scalars(sa.select(Backend).order_by(Backend.name)).all()


def claim(session: Session, name: str, size_gb: int) -> bool:
    """Reserve ``size_gb`` on the backend if it fits under its limit; False if not."""
    result = session.execute(
        sa.update(Backend)
        .where(
            Backend.name == name,
            Backend.allocated_capacity_gb + size_gb <= Backend.capacity_limit_gb,
        )
        .values(allocated_capacity_gb=Backend.allocated_capacity_gb + size_gb)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release(session: Session, name: str, size_gb: int) -> None:
    """Give back a claim (a no-op for a backend that never reported)."""
    session.execute(
        sa.update(Backend)
        .where(Backend.name == name)
        .values(allocated_capacity_gb=Backend.allocated_capacity_gb - size_gb)
        .execution_options(synchronize_session=False)
    )


def count_snapshot(session: Session, name: str | None, size_gb: int) -> None:
    """Count a new snapshot row's ``size_gb`` on its volume's backend (negative: a deleted
    one); a no-op for a volume on no backend, or a backend that never reported."""
    if name is None:
        return
    session.execute(
        sa.update(Backend)
        .where(Backend.name == name)
        .values(snapshot_capacity_gb=Backend.snapshot_capacity_gb + size_gb)
        .execution_options(synchronize_session=False)
    )


def recount(session: Session, name: str) -> tuple[int, int]:
    """Set the backend's claims (and its snapshot count) to what its rows hold; returns the
    claims (before, after).

    The backend's row is locked first, so a claim committed meanwhile is counted (or
    waits): the recount never loses one.
    """
    backend = session.scalars(
        sa.select(Backend).where(Backend.name == name).with_for_update()
    ).one_or_none()
    if backend is None:
        return (0, 0)
    before = backend.allocated_capacity_gb
    after = recount_allocated(session, name)
    backend.allocated_capacity_gb = after
    backend.snapshot_capacity_gb = recount_snapshots(session, name)
    session.flush()
    return (before, after)


def recount_snapshots(session: Session, name: str) -> int:
    """What ``snapshot_capacity_gb`` should be: the sizes of the snapshots of the volumes
    placed on the backend."""
    total = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(models.Snapshot.volume_size), 0))
        .join(models.Volume, models.Volume.id == models.Snapshot.volume_id)
        .where(models.Volume.host == name)
    )
    return int(total or 0)


def recount_allocated(session: Session, name: str) -> int:
    """The claims the backend should hold: the sizes of the volumes placed on it, and of
    those migrating to it (their size is claimed there until they switch over)."""
    volume = models.Volume
    arriving = sa.and_(volume.migration_host == name, volume.migration_status == "migrating")
    total = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(volume.size), 0)).where(
            sa.or_(volume.host == name, arriving)
        )
    )
    return int(total or 0)
