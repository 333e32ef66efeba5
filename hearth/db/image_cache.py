"""Image-volume cache entries: which converted images each backend holds as hidden volumes.

``hearth.image.cache`` is the only user. Taking an entry for a clone and starting its
eviction are single compare-and-set UPDATEs, so a clone and an eviction cannot both win.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hearth.db import models, rows
from hearth.db.statuses import CacheEntryStatus

Entry = models.ImageCacheEntry


def create(session: Session, **fields: Any) -> Entry:
    """Insert an entry and return it (its id is filled in)."""
    return rows.insert(session, Entry, fields)


def find(session: Session, entry_id: str) -> Entry | None:
    """The entry, or None."""
    return session.get(Entry, entry_id)


def find_all(
    session: Session,
    *,
    host: str | None = None,
    image_id: str | None = None,
    statuses: Collection[str] | None = None,
) -> Sequence[Entry]:
    """Entries matching every given filter, least recently used first."""
    query = sa.select(Entry).order_by(Entry.last_used, Entry.id)
    if host is not None:
        query = query.where(Entry.host == host)
    if image_id is not None:
        query = query.where(Entry.image_id == image_id)
    if statuses is not None:
        query = query.where(Entry.status.in_(list(statuses)))
    return session.scalars(query).all()


def take(session: Session, entry_id: str) -> bool:
    """Count one more clone of a ready entry and mark it used now; False (nothing changed)
    when the entry is gone or not ready."""
    query = (
        sa.update(Entry)
        .where(Entry.id == entry_id, Entry.status == CacheEntryStatus.READY)
        .values(in_use=Entry.in_use + 1, last_used=models.utcnow())
    )
    return _changed(session, query)


def give_back(session: Session, entry_id: str) -> None:
    """Count one clone fewer (a no-op when the entry is gone)."""
    query = (
        sa.update(Entry)
        .where(Entry.id == entry_id, Entry.in_use > 0)
        .values(in_use=Entry.in_use - 1)
    )
    session.execute(query.execution_options(synchronize_session=False))


def begin_eviction(session: Session, entry_id: str) -> bool:
    """Move a ready entry that nobody clones to ``evicting``; False when it is in use,
    gone, or not ready."""
    query = (
        sa.update(Entry)
        .where(Entry.id == entry_id, Entry.status == CacheEntryStatus.READY, Entry.in_use == 0)
        .values(status=CacheEntryStatus.EVICTING, updated_at=models.utcnow())
    )
    return _changed(session, query)


def set_status(
    session: Session,
    entry_id: str,
    status: str,
    *,
    expected: Collection[str] | None = None,
    **fields: Any,
) -> bool:
    """Compare-and-set the status (and other fields); False when gone or not ``expected``."""
    return rows.compare_and_set_status(session, Entry, entry_id, status, expected, fields)


def release_all(session: Session, host: str) -> None:
    """Forget every clone count of a backend (its manager restarts: no clone runs)."""
    session.execute(
        sa.update(Entry)
        .where(Entry.host == host, Entry.in_use > 0)
        .values(in_use=0)
        .execution_options(synchronize_session=False)
    )


def delete(session: Session, entry_id: str) -> None:
    """Remove the entry (a no-op when it is already gone)."""
    rows.delete(session, Entry, entry_id)


def _changed(session: Session, query: Any) -> bool:
    result = session.execute(query.execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]
