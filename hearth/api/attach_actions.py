"""The older attach API's volume actions on ``POST /volumes/{id}/action`` (before 3.27's
attachments, still what some clients send): ``os-reserve``, ``os-unreserve``,
``os-initialize_connection`` (200 with the ``connection_info``), ``os-attach``,
``os-begin_detaching``, ``os-roll_detaching``, ``os-terminate_connection``, ``os-detach``
and ``os-force_detach`` (admins); the others answer 202 with no body.

``volume_actions.ACTIONS`` serves them through :data:`HANDLERS`. Their arguments may be null
(cinderclient sends ``{"os-reserve": null}``); what each means is in
``hearth.service.legacy_attach``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse
from starlette.responses import Response

from hearth import errors
from hearth.api.calls import Call

Handler = Callable[[Call, str, dict[str, Any]], Any]


def _reserve(call: Call, volume_id: str, arguments: dict[str, Any]) -> None:
    call.hearth.reserve_volume(volume_id, context=call.context)


def _unreserve(call: Call, volume_id: str, arguments: dict[str, Any]) -> None:
    call.hearth.unreserve_volume(volume_id, context=call.context)


def _initialize(call: Call, volume_id: str, arguments: dict[str, Any]) -> dict[str, Any]:
    info = call.hearth.initialize_connection(
        volume_id, arguments.get("connector"), context=call.context
    )
    return {"connection_info": info}


def _attach(call: Call, volume_id: str, arguments: dict[str, Any]) -> None:
    call.hearth.attach_volume(
        volume_id,
        instance_uuid=arguments.get("instance_uuid"),
        mountpoint=arguments.get("mountpoint"),
        host_name=arguments.get("host_name"),
        mode=arguments.get("mode"),
        context=call.context,
    )


def _begin_detaching(call: Call, volume_id: str, arguments: dict[str, Any]) -> None:
    call.hearth.begin_detaching(volume_id, context=call.context)


def _roll_detaching(call: Call, volume_id: str, arguments: dict[str, Any]) -> None:
    call.hearth.roll_detaching(volume_id, context=call.context)


def _terminate(call: Call, volume_id: str, arguments: dict[str, Any]) -> None:
    call.hearth.terminate_connection(volume_id, arguments.get("connector"), context=call.context)


def _detach(call: Call, volume_id: str, arguments: dict[str, Any]) -> None:
    call.hearth.detach_volume(
        volume_id, attachment_id=arguments.get("attachment_id"), context=call.context
    )


def _force_detach(call: Call, volume_id: str, arguments: dict[str, Any]) -> None:
    call.hearth.force_detach(
        volume_id, attachment_id=arguments.get("attachment_id"), context=call.context
    )


ACTIONS: dict[str, Handler] = {
    "os-reserve": _reserve,
    "os-unreserve": _unreserve,
    "os-initialize_connection": _initialize,
    "os-attach": _attach,
    "os-begin_detaching": _begin_detaching,
    "os-roll_detaching": _roll_detaching,
    "os-terminate_connection": _terminate,
    "os-detach": _detach,
    "os-force_detach": _force_detach,
}


def _serving(action: str) -> Callable[[Call, str, Any], Response]:
    """The ``volume_actions`` handler of one of :data:`ACTIONS` (run in a worker thread:
    exports wait for the backend)."""

    def handle(call: Call, volume_id: str, arguments: Any) -> Response:
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise errors.InvalidInput(field=action, reason="a JSON object is required")
        answer = ACTIONS[action](call, volume_id, arguments)
        if answer is None:
            return Response(status_code=202)
        return JSONResponse(answer, status_code=200)

    return handle


HANDLERS = {name: _serving(name) for name in ACTIONS}
"""The actions as ``volume_actions.ACTIONS`` entries."""
