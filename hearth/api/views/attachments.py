"""Attachment documents (3.27+): summary (id, status, instance, volume) and detail, and the
entries of a volume's ``attachments`` list."""

from __future__ import annotations

from typing import Any

from hearth.api.views import shapes
from hearth.db import models


def summary(attachment: models.Attachment) -> dict[str, Any]:
    """The list view of an attachment (``status`` is Cinder's attach status)."""
    return {
        "id": attachment.id,
        "status": attachment.status,
        "instance": attachment.instance_uuid,
        "volume_id": attachment.volume_id,
    }


def detail(attachment: models.Attachment) -> dict[str, Any]:
    """Show, create, update and the detail list: with the connection_info."""
    return {
        **summary(attachment),
        "attached_at": shapes.timestamp(attachment.attached_at),
        "detached_at": None,
        "attach_mode": attachment.attach_mode,
        "connection_info": attachment.connection_info,
    }


def of_volume(attachment: models.Attachment) -> dict[str, Any]:
    """An entry of a volume document's ``attachments`` (attached ones only, as Cinder)."""
    return {
        "id": attachment.volume_id,
        "attachment_id": attachment.id,
        "volume_id": attachment.volume_id,
        "server_id": attachment.instance_uuid,
        "host_name": attachment.attached_host,
        "device": attachment.mountpoint,
        "attached_at": shapes.timestamp(attachment.attached_at),
    }
