"""Gauges of what the database holds, read at scrape time: a custom Prometheus collector.

Nothing here is kept in memory: each scrape runs one short read transaction of three cheap
queries -- the backend rows (capacity as last reported, claims, heartbeat), the creates
not yet ended (``volumes.status`` is indexed; a handful of rows), and an aggregate over the
undelivered outbox entries (``sent_at`` is indexed) -- so every process that serves
``/metrics`` reports the same values (aggregate them with ``max``, not ``sum``). The bus
consumers are this process's own.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from hearth import errors
from hearth.db import backends, models, statuses, summaries
from hearth.db.session import Database

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

LOG = logging.getLogger(__name__)
GiB = 1 << 30
PROGRESS_PHASES = {
    "fetch": "fetch",
    "inspect": "inspect",
    "convert": "convert",
    "clone": "copy",
    "restore": "copy",
}
"""The in-flight phase of a create whose row shows progress (``image.progress.Phase``)."""
IN_FLIGHT_PHASES = ("scheduling", "queue_wait", "fetch", "inspect", "convert", "copy", "finish")
"""The phases a row can show (always exposed, 0 when no create is in one)."""


class StateCollector:
    """Collects the database's gauges and the process's bus consumers on each scrape."""

    def __init__(
        self, db: Database, *, backend_down_after: float, consumers: Callable[[], int]
    ) -> None:
        self._db = db
        self._down_after = timedelta(seconds=backend_down_after)
        self._consumers = consumers

    def describe(self) -> list[Metric]:
        """The families :meth:`collect` yields (empty), so registration reads no database."""
        return list(vars(_Gauges()).values())

    def collect(self) -> Iterator[Metric]:
        gauges = _Gauges()
        gauges.consumers.add_metric([], self._consumers())
        try:
            with self._db.read() as session:
                self._backends(session, gauges)
                self._in_flight(session, gauges.in_flight)
                self._outbox(session, gauges)
        except errors.HearthError as exc:  # a scrape answers what it has: the process's own
            LOG.warning("metrics could not read the database: %s", exc)
            yield gauges.consumers
            return
        yield from vars(gauges).values()

    def _backends(self, session: Session, gauges: _Gauges) -> None:
        now = models.utcnow()
        for row in backends.find_all(session):
            gauges.capacity.add_metric([row.name, "total"], row.total_bytes)
            gauges.capacity.add_metric([row.name, "free"], row.free_bytes)
            gauges.capacity.add_metric([row.name, "provisioned"], row.provisioned_bytes)
            gauges.capacity.add_metric([row.name, "claimed"], row.allocated_capacity_gb * GiB)
            fresh = row.reported_at is not None and now - row.reported_at <= self._down_after
            gauges.up.add_metric(["volume", row.name], 1 if fresh else 0)

    def _in_flight(self, session: Session, in_flight: GaugeMetricFamily) -> None:
        phases = Counter(_phase_of(*row) for row in summaries.create_positions(session))
        for phase in IN_FLIGHT_PHASES:
            in_flight.add_metric([phase], phases[phase])

    def _outbox(self, session: Session, gauges: _Gauges) -> None:
        backlog = summaries.outbox_backlog(session)
        count, oldest = backlog.count, backlog.oldest
        gauges.backlog.add_metric([], count)
        waited = 0.0 if oldest is None else (models.utcnow() - oldest).total_seconds()
        gauges.oldest_age.add_metric([], max(waited, 0.0))


def _phase_of(host: str | None, step: str | None, status: str, progress: Any) -> str:
    """Where an unfinished create is, from its row."""
    if host is None:
        return "scheduling"
    if step == "made":
        return "finish"
    if step != "started":
        return "queue_wait"  # placed; its manager has not started (or is extracting)
    if isinstance(progress, dict) and progress.get("phase") in PROGRESS_PHASES:
        return PROGRESS_PHASES[progress["phase"]]
    return "fetch" if status == statuses.VolumeStatus.DOWNLOADING else "copy"


class _Gauges:
    """One scrape's families, in exposition order."""

    def __init__(self) -> None:
        self.capacity = GaugeMetricFamily(
            "hearth_backend_capacity_bytes",
            "Each backend's capacity as last reported; claimed: sizes promised to volumes.",
            labels=["backend", "kind"],
        )
        self.in_flight = GaugeMetricFamily(
            "hearth_creates_in_flight",
            "Creates not yet ended, by the phase their row shows.",
            labels=["phase"],
        )
        self.backlog = GaugeMetricFamily("hearth_outbox_backlog", "Undelivered outbox entries.")
        self.oldest_age = GaugeMetricFamily(
            "hearth_outbox_oldest_age_seconds",
            "Age of the oldest undelivered outbox entry (0 when none).",
        )
        self.up = GaugeMetricFamily(
            "hearth_service_up",
            "1 when the service's last heartbeat is fresh, else 0.",
            labels=["service", "host"],
        )
        self.consumers = GaugeMetricFamily("hearth_bus_consumers", "Queues this process consumes.")
