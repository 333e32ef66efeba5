"""What an operator reads of the backends: ``scheduler-stats/get_pools[?detail]`` (each
backend is one pool, from its manager's last report), ``capabilities/{host}``,
``os-availability-zone`` (each volume zone and whether it is available) and ``extensions``
(what this API serves)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from hearth.api.calls import Call, call, query_flag
from hearth.api.views import shapes
from hearth.db import models

router = APIRouter(tags=["pools"])
GiB = 1 << 30
EXTENSIONS = (
    ("os-quota-sets", "Quotas", "Quota management support."),
    ("os-quota-class-sets", "Quota_classes", "Quota classes management support."),
    ("os-used-limits", "UsedLimits", "Provide data on limited resources that are being used."),
    ("os-services", "Services", "Services support."),
    ("os-hosts", "Hosts", "Admin-only host administration."),
    ("scheduler-stats", "Scheduler_stats", "Scheduler stats support."),
    ("capabilities", "Capabilities", "Capabilities support."),
    ("os-availability-zone", "AvailabilityZones", "Describe Availability Zones."),
    ("qos-specs", "Qos_specs_manage", "QoS specs support."),
    ("os-vol-host-attr", "VolumeHostAttribute", "Expose host as an attribute of a volume."),
    ("os-vol-tenant-attr", "VolumeTenantAttribute", "Expose the project of a volume."),
    ("os-vol-image-meta", "VolumeImageMetadata", "Show image metadata of volumes."),
    ("os-types-manage", "TypesManage", "Types manage support."),
    ("os-types-extra-specs", "TypesExtraSpecs", "Type extra specs support."),
    ("os-volume-type-access", "VolumeTypeAccess", "Volume type access support."),
    ("encryption", "VolumeTypeEncryption", "Encryption support for volume types."),
    ("os-extended-snapshot-attributes", "ExtendedSnapshotAttributes", "Snapshot progress."),
    ("backups", "Backups", "Backups support."),
    ("os-volume-transfer", "VolumeTransfer", "Volume transfer management support."),
)


@router.get("/scheduler-stats/get_pools")
def get_pools(request: Request, call: Call = Depends(call)) -> dict[str, Any]:
    """Every backend as a pool; with ``detail`` its capacity and capabilities (admins)."""
    detail = query_flag(request.query_params.get("detail"))
    rows = call.hearth.list_pools(context=call.context)
    pools = []
    for row in rows:
        pool: dict[str, Any] = {"name": row.name}
        if detail:
            pool["capabilities"] = _capabilities(row)
        pools.append(pool)
    return {"pools": pools}


@router.get("/capabilities/{host}")
def show_capabilities(host: str, call: Call = Depends(call)) -> dict[str, Any]:
    """What a backend reports it can do (admins)."""
    row = call.hearth.backend_report(host, context=call.context)
    properties = {
        name: {"title": name, "description": f"{name} of backend {row.name}", "type": _kind(value)}
        for name, value in sorted(row.capabilities.items())
    }
    return {
        "namespace": f"OS::Storage::Capabilities::{row.name}",
        "vendor_name": "Hearth",
        "volume_backend_name": row.name,
        "pool_name": row.name,
        "driver_version": "1.0",
        "storage_protocol": "file",
        "display_name": row.name,
        "description": f"Hearth {row.driver} backend {row.name}",
        "visibility": "public",
        "replication_targets": [],
        "properties": properties,
    }


@router.get("/os-availability-zone")
def list_zones(call: Call = Depends(call)) -> dict[str, Any]:
    """The zones of the volume services; available while an enabled one there is up."""
    zones = call.hearth.availability_zones()
    return {
        "availabilityZoneInfo": [
            {"zoneName": name, "zoneState": {"available": available}} for name, available in zones
        ]
    }


@router.get("/extensions")
def list_extensions(call: Call = Depends(call)) -> dict[str, Any]:
    """The Cinder extensions whose routes this API serves."""
    return {
        "extensions": [
            {
                "alias": alias,
                "name": name,
                "description": description,
                "updated": "2026-12-01T00:00:00+00:00",
                "links": [],
            }
            for alias, name, description in EXTENSIONS
        ]
    }


def _capabilities(row: models.Backend) -> dict[str, Any]:
    reported = dict(row.capabilities)
    thin = bool(reported.get("thin_provisioning", False))
    return {
        **reported,
        "pool_name": row.name,
        "volume_backend_name": row.name,
        "vendor_name": "Hearth",
        "driver_version": "1.0",
        "storage_protocol": "file",
        "total_capacity_gb": round(row.total_bytes / GiB, 2),
        "free_capacity_gb": round(row.free_bytes / GiB, 2),
        "allocated_capacity_gb": row.allocated_capacity_gb,
        "provisioned_capacity_gb": round(row.provisioned_bytes / GiB, 2),
        "max_over_subscription_ratio": reported.get("max_over_subscription_ratio", 1.0),
        "reserved_percentage": reported.get("reserved_percentage", 0),
        "thin_provisioning_support": thin,
        "thick_provisioning_support": not thin,
        "QoS_support": False,
        "multiattach": False,
        "timestamp": shapes.timestamp(row.reported_at),
    }


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"
