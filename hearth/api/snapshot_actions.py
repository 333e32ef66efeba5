"""Snapshot action and metadata routes: ``POST /snapshots/{id}/action`` (its table of
actions, as ``volume_actions``) and ``/snapshots/{id}/metadata[/{key}]`` (all verbs, as
the volume metadata routes).

The snapshot is looked up before the action's name is checked: a missing one is 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from hearth import errors
from hearth.api import schemas
from hearth.api.calls import Call, body_object, call, json_body
from hearth.api.volume_actions import Handler, accepted, arguments_object, one_action

router = APIRouter(tags=["snapshot actions"])


@router.post(
    "/snapshots/{snapshot_id}/action", status_code=202, openapi_extra=schemas.body("action")
)
async def snapshot_action(
    snapshot_id: str, request: Request, call: Call = Depends(call)
) -> Response:
    """Run one action on a snapshot (see :data:`ACTIONS`)."""
    document = await json_body(request)
    await run_in_threadpool(call.hearth.get_snapshot, snapshot_id, context=call.context)
    name, arguments = one_action(document)
    handler = ACTIONS.get(name)
    if handler is None:
        raise errors.InvalidInput(field="action", reason=f"There is no such action: {name}")
    return await run_in_threadpool(handler, call, snapshot_id, arguments)


def reset_status(call: Call, snapshot_id: str, arguments: Any) -> Response:
    given = arguments_object("os-reset_status", arguments)
    call.hearth.reset_snapshot_status(snapshot_id, given, context=call.context)
    return accepted()


def update_snapshot_status(call: Call, snapshot_id: str, arguments: Any) -> Response:
    given = arguments_object("os-update_snapshot_status", arguments)
    call.hearth.update_snapshot_status(snapshot_id, given, context=call.context)
    return accepted()


def force_delete(call: Call, snapshot_id: str, arguments: Any) -> Response:
    arguments_object("os-force_delete", arguments, optional=True)
    call.hearth.force_delete_snapshot(snapshot_id, context=call.context, wait=False)
    return accepted()


ACTIONS: dict[str, Handler] = {
    "os-reset_status": reset_status,
    "os-update_snapshot_status": update_snapshot_status,
    "os-force_delete": force_delete,
}
"""Every snapshot action served, by name."""


@router.get("/snapshots/{snapshot_id}/metadata")
def show_snapshot_metadata(snapshot_id: str, call: Call = Depends(call)) -> dict[str, Any]:
    """Every metadata item of a snapshot."""
    return {"metadata": call.hearth.get_snapshot_metadata(snapshot_id, context=call.context)}


@router.post("/snapshots/{snapshot_id}/metadata", openapi_extra=schemas.body("metadata"))
def merge_snapshot_metadata(
    snapshot_id: str,
    call: Call = Depends(call),
    body: dict[str, Any] = Depends(body_object("metadata")),
) -> dict[str, Any]:
    """Add or change the given items; answers with all of them."""
    return {"metadata": call.hearth.set_snapshot_metadata(snapshot_id, body, context=call.context)}


@router.put("/snapshots/{snapshot_id}/metadata", openapi_extra=schemas.body("metadata"))
def replace_snapshot_metadata(
    snapshot_id: str,
    call: Call = Depends(call),
    body: dict[str, Any] = Depends(body_object("metadata")),
) -> dict[str, Any]:
    """Replace every item with the given ones."""
    replaced = call.hearth.set_snapshot_metadata(
        snapshot_id, body, replace=True, context=call.context
    )
    return {"metadata": replaced}


@router.get("/snapshots/{snapshot_id}/metadata/{key}")
def show_snapshot_item(snapshot_id: str, key: str, call: Call = Depends(call)) -> dict[str, Any]:
    """One metadata item."""
    metadata = call.hearth.get_snapshot_metadata(snapshot_id, context=call.context)
    if key not in metadata:
        raise errors.MetadataKeyNotFound(kind="Snapshot", resource_id=snapshot_id, key=key)
    return {"meta": {key: metadata[key]}}


@router.put("/snapshots/{snapshot_id}/metadata/{key}", openapi_extra=schemas.body("meta"))
def set_snapshot_item(
    snapshot_id: str,
    key: str,
    call: Call = Depends(call),
    body: dict[str, Any] = Depends(body_object("meta")),
) -> dict[str, Any]:
    """Set one item; the body names exactly that key."""
    if list(body) != [key]:
        raise errors.InvalidInput(field="meta", reason=f"must hold exactly the key {key!r}")
    call.hearth.set_snapshot_metadata(snapshot_id, body, context=call.context)
    return {"meta": body}


@router.delete("/snapshots/{snapshot_id}/metadata/{key}")
def delete_snapshot_item(snapshot_id: str, key: str, call: Call = Depends(call)) -> Response:
    """Remove one item (200, no body, as Cinder)."""
    call.hearth.delete_snapshot_metadata(snapshot_id, key, context=call.context)
    return Response(status_code=200)
