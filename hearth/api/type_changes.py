"""Volume type changes beyond create and delete (``types.py``), as Cinder's API has them,
all for admins: ``PUT /types/{id}``, ``PUT /types/{id}/extra_specs/{key}``, project access
to private types (``GET /types/{id}/os-volume-type-access``, ``POST /types/{id}/action``
with ``addProjectAccess``/``removeProjectAccess``) and encryption types
(``/types/{id}/encryption``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from hearth import errors
from hearth.api.calls import Call, body_object, call, json_body
from hearth.api.views import types as views
from hearth.db import models

router = APIRouter(tags=["volume types"])

ACCESS_ACTIONS = {"addProjectAccess": True, "removeProjectAccess": False}


@router.put("/types/{type_id}")
def update_type(
    type_id: str,
    call: Call = Depends(call),
    body: dict[str, Any] = Depends(body_object("volume_type")),
) -> dict[str, Any]:
    """Change a type's name, description or ``is_public``."""
    updated = call.hearth.update_volume_type(type_id, body, context=call.context)
    return {"volume_type": views.updated(updated)}


@router.put("/types/{type_id}/extra_specs/{key}")
def set_extra_spec(
    type_id: str, key: str, call: Call = Depends(call), body: Any = Depends(json_body)
) -> dict[str, str]:
    """Set one extra spec; the body is ``{key: value}`` for the key in the path."""
    return call.hearth.set_extra_spec(type_id, key, body, context=call.context)


@router.get("/types/{type_id}/os-volume-type-access")
def list_access(type_id: str, call: Call = Depends(call)) -> dict[str, Any]:
    """The projects that may use a private type."""
    found, projects = call.hearth.type_access(type_id, context=call.context)
    return {
        "volume_type_access": [
            {"volume_type_id": found.id, "project_id": project} for project in projects
        ]
    }


@router.post("/types/{type_id}/action", status_code=202)
def type_action(
    type_id: str, call: Call = Depends(call), body: Any = Depends(json_body)
) -> Response:
    """``addProjectAccess`` or ``removeProjectAccess``: ``{"project": id}``."""
    if not isinstance(body, dict) or len(body) != 1:
        raise errors.InvalidInput(field="request body", reason="must name one action")
    ((action, argument),) = body.items()
    if action not in ACCESS_ACTIONS:
        raise errors.InvalidInput(
            field="action", reason=f"{action!r} is not one of {sorted(ACCESS_ACTIONS)}"
        )
    if not isinstance(argument, dict):
        raise errors.InvalidInput(field=action, reason="a JSON object is required")
    call.hearth.change_type_access(
        type_id, argument.get("project"), grant=ACCESS_ACTIONS[action], context=call.context
    )
    return Response(status_code=202)


@router.get("/types/{type_id}/encryption")
def show_encryption(type_id: str, call: Call = Depends(call)) -> dict[str, Any]:
    """A type's encryption; ``{}`` when it has none."""
    _found, encryption = call.hearth.encryption(type_id, context=call.context)
    return {} if encryption is None else _encryption(encryption, shown=True)


@router.get("/types/{type_id}/encryption/{key}")
def show_encryption_item(type_id: str, key: str, call: Call = Depends(call)) -> dict[str, Any]:
    """One field of a type's encryption, as ``{key: value}``."""
    _found, encryption = call.hearth.encryption(type_id, context=call.context)
    shown = {} if encryption is None else _encryption(encryption, shown=True)
    if key not in shown:
        raise errors.MetadataKeyNotFound(
            kind="Encryption of volume type", resource_id=type_id, key=key
        )
    return {key: shown[key]}


@router.post("/types/{type_id}/encryption")
def create_encryption(
    type_id: str,
    call: Call = Depends(call),
    body: dict[str, Any] = Depends(body_object("encryption")),
) -> dict[str, Any]:
    """Give a type its encryption (provider, cipher, key_size, control_location)."""
    created = call.hearth.set_encryption(type_id, body, context=call.context)
    return {"encryption": _encryption(created, shown=False)}


@router.put("/types/{type_id}/encryption/{encryption_id}")
def update_encryption(
    type_id: str,
    encryption_id: str,
    call: Call = Depends(call),
    body: dict[str, Any] = Depends(body_object("encryption")),
) -> dict[str, Any]:
    """Change fields of a type's encryption; answers the fields given."""
    call.hearth.set_encryption(type_id, body, encryption_id=encryption_id, context=call.context)
    return {"encryption": body}


@router.delete("/types/{type_id}/encryption/{encryption_id}", status_code=202)
def delete_encryption(type_id: str, encryption_id: str, call: Call = Depends(call)) -> Response:
    """Remove a type's encryption."""
    call.hearth.delete_encryption(type_id, encryption_id, context=call.context)
    return Response(status_code=202)


def _encryption(row: models.EncryptionType, *, shown: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "volume_type_id": row.volume_type_id,
        "encryption_id": row.encryption_id,
        "provider": row.provider,
        "cipher": row.cipher,
        "key_size": row.key_size,
        "control_location": row.control_location,
    }
    if shown:  # as Cinder's show: the row's times too
        body["created_at"] = row.created_at.isoformat()
        body["updated_at"] = row.updated_at.isoformat() if row.updated_at else None
        body["deleted"] = False
        body["deleted_at"] = None
    return body
