"""Quota routes: ``os-quota-sets`` (show, ``?usage=True``, defaults, update, delete back to
the defaults) and ``os-quota-class-sets``; the checks are ``service/quotas.py``'s."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from hearth.api.calls import Call, body_object, call, query_flag

router = APIRouter(tags=["quotas"])


def body_schema(wrapper: str, value: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` of a JSON body ``{wrapper: {name: value...}}``."""
    inner = {"type": "object", "additionalProperties": value}
    schema = {"type": "object", "properties": {wrapper: inner}, "required": [wrapper]}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_LIMITS = body_schema("quota_set", {"type": ["integer", "string"]})
_CLASS_LIMITS = body_schema("quota_class_set", {"type": ["integer", "string"]})


@router.get("/os-quota-sets/{target_project}")
def show_quota_set(target_project: str, request: Request, call: Call = Depends(call)) -> Any:
    """A project's quota set; with ``usage=True`` each limit with its usage."""
    usage = query_flag(request.query_params.get("usage"))
    shown = call.hearth.quota_set(target_project, usage=usage, context=call.context)
    return {"quota_set": {"id": target_project, **shown}}


@router.get("/os-quota-sets/{target_project}/defaults")
def show_defaults(target_project: str, call: Call = Depends(call)) -> Any:
    """The default limits (the same for every project)."""
    return {"quota_set": {"id": target_project, **call.hearth.quota_defaults()}}


@router.put("/os-quota-sets/{target_project}", openapi_extra=_LIMITS)
def update_quota_set(
    target_project: str,
    call: Call = Depends(call),
    body: dict[str, Any] = Depends(body_object("quota_set")),
) -> Any:
    """Set some of a project's limits (admins)."""
    limits = call.hearth.update_quota_set(target_project, body, context=call.context)
    return {"quota_set": limits}


@router.delete("/os-quota-sets/{target_project}")
def delete_quota_set(target_project: str, call: Call = Depends(call)) -> Response:
    """The project's limits back to the defaults (admins)."""
    call.hearth.reset_quota_set(target_project, context=call.context)
    return Response(status_code=200)


@router.get("/os-quota-class-sets/{class_name}")
def show_quota_class_set(class_name: str, call: Call = Depends(call)) -> Any:
    """A quota class's limits (admins)."""
    limits = call.hearth.quota_class_set(class_name, context=call.context)
    return {"quota_class_set": {"id": class_name, **limits}}


@router.put("/os-quota-class-sets/{class_name}", openapi_extra=_CLASS_LIMITS)
def update_quota_class_set(
    class_name: str,
    call: Call = Depends(call),
    body: dict[str, Any] = Depends(body_object("quota_class_set")),
) -> Any:
    """Set some of a quota class's limits (admins)."""
    limits = call.hearth.update_quota_class_set(class_name, body, context=call.context)
    return {"quota_class_set": limits}
