"""Waiting for a volume or snapshot to settle (``wait=True`` in the facade).

A waiter is woken at once when a commit of this process changes the row (the repository
publishes status changes and deletes per table, see ``rows.compare_and_set_status``), and
re-reads every ``poll_interval`` seconds for changes made by other processes. A row
settles when it leaves the statuses of its work in progress, or is gone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection

from hearth.db import snapshots, volumes
from hearth.db.session import Database

TOPICS = ("volumes", "snapshots")


class StatusWatch:
    """Wakes the waiters of a row when its status changes."""

    def __init__(self, db: Database, *, poll_interval: float = 0.25) -> None:
        self._db = db
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

    def until_volume_leaves(self, volume_id: str, passing: Collection[str]) -> None:
        """Return once the volume is in none of the ``passing`` statuses, or gone."""
        self.wait(volume_id, lambda: self._volume_left(volume_id, passing))

    def until_snapshot_leaves(self, snapshot_id: str, passing: Collection[str]) -> None:
        """Return once the snapshot is in none of the ``passing`` statuses, or gone."""
        self.wait(snapshot_id, lambda: self._snapshot_left(snapshot_id, passing))

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
