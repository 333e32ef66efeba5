"""The backup part of the library facade: create, list, show, delete, restore, reset,
export and import backups.

``Hearth`` (``facade``) inherits these operations. Each checks the request and writes the
rows through ``backup_requests`` in one transaction, then casts the work to a backup
service (``hearth.backup_service.rpcapi``). With ``wait=True`` (the default) a method
returns once the work has ended, or raises WaitTimedOut after ``timeout`` seconds (the
work goes on); with ``wait=False`` at once.

    backup = hearth.create_backup(volume.id, name="nightly")
    hearth.restore_backup(backup.id, volume_id=other.id)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from hearth import errors
from hearth.backup import catalog, manifest
from hearth.backup_service import rpcapi, state
from hearth.context import RequestContext
from hearth.db import backups, models, statuses, volumes
from hearth.db.rows import Page
from hearth.service import backup_requests, watch, wiring

Backup = statuses.BackupStatus


class Backups:
    """Hearth's operations on backups."""

    services: wiring.Services
    context: RequestContext

    _watch: watch.StatusWatch
    create_volume: Callable[..., models.Volume]
    """The facade's (a restore to a new volume makes it through the create flow)."""

    def create_backup(
        self,
        volume_id: Any,
        *,
        name: Any = None,
        description: Any = None,
        incremental: Any = False,
        force: Any = False,
        snapshot_id: Any = None,
        container: Any = None,
        metadata: Any = None,
        availability_zone: Any = None,
        context: RequestContext | None = None,
        wait: bool = True,
        timeout: float | None = None,
        on_created: Callable[[models.Backup], None] | None = None,
    ) -> models.Backup:
        """Back up an available volume (``in-use`` with ``force``), or one of its snapshots;
        ``incremental`` builds on its newest available backup. Returns the backup once it
        is ``available`` (or ``error``, with a user message), or at once with ``wait=False``.
        ``on_created`` gets the new row once its request is on the bus."""
        ctx = context or self.context
        request = backup_requests.BackupRequest(
            volume_id,
            name,
            description,
            incremental,
            force,
            snapshot_id,
            container,
            metadata,
            availability_zone,
        )
        with self.services.db.transaction() as session:
            backup = backup_requests.new_backup(session, ctx, request, self.services.settings)
        self._backup_api.create_backup(ctx, backup.id)
        if on_created is not None:
            on_created(self.get_backup(backup.id, context=ctx))
        if wait:
            self._until_backup_leaves(backup.id, {Backup.CREATING}, timeout)
        return self.get_backup(backup.id, context=ctx)

    def get_backup(self, backup_id: str, *, context: RequestContext | None = None) -> models.Backup:
        """A backup of the caller's project (any project for admins)."""
        with self.services.db.read() as session:
            scope = (context or self.context).visible_project
            return backups.get(session, backup_id, project_id=scope)

    def find_backup(
        self, id_or_name: str, *, context: RequestContext | None = None
    ) -> models.Backup:
        """A backup the caller may see, by id or by a name only one such backup has
        (AmbiguousName lists the ids otherwise; BackupNotFound)."""
        scope = (context or self.context).visible_project
        with self.services.db.read() as session:
            found = backups.find(session, id_or_name, project_id=scope)
            if found is not None:
                return found
            named = backups.find_page(
                session, (("created_at", False),), project_id=scope, filters={"name": id_or_name}
            )
        if not named:
            raise errors.BackupNotFound(backup_id=id_or_name)
        if len(named) > 1:
            raise errors.AmbiguousName(
                field="backup",
                count=len(named),
                kind="backup",
                name=id_or_name,
                ids=", ".join(b.id for b in named),
            )
        return named[0]

    def list_backups_page(
        self,
        page: Page,
        *,
        filters: Mapping[str, Any] | None = None,
        all_projects: bool = False,
        context: RequestContext | None = None,
    ) -> Sequence[models.Backup]:
        """One page of backups whose columns equal ``filters`` (name, status, volume_id):
        the caller's project's (every project's for an admin asking ``all_projects``)."""
        ctx = context or self.context
        scope = None if ctx.is_admin and all_projects else ctx.project_id
        with self.services.db.read() as session:
            return backups.find_page(
                session,
                page.sort,
                project_id=scope,
                filters=filters,
                limit=page.limit,
                marker=page.marker,
            )

    def count_backups(
        self,
        *,
        filters: Mapping[str, Any] | None = None,
        all_projects: bool = False,
        context: RequestContext | None = None,
    ) -> int:
        """How many backups :meth:`list_backups_page` would list without paging."""
        ctx = context or self.context
        scope = None if ctx.is_admin and all_projects else ctx.project_id
        with self.services.db.read() as session:
            return backups.count(session, project_id=scope, filters=filters)

    def list_backups(
        self, *, volume_id: str | None = None, context: RequestContext | None = None
    ) -> Sequence[models.Backup]:
        """The caller's backups (every project's for admins), oldest first."""
        with self.services.db.read() as session:
            scope = (context or self.context).visible_project
            return backups.find_all(session, project_id=scope, volume_id=volume_id)

    def update_backup(
        self, backup_id: str, changes: Mapping[str, Any], *, context: RequestContext | None = None
    ) -> models.Backup:
        """Change a backup's name, description or metadata."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            backup_requests.update(session, ctx, backup_id, dict(changes))
        return self.get_backup(backup_id, context=ctx)

    def count_dependent_backups(self, backup_id: str) -> int:
        """How many incremental backups build on this one."""
        with self.services.db.read() as session:
            return backups.count_children(session, backup_id)

    def delete_backup(
        self,
        backup_id: str,
        *,
        force: bool = False,
        context: RequestContext | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> None:
        """Delete an available or failed backup no incremental backup depends on (an admin's
        ``force`` also takes it from ``deleting``/``error_deleting``)."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            backup_requests.begin_delete(session, ctx, backup_id, force=force)
        self._backup_api.delete_backup(ctx, backup_id)
        if wait:
            self._until_backup_leaves(backup_id, {Backup.DELETING}, timeout)

    def restore_backup(
        self,
        backup_id: str,
        *,
        volume_id: Any = None,
        name: Any = None,
        context: RequestContext | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> models.Volume:
        """Write a backup into an available volume of at least its size, or (no
        ``volume_id``) into a new volume of its size named ``name`` (Cinder's default:
        ``restore_backup_<id>``). Returns the volume, once ``available`` (or
        ``error_restoring``) with ``wait``, else at once."""
        ctx = context or self.context
        if volume_id is None:
            return self._restore_to_new_volume(ctx, backup_id, name, wait, timeout)
        with self.services.db.transaction() as session:
            backup_requests.begin_restore(session, ctx, backup_id, volume_id)
        self._backup_api.restore_backup(ctx, backup_id, volume_id)
        if wait:
            self._until_backup_leaves(backup_id, {Backup.RESTORING}, timeout)
        with self.services.db.read() as session:
            return volumes.get(session, volume_id, with_type=True)

    def reset_backup_status(
        self, backup_id: str, status: Any, *, context: RequestContext | None = None
    ) -> None:
        """An admin sets a backup's status to ``available`` or ``error``."""
        with self.services.db.transaction() as session:
            backup_requests.reset_status(session, context or self.context, backup_id, status)

    def export_backup_record(
        self, backup_id: str, *, context: RequestContext | None = None
    ) -> dict[str, str]:
        """An admin's export of an available backup (``backup_service``, ``backup_url``)."""
        with self.services.db.read() as session:
            return backup_requests.export_record(session, context or self.context, backup_id)

    def import_backup_record(
        self, backup_service: Any, backup_url: Any, *, context: RequestContext | None = None
    ) -> models.Backup:
        """An admin's import of an exported record: ``available`` if the repository holds
        the backup's manifest, else refused (InvalidInput) and nothing is created."""
        driver = self.services.settings.backup.driver
        ctx = context or self.context
        record = backup_requests.decode_record(ctx, backup_service, backup_url, driver)
        with self.services.db.read() as session:
            if backups.find(session, record["id"]) is not None:
                raise errors.Conflict(reason=f"Backup {record['id']} already exists.")
        record["object_count"] = len(self._import_manifest(record).chunk_keys())
        with self.services.db.transaction() as session:
            return backup_requests.new_imported(session, record)

    def _import_manifest(self, record: dict[str, Any]) -> manifest.Manifest:
        """The manifest of an imported record's id: its own, or (a record given a new id,
        as Tempest's import test does) a copy of the exported backup's under the new id,
        naming the same chunks. InvalidInput when the repository holds neither."""
        repository = self.services.backup_repository()
        source = str(record.get("service_metadata") or record["id"])
        with self.services.locks.hold(state.repository_lock(repository)):  # no sweep now
            for backup_id in dict.fromkeys((record["id"], source)):
                try:
                    found = catalog.load(repository, backup_id)
                except errors.BackupNotFound:
                    continue
                if backup_id != record["id"]:
                    copied = dataclasses.replace(found, backup_id=record["id"])
                    repository.put("manifest", record["id"], manifest.encode(copied))
                return found
        raise errors.InvalidInput(
            field="backup_url", reason=f"the repository holds no backup {source}"
        )

    @property
    def _backup_api(self) -> rpcapi.BackupAPI:
        assert self.services.backup_api is not None, "wiring.build always makes it"
        return self.services.backup_api

    def _restore_to_new_volume(
        self,
        ctx: RequestContext,
        backup_id: str,
        name: Any,
        wait: bool,
        timeout: float | None,
    ) -> models.Volume:
        """A restore into a new volume is a create from the backup (the seed flow's
        ``backup`` source): the volume row and the backup's hold are one transaction, and
        the create's reconciliation makes it crash-safe like every other create."""
        with self.services.db.read() as session:
            backup = backups.get(session, backup_id, project_id=ctx.visible_project)
        return self.create_volume(
            backup.size,
            name=name if name is not None else f"restore_backup_{backup.id}",
            backup_id=backup.id,
            context=ctx,
            wait=wait,
            timeout=timeout,
        )

    def _until_backup_leaves(
        self, backup_id: str, passing: Collection[str], timeout: float | None
    ) -> None:
        chosen = self.services.settings.service.wait_timeout_seconds if timeout is None else timeout

        def left() -> bool:
            with self.services.db.read() as session:
                row = backups.find(session, backup_id)
            return row is None or row.status not in passing

        if not self._watch.wait(backup_id, left, chosen):
            with self.services.db.read() as session:
                row = backups.find(session, backup_id)
            raise errors.WaitTimedOut(
                kind="backup",
                resource_id=backup_id,
                status="gone" if row is None else row.status,
                timeout=chosen,
                waiting_for="the backup service is at work",
            )
