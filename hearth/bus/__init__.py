"""The message bus: casts between the request layer, the scheduler and the volume managers.

A cast is one :class:`~hearth.bus.envelope.Envelope` (version, method, context, arguments)
sent as a JSON document to the durable queue of a topic (``scheduler``,
``volume.<backend>``). The ``rpcapi`` modules cast through :class:`Bus`; ``Services.start``
has it serve the process's topics. A transport moves the documents, chosen by the URL's
scheme: ``memory://`` keeps them in this process (:mod:`hearth.bus.memory`), anything else
goes through a kombu broker (:mod:`hearth.bus.broker`). The server side, the same for
both, is :mod:`hearth.bus.server`.
"""

from __future__ import annotations

from typing import Any

from hearth.bus import broker, envelope, memory
from hearth.bus.server import Endpoint, Server, Transport
from hearth.context import RequestContext

__all__ = ["Bus", "Endpoint", "Server", "Transport", "transport_for"]


def transport_for(url: str, *, namespace: str) -> Transport:
    """The transport of a bus URL."""
    if url.startswith("memory:"):
        return memory.MemoryTransport()
    return broker.BrokerTransport(url, namespace=namespace)


class Bus:
    """One deployment's queues (under ``namespace``) on one transport."""

    def __init__(self, url: str, *, namespace: str = "hearth", workers: int = 8) -> None:
        self.url = url
        self.namespace = namespace
        self.workers = workers
        self.transport = transport_for(url, namespace=namespace)
        self._servers: list[Server] = []

    @property
    def in_process(self) -> bool:
        """Whether casts stay in this process (which must then serve every topic)."""
        return self.transport.in_process

    def cast(
        self, topic: str, method: str, context: RequestContext, version: str, **args: Any
    ) -> None:
        """Queue ``method(context, **args)`` for whoever serves ``topic``; raises
        BusUnavailable when the transport cannot take it."""
        self.transport.send(topic, envelope.Envelope(version, method, context, args))

    def serve(self, topic: str, endpoint: Endpoint) -> Server:
        """Start taking ``topic``'s messages and dispatching them to ``endpoint``."""
        server = Server(self.transport, topic, endpoint, workers=self.workers)
        server.start()
        self._servers.append(server)
        return server

    def idle(self) -> bool:
        """Whether no worker of this process is handling a message (queued ones aside)."""
        return not any(server.busy for server in self._servers)

    def close(self) -> None:
        """Stop every server (after the work its workers hold) and disconnect."""
        for server in self._servers:
            server.stop_consuming()
        for server in self._servers:
            server.stop()  # a no-op for servers already stopped
        self._servers.clear()
        self.transport.close()
