"""User message documents (microversion 3.3 and later)."""

from __future__ import annotations

from typing import Any

from hearth.api.calls import Call
from hearth.api.views import shapes
from hearth.db import models


def detail(call: Call, message: models.UserMessage) -> dict[str, Any]:
    """A user message; ``event_id`` names the action and the failure, as Cinder's do."""
    event = f"VOLUME_{message.resource_type}_{message.action}_{message.detail_code}"
    return {
        "id": message.id,
        "event_id": event.upper().replace(" ", "_"),
        "user_message": message.message,
        "message_level": message.level,
        "resource_type": message.resource_type.upper(),
        "resource_uuid": message.resource_uuid,
        "created_at": shapes.timestamp(message.created_at),
        "guaranteed_until": shapes.timestamp(message.expires_at),
        "request_id": message.request_id,
        "links": shapes.links(call, "messages", message.id),
    }
