"""Snapshot routes: create, list, list detail, show, update, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from hearth.api import listing, schemas, versions
from hearth.api.calls import Call, body_object, call, query_flag
from hearth.api.views import shapes
from hearth.api.views import snapshots as views
from hearth.db import snapshots

router = APIRouter(tags=["snapshots"])
FILTERS = ("name", "status", "volume_id")


@router.get("/snapshots", openapi_extra=schemas.list_query(snapshots.SORT_KEYS, "snapshots"))
def list_snapshots(request: Request, call: Call = Depends(call)) -> dict[str, Any]:
    """The caller's snapshots."""
    return _listing(request, call, extended=False)


@router.get("/snapshots/detail", openapi_extra=schemas.list_query(snapshots.SORT_KEYS, "snapshots"))
def list_snapshots_detail(request: Request, call: Call = Depends(call)) -> dict[str, Any]:
    """The caller's snapshots with every detail."""
    return _listing(request, call, extended=True)


@router.post("/snapshots", status_code=202, openapi_extra=schemas.body("snapshot_create"))
def create_snapshot(
    call: Call = Depends(call), body: dict[str, Any] = Depends(body_object("snapshot"))
) -> dict[str, Any]:
    """Snapshot an available volume; answers 202 with the snapshot ``creating``."""
    snapshot = call.hearth.create_snapshot(
        body.get("volume_id"),  # type: ignore[arg-type]  # checked by the request layer
        name=body.get("name", body.get("display_name")),
        description=body.get("description", body.get("display_description")),
        metadata=body.get("metadata"),
        context=call.context,
        wait=False,
    )
    return {"snapshot": views.detail(call, snapshot, extended=False)}


@router.get("/snapshots/{snapshot_id}")
def show_snapshot(snapshot_id: str, call: Call = Depends(call)) -> dict[str, Any]:
    """One snapshot."""
    return {
        "snapshot": views.detail(call, call.hearth.get_snapshot(snapshot_id, context=call.context))
    }


@router.put("/snapshots/{snapshot_id}", openapi_extra=schemas.body("snapshot_update"))
def update_snapshot(
    snapshot_id: str,
    call: Call = Depends(call),
    body: dict[str, Any] = Depends(body_object("snapshot")),
) -> dict[str, Any]:
    """Change a snapshot's name or description."""
    changes: dict[str, Any] = {k: body[k] for k in ("name", "description") if k in body}
    snapshot = call.hearth.update_snapshot(snapshot_id, changes, context=call.context)
    return {"snapshot": views.detail(call, snapshot, extended=False)}


@router.delete("/snapshots/{snapshot_id}", status_code=202)
def delete_snapshot(snapshot_id: str, call: Call = Depends(call)) -> Response:
    """Delete a snapshot (202)."""
    call.hearth.delete_snapshot(snapshot_id, context=call.context, wait=False)
    return Response(status_code=202)


def _listing(request: Request, call: Call, *, extended: bool) -> dict[str, Any]:
    query = request.query_params
    settings = call.hearth.services.settings.api
    allowed = snapshots.SORT_KEYS
    if not call.at_least(versions.SNAPSHOT_SORT_BY_NAME):  # display_name is the name then
        allowed = (allowed - {"name"}) | {listing.NAME_ALIAS}
    page = listing.page(query, allowed, settings.page_size)
    metadata = None
    if call.at_least(versions.SNAPSHOT_LIST_METADATA_FILTER):
        metadata = listing.metadata_filter(query.get("metadata"))
    rows = call.hearth.list_snapshots_page(
        page,
        filters={name: query[name] for name in FILTERS if name in query},
        metadata=metadata,
        all_projects=query_flag(query.get("all_tenants")),
        context=call.context,
    )
    document: dict[str, Any] = {
        "snapshots": [views.detail(call, row, extended=extended) for row in rows]
    }
    collection = "snapshots/detail" if extended else "snapshots"
    next_links = shapes.next_links(call, collection, rows, page.limit, query)
    if next_links:
        document["snapshots_links"] = next_links
    return document
