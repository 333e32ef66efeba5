"""Volume routes: create, list, show, update, delete (metadata: ``volume_metadata``;
actions: ``volume_actions``).

Creates and deletes call the facade with ``wait=False`` and answer 202 at once; the volume
is ``creating``/``deleting`` and a client polls it, as with Cinder. An ``Idempotency-Key``
header makes a create safe to retry: the same key and body return the first volume.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Request, Response

from hearth import errors
from hearth.api import listing, schemas, versions
from hearth.api.calls import Call, body_object, call, query_flag
from hearth.api.views import shapes
from hearth.api.views import volumes as views
from hearth.db import rows, volumes
from hearth.service import fields, idempotency

router = APIRouter(tags=["volumes"])
CREATE_FIELDS = ("name", "description", "volume_type", "availability_zone", "metadata")
SOURCE_FIELDS = ("snapshot_id", "source_volid")
UNSUPPORTED_WHEN_SET = ("consistencygroup_id", "group_id", "source_replica")


@router.get("/volumes", openapi_extra=schemas.list_query(volumes.SORT_KEYS, "volumes"))
def list_volumes(request: Request, call: Call = Depends(call)) -> dict[str, Any]:
    """Volumes of the caller's project (of every project: admins with ``all_tenants``)."""
    return _listing(request, call, views.summary)


@router.get("/volumes/detail", openapi_extra=schemas.list_query(volumes.SORT_KEYS, "volumes"))
def list_volumes_detail(request: Request, call: Call = Depends(call)) -> dict[str, Any]:
    """Volumes with every detail."""
    return _listing(request, call, views.detail, collection="volumes/detail")


@router.get("/volumes/summary")
def volumes_summary(request: Request, call: Call = Depends(call)) -> dict[str, Any]:
    """How many volumes the caller has and their total size (3.12)."""
    call.require(versions.VOLUME_SUMMARY)
    found = call.hearth.list_volumes_page(
        rows.Page(sort=(("id", False),)),
        all_projects=query_flag(request.query_params.get("all_tenants")),
        context=call.context,
    )
    total_size = sum(v.size for v in found)
    return {"volume-summary": {"total_count": len(found), "total_size": total_size}}


@router.post("/volumes", status_code=202, openapi_extra=schemas.body("volume_create"))
def create_volume(
    call: Call = Depends(call),
    body: dict[str, Any] = Depends(body_object("volume")),
    idempotency_key: str | None = Header(default=None, max_length=255),
) -> dict[str, Any]:
    """Create a volume; answers 202 with it still ``creating``."""
    _refuse_unsupported(body)
    key = None
    if idempotency_key:
        key = idempotency.Key(idempotency_key, fingerprint=idempotency.fingerprint(body))
    given = {name: body.get(name) for name in (*CREATE_FIELDS, *SOURCE_FIELDS)}
    given.update(_legacy_names(body))
    if body.get("backup_id") is not None:
        if not call.at_least(versions.VOLUME_CREATE_FROM_BACKUP):
            raise errors.InvalidInput(
                field="backup_id",
                reason=f"is not accepted before microversion {versions.VOLUME_CREATE_FROM_BACKUP}",
            )
        given["backup_id"] = body["backup_id"]
    volume = call.hearth.create_volume(
        body.get("size"),
        context=call.context,
        wait=False,
        idempotency_key=key,
        image_id=body.get("imageRef"),
        **given,
    )
    return {"volume": views.detail(call, volume, extended=False)}


@router.get("/volumes/{volume_id}")
def show_volume(volume_id: str, call: Call = Depends(call)) -> dict[str, Any]:
    """One volume."""
    volume = call.hearth.get_volume(volume_id, context=call.context)
    return {"volume": views.detail(call, volume)}


@router.put("/volumes/{volume_id}", openapi_extra=schemas.body("volume_update"))
def update_volume(
    volume_id: str,
    call: Call = Depends(call),
    body: dict[str, Any] = Depends(body_object("volume")),
) -> dict[str, Any]:
    """Change a volume's name, description or metadata."""
    changes: dict[str, Any] = {k: body[k] for k in ("name", "description", "metadata") if k in body}
    changes.update(_legacy_names(body))
    volume = call.hearth.update_volume(volume_id, changes, context=call.context)
    return {"volume": views.detail(call, volume, extended=False)}


@router.delete("/volumes/{volume_id}", status_code=202)
def delete_volume(volume_id: str, request: Request, call: Call = Depends(call)) -> Response:
    """Delete a volume (202; it is gone once a show answers 404); with ``cascade``, its
    snapshots first."""
    if query_flag(request.query_params.get("cascade")):
        call.hearth.delete_volume_cascade(volume_id, context=call.context)
        return Response(status_code=202)
    call.hearth.delete_volume(volume_id, context=call.context, wait=False)
    return Response(status_code=202)


def _listing(
    request: Request, call: Call, view: Any, collection: str = "volumes"
) -> dict[str, Any]:
    query = request.query_params
    settings = call.hearth.services.settings.api
    page = listing.page(query, volumes.SORT_KEYS, settings.page_size)
    found = call.hearth.list_volumes_page(
        page,
        filters=_filters(query),
        metadata=listing.metadata_filter(query.get("metadata")),
        all_projects=query_flag(query.get("all_tenants")),
        context=call.context,
    )
    document: dict[str, Any] = {"volumes": [view(call, row) for row in found]}
    next_links = shapes.next_links(call, collection, found, page.limit, query)
    if next_links:
        document["volumes_links"] = next_links
    return document


def _filters(query: Any) -> dict[str, Any]:
    """The column filters a volume list asks for (the ones given)."""
    filters: dict[str, Any] = {
        name: query[name]
        for name in ("name", "status", "availability_zone", "project_id")
        if name in query
    }
    if "bootable" in query:
        filters["bootable"] = query_flag(query["bootable"])
    if "size" in query:
        filters["size"] = fields.integer("size", query["size"])
    return filters


def _legacy_names(body: dict[str, Any]) -> dict[str, Any]:
    """``display_name``/``display_description`` (Block Storage v1 names) still accepted."""
    legacy = {"display_name": "name", "display_description": "description"}
    return {new: body[old] for old, new in legacy.items() if old in body and new not in body}


def _refuse_unsupported(body: dict[str, Any]) -> None:
    for name in UNSUPPORTED_WHEN_SET:
        if body.get(name) is not None:
            raise errors.InvalidInput(field=name, reason="is not supported by Hearth")
    if body.get("multiattach") not in (None, False):
        raise errors.InvalidInput(field="multiattach", reason="multi-attach is not supported")
