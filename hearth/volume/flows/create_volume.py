"""The manager-side create-volume flow (the seed: ``cinder.volume.flows.manager.create_volume``).

The volume manager of one backend builds this flow with :func:`get_flow` for each create
and runs it on TaskFlow's serial engine. Tasks pass ids and plain values, re-read rows in
their own short transactions, and are safe to run twice. On failure TaskFlow reverts the
tasks that ran, newest first; ``OnFailureRescheduleTask`` then either sends the request back
to the scheduler for another backend or puts the volume in ``error`` with a user message
(``hearth.volume.failed_create``).

Reading order: :func:`get_flow`, then the tasks in the order they run. The classes, their
constructor arguments and the argument names of ``execute``/``revert`` are the seed's;
where Hearth does not use one, a comment says why. Over 400 lines: the seed's API is
one module (its seven names, and :func:`may_reschedule`, the rule its reschedule task
applies); what is not the seed lives in ``sources``, ``task_pool``, ``engine`` and
``hearth.volume.failed_create``.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Protocol

from taskflow import task
from taskflow.patterns import linear_flow
from taskflow.types import failure as ft

from hearth import errors, notifications
from hearth.context import RequestContext
from hearth.db import backends, models, statuses, volumes
from hearth.db.session import Database
from hearth.volume import failed_create, scheduling
from hearth.volume.drivers import base
from hearth.volume.flows import backup_source, engine, sources, task_pool

LOG = logging.getLogger(__name__)
ACTION = "volume:create"
VolumeSpec = sources.VolumeSpec


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
    request_spec: scheduling.RequestSpec | None,
    filter_properties: scheduling.FilterProperties,
    image_volume_cache: Any | None = None,
) -> Any:
    """The flow that creates ``volume`` on this backend (``host``), loaded, not yet run.

    The flow does, in order:

    1. Re-read the volume row (``ExtractVolumeRefTask``): a volume deleted, no longer
       being created or placed on another backend stops the flow before anything is made.
    2. Guard what follows with ``OnFailureRescheduleTask``, deciding now whether its revert
       may send the request back to the scheduler: only with rescheduling allowed, a
       request spec, and an attempt the scheduler counted (``filter_properties.retry``).
    3. Read the row and its source into a ``VolumeSpec`` (``ExtractVolumeSpecTask``).
    4. Queue ``volume.create.start`` and record the journal step ``started``
       (``NotifyVolumeActionTask``).
    5. Make the volume on the backend from the spec and store the driver's model update
       with the journal step ``made`` (``CreateVolumeFromSpecTask``).
    6. Mark the volume ``available`` and queue ``volume.create.end``
       (``CreateVolumeOnFinishTask``).
    7. Load the flow into a serial engine with the request (context, volume, request spec,
       filter properties) in its store.

    ``manager`` is the volume manager (its image tools serve creates from images; None
    builds tasks that are not reused); ``context`` is the caller's, ``reschedule_context``
    the one the request goes back to the scheduler in.
    """
    collaborators = (db, driver, host, image_volume_cache)
    steady = task_pool.POOL.take(
        manager, collaborators, lambda: _steady_tasks(manager, *collaborators)
    )
    extract_ref, extract_spec, notify_start, create, finish = steady
    do_reschedule = bool(
        allow_reschedule and request_spec is not None and filter_properties.retry.number
    )
    flow = linear_flow.Flow(ACTION.replace(":", "_") + "_manager")
    flow.add(extract_ref)  # 1.
    flow.add(  # 2.
        OnFailureRescheduleTask(reschedule_context, db, driver, scheduler_rpcapi, do_reschedule)
    )
    flow.add(extract_spec)  # 3.
    flow.add(notify_start)  # 4.
    flow.add(create)  # 5.
    flow.add(finish)  # 6.
    store = {
        "context": context,
        "filter_properties": filter_properties,
        "request_spec": request_spec,
        "volume": volume,
    }
    loaded = engine.load(flow, store)  # 7.
    engine.when_done(loaded, lambda: task_pool.POOL.give_back(manager, collaborators, steady))
    return loaded


def _steady_tasks(
    manager: Any, db: Database, driver: base.VolumeDriver, host: str, image_volume_cache: Any
) -> task_pool.Tasks:
    """The five tasks that hold nothing of one request (all but OnFailureRescheduleTask)."""
    return (
        # set_error=False: OnFailureRescheduleTask, always in the flow, records the failure
        ExtractVolumeRefTask(db, host, set_error=False),
        ExtractVolumeSpecTask(db),
        NotifyVolumeActionTask(db, "create.start"),
        CreateVolumeFromSpecTask(manager, db, driver, image_volume_cache),
        CreateVolumeOnFinishTask(db, "create.end"),
    )


class SchedulerRpcApi(Protocol):
    """What the flow needs of the scheduler: a cast that asks it to place a create again."""

    def create_volume(
        self,
        context: RequestContext,
        volume_id: str,
        request_spec: scheduling.RequestSpec,
        filter_properties: scheduling.FilterProperties,
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
        # context: the seed's; a read needs no caller
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
        failed_create.error_out(self.db, context, volume.id, cause)


class OnFailureRescheduleTask(HearthTask):
    """Triggers a rescheduling request to be sent when reverting occurs.

    If rescheduling doesn't occur this task errors out the volume.

    Reversion strategy: clear the image metadata and progress, delete whatever the backend
    made for the volume and give the backend its claimed capacity back, then either
    (rescheduling on, a failure that :func:`may_reschedule`) clear the host, record the
    attempt, its backend and its cause on the row, and cast the request back to the
    scheduler for attempt X of Y elsewhere; or set ``error`` with a user message and a
    ``create.error`` notification. If the delete fails the row keeps its host (and claim):
    it owns what is left on the backend. Returns the cause's code when it rescheduled, else
    None (the revert's result, which the flow's timing listener counts).
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
        pass  # it acts only on revert; it requires the request to have it then

    def revert(
        self,
        context: RequestContext,
        result: Any,
        flow_failures: dict[str, ft.Failure],
        volume: models.Volume,
        **kwargs: Any,
    ) -> str | None:
        # result: the seed's; execute returns nothing
        cause = _first_error(flow_failures)
        failed_create.forget_image_data(self.db, volume.id)
        try:
            self.driver.delete_volume(base.VolumeRef(volume.id, volume.size))
        except errors.HearthError as cleanup_error:  # keep the row (and its host): it owns
            LOG.error("could not remove half-made volume %s: %s", volume.id, cleanup_error)
            failed_create.error_out(self.db, context, volume.id, cause)
            return None
        if self.do_reschedule and may_reschedule(cause) and self.scheduler_rpcapi is not None:
            assert cause is not None
            try:
                self._reschedule(volume.id, cause, kwargs)
                return errors.code_of(cause)
            except Exception as cast_error:
                LOG.error("rescheduling volume %s failed: %s", volume.id, cast_error)
        failed_create.error_out(self.db, context, volume.id, cause, free_backend=True)
        return None

    def _reschedule(self, volume_id: str, cause: BaseException, kwargs: dict[str, Any]) -> None:
        request_spec: scheduling.RequestSpec = kwargs["request_spec"]
        filter_properties: scheduling.FilterProperties = kwargs["filter_properties"]
        with self.db.transaction() as session:
            row = volumes.get(session, volume_id)
            host, size = row.host, row.size  # the update below refreshes ``row``
            attempts = filter_properties.retry.failed_on(host, cause)
            if not volumes.set_status(
                session,
                volume_id,
                statuses.VolumeStatus.CREATING,
                expected=statuses.CREATE_IN_PROGRESS,
                host=None,
                scheduled_at=None,
                reschedule_count=attempts.number,
                backends_tried=list(attempts.backends),
                last_reschedule_cause=str(attempts.last_cause),
            ):
                raise errors.InvalidStatus(
                    action="reschedule", kind="volume", resource_id=volume_id, status=row.status
                )
            if host is not None:
                backends.release(session, host, size)
        assert self.scheduler_rpcapi is not None
        LOG.info("rescheduling volume %s after attempt %s: %s", volume_id, attempts.number, cause)
        self.scheduler_rpcapi.create_volume(
            self.reschedule_context,
            volume_id,
            request_spec,
            dataclasses.replace(filter_properties, retry=attempts),
        )


class ExtractVolumeSpecTask(HearthTask):
    """Extracts a spec of a volume to be created into a common structure.

    Reads the volume row and its source (snapshot, source volume, image or backup id) into a
    :class:`VolumeSpec` (``sources.read_spec``); a source that is missing, not ``available``
    or held by another backend fails here, before anything is made.

    Reversion strategy: put the source volume's status back if it changed during the create.
    A backup's hold (``restoring``) is not let go here but by the create's end (``made``, or
    ``error`` in ``failed_create``): a create sent to another backend keeps its backup.
    """

    default_provides = "volume_spec"

    def __init__(self, db: Database) -> None:
        super().__init__(addons=[ACTION])
        self.db = db

    def execute(
        self,
        context: RequestContext,
        volume: models.Volume,
        request_spec: scheduling.RequestSpec | None,
    ) -> VolumeSpec:
        # request_spec: the seed's; it is the scheduler's, and the row as it is now (re-read,
        # as a task run twice must) says what to make
        with self.db.read() as session:
            row = volumes.get(session, volume.id)
            return sources.read_spec(session, row)

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
    step ``started``, in the same transaction); a failure is logged, never raised. With no
    event suffix (empty or None) it sends nothing.

    Reversion strategy: N/A
    """

    def __init__(self, db: Database, event_suffix: str | None) -> None:
        super().__init__(addons=[ACTION, *([event_suffix] if event_suffix else [])])
        self.db = db
        self.event_suffix = event_suffix

    def execute(self, context: RequestContext, volume: models.Volume) -> None:
        # context: the seed's; the payload comes from the row
        if not self.event_suffix:
            return
        try:
            with self.db.transaction() as session:
                if self.event_suffix == "create.start":  # the journal step, and the row
                    row = volumes.update_and_get(session, volume.id, create_step="started")
                else:
                    row = volumes.get(session, volume.id)
                notifications.emit_volume(session, row, self.event_suffix)
        except Exception:
            LOG.warning("could not queue volume.%s for %s", self.event_suffix, volume.id)


class CreateVolumeFromSpecTask(HearthTask):
    """Creates a volume from a provided specification.

    Calls the creator of the spec's source type (``sources.CREATORS``), then stores the
    driver's model update, the bootable flag, the image metadata (the image's, or the one
    the snapshot or source volume carries) and the journal step ``made`` on the row, in
    one transaction: from then on reconciliation knows the backend holds the volume. A
    volume from a backup lets the backup go (``available``) in that transaction too.

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
            backups=getattr(manager, "backup_repository", None),
        )

    def execute(
        self, context: RequestContext, volume: models.Volume, volume_spec: VolumeSpec
    ) -> None:
        # context: the seed's; the driver acts for the service, not for the caller
        update = sources.creator_for(volume_spec)(self.tools, volume_spec)
        fields: dict[str, Any] = {"bootable": volume_spec.source_bootable, "create_step": "made"}
        if update is not None and update.provider_location is not None:
            fields["provider_location"] = update.provider_location
        image_metadata = volume_spec.image_metadata()
        if image_metadata is not None:
            fields["volume_image_metadata"] = image_metadata
        with self.db.transaction() as session:
            volumes.update(session, volume.id, **fields)
            if volume_spec.backup_id is not None:  # made: the backup is free again
                backup_source.release_made(session, volume_spec.backup_id, volume.id)


class CreateVolumeOnFinishTask(NotifyVolumeActionTask):
    """On successful volume creation this will perform final volume actions.

    Sets ``available`` and ``launched_at`` and queues ``volume.<event_suffix>``
    (``create.end``; none without a suffix) in one transaction. Never raises: if the
    notification cannot be queued, the status is still set; if even that fails, start-up
    reconciliation finishes the job.

    Reversion strategy: N/A
    """

    def execute(  # type: ignore[override]
        self, context: RequestContext, volume: models.Volume, volume_spec: VolumeSpec | None
    ) -> None:
        # context, volume_spec: the seed's; finishing needs only the id (reconciliation
        # finishes a create with no spec at all)
        try:
            self._finish(volume.id, notify=bool(self.event_suffix))
        except Exception:
            LOG.warning("could not queue volume.%s for %s", self.event_suffix, volume.id)
            try:
                self._finish(volume.id, notify=False)
            except Exception:
                LOG.exception("could not mark volume %s available", volume.id)

    def _finish(self, volume_id: str, *, notify: bool) -> None:
        with self.db.transaction() as session:
            row = volumes.set_status_and_get(
                session,
                volume_id,
                statuses.VolumeStatus.AVAILABLE,
                expected=statuses.CREATE_IN_PROGRESS,
                launched_at=models.utcnow(),
                progress=None,
            )
            if row is None:
                LOG.warning("volume %s changed under its create; left as it is", volume_id)
            elif notify and self.event_suffix:
                notifications.emit_volume(session, row, self.event_suffix)


def may_reschedule(cause: BaseException | None) -> bool:
    """Whether a create that failed with ``cause`` may be tried again on another backend.

    A Hearth error's class says so (``reschedulable``, STYLE 14). An exception from outside
    Hearth's tree -- a driver's bug, a library error no boundary translated -- may: like the
    reference, only failures known to be terminal end the create on the first backend.
    """
    if isinstance(cause, errors.HearthError):
        return cause.reschedulable
    return isinstance(cause, Exception)  # not an interpreter exit or interrupt


def _first_error(flow_failures: dict[str, ft.Failure]) -> BaseException | None:
    for failure in flow_failures.values():
        if failure.exception is not None:
            return failure.exception  # type: ignore[no-any-return]
    return None
