"""User message rows: failures explained to the project that caused them.

Written by ``hearth.messages`` with the status change that reports the failure; read by the
API and the CLI; purged once past their expiry by ``hearth.service.housekeeping``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hearth import errors
from hearth.db import models, rows

UserMessage = models.UserMessage


def create(session: Session, **fields: Any) -> UserMessage:
    """Insert a message row."""
    return rows.insert(session, UserMessage, fields)


def get(session: Session, message_id: str, *, project_id: str | None = None) -> UserMessage:
    """The message; raises MessageNotFound (also for another project's message)."""
    message = rows.find_in_project(session, UserMessage, message_id, project_id)
    if message is None:
        raise errors.MessageNotFound(message_id=message_id)
    return message


def find_all(
    session: Session, *, project_id: str | None = None, resource_uuid: str | None = None
) -> Sequence[UserMessage]:
    """Messages matching every given filter, oldest first."""
    query = sa.select(UserMessage).order_by(UserMessage.created_at, UserMessage.id)
    if project_id is not None:
        query = query.where(UserMessage.project_id == project_id)
    if resource_uuid is not None:
        query = query.where(UserMessage.resource_uuid == resource_uuid)
    return session.scalars(query).all()


SORT_KEYS = frozenset({"id", "resource_type", "request_id", "created_at"})


def find_page(
    session: Session,
    sort: Sequence[rows.SortKey],
    *,
    project_id: str | None = None,
    filters: Mapping[str, Any] | None = None,
    limit: int | None = None,
    marker: str | None = None,
) -> Sequence[UserMessage]:
    """One page of messages whose columns equal ``filters``; raises MessageNotFound for an
    unknown marker."""
    query = sa.select(UserMessage)
    if project_id is not None:
        query = query.where(UserMessage.project_id == project_id)
    for name, wanted in (filters or {}).items():
        query = query.where(getattr(UserMessage, name) == wanted)
    try:
        return rows.page(session, query, UserMessage, sort, limit=limit, marker=marker)
    except LookupError:
        raise errors.MessageNotFound(message_id=marker) from None


def delete(session: Session, message_id: str) -> None:
    """Remove a message (a no-op when it is already gone)."""
    rows.delete(session, UserMessage, message_id)


def purge_expired(session: Session, now: datetime, *, undated_before: datetime) -> int:
    """Remove every message whose ``expires_at`` (the API's ``guaranteed_until``) has passed
    by ``now``, and those with none written before ``undated_before``; returns how many.
    Safe to run in several processes at once."""
    expired = sa.or_(
        UserMessage.expires_at <= now,
        sa.and_(UserMessage.expires_at.is_(None), UserMessage.created_at <= undated_before),
    )
    result = session.execute(sa.delete(UserMessage).where(expired))
    return int(result.rowcount)  # type: ignore[attr-defined]
