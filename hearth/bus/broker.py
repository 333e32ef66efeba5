"""The broker transport: kombu to RabbitMQ (``amqp://``) or Redis (``redis://``).

Casts go to a direct exchange named after the deployment's namespace, one durable queue per
topic (``<namespace>.scheduler``, ``<namespace>.volume.<backend>``), declared by the first
cast, so work for a manager that is down waits for it. The :class:`Publisher` here is the
one way Hearth publishes to a broker: the bus's casts and the notification ``BrokerDriver``
both use it. Its connection has bounded socket waits, so a broker that goes silent (a
half-open connection after a network cut) fails a publish instead of holding it forever.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kombu.connection import Connection
from kombu.entity import Exchange, Queue
from kombu.exceptions import OperationalError

from hearth import config, errors
from hearth.bus import envelope

LOG = logging.getLogger(__name__)
BROKER_TIMEOUT = 5.0
"""Seconds a publish may wait on its connection (connect, read, write)."""
RECONNECT_DELAY = 1.0
"""Seconds a consumer waits before it reconnects to a broker that went away."""
DRAIN_TIMEOUT = 0.2
"""Seconds a consumer waits for a message before checking whether it should stop."""
CAST_RETRIES = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5}
"""How a cast retries a publish that failed (then the caller gets BusUnavailable)."""


def socket_timeouts(url: str) -> dict[str, float]:
    """Bounded socket waits for the kombu transport of ``url``."""
    if url.startswith(("amqp", "pyamqp")):
        return {"read_timeout": BROKER_TIMEOUT, "write_timeout": BROKER_TIMEOUT}
    if url.startswith(("redis", "rediss")):
        return {"socket_timeout": BROKER_TIMEOUT}
    return {}


def check_connection(url: str) -> None:
    """Connect to the broker and let go, with the bounded waits of a publish and no retry
    (the health checks); raises BusUnavailable saying why it failed."""
    try:
        with Connection(
            url, connect_timeout=BROKER_TIMEOUT, transport_options=socket_timeouts(url)
        ) as connection:
            connection.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, interval_max=0
            )
    except Exception as exc:  # kombu's or the socket's error
        raise errors.BusUnavailable(detail=str(exc)) from exc


class Publisher:
    """Publishes JSON bodies over one connection, made on first use and remade after a
    failure. ``retry_policy`` None fails fast: one connection attempt, no retry (for a
    caller that retries with its own backoff, as the notification relay does)."""

    def __init__(self, url: str, *, retry_policy: Mapping[str, float] | None = None) -> None:
        self.url = url
        self._retry_policy = retry_policy
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._producer: Any = None

    def publish(
        self,
        body: dict[str, Any],
        *,
        exchange: Exchange,
        routing_key: str,
        declare: Sequence[Queue],
    ) -> None:
        """Publish a persistent message; raises kombu's or the socket's error on failure."""
        retry = {} if self._retry_policy is None else {"retry_policy": dict(self._retry_policy)}
        with self._lock:
            try:
                self._ensure_producer().publish(
                    body,
                    exchange=exchange,
                    routing_key=routing_key,
                    declare=list(declare),
                    delivery_mode=2,
                    retry=self._retry_policy is not None,
                    **retry,
                )
            except Exception:
                self._reset()
                raise

    def close(self) -> None:
        """Drop the connection."""
        with self._lock:
            self._reset()

    def _ensure_producer(self) -> Any:
        if self._producer is None:
            self._connection = Connection(
                self.url,
                connect_timeout=BROKER_TIMEOUT,
                transport_options=socket_timeouts(self.url),
            )
            if self._retry_policy is None:  # one try, no pause
                self._connection.ensure_connection(
                    max_retries=1, interval_start=0, interval_step=0, interval_max=0
                )
            self._producer = self._connection.Producer(serializer="json")
        return self._producer

    def _reset(self) -> None:
        if self._connection is not None:
            self._connection.release()
        self._connection = None
        self._producer = None


class BrokerTransport:
    """One deployment's queues on one broker."""

    in_process = False

    def __init__(self, url: str, *, namespace: str) -> None:
        self.url = url
        self.namespace = namespace
        self._exchange = Exchange(namespace, type="direct", durable=True)
        self._publisher = Publisher(url, retry_policy=CAST_RETRIES)

    def queue(self, topic: str) -> Queue:
        """The durable queue of a topic."""
        return Queue(f"{self.namespace}.{topic}", self._exchange, routing_key=topic, durable=True)

    def send(self, topic: str, message: envelope.Envelope) -> None:
        """Publish the message; raises BusUnavailable when the broker cannot take it."""
        try:
            self._publisher.publish(
                message.encode(),
                exchange=self._exchange,
                routing_key=topic,
                declare=[self.queue(topic)],
            )
        except (OSError, OperationalError) as exc:  # no connection to the broker at all
            raise self.unreachable(exc) from exc
        except Exception as exc:  # kombu's other errors, or the JSON encoder's
            raise errors.BusUnavailable(detail=str(exc)) from exc

    def check(self) -> None:
        """Connect to the broker once (a few quick tries); raises BrokerUnreachable."""
        try:
            with Connection(self.url, connect_timeout=BROKER_TIMEOUT) as connection:
                connection.ensure_connection(max_retries=2, interval_start=0.2, timeout=10)
        except (OSError, OperationalError) as exc:
            raise self.unreachable(exc) from exc

    def unreachable(self, exc: BaseException) -> errors.BrokerUnreachable:
        """The error for a connection to this broker that failed with ``exc``."""
        return errors.BrokerUnreachable(url=config.mask_url(self.url), reason=str(exc).rstrip("."))

    def consume(
        self,
        topic: str,
        take: Callable[[object], None],
        ready: threading.Event,
        stopping: threading.Event,
    ) -> None:
        """Consume the topic's queue one message at a time, acknowledging each once
        ``take`` returns; reconnect until ``stopping`` is set."""

        def on_message(body: object, message: Any) -> None:
            take(body)
            message.ack()

        while not stopping.is_set():
            try:
                with (
                    Connection(self.url) as connection,
                    connection.Consumer(
                        [self.queue(topic)],
                        callbacks=[on_message],
                        accept=["json"],
                        prefetch_count=1,
                    ),
                ):
                    ready.set()
                    _drain(connection, stopping)
            except Exception as exc:  # the broker went away: keep trying until stopped
                LOG.warning(
                    "bus consumer of %s lost its connection to %s: %s",
                    topic,
                    config.mask_url(self.url),
                    exc,
                )
                stopping.wait(RECONNECT_DELAY)

    def close(self) -> None:
        """Drop the publishing connection (consumers close their own when they stop)."""
        self._publisher.close()


def _drain(connection: Connection, stopping: threading.Event) -> None:
    while not stopping.is_set():
        try:
            connection.drain_events(timeout=DRAIN_TIMEOUT)
        except TimeoutError:
            connection.heartbeat_check()
