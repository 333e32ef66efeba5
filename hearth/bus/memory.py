"""The in-process transport (``memory://``): a plain queue per topic, in this process only.

For a Hearth that serves every role itself (the library, the CLI, tests). kombu has a memory
transport too, but it polls, which costs more CPU than the rest of a cast. Each message
still makes the JSON round trip a broker would, so an argument JSON cannot carry fails here
as it would on RabbitMQ or Redis, and the endpoint gets the same document either way (a
tuple arrives as a list).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from queue import Empty, SimpleQueue
from typing import Any

from hearth import errors
from hearth.bus import envelope

POLL_TIMEOUT = 0.2
"""Seconds a consumer waits for a message before checking whether it should stop."""


class MemoryTransport:
    """One deployment's queues in this process; queues exist from the first cast on."""

    in_process = True

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, SimpleQueue[Any]] = {}

    def queue(self, topic: str) -> SimpleQueue[Any]:
        """The queue of a topic."""
        with self._lock:
            return self._queues.setdefault(topic, SimpleQueue())

    def send(self, topic: str, message: envelope.Envelope) -> None:
        """Queue the JSON document a broker would carry; raises BusUnavailable for an
        argument JSON cannot encode, and queues nothing then."""
        try:
            document = json.loads(json.dumps(message.encode()))
        except (TypeError, ValueError) as exc:  # as kombu's encoder failing on a broker
            raise errors.BusUnavailable(detail=f"cannot encode {message.method}: {exc}") from exc
        self.queue(topic).put(document)

    def check(self) -> None:
        """Nothing to reach: the queues are in this process."""

    def consume(
        self,
        topic: str,
        take: Callable[[object], None],
        ready: threading.Event,
        stopping: threading.Event,
    ) -> None:
        """Hand the topic's documents to ``take`` until ``stopping`` is set (a queue in
        memory needs no acknowledgement)."""
        source = self.queue(topic)
        ready.set()
        while not stopping.is_set():
            try:
                document = source.get(timeout=POLL_TIMEOUT)
            except Empty:
                continue
            take(document)

    def close(self) -> None:
        """Nothing to drop: queued messages stay for a later server of this bus."""
