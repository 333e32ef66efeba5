"""The library facade: ``Hearth`` opens a data directory and offers the volume API in-process.

It sits at the top of the data path, with the CLI and the HTTP API as its callers: each
method checks the request and writes rows through ``hearth.service.requests`` (images:
``image_requests``), then casts the work on the bus (creates to the scheduler, the rest to
the volume's backend); image uploads go to the image store. With ``wait=True`` (the
default) it returns the row once the work has ended; with ``wait=False`` at once, the row
still ``creating``/``deleting``.

    with Hearth.open("./hearth-data") as hearth:
        volume = hearth.create_volume(size=1, name="first")
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from hearth import config, errors, notifications
from hearth.context import RequestContext
from hearth.db import (
    backends,
    image_cache,
    images,
    models,
    snapshots,
    statuses,
    user_messages,
    volume_types,
    volumes,
)
from hearth.image import cache, store
from hearth.service import image_requests, requests, watch, wiring
from hearth.volume import audit
from hearth.volume.drivers import file
from hearth.volume.flows import create_volume


class Hearth:
    """Hearth in one process, on the settings it was opened with."""

    def __init__(self, services: wiring.Services, context: RequestContext) -> None:
        self.services = services
        self.context = context
        self._watch = watch.StatusWatch(services.db)

    @classmethod
    def open(
        cls,
        data_dir: Path | str | None = None,
        *,
        config_file: Path | str | None = None,
        settings: config.Settings | None = None,
        context: RequestContext | None = None,
        extra_notification_drivers: Sequence[notifications.NotificationDriver] = (),
        serve: bool | None = None,
    ) -> Hearth:
        """Open (and on first use, create) a Hearth data directory.

        ``serve``: run the scheduler and the backends' managers in this process. Default:
        yes with the in-process memory:// bus, no with a broker (``hearth serve`` processes
        do the work). ``serve=False`` suits reading only.
        """
        chosen = settings or config.load(data_dir=data_dir, config_file=config_file)
        services = wiring.build(
            chosen,
            roles=None if serve is None else (wiring.ALL_ROLES if serve else ()),
            extra_notification_drivers=extra_notification_drivers,
        )
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
        self,
        size: Any = None,
        *,
        context: RequestContext | None = None,
        wait: bool = True,
        on_created: Callable[[models.Volume], None] | None = None,
        **fields: Any,
    ) -> models.Volume:
        """Create a volume; returns its row once the create has ended (``available``, or
        ``error`` with a user message saying why), or at once with ``wait=False``.

        ``fields``: name, description, volume_type, availability_zone, snapshot_id,
        source_volid, image_id (an id, or a name one visible image has), backup_id,
        metadata. ``on_created`` gets the new row before the backend work starts (to follow
        its progress).
        """
        ctx = context or self.context
        request = requests.VolumeRequest(size=size, **fields)
        with self.services.db.transaction() as session:
            volume, request_spec = requests.new_volume(
                session, ctx, request, self.services.settings
            )
        if on_created is not None:
            on_created(volume)
        try:
            self.services.scheduler_api.create_volume(ctx, volume.id, request_spec, {})
        except errors.BusUnavailable as exc:
            create_volume.error_out(self.services.db, ctx, volume.id, exc)
            raise
        if wait:
            self._watch.wait(
                volume.id, lambda: self._volume_settled(volume.id, statuses.CREATE_IN_PROGRESS)
            )
        return self.get_volume(volume.id, context=ctx)

    def get_volume(self, volume_id: str, *, context: RequestContext | None = None) -> models.Volume:
        """A volume of the caller's project (any project for admins)."""
        with self.services.db.read() as session:
            return volumes.get(session, volume_id, project_id=self._scope(context), with_type=True)

    def list_volumes(
        self, *, context: RequestContext | None = None, name: str | None = None
    ) -> Sequence[models.Volume]:
        """The caller's volumes (every project's for admins), oldest first."""
        with self.services.db.read() as session:
            return volumes.find_all(
                session, project_id=self._scope(context), name=name, with_type=True
            )

    def delete_volume(
        self, volume_id: str, *, context: RequestContext | None = None, wait: bool = True
    ) -> None:
        """Delete a volume with no snapshots that is not being created; with ``wait``,
        return once it is gone (or ``error_deleting``)."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            host = requests.begin_volume_delete(session, ctx, volume_id)
        if host is None:
            return
        self.services.volume_api.delete_volume(ctx, host, volume_id)
        if wait:
            self._watch.wait(
                volume_id, lambda: self._volume_settled(volume_id, {statuses.VolumeStatus.DELETING})
            )

    def extend_volume(
        self,
        volume_id: str,
        new_size: Any,
        *,
        context: RequestContext | None = None,
        wait: bool = True,
    ) -> models.Volume:
        """Grow an available volume to ``new_size`` GiB."""
        ctx = context or self.context
        max_size = self.services.settings.limits.max_volume_size_gb
        with self.services.db.transaction() as session:
            volume = requests.begin_volume_extend(session, ctx, volume_id, new_size, max_size)
        assert volume.host is not None
        self.services.volume_api.extend_volume(ctx, volume.host, volume_id, int(new_size))
        if wait:
            self._watch.wait(
                volume_id,
                lambda: self._volume_settled(volume_id, {statuses.VolumeStatus.EXTENDING}),
            )
        return self.get_volume(volume_id, context=ctx)

    def volume_path(self, volume_id: str) -> Path:
        """Where a file-backend volume's bytes live (to attach or inspect them)."""
        volume = self.get_volume(volume_id)
        if volume.host not in self.services.settings.backends:
            raise errors.Invalid(reason=f"volume {volume_id} is not on a file backend here")
        driver = wiring.build_driver(self.services.settings, volume.host)
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
        wait: bool = True,
    ) -> models.Snapshot:
        """Snapshot an available volume; returns the snapshot once it has ended."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            snapshot = requests.new_snapshot(session, ctx, volume_id, name, description)
            host = volumes.get(session, volume_id).host
        assert host is not None, "only a placed, available volume can be snapshotted"
        self.services.volume_api.create_snapshot(ctx, host, snapshot.id)
        if wait:
            self._watch.wait(
                snapshot.id,
                lambda: self._snapshot_settled(snapshot.id, {statuses.SnapshotStatus.CREATING}),
            )
        return self.get_snapshot(snapshot.id, context=ctx)

    def get_snapshot(
        self, snapshot_id: str, *, context: RequestContext | None = None
    ) -> models.Snapshot:
        """A snapshot of the caller's project (any project for admins)."""
        with self.services.db.read() as session:
            return snapshots.get(session, snapshot_id, project_id=self._scope(context))

    def list_snapshots(
        self, *, context: RequestContext | None = None, volume_id: str | None = None
    ) -> Sequence[models.Snapshot]:
        """The caller's snapshots, oldest first."""
        with self.services.db.read() as session:
            return snapshots.find_all(session, project_id=self._scope(context), volume_id=volume_id)

    def delete_snapshot(
        self, snapshot_id: str, *, context: RequestContext | None = None, wait: bool = True
    ) -> None:
        """Delete a snapshot."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            snapshot = requests.begin_snapshot_delete(session, ctx, snapshot_id)
            host = volumes.get(session, snapshot.volume_id).host
        assert host is not None, "a snapshot's volume is placed"
        self.services.volume_api.delete_snapshot(ctx, host, snapshot_id)
        if wait:
            self._watch.wait(
                snapshot_id,
                lambda: self._snapshot_settled(snapshot_id, {statuses.SnapshotStatus.DELETING}),
            )

    # images

    def create_image(
        self,
        name: str,
        *,
        disk_format: str,
        file: Path | str | None = None,
        url: str | None = None,
        container_format: str = "bare",
        min_disk: int = 0,
        min_ram: int = 0,
        visibility: str = images.PRIVATE,
        properties: dict[str, str] | None = None,
        context: RequestContext | None = None,
    ) -> models.Image:
        """Store an image from a local file or an http(s) URL; returns it ``active``.

        The bytes are inspected before the image counts: a hostile or mislabelled image
        raises (ImageUnsafe, ImageFormatMismatch, ...) and nothing is stored.
        """
        request = image_requests.ImageRequest(
            name, disk_format, container_format, min_disk, min_ram, visibility, properties
        )
        with self.services.db.transaction() as session:
            row = image_requests.new_image(session, context or self.context, request)
        source = store.Source(file=Path(file) if file is not None else None, url=url)
        return self._image_store.upload(row.id, source)

    def get_image(self, id_or_name: str, *, context: RequestContext | None = None) -> models.Image:
        """An image the caller may see (its project's, or public), by id or unique name."""
        with self.services.db.transaction() as session:
            return image_requests.find(session, context or self.context, id_or_name)

    def list_images(self, *, context: RequestContext | None = None) -> Sequence[models.Image]:
        """The images the caller may see, oldest first."""
        with self.services.db.transaction() as session:
            return images.find_all(session, project_id=self._scope(context))

    def delete_image(self, id_or_name: str, *, context: RequestContext | None = None) -> None:
        """Delete an image and its cache entries. Refused (ImageInUse) while volumes are
        being created from it; volumes already made from it are not affected."""
        with self.services.db.transaction() as session:
            image = image_requests.begin_image_delete(session, context or self.context, id_or_name)
        self._image_store.remove(image.id)
        for image_cache_of_backend in self._image_caches(None):
            image_cache_of_backend.clear(image.id)

    def list_image_cache(self, backend: str | None = None) -> Sequence[models.ImageCacheEntry]:
        """The image-volume cache entries of one backend (every backend by default)."""
        with self.services.db.transaction() as session:
            return image_cache.find_all(session, host=backend)

    def clear_image_cache(self, backend: str | None = None) -> int:
        """Evict every cache entry not being cloned; returns how many were evicted."""
        return sum(c.clear() for c in self._image_caches(backend))

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
        with self.services.db.read() as session:
            return volume_types.find_all(session)

    def delete_volume_type(self, name_or_id: str) -> None:
        """Remove a volume type that no volume uses."""
        with self.services.db.transaction() as session:
            volume_types.delete(session, name_or_id)

    def list_messages(
        self, *, context: RequestContext | None = None, resource_id: str | None = None
    ) -> Sequence[models.UserMessage]:
        """User messages of the caller's project, oldest first."""
        with self.services.db.read() as session:
            return user_messages.find_all(
                session, project_id=self._scope(context), resource_uuid=resource_id
            )

    def audit(
        self, *, fix: bool = False, backends: Sequence[str] | None = None
    ) -> list[audit.Finding]:
        """Compare each backend's data with the database (``hearth.volume.audit``); with
        ``fix``, repair what is found. Unfinished work needs the backend's manager: the one
        this process serves, or one started here for the audit when none runs (its start
        reconciles everything); a manager running elsewhere keeps that work."""
        settings = self.services.settings
        stale_after = timedelta(seconds=settings.recovery.stale_after)
        found: list[audit.Finding] = []
        for name in backends or list(settings.backends):
            if name not in settings.backends:
                raise errors.BackendNotFound(backend=name)
            manager = self.services.managers.get(name)
            if fix and manager is None:
                self._reconcile_unserved(name)
            driver = manager.driver if manager else wiring.build_driver(settings, name)
            found += audit.audit_backend(
                self.services.db, driver, name, fix=fix, stale_after=stale_after
            )
        return found

    def _reconcile_unserved(self, backend: str) -> None:
        part = wiring.build(
            self.services.settings, roles={"volume"}, backends=[backend], bus=self.services.bus
        )
        try:
            part.start()
        except errors.BackendBusy:
            pass  # its running manager reconciles it
        finally:
            part.stop()

    def list_backends(self) -> Sequence[models.Backend]:
        """Every backend's last capacity report."""
        with self.services.db.read() as session:
            return backends.find_all(session)

    def _volume_settled(self, volume_id: str, passing: set[str] | frozenset[str]) -> bool:
        with self.services.db.read() as session:
            volume = volumes.find(session, volume_id)
        return volume is None or volume.status not in passing

    def _snapshot_settled(self, snapshot_id: str, passing: set[str]) -> bool:
        with self.services.db.read() as session:
            snapshot = snapshots.find(session, snapshot_id)
        return snapshot is None or snapshot.status not in passing

    @property
    def _image_store(self) -> store.ImageStore:
        assert self.services.image_store is not None, "wiring.build makes the image store"
        return self.services.image_store

    def _image_caches(self, backend: str | None) -> list[cache.ImageVolumeCache]:
        managers = self.services.managers
        if backend is not None and backend not in managers:
            raise errors.BackendNotFound(backend=backend)
        chosen = [managers[backend]] if backend else list(managers.values())
        return [m.image_volume_cache for m in chosen if m.image_volume_cache is not None]

    def _scope(self, context: RequestContext | None) -> str | None:
        ctx = context or self.context
        return None if ctx.is_admin else ctx.project_id
