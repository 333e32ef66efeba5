"""The scheduler's create path: count the attempt, filter, weigh, claim, place, cast.

Served on the ``scheduler`` queue. For each ``create_volume`` it counts the attempt (the
retry record travels in ``filter_properties``), gives up with ``error`` once
``max_attempts`` are used, keeps the fresh backends that pass every filter, and tries them
best first: one transaction claims the size on the backend and records it as the volume's
host, so capacity is never promised twice. Then it casts the create to that backend's
manager. Nothing fits: ``error`` with a user message that says why.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from hearth import config, errors
from hearth.context import RequestContext
from hearth.db import backends, models, statuses, volumes
from hearth.db.session import Database
from hearth.scheduler import filters, weighers
from hearth.volume import request_spec
from hearth.volume import rpcapi as volume_rpcapi
from hearth.volume.flows import create_volume

LOG = logging.getLogger(__name__)


class _Stale(Exception):
    """The volume is no longer waiting for a backend (placed or gone meanwhile)."""


class SchedulerManager:
    """Places volumes on backends."""

    RPC_VERSION = "1.0"
    RPC_METHODS = frozenset({"create_volume"})

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
        request_spec: dict[str, Any],
        filter_properties: dict[str, Any],
    ) -> None:
        """Place a ``creating`` volume and cast its create to the chosen backend."""
        retry = _next_attempt(filter_properties)
        with self.db.read() as session:
            volume = volumes.find(session, volume_id)
        if volume is None or volume.status != statuses.VolumeStatus.CREATING or volume.host:
            LOG.info("volume %s no longer waits for a backend; request dropped", volume_id)
            return
        try:
            if retry["num_attempts"] > self.settings.max_attempts:
                raise errors.NoValidBackend(
                    reason=f"all {self.settings.max_attempts} attempts failed; the last "
                    f"failure: {retry.get('exc_reason', 'unknown')}"
                )
            host = self.place(volume, request_spec, retry)
        except errors.NoValidBackend as exc:
            LOG.warning("cannot place volume %s: %s", volume_id, exc)
            create_volume.error_out(self.db, context, volume_id, exc)
            return
        except _Stale:
            return
        retry["backends"].append(host)
        try:
            self.volume_api.create_volume(
                context, host, volume_id, request_spec, filter_properties, allow_reschedule=True
            )
        except errors.BusUnavailable as exc:
            create_volume.error_out(self.db, context, volume_id, exc, free_backend=True)

    def reconcile(self, recovery: config.RecoverySettings, *, everything: bool) -> int:
        """Place again the creates that wait for a backend and whose request was lost (all
        of them at start-up; else those untouched for ``stale_after``); returns how many.
        A duplicate request is harmless: placement is a compare-and-set."""
        cutoff = models.utcnow() - timedelta(seconds=0 if everything else recovery.stale_after)
        with self.db.read() as session:
            waiting = [
                (volume, request_spec.rebuild(session, volume))
                for volume in volumes.find_all(session, statuses=[statuses.VolumeStatus.CREATING])
                if volume.host is None and (volume.updated_at or volume.created_at) <= cutoff
            ]
        for volume, spec in waiting:
            LOG.warning(
                "volume %s waits for a backend with no request: placing it again", volume.id
            )
            context = RequestContext(user_id=volume.user_id, project_id=volume.project_id)
            retry = {"num_attempts": volume.reschedule_count, "backends": []}
            self.create_volume(context, volume.id, spec, {"retry": retry})
        return len(waiting)

    def place(
        self, volume: models.Volume, request_spec: dict[str, Any], retry: dict[str, Any]
    ) -> str:
        """Choose a backend, claim the volume's size there and record it as its host."""
        tried = frozenset(() if self.settings.retry_same_backend else retry["backends"])
        request = _placement_request(volume, request_spec, retry, tried, self.settings)
        with self.db.read() as session:
            states = [_state(row) for row in backends.find_all(session)]
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


def _next_attempt(filter_properties: dict[str, Any]) -> dict[str, Any]:
    retry = filter_properties.setdefault("retry", {})
    retry["num_attempts"] = int(retry.get("num_attempts", 0)) + 1
    retry.setdefault("backends", [])
    return retry  # type: ignore[no-any-return]


def _placement_request(
    volume: models.Volume,
    request_spec: dict[str, Any],
    retry: dict[str, Any],
    tried: frozenset[str],
    settings: config.SchedulerSettings,
) -> filters.PlacementRequest:
    volume_type = request_spec.get("volume_type") or {}
    return filters.PlacementRequest(
        size_gb=volume.size,
        availability_zone=request_spec.get("availability_zone"),
        extra_specs=volume_type.get("extra_specs") or {},
        volume_type=volume_type.get("name"),
        tried=tried,
        source_host=request_spec.get("source_host"),
        now=models.utcnow(),
        down_after=timedelta(seconds=settings.backend_down_after),
        last_failure=retry.get("exc_reason"),
    )


def _state(row: models.Backend) -> filters.BackendState:
    return filters.BackendState(
        name=row.name,
        availability_zone=row.availability_zone,
        capabilities=row.capabilities,
        capacity_limit_gb=row.capacity_limit_gb,
        allocated_capacity_gb=row.allocated_capacity_gb,
        free_bytes=row.free_bytes,
        reported_at=row.reported_at,
    )
