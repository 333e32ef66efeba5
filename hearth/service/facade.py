"""The library facade: ``Hearth`` opens a data directory and offers the volume API in-process.

It sits at the top of the data path, with the CLI and the HTTP API as its callers: each
method checks the request and writes rows through ``hearth.service.requests`` (images:
``image_requests``), then casts the work on the bus (creates to the scheduler, the rest to
the volume's backend); image uploads go to the image store. With ``wait=True`` (the
default) it returns the row once the work has ended; with ``wait=False`` at once, the row
still ``creating``/``deleting``.

    with Hearth.open("./hearth-data") as hearth:
        volume = hearth.create_volume(size=1, name="first")

Over 500 lines: it is the whole library API, one short method per operation, and splitting
it would split the one class users and the HTTP API call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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
from hearth.db.rows import SortKey
from hearth.image import cache, store
from hearth.service import idempotency, image_requests, requests, updates, watch, wiring
from hearth.volume import audit, failed_create, scheduling
from hearth.volume.drivers import file


@dataclass(frozen=True)
class Usage:
    """What one project holds."""

    volumes: int
    gigabytes: int
    snapshots: int


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
        idempotency_key: idempotency.Key | None = None,
        on_created: Callable[[models.Volume], None] | None = None,
        **fields: Any,
    ) -> models.Volume:
        """Create a volume; returns its row once the create has ended (``available``, or
        ``error`` with a user message saying why), or at once with ``wait=False``.

        ``fields``: name, description, volume_type, availability_zone, snapshot_id,
        source_volid, image_id (an id, or a name one visible image has), backup_id,
        metadata. ``idempotency_key``: a repeat of the same request with the same key returns
        the volume the first one made. ``on_created`` gets the new row before the backend
        work starts (to follow its progress).
        """
        ctx = context or self.context
        request = requests.VolumeRequest(size=size, **fields)
        try:
            volume_id, request_spec = self._insert_volume(ctx, request, idempotency_key)
        except errors.Conflict:
            if idempotency_key is None:
                raise
            # a twin with the same key committed first: answer what it made
            volume_id, request_spec = self._insert_volume(ctx, request, idempotency_key)
        if request_spec is None:
            return self._replayed_volume(volume_id, ctx)
        if on_created is not None:
            on_created(self.get_volume(volume_id, context=ctx))
        try:
            self.services.scheduler_api.create_volume(
                ctx, volume_id, request_spec, scheduling.FilterProperties()
            )
        except errors.BusUnavailable as exc:
            failed_create.error_out(self.services.db, ctx, volume_id, exc)
            raise
        if wait:
            self._watch.wait(
                volume_id, lambda: self._volume_settled(volume_id, statuses.CREATE_IN_PROGRESS)
            )
        return self.get_volume(volume_id, context=ctx)

    def _insert_volume(
        self,
        ctx: RequestContext,
        request: requests.VolumeRequest,
        key: idempotency.Key | None,
    ) -> tuple[str, scheduling.RequestSpec | None]:
        """The new volume's id and request spec; or an earlier volume's id and None."""
        with self.services.db.transaction() as session:
            earlier = key and idempotency.earlier_resource(session, ctx, key)
            if earlier:
                return earlier, None
            volume, request_spec = requests.new_volume(
                session, ctx, request, self.services.settings
            )
            if key is not None:
                idempotency.remember(session, ctx, key, volume.id)
        return volume.id, request_spec

    def _replayed_volume(self, volume_id: str, ctx: RequestContext) -> models.Volume:
        try:
            return self.get_volume(volume_id, context=ctx)
        except errors.VolumeNotFound:
            raise errors.Conflict(
                reason=f"The volume {volume_id} created with this Idempotency-Key has been "
                "deleted; use a new key to create another."
            ) from None

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

    def list_volumes_page(
        self,
        filters: volumes.Filters,
        sort: Sequence[SortKey],
        *,
        context: RequestContext | None = None,
        limit: int | None = None,
        marker: str | None = None,
    ) -> Sequence[models.Volume]:
        """One page of volumes (see ``volumes.find_page``); a non-admin's filters are
        always narrowed to their own project."""
        ctx = context or self.context
        if not ctx.is_admin:
            filters = dataclasses.replace(filters, project_id=ctx.project_id)
        with self.services.db.read() as session:
            return volumes.find_page(session, filters, sort, limit=limit, marker=marker)

    def update_volume(
        self,
        volume_id: str,
        changes: Mapping[str, Any],
        *,
        context: RequestContext | None = None,
    ) -> models.Volume:
        """Change a volume's name, description or metadata (replaced whole)."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            updates.update_volume(session, ctx, volume_id, changes)
        return self.get_volume(volume_id, context=ctx)

    def set_volume_metadata(
        self,
        volume_id: str,
        metadata: Any,
        *,
        replace: bool = False,
        context: RequestContext | None = None,
    ) -> dict[str, str]:
        """Merge metadata items into a volume's (all replaced with ``replace``); returns
        the volume's metadata afterwards."""
        with self.services.db.transaction() as session:
            return updates.set_volume_metadata(
                session, context or self.context, volume_id, metadata, replace=replace
            )

    def delete_volume_metadata(
        self, volume_id: str, key: str, *, context: RequestContext | None = None
    ) -> None:
        """Remove one metadata item of a volume."""
        with self.services.db.transaction() as session:
            updates.delete_volume_metadata(session, context or self.context, volume_id, key)

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
        metadata: Any = None,
        context: RequestContext | None = None,
        wait: bool = True,
    ) -> models.Snapshot:
        """Snapshot an available volume; returns the snapshot once it has ended."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            snapshot = requests.new_snapshot(session, ctx, volume_id, name, description, metadata)
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

    def list_snapshots_page(
        self,
        sort: Sequence[SortKey],
        *,
        context: RequestContext | None = None,
        all_projects: bool = False,
        filters: Mapping[str, Any] | None = None,
        metadata: Mapping[str, str] | None = None,
        limit: int | None = None,
        marker: str | None = None,
    ) -> Sequence[models.Snapshot]:
        """One page of snapshots: the caller's project's (every project's for an admin
        asking ``all_projects``), filtered by name, status or volume_id and metadata."""
        scope = self._list_scope(context, all_projects)
        with self.services.db.read() as session:
            return snapshots.find_page(
                session,
                sort,
                project_id=scope,
                filters=filters,
                metadata=metadata,
                limit=limit,
                marker=marker,
            )

    def update_snapshot(
        self,
        snapshot_id: str,
        changes: Mapping[str, Any],
        *,
        context: RequestContext | None = None,
    ) -> models.Snapshot:
        """Change a snapshot's name, description or metadata."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            updates.update_snapshot(session, ctx, snapshot_id, changes)
        return self.get_snapshot(snapshot_id, context=ctx)

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
        row = self.register_image(
            name,
            disk_format=disk_format,
            container_format=container_format,
            min_disk=min_disk,
            min_ram=min_ram,
            visibility=visibility,
            properties=properties,
            context=context,
        )
        source = store.Source(file=Path(file) if file is not None else None, url=url)
        return self._image_store.upload(row.id, source)

    def register_image(
        self,
        name: str,
        *,
        disk_format: str,
        container_format: str = "bare",
        min_disk: int = 0,
        min_ram: int = 0,
        visibility: str = images.PRIVATE,
        properties: dict[str, str] | None = None,
        context: RequestContext | None = None,
    ) -> models.Image:
        """Record an image without its bytes (``queued``), for :meth:`upload_image` later
        (the Image API's two steps); fields are checked as :meth:`create_image` does."""
        request = image_requests.ImageRequest(
            name, disk_format, container_format, min_disk, min_ram, visibility, properties
        )
        with self.services.db.transaction() as session:
            return image_requests.new_image(session, context or self.context, request)

    def upload_image(
        self, image_id: str, stream: store.Reader, *, context: RequestContext | None = None
    ) -> models.Image:
        """Receive the bytes of a ``queued`` image of the caller's project from ``stream``
        and return it ``active``. Not queued: InvalidStatus. Rejected bytes (unsafe, not
        the declared format, too big): the error is raised and the image is removed."""
        with self.services.db.transaction() as session:
            row = image_requests.for_upload(session, context or self.context, image_id)
        return self._image_store.upload(row.id, store.Source(stream=stream))

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
        context: RequestContext | None = None,
    ) -> models.VolumeType:
        """Add a volume type (admins only)."""
        if not (context or self.context).is_admin:
            raise errors.Forbidden(action="create volume types")
        extra_specs = requests.metadata_dict(extra_specs, field="extra_specs")
        if not isinstance(name, str) or not name or len(name) > requests.MAX_NAME_LENGTH:
            raise errors.InvalidInput(field="name", reason="must be 1 to 255 characters")
        with self.services.db.transaction() as session:
            return volume_types.create(
                session,
                name=name,
                description=description,
                extra_specs=dict(extra_specs or {}),
                is_public=is_public,
            )

    def list_volume_types(
        self, *, context: RequestContext | None = None
    ) -> Sequence[models.VolumeType]:
        """The volume types the caller may use: every one for admins, public ones else."""
        admin = (context or self.context).is_admin
        with self.services.db.read() as session:
            return [t for t in volume_types.find_all(session) if admin or t.is_public]

    def get_volume_type(
        self, name_or_id: str, *, context: RequestContext | None = None
    ) -> models.VolumeType:
        """One volume type by id or name (a private one for admins only)."""
        with self.services.db.read() as session:
            found = volume_types.get(session, name_or_id)
        if not (found.is_public or (context or self.context).is_admin):
            raise errors.VolumeTypeNotFound(volume_type=name_or_id)
        return found

    def set_extra_specs(
        self,
        name_or_id: str,
        specs: Any,
        *,
        replace: bool = False,
        context: RequestContext | None = None,
    ) -> dict[str, str]:
        """Merge extra specs into a volume type (admins only); returns all of them."""
        with self.services.db.transaction() as session:
            return updates.set_extra_specs(
                session, context or self.context, name_or_id, specs, replace=replace
            )

    def delete_extra_spec(
        self, name_or_id: str, key: str, *, context: RequestContext | None = None
    ) -> None:
        """Remove one extra spec of a volume type (admins only)."""
        with self.services.db.transaction() as session:
            updates.delete_extra_spec(session, context or self.context, name_or_id, key)

    def delete_volume_type(self, name_or_id: str, *, context: RequestContext | None = None) -> None:
        """Remove a volume type that no volume uses (admins only)."""
        if not (context or self.context).is_admin:
            raise errors.Forbidden(action="delete volume types")
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

    def list_messages_page(
        self,
        sort: Sequence[SortKey],
        *,
        context: RequestContext | None = None,
        filters: Mapping[str, Any] | None = None,
        limit: int | None = None,
        marker: str | None = None,
    ) -> Sequence[models.UserMessage]:
        """One page of the caller's project's user messages."""
        with self.services.db.read() as session:
            return user_messages.find_page(
                session,
                sort,
                project_id=self._scope(context),
                filters=filters,
                limit=limit,
                marker=marker,
            )

    def get_message(
        self, message_id: str, *, context: RequestContext | None = None
    ) -> models.UserMessage:
        """One user message of the caller's project."""
        with self.services.db.read() as session:
            return user_messages.get(session, message_id, project_id=self._scope(context))

    def delete_message(self, message_id: str, *, context: RequestContext | None = None) -> None:
        """Remove a user message of the caller's project."""
        with self.services.db.transaction() as session:
            user_messages.get(session, message_id, project_id=self._scope(context))
            user_messages.delete(session, message_id)

    def usage(self, *, context: RequestContext | None = None) -> Usage:
        """What the caller's project holds: volumes, their GiB, snapshots."""
        project = (context or self.context).project_id
        with self.services.db.read() as session:
            held = volumes.find_all(session, project_id=project)
            count = len(snapshots.find_all(session, project_id=project))
        return Usage(len(held), sum(v.size for v in held), count)

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

    def _list_scope(self, context: RequestContext | None, all_projects: bool) -> str | None:
        ctx = context or self.context
        return None if ctx.is_admin and all_projects else ctx.project_id

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
