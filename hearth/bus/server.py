"""The consuming side of the bus: one server per topic, a bounded worker pool, the ack rule.

``Services.start`` asks the bus to serve each topic of the process (``scheduler``,
``volume.<backend>``). A :class:`Server` runs its transport's consumer on a thread of its
own; for each message the transport hands over, it decodes the envelope, checks the major
version and the method against its endpoint's ``RPC_METHODS``, waits for a free worker and
gives the call to it. The transport acknowledges the message once that returns, that is
once a worker holds it: from then on the database, not the message, records the work (a
create is a row in ``creating`` placed on a backend), so a crash loses no message that
mattered. A message that is malformed, of another major version or for an unknown method is
logged and dropped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from hearth import errors, logs
from hearth.bus import envelope

LOG = logging.getLogger(__name__)


class Endpoint(Protocol):
    """What a server dispatches to: the methods it allows, and their major version."""

    RPC_VERSION: str
    RPC_METHODS: frozenset[str]


class Transport(Protocol):
    """How envelopes travel: in this process (``memory``) or through a broker (``broker``)."""

    in_process: bool
    """Whether casts stay in this process, which must then serve every topic itself."""

    def send(self, topic: str, message: envelope.Envelope) -> None:
        """Put the message on the topic's durable queue; raises BusUnavailable when the
        message cannot be taken (the broker is unreachable, or an argument is not JSON)."""

    def check(self) -> None:
        """Make sure the transport can be reached now (a few quick tries); raises
        BrokerUnreachable naming the broker when it cannot."""

    def consume(
        self,
        topic: str,
        take: Callable[[object], None],
        ready: threading.Event,
        stopping: threading.Event,
    ) -> None:
        """Until ``stopping`` is set, hand each document of the topic's queue to ``take`` and
        acknowledge it once ``take`` returns; set ``ready`` once the queue is consumed.
        Outlives lost connections (it reconnects)."""

    def close(self) -> None:
        """Drop the transport's connections."""


class Server:
    """Takes one topic's messages off the bus; at most ``workers`` calls run at once."""

    def __init__(
        self, transport: Transport, topic: str, endpoint: Endpoint, *, workers: int
    ) -> None:
        self.topic = topic
        self.endpoint = endpoint
        self._transport = transport
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix=f"hearth-{topic}")
        self._slots = threading.BoundedSemaphore(workers)
        self._in_flight = 0
        self._count_lock = threading.Lock()
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"bus-{topic}", daemon=True)

    def start(self) -> None:
        """Start consuming; returns once the queue is being consumed. A broker that cannot
        be reached at all is BrokerUnreachable (at once, not after the ready wait)."""
        self._transport.check()
        self._thread.start()
        if not self._ready.wait(30):
            raise errors.BusUnavailable(detail=f"could not consume {self.topic}")

    def stop_consuming(self) -> None:
        """Ask the consumer to stop taking messages (returns at once)."""
        self._stopping.set()

    def stop(self) -> None:
        """Stop taking messages, then wait for the workers to finish what they hold."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        self._pool.shutdown(wait=True)

    @property
    def busy(self) -> bool:
        """Whether a worker is handling a message now."""
        return self._in_flight > 0

    def _run(self) -> None:
        self._transport.consume(self.topic, self._take, self._ready, self._stopping)

    def _take(self, document: object) -> None:
        """One message from the transport: returns once a worker holds it (or it is
        dropped), and the transport acknowledges it then."""
        try:
            message = envelope.decode(document)
        except errors.MalformedMessage as exc:
            LOG.error("dropped a message on %s: %s", self.topic, exc)
            return
        call = self._resolve(message)
        if call is None:
            return
        self._slots.acquire()  # wait for a free worker: bounded work in flight
        with self._count_lock:
            self._in_flight += 1
        self._pool.submit(self._handle, message.method, call)

    def _resolve(self, message: envelope.Envelope) -> Callable[[], Any] | None:
        if message.major != self.endpoint.RPC_VERSION.split(".")[0]:
            LOG.error(
                "dropped %s %s: version %s not served", self.topic, message.method, message.version
            )
            return None
        if message.method not in self.endpoint.RPC_METHODS:
            LOG.error("dropped %s: unknown method %r", self.topic, message.method)
            return None
        handler = getattr(self.endpoint, message.method)
        ids = logs.resource_ids(message.args)

        def call() -> Any:
            # the worker's lines carry the request id and the volume or snapshot id
            with logs.bound(request_id=message.context.request_id, **ids):
                return handler(message.context, **message.args)

        return call

    def _handle(self, method: str, call: Callable[[], Any]) -> None:
        try:
            call()
        except Exception:  # the endpoint records failures; a bug must not kill the worker
            LOG.exception("handling %s on %s failed", method, self.topic)
        finally:
            with self._count_lock:
                self._in_flight -= 1
            self._slots.release()
