"""The in-process bus (``memory://``): casts carry the JSON document a broker would."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from hearth import bus as message_bus
from hearth import errors
from hearth.bus import broker, envelope, memory
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
    bus = message_bus.Bus("memory://", workers=2)
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
    bus = message_bus.Bus("memory://")
    with pytest.raises(errors.BusUnavailable, match="bus"):
        bus.cast("topic", "record", CONTEXT, "1.0", when=datetime(2026, 1, 1))
    assert isinstance(bus.transport, memory.MemoryTransport)
    assert bus.transport.queue("topic").empty()
    bus.close()


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (["not", "an", "object"], "a list, not an object"),
        ({"method": "record", "context": {}, "args": {}}, "version and method must be strings"),
        ({"version": "1.0", "method": "record", "context": {}, "args": []}, "not an object"),
        ({"version": "1.0", "method": "record", "args": {}}, "the context of record is not"),
        ({"version": "1.0", "method": "record", "context": {"user_id": "u"}}, "lacks"),
    ],
)
def test_a_document_that_is_not_an_envelope_raises_malformed_message(
    document: object, reason: str
) -> None:
    with pytest.raises(errors.MalformedMessage, match=reason):
        envelope.decode(document)


def test_an_envelope_decodes_to_what_was_encoded() -> None:
    sent = envelope.Envelope("1.2", "record", CONTEXT, {"size": 1})

    assert envelope.decode(sent.encode()) == sent
    assert sent.major == "1"


def test_a_malformed_message_is_dropped_and_the_server_keeps_serving() -> None:
    bus = message_bus.Bus("memory://", workers=1)
    assert isinstance(bus.transport, memory.MemoryTransport)
    recorder = Recorder()
    try:
        bus.transport.queue("topic").put({"method": "record"})  # what no caster sends
        bus.cast("topic", "unknown", CONTEXT, "1.0")
        bus.cast("topic", "record", CONTEXT, "2.0")  # a major version nobody serves
        bus.cast("topic", "record", CONTEXT, "1.0", size=2)
        bus.serve("topic", recorder)
        assert recorder.arrived.wait(5)
    finally:
        bus.close()
    assert [args for _, args in recorder.calls] == [{"size": 2}]


@pytest.fixture
def silent_broker() -> Iterator[int]:
    """A port that takes connections and never answers: a broker gone silent, as on the far
    side of a network cut (the kernel completes each connection; nothing reads it)."""
    with socket.create_server(("127.0.0.1", 0), backlog=16) as listener:
        yield int(listener.getsockname()[1])


@pytest.mark.parametrize("scheme", ["amqp", "redis"])
def test_a_cast_to_a_silent_broker_fails_in_bounded_time_instead_of_hanging(
    silent_broker: int, scheme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broker, "BROKER_TIMEOUT", 0.3)
    monkeypatch.setattr(broker, "CAST_RETRIES", {"max_retries": 1, "interval_start": 0})
    bus = message_bus.Bus(f"{scheme}://127.0.0.1:{silent_broker}//", namespace="silent")
    result: dict[str, BaseException] = {}

    def cast() -> None:
        try:
            bus.cast("topic", "record", CONTEXT, "1.0", size=1)
        except errors.BusUnavailable as exc:
            result["error"] = exc

    caster = threading.Thread(target=cast, daemon=True)
    caster.start()
    caster.join(15)
    assert not caster.is_alive(), "the cast is still waiting on the silent broker"
    bus.close()  # (not before: it would wait for the cast's connection)
    assert isinstance(result.get("error"), errors.BusUnavailable)
