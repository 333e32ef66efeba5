"""Volume type documents."""

from __future__ import annotations

from typing import Any

from hearth.api.calls import Call
from hearth.db import models


def detail(call: Call, volume_type: models.VolumeType) -> dict[str, Any]:
    """A volume type; its QoS specs id for admins only."""
    body: dict[str, Any] = {
        "id": volume_type.id,
        "name": volume_type.name,
        "description": volume_type.description,
        "is_public": volume_type.is_public,
        "os-volume-type-access:is_public": volume_type.is_public,
        "extra_specs": {key: str(value) for key, value in volume_type.extra_specs.items()},
    }
    if call.context.is_admin:
        body["qos_specs_id"] = call.hearth.qos_specs_id_of_type(volume_type.id)
    return body


def created(volume_type: models.VolumeType) -> dict[str, Any]:
    """A volume type as its create answers it (Cinder's create shape: no QoS specs id)."""
    return {
        "id": volume_type.id,
        "name": volume_type.name,
        "description": volume_type.description,
        "is_public": volume_type.is_public,
        "os-volume-type-access:is_public": volume_type.is_public,
        "extra_specs": {key: str(value) for key, value in volume_type.extra_specs.items()},
    }


def updated(volume_type: models.VolumeType) -> dict[str, Any]:
    """A volume type as its update answers it (Cinder's update shape)."""
    body = created(volume_type)
    del body["os-volume-type-access:is_public"]
    return body
