"""The volume manager of one backend: runs create flows, deletes, snapshots; reports capacity.

Requests reach it after the request layer (``hearth.service``) has validated them and
written the rows: a volume in ``creating``, a snapshot in ``creating``, a volume or
snapshot in ``deleting``. The manager does the backend work through its driver and records
the outcome: the final status, a user message on failure, and the notifications.

A create from a snapshot or volume holds that source's delete lock for its whole length,
and deletes take the same lock, so a source cannot vanish mid-copy. Work on one volume or
snapshot runs once at a time in the manager (``_exclusive``): a message and the
reconciliation of ``hearth.volume.reconcile`` may both ask for it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from hearth import config, coordination, errors, messages, notifications
from hearth.context import RequestContext
from hearth.db import backends, models, quota_usages, snapshots, statuses, volumes
from hearth.db.session import Database
from hearth.image import cache, store
from hearth.notifications import events
from hearth.volume import capacity, exports, reconcile, scheduling
from hearth.volume.drivers import base
from hearth.volume.flows import backup_source, create_volume, image_source, reused, timing

LOG = logging.getLogger(__name__)
RECONCILER = RequestContext(user_id="hearth", project_id="hearth", is_admin=True)
"""Who reconciliation acts as (its user messages go to the attachment's project anyway)."""
STATS_MIN_INTERVAL = 1.0
DELETE_WAITS_FOR_WORK = 30.0
"""Seconds a delete waits for other work on its volume here to end before it is dropped
(the reconciliation takes it up later)."""
"""Seconds between two capacity reports caused by changes (a periodic report still runs)."""
FULL_REPORT_INTERVAL = 600.0
"""Seconds between two reports that read the driver's full statistics (``get_stats``, which
may walk every volume: allocated bytes); the others read its free space only."""


class VolumeManager:
    """Serves one backend, named ``host``."""

    def __init__(
        self,
        *,
        host: str,
        driver: base.VolumeDriver,
        db: Database,
        locks: coordination.Locks,
        settings: config.BackendSettings,
        recovery: config.RecoverySettings | None = None,
        scheduler_rpcapi: create_volume.SchedulerRpcApi | None = None,
        image_volume_cache: cache.ImageVolumeCache | None = None,
        image_tools: image_source.ImageTools | None = None,
        timed: bool = False,
        backup_repository: backup_source.RepositoryFactory | None = None,
    ) -> None:
        self.host = host
        self.driver = driver
        self.db = db
        self.locks = locks
        self.settings = settings
        self.recovery = recovery or config.RecoverySettings()
        self.availability_zone = settings.availability_zone
        self.scheduler_rpcapi = scheduler_rpcapi
        self.image_volume_cache = image_volume_cache
        self.image_tools = image_tools
        """Read by CreateVolumeFromSpecTask for creates from images."""
        self.backup_repository = backup_repository
        """Read by CreateVolumeFromSpecTask for creates from backups (called on first use)."""
        self.timed = timed
        """Whether each create flow gets the timing listener (``[metrics] enabled``)."""
        self.image_store: store.ImageStore | None = None
        """Where uploads of volumes to images go (set by the composition root)."""
        self.peer_driver: Callable[[str], base.VolumeDriver] | None = None
        """The driver of another backend, by name, for a migration to read its source
        (set by the composition root: ``Services.driver_for``)."""
        self._ownership: Any = None
        self._in_hand: set[str] = set()
        self._in_hand_lock = threading.Lock()
        self._released = threading.Condition(self._in_hand_lock)
        self._stats_lock = threading.Lock()
        self._reporting = threading.Lock()
        """Held by the report in flight: one at a time per backend."""
        self._last_report = 0.0
        self._last_full_report = 0.0
        self._stats: base.BackendStats | None = None
        """The last full statistics (capabilities, allocated bytes) of the driver."""
        self._stats_pending = False
        self._engines = reused.CreateEngines(self)

    def init_host(self) -> None:
        """Become the backend's only manager, prepare it, drop leftovers of operations that
        died (partial files, image cache entries never finished), report capacity, then
        finish or undo every unfinished operation (reconciliation). Raises BackendBusy if
        another process serves the backend."""
        lock = coordination.backend_lock(self.host)
        self._ownership = self.locks.try_acquire(lock)
        if self._ownership is None:
            raise errors.BackendBusy(backend=self.host, holder=self.locks.holder(lock))
        self.driver.do_setup()
        for name in self.driver.remove_partial_files():
            LOG.info("removed unfinished file %s from backend %s", name, self.host)
        if self.image_volume_cache is not None:
            self.image_volume_cache.recover()
        self.report_stats()
        self.reconcile(everything=True)

    def reconcile(self, *, everything: bool = False) -> Counter[str]:
        """Take up unfinished work: all of it, or what went stale (see ``reconcile``);
        then put the target's exports in line with the attachments (``exports``)."""
        done = reconcile.reconcile(self, self.recovery, everything=everything)
        done["exports"] += exports.reconcile(self, RECONCILER)
        return done

    def stop(self) -> None:
        """Send a held-back report and stop serving the backend."""
        if self._ownership is not None:
            self.report_stats_if_pending()
            self.driver.stop()
            self._ownership.release()
            self._ownership = None
        self.driver.close()

    def create_volume(
        self,
        context: RequestContext,
        volume: models.Volume,
        request_spec: scheduling.RequestSpec | None = None,
        filter_properties: scheduling.FilterProperties | None = None,
        allow_reschedule: bool = True,
    ) -> None:
        """Create the volume of a ``creating`` row placed on this backend.

        Ends with the row ``available``, or ``error`` with a user message, or sent back to
        the scheduler; never raises for a failed create.
        """
        with self._exclusive(volume.id) as mine:
            if mine:
                self._create(context, volume, request_spec, filter_properties, allow_reschedule)
        self.stats_changed()

    def _create(
        self,
        context: RequestContext,
        volume: models.Volume,
        request_spec: scheduling.RequestSpec | None,
        filter_properties: scheduling.FilterProperties | None,
        allow_reschedule: bool,
    ) -> None:
        def timed(flow_engine: Any) -> Any:
            return timing.attach(flow_engine, volume).deregister

        with self._source_lock(volume):
            try:  # get_flow's flow, on an engine this thread reuses (``reused``)
                self._engines.run(
                    context,
                    volume,
                    allow_reschedule,
                    request_spec,
                    filter_properties or scheduling.FilterProperties(),
                    before_run=timed if self.timed else None,
                )
            except Exception as exc:  # the flow's reverts have recorded the outcome
                LOG.info("create of volume %s failed: %s", volume.id, exc)

    def delete_volume(self, context: RequestContext, volume_id: str) -> None:
        """Delete a ``deleting`` volume's data and then its row."""
        # a delete may arrive while the create that just made the volume 'available' is
        # still ending here (releasing its locks): wait for it rather than drop the delete
        with self._exclusive(volume_id, wait=DELETE_WAITS_FOR_WORK) as mine:
            if mine and self._still_deleting(volume_id):
                self._delete(context, volume_id)

    def _delete(self, context: RequestContext, volume_id: str) -> None:
        with self.locks.hold(coordination.volume_delete_lock(volume_id)):
            with self.db.transaction() as session:
                volume = volumes.get(session, volume_id)
                notifications.emit_volume(session, volume, events.VOLUME_DELETE.start)
            try:
                self.driver.delete_volume(base.VolumeRef(volume.id, volume.size))
            except errors.HearthError as exc:
                self._record_failure(
                    context, volume_id, "VOLUME", messages.Action.DELETE_VOLUME, exc
                )
                return
            with self.db.transaction() as session:
                notifications.emit_volume(session, volume, events.VOLUME_DELETE.end)
                volumes.delete(session, volume_id)
                backends.release(session, self.host, volume.size)
            self.locks.forget(coordination.volume_delete_lock(volume_id))
        self.stats_changed()

    def create_snapshot(self, context: RequestContext, snapshot_id: str) -> None:
        """Capture the data of a ``creating`` snapshot's volume; the snapshot keeps the
        volume's image metadata, for the volumes made from it."""
        with self._exclusive(snapshot_id) as mine:
            if mine:
                self._snapshot(context, snapshot_id)

    def _snapshot(self, context: RequestContext, snapshot_id: str) -> None:
        with self.db.transaction() as session:
            snapshot = snapshots.get(session, snapshot_id)
            notifications.emit_snapshot(
                session, snapshot, events.SNAPSHOT_CREATE.start, host=self.host
            )
        try:
            update = self.driver.create_snapshot(_snapshot_ref(snapshot))
        except errors.HearthError as exc:
            self._record_failure(
                context, snapshot_id, "SNAPSHOT", messages.Action.CREATE_SNAPSHOT, exc
            )
            return
        with self.db.transaction() as session:
            volume = volumes.get(session, snapshot.volume_id)
            fields: dict[str, Any] = {"volume_image_metadata": volume.volume_image_metadata}
            if update is not None:
                fields["provider_location"] = update.provider_location
            if snapshots.set_status(
                session,
                snapshot_id,
                statuses.SnapshotStatus.AVAILABLE,
                expected=[statuses.SnapshotStatus.CREATING],
                **fields,
            ):
                row = snapshots.get(session, snapshot_id)
                notifications.emit_snapshot(
                    session, row, events.SNAPSHOT_CREATE.end, host=self.host
                )
        self.stats_changed()

    def delete_snapshot(self, context: RequestContext, snapshot_id: str) -> None:
        """Delete a ``deleting`` snapshot's data and then its row."""
        with self._exclusive(snapshot_id) as mine:
            if mine:
                self._delete_snapshot(context, snapshot_id)

    def _delete_snapshot(self, context: RequestContext, snapshot_id: str) -> None:
        with self.locks.hold(coordination.snapshot_delete_lock(snapshot_id)):
            with self.db.transaction() as session:
                snapshot = snapshots.get(session, snapshot_id)
                notifications.emit_snapshot(
                    session, snapshot, events.SNAPSHOT_DELETE.start, host=self.host
                )
            try:
                self.driver.delete_snapshot(_snapshot_ref(snapshot))
            except errors.HearthError as exc:
                self._record_failure(
                    context, snapshot_id, "SNAPSHOT", messages.Action.DELETE_SNAPSHOT, exc
                )
                return
            with self.db.transaction() as session:
                notifications.emit_snapshot(
                    session, snapshot, events.SNAPSHOT_DELETE.end, host=self.host
                )
                snapshots.delete(session, snapshot_id)
            self.locks.forget(coordination.snapshot_delete_lock(snapshot_id))
        self.stats_changed()

    def extend_volume(self, context: RequestContext, volume_id: str, new_size: int) -> None:
        """Grow an ``extending`` volume to ``new_size`` GiB."""
        with self._exclusive(volume_id) as mine:
            if mine:
                self._extend(context, volume_id, new_size)

    def export_attachment(self, context: RequestContext, attachment_id: str) -> None:
        """Export an ``attaching`` attachment's volume (``exports.export``)."""
        with self._exclusive(attachment_id) as mine:
            if mine:
                exports.export(self, context, attachment_id)

    def unexport_attachment(self, context: RequestContext, attachment_id: str) -> None:
        """Remove a ``detaching`` attachment's export, then the attachment."""
        with self._exclusive(attachment_id) as mine:
            if mine:
                exports.unexport(self, context, attachment_id)

    def exclusively(self, resource_id: str) -> contextlib.AbstractContextManager[bool]:
        """:meth:`_exclusive` for the work of ``volume/actions.py`` and ``migration.py``."""
        return self._exclusive(resource_id)

    def in_hand(self, resource_id: str) -> bool:
        """Whether this manager is working on that volume or snapshot right now."""
        with self._in_hand_lock:
            return resource_id in self._in_hand

    def _still_deleting(self, volume_id: str) -> bool:
        """Whether the volume's row is still there to delete (a duplicate delete that
        waited for the first finds it gone)."""
        with self.db.read() as session:
            found = volumes.find(session, volume_id)
        return found is not None and found.status == statuses.VolumeStatus.DELETING

    @contextlib.contextmanager
    def _exclusive(self, resource_id: str, wait: float = 0.0) -> Iterator[bool]:
        """Yields True if the caller may work on the resource (nobody else here is), after
        waiting up to ``wait`` seconds for whoever is."""
        with self._in_hand_lock:
            if wait:
                self._released.wait_for(lambda: resource_id not in self._in_hand, wait)
            mine = resource_id not in self._in_hand
            self._in_hand.add(resource_id)
        if not mine:
            LOG.info("%s is already in hand on backend %s; request dropped", resource_id, self.host)
        try:
            yield mine
        finally:
            if mine:
                with self._in_hand_lock:
                    self._in_hand.discard(resource_id)
                    self._released.notify_all()

    def _extend(self, context: RequestContext, volume_id: str, new_size: int) -> None:
        with self.db.transaction() as session:
            volume = volumes.get(session, volume_id)
            notifications.emit_volume(session, volume, events.VOLUME_RESIZE.start)
        try:
            self.driver.extend_volume(base.VolumeRef(volume.id, volume.size), new_size)
        except errors.HearthError as exc:
            # the request layer claimed the growth and reserved its quota: both given back
            # before the failure is recorded, so whoever sees the outcome sees them back
            with self.db.transaction() as session:
                backends.release(session, self.host, new_size - volume.size)
                quota_usages.release(session, volume_id)
            self._record_failure(context, volume_id, "VOLUME", messages.Action.EXTEND_VOLUME, exc)
            return
        with self.db.transaction() as session:
            if volumes.set_status(
                session,
                volume_id,
                statuses.VolumeStatus.AVAILABLE,
                expected=[statuses.VolumeStatus.EXTENDING],
                size=new_size,
            ):
                quota_usages.commit(session, volume_id)  # the growth is the volume's now
                notifications.emit_volume(
                    session, volumes.get(session, volume_id), events.VOLUME_RESIZE.end
                )
        self.stats_changed()

    def report_stats(self) -> base.BackendStats:
        """Store the backend's capacity and capabilities for the scheduler, now, from the
        driver's full statistics (this is also the manager's heartbeat). Waits for a
        report in flight."""
        with self._reporting:
            return self._report(full=True)

    def stats_changed(self) -> None:
        """Report capacity after a change, at most once per STATS_MIN_INTERVAL; a skipped
        report stays pending until :meth:`report_stats_if_pending`."""
        with self._stats_lock:
            due = time.monotonic() - self._last_report >= STATS_MIN_INTERVAL
            self._stats_pending = not due
        if due:
            self.report_stats_quietly()

    def report_stats_if_pending(self) -> None:
        """Send a report that ``stats_changed`` held back (periodic task, shutdown)."""
        if self._stats_pending:
            self.report_stats_quietly()

    def report_stats_quietly(self) -> None:
        """Report now, unless a report is in flight (then this one stays pending: at most
        one report per backend runs at a time). The driver's full statistics are read
        every FULL_REPORT_INTERVAL, its free space otherwise. A failure is logged (the next
        report retries)."""
        if not self._reporting.acquire(blocking=False):
            self._stats_pending = True
            return
        try:
            full = time.monotonic() - self._last_full_report >= FULL_REPORT_INTERVAL
            self._report(full=full or self._stats is None)
        except errors.HearthError as exc:  # a missed report is retried by the next one
            LOG.warning("capacity report of backend %s failed: %s", self.host, exc)
        finally:
            self._reporting.release()

    def _report(self, *, full: bool) -> base.BackendStats:
        """One report, the caller holding ``_reporting``. Provisioned bytes come from the
        backend row's counters (claims and snapshots), in the report's transaction; the
        driver gives room (``get_space``: constant time) and, on a full report, usage and
        capabilities (``get_stats``: it may walk every volume)."""
        with self._stats_lock:
            self._last_report = time.monotonic()  # workers finishing meanwhile: not due
            self._stats_pending = False
        if full or self._stats is None:
            stats = self.driver.get_stats()
            self._last_full_report = time.monotonic()
        else:
            space = self.driver.get_space()
            stats = dataclasses.replace(
                self._stats, total_bytes=space.total_bytes, free_bytes=space.free_bytes
            )
        fields: dict[str, Any] = {
            "driver": self.driver.driver_name,
            "availability_zone": self.availability_zone,
            "clone_mode": stats.clone_mode,
            "capabilities": capacity.capabilities(self.host, self.driver, self.settings, stats),
            "capacity_limit_gb": capacity.limit_gb(self.settings, stats),
            "total_bytes": stats.total_bytes,
            "free_bytes": stats.free_bytes,
        }
        if full or self._stats is None:
            fields["allocated_bytes"] = stats.allocated_bytes
        with self.db.transaction() as session:
            row = backends.report(session, self.host, **fields)
            counted = row.allocated_capacity_gb + row.snapshot_capacity_gb  # read just now
            row.provisioned_bytes = counted * base.GiB
        self._stats = stats
        return stats

    @contextlib.contextmanager
    def _source_lock(self, volume: models.Volume) -> Iterator[None]:
        if volume.snapshot_id:
            with self.locks.hold(coordination.snapshot_delete_lock(volume.snapshot_id)):
                yield
        elif volume.source_volid:
            with self.locks.hold(coordination.volume_delete_lock(volume.source_volid)):
                yield
        else:
            yield

    def _record_failure(
        self,
        context: RequestContext,
        resource_id: str,
        resource_type: str,
        action: messages.Action,
        error: errors.HearthError,
    ) -> None:
        """Leave the resource in its failed status, with a user message and the operation's
        ``.error`` event, in one transaction."""
        LOG.error("%s %s failed on backend %s: %s", action, resource_id, self.host, error)
        failed_status, operation = FAILURES[action]
        with self.db.transaction() as session:
            if resource_type == "VOLUME":
                if volumes.set_status(session, resource_id, failed_status):
                    volume = volumes.get(session, resource_id)
                    notifications.emit_volume(session, volume, operation.error)
            elif snapshots.set_status(session, resource_id, failed_status):
                snapshot = snapshots.get(session, resource_id)
                notifications.emit_snapshot(session, snapshot, operation.error, host=self.host)
            messages.record_failure(
                session,
                context,
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                error=error,
            )


FAILURES = {
    messages.Action.DELETE_VOLUME: (statuses.VolumeStatus.ERROR_DELETING, events.VOLUME_DELETE),
    messages.Action.EXTEND_VOLUME: (statuses.VolumeStatus.ERROR_EXTENDING, events.VOLUME_RESIZE),
    messages.Action.CREATE_SNAPSHOT: (statuses.SnapshotStatus.ERROR, events.SNAPSHOT_CREATE),
    messages.Action.DELETE_SNAPSHOT: (
        statuses.SnapshotStatus.ERROR_DELETING,
        events.SNAPSHOT_DELETE,
    ),
}
"""What ``_record_failure`` does per action: the status a failure leaves, and the operation
whose ``.error`` event reports it."""


def _snapshot_ref(snapshot: models.Snapshot) -> base.SnapshotRef:
    return base.SnapshotRef(
        snapshot.id, snapshot.volume_id, snapshot.volume_size, snapshot.provider_location
    )
