"""The request layer for images: checks an upload, a delete, or an image named by a volume
request, before anything is written (the image counterpart of ``requests``).

An upload's row is written ``queued`` here; ``hearth.image.store`` then receives and
inspects its bytes. A delete and a create from the image both row-lock the image, so a
delete cannot slip between a create's checks and its row: an image is deleted only while no
volume is being created from it (``ImageInUse`` otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hearth import errors
from hearth.context import RequestContext
from hearth.db import images, models, statuses
from hearth.image import info, inspect
from hearth.service import fields

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

VISIBILITIES = (images.PRIVATE, images.PUBLIC)


@dataclass(frozen=True)
class ImageRequest:
    """An image upload as a user gave it (values not yet checked)."""

    name: Any
    disk_format: Any
    container_format: Any = "bare"
    min_disk: Any = 0
    min_ram: Any = 0
    visibility: Any = images.PRIVATE
    properties: Any = None


def new_image(session: Session, context: RequestContext, request: ImageRequest) -> models.Image:
    """Check an upload's fields and insert its row (``queued``, owned by the caller)."""
    return images.create(
        session,
        name=fields.text("name", request.name),
        owner=context.project_id,
        visibility=_visibility(context, request.visibility),
        disk_format=_choice("disk_format", request.disk_format, inspect.DISK_FORMATS),
        container_format=_choice(
            "container_format", request.container_format, inspect.CONTAINER_FORMATS
        ),
        status=statuses.ImageStatus.QUEUED,
        min_disk=_count("min_disk", request.min_disk),
        min_ram=_count("min_ram", request.min_ram),
        properties=_properties(request.properties),
    )


def find(session: Session, context: RequestContext, id_or_name: str) -> models.Image:
    """The image the caller means: by id, else by a name only one visible image has."""
    scope = context.visible_project
    image = images.find(session, id_or_name, project_id=scope)
    if image is not None:
        return image
    named = images.find_all(session, project_id=scope, name=id_or_name)
    if len(named) > 1:
        ids = ", ".join(row.id for row in named)
        raise errors.AmbiguousName(
            field="image", kind="image", count=len(named), name=id_or_name, ids=ids
        )
    if not named:
        raise errors.ImageNotFound(image_id=id_or_name)
    return named[0]


def for_volume(session: Session, context: RequestContext, id_or_name: str) -> info.ImageInfo:
    """The active image a create asks for, row-locked until the create's row is written."""
    try:
        found = find(session, context, id_or_name)
    except errors.ImageNotFound:
        raise errors.InvalidReference(field="image_id", kind="Image", value=id_or_name) from None
    image = images.get_for_update(session, found.id)
    if image.status != statuses.ImageStatus.ACTIVE:
        raise errors.SourceNotAvailable(kind="Image", source_id=image.id, status=image.status)
    return info.from_row(image)


def for_upload(session: Session, context: RequestContext, image_id: str) -> models.Image:
    """The image an upload sends bytes to, by id: only its owner (or an admin) may."""
    image = images.get(session, image_id, project_id=context.visible_project)
    if not context.is_admin and image.owner != context.project_id:
        raise errors.ImageNotFound(image_id=image_id)  # visible (public) is not writable
    return image


def begin_image_delete(session: Session, context: RequestContext, image_id: str) -> models.Image:
    """Remove an image's row, unless volumes are being created from it; the caller then
    removes its bytes. Only its owner (or an admin) may delete it."""
    image = find(session, context, image_id)
    if not context.is_admin and image.owner != context.project_id:
        raise errors.ImageNotFound(image_id=image_id)  # visible (public) is not deletable
    image = images.get_for_update(session, image.id)
    count = images.count_creating_volumes(session, image.id)
    if count:
        raise errors.ImageInUse(image_id=image.id, count=count)
    images.delete(session, image.id)
    return image


def visibility(context: RequestContext, value: Any) -> str:
    """A visibility the caller may give an image (public: admins only)."""
    return _visibility(context, value)


def _visibility(context: RequestContext, value: Any) -> str:
    if value not in VISIBILITIES:
        raise errors.InvalidInput(field="visibility", reason=f"must be one of {VISIBILITIES}")
    if value == images.PUBLIC and not context.is_admin:  # Glance's default policy
        raise errors.InvalidInput(field="visibility", reason="only admins may publish images")
    return str(value)


def _choice(field: str, value: Any, allowed: Mapping[str, Any] | frozenset[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise errors.InvalidInput(field=field, reason=f"must be one of {sorted(allowed)}")
    return value


def _count(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise errors.InvalidInput(field=field, reason=f"must be an integer >= 0, got {value!r}")
    return fields.integer(field, value, minimum=0)  # and within its column


def _properties(value: Any) -> dict[str, str]:
    if value is not None and not isinstance(value, Mapping):
        raise errors.InvalidInput(field="properties", reason="keys and values must be strings")
    return fields.metadata("properties", value)
