"""The limits route: the project's usage against its limits (Hearth sets none: -1)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from hearth.api.calls import Call, call

router = APIRouter(tags=["limits"])
UNLIMITED = -1


@router.get("/limits")
def show_limits(call: Call = Depends(call)) -> dict[str, Any]:
    """Absolute limits and usage; no rate limits."""
    usage = call.hearth.usage(context=call.context)
    absolute = {
        "maxTotalVolumes": UNLIMITED,
        "maxTotalSnapshots": UNLIMITED,
        "maxTotalVolumeGigabytes": UNLIMITED,
        "maxTotalBackups": UNLIMITED,
        "maxTotalBackupGigabytes": UNLIMITED,
        "totalVolumesUsed": usage.volumes,
        "totalGigabytesUsed": usage.gigabytes,
        "totalSnapshotsUsed": usage.snapshots,
        "totalBackupsUsed": 0,
        "totalBackupGigabytesUsed": 0,
    }
    return {"limits": {"rate": [], "absolute": absolute}}
