"""The notification outbox: rows written with the change they report, relayed later."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hearth.db import models, rows
from hearth.db import session as db_session

OutboxEntry = models.OutboxEntry
TOPIC = "outbox"
"""The after-commit topic of transactions that added an entry (Database.subscribe)."""


def add(
    session: Session, *, event_type: str, priority: str, publisher_id: str, payload: dict[str, Any]
) -> OutboxEntry:
    """Queue a notification in the caller's transaction (subscribers of TOPIC get the
    entry after the commit)."""
    entry = rows.insert(
        session,
        OutboxEntry,
        {
            "event_type": event_type,
            "priority": priority,
            "publisher_id": publisher_id,
            "payload": payload,
        },
    )
    db_session.touch(session, TOPIC, entry)
    return entry


def pending(
    session: Session, *, limit: int, after: int = 0, skip: Collection[int] = ()
) -> Sequence[OutboxEntry]:
    """Entries not yet marked sent, in the order they were written, from ``seq > after``
    and leaving out the ``skip`` ones."""
    query = (
        sa.select(OutboxEntry)
        .where(OutboxEntry.sent_at.is_(None), OutboxEntry.seq > after)
        .order_by(OutboxEntry.seq)
        .limit(limit)
    )
    if skip:
        query = query.where(OutboxEntry.seq.not_in(list(skip)))
    return session.scalars(query).all()


def mark_sent(session: Session, seqs: Collection[int]) -> None:
    """Record delivery of these entries."""
    if seqs:
        session.execute(
            sa.update(OutboxEntry)
            .where(OutboxEntry.seq.in_(list(seqs)))
            .values(sent_at=models.utcnow(), attempts=OutboxEntry.attempts + 1)
        )


def record_failed_attempt(session: Session, seq: int) -> None:
    """Count a delivery attempt that failed."""
    session.execute(
        sa.update(OutboxEntry)
        .where(OutboxEntry.seq == seq)
        .values(attempts=OutboxEntry.attempts + 1)
    )


def purge_sent(session: Session, *, before: datetime) -> int:
    """Delete entries delivered before ``before``; returns how many."""
    result = session.execute(
        sa.delete(OutboxEntry).where(OutboxEntry.sent_at.is_not(None), OutboxEntry.sent_at < before)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
