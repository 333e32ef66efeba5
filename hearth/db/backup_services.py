"""Backup service rows: each backup service's heartbeat, read by the request layer before it
sends a backup or a restore (a backup service must be up in the zone asked for)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hearth.db import models

BackupService = models.BackupService


def report(session: Session, name: str, *, availability_zone: str, repository: str) -> None:
    """Insert or refresh a backup service's row (its heartbeat, now)."""
    row = session.get(BackupService, name)
    if row is None:
        row = BackupService(name=name)
        session.add(row)
    row.availability_zone = availability_zone
    row.repository = repository
    row.reported_at = models.utcnow()
    session.flush()


def find_all(session: Session) -> Sequence[BackupService]:
    """Every backup service that ever reported, by name."""
    return session.scalars(sa.select(BackupService).order_by(BackupService.name)).all()


def find_alive(
    session: Session, down_after: float, *, availability_zone: str | None = None
) -> Sequence[BackupService]:
    """The backup services that reported within ``down_after`` seconds (in that zone)."""
    since = models.utcnow() - timedelta(seconds=down_after)
    query = sa.select(BackupService).where(BackupService.reported_at >= since)
    if availability_zone is not None:
        query = query.where(BackupService.availability_zone == availability_zone)
    return session.scalars(query.order_by(BackupService.name)).all()
