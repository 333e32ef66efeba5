"""Snapshot documents, per microversion."""

from __future__ import annotations

from typing import Any

from hearth.api import versions
from hearth.api.calls import Call
from hearth.api.views import shapes
from hearth.db import models, statuses


def detail(call: Call, snapshot: models.Snapshot, *, extended: bool = True) -> dict[str, Any]:
    """A snapshot (``extended``: with the attributes Cinder adds to show and detail)."""
    body: dict[str, Any] = {
        "id": snapshot.id,
        "name": snapshot.name,
        "description": snapshot.description,
        "volume_id": snapshot.volume_id,
        "status": snapshot.status,
        "size": snapshot.volume_size,
        "metadata": dict(snapshot.snapshot_metadata),
        "created_at": shapes.timestamp(snapshot.created_at),
        "updated_at": shapes.timestamp(snapshot.updated_at),
    }
    if extended:
        done = snapshot.status == statuses.SnapshotStatus.AVAILABLE
        progress = snapshot.progress or ("100%" if done else "0%")
        body["os-extended-snapshot-attributes:progress"] = progress
        body["os-extended-snapshot-attributes:project_id"] = snapshot.project_id
    if call.at_least(versions.GROUP_SNAPSHOTS):
        body["group_snapshot_id"] = None
    return body
