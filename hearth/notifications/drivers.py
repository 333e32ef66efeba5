"""Where the relay delivers notifications: a log line, memory, or a broker's topic exchange.

``settings.notifications.drivers`` chooses them (``wiring.build``); tests and embedding
programs may add their own (anything with ``deliver`` and ``close``). A driver raises to
have a delivery retried: the relay keeps the entry pending and tries again with backoff.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from kombu.entity import Exchange, Queue

from hearth.bus import broker

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notification:
    """One delivered notification, as drivers receive it."""

    message_id: str
    event_type: str
    priority: str
    publisher_id: str
    payload: dict[str, Any]
    timestamp: datetime


class NotificationDriver(Protocol):
    """Somewhere notifications go. ``deliver`` raises to have the delivery retried."""

    def deliver(self, notification: Notification) -> None: ...

    def close(self) -> None: ...


class LogDriver:
    """Writes one log line per notification."""

    def deliver(self, notification: Notification) -> None:
        LOG.info(
            "notification %s %s %s",
            notification.event_type,
            notification.message_id,
            notification.payload,
        )

    def close(self) -> None:
        pass


class MemoryDriver:
    """Keeps notifications in memory: for tests and for programs that embed Hearth."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Notification] = []

    def deliver(self, notification: Notification) -> None:
        with self._lock:
            self._received.append(notification)

    def received(self, event_type: str | None = None) -> list[Notification]:
        """What arrived so far, optionally only one event type."""
        with self._lock:
            return [n for n in self._received if event_type in (None, n.event_type)]

    def clear(self) -> None:
        """Forget what arrived."""
        with self._lock:
            self._received.clear()

    def close(self) -> None:
        pass


class BrokerDriver:
    """Publishes notifications to a topic exchange on a broker, the way OpenStack services
    do: routing key ``<topic>.<priority>`` (``notifications.info``), JSON bodies with
    ``message_id``, ``publisher_id``, ``event_type``, ``priority``, ``payload`` and
    ``timestamp``. The queues ``<topic>.info`` and ``<topic>.error`` are declared (durable),
    so nothing is dropped before a consumer binds. Publishes through the bus's
    :class:`~hearth.bus.broker.Publisher` (bounded socket waits), failing fast: the relay
    retries."""

    def __init__(self, url: str, *, exchange: str = "hearth", topic: str = "notifications") -> None:
        self._topic = topic
        self._exchange = Exchange(exchange, type="topic", durable=True)
        self._queues = {
            priority: Queue(
                f"{topic}.{priority}", self._exchange, routing_key=f"{topic}.{priority}"
            )
            for priority in ("info", "error")
        }
        self._publisher = broker.Publisher(url)  # no retry policy: one try

    def deliver(self, notification: Notification) -> None:
        priority = notification.priority.lower()
        queue = self._queues.get(priority)
        self._publisher.publish(
            {
                "message_id": notification.message_id,
                "publisher_id": notification.publisher_id,
                "event_type": notification.event_type,
                "priority": notification.priority,
                "payload": notification.payload,
                "timestamp": notification.timestamp.isoformat(),
            },
            exchange=self._exchange,
            routing_key=f"{self._topic}.{priority}",
            declare=[queue] if queue is not None else [],
        )

    def close(self) -> None:
        """Drop the connection."""
        self._publisher.close()
