"""The library facade: ``Hearth`` opens a data directory and offers the volume API in-process.

It sits at the top of the data path, with the CLI and the HTTP API as its callers: each
method checks the request and writes rows through ``hearth.service.requests``, then hands
the backend work to the backend's volume manager and returns the resulting row.

    with Hearth.open("./hearth-data") as hearth:
        volume = hearth.create_volume(size=1, name="first")
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from hearth import config, errors, notifications
from hearth.context import RequestContext
from hearth.db import backends, models, snapshots, user_messages, volume_types, volumes
from hearth.service import requests, wiring
from hearth.volume.drivers import file
from hearth.volume.manager import VolumeManager


class Hearth:
    """Hearth in one process, on the settings it was opened with."""

    def __init__(self, services: wiring.Services, context: RequestContext) -> None:
        self.services = services
        self.context = context
        self._placement = requests.Placement(
            zones={name: m.availability_zone for name, m in services.managers.items()},
            max_volume_size_gb=services.settings.limits.max_volume_size_gb,
        )

    @classmethod
    def open(
        cls,
        data_dir: Path | str | None = None,
        *,
        config_file: Path | str | None = None,
        settings: config.Settings | None = None,
        context: RequestContext | None = None,
        extra_notification_drivers: Sequence[notifications.NotificationDriver] = (),
    ) -> Hearth:
        """Open (and on first use, create) a Hearth data directory."""
        chosen = settings or config.load(data_dir=data_dir, config_file=config_file)
        services = wiring.build(chosen, extra_notification_drivers=extra_notification_drivers)
        try:
            services.start()
        except BaseException:
            services.stop()
            raise
        default = RequestContext(user_id="admin", project_id="admin", is_admin=True)
        return cls(services, context or default)

    def close(self) -> None:
        """Flush pending reports and notifications and release everything."""
        self.services.stop()

    def __enter__(self) -> Hearth:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # volumes

    def create_volume(
        self, size: Any = None, *, context: RequestContext | None = None, **fields: Any
    ) -> models.Volume:
        """Create a volume and return its row once the create has ended.

        ``fields``: name, description, volume_type, availability_zone, snapshot_id,
        source_volid, image_id, backup_id, metadata. The returned row is ``available``, or
        ``error`` with a user message saying why.
        """
        ctx = context or self.context
        request = requests.VolumeRequest(size=size, **fields)
        with self.services.db.transaction() as session:
            volume = requests.new_volume(session, ctx, request, self._placement)
        request_spec = {"volume_id": volume.id, "size": volume.size}
        assert volume.host is not None
        self._manager(volume.host).create_volume(
            ctx, volume, request_spec, {}, allow_reschedule=False
        )
        return self.get_volume(volume.id, context=ctx)

    def get_volume(self, volume_id: str, *, context: RequestContext | None = None) -> models.Volume:
        """A volume of the caller's project (any project for admins)."""
        with self.services.db.transaction() as session:
            return volumes.get(session, volume_id, project_id=self._scope(context))

    def list_volumes(
        self, *, context: RequestContext | None = None, name: str | None = None
    ) -> Sequence[models.Volume]:
        """The caller's volumes (every project's for admins), oldest first."""
        with self.services.db.transaction() as session:
            return volumes.find_all(session, project_id=self._scope(context), name=name)

    def delete_volume(self, volume_id: str, *, context: RequestContext | None = None) -> None:
        """Delete a volume with no snapshots that is not being created."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            host = requests.begin_volume_delete(session, ctx, volume_id)
        if host is not None:
            self._manager(host).delete_volume(ctx, volume_id)

    def extend_volume(
        self, volume_id: str, new_size: Any, *, context: RequestContext | None = None
    ) -> models.Volume:
        """Grow an available volume to ``new_size`` GiB."""
        ctx = context or self.context
        max_size = self.services.settings.limits.max_volume_size_gb
        with self.services.db.transaction() as session:
            volume = requests.begin_volume_extend(session, ctx, volume_id, new_size, max_size)
        assert volume.host is not None
        self._manager(volume.host).extend_volume(ctx, volume_id, int(new_size))
        return self.get_volume(volume_id, context=ctx)

    def volume_path(self, volume_id: str) -> Path:
        """Where a file-backend volume's bytes live (to attach or inspect them)."""
        volume = self.get_volume(volume_id)
        driver = self._manager(volume.host or "").driver
        if not isinstance(driver, file.FileDriver):
            raise errors.Invalid(reason="only file backends store volumes as files")
        return driver.volume_path(volume_id)

    # snapshots

    def create_snapshot(
        self,
        volume_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        context: RequestContext | None = None,
    ) -> models.Snapshot:
        """Snapshot an available volume; returns the snapshot once it has ended."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            snapshot = requests.new_snapshot(session, ctx, volume_id, name, description)
            host = volumes.get(session, volume_id).host
        self._manager(host or "").create_snapshot(ctx, snapshot.id)
        return self.get_snapshot(snapshot.id, context=ctx)

    def get_snapshot(
        self, snapshot_id: str, *, context: RequestContext | None = None
    ) -> models.Snapshot:
        """A snapshot of the caller's project (any project for admins)."""
        with self.services.db.transaction() as session:
            return snapshots.get(session, snapshot_id, project_id=self._scope(context))

    def list_snapshots(
        self, *, context: RequestContext | None = None, volume_id: str | None = None
    ) -> Sequence[models.Snapshot]:
        """The caller's snapshots, oldest first."""
        with self.services.db.transaction() as session:
            return snapshots.find_all(session, project_id=self._scope(context), volume_id=volume_id)

    def delete_snapshot(self, snapshot_id: str, *, context: RequestContext | None = None) -> None:
        """Delete a snapshot."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            snapshot = requests.begin_snapshot_delete(session, ctx, snapshot_id)
            host = volumes.get(session, snapshot.volume_id).host
        self._manager(host or "").delete_snapshot(ctx, snapshot_id)

    # volume types, messages, backends

    def create_volume_type(
        self,
        name: str,
        *,
        description: str | None = None,
        extra_specs: dict[str, str] | None = None,
        is_public: bool = True,
    ) -> models.VolumeType:
        """Add a volume type."""
        if not name or len(name) > requests.MAX_NAME_LENGTH:
            raise errors.InvalidInput(field="name", reason="must be 1 to 255 characters")
        with self.services.db.transaction() as session:
            return volume_types.create(
                session,
                name=name,
                description=description,
                extra_specs=dict(extra_specs or {}),
                is_public=is_public,
            )

    def list_volume_types(self) -> Sequence[models.VolumeType]:
        """Every volume type."""
        with self.services.db.transaction() as session:
            return volume_types.find_all(session)

    def delete_volume_type(self, name_or_id: str) -> None:
        """Remove a volume type that no volume uses."""
        with self.services.db.transaction() as session:
            volume_types.delete(session, name_or_id)

    def list_messages(
        self, *, context: RequestContext | None = None, resource_id: str | None = None
    ) -> Sequence[models.UserMessage]:
        """User messages of the caller's project, oldest first."""
        with self.services.db.transaction() as session:
            return user_messages.find_all(
                session, project_id=self._scope(context), resource_uuid=resource_id
            )

    def list_backends(self) -> Sequence[models.Backend]:
        """Every backend's last capacity report."""
        with self.services.db.transaction() as session:
            return backends.find_all(session)

    def _manager(self, host: str) -> VolumeManager:
        try:
            return self.services.managers[host]
        except KeyError:
            raise errors.BackendNotFound(backend=host) from None

    def _scope(self, context: RequestContext | None) -> str | None:
        ctx = context or self.context
        return None if ctx.is_admin else ctx.project_id
