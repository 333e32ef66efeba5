"""Changes to images after their upload, as the Image API has them: deactivate and
reactivate (a deactivated image is kept but no volume is made from it, nor is it
downloaded), JSON-patch updates of the fields volumes use, and the file of an active image
for download. Only an image's owner or an admin changes it; each check runs before
anything is written. ``ImageChanges`` is the facade's part (``Hearth`` inherits it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hearth import errors
from hearth.context import RequestContext
from hearth.db import images, models
from hearth.db.statuses import ImageStatus
from hearth.image import fetch
from hearth.service import fields, image_requests

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hearth.service.wiring import Services

PATCH_OPERATIONS = ("add", "replace", "remove")
COUNTS = ("min_disk", "min_ram")
CORE = frozenset({"name", "visibility", *COUNTS})
READ_ONLY = frozenset(
    {"id", "status", "owner", "size", "virtual_size", "checksum", "disk_format",
     "container_format", "created_at", "updated_at", "os_hash_algo", "os_hash_value",
     "self", "file", "schema", "locations", "direct_url", "protected", "os_hidden", "tags"}
)  # fmt: skip
TOGGLES = {
    "deactivate": (ImageStatus.DEACTIVATED, ImageStatus.ACTIVE),
    "reactivate": (ImageStatus.ACTIVE, ImageStatus.DEACTIVATED),
}
"""Action -> (status it sets, the one status it changes)."""


class ImageChanges:
    """The facade's image changes (``services`` and ``context`` come from Hearth)."""

    services: Services
    context: RequestContext

    def toggle_image(
        self, image_id: str, action: str, *, context: RequestContext | None = None
    ) -> None:
        """``deactivate`` an active image or ``reactivate`` a deactivated one (a repeat does
        nothing); refused in any other status."""
        with self.services.db.transaction() as session:
            toggle(session, context or self.context, image_id, action)

    def patch_image(
        self, image_id: str, operations: Any, *, context: RequestContext | None = None
    ) -> models.Image:
        """Apply a JSON patch (add, replace, remove) to an image's fields and properties."""
        with self.services.db.transaction() as session:
            return patch(session, context or self.context, image_id, operations)

    def image_file(
        self, image_id: str, *, context: RequestContext | None = None
    ) -> tuple[models.Image, Path | None]:
        """An image and the file of its bytes (None when it has none yet)."""
        with self.services.db.read() as session:
            image = images.get(
                session, image_id, project_id=(context or self.context).visible_project
            )
        if image.status == ImageStatus.DEACTIVATED and not (context or self.context).is_admin:
            raise errors.Forbidden(action="download a deactivated image")
        if image.status != ImageStatus.ACTIVE:
            return image, None
        return image, fetch.stored_file(self.services.settings.image_directory, image.id)


def toggle(session: Session, context: RequestContext, image_id: str, action: str) -> None:
    """Set the status an action names, if the image is in the one it changes."""
    image = _owned(session, context, image_id)
    wanted, changed = TOGGLES[action]
    if image.status == wanted:
        return
    if image.status != changed:
        raise errors.InvalidStatus(
            kind="Image", resource_id=image_id, status=image.status, action=action
        )
    images.set_status(session, image_id, wanted, expected=[changed])


def patch(
    session: Session, context: RequestContext, image_id: str, operations: Any
) -> models.Image:
    """Check every operation, then apply them all (or none)."""
    image = _owned(session, context, image_id)
    if not isinstance(operations, list):
        raise errors.InvalidInput(field="request body", reason="must be a list of operations")
    core: dict[str, Any] = {}
    properties = dict(image.properties)
    for operation in operations:
        name, op, value = _operation(operation)
        if name in CORE:
            if op == "remove":
                raise errors.InvalidInput(field=name, reason="cannot be removed")
            core[name] = _core_value(context, name, value)
        elif op == "remove":
            if name not in properties:
                raise errors.InvalidInput(field=name, reason="is not a property of the image")
            del properties[name]
        else:
            properties[name] = value
    checked = fields.metadata("properties", properties)
    images.update(session, image_id, **core, properties=checked)
    return images.get(session, image_id)


def _operation(operation: Any) -> tuple[str, str, Any]:
    if not isinstance(operation, dict) or operation.get("op") not in PATCH_OPERATIONS:
        raise errors.InvalidInput(
            field="op", reason=f"each operation is an object with op one of {PATCH_OPERATIONS}"
        )
    path = operation.get("path")
    if not isinstance(path, str) or not path.startswith("/") or len(path) < 2 or "/" in path[1:]:
        raise errors.InvalidInput(field="path", reason="must be /<field> (one level)")
    name = path[1:]
    if name in READ_ONLY:
        raise errors.InvalidInput(field=name, reason="is read-only")
    if operation["op"] != "remove" and "value" not in operation:
        raise errors.InvalidInput(field=name, reason=f"{operation['op']} needs a value")
    return name, str(operation["op"]), operation.get("value")


def _core_value(context: RequestContext, name: str, value: Any) -> Any:
    if name in COUNTS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise errors.InvalidInput(field=name, reason="must be an integer >= 0")
        return fields.integer(name, value, minimum=0)
    if name == "visibility":
        return image_requests.visibility(context, value)
    return fields.optional_text(name, value)


def _owned(session: Session, context: RequestContext, image_id: str) -> models.Image:
    """An image the caller may change: its owner's or, for admins, any."""
    image = images.get(session, image_id, project_id=context.visible_project)
    if not context.is_admin and image.owner != context.project_id:
        raise errors.Forbidden(action="change images of other projects")
    return image
