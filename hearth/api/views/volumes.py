"""Volume documents: summary (id, name, links) and detail, per microversion and role."""

from __future__ import annotations

from typing import Any

from hearth.api import versions
from hearth.api.calls import Call
from hearth.api.views import attachments as attachment_views
from hearth.api.views import shapes
from hearth.db import attachments, models, statuses


def summary(call: Call, volume: models.Volume) -> dict[str, Any]:
    """The list view of a volume."""
    return {
        "id": volume.id,
        "name": volume.name,
        "links": shapes.links(call, "volumes", volume.id),
    }


def detail(call: Call, volume: models.Volume, *, extended: bool = True) -> dict[str, Any]:
    """The full view (show, detail list; create and update without ``extended``, the
    admin attributes and ``volume_image_metadata`` Cinder adds only to show and detail)."""
    body: dict[str, Any] = {
        "id": volume.id,
        "name": volume.name,
        "description": volume.description,
        "status": volume.status,
        "size": volume.size,
        "availability_zone": volume.availability_zone,
        "created_at": shapes.timestamp(volume.created_at),
        "updated_at": shapes.timestamp(volume.updated_at),
        "attachments": [
            attachment_views.of_volume(row)
            for row in attachments.loaded(volume)
            if row.status == statuses.AttachStatus.ATTACHED
        ],
        "volume_type": volume.volume_type.name if volume.volume_type else None,
        "snapshot_id": volume.snapshot_id,
        "source_volid": volume.source_volid,
        "metadata": _metadata(volume),
        "links": shapes.links(call, "volumes", volume.id),
        "user_id": volume.user_id,
        "bootable": "true" if volume.bootable else "false",
        "encrypted": False,
        "replication_status": "disabled",
        "consistencygroup_id": None,
        "multiattach": _multiattach(volume),
    }
    admin = call.context.is_admin
    if admin:
        body["migration_status"] = volume.migration_status
    if extended and admin:
        body.update(_admin_attributes(volume))
    if extended and volume.volume_image_metadata:
        body["volume_image_metadata"] = _image_metadata(volume.volume_image_metadata)
    if call.at_least(versions.GROUP_VOLUME):
        body["group_id"] = None
    if admin and call.at_least(versions.VOLUME_DETAIL_PROVIDER_ID):
        body["provider_id"] = None
    return body


def _admin_attributes(volume: models.Volume) -> dict[str, Any]:
    return {
        "os-vol-host-attr:host": shapes.backend_host(volume.host),
        "os-vol-tenant-attr:tenant_id": volume.project_id,
        "os-vol-mig-status-attr:migstat": volume.migration_status,
        "os-vol-mig-status-attr:name_id": None,
    }


def _image_metadata(recorded: dict[str, Any]) -> dict[str, str]:
    """A made-from-image volume's image metadata: string values, as Cinder stores them."""
    return {key: str(value) for key, value in recorded.items() if value is not None}


def _multiattach(volume: models.Volume) -> bool:
    """Whether the volume's type lets it have several attachments (``multiattach``
    extra spec ``<is> True``)."""
    specs = volume.volume_type.extra_specs if volume.volume_type else {}
    return str(specs.get("multiattach", "")).strip() == "<is> True"


def _metadata(volume: models.Volume) -> dict[str, str]:
    """The user's metadata, with ``readonly`` ("True"/"False") once the flag was set (Cinder
    shows it there, from its admin metadata)."""
    shown = dict(volume.volume_metadata)
    if volume.readonly is not None:
        shown["readonly"] = str(volume.readonly)
    return shown
