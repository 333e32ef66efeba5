"""Casts to the scheduler (queue ``scheduler``): the request layer's and the managers' way in."""

from __future__ import annotations

from hearth import bus as message_bus
from hearth.context import RequestContext
from hearth.volume import scheduling

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
        request_spec: scheduling.RequestSpec,
        filter_properties: scheduling.FilterProperties,
    ) -> None:
        """Place a ``creating`` volume on a backend and have that backend create it (the
        endpoint, ``scheduler.manager.SchedulerEndpoint``, turns the JSON back into values)."""
        self._bus.cast(
            TOPIC,
            "create_volume",
            context,
            VERSION,
            volume_id=volume_id,
            request_spec=request_spec.to_json(),
            filter_properties=filter_properties.to_json(),
        )
