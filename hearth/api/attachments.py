"""Attachment routes (3.27+): create, update with a connector, complete, delete, list, show.

Create and update answer once the volume's backend has made the export (the handler waits
in a worker thread, bounded by ``[service] wait_timeout_seconds``), with the
``connection_info`` the consumer connects with; delete answers once the export is gone,
with the volume's remaining attachments, as Cinder does.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from hearth import errors
from hearth.api import listing, schemas, versions
from hearth.api.calls import Call, body_object, call, json_body, query_flag
from hearth.api.views import attachments as views
from hearth.api.views import shapes
from hearth.db import attachments

router = APIRouter(tags=["attachments"])
FILTERS = {"volume_id": "volume_id", "instance_id": "instance_id", "status": "status"}
ACTIONS = ("os-complete",)


@router.post("/attachments", openapi_extra=schemas.body("attachment_create"))
def create_attachment(
    call: Call = Depends(call), body: dict[str, Any] = Depends(body_object("attachment"))
) -> dict[str, Any]:
    """Reserve a volume for a consumer; with a ``connector``, export it too."""
    call.require(versions.NEW_ATTACH)
    if "volume_uuid" not in body:
        raise errors.InvalidInput(field="volume_uuid", reason="a volume id is required")
    attachment = call.hearth.create_attachment(
        body["volume_uuid"],
        instance_uuid=body.get("instance_uuid"),
        connector=body.get("connector"),
        mode=body.get("mode"),
        context=call.context,
    )
    return {"attachment": views.detail(attachment)}


@router.put("/attachments/{attachment_id}", openapi_extra=schemas.body("attachment_update"))
def update_attachment(
    attachment_id: str,
    call: Call = Depends(call),
    body: dict[str, Any] = Depends(body_object("attachment")),
) -> dict[str, Any]:
    """Give a reserved attachment its consumer's connector: answers the connection_info."""
    call.require(versions.NEW_ATTACH)
    attachment = call.hearth.update_attachment(
        attachment_id, body.get("connector"), mode=body.get("mode"), context=call.context
    )
    return {"attachment": views.detail(attachment)}


@router.post(
    "/attachments/{attachment_id}/action",
    status_code=204,
    openapi_extra=schemas.body("attachment_action"),
)
async def attachment_action(
    attachment_id: str, request: Request, call: Call = Depends(call)
) -> Response:
    """``os-complete``: the consumer is connected; the volume becomes ``in-use``."""
    call.require(versions.NEW_ATTACH)
    document = await json_body(request)
    if not isinstance(document, dict) or len(document) != 1:
        raise errors.InvalidInput(field="request body", reason="must hold exactly one action")
    [action] = document
    if action not in ACTIONS:
        raise errors.InvalidInput(field="action", reason=f"There is no such action: {action}")
    await run_in_threadpool(call.hearth.complete_attachment, attachment_id, context=call.context)
    return Response(status_code=204)


@router.delete("/attachments/{attachment_id}")
def delete_attachment(attachment_id: str, call: Call = Depends(call)) -> dict[str, Any]:
    """Detach: remove the export and the attachment; answers the volume's others."""
    call.require(versions.NEW_ATTACH)
    remaining = call.hearth.delete_attachment(attachment_id, context=call.context)
    return {"attachments": [views.summary(row) for row in remaining]}


@router.get("/attachments", openapi_extra=schemas.list_query(attachments.SORT_KEYS, "attachments"))
def list_attachments(request: Request, call: Call = Depends(call)) -> dict[str, Any]:
    """The caller's attachments (every project's: admins with ``all_tenants``)."""
    return _listing(request, call, views.summary)


@router.get(
    "/attachments/detail", openapi_extra=schemas.list_query(attachments.SORT_KEYS, "attachments")
)
def list_attachments_detail(request: Request, call: Call = Depends(call)) -> dict[str, Any]:
    """Attachments with their connection_info."""
    return _listing(request, call, views.detail)


@router.get("/attachments/{attachment_id}")
def show_attachment(attachment_id: str, call: Call = Depends(call)) -> dict[str, Any]:
    """One attachment."""
    call.require(versions.NEW_ATTACH)
    return {
        "attachment": views.detail(call.hearth.get_attachment(attachment_id, context=call.context))
    }


def _listing(request: Request, call: Call, view: Any) -> dict[str, Any]:
    call.require(versions.NEW_ATTACH)
    query = request.query_params
    page = listing.page(query, attachments.SORT_KEYS, call.hearth.services.settings.api.page_size)
    found = call.hearth.list_attachments_page(
        page,
        filters={name: query[key] for key, name in FILTERS.items() if key in query},
        all_projects=query_flag(query.get("all_tenants")),
        context=call.context,
    )
    document: dict[str, Any] = {"attachments": [view(row) for row in found]}
    next_links = shapes.next_links(call, "attachments", found, page.limit, query)
    if next_links:
        document["attachments_links"] = next_links
    return document
