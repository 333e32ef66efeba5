"""The in-process bus (``memory://``): casts carry the JSON document a broker would."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import pytest

from hearth import errors, rpc
from hearth.context import RequestContext

CONTEXT = RequestContext(user_id="u", project_id="p")


class Recorder:
    RPC_VERSION = "1.0"
    RPC_METHODS = frozenset({"record"})

    def __init__(self) -> None:
        self.calls: list[tuple[RequestContext, dict[str, Any]]] = []
        self.arrived = threading.Event()

    def record(self, context: RequestContext, **args: Any) -> None:
        self.calls.append((context, args))
        self.arrived.set()


def test_a_cast_reaches_the_endpoint_as_the_json_document_a_broker_would_carry() -> None:
    bus = rpc.Bus("memory://", workers=2)
    recorder = Recorder()
    try:
        bus.cast("topic", "record", CONTEXT, "1.0", size=1, tags=("a", "b"))  # queued first
        bus.serve("topic", recorder)
        assert recorder.arrived.wait(5)
    finally:
        bus.close()
    ((context, args),) = recorder.calls
    assert context.user_id == "u" and context.project_id == "p"
    assert args == {"size": 1, "tags": ["a", "b"]}  # a tuple travels as a JSON list


def test_an_argument_json_cannot_carry_is_refused_and_nothing_is_queued() -> None:
    bus = rpc.Bus("memory://")
    with pytest.raises(errors.BusUnavailable, match="bus"):
        bus.cast("topic", "record", CONTEXT, "1.0", when=datetime(2026, 1, 1))
    assert bus.local_queue("topic").empty()
    bus.close()
