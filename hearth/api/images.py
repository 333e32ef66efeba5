"""Image routes: the subset of the Image v2 API that clients need to register an image,
upload its file, list, show and delete it. ``app.py`` mounts them under ``/image``, so
clients are pointed at ``<base>/image`` as the image endpoint (``GET /image`` answers the
version document) and find ``/image/v2/images`` there.

A create (``POST``, 201) records the image ``queued`` through ``Hearth.register_image``;
``PUT .../file`` streams the body (``uploads.BodyReader``) into the image store, which
inspects it and makes the image ``active`` (or refuses it and removes the image). Field
checks are the service's (``service/image_requests.py``); this module only maps Glance's
flat body onto them and refuses the fields Glance would not let a user set.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from hearth import errors
from hearth.api import schemas, uploads
from hearth.api.calls import Call, call, json_body
from hearth.api.views import images as views
from hearth.db import models
from hearth.service import fields

router = APIRouter(tags=["images"])
PREFIX = "/image"
CORE_FIELDS = ("name", "disk_format", "container_format", "visibility", "min_disk", "min_ram")
CONSTANT_FIELDS: dict[str, Any] = {"protected": False, "os_hidden": False, "tags": []}
READ_ONLY_FIELDS = frozenset(
    {
        "id",
        "status",
        "owner",
        "size",
        "virtual_size",
        "checksum",
        "os_hash_algo",
        "os_hash_value",
        "created_at",
        "updated_at",
        "self",
        "file",
        "schema",
        "locations",
        "direct_url",
    }
)
FILTERS = ("name", "status", "visibility", "disk_format", "container_format", "owner")
UPLOAD_TYPE = "application/octet-stream"


@router.get("/", include_in_schema=False)
@router.get("")
def image_versions(request: Request) -> JSONResponse:
    """The image endpoint's versions (300, as Glance answers its root; no authentication)."""
    base = request.app.state.settings.public_url or str(request.base_url)
    return JSONResponse(views.versions(base.rstrip("/")), status_code=300)


@router.get("/v2/images", openapi_extra=schemas.image_query(FILTERS))
def list_images(request: Request, call: Call = Depends(call)) -> dict[str, Any]:
    """Images the caller may see (its project's and public ones), newest first; filters on
    the fields of ``FILTERS``; ``limit`` and ``marker`` page."""
    query = dict(request.query_params)
    page_size = call.hearth.services.settings.api.page_size
    limit = min(fields.integer("limit", query.get("limit", page_size)), page_size)
    if limit < 0:
        raise errors.InvalidInput(field="limit", reason="must be zero or more")
    rows = [row for row in reversed(call.hearth.list_images(context=call.context))]
    rows = [row for row in rows if all(_matches(row, key, query) for key in FILTERS)]
    if "marker" in query:
        ids = [row.id for row in rows]
        if query["marker"] not in ids:
            raise errors.InvalidInput(field="marker", reason="is not an image of this list")
        rows = rows[ids.index(query["marker"]) + 1 :]
    return views.page(rows[:limit], limit, query)


@router.post("/v2/images", status_code=201, openapi_extra=schemas.image_body())
async def create_image(request: Request, call: Call = Depends(call)) -> dict[str, Any]:
    """Record an image (201, ``queued``); its bytes follow with ``PUT .../file``."""
    document = await json_body(request)
    core, properties = _split(document)
    register = functools.partial(
        call.hearth.register_image, properties=properties, context=call.context, **core
    )
    row = await anyio.to_thread.run_sync(register)
    return views.image(row)


@router.get("/v2/images/{image_id}")
def show_image(image_id: str, call: Call = Depends(call)) -> dict[str, Any]:
    """One image."""
    return views.image(_image(call, image_id))


@router.delete("/v2/images/{image_id}", status_code=204)
def delete_image(image_id: str, call: Call = Depends(call)) -> Response:
    """Delete an image of the caller's project (204); refused while volumes are being made
    from it."""
    call.hearth.delete_image(_image(call, image_id).id, context=call.context)
    return Response(status_code=204)


@router.put("/v2/images/{image_id}/file", status_code=204, openapi_extra=schemas.upload_body())
async def upload_image(image_id: str, request: Request, call: Call = Depends(call)) -> Response:
    """Stream the body into the image store (204 once the image is ``active``). Only a
    ``queued`` image takes bytes (409 otherwise); rejected bytes remove the image."""
    given = request.headers.get("content-type", "").split(";")[0].strip()
    if given != UPLOAD_TYPE:
        raise errors.UnsupportedMediaType(given=given, expected=UPLOAD_TYPE)
    _check_id(image_id)
    reader = uploads.BodyReader(request.stream())
    upload = functools.partial(call.hearth.upload_image, image_id, reader, context=call.context)
    await anyio.to_thread.run_sync(upload)
    return Response(status_code=204)


def _image(call: Call, image_id: str) -> models.Image:
    """The image with this id (never by name: Glance's URLs hold ids only)."""
    _check_id(image_id)
    return call.hearth.get_image(image_id, context=call.context)


def check_id(image_id: str) -> None:
    """An image id must be a UUID: anything else is no image (404)."""
    _check_id(image_id)


def _check_id(image_id: str) -> None:
    try:
        uuid.UUID(image_id)
    except ValueError:
        raise errors.ImageNotFound(image_id=image_id) from None


def _split(document: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Glance's flat create body as Hearth's fields and extra properties."""
    if not isinstance(document, dict):
        raise errors.InvalidInput(field="request body", reason="must be a JSON object")
    core, properties = {}, {}
    for key, value in document.items():
        if key in READ_ONLY_FIELDS:
            raise errors.InvalidInput(field=key, reason="is read-only")
        if key in CONSTANT_FIELDS:
            if value != CONSTANT_FIELDS[key]:
                reason = f"only {CONSTANT_FIELDS[key]!r} is supported by Hearth"
                raise errors.InvalidInput(field=key, reason=reason)
        elif key in CORE_FIELDS:
            core[key] = value
        else:
            properties[key] = value
    core.setdefault("name", None)
    core.setdefault("disk_format", None)
    return core, properties


def _matches(row: models.Image, key: str, query: dict[str, str]) -> bool:
    return key not in query or str(getattr(row, key)) == query[key]
