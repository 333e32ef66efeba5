"""Waiting for a volume or snapshot to settle (``wait=True`` in the facade), for a bounded time.

A waiter is woken at once when a commit of this process changes the row (the repository
publishes status changes and deletes per table, see ``rows.compare_and_set_status``), and
re-reads every ``poll_interval`` seconds for changes made by other processes. A row
settles when it leaves the statuses of its work in progress, or is gone. A wait that does
not settle within its timeout raises ``WaitTimedOut`` naming the row, its status and what
it waits for (:meth:`StatusWatch.blocker`); the work itself goes on.

What a row waits for, when nothing moves it: a volume with no host waits for the scheduler;
one placed on a backend whose manager has not reported for ``[scheduler]
backend_down_after`` seconds waits for that backend ("waiting for backend bulk, last seen
40 s ago"). The CLI shows the same while it waits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from hearth import errors
from hearth.db import backends, models, snapshots, volumes
from hearth.db.session import Database

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

TOPICS = ("volumes", "snapshots", "attachments")
Kind = Literal["volume", "snapshot"]


@dataclass(frozen=True)
class Blocker:
    """What a row in progress waits for while nothing moves it."""

    backend: str | None
    """The backend whose manager is to do the work; None: the scheduler (not placed yet)."""
    last_seen: float | None = None
    """Seconds since that backend's last report; None: it never reported."""

    def __str__(self) -> str:
        if self.backend is None:
            return "waiting for the scheduler"
        if self.last_seen is None:
            return f"waiting for backend {self.backend}, never seen"
        return f"waiting for backend {self.backend}, last seen {self.last_seen:.0f} s ago"


class StatusWatch:
    """Wakes the waiters of a row when its status changes."""

    def __init__(self, db: Database, *, down_after: float, poll_interval: float = 0.25) -> None:
        self._db = db
        self._down_after = down_after
        self._poll_interval = poll_interval
        self._lock = threading.Lock()
        self._waiters: dict[str, list[threading.Event]] = {}
        for topic in TOPICS:
            db.subscribe(topic, self._changed)

    def wait(self, row_id: str, settled: Callable[[], bool], timeout: float | None = None) -> bool:
        """Return True once ``settled()`` holds for the row, False after ``timeout``."""
        event = threading.Event()
        with self._lock:
            self._waiters.setdefault(row_id, []).append(event)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while not settled():
                remaining = self._poll_interval
                if deadline is not None:
                    remaining = min(remaining, deadline - time.monotonic())
                    if remaining <= 0:
                        return False
                event.wait(remaining)
                event.clear()
            return True
        finally:
            with self._lock:
                self._waiters[row_id].remove(event)
                if not self._waiters[row_id]:
                    del self._waiters[row_id]

    def until_volume_leaves(
        self, volume_id: str, passing: Collection[str], *, timeout: float
    ) -> None:
        """Return once the volume is in none of the ``passing`` statuses, or gone; raises
        WaitTimedOut after ``timeout`` seconds."""
        if not self.wait(volume_id, lambda: self._volume_left(volume_id, passing), timeout):
            raise self._timed_out("volume", volume_id, timeout)

    def until_snapshot_leaves(
        self, snapshot_id: str, passing: Collection[str], *, timeout: float
    ) -> None:
        """Return once the snapshot is in none of the ``passing`` statuses, or gone; raises
        WaitTimedOut after ``timeout`` seconds."""
        if not self.wait(snapshot_id, lambda: self._snapshot_left(snapshot_id, passing), timeout):
            raise self._timed_out("snapshot", snapshot_id, timeout)

    def blocker(self, kind: Kind, row_id: str) -> Blocker | None:
        """What the row's work waits for if nothing is moving it: the scheduler, or a backend
        silent for ``down_after`` seconds; None when its backend is alive or it is gone."""
        with self._db.read() as session:
            host = _host_of(session, kind, row_id)
            if host is None:
                return None
            if not host:
                return Blocker(backend=None)
            try:
                reported = backends.get(session, host).reported_at
            except errors.BackendNotFound:
                reported = None
        if reported is None:
            return Blocker(backend=host)
        age = (models.utcnow() - reported).total_seconds()
        return Blocker(backend=host, last_seen=age) if age > self._down_after else None

    def _timed_out(self, kind: Kind, row_id: str, timeout: float) -> errors.WaitTimedOut:
        with self._db.read() as session:
            row = _find(session, kind, row_id)
            status = "gone" if row is None else row.status
            host = _host_of(session, kind, row_id)
        blocker = self.blocker(kind, row_id)
        if blocker is not None:
            waiting_for = str(blocker)
        else:
            waiting_for = f"backend {host} is at work" if host else "no longer in progress"
        return errors.WaitTimedOut(
            kind=kind, resource_id=row_id, status=status, timeout=timeout, waiting_for=waiting_for
        )

    def _volume_left(self, volume_id: str, passing: Collection[str]) -> bool:
        with self._db.read() as session:
            volume = volumes.find(session, volume_id)
        return volume is None or volume.status not in passing

    def _snapshot_left(self, snapshot_id: str, passing: Collection[str]) -> bool:
        with self._db.read() as session:
            snapshot = snapshots.find(session, snapshot_id)
        return snapshot is None or snapshot.status not in passing

    def _changed(self, row_ids: list[str]) -> None:
        with self._lock:
            for row_id in row_ids:
                for event in self._waiters.get(row_id, ()):
                    event.set()


def _find(session: Session, kind: Kind, row_id: str) -> models.Volume | models.Snapshot | None:
    return volumes.find(session, row_id) if kind == "volume" else snapshots.find(session, row_id)


def _host_of(session: Session, kind: Kind, row_id: str) -> str | None:
    """The backend doing the row's work ("" while a volume is not placed), None when gone.
    A snapshot's work is done by its volume's backend."""
    row = _find(session, kind, row_id)
    if row is None:
        return None
    volume = row if isinstance(row, models.Volume) else volumes.find(session, row.volume_id)
    return None if volume is None else volume.host or ""
