"""The request spec: what the scheduler places a create by, and what travels with it.

Built by the request layer from a new volume row, and rebuilt from the row when a create
must be placed or resumed again after its message was lost (reconciliation).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hearth.db import models, snapshots, volume_types, volumes


def build(
    volume: models.Volume,
    volume_type: models.VolumeType,
    *,
    requested_zone: str | None,
    source_host: str | None,
) -> dict[str, Any]:
    """The spec of a new create (plain JSON-ready values)."""
    return {
        "volume_id": volume.id,
        "size": volume.size,
        "availability_zone": requested_zone,
        "volume_type": {
            "id": volume_type.id,
            "name": volume_type.name,
            "extra_specs": dict(volume_type.extra_specs),
        },
        "source_host": source_host,
        "snapshot_id": volume.snapshot_id,
        "source_volid": volume.source_volid,
        "image_id": volume.image_id,
    }


def rebuild(session: Session, volume: models.Volume) -> dict[str, Any]:
    """The spec of a create in progress, from its row (its zone is kept: a resumed create
    stays where its request put it)."""
    volume_type = (
        volume_types.get(session, volume.volume_type_id)
        if volume.volume_type_id
        else volume_types.get_default(session)
    )
    return build(
        volume,
        volume_type,
        requested_zone=volume.availability_zone,
        source_host=_source_host(session, volume),
    )


def _source_host(session: Session, volume: models.Volume) -> str | None:
    if volume.snapshot_id:
        snapshot = snapshots.find(session, volume.snapshot_id)
        parent = volumes.find(session, snapshot.volume_id) if snapshot else None
        return parent.host if parent else None
    if volume.source_volid:
        source = volumes.find(session, volume.source_volid)
        return source.host if source else None
    return None
