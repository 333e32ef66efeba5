"""Usage notifications: written to the outbox with the change they report, then relayed.

``emit`` adds a notification to the caller's transaction (so a status change and the event
that reports it commit together, or neither does). The :class:`Relay` delivers committed
entries, in order, to the configured drivers (log, in-memory; the broker in a later issue)
and marks them sent. A driver that fails only delays delivery: the entry stays pending and
is tried again at the next flush. Nothing here can fail a create.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session

from hearth.db import models, outbox
from hearth.db import session as db_session

LOG = logging.getLogger(__name__)
SENT_RETENTION = timedelta(hours=1)


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
    """Delivers committed outbox entries, oldest first, to every driver.

    ``synchronous=True`` delivers right after each commit, in the committing thread (the
    embedded, one-process mode); otherwise a background thread started with :meth:`start`
    delivers when woken and at least every ``interval`` seconds.
    """

    def __init__(
        self,
        db: db_session.Database,
        drivers: Sequence[NotificationDriver],
        *,
        synchronous: bool = True,
        batch_size: int = 200,
        interval: float = 1.0,
    ) -> None:
        self._db = db
        self._drivers = tuple(drivers)
        self._synchronous = synchronous
        self._batch_size = batch_size
        self._interval = interval
        self._flush_lock = threading.Lock()
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        db.subscribe(outbox.TOPIC, self.wake)

    def wake(self) -> None:
        """Called after a commit that added entries."""
        if self._synchronous:
            self.flush()
        else:
            self._wakeup.set()

    def flush(self) -> int:
        """Deliver everything pending now; returns how many entries were delivered."""
        delivered = 0
        with self._flush_lock:
            while True:
                with self._db.transaction() as session:
                    entries = outbox.pending(session, limit=self._batch_size)
                    sent = self._deliver(session, entries)
                delivered += len(sent)
                if len(sent) < self._batch_size:
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

    def _deliver(self, session: Session, entries: Sequence[models.OutboxEntry]) -> list[int]:
        sent: list[int] = []
        for entry in entries:
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
            except Exception:  # keep order: stop here and retry this entry next time
                LOG.warning("delivery of %s failed; will retry", entry.message_id, exc_info=True)
                outbox.record_failed_attempt(session, entry.seq)
                break
            sent.append(entry.seq)
        outbox.mark_sent(session, sent)
        return sent

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.wait(self._interval)
            self._wakeup.clear()
            try:
                self.flush()
            except Exception:  # the relay must outlive a database hiccup
                LOG.warning("notification relay flush failed; will retry", exc_info=True)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
