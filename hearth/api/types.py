"""Volume type routes: list and show for everyone; create, delete and extra specs for
admins (403 for others)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from hearth import errors
from hearth.api import schemas
from hearth.api.calls import Call, body_object, call
from hearth.api.views import types as views
from hearth.db import volume_types

router = APIRouter(tags=["volume types"])


@router.get("/types")
def list_types(call: Call = Depends(call)) -> dict[str, Any]:
    """The volume types the caller may use."""
    rows = call.hearth.list_volume_types(context=call.context)
    return {"volume_types": [views.detail(call, row) for row in rows]}


@router.get("/types/{type_id}")
def show_type(type_id: str, call: Call = Depends(call)) -> dict[str, Any]:
    """One volume type; ``default`` names the type of volumes that ask for none."""
    name = volume_types.DEFAULT_NAME if type_id == "default" else type_id
    return {
        "volume_type": views.detail(call, call.hearth.get_volume_type(name, context=call.context))
    }


@router.post("/types", openapi_extra=schemas.body("type_create"))
def create_type(
    call: Call = Depends(call), body: dict[str, Any] = Depends(body_object("volume_type"))
) -> dict[str, Any]:
    """Add a volume type (admins)."""
    public = body.get("os-volume-type-access:is_public", body.get("is_public", True))
    if not isinstance(public, bool):
        raise errors.InvalidInput(field="is_public", reason="must be true or false")
    created = call.hearth.create_volume_type(
        body.get("name"),  # type: ignore[arg-type]  # checked by the facade
        description=body.get("description"),
        extra_specs=body.get("extra_specs"),
        is_public=public,
        context=call.context,
    )
    return {"volume_type": views.created(created)}


@router.delete("/types/{type_id}", status_code=202)
def delete_type(type_id: str, call: Call = Depends(call)) -> Response:
    """Remove a volume type no volume uses (admins)."""
    call.hearth.delete_volume_type(type_id, context=call.context)
    return Response(status_code=202)


@router.get("/types/{type_id}/extra_specs")
def show_extra_specs(type_id: str, call: Call = Depends(call)) -> dict[str, Any]:
    """A type's extra specs."""
    found = call.hearth.get_volume_type(type_id, context=call.context)
    return {"extra_specs": views.detail(call, found)["extra_specs"]}


@router.post("/types/{type_id}/extra_specs", openapi_extra=schemas.body("extra_specs"))
def merge_extra_specs(
    type_id: str,
    call: Call = Depends(call),
    body: dict[str, Any] = Depends(body_object("extra_specs")),
) -> dict[str, Any]:
    """Add or change extra specs (admins); answers with the given ones, as Cinder."""
    call.hearth.set_extra_specs(type_id, body, context=call.context)
    return {"extra_specs": body}


@router.get("/types/{type_id}/extra_specs/{key}")
def show_extra_spec(type_id: str, key: str, call: Call = Depends(call)) -> dict[str, Any]:
    """One extra spec, as ``{key: value}``."""
    specs = call.hearth.get_volume_type(type_id, context=call.context).extra_specs
    if key not in specs:
        raise errors.MetadataKeyNotFound(kind="Volume type", resource_id=type_id, key=key)
    return {key: str(specs[key])}


@router.delete("/types/{type_id}/extra_specs/{key}", status_code=202)
def delete_extra_spec(type_id: str, key: str, call: Call = Depends(call)) -> Response:
    """Remove one extra spec (admins)."""
    call.hearth.delete_extra_spec(type_id, key, context=call.context)
    return Response(status_code=202)
