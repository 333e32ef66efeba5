"""The image path's phases, timed from the progress it reports: fetch, inspect, convert.

A create from an image reports its progress to the volume row through
``hearth.image.progress.Throttle``, which passes on every change of phase and every
completion at once. :class:`PhaseClock` sits behind that throttle (``image_source``'s
``VolumeWatch`` hands it each step it writes) and turns the steps into observations of
``hearth_create_phase_seconds``:

- a phase starts with its first step, or where the phase before it completed (the
  download's stages follow each other: the wait for ``qemu-img``'s first progress line is
  conversion, not inspection);
- it ends at its last step that reported it complete (``done >= total``), or when the next
  phase starts, or when the download ends (:meth:`PhaseClock.end`, also after a failure).

Bytes: ``fetched`` is the image's size once it was opened (the next phase started),
``converted`` the bytes the conversion reported done. The blocks that report no progress
of their own -- a cache entry's fill, a clone from it -- are timed by :meth:`span`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Protocol

from hearth import metrics

TIMED_STEPS = {"fetch": "fetched", "inspect": "", "convert": "converted"}
"""The progress phases this clock times, and the bytes kind each one counts."""


class Step(Protocol):
    """A progress report (``hearth.image.progress.Step``)."""

    @property
    def phase(self) -> str: ...

    @property
    def done(self) -> int: ...

    @property
    def total(self) -> int: ...


class Clock(Protocol):
    """What the image path tells of its phases."""

    def step(self, step: Step) -> None: ...

    def end(self) -> None: ...

    def span(self, phase: str, *, copied: int = 0) -> contextlib.AbstractContextManager[None]: ...


class PhaseClock:
    """Times one create's image phases (see the module docstring)."""

    def __init__(self, source: str = "image") -> None:
        self._source = source
        self._lock = threading.Lock()
        self._phase: str | None = None
        self._started = 0.0
        self._completed: float | None = None
        self._done = 0
        self._total = 0

    def step(self, step: Step) -> None:
        """Note a progress report; steps of phases not in TIMED_STEPS are ignored."""
        phase = str(step.phase)
        if phase not in TIMED_STEPS:
            return
        now = time.monotonic()
        with self._lock:
            if phase != self._phase:
                start = self._completed if self._completed is not None else now
                self._close(now)
                self._phase, self._started, self._completed = phase, start, None
            self._done, self._total = step.done, step.total
            if step.done >= step.total:
                self._completed = now

    def end(self) -> None:
        """The download ended (or failed): the open phase ends now, or where it completed."""
        with self._lock:
            self._close(time.monotonic(), ended=True)
            self._phase, self._completed = None, None

    @contextlib.contextmanager
    def span(self, phase: str, *, copied: int = 0) -> Iterator[None]:
        """Time the block as ``phase`` (``cache_fill``, ``copy``), however it ends; when it
        succeeds, count ``copied`` bytes copied."""
        started = time.monotonic()
        try:
            yield
        finally:
            metrics.observe_phase(phase, self._source, time.monotonic() - started)
        metrics.count_bytes("copied", copied)

    def _close(self, now: float, *, ended: bool = False) -> None:
        if self._phase is None:
            return
        stop = self._completed if self._completed is not None else now
        metrics.observe_phase(self._phase, self._source, stop - self._started)
        kind = TIMED_STEPS[self._phase]
        if kind == "fetched" and not ended:
            metrics.count_bytes(kind, self._total)  # opened: the whole file is read
        elif kind == "converted":
            metrics.count_bytes(kind, self._done)


class Untimed:
    """A clock that records nothing (metrics switched off)."""

    def step(self, step: Step) -> None:
        pass

    def end(self) -> None:
        pass

    @contextlib.contextmanager
    def span(self, phase: str, *, copied: int = 0) -> Iterator[None]:
        yield


def untimed() -> Clock:
    """A clock for a create whose phases are not timed."""
    return Untimed()
