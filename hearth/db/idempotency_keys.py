"""Idempotency-key rows: which resource a create with a given key made, per project.

The API's create path (through ``hearth.service.requests``) looks a key up and records it
in the transaction that inserts the resource, so a retry can never make a second one.
An expired key is removed when it is looked up, and every expired one by the periodic
purge (``hearth.service.housekeeping``).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hearth.db import models

IdempotencyKey = models.IdempotencyKey


def find_live(session: Session, project_id: str, key: str, now: datetime) -> IdempotencyKey | None:
    """The unexpired row of ``key`` in the project, or None; an expired one is removed."""
    row = session.scalars(
        sa.select(IdempotencyKey).where(
            IdempotencyKey.project_id == project_id, IdempotencyKey.key == key
        )
    ).one_or_none()
    if row is not None and row.expires_at <= now:
        # a plain DELETE, not session.delete: the housekeeping purge may have removed the
        # row since it was read, and the key may be recorded again in this transaction
        session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.id == row.id))
        return None
    return row


def record(
    session: Session,
    *,
    project_id: str,
    key: str,
    fingerprint: str,
    resource_id: str,
    expires_at: datetime,
) -> None:
    """Remember which resource the key made (a concurrent twin fails the commit)."""
    session.add(
        IdempotencyKey(
            project_id=project_id,
            key=key,
            fingerprint=fingerprint,
            resource_id=resource_id,
            expires_at=expires_at,
        )
    )
    session.flush()


def purge_expired(session: Session, now: datetime) -> int:
    """Remove every key expired by ``now``; returns how many. Safe to run in several
    processes at once: each row is deleted once, a live key never."""
    result = session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
    return int(result.rowcount)  # type: ignore[attr-defined]
