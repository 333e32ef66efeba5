"""QoS specs routes (admins): create, list, show, set and unset keys, delete (``force``),
associate and disassociate volume types, associations. The rules are ``service/qos.py``'s
(which consumers and keys a backend enforces)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from hearth import errors
from hearth.api.calls import Call, body_object, call, json_body, query_flag
from hearth.api.quota_sets import body_schema
from hearth.api.views import shapes
from hearth.db import models

router = APIRouter(tags=["qos specs"])
_SPECS = body_schema("qos_specs", {"type": "string", "maxLength": 255})
_KEYS = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"keys": {"type": "array", "items": {"type": "string"}}},
                    "required": ["keys"],
                }
            }
        },
    }
}


async def _body(request: Request) -> dict[str, Any]:
    document = await json_body(request)
    if not isinstance(document, dict):
        raise errors.InvalidInput(field="request body", reason="must be a JSON object")
    return document


@router.post("/qos-specs", openapi_extra=_SPECS)
def create_qos_specs(
    call: Call = Depends(call), body: dict[str, Any] = Depends(body_object("qos_specs"))
) -> dict[str, Any]:
    """New QoS specs: ``name``, ``consumer`` and the keys."""
    row = call.hearth.create_qos_specs(body, context=call.context)
    return {"qos_specs": _view(row), "links": shapes.links(call, "qos-specs", row.id)}


@router.get("/qos-specs")
def list_qos_specs(call: Call = Depends(call)) -> dict[str, Any]:
    """Every QoS specs."""
    return {"qos_specs": [_view(row) for row in call.hearth.list_qos_specs(context=call.context)]}


@router.get("/qos-specs/{qos_id}")
def show_qos_specs(qos_id: str, call: Call = Depends(call)) -> dict[str, Any]:
    """One QoS specs."""
    row = call.hearth.get_qos_specs(qos_id, context=call.context)
    return {"qos_specs": _view(row), "links": shapes.links(call, "qos-specs", row.id)}


@router.put("/qos-specs/{qos_id}", openapi_extra=_SPECS)
def set_qos_keys(
    qos_id: str,
    call: Call = Depends(call),
    body: dict[str, Any] = Depends(body_object("qos_specs")),
) -> dict[str, Any]:
    """Add or change keys; answers with the given ones, as Cinder."""
    return {"qos_specs": call.hearth.set_qos_keys(qos_id, body, context=call.context)}


@router.put("/qos-specs/{qos_id}/delete_keys", status_code=202, openapi_extra=_KEYS)
def unset_qos_keys(
    qos_id: str, call: Call = Depends(call), body: dict[str, Any] = Depends(_body)
) -> Response:
    """Remove keys."""
    call.hearth.unset_qos_keys(qos_id, body.get("keys"), context=call.context)
    return Response(status_code=202)


@router.delete("/qos-specs/{qos_id}", status_code=202)
def delete_qos_specs(qos_id: str, request: Request, call: Call = Depends(call)) -> Response:
    """Delete QoS specs; with ``force=True`` even while types use them."""
    force = query_flag(request.query_params.get("force"))
    call.hearth.delete_qos_specs(qos_id, force=force, context=call.context)
    return Response(status_code=202)


@router.get("/qos-specs/{qos_id}/associations")
def list_associations(qos_id: str, call: Call = Depends(call)) -> dict[str, Any]:
    """The volume types that use the QoS specs."""
    types = call.hearth.qos_associations(qos_id, context=call.context)
    return {
        "qos_associations": [
            {"association_type": "volume_type", "name": kind.name, "id": kind.id} for kind in types
        ]
    }


@router.get("/qos-specs/{qos_id}/associate", status_code=202)
def associate(qos_id: str, request: Request, call: Call = Depends(call)) -> Response:
    """Give the volume type ``vol_type_id`` these QoS specs."""
    type_id = request.query_params.get("vol_type_id")
    call.hearth.associate_qos_specs(qos_id, type_id, context=call.context)
    return Response(status_code=202)


@router.get("/qos-specs/{qos_id}/disassociate", status_code=202)
def disassociate(qos_id: str, request: Request, call: Call = Depends(call)) -> Response:
    """Take these QoS specs from the volume type ``vol_type_id``."""
    type_id = request.query_params.get("vol_type_id") or ""
    call.hearth.disassociate_qos_specs(qos_id, type_id, context=call.context)
    return Response(status_code=202)


@router.get("/qos-specs/{qos_id}/disassociate_all", status_code=202)
def disassociate_all(qos_id: str, call: Call = Depends(call)) -> Response:
    """Take these QoS specs from every volume type."""
    call.hearth.disassociate_qos_specs(qos_id, None, context=call.context)
    return Response(status_code=202)


def _view(row: models.QosSpecs) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "consumer": row.consumer, "specs": dict(row.specs)}
