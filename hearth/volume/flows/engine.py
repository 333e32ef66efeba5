"""How Hearth loads TaskFlow flows: a serial engine whose atom details are kept in memory only.

TaskFlow's default in-memory persistence copies and locks its path tree on every state change
(about 40% of a six-task flow's cost here). Hearth's durable record of a create is the volume
row, not TaskFlow's logbook, so the flow's own bookkeeping needs no persistence at all:
:class:`EphemeralBackend` accepts every save and keeps nothing beyond the engine's objects.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from taskflow import engines, states
from taskflow.persistence import models
from taskflow.types import notifier

FINAL_STATES = frozenset({states.SUCCESS, states.REVERTED, states.FAILURE})


class _Connection:
    """Accepts TaskFlow's saves; the engine's own objects already hold the state."""

    def update_atom_details(self, atom_detail: Any) -> Any:
        return atom_detail

    def update_flow_details(self, flow_detail: Any, ignore_missing: bool = False) -> Any:
        return flow_detail

    def close(self) -> None:
        pass


class EphemeralBackend:
    """A TaskFlow persistence backend that persists nothing."""

    _connection = _Connection()

    def get_connection(self) -> _Connection:
        return self._connection

    def close(self) -> None:
        pass


_BACKEND = EphemeralBackend()


def when_done(loaded: Any, callback: Callable[[], None]) -> None:
    """Call ``callback`` once, when the loaded engine's flow has ended, however it ended."""
    called = threading.Event()

    def on_flow_state(state: str, details: Any) -> None:
        if state in FINAL_STATES and not called.is_set():
            called.set()
            callback()

    loaded.notifier.register(notifier.Notifier.ANY, on_flow_state)


def load(flow: Any, store: dict[str, Any]) -> Any:
    """The flow loaded into a serial engine (not yet run), with ``store`` injected."""
    detail = models.FlowDetail(flow.name, str(uuid.uuid4()))
    return engines.load(flow, store=store, flow_detail=detail, backend=_BACKEND, engine="serial")
