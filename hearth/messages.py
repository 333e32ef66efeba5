"""User messages: each failure a user caused, explained in words they can act on.

Written in the same transaction as the status change that reports the failure. The text
comes from the error's template (never a traceback, never a host path).
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from hearth import errors
from hearth.context import RequestContext
from hearth.db import models, user_messages

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

MESSAGE_TTL = timedelta(days=30)


class Action(StrEnum):
    """What the user was doing when it failed."""

    CREATE_VOLUME = "create volume"
    DELETE_VOLUME = "delete volume"
    EXTEND_VOLUME = "extend volume"
    CREATE_SNAPSHOT = "create snapshot"
    DELETE_SNAPSHOT = "delete snapshot"
    ATTACH_VOLUME = "attach volume"
    DETACH_VOLUME = "detach volume"
    AUDIT = "keep the data"
    CREATE_BACKUP = "create backup"
    DELETE_BACKUP = "delete backup"
    RESTORE_BACKUP = "restore backup"
    REVERT_VOLUME = "revert volume to snapshot"
    UPLOAD_IMAGE = "upload volume to image"
    MIGRATE_VOLUME = "migrate volume"
    REIMAGE_VOLUME = "reimage volume"


def text_of(action: Action, error: BaseException, request_id: str | None) -> str:
    """The sentence a user reads for this failure."""
    text = f"Failed to {action}: {errors.user_message_of(error)}"
    if not isinstance(error, errors.HearthError) and request_id:
        text += f" (request {request_id})"
    return text


def record_failure(
    session: Session,
    context: RequestContext,
    *,
    action: Action,
    resource_type: str,
    resource_id: str | None,
    error: BaseException,
) -> models.UserMessage:
    """Add a user message for a failure, in the caller's transaction."""
    now = models.utcnow()
    return user_messages.create(
        session,
        project_id=context.project_id,
        request_id=context.request_id,
        resource_type=resource_type,
        resource_uuid=resource_id,
        action=str(action),
        detail_code=errors.code_of(error),
        message=text_of(action, error, context.request_id),
        level="ERROR",
        created_at=now,
        expires_at=now + MESSAGE_TTL,
    )
