"""Timing of the create flow: a TaskFlow listener that feeds Hearth's metrics (STYLE 12).

The volume manager attaches a :class:`CreateTimer` to each create's loaded engine
(:func:`attach`); no task knows it is timed. It turns the engine's task notifications into
``hearth_create_phase_seconds`` observations, one per phase and attempt:

- ``scheduling`` (first placement only: from the row's creation to ``scheduled_at``) and
  ``queue_wait`` (``scheduled_at`` to the flow's start), read from the row that
  ``ExtractVolumeRefTask`` returns, for a freshly placed create (journal step
  ``scheduled``; a resumed one waited for a restart, not a queue);
- ``extract``: ``ExtractVolumeRefTask`` and ``ExtractVolumeSpecTask`` together;
- ``copy``: ``CreateVolumeFromSpecTask`` for every source but images (whose phases --
  fetch, inspect, convert, cache_fill, copy -- the image path's clock times from inside);
- ``finish``: ``CreateVolumeOnFinishTask``.

A task is observed when it ends, succeeded or failed. Also: the bytes of volumes copied
from a snapshot or a volume, and ``hearth_reschedules_total`` from the revert result of
``OnFailureRescheduleTask`` (the code of the cause it rescheduled for).
"""

from __future__ import annotations

import time
from typing import Any

from taskflow import states
from taskflow.listeners import base as listeners

from hearth import metrics
from hearth.db import models
from hearth.volume.drivers import base

PHASE_OF_TASK = {
    "ExtractVolumeRefTask": "extract",
    "ExtractVolumeSpecTask": "extract",
    "CreateVolumeFromSpecTask": "copy",
    "CreateVolumeOnFinishTask": "finish",
}
"""The phase each timed task of the create flow is (by class name)."""
COPIED_SOURCES = frozenset({"snap", "source_vol"})
RESCHEDULER = "OnFailureRescheduleTask"


def attach(engine: Any, volume: models.Volume) -> CreateTimer:
    """Time the create of ``volume`` that the loaded ``engine`` is about to run."""
    timer = CreateTimer(engine, volume)
    timer.register()
    return timer


class CreateTimer(listeners.Listener):  # type: ignore[misc]
    """Observes one create flow's phases (see the module docstring)."""

    def __init__(self, engine: Any, volume: models.Volume) -> None:
        listen_for = (states.RUNNING, states.SUCCESS, states.FAILURE, states.REVERTED)
        super().__init__(engine, task_listen_for=listen_for, flow_listen_for=())
        self._source = metrics.source_of(
            snapshot_id=volume.snapshot_id,
            source_volid=volume.source_volid,
            image_id=volume.image_id,
            backup_id=volume.backup_id,
        )
        self._size_bytes = volume.size * base.GiB
        self._running: dict[str, float] = {}
        self._extract = 0.0

    def _task_receiver(self, state: str, details: dict[str, Any]) -> None:
        kind = details["task_name"].split(";", 1)[0]
        if state == states.RUNNING:
            self._running[kind] = time.monotonic()
            return
        if state == states.REVERTED:
            if kind == RESCHEDULER and isinstance(details.get("result"), str):
                metrics.RESCHEDULES_TOTAL.labels(details["result"]).inc()
            return
        phase, started = PHASE_OF_TASK.get(kind), self._running.pop(kind, None)
        if phase is None or started is None:
            return
        seconds = time.monotonic() - started
        if kind == "ExtractVolumeRefTask":
            self._extract = seconds  # observed with the spec's extraction
            if state == states.SUCCESS:
                self._placement(details["result"], started)
            return
        if kind == "ExtractVolumeSpecTask":
            seconds += self._extract
        elif phase == "copy" and self._source == "image":
            return
        metrics.observe_phase(phase, self._source, seconds)
        if phase == "copy" and state == states.SUCCESS and self._source in COPIED_SOURCES:
            metrics.count_bytes("copied", self._size_bytes)

    def _placement(self, row: models.Volume, started: float) -> None:
        if row.create_step != "scheduled" or row.scheduled_at is None:
            return
        flow_started = models.utcnow().timestamp() - (time.monotonic() - started)
        if row.reschedule_count == 0:
            placed_after = row.scheduled_at - row.created_at
            metrics.observe_phase("scheduling", self._source, placed_after.total_seconds())
        waited = flow_started - row.scheduled_at.timestamp()
        metrics.observe_phase("queue_wait", self._source, waited)
