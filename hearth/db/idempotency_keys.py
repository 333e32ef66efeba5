"""Idempotency-key rows: which resource a create with a given key made, per project.

The API's create path (through ``hearth.service.requests``) looks a key up and records it
in the transaction that inserts the resource, so a retry can never make a second one.
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
        session.delete(row)
        session.flush()  # the key may be recorded again in this transaction
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
    """Remove every expired key; returns how many."""
    result = session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
    return int(result.rowcount)  # type: ignore[attr-defined]
