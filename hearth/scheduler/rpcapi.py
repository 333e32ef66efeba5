"""Casts to the scheduler (queue ``scheduler``): the request layer's and the managers' way in."""

from __future__ import annotations

from typing import Any

from hearth import bus as message_bus
from hearth.context import RequestContext

TOPIC = "scheduler"
VERSION = "1.0"


class SchedulerAPI:
    """Sends requests to whichever process runs the scheduler."""

    def __init__(self, bus: message_bus.Bus) -> None:
        self._bus = bus

    def create_volume(
        self,
        context: RequestContext,
        volume_id: str,
        request_spec: dict[str, Any],
        filter_properties: dict[str, Any],
    ) -> None:
        """Place a ``creating`` volume on a backend and have that backend create it."""
        self._bus.cast(
            TOPIC,
            "create_volume",
            context,
            VERSION,
            volume_id=volume_id,
            request_spec=request_spec,
            filter_properties=filter_properties,
        )
