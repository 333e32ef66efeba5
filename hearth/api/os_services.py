"""Service and host routes (admins): ``os-services`` (list, enable, disable,
disable-log-reason, freeze, thaw, set-log, get-log) and ``os-hosts`` (list, show)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from hearth import errors
from hearth.api.calls import Call, call, json_body
from hearth.api.views import shapes
from hearth.service.operator import ServiceState

router = APIRouter(tags=["services"])
ACTIONS = ("enable", "disable", "disable-log-reason", "freeze", "thaw", "set-log", "get-log")


@router.get("/os-services")
def list_services(request: Request, call: Call = Depends(call)) -> dict[str, Any]:
    """Every service, narrowed by ``binary`` and ``host``."""
    query = request.query_params
    states = call.hearth.list_services(
        binary=query.get("binary"), host=query.get("host"), context=call.context
    )
    return {"services": [_service(state) for state in states]}


_TEXT = {"type": "string", "maxLength": 255}
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        name: _TEXT
                        for name in ("host", "binary", "disabled_reason", "server", "prefix")
                    }
                    | {"level": {"type": "string", "enum": ["DEBUG", "INFO", "WARNING", "ERROR"]}},
                }
            }
        },
    }
}


@router.put("/os-services/{action}", openapi_extra=_BODY)
def service_action(action: str, call: Call = Depends(call), body: Any = Depends(json_body)) -> Any:
    """One of :data:`ACTIONS` on the services the body names."""
    if action not in ACTIONS:
        raise errors.NotFound(kind="Service action", resource_id=action)
    if not isinstance(body, dict):
        raise errors.InvalidInput(field="request body", reason="must be a JSON object")
    hearth, context = call.hearth, call.context
    if action in ("freeze", "thaw"):
        hearth.set_backend_frozen(body, frozen=action == "freeze", context=context)
        return Response(status_code=200)
    if action == "set-log":
        hearth.set_log_levels(body, context=context)
        return Response(status_code=202)
    if action == "get-log":
        return {"log_levels": hearth.get_log_levels(body, context=context)}
    row = hearth.set_service_enabled(
        body,
        enabled=action == "enable",
        with_reason=action == "disable-log-reason",
        context=context,
    )
    return {
        "host": row.host,
        "binary": row.binary,
        "status": "disabled" if row.disabled else "enabled",
        "disabled": row.disabled,
        "disabled_reason": row.disabled_reason,
    }


@router.get("/os-hosts")
def list_hosts(call: Call = Depends(call)) -> dict[str, Any]:
    """Every service's host, with its status and state."""
    states = call.hearth.list_services(context=call.context)
    return {
        "hosts": [
            {
                "host_name": state.row.host,
                "service": state.row.binary,
                "zone": state.row.availability_zone,
                "service-status": "available" if state.up else "unavailable",
                "service-state": "disabled" if state.row.disabled else "enabled",
                "last-update": shapes.timestamp(state.row.reported_at),
            }
            for state in states
        ]
    }


@router.get("/os-hosts/{host}")
def show_host(host: str, call: Call = Depends(call)) -> dict[str, Any]:
    """What a volume host holds: the total, then per project."""
    usages = call.hearth.host_usage(host, context=call.context)
    return {
        "host": [
            {
                "resource": {
                    "host": host,
                    "project": usage.project,
                    "volume_count": str(usage.volume_count),
                    "total_volume_gb": str(usage.total_volume_gb),
                    "snapshot_count": str(usage.snapshot_count),
                    "total_snapshot_gb": str(usage.total_snapshot_gb),
                }
            }
            for usage in usages
        ]
    }


def _service(state: ServiceState) -> dict[str, Any]:
    row = state.row
    return {
        "binary": row.binary,
        "host": row.host,
        "zone": row.availability_zone,
        "status": "disabled" if row.disabled else "enabled",
        "state": "up" if state.up else "down",
        "updated_at": shapes.timestamp(row.reported_at),
        "disabled_reason": row.disabled_reason,
        "frozen": row.frozen,
        "cluster": None,
        "replication_status": "disabled",
        "active_backend_id": None,
    }
