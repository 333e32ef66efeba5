"""Counts over the rows, for the health checks and ``hearth status``: one query each.

Read-only and cheap (each is one aggregate over an indexed column; ``min`` keeps the
column's type, so times come back aware, in UTC): the database answers
(``ping``), the notifications the outbox still holds (``outbox_backlog``), and the creates
not yet ended, by where they are (``creates_in_flight``; one row each for the metrics'
phases: ``create_positions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hearth.db import models, statuses


@dataclass(frozen=True)
class Backlog:
    """Undelivered outbox entries: how many, and when the oldest was written."""

    count: int
    oldest: datetime | None


@dataclass(frozen=True)
class CreatesAt:
    """Creates in one status and journal step (``create_step`` None: not yet placed)."""

    status: str
    create_step: str | None
    count: int
    oldest: datetime


def ping(session: Session) -> None:
    """``SELECT 1``: raises (through the session's handler) when the database is away."""
    session.execute(sa.text("SELECT 1"))


def outbox_backlog(session: Session) -> Backlog:
    """Entries not yet marked sent."""
    entry = models.OutboxEntry
    count, oldest = session.execute(
        sa.select(sa.func.count(), sa.func.min(entry.created_at)).where(entry.sent_at.is_(None))
    ).one()
    return Backlog(int(count or 0), oldest)


def creates_in_flight(session: Session) -> list[CreatesAt]:
    """Volumes whose create has not ended, grouped by status and ``create_step``."""
    volume = models.Volume
    query = (
        sa.select(
            volume.status, volume.create_step, sa.func.count(), sa.func.min(volume.created_at)
        )
        .where(volume.status.in_(list(statuses.CREATE_IN_PROGRESS)))
        .group_by(volume.status, volume.create_step)
        .order_by(volume.status, volume.create_step)
    )
    return [
        CreatesAt(status, step, int(count), oldest)
        for status, step, count, oldest in session.execute(query)
    ]


def create_positions(session: Session) -> list[tuple[str | None, str | None, str, Any]]:
    """(host, create_step, status, progress) of every create not yet ended."""
    volume = models.Volume
    query = sa.select(volume.host, volume.create_step, volume.status, volume.progress).where(
        volume.status.in_(list(statuses.CREATE_IN_PROGRESS))
    )
    return [
        (host, step, status, progress) for host, step, status, progress in session.execute(query)
    ]
