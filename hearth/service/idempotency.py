"""Idempotent creates: a retry with the same ``Idempotency-Key`` gets the first result.

Used by ``Hearth.create_volume`` (for the API and library callers alike) around the
transaction that inserts the volume: the key is looked up first (same key and same
request: the earlier volume; same key, another request: ``IdempotencyKeyReused``) and
recorded with the new row, so the key and the volume commit together. Two racing twins
cannot both commit: the key is unique per project, and the loser's commit fails as a
``Conflict``, after which the key is looked up again (:func:`create_once`).

A request is told apart by its fingerprint, a SHA-256 of its canonical JSON: the API
fingerprints the request body; a library caller's key is fingerprinted from the create's
fields (:func:`for_request`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from hearth import errors
from hearth.context import RequestContext
from hearth.db import idempotency_keys, models, volumes
from hearth.db.session import Database

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class Key:
    """A client's idempotency key with the fingerprint of the request it came with."""

    key: str
    fingerprint: str | None = None
    """A digest of the request (:func:`fingerprint`): a retry carries the same one. None:
    computed from the create's fields."""
    ttl_seconds: float | None = None
    """How long the key is remembered; None: ``[api] idempotency_ttl``."""


class _Made(Protocol):
    """A row just inserted: all ``create_once`` needs of it is its id."""

    @property
    def id(self) -> str: ...


def fingerprint(request: Mapping[str, Any]) -> str:
    """The SHA-256 of a request's canonical JSON (keys sorted), as hex."""
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def for_request(key: Key | None, fields: Mapping[str, Any], ttl_seconds: float) -> Key | None:
    """``key`` complete: fingerprinted from ``fields`` and given ``ttl_seconds`` where it
    carries neither."""
    if key is None:
        return None
    return dataclasses.replace(
        key,
        fingerprint=key.fingerprint or fingerprint(fields),
        ttl_seconds=ttl_seconds if key.ttl_seconds is None else key.ttl_seconds,
    )


def create_once(
    db: Database,
    context: RequestContext,
    key: Key | None,
    create: Callable[[Session], tuple[_Made, ResultT]],
) -> tuple[str, ResultT | None]:
    """Run ``create`` (it inserts a row and returns it with a result) in one transaction
    with the key's record: the new row's id and the result. When an earlier request with
    the key made a row: that row's id and None, and ``create`` does not run."""
    try:
        return _create_guarded(db, context, key, create)
    except errors.Conflict:
        if key is None:
            raise
        # a twin with the same key committed first: answer what it made
        return _create_guarded(db, context, key, create)


def replayed_volume(db: Database, context: RequestContext, volume_id: str) -> models.Volume:
    """What a repeated create gets: the volume the first one made, while it exists."""
    try:
        with db.read() as session:
            return volumes.get(
                session, volume_id, project_id=context.visible_project, with_type=True
            )
    except errors.VolumeNotFound:
        raise errors.Conflict(
            reason=f"The volume {volume_id} created with this Idempotency-Key has been "
            "deleted; use a new key to create another."
        ) from None


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
    assert key.fingerprint is not None and key.ttl_seconds is not None, "see for_request"
    now = models.utcnow()
    idempotency_keys.record(
        session,
        project_id=context.project_id,
        key=key.key,
        fingerprint=key.fingerprint,
        resource_id=resource_id,
        expires_at=now + timedelta(seconds=key.ttl_seconds),
    )


def _create_guarded(
    db: Database,
    context: RequestContext,
    key: Key | None,
    create: Callable[[Session], tuple[_Made, ResultT]],
) -> tuple[str, ResultT | None]:
    with db.transaction() as session:
        earlier = key and earlier_resource(session, context, key)
        if earlier:
            return earlier, None
        made, result = create(session)
        if key is not None:
            remember(session, context, key, made.id)
    return made.id, result
