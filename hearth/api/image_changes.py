"""Image API routes beyond create, upload, show, list and delete (``images.py``), as
Glance has them: ``POST /v2/images/{id}/actions/deactivate|reactivate`` (204),
``PATCH /v2/images/{id}`` (a JSON patch, ``application/openstack-images-v2.1-json-patch``)
and ``GET /v2/images/{id}/file`` (the bytes of an active image; 204 when it has none)."""

from __future__ import annotations

import functools
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse

from hearth import errors
from hearth.api import documents
from hearth.api.calls import Call, call
from hearth.api.images import check_id
from hearth.api.views import images as views
from hearth.service import image_changes

router = APIRouter(tags=["images"])
PATCH_TYPE = "application/openstack-images-v2.1-json-patch"


@router.post("/v2/images/{image_id}/actions/{action}", status_code=204)
def image_action(image_id: str, action: str, call: Call = Depends(call)) -> Response:
    """Deactivate an active image or reactivate a deactivated one."""
    check_id(image_id)
    if action not in image_changes.TOGGLES:
        raise errors.NotFound(kind="Image action", resource_id=action)
    call.hearth.toggle_image(image_id, action, context=call.context)
    return Response(status_code=204)


@router.patch("/v2/images/{image_id}")
async def patch_image(
    image_id: str, request: Request, call: Call = Depends(call)
) -> dict[str, Any]:
    """Change name, visibility, min_disk, min_ram and properties (add, replace, remove)."""
    check_id(image_id)
    given = request.headers.get("content-type", "").split(";")[0].strip()
    if given != PATCH_TYPE:
        raise errors.UnsupportedMediaType(given=given, expected=PATCH_TYPE)
    operations = documents.parse(await request.body(), "request body")
    patch = functools.partial(call.hearth.patch_image, image_id, operations, context=call.context)
    row = await anyio.to_thread.run_sync(patch)
    return views.image(row)


@router.get("/v2/images/{image_id}/file", response_model=None)
def download_image(image_id: str, call: Call = Depends(call)) -> Response:
    """The image's bytes, as uploaded (204 while it has none)."""
    check_id(image_id)
    image, path = call.hearth.image_file(image_id, context=call.context)
    if path is None:
        return Response(status_code=204)
    headers = {"Content-MD5": image.checksum} if image.checksum else {}
    return FileResponse(path, media_type="application/octet-stream", headers=headers)
