"""Locks that span threads, processes and (with a shared backend) hosts, through tooz.

The volume manager holds ``<source id>-delete_volume`` / ``<snapshot id>-delete_snapshot``
for the whole of a create from that source, and deletes take the same lock, so a source
cannot vanish mid-copy. File locks by default; ``redis://`` and others for several hosts.
A file lock is a file named after the lock: :meth:`Locks.forget` removes it once its
resource is gone, so the lock directory does not keep one file per deleted volume.

Ownership of shared state is a held lock, never "I just started": a volume manager holds
``backend-<name>-manager`` while it serves the backend, an image upload holds
``image-<id>-upload`` while it runs. Both die with their process (a file lock with its
file descriptors, a redis lock when its heartbeat stops), so whoever can take such a lock
knows its owner is gone and may clean up after it. A lock taken with
:meth:`Locks.try_acquire` also records who holds it (pid and command, file locks only),
so a process refused the lock can say by whom.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooz import coordination

HOLDER_SUFFIX = ".holder"


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as it recorded itself; ``pid`` None when nothing (alive) is
    recorded: a lock backend that keeps no record, or a holder that has not written it."""

    pid: int | None = None
    argv: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.pid is None:
            return "a process that recorded no pid"
        return f"pid {self.pid} (`{' '.join(self.argv)}`)" if self.argv else f"pid {self.pid}"


class Held:
    """A lock taken with :meth:`Locks.try_acquire`, until :meth:`release`."""

    def __init__(self, lock: Any, record: Path | None) -> None:
        self._lock = lock
        self._record = record

    def release(self) -> None:
        """Drop the holder record (while still holding: the next holder writes its own)
        and release the lock."""
        if self._record is not None:
            self._record.unlink(missing_ok=True)
        self._lock.release()


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

    def try_acquire(self, name: str, *, wait: float = 0.0) -> Held | None:
        """Take the lock ``name`` if it is free (or frees within ``wait`` seconds), for as
        long as the caller keeps it (it calls ``release()`` on the returned lock); None
        when someone else holds it. Records this process as its holder."""
        lock = self._coordinator.get_lock(name.encode())
        if not lock.acquire(blocking=wait if wait > 0 else False):
            _close_refused(lock)
            return None
        return Held(lock, self._record_holder(name))

    def holder(self, name: str) -> Holder:
        """Who holds ``name``, as far as it recorded itself (see :class:`Holder`)."""
        record = self._holder_file(name)
        try:
            found = json.loads(record.read_text()) if record is not None else {}
            pid, argv = int(found["pid"]), tuple(str(a) for a in found.get("argv", ()))
        except (OSError, ValueError, KeyError, TypeError):
            return Holder()
        return Holder(pid, argv) if _alive(pid) else Holder()

    def forget(self, name: str) -> None:
        """Drop what the lock backend keeps for ``name``: call it, holding the lock, once
        its resource is gone for good (nothing can take the lock for a purpose any more;
        a late taker would find the resource gone either way). Only file locks keep
        something (the lock's file); other backends expire their keys."""
        if self._file_dir is not None and "/" not in name:
            with contextlib.suppress(FileNotFoundError):
                (self._file_dir / name).unlink()

    def _holder_file(self, name: str) -> Path | None:
        if self._file_dir is None or "/" in name:
            return None
        return self._file_dir / f"{name}{HOLDER_SUFFIX}"

    def _record_holder(self, name: str) -> Path | None:
        record = self._holder_file(name)
        if record is None:
            return None
        written = record.with_name(f"{record.name}.{os.getpid()}")
        try:  # written aside and renamed: a reader never sees half a record
            written.write_text(json.dumps({"pid": os.getpid(), "argv": _command()}))
            os.replace(written, record)
        except OSError:  # the record only explains a refusal; the lock is what counts
            written.unlink(missing_ok=True)
            return None
        return record


def _close_refused(lock: Any) -> None:
    """Close the file a refused tooz file lock left open (fasteners opens it to try and
    keeps it): else each refusal leaks a descriptor until collected, and closing it then
    would drop any lock this process had since taken on that file (POSIX record locks
    belong to the process). A refusal by another thread of this process never opened it."""
    inner = getattr(lock, "_lock", None)
    close = getattr(inner, "_do_close", None)
    if callable(close) and getattr(inner, "acquired", True) is False:
        close()


def _command() -> list[str]:
    """This process's command line, with ``python -m hearth``'s ``__main__.py`` shown as
    ``hearth``."""
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    return ["hearth" if program == "__main__.py" else program, *sys.argv[1:]]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def volume_delete_lock(volume_id: str) -> str:
    """The lock a delete of this volume takes, and a clone of it holds."""
    return f"{volume_id}-delete_volume"


def snapshot_delete_lock(snapshot_id: str) -> str:
    """The lock a delete of this snapshot takes, and a create from it holds."""
    return f"{snapshot_id}-delete_snapshot"


def backend_lock(backend: str) -> str:
    """The lock a volume manager holds for as long as it serves ``backend``."""
    return f"backend-{backend}-manager"


def image_upload_lock(image_id: str) -> str:
    """The lock an upload of this image holds from start to end (recovery of a dead
    upload takes it too)."""
    return f"image-{image_id}-upload"
