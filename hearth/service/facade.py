"""The library facade: ``Hearth`` opens a data directory and offers the volume API in-process.

It sits at the top of the data path, with the CLI and the HTTP API as its callers: each
method checks the request and writes rows through a service module (``requests`` for
volumes and snapshots, ``idempotency`` for repeated creates, ``updates`` for changes,
``maintenance`` for audits), then casts the work on the bus (creates to the scheduler, the
rest to the volume's backend). With ``wait=True`` (the default) it returns the row once
the work has ended (``watch``), or raises WaitTimedOut after ``timeout`` seconds (default
``[service] wait_timeout_seconds``; the work goes on); with ``wait=False`` at once, the row
still ``creating``/``deleting``. The operations on images, volume types and user messages, which
cast nothing, are its part ``catalog``.

    with Hearth.open("./hearth-data") as hearth:
        volume = hearth.create_volume(size=1, name="first")
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from hearth import config, errors, notifications
from hearth.context import RequestContext
from hearth.db import models, snapshots, statuses, volumes
from hearth.db.rows import Page
from hearth.service import (
    actions,
    backups,
    cascade,
    catalog,
    idempotency,
    image_changes,
    legacy_attach,
    maintenance,
    names,
    operator,
    requests,
    type_catalog,
    updates,
    watch,
    wiring,
)
from hearth.volume import failed_create, scheduling


class Hearth(
    catalog.Catalog,
    backups.Backups,
    legacy_attach.LegacyAttachOperations,
    operator.Operator,
    actions.Actions,
    type_catalog.TypeCatalog,
    image_changes.ImageChanges,
    cascade.CascadeDelete,
):
    """Hearth in one process, on the settings it was opened with."""

    def __init__(self, services: wiring.Services, context: RequestContext) -> None:
        self.services = services
        self.context = context
        self._watch = watch.StatusWatch(
            services.db, down_after=services.settings.scheduler.backend_down_after
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
        serve: bool | None = None,
    ) -> Hearth:
        """Open (and on first use, create) a Hearth data directory.

        ``serve``: run the scheduler and the backends' managers in this process. Default:
        yes with the in-process memory:// bus, no with a broker (``hearth serve`` processes
        do the work). ``serve=False`` suits reading only: it serves nothing and takes up
        nothing (no reconciliation, no recovery of dead uploads), so it opens beside a
        running ``hearth serve`` whatever the bus, and leaves that process's work alone.
        """
        chosen = settings or config.load(data_dir=data_dir, config_file=config_file)
        services = wiring.build(
            chosen,
            roles=None if serve is None else (wiring.ALL_ROLES if serve else ()),
            extra_notification_drivers=extra_notification_drivers,
        )
        try:
            services.start(recover=serve is not False)
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
        timeout: float | None = None,
        idempotency_key: idempotency.Key | None = None,
        on_created: Callable[[models.Volume], None] | None = None,
        **fields: Any,
    ) -> models.Volume:
        """Create a volume; returns its row once the create has ended (``available``, or
        ``error`` with a user message saying why), or at once with ``wait=False``.

        ``fields``: name, description, volume_type, availability_zone, snapshot_id,
        source_volid, image_id (an id, or a name one visible image has), backup_id,
        metadata. ``idempotency_key``: a repeat of the same request with the same key returns
        the volume the first one made (another request with it: IdempotencyKeyReused).
        ``on_created`` gets the new row once its request is on the bus (to follow it).
        ``timeout``: seconds to wait before WaitTimedOut (default ``[service]
        wait_timeout_seconds``), as for every wait below.
        """
        ctx = context or self.context
        settings = self.services.settings
        request = requests.VolumeRequest(size=size, **fields)
        key = idempotency.for_request(
            idempotency_key, dataclasses.asdict(request), settings.api.idempotency_ttl
        )
        volume_id, request_spec = idempotency.create_once(
            self.services.db,
            ctx,
            key,
            lambda session: requests.new_volume(session, ctx, request, settings),
        )
        if request_spec is None:
            return idempotency.replayed_volume(self.services.db, ctx, volume_id)
        try:
            self.services.scheduler_api.create_volume(
                ctx, volume_id, request_spec, scheduling.FilterProperties()
            )
        except errors.BusUnavailable as exc:
            failed_create.error_out(self.services.db, ctx, volume_id, exc)
            raise
        if on_created is not None:  # after the cast: a follower times waits from here
            on_created(self.get_volume(volume_id, context=ctx))
        if wait:
            self._watch.until_volume_leaves(
                volume_id, statuses.CREATE_IN_PROGRESS, timeout=self._timeout(timeout)
            )
        return self.get_volume(volume_id, context=ctx)

    def get_volume(self, volume_id: str, *, context: RequestContext | None = None) -> models.Volume:
        """A volume of the caller's project (any project for admins)."""
        with self.services.db.read() as session:
            scope = self._visible(context)
            return volumes.get(session, volume_id, project_id=scope, with_type=True)

    def find_volume(
        self, id_or_name: str, *, field: str | None = None, context: RequestContext | None = None
    ) -> models.Volume:
        """A volume the caller may see, by id or by a name only one such volume has
        (AmbiguousName lists the ids otherwise). Not found: VolumeNotFound, or, with
        ``field`` (the option that gave the value), InvalidReference naming it."""
        with self.services.db.read() as session:
            return names.volume(session, context or self.context, id_or_name, field=field)

    def list_volumes(
        self, *, context: RequestContext | None = None, name: str | None = None
    ) -> Sequence[models.Volume]:
        """The caller's volumes (every project's for admins), oldest first."""
        with self.services.db.read() as session:
            scope = self._visible(context)
            return volumes.find_all(session, project_id=scope, name=name, with_type=True)

    def list_volumes_page(
        self,
        page: Page,
        *,
        filters: Mapping[str, Any] | None = None,
        metadata: Mapping[str, str] | None = None,
        all_projects: bool = False,
        context: RequestContext | None = None,
    ) -> Sequence[models.Volume]:
        """One page of volumes whose columns equal ``filters`` (name, status,
        availability_zone, bootable, size) and whose metadata holds ``metadata``: the
        caller's project's (every project's for an admin asking ``all_projects``)."""
        scope = self._list_scope(context, all_projects)
        given = dict(filters or {})
        project = given.pop("project_id", None)  # an admin's list of one other project
        scope = project if scope is None and project else scope
        wanted = volumes.Filters(project_id=scope, metadata=metadata or {}, **given)
        with self.services.db.read() as session:
            return volumes.find_page(
                session, wanted, page.sort, limit=page.limit, marker=page.marker, offset=page.offset
            )

    def update_volume(
        self, volume_id: str, changes: Mapping[str, Any], *, context: RequestContext | None = None
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
        self,
        volume_id: str,
        *,
        context: RequestContext | None = None,
        wait: bool = True,
        timeout: float | None = None,
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
            self._watch.until_volume_leaves(
                volume_id, {statuses.VolumeStatus.DELETING}, timeout=self._timeout(timeout)
            )

    def extend_volume(
        self,
        volume_id: str,
        new_size: Any,
        *,
        context: RequestContext | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> models.Volume:
        """Grow an available volume to ``new_size`` GiB."""
        ctx = context or self.context
        max_size = self.services.settings.limits.max_volume_size_gb
        with self.services.db.transaction() as session:
            volume = requests.begin_volume_extend(
                session, ctx, volume_id, new_size, max_size, self.services.settings.quotas
            )
        assert volume.host is not None
        self.services.volume_api.extend_volume(ctx, volume.host, volume_id, int(new_size))
        if wait:
            self._watch.until_volume_leaves(
                volume_id, {statuses.VolumeStatus.EXTENDING}, timeout=self._timeout(timeout)
            )
        return self.get_volume(volume_id, context=ctx)

    def volume_path(self, volume_id: str) -> Path:
        """Where a volume's bytes live on this host (to attach or inspect them)."""
        return maintenance.volume_path(self.services, self.get_volume(volume_id))

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
        timeout: float | None = None,
    ) -> models.Snapshot:
        """Snapshot an available volume; returns the snapshot once it has ended."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            snapshot = requests.new_snapshot(
                session,
                ctx,
                volume_id,
                name,
                description,
                metadata,
                quota_settings=self.services.settings.quotas,
            )
            host = volumes.get(session, volume_id).host
        assert host is not None, "only a placed, available volume can be snapshotted"
        self.services.volume_api.create_snapshot(ctx, host, snapshot.id)
        if wait:
            self._watch.until_snapshot_leaves(
                snapshot.id, {statuses.SnapshotStatus.CREATING}, timeout=self._timeout(timeout)
            )
        return self.get_snapshot(snapshot.id, context=ctx)

    def get_snapshot(
        self, snapshot_id: str, *, context: RequestContext | None = None
    ) -> models.Snapshot:
        """A snapshot of the caller's project (any project for admins)."""
        with self.services.db.read() as session:
            return snapshots.get(session, snapshot_id, project_id=self._visible(context))

    def find_snapshot(
        self, id_or_name: str, *, field: str | None = None, context: RequestContext | None = None
    ) -> models.Snapshot:
        """A snapshot the caller may see, by id or by a unique name (as :meth:`find_volume`)."""
        with self.services.db.read() as session:
            return names.snapshot(session, context or self.context, id_or_name, field=field)

    def find_backup_source(
        self, id_or_name: str, *, field: str | None = None, context: RequestContext | None = None
    ) -> models.Backup:
        """A backup the caller may see, by id or by a unique name (as :meth:`find_volume`):
        what ``hearth volume create --backup`` names."""
        with self.services.db.read() as session:
            return names.backup(session, context or self.context, id_or_name, field=field)

    def list_snapshots(
        self, *, context: RequestContext | None = None, volume_id: str | None = None
    ) -> Sequence[models.Snapshot]:
        """The caller's snapshots, oldest first."""
        with self.services.db.read() as session:
            scope = self._visible(context)
            return snapshots.find_all(session, project_id=scope, volume_id=volume_id)

    def list_snapshots_page(
        self,
        page: Page,
        *,
        filters: Mapping[str, Any] | None = None,
        metadata: Mapping[str, str] | None = None,
        all_projects: bool = False,
        context: RequestContext | None = None,
    ) -> Sequence[models.Snapshot]:
        """One page of snapshots whose columns equal ``filters`` (name, status, volume_id)
        and whose metadata holds ``metadata``: the caller's project's (every project's for
        an admin asking ``all_projects``)."""
        scope = self._list_scope(context, all_projects)
        with self.services.db.read() as session:
            return snapshots.find_page(
                session,
                page.sort,
                project_id=scope,
                filters=filters,
                metadata=metadata,
                limit=page.limit,
                marker=page.marker,
                offset=page.offset,
            )

    def update_snapshot(
        self, snapshot_id: str, changes: Mapping[str, Any], *, context: RequestContext | None = None
    ) -> models.Snapshot:
        """Change a snapshot's name, description or metadata."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            updates.update_snapshot(session, ctx, snapshot_id, changes)
        return self.get_snapshot(snapshot_id, context=ctx)

    def delete_snapshot(
        self,
        snapshot_id: str,
        *,
        context: RequestContext | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> None:
        """Delete a snapshot."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            snapshot = requests.begin_snapshot_delete(session, ctx, snapshot_id)
            host = volumes.get(session, snapshot.volume_id).host
        assert host is not None, "a snapshot's volume is placed"
        self.services.volume_api.delete_snapshot(ctx, host, snapshot_id)
        if wait:
            self._watch.until_snapshot_leaves(
                snapshot_id, {statuses.SnapshotStatus.DELETING}, timeout=self._timeout(timeout)
            )

    def waiting_for(self, kind: watch.Kind, row_id: str) -> watch.Blocker | None:
        """What a volume's or snapshot's work in progress waits for while nothing moves it
        (the scheduler, or a backend not seen lately); None when its backend is alive."""
        return self._watch.blocker(kind, row_id)

    def _timeout(self, timeout: float | None) -> float:
        return self.services.settings.service.wait_timeout_seconds if timeout is None else timeout

    def _list_scope(self, context: RequestContext | None, all_projects: bool) -> str | None:
        ctx = context or self.context
        return None if ctx.is_admin and all_projects else ctx.project_id
