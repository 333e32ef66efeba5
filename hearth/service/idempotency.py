"""Idempotent creates: a retry with the same ``Idempotency-Key`` gets the first result.

Used by ``Hearth.create_volume`` inside the transaction that inserts the volume: the key is
looked up first (same key and same request: the earlier volume; same key, another request:
``IdempotencyKeyReused``) and recorded with the new row, so the key and the volume commit
together. Two racing twins cannot both commit: the key is unique per project, and the
loser's commit fails as a ``Conflict``, after which the facade looks the key up again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from hearth import errors
from hearth.context import RequestContext
from hearth.db import idempotency_keys, models


@dataclass(frozen=True)
class Key:
    """A client's idempotency key with the fingerprint of the request it came with."""

    key: str
    fingerprint: str
    """A digest of the request (its body): a retry carries the same one."""
    ttl_seconds: float = 86400.0


def earlier_resource(session: Session, context: RequestContext, key: Key) -> str | None:
    """The id of the resource an earlier request with this key made, or None."""
    row = idempotency_keys.find_live(session, context.project_id, key.key, models.utcnow())
    if row is None:
        return None
    if row.fingerprint != key.fingerprint:
        raise errors.IdempotencyKeyReused(key=key.key)
    return row.resource_id


def remember(session: Session, context: RequestContext, key: Key, resource_id: str) -> None:
    """Record that this key made ``resource_id`` (in the transaction that made it)."""
    now = models.utcnow()
    idempotency_keys.record(
        session,
        project_id=context.project_id,
        key=key.key,
        fingerprint=key.fingerprint,
        resource_id=resource_id,
        expires_at=now + timedelta(seconds=key.ttl_seconds),
    )
