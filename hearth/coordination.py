"""Locks that span threads, processes and (with a shared backend) hosts, through tooz.

The volume manager holds ``<source id>-delete_volume`` / ``<snapshot id>-delete_snapshot``
for the whole of a create from that source, and deletes take the same lock, so a source
cannot vanish mid-copy. File locks by default; ``redis://`` and others for several hosts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tooz import coordination


class Locks:
    """Named locks from one tooz coordinator."""

    def __init__(self, url: str, member_id: str | None = None) -> None:
        member = (member_id or f"hearth-{uuid.uuid4()}").encode()
        self._coordinator: Any = coordination.get_coordinator(url, member)
        self._started = False

    def start(self) -> None:
        """Connect to the lock backend."""
        if not self._started:
            self._coordinator.start(start_heart=True)
            self._started = True

    def stop(self) -> None:
        """Disconnect; locks still held are released by the backend."""
        if self._started:
            self._coordinator.stop()
            self._started = False

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        """Hold the lock ``name`` for the block, waiting as long as it takes."""
        lock = self._coordinator.get_lock(name.encode())
        lock.acquire(blocking=True)
        try:
            yield
        finally:
            lock.release()

    def try_acquire(self, name: str) -> Any | None:
        """Take the lock ``name`` if it is free, for as long as the caller keeps it (it calls
        ``release()`` on the returned lock); None when someone else holds it."""
        lock = self._coordinator.get_lock(name.encode())
        return lock if lock.acquire(blocking=False) else None


def volume_delete_lock(volume_id: str) -> str:
    """The lock a delete of this volume takes, and a clone of it holds."""
    return f"{volume_id}-delete_volume"


def snapshot_delete_lock(snapshot_id: str) -> str:
    """The lock a delete of this snapshot takes, and a create from it holds."""
    return f"{snapshot_id}-delete_snapshot"


def backend_lock(backend: str) -> str:
    """The lock a volume manager holds for as long as it serves ``backend``."""
    return f"backend-{backend}-manager"
