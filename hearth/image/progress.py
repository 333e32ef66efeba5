"""Progress of an image create, as the volume row shows it: phase, bytes done, bytes total.

The create path reports every step it takes (fetch, inspect, convert, clone); a
:class:`Throttle` passes a report on to its sink (which writes the volume row) when the
phase changes, when the phase completes, and otherwise at most every ``interval`` seconds,
so a conversion does not turn into a stream of database writes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

DEFAULT_INTERVAL = 0.5
"""Seconds between two writes within a phase."""


class Phase(StrEnum):
    """What a create from an image (or a backup) is doing."""

    FETCH = "fetch"
    INSPECT = "inspect"
    CONVERT = "convert"
    CLONE = "clone"
    RESTORE = "restore"
    """Writing a backup's data (a create from a backup, ``backup_source``)."""


@dataclass(frozen=True)
class Step:
    """One progress report."""

    phase: Phase
    done: int
    """Bytes done in this phase."""
    total: int
    """Bytes this phase handles."""

    def as_dict(self) -> dict[str, Any]:
        """The JSON form stored on the volume row."""
        return {**asdict(self), "phase": str(self.phase)}


Sink = Callable[[Step], None]


class Throttle:
    """Passes reports on to ``sink``, at most one per ``interval`` within a phase."""

    def __init__(self, sink: Sink, interval: float = DEFAULT_INTERVAL) -> None:
        self._sink = sink
        self._interval = interval
        self._lock = threading.Lock()
        self._last: Step | None = None
        self._last_time = 0.0

    def report(self, phase: Phase, done: int, total: int) -> None:
        """Record where the create is; written now or soon."""
        step = Step(phase, done, total)
        now = time.monotonic()
        with self._lock:
            changed = self._last is None or self._last.phase != phase
            due = changed or done >= total or now - self._last_time >= self._interval
            if not due or step == self._last:
                return
            self._last, self._last_time = step, now
        self._sink(step)
