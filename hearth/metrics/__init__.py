"""Hearth's Prometheus metrics: every metric defined once, here (the table of METRICS.md).

Who feeds them, from the bottom of the data path up:

- committed outbox entries (:mod:`~hearth.metrics.outcomes`, an after-commit subscriber of
  the database): ``hearth_operations_total``, ``hearth_create_seconds`` and
  ``hearth_image_cache_events_total``, so they count exactly what the notifications report,
  once per commit, never a rolled-back change; its notification driver times delivery;
- the create flow's TaskFlow listener (``hearth.volume.flows.timing``): the phases of
  ``hearth_create_phase_seconds`` that are tasks, reschedules and bytes copied; its
  :class:`~hearth.metrics.phases.PhaseClock`, the image path's phases and bytes;
- the API's middleware (``hearth.api.metrics``): ``hearth_api_request_seconds``;
- at scrape time, one read transaction (:mod:`~hearth.metrics.state`): the gauges of what
  the database holds (capacity, creates in flight, outbox backlog, backends up) and the
  process's bus consumers.

The counters and histograms live in this process (each process exposes its own: scrape
every one). :func:`registry` puts them, the process collectors and a process's state
collector on one registry, which ``/metrics`` (API port) or ``[metrics] port`` serves.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    start_http_server,
)
from prometheus_client.registry import Collector

# no ``*_created`` series: they double the exposition and no dashboard reads them
disable_created_metrics()  # type: ignore[no-untyped-call]

PHASES = (
    "scheduling",
    "queue_wait",
    "extract",
    "fetch",
    "inspect",
    "convert",
    "copy",
    "cache_fill",
    "finish",
)
"""Values of the ``phase`` label of ``hearth_create_phase_seconds``."""
SOURCES = ("raw", "snap", "source_vol", "image", "backup")
"""Values of the ``source`` label: a create's source type (``sources.CREATORS``)."""
OPERATIONS = (
    "volume_create",
    "volume_delete",
    "volume_extend",
    "snapshot_create",
    "snapshot_delete",
    "backup_create",
    "backup_delete",
    "backup_restore",
    "attach",
    "detach",
)
"""Values of the ``operation`` label of ``hearth_operations_total``."""

_PHASE_BUCKETS = (
    *(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    *(10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0),
)
_API_BUCKETS = (
    *(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5),
    *(1.0, 2.5, 5.0, 10.0),
)

# registry=None: defined once for the process, put on a registry by ``registry()``
CREATE_PHASE_SECONDS = Histogram(
    "hearth_create_phase_seconds",
    "Time a create spent in a phase.",
    ["phase", "source"],
    buckets=_PHASE_BUCKETS,
    registry=None,
)
CREATE_SECONDS = Histogram(
    "hearth_create_seconds",
    "A whole create, from its request to available or error.",
    ["source", "outcome"],
    buckets=_PHASE_BUCKETS,
    registry=None,
)
API_REQUEST_SECONDS = Histogram(
    "hearth_api_request_seconds",
    "API requests by method, route template and status.",
    ["method", "route", "status"],
    buckets=_API_BUCKETS,
    registry=None,
)
NOTIFICATION_DELIVERY_DELAY_SECONDS = Histogram(
    "hearth_notification_delivery_delay_seconds",
    "From the commit of an outbox entry to its delivery.",
    buckets=_PHASE_BUCKETS,
    registry=None,
)
OPERATIONS_TOTAL = Counter(
    "hearth_operations_total",
    "Operations that ended, by outcome and error code.",
    ["operation", "outcome", "code"],
    registry=None,
)
RESCHEDULES_TOTAL = Counter(
    "hearth_reschedules_total",
    "Creates sent back to the scheduler, by the error code that caused it.",
    ["cause"],
    registry=None,
)
IMAGE_CACHE_EVENTS_TOTAL = Counter(
    "hearth_image_cache_events_total",
    "Image-volume cache hits, misses and evictions.",
    ["backend", "event"],
    registry=None,
)
DATA_BYTES_TOTAL = Counter(
    "hearth_data_bytes_total",
    "Bytes fetched (images read), converted (raw bytes written) and copied (volumes cloned).",
    ["kind"],
    registry=None,
)
PROCESS_METRICS = (
    CREATE_PHASE_SECONDS,
    CREATE_SECONDS,
    API_REQUEST_SECONDS,
    NOTIFICATION_DELIVERY_DELAY_SECONDS,
    OPERATIONS_TOTAL,
    RESCHEDULES_TOTAL,
    IMAGE_CACHE_EVENTS_TOTAL,
    DATA_BYTES_TOTAL,
)
"""The metrics this process keeps in memory (the gauges are read at scrape time)."""
CONTENT_TYPE = CONTENT_TYPE_LATEST
"""The content type of :func:`exposition`'s text."""
Registry = CollectorRegistry


def registry(*collectors: Collector) -> CollectorRegistry:
    """A registry of this process's metrics, the standard process collectors (CPU,
    memory, file descriptors, GC) and ``collectors`` (a process's state collector)."""
    chosen = CollectorRegistry(auto_describe=True)
    standard: tuple[Collector, ...] = (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR)
    for collector in (*PROCESS_METRICS, *standard, *collectors):
        chosen.register(collector)
    return chosen


def exposition(chosen: CollectorRegistry) -> bytes:
    """The registry in Prometheus' text format (what ``/metrics`` answers)."""
    return generate_latest(chosen)


def serve(chosen: CollectorRegistry, *, host: str, port: int) -> Any:
    """Serve ``/metrics`` of the registry on ``host:port`` from a daemon thread; returns
    the HTTP server (``shutdown()`` stops it, ``server_port`` is its port)."""
    server, _thread = start_http_server(port, addr=host, registry=chosen)
    return server


def observe_phase(phase: str, source: str, seconds: float) -> None:
    """Record that a create from ``source`` spent ``seconds`` in ``phase``."""
    CREATE_PHASE_SECONDS.labels(phase, source).observe(max(seconds, 0.0))


def count_bytes(kind: str, amount: int) -> None:
    """Add ``amount`` bytes ``fetched``, ``converted`` or ``copied``."""
    if amount > 0:
        DATA_BYTES_TOTAL.labels(kind).inc(amount)


def source_of(
    *,
    snapshot_id: str | None,
    source_volid: str | None,
    image_id: str | None,
    backup_id: str | None = None,
) -> str:
    """The ``source`` label of a create, from its row's (or payload's) source ids, in the
    order ``sources.read_spec`` decides."""
    if snapshot_id:
        return "snap"
    if source_volid:
        return "source_vol"
    if image_id:
        return "image"
    return "backup" if backup_id else "raw"
