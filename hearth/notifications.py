"""Usage notifications: written to the outbox with the change they report, then relayed.

``emit`` adds a notification to the caller's transaction (so a status change and the event
that reports it commit together, or neither does). The :class:`Relay` delivers committed
entries, in order, to the configured drivers (log, in-memory, a broker)
and marks them sent. A driver that fails only delays delivery: the entry stays pending and
the relay retries with backoff. Nothing here can fail a create.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from kombu.connection import Connection
from kombu.entity import Exchange, Queue
from sqlalchemy.orm import Session

from hearth.db import models, outbox
from hearth.db import session as db_session

LOG = logging.getLogger(__name__)
SENT_RETENTION = timedelta(hours=1)
RECENT_DELIVERIES = 10_000
BROKER_TIMEOUT = 5.0
"""Seconds a broker delivery may wait on its connection (connect, read, write)."""


def volume_usage(volume: models.Volume) -> dict[str, Any]:
    """The usage payload of a volume, with the keys OpenStack consumers know."""
    return {
        "volume_id": volume.id,
        "display_name": volume.name,
        "tenant_id": volume.project_id,
        "user_id": volume.user_id,
        "size": volume.size,
        "volume_type": volume.volume_type_id,
        "availability_zone": volume.availability_zone,
        "status": volume.status,
        "host": volume.host,
        "created_at": _iso(volume.created_at),
        "launched_at": _iso(volume.launched_at),
        "snapshot_id": volume.snapshot_id,
        "source_volid": volume.source_volid,
        "image_id": volume.image_id,
    }


def snapshot_usage(snapshot: models.Snapshot) -> dict[str, Any]:
    """The usage payload of a snapshot."""
    return {
        "snapshot_id": snapshot.id,
        "display_name": snapshot.name,
        "tenant_id": snapshot.project_id,
        "user_id": snapshot.user_id,
        "volume_id": snapshot.volume_id,
        "volume_size": snapshot.volume_size,
        "status": snapshot.status,
        "created_at": _iso(snapshot.created_at),
    }


def emit(
    session: Session,
    event_type: str,
    payload: dict[str, Any],
    *,
    publisher_id: str,
    priority: str = "INFO",
) -> None:
    """Queue a notification in the caller's transaction."""
    outbox.add(
        session,
        event_type=event_type,
        priority=priority,
        publisher_id=publisher_id,
        payload=payload,
    )


def emit_volume(session: Session, volume: models.Volume, event_suffix: str) -> None:
    """Queue ``volume.<event_suffix>`` with the volume's usage payload as it is now."""
    session.flush()
    priority = "ERROR" if event_suffix.endswith(".error") else "INFO"
    emit(
        session,
        f"volume.{event_suffix}",
        volume_usage(volume),
        publisher_id=f"volume.{volume.host or 'unscheduled'}",
        priority=priority,
    )


@dataclass(frozen=True)
class Notification:
    """One delivered notification, as drivers receive it."""

    message_id: str
    event_type: str
    priority: str
    publisher_id: str
    payload: dict[str, Any]
    timestamp: datetime


class NotificationDriver(Protocol):
    """Somewhere notifications go. ``deliver`` raises to have the delivery retried."""

    def deliver(self, notification: Notification) -> None: ...

    def close(self) -> None: ...


class LogDriver:
    """Writes one log line per notification."""

    def deliver(self, notification: Notification) -> None:
        LOG.info(
            "notification %s %s %s",
            notification.event_type,
            notification.message_id,
            notification.payload,
        )

    def close(self) -> None:
        pass


class MemoryDriver:
    """Keeps notifications in memory: for tests and for programs that embed Hearth."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Notification] = []

    def deliver(self, notification: Notification) -> None:
        with self._lock:
            self._received.append(notification)

    def received(self, event_type: str | None = None) -> list[Notification]:
        """What arrived so far, optionally only one event type."""
        with self._lock:
            return [n for n in self._received if event_type in (None, n.event_type)]

    def clear(self) -> None:
        """Forget what arrived."""
        with self._lock:
            self._received.clear()

    def close(self) -> None:
        pass


class BrokerDriver:
    """Publishes notifications to a topic exchange on a broker, the way OpenStack services
    do: routing key ``<topic>.<priority>`` (``notifications.info``), JSON bodies with
    ``message_id``, ``publisher_id``, ``event_type``, ``priority``, ``payload`` and
    ``timestamp``. The queues ``<topic>.info`` and ``<topic>.error`` are declared (durable),
    so nothing is dropped before a consumer binds. Fails fast: the relay retries."""

    def __init__(self, url: str, *, exchange: str = "hearth", topic: str = "notifications") -> None:
        self._url = url
        self._topic = topic
        self._exchange = Exchange(exchange, type="topic", durable=True)
        self._queues = {
            priority: Queue(
                f"{topic}.{priority}", self._exchange, routing_key=f"{topic}.{priority}"
            )
            for priority in ("info", "error")
        }
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._producer: Any = None

    def deliver(self, notification: Notification) -> None:
        priority = notification.priority.lower()
        body = {
            "message_id": notification.message_id,
            "publisher_id": notification.publisher_id,
            "event_type": notification.event_type,
            "priority": notification.priority,
            "payload": notification.payload,
            "timestamp": notification.timestamp.isoformat(),
        }
        with self._lock:
            try:
                if self._producer is None:
                    self._connection = Connection(
                        self._url,
                        connect_timeout=BROKER_TIMEOUT,
                        transport_options=_socket_timeouts(self._url),
                    )
                    # one try, no pause: the relay retries with its own backoff
                    self._connection.ensure_connection(
                        max_retries=1, interval_start=0, interval_step=0, interval_max=0
                    )
                    self._producer = self._connection.Producer(serializer="json")
                queue = self._queues.get(priority)
                self._producer.publish(
                    body,
                    exchange=self._exchange,
                    routing_key=f"{self._topic}.{priority}",
                    declare=[queue] if queue is not None else [],
                    delivery_mode=2,
                    retry=False,
                )
            except Exception:
                self._reset()
                raise

    def close(self) -> None:
        """Drop the connection."""
        with self._lock:
            self._reset()

    def _reset(self) -> None:
        if self._connection is not None:
            self._connection.release()
        self._connection = None
        self._producer = None


class Relay:
    """Delivers committed outbox entries to every driver, at least once, and records it.

    Each commit that adds entries hands them over (``Database.subscribe``); with no backlog
    they are delivered at once, in the committing thread and in commit order, without
    reading the table back, and marked sent in batches (``batch_size`` entries or
    ``mark_interval`` seconds). When a driver fails -- the broker is down -- the entries
    stay pending and the relay has a backlog: commits stop delivering (they never wait on
    a broker) and the background thread started by :meth:`start` drains the table, oldest
    first, retrying with exponential backoff up to ``max_backoff`` seconds. Draining locks
    the entries it takes (``SKIP LOCKED`` on PostgreSQL), so several processes share a
    backlog. A crash before a mark means those entries are delivered again after the
    restart; consumers de-duplicate on ``message_id``.
    """

    def __init__(
        self,
        db: db_session.Database,
        drivers: Sequence[NotificationDriver],
        *,
        batch_size: int = 100,
        mark_interval: float = 1.0,
        max_backoff: float = 30.0,
    ) -> None:
        self._db = db
        self._drivers = tuple(drivers)
        self._batch_size = batch_size
        self._mark_interval = mark_interval
        self._max_backoff = max_backoff
        self._lock = threading.Lock()
        self._backlog = False
        # A commit that finds a backlog leaves its entries to the drain; the drain may have
        # read the table just before that commit. ``_missed`` (under ``_handover``) tells it
        # to read once more before it declares the backlog gone, so nothing waits unsent
        # behind later deliveries.
        self._handover = threading.Lock()
        self._missed = False
        self._unmarked: list[int] = []
        # seqs delivered lately: a commit's hand-over may arrive after a drain delivered it
        self._recent: collections.deque[int] = collections.deque(maxlen=RECENT_DELIVERIES)
        self._recent_set: set[int] = set()
        self._last_mark = time.monotonic()
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        db.subscribe(outbox.TOPIC, self.wake)

    @property
    def backlog(self) -> bool:
        """Whether entries wait for a driver that failed."""
        return self._backlog

    def wake(self, entries: list[models.OutboxEntry]) -> None:
        """Take the entries a commit added: deliver them now, unless a backlog waits (then
        the relay's thread delivers them after the backlog; a commit never waits for it)."""
        if self._leave_to_drain():
            return
        with self._lock:
            if self._leave_to_drain():
                return
            delivered = self._deliver(entries)
            self._unmarked.extend(delivered)
            if len(delivered) == len(entries):
                if self._mark_due():
                    self._mark()
                return
            self._backlog = True
        self._wakeup.set()

    def _leave_to_drain(self) -> bool:
        with self._handover:
            if not self._backlog:
                return False
            self._missed = True
        self._wakeup.set()
        return True

    def flush(self) -> int:
        """Deliver everything pending now and mark it; returns how many were delivered."""
        with self._lock:
            self._mark()
            return self._drain()

    def purge(self) -> int:
        """Drop entries delivered more than an hour ago."""
        with self._db.transaction() as session:
            return outbox.purge_sent(session, before=models.utcnow() - SENT_RETENTION)

    def start(self) -> None:
        """Drain what earlier processes left, then keep retrying any backlog."""
        self._backlog = True
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="notification-relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread after a last attempt; what cannot be delivered stays
        pending in the outbox for the next process."""
        self._stopping.set()
        self._wakeup.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        try:
            self.flush()
        except Exception:
            LOG.warning("notifications left pending at shutdown", exc_info=True)
        for driver in self._drivers:
            driver.close()

    def _run(self) -> None:
        delay = 0.0
        while not self._stopping.is_set():
            self._wakeup.wait(delay if self._backlog else self._mark_interval)
            self._wakeup.clear()
            try:
                with self._lock:
                    if self._mark_due():
                        self._mark()
                    if self._backlog:
                        self._drain()
            except Exception:  # the relay must outlive a database hiccup
                LOG.warning("notification relay failed; will retry", exc_info=True)
                self._backlog = True
            delay = min(max(delay * 2, 0.25), self._max_backoff) if self._backlog else 0.0

    def _drain(self) -> int:
        """Deliver pending entries, oldest first, until none is left or a driver fails.
        No transaction stays open while a driver works: a slow broker must not hold the
        database (SQLite has one write lock)."""
        delivered = 0
        while True:
            with self._handover:
                self._missed = False
            with self._db.read() as session:
                entries = outbox.pending(session, limit=self._batch_size)
            sent = self._deliver(entries)
            with self._db.transaction() as session:
                outbox.mark_sent(session, sent)
                if len(sent) < len(entries):
                    outbox.record_failed_attempt(session, entries[len(sent)].seq)
            delivered += len(sent)
            if len(sent) < len(entries):
                self._backlog = True
                return delivered
            if len(entries) < self._batch_size:
                with self._handover:
                    if self._missed:
                        continue  # a commit came after the read: read again
                    self._backlog = False
                if delivered:
                    LOG.info("notification backlog cleared (%d delivered)", delivered)
                return delivered

    def _deliver(self, entries: Sequence[models.OutboxEntry]) -> list[int]:
        """Deliver in order up to the first failure; returns the seqs now delivered."""
        sent: list[int] = []
        for entry in entries:
            if entry.seq in self._recent_set:
                sent.append(entry.seq)  # this process delivered it already
                continue
            notification = Notification(
                message_id=entry.message_id,
                event_type=entry.event_type,
                priority=entry.priority,
                publisher_id=entry.publisher_id,
                payload=entry.payload,
                timestamp=entry.created_at,
            )
            try:
                for driver in self._drivers:
                    driver.deliver(notification)
            except Exception:  # keep the order: this one and later ones wait for the next try
                LOG.warning("delivery of %s failed; will retry", entry.message_id)
                return sent
            sent.append(entry.seq)
            self._remember(entry.seq)
        return sent

    def _remember(self, seq: int) -> None:
        if len(self._recent) == self._recent.maxlen:
            self._recent_set.discard(self._recent[0])
        self._recent.append(seq)
        self._recent_set.add(seq)

    def _mark_due(self) -> bool:
        return len(self._unmarked) >= self._batch_size or (
            bool(self._unmarked) and time.monotonic() - self._last_mark >= self._mark_interval
        )

    def _mark(self) -> None:
        if self._unmarked:
            with self._db.transaction() as session:
                outbox.mark_sent(session, self._unmarked)
            self._unmarked = []
        self._last_mark = time.monotonic()


def _socket_timeouts(url: str) -> dict[str, float]:
    """Bounded socket waits for the transport of ``url``: a broker that goes silent (a
    half-open connection after a network cut) fails the delivery, to be retried, instead of
    holding the relay forever."""
    if url.startswith(("amqp", "pyamqp")):
        return {"read_timeout": BROKER_TIMEOUT, "write_timeout": BROKER_TIMEOUT}
    if url.startswith(("redis", "rediss")):
        return {"socket_timeout": BROKER_TIMEOUT}
    return {}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
