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


def list_query(sort_keys: Collection[str]) -> dict[str, Any]:
    """``openapi_extra`` declaring the paging and sorting query parameters."""
    keys = sorted(sort_keys)
    parameters = [
        _query("limit", {"type": "integer", "minimum": 0}),
        _query("marker", {"type": "string"}),
        _query("sort_key", {"type": "string", "enum": keys}),
        _query("sort_dir", {"type": "string", "enum": ["asc", "desc"]}),
        _query("all_tenants", {"type": "boolean"}),
    ]
    return {"parameters": parameters}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}
