"""The actions part of the library facade: what ``POST /volumes/{id}/action`` and
``POST /snapshots/{id}/action`` do, and snapshot metadata.

``Hearth`` (``facade``) inherits these operations. Each checks the request and writes rows
through a service module in one transaction (``volume_actions``, ``snapshot_actions``,
``data_actions``, ``migration``), then casts the backend work, if any, to the volume's
manager (or, for a migration, the target backend's), as the facade's own methods do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hearth.context import RequestContext
from hearth.db import models, snapshots, statuses, volumes
from hearth.service import (
    data_actions,
    migration,
    snapshot_actions,
    volume_actions,
    watch,
    wiring,
)

Arguments = Mapping[str, Any]


class Actions:
    """Hearth's volume and snapshot actions."""

    services: wiring.Services
    context: RequestContext
    _watch: watch.StatusWatch

    # volume state

    def reset_volume_status(
        self, volume_id: str, arguments: Arguments, *, context: RequestContext | None = None
    ) -> None:
        """Set a volume's status (and ``migration_status``) as given (administrators)."""
        with self.services.db.transaction() as session:
            volume_actions.reset_status(session, context or self.context, volume_id, arguments)

    def force_delete_volume(
        self,
        volume_id: str,
        *,
        context: RequestContext | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> None:
        """Delete a volume whatever its status (administrators); not one with snapshots."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            host = volume_actions.begin_force_delete(session, ctx, volume_id)
        if host is None:
            return
        self.services.volume_api.delete_volume(ctx, host, volume_id)
        if wait:
            self._watch.until_volume_leaves(
                volume_id, {statuses.VolumeStatus.DELETING}, timeout=self._wait(timeout)
            )

    def set_volume_bootable(
        self, volume_id: str, bootable: Any, *, context: RequestContext | None = None
    ) -> None:
        """Mark a volume bootable (``True``) or not."""
        with self.services.db.transaction() as session:
            volume_actions.set_bootable(
                session, context or self.context, volume_id, {"bootable": bootable}
            )

    def set_volume_readonly(
        self, volume_id: str, readonly: Any, *, context: RequestContext | None = None
    ) -> None:
        """Set a volume's read-only flag."""
        with self.services.db.transaction() as session:
            volume_actions.set_readonly(
                session, context or self.context, volume_id, {"readonly": readonly}
            )

    def get_volume_image_metadata(
        self, volume_id: str, *, context: RequestContext | None = None
    ) -> dict[str, str]:
        """A volume's image metadata ({} when it has none)."""
        ctx = context or self.context
        with self.services.db.read() as session:
            volume = volumes.get(session, volume_id, project_id=ctx.visible_project)
            return volume_actions.image_metadata(volume)

    def set_volume_image_metadata(
        self, volume_id: str, metadata: Any, *, context: RequestContext | None = None
    ) -> dict[str, str]:
        """Merge items into a volume's image metadata; returns all of it."""
        with self.services.db.transaction() as session:
            return volume_actions.set_image_metadata(
                session, context or self.context, volume_id, {"metadata": metadata}
            )

    def unset_volume_image_metadata(
        self, volume_id: str, key: Any, *, context: RequestContext | None = None
    ) -> None:
        """Remove one item of a volume's image metadata."""
        with self.services.db.transaction() as session:
            volume_actions.unset_image_metadata(
                session, context or self.context, volume_id, {"key": key}
            )

    # volume data

    def revert_volume(
        self,
        volume_id: str,
        snapshot_id: Any,
        *,
        context: RequestContext | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> None:
        """Give a volume its latest snapshot's data again (same size; both available)."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            work, snapshot = data_actions.begin_revert(
                session, ctx, volume_id, {"snapshot_id": snapshot_id}
            )
        self.services.volume_api.revert_to_snapshot(ctx, work.host, volume_id, snapshot.id)
        self._until_leaves(volume_id, statuses.VolumeStatus.REVERTING, wait, timeout)

    def upload_volume_to_image(
        self,
        volume_id: str,
        arguments: Arguments,
        *,
        context: RequestContext | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> tuple[models.Volume, models.Image]:
        """Copy an available volume into a new image (``image_name``, ``disk_format``,
        ``container_format``, ``visibility``); returns the volume and the image as the
        request left them (``uploading``, ``queued``), or as the upload ended with ``wait``."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            work, image = data_actions.begin_upload(session, ctx, volume_id, arguments)
        with self.services.db.read() as session:  # with its type, as the answer shows it
            volume = volumes.get(session, volume_id, with_type=True)
        self.services.volume_api.upload_to_image(ctx, work.host, volume_id, image.id)
        self._until_leaves(volume_id, statuses.VolumeStatus.UPLOADING, wait, timeout)
        return volume, image

    def reimage_volume(
        self,
        volume_id: str,
        arguments: Arguments,
        *,
        context: RequestContext | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> None:
        """Replace a volume's data with an image's (``image_id``; ``reimage_reserved``)."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            work, image_id = data_actions.begin_reimage(session, ctx, volume_id, arguments)
        self.services.volume_api.reimage_volume(ctx, work.host, volume_id, image_id)
        self._until_leaves(volume_id, statuses.VolumeStatus.DOWNLOADING, wait, timeout)

    def retype_volume(
        self,
        volume_id: str,
        new_type: Any,
        migration_policy: Any = "never",
        *,
        context: RequestContext | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> None:
        """Give a volume another type; with ``migration_policy="on-demand"`` it moves to a
        backend that matches the type when its own does not."""
        ctx = context or self.context
        arguments = {"new_type": new_type, "migration_policy": migration_policy}
        with self.services.db.transaction() as session:
            move = migration.retype(
                session, ctx, volume_id, arguments, self.services.settings.scheduler
            )
        if move is not None:
            self.services.volume_api.migrate_volume(ctx, move.target, volume_id)
            self._until_leaves(volume_id, statuses.VolumeStatus.RETYPING, wait, timeout)

    def migrate_volume(
        self,
        volume_id: str,
        arguments: Arguments,
        *,
        context: RequestContext | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> None:
        """Move a volume to the backend ``arguments["host"]`` names (administrators)."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            move = migration.migrate(session, ctx, volume_id, arguments)
        self.services.volume_api.migrate_volume(ctx, move.target, volume_id)
        self._until_leaves(volume_id, statuses.VolumeStatus.MAINTENANCE, wait, timeout)

    # snapshots

    def reset_snapshot_status(
        self, snapshot_id: str, arguments: Arguments, *, context: RequestContext | None = None
    ) -> None:
        """Set a snapshot's status as given (administrators)."""
        with self.services.db.transaction() as session:
            snapshot_actions.reset_status(session, context or self.context, snapshot_id, arguments)

    def update_snapshot_status(
        self, snapshot_id: str, arguments: Arguments, *, context: RequestContext | None = None
    ) -> None:
        """Report a snapshot's status and progress (``os-update_snapshot_status``)."""
        with self.services.db.transaction() as session:
            snapshot_actions.update_status(session, context or self.context, snapshot_id, arguments)

    def force_delete_snapshot(
        self,
        snapshot_id: str,
        *,
        context: RequestContext | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> None:
        """Delete a snapshot whatever its status (administrators)."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            host = snapshot_actions.begin_force_delete(session, ctx, snapshot_id)
        self.services.volume_api.delete_snapshot(ctx, host, snapshot_id)
        if wait:
            self._watch.until_snapshot_leaves(
                snapshot_id, {statuses.SnapshotStatus.DELETING}, timeout=self._wait(timeout)
            )

    def get_snapshot_metadata(
        self, snapshot_id: str, *, context: RequestContext | None = None
    ) -> dict[str, str]:
        """Every metadata item of a snapshot."""
        ctx = context or self.context
        with self.services.db.read() as session:
            found = snapshots.get(session, snapshot_id, project_id=ctx.visible_project)
            return dict(found.snapshot_metadata)

    def set_snapshot_metadata(
        self,
        snapshot_id: str,
        metadata: Any,
        *,
        replace: bool = False,
        context: RequestContext | None = None,
    ) -> dict[str, str]:
        """Merge items into a snapshot's metadata (all replaced with ``replace``)."""
        with self.services.db.transaction() as session:
            return snapshot_actions.set_metadata(
                session, context or self.context, snapshot_id, metadata, replace=replace
            )

    def delete_snapshot_metadata(
        self, snapshot_id: str, key: str, *, context: RequestContext | None = None
    ) -> None:
        """Remove one metadata item of a snapshot."""
        with self.services.db.transaction() as session:
            snapshot_actions.delete_metadata(session, context or self.context, snapshot_id, key)

    def _until_leaves(self, volume_id: str, status: str, wait: bool, timeout: float | None) -> None:
        if wait:
            self._watch.until_volume_leaves(volume_id, {status}, timeout=self._wait(timeout))

    def _wait(self, timeout: float | None) -> float:
        return self.services.settings.service.wait_timeout_seconds if timeout is None else timeout
