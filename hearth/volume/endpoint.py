"""The volume manager's side of the bus: what a server on queue ``volume.<backend>`` calls.

Messages from the scheduler (creates) and the request layer (deletes, snapshots, extends)
arrive here as JSON arguments; the endpoint turns them into values (the create's request
spec and filter properties, ``hearth.volume.scheduling``) and hands them to the backend's
:class:`~hearth.volume.manager.VolumeManager`.
"""

from __future__ import annotations

import logging
from typing import Any

from hearth.context import RequestContext
from hearth.db import volumes
from hearth.volume import actions, migration, scheduling
from hearth.volume.manager import VolumeManager

LOG = logging.getLogger(__name__)


class VolumeEndpoint:
    """What the bus dispatches to a volume manager (queue ``volume.<backend>``)."""

    RPC_VERSION = "1.0"
    RPC_METHODS = frozenset(
        {"create_volume", "delete_volume", "create_snapshot", "delete_snapshot", "extend_volume"}
    ) | frozenset(
        {
            "export_attachment",
            "unexport_attachment",
            "revert_to_snapshot",
            "upload_to_image",
            "reimage_volume",
            "migrate_volume",
        }
    )

    def __init__(self, manager: VolumeManager) -> None:
        self.manager = manager

    def create_volume(
        self,
        context: RequestContext,
        volume_id: str,
        request_spec: dict[str, Any],
        filter_properties: dict[str, Any],
        allow_reschedule: bool = True,
    ) -> None:
        """The scheduler's cast (``VolumeAPI.create_volume``): its JSON becomes values here."""
        with self.manager.db.read() as session:
            volume = volumes.find(session, volume_id)
        if volume is None:
            LOG.info("volume %s is gone; its create is dropped", volume_id)
            return
        self.manager.create_volume(
            context,
            volume,
            scheduling.RequestSpec.from_json(request_spec),
            scheduling.FilterProperties.from_json(filter_properties),
            allow_reschedule,
        )

    def delete_volume(self, context: RequestContext, volume_id: str) -> None:
        self.manager.delete_volume(context, volume_id)

    def create_snapshot(self, context: RequestContext, snapshot_id: str) -> None:
        self.manager.create_snapshot(context, snapshot_id)

    def delete_snapshot(self, context: RequestContext, snapshot_id: str) -> None:
        self.manager.delete_snapshot(context, snapshot_id)

    def extend_volume(self, context: RequestContext, volume_id: str, new_size: int) -> None:
        self.manager.extend_volume(context, volume_id, new_size)

    def export_attachment(self, context: RequestContext, attachment_id: str) -> None:
        self.manager.export_attachment(context, attachment_id)

    def unexport_attachment(self, context: RequestContext, attachment_id: str) -> None:
        self.manager.unexport_attachment(context, attachment_id)

    # the volume actions (``hearth.volume.actions``, ``hearth.volume.migration``)

    def revert_to_snapshot(self, context: RequestContext, volume_id: str, snapshot_id: str) -> None:
        with self.manager.exclusively(volume_id) as mine:
            if mine:
                actions.revert_to_snapshot(self.manager, context, volume_id, snapshot_id)

    def upload_to_image(self, context: RequestContext, volume_id: str, image_id: str) -> None:
        with self.manager.exclusively(volume_id) as mine:
            if mine:
                actions.upload_to_image(self.manager, context, volume_id, image_id)

    def reimage_volume(self, context: RequestContext, volume_id: str, image_id: str) -> None:
        with self.manager.exclusively(volume_id) as mine:
            if mine:
                actions.reimage(self.manager, context, volume_id, image_id)

    def migrate_volume(self, context: RequestContext, volume_id: str) -> None:
        """Sent to the target backend: copy the volume here and switch it over."""
        with self.manager.exclusively(volume_id) as mine:
            if mine:
                migration.migrate(self.manager, context, volume_id)
