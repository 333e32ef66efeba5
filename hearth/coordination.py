"""Locks that span threads, processes and (with a shared backend) hosts, through tooz.

The volume manager holds ``<source id>-delete_volume`` / ``<snapshot id>-delete_snapshot``
for the whole of a create from that source, and deletes take the same lock, so a source
cannot vanish mid-copy. File locks by default; ``redis://`` and others for several hosts.
A file lock is a file named after the lock: :meth:`Locks.forget` removes it once its
resource is gone, so the lock directory does not keep one file per deleted volume.
"""

from __future__ import annotations

import contextlib
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tooz import coordination


class Locks:
    """Named locks from one tooz coordinator."""

    def __init__(self, url: str, member_id: str | None = None) -> None:
        member = (member_id or f"hearth-{uuid.uuid4()}").encode()
        self._coordinator: Any = coordination.get_coordinator(url, member)
        self._started = False
        parsed = urllib.parse.urlparse(url)
        self._file_dir = Path(parsed.path) if parsed.scheme == "file" else None

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

    def forget(self, name: str) -> None:
        """Drop what the lock backend keeps for ``name``: call it, holding the lock, once
        its resource is gone for good (nothing can take the lock for a purpose any more;
        a late taker would find the resource gone either way). Only file locks keep
        something (the lock's file); other backends expire their keys."""
        if self._file_dir is not None and "/" not in name:
            with contextlib.suppress(FileNotFoundError):
                (self._file_dir / name).unlink()


def volume_delete_lock(volume_id: str) -> str:
    """The lock a delete of this volume takes, and a clone of it holds."""
    return f"{volume_id}-delete_volume"


def snapshot_delete_lock(snapshot_id: str) -> str:
    """The lock a delete of this snapshot takes, and a create from it holds."""
    return f"{snapshot_id}-delete_snapshot"


def backend_lock(backend: str) -> str:
    """The lock a volume manager holds for as long as it serves ``backend``."""
    return f"backend-{backend}-manager"
