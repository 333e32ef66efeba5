"""Usage notifications: written to the outbox with the change they report, then relayed.

``emit`` adds a notification to the caller's transaction (so a status change and the event
that reports it commit together, or neither does). The :class:`Relay` delivers committed
entries, in order, to the configured drivers (log, in-memory; the broker in a later issue)
and marks them sent. A driver that fails only delays delivery: the entry stays pending and
is tried again with the next commit or flush. Nothing here can fail a create.
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

from sqlalchemy.orm import Session

from hearth.db import models, outbox
from hearth.db import session as db_session

LOG = logging.getLogger(__name__)
SENT_RETENTION = timedelta(hours=1)
RECENT_DELIVERIES = 10_000


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


class LogDriver:
    """Writes one log line per notification."""

    def deliver(self, notification: Notification) -> None:
        LOG.info(
            "notification %s %s %s",
            notification.event_type,
            notification.message_id,
            notification.payload,
        )


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


class Relay:
    """Delivers committed outbox entries to every driver, at least once, and records it.

    Each commit that adds entries hands them over (``Database.subscribe``). With no backlog
    they are delivered at once, in commit order, without reading the table back. A backlog
    -- entries left by an earlier process, or held up by a failing driver -- is drained
    from the table, oldest first, before anything newer. Deliveries are marked sent in
    batches (``batch_size`` entries or ``mark_interval`` seconds, and at :meth:`flush`); a
    crash before a mark means those entries are delivered again after the restart, which
    consumers absorb by de-duplicating on ``message_id``.

    ``synchronous=True`` delivers in the committing thread (the embedded mode); otherwise a
    background thread started with :meth:`start` does.
    """

    def __init__(
        self,
        db: db_session.Database,
        drivers: Sequence[NotificationDriver],
        *,
        synchronous: bool = True,
        batch_size: int = 200,
        mark_interval: float = 1.0,
    ) -> None:
        self._db = db
        self._drivers = tuple(drivers)
        self._synchronous = synchronous
        self._batch_size = batch_size
        self._mark_interval = mark_interval
        self._lock = threading.Lock()
        self._backlog = True  # until the table has been read once
        self._unmarked: list[int] = []
        # seqs delivered lately: a commit's hand-over may arrive after a drain delivered it
        self._recent: collections.deque[int] = collections.deque(maxlen=RECENT_DELIVERIES)
        self._recent_set: set[int] = set()
        self._last_mark = time.monotonic()
        self._queue: list[models.OutboxEntry] = []
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        db.subscribe(outbox.TOPIC, self.wake)

    def wake(self, entries: list[models.OutboxEntry]) -> None:
        """Take the entries a commit added."""
        if self._synchronous:
            self._process(entries)
            return
        with self._lock:
            self._queue.extend(entries)
        self._wakeup.set()

    def flush(self) -> int:
        """Deliver everything pending now and mark it sent; returns how many were delivered."""
        with self._lock:
            delivered = self._drain()
            self._mark()
        return delivered

    def purge(self) -> int:
        """Drop entries delivered more than an hour ago."""
        with self._db.transaction() as session:
            return outbox.purge_sent(session, before=models.utcnow() - SENT_RETENTION)

    def start(self) -> None:
        """Run delivery in a background thread."""
        self._thread = threading.Thread(target=self._run, name="notification-relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread after a last delivery."""
        self._stopping.set()
        self._wakeup.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()

    def _process(self, entries: list[models.OutboxEntry]) -> None:
        with self._lock:
            if self._backlog:
                self._drain()  # reads these entries too, in order after older ones
            elif self._deliver(entries) < len(entries):
                self._backlog = True
            if len(self._unmarked) >= self._batch_size or (
                time.monotonic() - self._last_mark >= self._mark_interval
            ):
                self._mark()

    def _drain(self) -> int:
        delivered = 0
        while True:
            with self._db.transaction() as session:
                entries = outbox.pending(session, limit=self._batch_size, skip=self._unmarked)
            sent = self._deliver(entries)
            delivered += sent
            if sent < len(entries):
                self._backlog = True
                return delivered
            if len(entries) < self._batch_size:
                self._backlog = False
                return delivered
            self._mark()  # keeps the skip list short

    def _deliver(self, entries: Sequence[models.OutboxEntry]) -> int:
        """Deliver in order up to the first failure; returns how many were handled."""
        for count, entry in enumerate(entries):
            if entry.seq in self._recent_set:
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
                LOG.warning("delivery of %s failed; will retry", entry.message_id, exc_info=True)
                with self._db.transaction() as session:
                    outbox.record_failed_attempt(session, entry.seq)
                return count
            self._unmarked.append(entry.seq)
            self._remember(entry.seq)
        return len(entries)

    def _remember(self, seq: int) -> None:
        if len(self._recent) == self._recent.maxlen:
            self._recent_set.discard(self._recent[0])
        self._recent.append(seq)
        self._recent_set.add(seq)

    def _mark(self) -> None:
        if self._unmarked:
            with self._db.transaction() as session:
                outbox.mark_sent(session, self._unmarked)
            self._unmarked = []
        self._last_mark = time.monotonic()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.wait(self._mark_interval)
            self._wakeup.clear()
            with self._lock:
                entries, self._queue = self._queue, []
            try:
                self._process(entries)
            except Exception:  # the relay must outlive a database hiccup
                LOG.warning("notification relay failed; will retry", exc_info=True)
                self._backlog = True


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
