"""The manager-side create-volume flow (the seed: ``cinder.volume.flows.manager.create_volume``).

The volume manager of one backend builds this flow with :func:`get_flow` for each create
and runs it on TaskFlow's serial engine. Tasks pass ids and plain values, re-read rows in
their own short transactions, and are safe to run twice. On failure TaskFlow reverts the
tasks that ran, newest first; ``OnFailureRescheduleTask`` then either sends the request back
to the scheduler for another backend or puts the volume in ``error`` with a user message.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import weakref
from typing import Any, Protocol

from taskflow import task
from taskflow.patterns import linear_flow
from taskflow.types import failure as ft

from hearth import errors, messages, notifications
from hearth.context import RequestContext
from hearth.db import backends, images, models, snapshots, statuses, volumes
from hearth.db.session import Database
from hearth.image import info
from hearth.volume.drivers import base
from hearth.volume.flows import engine, sources

LOG = logging.getLogger(__name__)
ACTION = "volume:create"
VolumeSpec = sources.VolumeSpec


class SchedulerRpcApi(Protocol):
    """What the flow needs of the scheduler: a cast that asks it to place a create again."""

    def create_volume(
        self,
        context: RequestContext,
        volume_id: str,
        request_spec: dict[str, Any],
        filter_properties: dict[str, Any],
    ) -> None: ...


class HearthTask(task.Task):  # type: ignore[misc]
    """A TaskFlow task named after its class and addons (the seed's ``CinderTask``)."""

    def __init__(self, addons: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(name=";".join([type(self).__name__, *(addons or [])]), **kwargs)


class ExtractVolumeRefTask(HearthTask):
    """Extracts volume reference for given volume id.

    Re-reads the row; fails when it was deleted, when the create already ended, or when the
    volume was placed on another backend (a stale request) -- so nothing after it runs.

    Reversion strategy: when ``set_error`` and a later task failed, set the volume to
    ``error`` with a user message.
    """

    default_provides = "refreshed"

    def __init__(self, db: Database, host: str, set_error: bool = True) -> None:
        super().__init__(addons=[ACTION])
        self.db = db
        self.host = host
        self.set_error = set_error

    def execute(self, context: RequestContext, volume: models.Volume) -> models.Volume:
        with self.db.read() as session:
            row = volumes.get(session, volume.id)
        if row.status not in statuses.CREATE_IN_PROGRESS:
            raise errors.InvalidStatus(
                action="create", kind="volume", resource_id=row.id, status=row.status
            )
        if row.host != self.host:
            raise errors.Conflict(reason=f"Volume {row.id} is placed on {row.host}, not here.")
        return row

    def revert(
        self, context: RequestContext, volume: models.Volume, result: Any, **kwargs: Any
    ) -> None:
        if not self.set_error or isinstance(result, ft.Failure):
            return
        cause = _first_error(kwargs.get("flow_failures", {}))
        error_out(self.db, context, volume.id, cause)


class OnFailureRescheduleTask(HearthTask):
    """Triggers a rescheduling request to be sent when reverting occurs.

    If rescheduling doesn't occur this task errors out the volume.

    Reversion strategy: clear the image metadata and progress, delete whatever the backend
    made for the volume and give the backend its claimed capacity back, then either
    (rescheduling on, failure of a reschedulable class) clear the host, record the attempt
    and its cause, and cast the request back to the scheduler for attempt X of Y
    elsewhere; or set ``error`` with a user message and a ``create.error`` notification. If
    the delete fails the row keeps its host (and claim): it owns what is left on the backend.
    """

    def __init__(
        self,
        reschedule_context: RequestContext,
        db: Database,
        driver: base.VolumeDriver,
        scheduler_rpcapi: SchedulerRpcApi | None,
        do_reschedule: bool,
    ) -> None:
        requires = ["filter_properties", "request_spec", "volume", "context"]
        super().__init__(addons=[ACTION], requires=requires)
        self.reschedule_context = reschedule_context
        self.db = db
        self.driver = driver
        self.scheduler_rpcapi = scheduler_rpcapi
        self.do_reschedule = do_reschedule

    def execute(self, **kwargs: Any) -> None:
        pass

    def revert(
        self,
        context: RequestContext,
        result: Any,
        flow_failures: dict[str, ft.Failure],
        volume: models.Volume,
        **kwargs: Any,
    ) -> None:
        cause = _first_error(flow_failures)
        _forget_image_data(self.db, volume.id)
        try:
            self.driver.delete_volume(base.VolumeRef(volume.id, volume.size))
        except errors.HearthError as cleanup_error:  # keep the row (and its host): it owns
            LOG.error("could not remove half-made volume %s: %s", volume.id, cleanup_error)
            error_out(self.db, context, volume.id, cause)
            return
        reschedulable = isinstance(cause, errors.HearthError) and cause.reschedulable
        if self.do_reschedule and reschedulable and self.scheduler_rpcapi is not None:
            assert cause is not None
            try:
                self._reschedule(volume.id, cause, kwargs)
                return
            except Exception as cast_error:
                LOG.error("rescheduling volume %s failed: %s", volume.id, cast_error)
        error_out(self.db, context, volume.id, cause, free_backend=True)

    def _reschedule(self, volume_id: str, cause: BaseException, kwargs: dict[str, Any]) -> None:
        filter_properties = dict(kwargs["filter_properties"])
        retry = dict(filter_properties.get("retry") or {})
        retry["exc_reason"] = errors.user_message_of(cause)
        retry["exc_code"] = errors.code_of(cause)
        filter_properties["retry"] = retry
        with self.db.transaction() as session:
            row = volumes.get(session, volume_id)
            host, size = row.host, row.size  # the update below refreshes ``row``
            if not volumes.set_status(
                session,
                volume_id,
                statuses.VolumeStatus.CREATING,
                expected=statuses.CREATE_IN_PROGRESS,
                host=None,
                scheduled_at=None,
                reschedule_count=row.reschedule_count + 1,
                last_reschedule_cause=f"{retry['exc_code']}: {retry['exc_reason']}",
            ):
                raise errors.InvalidStatus(
                    action="reschedule", kind="volume", resource_id=volume_id, status=row.status
                )
            if host is not None:
                backends.release(session, host, size)
        assert self.scheduler_rpcapi is not None
        LOG.info(
            "rescheduling volume %s after attempt %s: %s",
            volume_id,
            retry.get("num_attempts", 1),
            retry["exc_reason"],
        )
        self.scheduler_rpcapi.create_volume(
            self.reschedule_context, volume_id, kwargs["request_spec"], filter_properties
        )


class ExtractVolumeSpecTask(HearthTask):
    """Extracts a spec of a volume to be created into a common structure.

    Reads the volume row and its source (snapshot, source volume, image or backup id) into a
    :class:`VolumeSpec`; a source that is missing, not ``available`` or held by another
    backend fails here, before anything is made.

    Reversion strategy: put the source volume's status back if it changed during the create.
    """

    default_provides = "volume_spec"

    def __init__(self, db: Database) -> None:
        super().__init__(addons=[ACTION])
        self.db = db

    def execute(
        self, context: RequestContext, volume: models.Volume, request_spec: dict[str, Any]
    ) -> VolumeSpec:
        with self.db.read() as session:
            row = volumes.get(session, volume.id)
            return _extract_spec(session, row)

    def revert(self, context: RequestContext, result: Any, **kwargs: Any) -> None:
        if isinstance(result, ft.Failure) or result is None or result.source_volume is None:
            return
        with self.db.transaction() as session:
            source = volumes.find(session, result.source_volume.id)
            if source is not None and source.status != result.source_volstatus:
                volumes.set_status(session, source.id, result.source_volstatus)


class NotifyVolumeActionTask(HearthTask):
    """Performs a notification about the given volume when called.

    Queues ``volume.<event_suffix>`` in the outbox (for ``create.start`` also the journal
    step ``started``, in the same transaction); a failure is logged, never raised.

    Reversion strategy: N/A
    """

    def __init__(self, db: Database, event_suffix: str) -> None:
        super().__init__(addons=[ACTION, event_suffix])
        self.db = db
        self.event_suffix = event_suffix

    def execute(self, context: RequestContext, volume: models.Volume) -> None:
        try:
            with self.db.transaction() as session:
                row = volumes.get(session, volume.id)
                notifications.emit_volume(session, row, self.event_suffix)
                if self.event_suffix == "create.start":
                    volumes.update(session, volume.id, create_step="started")
        except Exception:
            LOG.warning("could not queue volume.%s for %s", self.event_suffix, volume.id)


class CreateVolumeFromSpecTask(HearthTask):
    """Creates a volume from a provided specification.

    Calls the creator of the spec's source type (``sources.CREATORS``), then stores the
    driver's model update, the bootable flag, (from an image) the image's metadata and the
    journal step ``made`` on the row, in one transaction: from then on reconciliation knows
    the backend holds the volume.

    Reversion strategy: N/A (``OnFailureRescheduleTask`` removes what was made).
    """

    def __init__(
        self,
        manager: Any,
        db: Database,
        driver: base.VolumeDriver,
        image_volume_cache: Any | None = None,
    ) -> None:
        super().__init__(addons=[ACTION])
        self.manager = manager
        self.db = db
        self.driver = driver
        self.tools = sources.SourceTools(
            driver=driver,
            image_volume_cache=image_volume_cache,
            images=getattr(manager, "image_tools", None),
            db=db,
        )

    def execute(
        self, context: RequestContext, volume: models.Volume, volume_spec: VolumeSpec
    ) -> None:
        update = sources.creator_for(volume_spec)(self.tools, volume_spec)
        fields: dict[str, Any] = {"bootable": volume_spec.source_bootable, "create_step": "made"}
        if update is not None and update.provider_location is not None:
            fields["provider_location"] = update.provider_location
        if volume_spec.image is not None:
            fields["volume_image_metadata"] = volume_spec.image.volume_metadata()
        with self.db.transaction() as session:
            volumes.update(session, volume.id, **fields)


class CreateVolumeOnFinishTask(NotifyVolumeActionTask):
    """On successful volume creation this will perform final volume actions.

    Sets ``available`` and ``launched_at`` and queues ``volume.create.end`` in one
    transaction. Never raises: if the notification cannot be queued, the status is still
    set; if even that fails, start-up reconciliation finishes the job.

    Reversion strategy: N/A
    """

    def execute(  # type: ignore[override]
        self, context: RequestContext, volume: models.Volume, volume_spec: VolumeSpec | None
    ) -> None:
        try:
            self._finish(volume.id, notify=True)
        except Exception:
            LOG.warning("could not queue volume.%s for %s", self.event_suffix, volume.id)
            try:
                self._finish(volume.id, notify=False)
            except Exception:
                LOG.exception("could not mark volume %s available", volume.id)

    def _finish(self, volume_id: str, *, notify: bool) -> None:
        with self.db.transaction() as session:
            done = volumes.set_status(
                session,
                volume_id,
                statuses.VolumeStatus.AVAILABLE,
                expected=statuses.CREATE_IN_PROGRESS,
                launched_at=models.utcnow(),
                progress=None,
            )
            if not done:
                LOG.warning("volume %s changed under its create; left as it is", volume_id)
            elif notify:
                notifications.emit_volume(session, volumes.get(session, volume_id), "create.end")


def get_flow(
    context: RequestContext,
    manager: Any,
    db: Database,
    driver: base.VolumeDriver,
    scheduler_rpcapi: SchedulerRpcApi | None,
    host: str,
    volume: models.Volume,
    allow_reschedule: bool,
    reschedule_context: RequestContext,
    request_spec: dict[str, Any],
    filter_properties: dict[str, Any],
    image_volume_cache: Any | None = None,
) -> Any:
    """Constructs and returns the manager entrypoint flow.

    This flow will do the following:

    1. Determines if rescheduling is enabled (ahead of time).
    2. Inject keys & values for dependent tasks.
    3. Selects 1 of 2 activated only on failure tasks (one to update the db status & notify
       or one to update the db status & notify & reschedule).
    4. Extracts a volume specification from the provided inputs.
    5. Notifies that the volume has started to be created.
    6. Creates a volume from the extracted volume specification.
    7. Attaches a on-success only task that notifies that the volume creation has ended and
       performs further database status updates.

    Returns the flow loaded into a serial engine, not yet run.
    """
    collaborators = (db, driver, host, image_volume_cache)
    steady = _STEADY.take(manager, *collaborators)
    extract_ref, extract_spec, notify_start, create, finish = steady
    flow = linear_flow.Flow(ACTION.replace(":", "_") + "_manager")
    # 1. rescheduling is possible only with a request spec and the scheduler's retry info
    do_reschedule = bool(allow_reschedule and request_spec and filter_properties.get("retry"))
    # 2. what the tasks need, injected into the engine's store below
    store = {
        "context": context,
        "filter_properties": filter_properties,
        "request_spec": request_spec,
        "volume": volume,
    }
    flow.add(extract_ref)
    # 3. on failure: error out, or error out and reschedule
    flow.add(
        OnFailureRescheduleTask(reschedule_context, db, driver, scheduler_rpcapi, do_reschedule)
    )
    flow.add(extract_spec)  # 4.
    flow.add(notify_start)  # 5.
    flow.add(create)  # 6.
    flow.add(finish)  # 7.
    loaded = engine.load(flow, store)
    engine.when_done(loaded, lambda: _STEADY.give_back(manager, collaborators, steady))
    return loaded


Tasks = tuple["HearthTask", ...]


class _SteadyTasks:
    """Sets of the five tasks that hold nothing of a single request, reused between flows.

    TaskFlow spends about 0.4 ms building a task (it inspects signatures), so each manager
    keeps the sets its flows are done with. A set serves one running flow at a time:
    TaskFlow tells every engine running a task instance about that task's progress, so two
    flows never share one.
    """

    def __init__(self) -> None:
        # manager -> the collaborators the tasks were built with (ids: the pooled tasks
        # keep those objects alive) -> the free sets
        self._free: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], list[Tasks]]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def take(
        self,
        manager: Any,
        db: Database,
        driver: base.VolumeDriver,
        host: str,
        image_volume_cache: Any,
    ) -> Tasks:
        key = _pool_key((db, driver, host, image_volume_cache))
        with self._lock:
            free = self._free.get(manager, {}).get(key) if manager is not None else None
            if free:
                return free.pop()
        return (
            ExtractVolumeRefTask(db, host, set_error=False),
            ExtractVolumeSpecTask(db),
            NotifyVolumeActionTask(db, "create.start"),
            CreateVolumeFromSpecTask(manager, db, driver, image_volume_cache),
            CreateVolumeOnFinishTask(db, "create.end"),
        )

    def give_back(self, manager: Any, collaborators: tuple[Any, ...], tasks: Tasks) -> None:
        """Pool ``tasks``, built by :meth:`take` with ``collaborators`` (its arguments
        after ``manager``), for the manager's next flow."""
        if manager is None:
            return
        key = _pool_key(collaborators)
        with self._lock:
            self._free.setdefault(manager, {}).setdefault(key, []).append(tasks)


_STEADY = _SteadyTasks()


def _pool_key(collaborators: tuple[Any, ...]) -> tuple[Any, ...]:
    db, driver, host, image_volume_cache = collaborators
    return (id(db), id(driver), host, id(image_volume_cache))


def error_out(
    db: Database,
    context: RequestContext,
    volume_id: str,
    cause: BaseException | None,
    *,
    free_backend: bool = False,
) -> None:
    """Put a volume whose create failed in ``error``, with a user message and a
    ``create.error`` notification, in one transaction. Never raises. The volume keeps no
    progress and no image metadata (a crashed create may have left both).

    ``free_backend``: the backend holds nothing of the volume any more, so the row gives
    up its host and the backend gets the claimed capacity back.
    """
    error = cause if cause is not None else errors.HearthError()
    try:
        with db.transaction() as session:
            row = volumes.find(session, volume_id)
            if row is None or row.status not in statuses.CREATE_IN_PROGRESS:
                return
            fields: dict[str, Any] = {"progress": None, "volume_image_metadata": None}
            if free_backend and row.host is not None:
                backends.release(session, row.host, row.size)
                fields["host"] = None
            if not volumes.set_status(
                session,
                volume_id,
                statuses.VolumeStatus.ERROR,
                expected=statuses.CREATE_IN_PROGRESS,
                **fields,
            ):
                raise errors.Conflict(reason="the volume changed under its failed create")
            messages.record_failure(
                session,
                context,
                action=messages.Action.CREATE_VOLUME,
                resource_type="VOLUME",
                resource_id=volume_id,
                error=error,
            )
            notifications.emit_volume(session, volumes.get(session, volume_id), "create.error")
    except Exception:
        LOG.exception("could not record the failed create of volume %s", volume_id)


def _extract_spec(session: Any, row: models.Volume) -> VolumeSpec:
    spec = VolumeSpec(
        type="raw",
        volume=base.VolumeRef(row.id, row.size, row.provider_location),
        volume_name=row.name,
        status=row.status,
        image_id=row.image_id,
        backup_id=row.backup_id,
    )
    if row.snapshot_id:
        return _with_snapshot(session, spec, row)
    if row.source_volid:
        return _with_source_volume(session, spec, row)
    if row.image_id:
        return _with_image(session, spec, row.image_id)
    if row.backup_id:
        return dataclasses.replace(spec, type="backup")
    return spec


def _with_snapshot(session: Any, spec: VolumeSpec, row: models.Volume) -> VolumeSpec:
    assert row.snapshot_id is not None
    snapshot = snapshots.get(session, row.snapshot_id)
    if snapshot.status != statuses.SnapshotStatus.AVAILABLE:
        raise errors.SourceNotAvailable(
            kind="Snapshot", source_id=snapshot.id, status=snapshot.status
        )
    parent = volumes.get(session, snapshot.volume_id)
    _check_same_backend(row, parent.host, "snapshot", snapshot.id)
    return dataclasses.replace(
        spec,
        type="snap",
        source_snapshot=base.SnapshotRef(
            snapshot.id, snapshot.volume_id, snapshot.volume_size, snapshot.provider_location
        ),
        source_bootable=parent.bootable,
    )


def _with_source_volume(session: Any, spec: VolumeSpec, row: models.Volume) -> VolumeSpec:
    assert row.source_volid is not None
    source = volumes.get(session, row.source_volid)
    if source.status != statuses.VolumeStatus.AVAILABLE:
        raise errors.SourceNotAvailable(kind="Volume", source_id=source.id, status=source.status)
    _check_same_backend(row, source.host, "volume", source.id)
    return dataclasses.replace(
        spec,
        type="source_vol",
        source_volume=base.VolumeRef(source.id, source.size, source.provider_location),
        source_volstatus=source.status,
        source_bootable=source.bootable,
    )


def _with_image(session: Any, spec: VolumeSpec, image_id: str) -> VolumeSpec:
    image = images.find(session, image_id)
    if image is None:
        raise errors.ImageNotAvailable(image_id=image_id, reason="it was deleted")
    if image.status != statuses.ImageStatus.ACTIVE:
        raise errors.ImageNotAvailable(image_id=image_id, reason=f"its status is '{image.status}'")
    return dataclasses.replace(spec, type="image", image=info.from_row(image), source_bootable=True)


def _forget_image_data(db: Database, volume_id: str) -> None:
    """A failed create keeps no image metadata and no progress. Never raises."""
    try:
        with db.transaction() as session:
            volumes.update(session, volume_id, volume_image_metadata=None, progress=None)
    except errors.HearthError as exc:
        LOG.warning("could not clear the image fields of volume %s: %s", volume_id, exc)


def _check_same_backend(row: models.Volume, source_host: str | None, kind: str, sid: str) -> None:
    if source_host != row.host:
        raise errors.Invalid(reason=f"the {kind} {sid} is held by another backend")


def _first_error(flow_failures: dict[str, ft.Failure]) -> BaseException | None:
    for failure in flow_failures.values():
        if failure.exception is not None:
            return failure.exception  # type: ignore[no-any-return]
    return None
