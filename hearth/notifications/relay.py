"""The notification relay: delivers committed outbox entries to the drivers, then purges them.

``emit`` (``hearth.notifications.events``) writes an entry in the transaction of the change
it reports; the database hands each commit's entries to :meth:`Relay.wake`, and the relay
delivers them, in order, to every driver (``hearth.notifications.drivers``) and marks them
sent. A driver that fails only delays delivery: the entry stays pending and the relay's
thread retries with backoff. Nothing here can fail the operation that emitted. The same
thread drops entries delivered more than ``sent_retention`` seconds ago, every
``purge_interval`` seconds.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Sequence
from datetime import timedelta

from hearth.db import models, outbox
from hearth.db import session as db_session
from hearth.notifications.drivers import Notification, NotificationDriver

LOG = logging.getLogger(__name__)
RECENT_DELIVERIES = 10_000
"""How many delivered seqs the relay remembers, to skip a commit's late hand-over."""
SENT_RETENTION = 3600.0
"""Seconds a delivered entry is kept before the purge drops it (default)."""
PURGE_INTERVAL = 300.0
"""Seconds between two purges of delivered entries."""


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
    restart; consumers de-duplicate on ``message_id``. The thread also purges entries
    delivered more than ``sent_retention`` seconds ago, at start and every
    ``purge_interval`` seconds.
    """

    def __init__(
        self,
        db: db_session.Database,
        drivers: Sequence[NotificationDriver],
        *,
        batch_size: int = 100,
        mark_interval: float = 1.0,
        max_backoff: float = 30.0,
        sent_retention: float = SENT_RETENTION,
        purge_interval: float = PURGE_INTERVAL,
    ) -> None:
        self._db = db
        self._drivers = tuple(drivers)
        self._batch_size = batch_size
        self._mark_interval = mark_interval
        self._max_backoff = max_backoff
        self._sent_retention = timedelta(seconds=sent_retention)
        self._purge_interval = purge_interval
        self._next_purge = time.monotonic()
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
        """Drop entries delivered more than ``sent_retention`` seconds ago; returns how many."""
        with self._db.transaction() as session:
            return outbox.purge_sent(session, before=models.utcnow() - self._sent_retention)

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
            self._purge_if_due()
            delay = min(max(delay * 2, 0.25), self._max_backoff) if self._backlog else 0.0

    def _purge_if_due(self) -> None:
        if time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + self._purge_interval
        try:
            purged = self.purge()
        except Exception:  # the next purge tries again
            LOG.warning("purge of delivered notifications failed", exc_info=True)
            return
        if purged:
            LOG.info("purged %d delivered notifications", purged)

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
