"""Outcomes counted from what committed: the outbox entries of each commit, and their delivery.

Every operation reports its end in the outbox, in the transaction of the status change
(``hearth.notifications.events``): ``.end`` when it succeeded, ``.error`` when it failed,
and the image-volume cache its hits, misses and evictions. :class:`OutcomeCounter`
subscribes to the database's after-commit signal of the outbox, so the counters follow the
notifications exactly: once per commit, never for a transaction that rolled back, from
every place that emits (the manager, the flow, the scheduler, reconciliation).

A failure's code is the detail code of the user message written with its ``.error`` event
(every emit of an ``.error`` records one, ``messages.record_failure``): one indexed read,
for failures only. :class:`DeliveryDelay` is a notification driver the relay calls last.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol

from hearth import errors, metrics
from hearth.db import models, outbox, user_messages
from hearth.db.session import Database

LOG = logging.getLogger(__name__)
OPERATION_OF_EVENT = {
    "volume.create": "volume_create",
    "volume.delete": "volume_delete",
    "volume.resize": "volume_extend",
    "snapshot.create": "snapshot_create",
    "snapshot.delete": "snapshot_delete",
    "backup.create": "backup_create",
    "backup.delete": "backup_delete",
    "backup.restore": "backup_restore",
    "volume.attach": "attach",
    "volume.detach": "detach",
}
"""The ``operation`` label of each reported operation (``events.OPERATIONS``)."""
OUTCOME_OF_PHASE = {"end": "success", "error": "error"}
CACHE_EVENTS = {"hit": "hit", "miss": "miss", "evict": "eviction"}
"""The ``event`` label of each ``image_volume_cache.<event>`` notification."""
UNKNOWN_CODE = "unknown"
"""The code of a failure whose user message could not be read."""


class OutcomeCounter:
    """Counts the outcomes each commit reported (subscribed when built)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        db.subscribe(outbox.TOPIC, self.count)

    def count(self, entries: list[models.OutboxEntry]) -> None:
        """Count one commit's entries (called after the commit, in its thread)."""
        for entry in entries:
            kind, _, phase = entry.event_type.rpartition(".")
            if kind == "image_volume_cache" and phase in CACHE_EVENTS:
                backend = str(entry.payload.get("host"))
                metrics.IMAGE_CACHE_EVENTS_TOTAL.labels(backend, CACHE_EVENTS[phase]).inc()
                continue
            operation, outcome = OPERATION_OF_EVENT.get(kind), OUTCOME_OF_PHASE.get(phase)
            if operation is None or outcome is None:
                continue  # a .start
            code = self._code_of(entry.payload, kind) if outcome == "error" else ""
            metrics.OPERATIONS_TOTAL.labels(operation, outcome, code).inc()
            if operation == "volume_create":
                _observe_create(entry.payload, outcome)

    def _code_of(self, payload: dict[str, Any], kind: str) -> str:
        resource_id = payload.get(
            "snapshot_id"
            if kind.startswith("snapshot")
            else "backup_id"
            if kind.startswith("backup")
            else "volume_id"
        )
        try:
            with self._db.read() as session:
                found = user_messages.find_all(session, resource_uuid=resource_id)
        except errors.HearthError as exc:  # a count without its code beats no count
            LOG.warning("could not read the failure code of %s: %s", resource_id, exc)
            return UNKNOWN_CODE
        return found[-1].detail_code if found else UNKNOWN_CODE


def _observe_create(payload: dict[str, Any], outcome: str) -> None:
    created_at = payload.get("created_at")
    if not created_at:
        return
    source = metrics.source_of(
        snapshot_id=payload.get("snapshot_id"),
        source_volid=payload.get("source_volid"),
        image_id=payload.get("image_id"),
    )
    seconds = (models.utcnow() - datetime.fromisoformat(created_at)).total_seconds()
    metrics.CREATE_SECONDS.labels(source, outcome).observe(max(seconds, 0.0))


class Delivered(Protocol):
    """What :class:`DeliveryDelay` reads of a notification."""

    @property
    def timestamp(self) -> datetime: ...


class DeliveryDelay:
    """A notification driver that records how long each notification waited since its
    outbox entry was written (with the commit that made it)."""

    def deliver(self, notification: Delivered) -> None:
        waited = (models.utcnow() - notification.timestamp).total_seconds()
        metrics.NOTIFICATION_DELIVERY_DELAY_SECONDS.observe(max(waited, 0.0))

    def close(self) -> None:
        pass
