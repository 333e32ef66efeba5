"""Volume transfers (``os-volume-transfer``): offer an available volume to another project,
which accepts it with the transfer's id and its key.

Create moves the volume to ``awaiting-transfer`` (nothing else may change it meanwhile) and
returns the key once: only a salted SHA-256 of it is stored. Accept checks the key, then in
one transaction gives the volume and its snapshots to the taker, moves their quota usage
(``transfers.move_volume``), enforces the taker's limits (QuotaExceeded rolls it all back),
makes the volume ``available`` and removes the transfer. Delete withdraws the offer.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hearth import config, errors
from hearth.context import RequestContext
from hearth.db import models, statuses, transfers, volumes
from hearth.service import fields, quotas

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

KEY_LENGTH = 16


def create(
    session: Session, context: RequestContext, volume_id: Any, name: Any = None
) -> tuple[models.VolumeTransfer, str]:
    """Offer a volume of the caller's project; returns the transfer and its key."""
    fields.reference("volume_id", volume_id, reason="a volume id is required")
    volume = volumes.get_for_update(session, volume_id, project_id=context.visible_project)
    if volume.status != statuses.VolumeStatus.AVAILABLE:
        raise errors.InvalidStatus(
            action="transfer", kind="volume", resource_id=volume_id, status=volume.status
        )
    key = secrets.token_hex(KEY_LENGTH // 2)
    salt = secrets.token_hex(8)
    row = transfers.create(
        session,
        volume_id=volume_id,
        project_id=volume.project_id,
        name=fields.optional_text("name", name),
        salt=salt,
        key_hash=_hash(salt, key),
    )
    volumes.set_status(session, volume_id, statuses.VolumeStatus.AWAITING_TRANSFER)
    return row, key


def accept(
    session: Session,
    context: RequestContext,
    transfer_id: str,
    auth_key: Any,
    quota_settings: config.QuotaSettings,
) -> models.VolumeTransfer:
    """Take the transfer's volume into the caller's project."""
    row = transfers.get(session, transfer_id)
    key = fields.text("auth_key", auth_key)
    if not hmac.compare_digest(row.key_hash, _hash(row.salt, key)):
        raise errors.InvalidInput(field="auth_key", reason=f"does not open transfer {row.id}")
    volume = volumes.get_for_update(session, row.volume_id)
    moved = transfers.move_volume(session, volume, context.project_id, context.user_id)
    quotas.enforce(session, quota_settings, context.project_id, moved)
    if not volumes.set_status(
        session,
        volume.id,
        statuses.VolumeStatus.AVAILABLE,
        expected=[statuses.VolumeStatus.AWAITING_TRANSFER],
        project_id=context.project_id,
        user_id=context.user_id,
    ):
        raise errors.InvalidStatus(
            action="accept", kind="volume", resource_id=volume.id, status=volume.status
        )
    transfers.delete(session, row.id)
    return row


def withdraw(session: Session, context: RequestContext, transfer_id: str) -> None:
    """Delete a transfer of the caller's project; its volume is available again."""
    row = transfers.get(session, transfer_id, project_id=context.visible_project)
    volumes.set_status(
        session,
        row.volume_id,
        statuses.VolumeStatus.AVAILABLE,
        expected=[statuses.VolumeStatus.AWAITING_TRANSFER],
    )
    transfers.delete(session, row.id)


def find(session: Session, context: RequestContext) -> Sequence[models.VolumeTransfer]:
    """The transfers of the caller's project (every project's for admins)."""
    return transfers.find_all(session, project_id=context.visible_project)


def _hash(salt: str, key: str) -> str:
    return hashlib.sha256((salt + key).encode()).hexdigest()
