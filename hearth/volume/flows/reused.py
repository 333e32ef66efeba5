"""Reused create engines: one compiled TaskFlow engine per volume manager and worker thread.

``get_flow`` builds the create flow, loads it into an engine, and the engine compiles it on
its first run: about a fifth of a raw create's time went there (``benchmarks/
flow_overhead.py``). The volume manager instead asks :class:`CreateEngines` for an engine
per create. Each thread keeps one: the same seed tasks in ``get_flow``'s order, loaded and
compiled once, then for every create reset (every task back to PENDING, results and
failures dropped: TaskFlow's ``Engine.reset``) and given the create's request (``store``,
injected again). The one task that holds something of a request,
``OnFailureRescheduleTask``, gets that request's reschedule context and decision before
the run; nothing else in the tasks belongs to one create (``task_pool`` relies on the same).

An engine serves one create at a time: TaskFlow refuses to run a locked engine, and a
thread runs one create at a time. A create started inside another one on the same thread
(a synchronous bus calling back into the manager) gets a fresh engine, used once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from taskflow.patterns import linear_flow

from hearth.context import RequestContext
from hearth.db import models
from hearth.volume import scheduling
from hearth.volume.flows import create_volume, engine


@dataclass
class _Loaded:
    flow: Any
    rescheduler: create_volume.OnFailureRescheduleTask
    engine: Any = None
    """The flow loaded (at its first run) and compiled (during it)."""
    busy: bool = False


class CreateEngines:
    """The create engines of one volume manager, one per thread that asks."""

    def __init__(self, manager: Any) -> None:
        """``manager``: the volume manager (its ``db``, ``driver``, ``host``,
        ``image_volume_cache`` build the tasks; its ``scheduler_rpcapi`` is read per create)."""
        self._manager = manager
        self._local = threading.local()

    def run(
        self,
        context: RequestContext,
        volume: models.Volume,
        allow_reschedule: bool,
        request_spec: scheduling.RequestSpec | None,
        filter_properties: scheduling.FilterProperties,
        *,
        before_run: Any = None,
    ) -> None:
        """Run the create flow of ``volume`` (what ``get_flow(...).run()`` does, with the
        same arguments); ``before_run(engine)`` may attach listeners and returns a callable
        that detaches them, called when the run has ended. Raises what the flow raises."""
        loaded = self._take()
        store = {
            "context": context,
            "filter_properties": filter_properties,
            "request_spec": request_spec,
            "volume": volume,
        }
        if loaded.engine is None:
            loaded.engine = engine.load(loaded.flow, store)
        else:
            loaded.engine.reset()
            loaded.engine.storage.inject(store)
        # what get_flow gives OnFailureRescheduleTask's constructor, for this request
        loaded.rescheduler.scheduler_rpcapi = self._manager.scheduler_rpcapi
        loaded.rescheduler.reschedule_context = context
        loaded.rescheduler.do_reschedule = bool(
            allow_reschedule and request_spec is not None and filter_properties.retry.number
        )
        detach = before_run(loaded.engine) if before_run is not None else None
        try:
            loaded.engine.run()
        finally:
            if detach is not None:
                detach()
            loaded.busy = False

    def _take(self) -> _Loaded:
        mine: _Loaded | None = getattr(self._local, "loaded", None)
        if mine is not None and not mine.busy:
            mine.busy = True
            return mine
        fresh = self._build()
        fresh.busy = True
        if mine is None:
            self._local.loaded = fresh
        return fresh

    def _build(self) -> _Loaded:
        """The flow of ``get_flow``, step by step, with tasks of its own (not pooled)."""
        m = self._manager
        extract_ref, extract_spec, notify_start, create, finish = create_volume._steady_tasks(
            m, m.db, m.driver, m.host, m.image_volume_cache
        )
        nobody = RequestContext(user_id="", project_id="")  # replaced before every run
        rescheduler = create_volume.OnFailureRescheduleTask(nobody, m.db, m.driver, None, False)
        flow = linear_flow.Flow(create_volume.ACTION.replace(":", "_") + "_manager")
        flow.add(extract_ref, rescheduler, extract_spec, notify_start, create, finish)
        return _Loaded(flow=flow, rescheduler=rescheduler)
