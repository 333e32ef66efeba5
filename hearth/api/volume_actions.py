"""The volume action route, ``POST /volumes/{volume_id}/action``, and its table of actions.

A body holds exactly one action, ``{"<name>": <arguments>}``. The volume is looked up
first, so an action on a volume that does not exist (or that the caller may not see)
answers 404 whatever its name; then :data:`ACTIONS` maps the name to a handler, which
runs in a worker thread and calls the facade (``service/actions.py``), which checks the
arguments. An unknown name is badRequest naming it.

To serve more actions, add ``name: handler`` entries to :data:`ACTIONS` (another module's
table joins with ``ACTIONS.update(...)`` below it); a handler takes the call, the volume id
and the action's arguments as the body gave them, and returns the response.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hearth import errors
from hearth.api import attach_actions, schemas, versions
from hearth.api.calls import Call, call, json_body
from hearth.api.views import shapes

router = APIRouter(tags=["volume actions"])
Handler = Callable[[Call, str, Any], Response]


@router.post("/volumes/{volume_id}/action", status_code=202, openapi_extra=schemas.body("action"))
async def volume_action(volume_id: str, request: Request, call: Call = Depends(call)) -> Response:
    """Run one action on a volume (see :data:`ACTIONS` for the names served)."""
    document = await json_body(request)
    await run_in_threadpool(call.hearth.get_volume, volume_id, context=call.context)
    name, arguments = one_action(document)
    handler = ACTIONS.get(name)
    if handler is None:
        raise errors.InvalidInput(field="action", reason=f"There is no such action: {name}")
    return await run_in_threadpool(handler, call, volume_id, arguments)


def one_action(document: Any) -> tuple[str, Any]:
    """The single ``{"name": arguments}`` of an action body."""
    if not isinstance(document, dict) or len(document) != 1:
        raise errors.InvalidInput(field="request body", reason="must hold exactly one action")
    [(name, arguments)] = document.items()
    return str(name), arguments


def arguments_object(name: str, arguments: Any, *, optional: bool = False) -> dict[str, Any]:
    """An action's arguments as an object (``optional``: null or absent reads as {})."""
    if arguments is None and optional:
        return {}
    if not isinstance(arguments, dict):
        raise errors.InvalidInput(field=name, reason="a JSON object is required")
    return arguments


def accepted() -> Response:
    """202 with no body."""
    return Response(status_code=202)


def ok(body: dict[str, Any] | None = None) -> Response:
    """200 with ``body`` (or none)."""
    return Response(status_code=200) if body is None else JSONResponse(body)


def extend(call: Call, volume_id: str, arguments: Any) -> Response:
    given = arguments_object("os-extend", arguments)
    call.hearth.extend_volume(volume_id, given.get("new_size"), context=call.context, wait=False)
    return accepted()


def reset_status(call: Call, volume_id: str, arguments: Any) -> Response:
    given = arguments_object("os-reset_status", arguments)
    call.hearth.reset_volume_status(volume_id, given, context=call.context)
    return accepted()


def force_delete(call: Call, volume_id: str, arguments: Any) -> Response:
    arguments_object("os-force_delete", arguments, optional=True)
    call.hearth.force_delete_volume(volume_id, context=call.context, wait=False)
    return accepted()


def set_bootable(call: Call, volume_id: str, arguments: Any) -> Response:
    given = arguments_object("os-set_bootable", arguments)
    if "bootable" not in given:
        raise errors.InvalidInput(field="bootable", reason="is required")
    call.hearth.set_volume_bootable(volume_id, given["bootable"], context=call.context)
    return ok()


def update_readonly_flag(call: Call, volume_id: str, arguments: Any) -> Response:
    given = arguments_object("os-update_readonly_flag", arguments)
    if "readonly" not in given:
        raise errors.InvalidInput(field="readonly", reason="is required")
    call.hearth.set_volume_readonly(volume_id, given["readonly"], context=call.context)
    return accepted()


def set_image_metadata(call: Call, volume_id: str, arguments: Any) -> Response:
    given = arguments_object("os-set_image_metadata", arguments)
    merged = call.hearth.set_volume_image_metadata(
        volume_id, given.get("metadata"), context=call.context
    )
    return ok({"metadata": merged})


def unset_image_metadata(call: Call, volume_id: str, arguments: Any) -> Response:
    given = arguments_object("os-unset_image_metadata", arguments)
    call.hearth.unset_volume_image_metadata(volume_id, given.get("key"), context=call.context)
    return ok()


def show_image_metadata(call: Call, volume_id: str, arguments: Any) -> Response:
    arguments_object("os-show_image_metadata", arguments, optional=True)
    return ok({"metadata": call.hearth.get_volume_image_metadata(volume_id, context=call.context)})


def revert(call: Call, volume_id: str, arguments: Any) -> Response:
    call.require(versions.VOLUME_REVERT)
    given = arguments_object("revert", arguments)
    call.hearth.revert_volume(volume_id, given.get("snapshot_id"), context=call.context, wait=False)
    return accepted()


def upload_image(call: Call, volume_id: str, arguments: Any) -> Response:
    given = arguments_object("os-volume_upload_image", arguments)
    volume, image = call.hearth.upload_volume_to_image(
        volume_id, given, context=call.context, wait=False
    )
    volume_type = volume.volume_type
    body = {
        "id": volume.id,
        "updated_at": shapes.timestamp(volume.updated_at),
        "status": "uploading",
        "display_description": volume.description,
        "size": volume.size,
        "volume_type": None
        if volume_type is None
        else {"id": volume_type.id, "name": volume_type.name},
        "image_id": image.id,
        "container_format": image.container_format,
        "disk_format": image.disk_format,
        "image_name": image.name,
        "protected": False,
        "visibility": image.visibility,
    }
    return JSONResponse({"os-volume_upload_image": body}, status_code=202)


def retype(call: Call, volume_id: str, arguments: Any) -> Response:
    given = arguments_object("os-retype", arguments)
    call.hearth.retype_volume(
        volume_id,
        given.get("new_type"),
        given.get("migration_policy", "never"),
        context=call.context,
        wait=False,
    )
    return accepted()


def migrate(call: Call, volume_id: str, arguments: Any) -> Response:
    given = arguments_object("os-migrate_volume", arguments)
    call.hearth.migrate_volume(volume_id, given, context=call.context, wait=False)
    return accepted()


def reimage(call: Call, volume_id: str, arguments: Any) -> Response:
    call.require(versions.VOLUME_REIMAGE)
    given = arguments_object("os-reimage", arguments)
    call.hearth.reimage_volume(volume_id, given, context=call.context, wait=False)
    return accepted()


ACTIONS: dict[str, Handler] = {
    "os-extend": extend,
    "os-reset_status": reset_status,
    "os-force_delete": force_delete,
    "os-set_bootable": set_bootable,
    "os-update_readonly_flag": update_readonly_flag,
    "os-set_image_metadata": set_image_metadata,
    "os-unset_image_metadata": unset_image_metadata,
    "os-show_image_metadata": show_image_metadata,
    "revert": revert,
    "os-volume_upload_image": upload_image,
    "os-retype": retype,
    "os-migrate_volume": migrate,
    "os-reimage": reimage,
}
"""Every action served, by the name a body gives it."""
ACTIONS.update(attach_actions.HANDLERS)
