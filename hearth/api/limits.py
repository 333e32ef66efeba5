"""The limits route: the project's absolute limits (its quotas) and usage; no rate limits."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from hearth.api.calls import Call, call

router = APIRouter(tags=["limits"])
ABSOLUTE = (
    ("maxTotalVolumes", "totalVolumesUsed", "volumes"),
    ("maxTotalSnapshots", "totalSnapshotsUsed", "snapshots"),
    ("maxTotalVolumeGigabytes", "totalGigabytesUsed", "gigabytes"),
    ("maxTotalBackups", "totalBackupsUsed", "backups"),
    ("maxTotalBackupGigabytes", "totalBackupGigabytesUsed", "backup_gigabytes"),
)
"""(limit key, usage key, quota resource), as Cinder's used-limits name them."""


@router.get("/limits")
def show_limits(call: Call = Depends(call)) -> dict[str, Any]:
    """Absolute limits and what the project uses of them (in use plus reserved)."""
    limits, usage = call.hearth.absolute_limits(context=call.context)
    absolute: dict[str, int] = {}
    for limit_key, used_key, resource in ABSOLUTE:
        in_use, reserved = usage.get(resource, (0, 0))
        absolute[limit_key] = limits.get(resource, -1)
        absolute[used_key] = in_use + reserved
    return {"limits": {"rate": [], "absolute": absolute}}
