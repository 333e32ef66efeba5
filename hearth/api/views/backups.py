"""Backup documents, per microversion (as the Block Storage v3 reference and Tempest's
``backups`` response schema have them).

Hearth's one addition, ``hearth:progress`` (the phase, percent and bytes of a backup or
restore under way), appears only when the request asks for it (``?progress=true``):
Tempest's schema refuses any key it does not list.
"""

from __future__ import annotations

from typing import Any

from hearth.api import versions
from hearth.api.calls import Call
from hearth.api.views import shapes
from hearth.db import models

PROGRESS = "hearth:progress"


def summary(call: Call, backup: models.Backup) -> dict[str, Any]:
    """A backup in a plain list, and as create and import answer: id, links, name."""
    return {
        "id": backup.id,
        "links": shapes.links(call, "backups", backup.id),
        "name": backup.name,
    }


def created(call: Call, backup: models.Backup) -> dict[str, Any]:
    """What POST /backups answers (metadata since 3.43)."""
    body = summary(call, backup)
    if call.at_least(versions.BACKUP_METADATA):
        body["metadata"] = dict(backup.backup_metadata or {})
    return body


def detail(
    call: Call, backup: models.Backup, *, dependents: int, progress: bool = False
) -> dict[str, Any]:
    """A backup with every detail (show, and the detailed list)."""
    body: dict[str, Any] = {
        **summary(call, backup),
        "status": backup.status,
        "object_count": backup.object_count,
        "container": backup.container,
        "description": backup.description,
        "availability_zone": backup.availability_zone,
        "created_at": shapes.timestamp(backup.created_at),
        "updated_at": shapes.timestamp(backup.updated_at),
        "has_dependent_backups": dependents > 0,
        "volume_id": backup.volume_id,
        "fail_reason": backup.fail_reason,
        "size": backup.size,
        "is_incremental": backup.parent_id is not None,
        "data_timestamp": shapes.timestamp(backup.data_timestamp),
        "snapshot_id": backup.snapshot_id,
    }
    if call.at_least(versions.BACKUP_PROJECT_ATTRIBUTE):
        body["os-backup-project-attr:project_id"] = backup.project_id
    if call.at_least(versions.BACKUP_METADATA):
        body["metadata"] = dict(backup.backup_metadata or {})
    if call.at_least(versions.BACKUP_USER_ID):
        body["user_id"] = backup.user_id
    if progress:
        body[PROGRESS] = progress_of(backup)
    return body


def progress_of(backup: models.Backup) -> dict[str, Any] | None:
    """``{"phase", "percent", "done_bytes", "total_bytes"}`` while data moves, else None."""
    if not backup.progress:
        return None
    done, total = int(backup.progress.get("done", 0)), int(backup.progress.get("total", 0))
    return {
        "phase": backup.progress.get("phase"),
        "percent": 100 * done // total if total else 0,
        "done_bytes": done,
        "total_bytes": total,
    }
