"""Volume transfer rows, and the one change that moves a volume to another project.

:func:`move_volume` gives the volume and its snapshots to the new project and moves their
quota usage with them, in the caller's transaction: the giver is refunded exactly what the
rows count and the taker charged (the caller then enforces the taker's limits, so a taker
without room rolls the whole accept back).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hearth import errors
from hearth.db import models, quota_usages

Transfer = models.VolumeTransfer


def create(session: Session, **fields: object) -> Transfer:
    """Insert a transfer row (one per volume: a second is a Conflict)."""
    row = Transfer(**fields)
    session.add(row)
    session.flush()
    return row


def get(session: Session, transfer_id: str, *, project_id: str | None = None) -> Transfer:
    """The transfer (of ``project_id`` when given); raises NotFound."""
    row = session.get(Transfer, transfer_id)
    if row is None or (project_id is not None and row.project_id != project_id):
        raise errors.NotFound(kind="Transfer", resource_id=transfer_id)
    return row


def find_all(session: Session, *, project_id: str | None = None) -> Sequence[Transfer]:
    """Transfers, oldest first (of one project when given)."""
    query = sa.select(Transfer).order_by(Transfer.created_at, Transfer.id)
    if project_id is not None:
        query = query.where(Transfer.project_id == project_id)
    return session.scalars(query).all()


def delete(session: Session, transfer_id: str) -> None:
    """Remove the transfer row."""
    session.execute(sa.delete(Transfer).where(Transfer.id == transfer_id))


def move_volume(
    session: Session, volume: models.Volume, project_id: str, user_id: str
) -> dict[str, int]:
    """Give the volume and its snapshots to ``project_id`` with their quota usage;
    returns what the taker was charged."""
    kind = quota_usages.type_name(session, volume.volume_type_id)
    moved = dict(quota_usages.volume_deltas(volume.size, kind))
    snaps = session.scalars(
        sa.select(models.Snapshot).where(models.Snapshot.volume_id == volume.id)
    ).all()
    for snapshot in snaps:
        for name, delta in quota_usages.snapshot_deltas(snapshot.volume_size, kind).items():
            moved[name] = moved.get(name, 0) + delta
    quota_usages.refund(session, volume.project_id, moved)
    quota_usages.charge(session, project_id, moved)
    session.execute(
        sa.update(models.Snapshot)
        .where(models.Snapshot.volume_id == volume.id)
        .values(project_id=project_id, user_id=user_id, updated_at=models.utcnow())
        .execution_options(synchronize_session=False)
    )
    return moved
