"""The backup manager: one backup service's work on the rows the request layer started.

Each operation reads its row, does the data work through ``hearth.backup`` and records the
outcome in one transaction with its notification (``backup.<action>.start/.end``, and
``.error`` with a user message on failure):

- ``create_backup``: a ``creating`` backup of a ``backing-up`` volume (or of a snapshot)
  becomes ``available``, or ``error`` with ``fail_reason``; the volume returns to the
  status it had;
- ``restore_backup``: a ``restoring`` backup is written into a ``restoring-backup`` volume
  (a new volume is waited for until its create ends); the volume becomes ``available``, or
  ``error_restoring``; the backup returns to ``available`` (``error`` if it is corrupt);
- ``delete_backup``: a ``deleting`` backup's manifest and unshared chunks go, then its row;
  a failure leaves ``error_deleting``.

Writing a backup and sweeping chunks hold the repository's lock (``catalog`` says why);
restores only read. Work on one backup runs once at a time here (a message and recovery
may both ask for it). The service holds ``backup-service-<name>`` while it serves:
whoever takes it may recover what the last holder left (``recovery``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hearth import config, coordination, errors, messages
from hearth.backup import catalog, engine, restore
from hearth.backup.drivers.base import BackupRepository
from hearth.backup_service import files, recovery, state
from hearth.context import RequestContext
from hearth.db import backup_services, backups, models, snapshots, statuses, volumes
from hearth.db.session import Database
from hearth.notifications import events
from hearth.volume.drivers import base

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

LOG = logging.getLogger(__name__)
MiB = 1 << 20
PROGRESS_INTERVAL = 0.5
"""Seconds between two writes of a backup's ``progress``."""
Backup = statuses.BackupStatus
Volume = statuses.VolumeStatus


class BackupManager:
    """One backup service, named ``[backup] service_name``."""

    def __init__(
        self,
        *,
        db: Database,
        locks: coordination.Locks,
        settings: config.BackupSettings,
        repository: Callable[[], BackupRepository],
        driver_for: Callable[[str], base.VolumeDriver],
    ) -> None:
        self.name = settings.service_name
        self.db = db
        self.locks = locks
        self.settings = settings
        self.repository = repository
        self.driver_for = driver_for
        self._slots = threading.BoundedSemaphore(settings.concurrent_operations)
        self._in_hand: set[str] = set()
        self._in_hand_lock = threading.Lock()
        self._ownership: coordination.Held | None = None
        self._stopping = threading.Event()

    # life cycle

    def init_host(self) -> None:
        """Become the only service of this name, report, then take up what a dead one left
        (in a thread: a restore may wait for a volume's create). BackendBusy if held."""
        lock = state.service_lock(self.name)
        self._ownership = self.locks.try_acquire(lock)
        if self._ownership is None:
            holder = self.locks.holder(lock)
            raise errors.BackendBusy(backend=f"backup service {self.name}", holder=holder)
        self.report()
        leftovers = recovery.recover(self)
        if leftovers:
            threading.Thread(
                target=self._resume, args=(leftovers,), name="backup-recovery", daemon=True
            ).start()

    def stop(self) -> None:
        """Stop serving (waits run by recovery give up)."""
        self._stopping.set()
        if self._ownership is not None:
            self._ownership.release()
            self._ownership = None

    def report(self) -> None:
        """The heartbeat: this service's row, refreshed now."""
        with self.db.transaction() as session:
            backup_services.report(
                session,
                self.name,
                availability_zone=self.settings.availability_zone,
                repository=self.settings.driver,
            )

    def report_quietly(self) -> None:
        try:
            self.report()
        except errors.HearthError as exc:  # the next heartbeat retries
            LOG.warning("heartbeat of backup service %s failed: %s", self.name, exc)

    def _resume(self, leftovers: list[recovery.Leftover]) -> None:
        for leftover in leftovers:
            try:
                leftover.run(self)
            except Exception:  # one leftover's failure must not stop the others
                LOG.exception("recovery of backup %s failed", leftover.backup_id)

    # create

    def create_backup(self, context: RequestContext, backup_id: str) -> None:
        """Back up the volume or snapshot of a ``creating`` backup; never raises."""
        with self._exclusive(backup_id) as mine:
            if mine:
                self._guarded(context, backup_id, messages.Action.CREATE_BACKUP, self._create)

    def _create(self, context: RequestContext, backup_id: str) -> None:
        with self.db.transaction() as session:
            backup = backups.get(session, backup_id)
            if backup.status != Backup.CREATING:
                LOG.info("backup %s is %s, not creating: dropped", backup_id, backup.status)
                return
            volume = volumes.get(session, backup.volume_id)
            source, snap_dir, snapshot = self._source(session, backup, volume)
            fields: dict[str, Any] = {"host": self.name, "service": self.settings.driver}
            fields["temp_snapshot_path"] = str(snap_dir) if snap_dir else None
            backups.update(session, backup_id, **fields)
            events.emit_backup(
                session, backups.get(session, backup_id), events.BACKUP_CREATE.start, host=self.name
            )
        repository = self.repository()
        lock = coordination.snapshot_delete_lock(snapshot) if snapshot else None
        try:
            with self._held(lock), self.locks.hold(state.repository_lock(repository)):
                if snap_dir is not None:
                    files.make_dir(snap_dir)
                result = engine.back_up(
                    source,
                    repository,
                    backup_id,
                    backup.parent_id,
                    snapshot_dir=snap_dir,
                    options=self._options(),
                    progress=self._progress_writer(backup_id, "backing-up"),
                )
        finally:
            files.remove(snap_dir)
        with self.db.transaction() as session:
            state.return_volume(session, backup)
            finished = backups.set_status(
                session,
                backup_id,
                Backup.AVAILABLE,
                expected=[Backup.CREATING],
                object_count=len(result.manifest.chunk_keys()),
                progress=None,
                temp_snapshot_path=None,
                volume_previous_status=None,
            )
            if finished:
                row = backups.get(session, backup_id)
                events.emit_backup(session, row, events.BACKUP_CREATE.end, host=self.name)
        LOG.info(
            "backup %s done: %d MiB read, %d chunks stored, %d deduplicated",
            backup_id,
            result.bytes_read // MiB,
            result.chunks_stored,
            result.chunks_deduplicated,
        )

    def _source(
        self, session: Session, backup: models.Backup, volume: models.Volume
    ) -> tuple[Path, Path | None, str | None]:
        """What the backup reads: (file, snapshot directory or None, snapshot id or None)."""
        if volume.host is None:
            raise errors.InvalidStatus(
                action="back up", kind="volume", resource_id=volume.id, status=volume.status
            )
        driver = self.driver_for(volume.host)
        if backup.snapshot_id is not None:
            snapshot = snapshots.get(session, backup.snapshot_id)
            return driver.snapshot_local_path(files.snapshot_ref(snapshot)), None, snapshot.id
        path = driver.local_path(files.volume_ref(volume))
        return path, files.snapshot_dir(path, backup.id), None

    def _options(self) -> engine.BackupOptions:
        return engine.BackupOptions(
            chunk_size=self.settings.chunk_size_mb * MiB,
            compression=self.settings.compression,
            workers=self.settings.workers,
        )

    # restore

    def restore_backup(self, context: RequestContext, backup_id: str, volume_id: str) -> None:
        """Write a ``restoring`` backup into the volume; never raises."""
        with self._exclusive(backup_id) as mine:
            if mine:
                self._guarded(
                    context,
                    backup_id,
                    messages.Action.RESTORE_BACKUP,
                    lambda ctx, bid: self._restore(ctx, bid, volume_id),
                )

    def _restore(self, context: RequestContext, backup_id: str, volume_id: str) -> None:
        with self.db.read() as session:
            backup = backups.get(session, backup_id)
        if backup.status != Backup.RESTORING or backup.restore_volume_id != volume_id:
            LOG.info("backup %s is not restoring into %s: dropped", backup_id, volume_id)
            return
        volume = self._target(volume_id)
        assert volume.host is not None  # an available volume is placed
        target = self.driver_for(volume.host).local_path(files.volume_ref(volume))
        temporary = files.restore_file(target, backup_id)
        with self.db.transaction() as session:
            backups.update(session, backup_id, host=self.name, temp_snapshot_path=str(temporary))
            row = backups.get(session, backup_id)
            events.emit_backup(session, row, events.BACKUP_RESTORE.start, host=self.name)
        try:
            restore.restore(
                self.repository(),
                backup_id,
                temporary,
                workers=self.settings.workers,
                progress=self._progress_writer(backup_id, "restoring"),
            )
            files.publish(temporary, target, volume.size * base.GiB)
        finally:
            files.remove(temporary)
        with self.db.transaction() as session:
            volumes.set_status(
                session, volume_id, Volume.AVAILABLE, expected=[Volume.RESTORING_BACKUP]
            )
            backups.set_status(
                session,
                backup_id,
                Backup.AVAILABLE,
                expected=[Backup.RESTORING],
                restore_volume_id=None,
                temp_snapshot_path=None,
                progress=None,
            )
            row = backups.get(session, backup_id)
            events.emit_backup(session, row, events.BACKUP_RESTORE.end, host=self.name)

    def _target(self, volume_id: str) -> models.Volume:
        """The restore's volume, ``restoring-backup`` (the request layer moved it there with
        the backup; an ``available`` one is moved here, one still being created is waited
        for up to ``[backup] restore_wait_seconds``)."""
        deadline = time.monotonic() + self.settings.restore_wait_seconds
        while True:
            with self.db.transaction() as session:
                volume = volumes.get(session, volume_id)
                if volume.status == Volume.RESTORING_BACKUP:
                    return volume
                if volume.status == Volume.AVAILABLE and volumes.set_status(
                    session, volume_id, Volume.RESTORING_BACKUP, expected=[Volume.AVAILABLE]
                ):
                    return volumes.get(session, volume_id)
                if volume.status not in statuses.CREATE_IN_PROGRESS:
                    raise errors.InvalidStatus(
                        action="restore into",
                        kind="volume",
                        resource_id=volume_id,
                        status=volume.status,
                    )
            if time.monotonic() > deadline or self._stopping.wait(0.2):
                raise errors.Interrupted(
                    action="restore", outcome="the new volume was not created in time"
                )

    # delete

    def delete_backup(self, context: RequestContext, backup_id: str) -> None:
        """Delete a ``deleting`` backup's data, then its row; never raises."""
        with self._exclusive(backup_id) as mine:
            if mine:
                self._guarded(context, backup_id, messages.Action.DELETE_BACKUP, self._delete)

    def _delete(self, context: RequestContext, backup_id: str) -> None:
        with self.db.transaction() as session:
            backup = backups.get(session, backup_id)
            if backup.status != Backup.DELETING:
                LOG.info("backup %s is %s, not deleting: dropped", backup_id, backup.status)
                return
            events.emit_backup(session, backup, events.BACKUP_DELETE.start, host=self.name)
        repository = self.repository()
        with self.locks.hold(state.repository_lock(repository)):
            try:
                freed = catalog.delete(repository, backup_id)
            except errors.BackupNotFound:  # it failed before its manifest, or went already
                freed = catalog.collect_garbage(repository)
        with self.db.transaction() as session:
            events.emit_backup(session, backup, events.BACKUP_DELETE.end, host=self.name)
            backups.delete(session, backup_id)
        LOG.info("backup %s deleted, %d chunks freed", backup_id, freed)

    # failures

    def _guarded(
        self,
        context: RequestContext,
        backup_id: str,
        action: messages.Action,
        work: Callable[[RequestContext, str], None],
    ) -> None:
        """Run ``work``; a failure is recorded (status, message, ``.error``), not raised."""
        with self._slots:
            try:
                work(context, backup_id)
            except Exception as exc:  # every failure ends in a recorded status
                LOG.error("%s %s failed: %s", action, backup_id, exc)
                self.record_failure(context, backup_id, action, exc)

    def record_failure(
        self,
        context: RequestContext,
        backup_id: str,
        action: messages.Action,
        error: BaseException,
    ) -> None:
        """Leave the backup (and its volume) in the status a failed ``action`` leaves, with
        a user message and the ``.error`` event, in one transaction. Nothing when the row
        moved on meanwhile (another run of the same work finished it)."""
        with self.db.transaction() as session:
            backup = backups.find(session, backup_id)
            if backup is None or not _fail(session, backup, action, error):
                return
            operation = FAILED_OPERATION[action]
            row = backups.get(session, backup_id)
            events.emit_backup(session, row, operation.error, host=self.name)
            messages.record_failure(
                session,
                context,
                action=action,
                resource_type="BACKUP",
                resource_id=backup_id,
                error=error,
            )
        if action is messages.Action.CREATE_BACKUP:
            # what the backup stored before it failed is named by no manifest
            recovery.sweep(self)

    # helpers

    def _progress_writer(self, backup_id: str, phase: str) -> Callable[[int, int], None]:
        """A progress callback that writes ``progress`` at most every PROGRESS_INTERVAL."""
        last = 0.0

        def write(done: int, total: int) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last < PROGRESS_INTERVAL and done < total:
                return
            last = now
            with self.db.transaction() as session:
                backups.update(
                    session, backup_id, progress={"phase": phase, "done": done, "total": total}
                )

        return write

    @contextlib.contextmanager
    def _held(self, lock: str | None) -> Iterator[None]:
        if lock is None:
            yield
            return
        with self.locks.hold(lock):
            yield

    @contextlib.contextmanager
    def _exclusive(self, backup_id: str) -> Iterator[bool]:
        with self._in_hand_lock:
            mine = backup_id not in self._in_hand
            self._in_hand.add(backup_id)
        if not mine:
            LOG.info("backup %s is already in hand: request dropped", backup_id)
        try:
            yield mine
        finally:
            if mine:
                with self._in_hand_lock:
                    self._in_hand.discard(backup_id)


FAILED_OPERATION = {
    messages.Action.CREATE_BACKUP: events.BACKUP_CREATE,
    messages.Action.RESTORE_BACKUP: events.BACKUP_RESTORE,
    messages.Action.DELETE_BACKUP: events.BACKUP_DELETE,
}


def _fail(
    session: Session, backup: models.Backup, action: messages.Action, error: BaseException
) -> bool:
    """The status changes of a failed ``action``; False if the backup moved on."""
    reason = errors.user_message_of(error)
    cleared: dict[str, Any] = {"progress": None, "temp_snapshot_path": None}
    if action is messages.Action.CREATE_BACKUP:
        if backup.status != Backup.CREATING:
            return False  # another run finished it
        state.return_volume(session, backup)  # first: the update clears what it reads
        return backups.set_status(
            session,
            backup.id,
            Backup.ERROR,
            expected=[Backup.CREATING],
            fail_reason=reason,
            volume_previous_status=None,
            **cleared,
        )
    if action is messages.Action.RESTORE_BACKUP:
        corrupt = isinstance(error, errors.BackupCorrupt)  # the backup itself is damaged
        target = backup.restore_volume_id  # read before the update clears it
        if not backups.set_status(
            session,
            backup.id,
            Backup.ERROR if corrupt else Backup.AVAILABLE,
            expected=[Backup.RESTORING],
            fail_reason=reason if corrupt else backup.fail_reason,
            restore_volume_id=None,
            **cleared,
        ):
            return False
        if target is not None:
            volumes.set_status(
                session,
                target,
                Volume.ERROR_RESTORING,
                expected=[Volume.RESTORING_BACKUP],
            )
        return True
    return backups.set_status(
        session, backup.id, Backup.ERROR_DELETING, expected=[Backup.DELETING], fail_reason=reason
    )
