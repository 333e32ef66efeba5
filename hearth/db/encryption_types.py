"""Encryption type rows: how the volumes of a volume type are to be encrypted (Cinder's
``/types/{id}/encryption``). Stored and shown; Hearth does not encrypt volumes yet."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hearth import errors
from hearth.db import models, rows

Encryption = models.EncryptionType


def find(session: Session, volume_type_id: str) -> Encryption | None:
    """The type's encryption, or None."""
    return session.get(Encryption, volume_type_id)


def create(session: Session, volume_type_id: str, **fields: Any) -> Encryption:
    """Give a type its encryption; raises Conflict when it has one already."""
    if find(session, volume_type_id) is not None:
        raise errors.Conflict(
            reason=f"Volume type {volume_type_id} already has an encryption type."
        )
    return rows.insert(session, Encryption, {"volume_type_id": volume_type_id, **fields})


def get(session: Session, volume_type_id: str, encryption_id: str) -> Encryption:
    """The type's encryption with that id; raises NotFound otherwise."""
    found = find(session, volume_type_id)
    if found is None or found.encryption_id != encryption_id:
        raise errors.NotFound(kind="Encryption type", resource_id=encryption_id)
    return found


def update(session: Session, volume_type_id: str, encryption_id: str, **fields: Any) -> None:
    """Change fields of a type's encryption."""
    row = get(session, volume_type_id, encryption_id)
    for name, value in fields.items():
        setattr(row, name, value)
    session.flush()


def delete(session: Session, volume_type_id: str, encryption_id: str | None = None) -> None:
    """Remove a type's encryption (with an id: only that one, else NotFound)."""
    row = find(session, volume_type_id) if encryption_id is None else None
    if encryption_id is not None:
        row = get(session, volume_type_id, encryption_id)
    if row is not None:
        session.delete(row)
        session.flush()
