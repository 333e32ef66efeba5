"""``GET /os-availability-zone`` (the zones volumes may be created in: every backend's,
and the default) and ``GET /extensions`` (the Cinder API extensions whose behaviour Hearth
serves), for every caller, as Cinder answers them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from hearth.api.calls import Call, call

router = APIRouter(tags=["availability zones"])

UPDATED = "2026-12-01T00:00:00+00:00"
EXTENSIONS = (
    ("os-availability-zone", "AvailabilityZones", "Describe availability zones."),
    ("os-types-manage", "TypesManage", "Types manage support."),
    ("os-types-extra-specs", "TypesExtraSpecs", "Type extra specs support."),
    ("os-volume-type-access", "VolumeTypeAccess", "Volume type access support."),
    ("encryption", "VolumeTypeEncryption", "Encryption support for volume types."),
    ("os-vol-host-attr", "VolumeHostAttribute", "Expose host as an attribute of a volume."),
    ("os-vol-tenant-attr", "VolumeTenantAttribute", "Expose the project of a volume."),
    ("os-vol-image-meta", "VolumeImageMetadata", "Show image metadata of volumes."),
)


@router.get("/os-availability-zone")
def list_zones(call: Call = Depends(call)) -> dict[str, Any]:
    """Every zone a backend is in (the default zone when none is configured)."""
    zones = {backend.availability_zone for backend in call.hearth.list_backends()}
    zones = zones or {call.hearth.services.settings.default_availability_zone}
    return {
        "availabilityZoneInfo": [
            {"zoneName": zone, "zoneState": {"available": True}} for zone in sorted(zones)
        ]
    }


@router.get("/extensions")
def list_extensions(call: Call = Depends(call)) -> dict[str, Any]:
    """The extensions Hearth serves."""
    del call  # any caller may ask
    return {
        "extensions": [
            {"alias": alias, "name": name, "description": text, "links": [], "updated": UPDATED}
            for alias, name, text in EXTENSIONS
        ]
    }
