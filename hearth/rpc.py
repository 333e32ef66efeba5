"""The message bus: casts between the request layer, the scheduler and the volume managers.

A cast is one JSON message on a durable queue named after its topic (``scheduler``,
``volume.<backend>``) under the deployment's namespace: through kombu to RabbitMQ
(``amqp://``) or Redis (``redis://``) across processes and hosts, or, with ``memory://``,
on a plain in-process queue per topic (kombu's memory transport polls, which cost more CPU
than the rest of a cast). Either way the message is the same JSON document, and a queue
exists from the first cast on, so work for a manager that is down waits for it.

Each message is an envelope ``{"version": "1.0", "method": ..., "context": ..., "args":
...}``. A :class:`Server` takes messages of one topic, checks the major version and the
method against its endpoint's ``RPC_METHODS``, and hands each to a worker thread. It
acknowledges a message once a worker has it: from then on the database, not the message,
records the work (a create is a row in ``creating`` placed on a backend).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from queue import Empty, SimpleQueue
from typing import Any, Protocol

from kombu.connection import Connection
from kombu.entity import Exchange, Queue
from kombu.exceptions import OperationalError

from hearth import config, errors
from hearth.context import RequestContext

LOG = logging.getLogger(__name__)
RECONNECT_DELAY = 1.0
DRAIN_TIMEOUT = 0.2
"""Seconds a consumer waits for a message before checking whether it should stop."""


class Endpoint(Protocol):
    """What a server dispatches to: the methods it allows, and their major version."""

    RPC_VERSION: str
    RPC_METHODS: frozenset[str]


class Bus:
    """One deployment's queues on one broker."""

    def __init__(self, url: str, *, namespace: str = "hearth", workers: int = 8) -> None:
        self.url = url
        self.workers = workers
        self.in_process = url.startswith("memory:")
        self.namespace = namespace
        self._exchange = Exchange(self.namespace, type="direct", durable=True)
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._producer: Any = None
        self._servers: list[Server] = []
        self._local_queues: dict[str, SimpleQueue[dict[str, Any]]] = {}

    def queue(self, topic: str) -> Queue:
        """The durable queue of a topic."""
        return Queue(f"{self.namespace}.{topic}", self._exchange, routing_key=topic, durable=True)

    def connect(self) -> Connection:
        """A new connection to the broker (the caller closes it)."""
        return Connection(self.url)

    def local_queue(self, topic: str) -> SimpleQueue[dict[str, Any]]:
        """The in-process queue of a topic (``memory://`` only)."""
        with self._lock:
            return self._local_queues.setdefault(topic, SimpleQueue())

    def cast(
        self, topic: str, method: str, context: RequestContext, version: str, **args: Any
    ) -> None:
        """Queue ``method(context, **args)`` for whoever serves ``topic``; raises
        BusUnavailable when the broker cannot take it."""
        body = {"version": version, "method": method, "context": context.to_dict(), "args": args}
        if self.in_process:
            # the document a broker would carry: the same arguments pass or fail either way
            try:
                document = json.loads(json.dumps(body))
            except (TypeError, ValueError) as exc:  # as kombu's encoder failing on a broker
                raise errors.BusUnavailable(detail=f"cannot encode {method}: {exc}") from exc
            self.local_queue(topic).put(document)
            return
        with self._lock:
            try:
                self._publisher().publish(
                    body,
                    exchange=self._exchange,
                    routing_key=topic,
                    declare=[self.queue(topic)],
                    delivery_mode=2,
                    retry=True,
                    retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
                )
            except (OSError, OperationalError) as exc:
                self._reset_publisher()
                raise self.unreachable(exc) from exc
            except Exception as exc:
                self._reset_publisher()
                raise errors.BusUnavailable(detail=str(exc)) from exc

    def check(self) -> None:
        """Connect to the broker once (a few quick tries); raises BrokerUnreachable."""
        try:
            with self.connect() as connection:
                connection.ensure_connection(max_retries=2, interval_start=0.2, timeout=10)
        except (OSError, OperationalError) as exc:
            raise self.unreachable(exc) from exc

    def unreachable(self, exc: BaseException) -> errors.BrokerUnreachable:
        """The error for a connection to this bus's broker that failed with ``exc``."""
        return errors.BrokerUnreachable(url=config.mask_url(self.url), reason=str(exc).rstrip("."))

    def serve(self, topic: str, endpoint: Endpoint) -> Server:
        """Start taking ``topic``'s messages and dispatching them to ``endpoint``."""
        server = Server(self, topic, endpoint)
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
        with self._lock:
            self._reset_publisher()

    def _publisher(self) -> Any:
        if self._producer is None:
            self._connection = self.connect()
            self._producer = self._connection.Producer(serializer="json")
        return self._producer

    def _reset_publisher(self) -> None:
        if self._connection is not None:
            self._connection.release()
        self._connection = None
        self._producer = None


class Server:
    """Takes one topic's messages off the bus; at most ``bus.workers`` run at once."""

    def __init__(self, bus: Bus, topic: str, endpoint: Endpoint) -> None:
        self.bus = bus
        self.topic = topic
        self.endpoint = endpoint
        self._pool = ThreadPoolExecutor(bus.workers, thread_name_prefix=f"hearth-{topic}")
        self._slots = threading.BoundedSemaphore(bus.workers)
        self._in_flight = 0
        self._count_lock = threading.Lock()
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"bus-{topic}", daemon=True)

    def start(self) -> None:
        """Start consuming; returns once the queue is being consumed. A broker that cannot
        be reached at all is BrokerUnreachable."""
        if not self.bus.in_process:
            self.bus.check()
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
        if self.bus.in_process:
            self._consume_local()
            return
        while not self._stopping.is_set():
            try:
                with (
                    self.bus.connect() as connection,
                    connection.Consumer(
                        [self.bus.queue(self.topic)],
                        callbacks=[self._on_message],
                        accept=["json"],
                        prefetch_count=1,
                    ),
                ):
                    self._ready.set()
                    self._drain(connection)
            except Exception as exc:  # the broker went away: keep trying until stopped
                LOG.warning(
                    "bus consumer of %s lost its connection to %s: %s",
                    self.topic,
                    config.mask_url(self.bus.url),
                    exc,
                )
                self._stopping.wait(RECONNECT_DELAY)

    def _drain(self, connection: Connection) -> None:
        while not self._stopping.is_set():
            try:
                connection.drain_events(timeout=DRAIN_TIMEOUT)
            except TimeoutError:
                connection.heartbeat_check()

    def _consume_local(self) -> None:
        source = self.bus.local_queue(self.topic)
        self._ready.set()
        while not self._stopping.is_set():
            try:
                body = source.get(timeout=DRAIN_TIMEOUT)
            except Empty:
                continue
            self._dispatch(body)

    def _on_message(self, body: dict[str, Any], message: Any) -> None:
        self._dispatch(body)
        message.ack()

    def _dispatch(self, body: dict[str, Any]) -> None:
        self._slots.acquire()  # wait for a free worker: bounded work in flight
        with self._count_lock:
            self._in_flight += 1
        self._pool.submit(self._handle, body)

    def _handle(self, body: dict[str, Any]) -> None:
        try:
            call = self._resolve(body)
            if call is not None:
                call()
        except Exception:  # the endpoint records failures; a bug must not kill the worker
            LOG.exception("handling %s on %s failed", body.get("method"), self.topic)
        finally:
            with self._count_lock:
                self._in_flight -= 1
            self._slots.release()

    def _resolve(self, body: dict[str, Any]) -> Callable[[], Any] | None:
        version = str(body.get("version", ""))
        method = body.get("method")
        if version.split(".", maxsplit=1)[0] != self.endpoint.RPC_VERSION.split(".")[0]:
            LOG.error("dropped %s %s: version %s not served", self.topic, method, version)
            return None
        if method not in self.endpoint.RPC_METHODS:
            LOG.error("dropped %s: unknown method %r", self.topic, method)
            return None
        context = RequestContext.from_dict(body["context"])
        handler = getattr(self.endpoint, method)
        return lambda: handler(context, **body.get("args", {}))


def wait_until(predicate: Callable[[], bool], timeout: float | None = None) -> bool:
    """Poll ``predicate`` (2 ms, growing to 100 ms) until true; False on timeout."""
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.002
    while not predicate():
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 1.5, 0.1)
    return True
