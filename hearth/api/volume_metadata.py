"""Volume metadata routes: the whole set (get, merge, replace) and one item by key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from hearth import errors
from hearth.api import schemas
from hearth.api.calls import Call, body_object, call

router = APIRouter(tags=["volume metadata"])


@router.get("/volumes/{volume_id}/metadata")
def show_metadata(volume_id: str, call: Call = Depends(call)) -> dict[str, Any]:
    """Every metadata item of a volume."""
    volume = call.hearth.get_volume(volume_id, context=call.context)
    return {"metadata": dict(volume.volume_metadata)}


@router.post("/volumes/{volume_id}/metadata", openapi_extra=schemas.body("metadata"))
def merge_metadata(
    volume_id: str,
    call: Call = Depends(call),
    body: dict[str, Any] = Depends(body_object("metadata")),
) -> dict[str, Any]:
    """Add or change the given items; answers with all of them."""
    merged = call.hearth.set_volume_metadata(volume_id, body, context=call.context)
    return {"metadata": merged}


@router.put("/volumes/{volume_id}/metadata", openapi_extra=schemas.body("metadata"))
def replace_metadata(
    volume_id: str,
    call: Call = Depends(call),
    body: dict[str, Any] = Depends(body_object("metadata")),
) -> dict[str, Any]:
    """Replace every item with the given ones."""
    replaced = call.hearth.set_volume_metadata(volume_id, body, replace=True, context=call.context)
    return {"metadata": replaced}


@router.get("/volumes/{volume_id}/metadata/{key}")
def show_item(volume_id: str, key: str, call: Call = Depends(call)) -> dict[str, Any]:
    """One metadata item."""
    volume = call.hearth.get_volume(volume_id, context=call.context)
    if key not in volume.volume_metadata:
        raise errors.MetadataKeyNotFound(kind="Volume", resource_id=volume_id, key=key)
    return {"meta": {key: volume.volume_metadata[key]}}


@router.put("/volumes/{volume_id}/metadata/{key}", openapi_extra=schemas.body("meta"))
def set_item(
    volume_id: str,
    key: str,
    call: Call = Depends(call),
    body: dict[str, Any] = Depends(body_object("meta")),
) -> dict[str, Any]:
    """Set one item; the body names exactly that key."""
    if list(body) != [key]:
        raise errors.InvalidInput(field="meta", reason=f"must hold exactly the key {key!r}")
    call.hearth.set_volume_metadata(volume_id, body, context=call.context)
    return {"meta": body}


@router.delete("/volumes/{volume_id}/metadata/{key}")
def delete_item(volume_id: str, key: str, call: Call = Depends(call)) -> Response:
    """Remove one item (200, no body, as Cinder)."""
    call.hearth.delete_volume_metadata(volume_id, key, context=call.context)
    return Response(status_code=200)
