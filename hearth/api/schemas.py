"""The OpenAPI description of request bodies and list queries.

It documents; it does not validate: the checks live in ``hearth.service.requests`` so that
the CLI, the library and the API refuse the same things with the same messages. Handlers
attach these with ``openapi_extra``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

_TEXT = {"type": ["string", "null"], "maxLength": 255}
_METADATA = {"type": "object", "additionalProperties": {"type": "string", "maxLength": 255}}
_ID = {"type": ["string", "null"]}

BODIES: dict[str, dict[str, Any]] = {
    "volume_create": {
        "volume": {
            "size": {"type": ["integer", "null"], "minimum": 1},
            "name": _TEXT,
            "description": _TEXT,
            "volume_type": _ID,
            "availability_zone": _ID,
            "snapshot_id": _ID,
            "source_volid": _ID,
            "imageRef": _ID,
            "backup_id": {**_ID, "description": "a backup to restore (3.47)"},
            "metadata": _METADATA,
        }
    },
    "volume_update": {"volume": {"name": _TEXT, "description": _TEXT, "metadata": _METADATA}},
    "snapshot_create": {
        "snapshot": {
            "volume_id": {"type": "string"},
            "name": _TEXT,
            "description": _TEXT,
            "force": {"type": "boolean"},
            "metadata": _METADATA,
        }
    },
    "snapshot_update": {"snapshot": {"name": _TEXT, "description": _TEXT}},
    "type_create": {
        "volume_type": {
            "name": {"type": "string", "minLength": 1, "maxLength": 255},
            "description": _TEXT,
            "os-volume-type-access:is_public": {"type": "boolean"},
            "extra_specs": _METADATA,
        }
    },
    "action": {"os-extend": {"new_size": {"type": "integer", "minimum": 1}}},
    "backup_create": {
        "backup": {
            "volume_id": {"type": "string"},
            "name": _TEXT,
            "description": _TEXT,
            "incremental": {"type": "boolean"},
            "force": {"type": "boolean"},
            "snapshot_id": _ID,
            "container": _TEXT,
            "metadata": _METADATA,
            "availability_zone": _ID,
        }
    },
    "backup_update": {"backup": {"name": _TEXT, "description": _TEXT, "metadata": _METADATA}},
    "backup_restore": {"restore": {"volume_id": _ID, "name": _TEXT}},
    "backup_action": {"os-reset_status": {"status": {"type": "string"}}},
    "backup_import": {
        "backup-record": {"backup_service": {"type": "string"}, "backup_url": {"type": "string"}}
    },
    "attachment_create": {
        "attachment": {
            "volume_uuid": {"type": "string"},
            "instance_uuid": _ID,
            "connector": {"type": ["object", "null"]},
            "mode": {"type": "string", "enum": ["rw", "ro"]},
        }
    },
    "attachment_update": {
        "attachment": {
            "connector": {"type": "object"},
            "mode": {"type": "string", "enum": ["rw", "ro"]},
        }
    },
    "attachment_action": {"os-complete": {}},
}
IMAGE_CREATE: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 255},
    "disk_format": {"type": "string"},
    "container_format": {"type": "string"},
    "visibility": {"type": "string", "enum": ["private", "public"]},
    "min_disk": {"type": "integer", "minimum": 0},
    "min_ram": {"type": "integer", "minimum": 0},
}
WRAPPED_OBJECTS = {"metadata": _METADATA, "meta": _METADATA, "extra_specs": _METADATA}


def body(name: str) -> dict[str, Any]:
    """``openapi_extra`` declaring the JSON request body ``name``."""
    if name in WRAPPED_OBJECTS:
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {name: WRAPPED_OBJECTS[name]},
            "required": [name],
        }
    else:
        [(wrapper, properties)] = BODIES[name].items()
        schema = {
            "type": "object",
            "properties": {wrapper: {"type": "object", "properties": properties}},
            "required": [wrapper],
        }
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def image_body() -> dict[str, Any]:
    """``openapi_extra`` of ``POST /image/v2/images``: Glance's flat object, whose other
    keys are string properties."""
    schema = {
        "type": "object",
        "properties": IMAGE_CREATE,
        "required": ["name", "disk_format"],
        "additionalProperties": {"type": "string", "maxLength": 255},
    }
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def upload_body() -> dict[str, Any]:
    """``openapi_extra`` of an image upload: the image's bytes."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {"requestBody": {"required": True, "content": {"application/octet-stream": binary}}}


def image_query(filters: Collection[str]) -> dict[str, Any]:
    """``openapi_extra`` of the image list: paging and exact-match filters."""
    parameters = [
        _query("limit", {"type": "integer", "minimum": 0}),
        _query("marker", {"type": "string"}),
        *(_query(name, {"type": "string"}) for name in filters),
    ]
    return {"parameters": parameters}


FILTERS: dict[str, dict[str, Any]] = {
    "volumes": {
        "name": {"type": "string"},
        "status": {"type": "string"},
        "availability_zone": {"type": "string"},
        "bootable": {"type": "boolean"},
        "size": {"type": "integer", "minimum": 1},
        "metadata": {"type": "string", "description": "a JSON object of strings"},
    },
    "snapshots": {
        "name": {"type": "string"},
        "status": {"type": "string"},
        "volume_id": {"type": "string"},
        "metadata": {"type": "string", "description": "a JSON object of strings (3.22)"},
    },
    "backups": {
        "name": {"type": "string"},
        "status": {"type": "string"},
        "volume_id": {"type": "string"},
        "progress": {"type": "boolean", "description": "add hearth:progress (detail)"},
        "with_count": {"type": "boolean", "description": "add count (3.45)"},
    },
    "attachments": {
        "volume_id": {"type": "string"},
        "instance_id": {"type": "string"},
        "status": {"type": "string"},
    },
    "messages": {
        "resource_uuid": {"type": "string"},
        "resource_type": {"type": "string"},
        "request_id": {"type": "string"},
    },
}
"""The exact-match filters of each list (``metadata``: the items a row must hold)."""


def list_query(sort_keys: Collection[str], resource: str) -> dict[str, Any]:
    """``openapi_extra`` declaring the paging, sorting and filter query parameters of the
    list of ``resource`` (a key of :data:`FILTERS`)."""
    keys = sorted(sort_keys)
    parameters = [
        _query("limit", {"type": "integer", "minimum": 0}),
        _query("marker", {"type": "string"}),
        _query("sort_key", {"type": "string", "enum": keys}),
        _query("sort_dir", {"type": "string", "enum": ["asc", "desc"]}),
        _query("all_tenants", {"type": "boolean"}),
        *(_query(name, schema) for name, schema in FILTERS[resource].items()),
    ]
    return {"parameters": parameters}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}
