"""Casts to volume managers: one queue per backend, ``volume.<backend>``.

Used by the request layer (deletes, snapshots, extends) and by the scheduler (creates).
"""

from __future__ import annotations

from typing import Any

from hearth import bus as message_bus
from hearth.context import RequestContext
from hearth.volume import scheduling

VERSION = "1.0"


def topic(backend: str) -> str:
    """The queue of one backend's manager."""
    return f"volume.{backend}"


class VolumeAPI:
    """Sends work to the manager of a backend, wherever it runs."""

    def __init__(self, bus: message_bus.Bus) -> None:
        self._bus = bus

    def create_volume(
        self,
        context: RequestContext,
        host: str,
        volume_id: str,
        request_spec: scheduling.RequestSpec,
        filter_properties: scheduling.FilterProperties,
        allow_reschedule: bool = True,
    ) -> None:
        """Create a volume the scheduler placed on ``host``."""
        self._cast(
            host,
            "create_volume",
            context,
            volume_id=volume_id,
            request_spec=request_spec.to_json(),
            filter_properties=filter_properties.to_json(),
            allow_reschedule=allow_reschedule,
        )

    def delete_volume(self, context: RequestContext, host: str, volume_id: str) -> None:
        """Delete a ``deleting`` volume's data and row."""
        self._cast(host, "delete_volume", context, volume_id=volume_id)

    def create_snapshot(self, context: RequestContext, host: str, snapshot_id: str) -> None:
        """Capture a ``creating`` snapshot."""
        self._cast(host, "create_snapshot", context, snapshot_id=snapshot_id)

    def delete_snapshot(self, context: RequestContext, host: str, snapshot_id: str) -> None:
        """Delete a ``deleting`` snapshot."""
        self._cast(host, "delete_snapshot", context, snapshot_id=snapshot_id)

    def extend_volume(
        self, context: RequestContext, host: str, volume_id: str, new_size: int
    ) -> None:
        """Grow an ``extending`` volume."""
        self._cast(host, "extend_volume", context, volume_id=volume_id, new_size=new_size)

    def export_attachment(self, context: RequestContext, host: str, attachment_id: str) -> None:
        """Make the export of an ``attaching`` attachment and store its connection_info."""
        self._cast(host, "export_attachment", context, attachment_id=attachment_id)

    def unexport_attachment(self, context: RequestContext, host: str, attachment_id: str) -> None:
        """Remove the export of a ``detaching`` attachment, then its row."""
        self._cast(host, "unexport_attachment", context, attachment_id=attachment_id)

    def revert_to_snapshot(
        self, context: RequestContext, host: str, volume_id: str, snapshot_id: str
    ) -> None:
        """Replace a ``reverting`` volume's data with its ``restoring`` snapshot's."""
        self._cast(
            host, "revert_to_snapshot", context, volume_id=volume_id, snapshot_id=snapshot_id
        )

    def upload_to_image(
        self, context: RequestContext, host: str, volume_id: str, image_id: str
    ) -> None:
        """Copy an ``uploading`` volume into a ``queued`` image."""
        self._cast(host, "upload_to_image", context, volume_id=volume_id, image_id=image_id)

    def reimage_volume(
        self, context: RequestContext, host: str, volume_id: str, image_id: str
    ) -> None:
        """Replace a ``downloading`` volume's data with an image's."""
        self._cast(host, "reimage_volume", context, volume_id=volume_id, image_id=image_id)

    def migrate_volume(self, context: RequestContext, target: str, volume_id: str) -> None:
        """Ask the ``target`` backend's manager to copy a migrating volume to itself."""
        self._cast(target, "migrate_volume", context, volume_id=volume_id)

    def _cast(self, host: str, method: str, context: RequestContext, **args: Any) -> None:
        self._bus.cast(topic(host), method, context, VERSION, **args)
