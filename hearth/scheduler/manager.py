"""The scheduler's create path: count the attempt, filter, weigh, claim, place, cast.

Served on the ``scheduler`` queue through :class:`SchedulerEndpoint`. For each
``create_volume`` it begins the next attempt (``scheduling.Attempts``, carried in the filter
properties), gives up with ``error`` once ``max_attempts`` are used, keeps the fresh
backends that pass every filter (none that an earlier attempt failed on), and tries them
best first: one transaction claims the size on the backend and records it as the volume's
host, so capacity is never promised twice. Then it casts the create to that backend's
manager. Nothing fits: ``error`` with a user message that says why.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta
from typing import Any

from hearth import config, errors
from hearth.context import RequestContext
from hearth.db import backends, models, services, statuses, volumes
from hearth.db.session import Database
from hearth.scheduler import filters, weighers
from hearth.volume import failed_create, scheduling
from hearth.volume import rpcapi as volume_rpcapi

LOG = logging.getLogger(__name__)


class _Stale(Exception):
    """The volume is no longer waiting for a backend (placed or gone meanwhile)."""


class SchedulerManager:
    """Places volumes on backends."""

    def __init__(
        self,
        *,
        db: Database,
        volume_api: volume_rpcapi.VolumeAPI,
        settings: config.SchedulerSettings,
    ) -> None:
        self.db = db
        self.volume_api = volume_api
        self.settings = settings

    def create_volume(
        self,
        context: RequestContext,
        volume_id: str,
        request_spec: scheduling.RequestSpec,
        filter_properties: scheduling.FilterProperties,
    ) -> None:
        """Place a ``creating`` volume and cast its create to the chosen backend."""
        attempts = filter_properties.retry.next()
        with self.db.read() as session:
            volume = volumes.find(session, volume_id)
        if volume is None or volume.status != statuses.VolumeStatus.CREATING or volume.host:
            LOG.info("volume %s no longer waits for a backend; request dropped", volume_id)
            return
        try:
            if attempts.number > self.settings.max_attempts:
                last = attempts.last_cause.reason if attempts.last_cause else "unknown"
                raise errors.NoValidBackend(
                    reason=f"all {self.settings.max_attempts} attempts failed; the last "
                    f"failure: {last}"
                )
            host = self.place(volume, request_spec, attempts)
        except errors.NoValidBackend as exc:
            LOG.warning("cannot place volume %s: %s", volume_id, exc)
            failed_create.error_out(self.db, context, volume_id, exc)
            return
        except _Stale:
            return
        try:
            self.volume_api.create_volume(
                context,
                host,
                volume_id,
                request_spec,
                dataclasses.replace(filter_properties, retry=attempts),
                allow_reschedule=True,
            )
        except errors.BusUnavailable as exc:
            failed_create.error_out(self.db, context, volume_id, exc, free_backend=True)

    def reconcile(self, recovery: config.RecoverySettings, *, everything: bool) -> int:
        """Place again the creates that wait for a backend and whose request was lost (all
        of them at start-up; else those untouched for ``stale_after``); returns how many.
        Their spec and attempts come from the row, so the backends they failed on stay
        tried. A duplicate request is harmless: placement is a compare-and-set."""
        cutoff = models.utcnow() - timedelta(seconds=0 if everything else recovery.stale_after)
        with self.db.read() as session:
            waiting = [
                (volume, *scheduling.rebuild(session, volume))
                for volume in volumes.find_all(session, statuses=[statuses.VolumeStatus.CREATING])
                if volume.host is None and (volume.updated_at or volume.created_at) <= cutoff
            ]
        for volume, spec, filter_properties in waiting:
            LOG.warning(
                "volume %s waits for a backend with no request: placing it again", volume.id
            )
            context = RequestContext(user_id=volume.user_id, project_id=volume.project_id)
            self.create_volume(context, volume.id, spec, filter_properties)
        return len(waiting)

    def place(
        self,
        volume: models.Volume,
        request_spec: scheduling.RequestSpec,
        attempts: scheduling.Attempts,
    ) -> str:
        """Choose a backend, claim the volume's size there and record it as its host."""
        tried = frozenset(() if self.settings.retry_same_backend else attempts.backends)
        request = _placement_request(volume, request_spec, attempts, tried, self.settings)
        with self.db.read() as session:
            switches = services.volume_switches(session)
            states = [_state(row, switches) for row in backends.find_all(session)]
        candidates = filters.select(states, request)
        for backend in weighers.order(candidates, self.settings.weigher):
            if self._claim(volume.id, backend, request.size_gb):
                LOG.info("placed volume %s on %s", volume.id, backend.name)
                return backend.name
        raise errors.NoValidBackend(reason=f"no backend has room for {request.size_gb} GiB")

    def _claim(self, volume_id: str, backend: filters.BackendState, size_gb: int) -> bool:
        with self.db.transaction() as session:
            if not backends.claim(session, backend.name, size_gb):
                return False  # another placement took the room first: try the next one
            if not volumes.place(session, volume_id, backend.name, backend.availability_zone):
                raise _Stale  # rolls the claim back
        return True


class SchedulerEndpoint:
    """What the bus dispatches to the scheduler (queue ``scheduler``): JSON in, values on."""

    RPC_VERSION = "1.0"
    RPC_METHODS = frozenset({"create_volume"})

    def __init__(self, manager: SchedulerManager) -> None:
        self.manager = manager

    def create_volume(
        self,
        context: RequestContext,
        volume_id: str,
        request_spec: dict[str, Any],
        filter_properties: dict[str, Any],
    ) -> None:
        """A cast of ``SchedulerAPI.create_volume``."""
        self.manager.create_volume(
            context,
            volume_id,
            scheduling.RequestSpec.from_json(request_spec),
            scheduling.FilterProperties.from_json(filter_properties),
        )


def _placement_request(
    volume: models.Volume,
    request_spec: scheduling.RequestSpec,
    attempts: scheduling.Attempts,
    tried: frozenset[str],
    settings: config.SchedulerSettings,
) -> filters.PlacementRequest:
    return filters.PlacementRequest(
        size_gb=volume.size,
        availability_zone=request_spec.availability_zone,
        extra_specs=request_spec.extra_specs,
        volume_type=request_spec.volume_type_name,
        tried=tried,
        source_host=request_spec.source_host,
        now=models.utcnow(),
        down_after=timedelta(seconds=settings.backend_down_after),
        last_failure=attempts.last_cause.reason if attempts.last_cause else None,
    )


def _state(
    row: models.Backend, switches: dict[str, tuple[bool, bool]] | None = None
) -> filters.BackendState:
    disabled, frozen = (switches or {}).get(row.name, (False, False))
    return filters.BackendState(
        name=row.name,
        availability_zone=row.availability_zone,
        capabilities=row.capabilities,
        capacity_limit_gb=row.capacity_limit_gb,
        allocated_capacity_gb=row.allocated_capacity_gb,
        free_bytes=row.free_bytes,
        reported_at=row.reported_at,
        disabled=disabled,
        frozen=frozen,
    )
