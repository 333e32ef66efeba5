"""Backup routes: create, list, list detail, show, update, delete, restore, actions
(``os-reset_status``, ``os-force_delete``), export and import of records.

Each answers as the Block Storage v3 reference does (202 for work handed to the backup
service, 201 for an import); the checks are the request layer's
(``hearth.service.backup_requests``), so the CLI and the library refuse the same things.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from hearth import errors
from hearth.api import listing, schemas, versions
from hearth.api.calls import Call, body_object, call, json_body, query_flag
from hearth.api.views import backups as views
from hearth.api.views import shapes
from hearth.db import backups

router = APIRouter(tags=["backups"])
FILTERS = ("name", "status", "volume_id")
CREATE_FIELDS = ("name", "description", "incremental", "force", "snapshot_id", "container")
ACTIONS = ("os-reset_status", "os-force_delete")


@router.get("/backups", openapi_extra=schemas.list_query(backups.SORT_KEYS, "backups"))
def list_backups(request: Request, call: Call = Depends(call)) -> dict[str, Any]:
    """The caller's backups: id, links and name."""
    return _listing(request, call, extended=False)


@router.get("/backups/detail", openapi_extra=schemas.list_query(backups.SORT_KEYS, "backups"))
def list_backups_detail(request: Request, call: Call = Depends(call)) -> dict[str, Any]:
    """The caller's backups with every detail."""
    return _listing(request, call, extended=True)


@router.post("/backups", status_code=202, openapi_extra=schemas.body("backup_create"))
def create_backup(
    call: Call = Depends(call), body: dict[str, Any] = Depends(body_object("backup"))
) -> dict[str, Any]:
    """Back up a volume (or one of its snapshots); answers 202 with the backup ``creating``."""
    given: dict[str, Any] = {name: body[name] for name in CREATE_FIELDS if name in body}
    if call.at_least(versions.BACKUP_METADATA) and "metadata" in body:
        given["metadata"] = body["metadata"]
    if call.at_least(versions.BACKUP_AVAILABILITY_ZONE) and "availability_zone" in body:
        given["availability_zone"] = body["availability_zone"]
    backup = call.hearth.create_backup(
        body.get("volume_id"), context=call.context, wait=False, **given
    )
    return {"backup": views.created(call, backup)}


@router.post("/backups/import_record", status_code=201, openapi_extra=schemas.body("backup_import"))
def import_record(
    call: Call = Depends(call), body: dict[str, Any] = Depends(body_object("backup-record"))
) -> dict[str, Any]:
    """Import an exported backup record (admins); 201 with the backup ``available``."""
    backup = call.hearth.import_backup_record(
        body.get("backup_service"), body.get("backup_url"), context=call.context
    )
    return {"backup": views.summary(call, backup)}


@router.get("/backups/{backup_id}")
def show_backup(backup_id: str, request: Request, call: Call = Depends(call)) -> dict[str, Any]:
    """One backup (``?progress=true`` adds ``hearth:progress``)."""
    backup = call.hearth.get_backup(backup_id, context=call.context)
    dependents = call.hearth.count_dependent_backups(backup_id)
    wants = query_flag(request.query_params.get("progress"))
    return {"backup": views.detail(call, backup, dependents=dependents, progress=wants)}


@router.put("/backups/{backup_id}", openapi_extra=schemas.body("backup_update"))
def update_backup(
    backup_id: str,
    call: Call = Depends(call),
    body: dict[str, Any] = Depends(body_object("backup")),
) -> dict[str, Any]:
    """Change a backup's name or description (3.9), metadata (3.43)."""
    call.require(versions.BACKUP_UPDATE)
    names = ["name", "description"]
    if call.at_least(versions.BACKUP_METADATA):
        names.append("metadata")
    changes = {name: body[name] for name in names if name in body}
    backup = call.hearth.update_backup(backup_id, changes, context=call.context)
    return {"backup": views.created(call, backup)}


@router.delete("/backups/{backup_id}", status_code=202)
def delete_backup(backup_id: str, call: Call = Depends(call)) -> Response:
    """Delete an available or failed backup no incremental backup depends on (202)."""
    call.hearth.delete_backup(backup_id, context=call.context, wait=False)
    return Response(status_code=202)


@router.post(
    "/backups/{backup_id}/restore", status_code=202, openapi_extra=schemas.body("backup_restore")
)
def restore_backup(
    backup_id: str,
    call: Call = Depends(call),
    body: dict[str, Any] = Depends(body_object("restore")),
) -> dict[str, Any]:
    """Restore into an existing volume (``volume_id``) or a new one (``name``); 202."""
    volume = call.hearth.restore_backup(
        backup_id,
        volume_id=body.get("volume_id"),
        name=body.get("name"),
        context=call.context,
        wait=False,
    )
    restore = {"backup_id": backup_id, "volume_id": volume.id, "volume_name": volume.name}
    return {"restore": restore}


@router.post(
    "/backups/{backup_id}/action", status_code=202, openapi_extra=schemas.body("backup_action")
)
async def backup_action(backup_id: str, request: Request, call: Call = Depends(call)) -> Response:
    """An admin's ``os-reset_status`` (to ``available`` or ``error``) or ``os-force_delete``."""
    document = await json_body(request)
    if not isinstance(document, dict) or len(document) != 1:
        raise errors.InvalidInput(field="request body", reason="must hold exactly one action")
    [(action, arguments)] = document.items()
    if action not in ACTIONS:
        raise errors.InvalidInput(field="action", reason=f"There is no such action: {action}")
    if action == "os-force_delete":
        if arguments not in (None, {}):
            raise errors.InvalidInput(field=action, reason="takes no arguments")
        await run_in_threadpool(
            call.hearth.delete_backup, backup_id, force=True, context=call.context, wait=False
        )
        return Response(status_code=202)
    if not isinstance(arguments, dict):
        raise errors.InvalidInput(field=action, reason="a JSON object is required")
    await run_in_threadpool(
        call.hearth.reset_backup_status, backup_id, arguments.get("status"), context=call.context
    )
    return Response(status_code=202)


@router.get("/backups/{backup_id}/export_record")
def export_record(backup_id: str, call: Call = Depends(call)) -> dict[str, Any]:
    """An admin's export of an available backup's record."""
    return {"backup-record": call.hearth.export_backup_record(backup_id, context=call.context)}


def _listing(request: Request, call: Call, *, extended: bool) -> dict[str, Any]:
    query = request.query_params
    page = listing.page(query, backups.SORT_KEYS, call.hearth.services.settings.api.page_size)
    filters = {name: query[name] for name in FILTERS if name in query}
    all_projects = query_flag(query.get("all_tenants"))
    rows = call.hearth.list_backups_page(
        page, filters=filters, all_projects=all_projects, context=call.context
    )
    wants = query_flag(query.get("progress"))
    items = [
        views.detail(
            call, row, dependents=call.hearth.count_dependent_backups(row.id), progress=wants
        )
        if extended
        else views.summary(call, row)
        for row in rows
    ]
    document: dict[str, Any] = {"backups": items}
    next_links = shapes.next_links(call, "backups", rows, page.limit, query)
    if next_links:
        document["backups_links"] = next_links
    if call.at_least(versions.BACKUP_COUNT) and query_flag(query.get("with_count")):
        document["count"] = call.hearth.count_backups(
            filters=filters, all_projects=all_projects, context=call.context
        )
    return document
