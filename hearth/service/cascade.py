"""``DELETE /volumes/{id}?cascade=true``: a volume and its snapshots, as Cinder deletes
them. Every one is checked first (the volume and each snapshot in a deletable status, else
nothing changes); then each snapshot is deleted, waiting until it is gone, and the volume
last. ``CascadeDelete`` is the facade's part (``Hearth`` inherits it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from hearth import errors
from hearth.context import RequestContext
from hearth.db import snapshots, statuses, volumes

if TYPE_CHECKING:
    from hearth.service.wiring import Services


class _Deletes(Protocol):
    def delete_snapshot(
        self, snapshot_id: str, *, context: RequestContext | None = None, wait: bool = True
    ) -> None: ...

    def delete_volume(
        self, volume_id: str, *, context: RequestContext | None = None, wait: bool = True
    ) -> None: ...


class CascadeDelete:
    """The facade's cascade delete (``services`` and ``context`` come from Hearth)."""

    services: Services
    context: RequestContext

    def delete_volume_cascade(
        self: _Cascading, volume_id: str, *, context: RequestContext | None = None
    ) -> None:
        """Delete a volume's snapshots, then the volume (not waiting for the volume)."""
        ctx = context or self.context
        with self.services.db.read() as session:
            volume = volumes.get(session, volume_id, project_id=ctx.visible_project)
            if volume.status not in statuses.VOLUME_DELETABLE:
                raise errors.InvalidStatus(
                    action="delete", kind="volume", resource_id=volume_id, status=volume.status
                )
            found = snapshots.find_all(session, volume_id=volume_id)
            for snapshot in found:
                if snapshot.status not in statuses.SNAPSHOT_DELETABLE:
                    raise errors.InvalidStatus(
                        action="delete",
                        kind="snapshot",
                        resource_id=snapshot.id,
                        status=snapshot.status,
                    )
        for snapshot in found:
            self.delete_snapshot(snapshot.id, context=ctx, wait=True)
        self.delete_volume(volume_id, context=ctx, wait=False)


class _Cascading(_Deletes, Protocol):
    services: Services
    context: RequestContext
