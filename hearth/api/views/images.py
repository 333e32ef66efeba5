"""Image documents of the Image v2 API: a Hearth image row as Glance returns an image.

Links (``self``, ``file``, ``schema``, ``first``, ``next``) are paths relative to the image
endpoint (``<base>/image``), as Glance writes them. Hearth's image statuses are Glance's
(queued, saving, active, killed; a deleted image has no row and answers 404). Hearth keeps
no tags and never protects or hides an image, so those fields are constant. Extra
properties sit beside the core fields and never replace one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from hearth.db import models

COLLECTION = "/v2/images"


def image(row: models.Image) -> dict[str, Any]:
    """The full document of one image."""
    created = _timestamp(row.created_at)
    core: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "status": row.status,
        "visibility": row.visibility,
        "protected": False,
        "os_hidden": False,
        "checksum": row.checksum,
        "os_hash_algo": row.os_hash_algo,
        "os_hash_value": row.os_hash_value,
        "size": row.size,
        "virtual_size": row.virtual_size,
        "disk_format": row.disk_format,
        "container_format": row.container_format,
        "min_disk": row.min_disk,
        "min_ram": row.min_ram,
        "owner": row.owner,
        "tags": [],
        "created_at": created,
        "updated_at": _timestamp(row.updated_at) or created,
        "self": f"{COLLECTION}/{row.id}",
        "file": f"{COLLECTION}/{row.id}/file",
        "schema": "/v2/schemas/image",
    }
    return {**(row.properties or {}), **core}


def page(rows: list[models.Image], limit: int, query: dict[str, str]) -> dict[str, Any]:
    """A list response: the images, and a ``next`` link when the page is full."""
    body: dict[str, Any] = {
        "images": [image(row) for row in rows],
        "first": COLLECTION,
        "schema": "/v2/schemas/images",
    }
    if rows and len(rows) >= limit:
        params = {**{k: v for k, v in query.items() if k != "marker"}, "marker": rows[-1].id}
        body["next"] = f"{COLLECTION}?{urlencode(params)}"
    return body


def versions(base_url: str) -> dict[str, Any]:
    """The image endpoint's version document (what clients discover ``v2`` from)."""
    return {
        "versions": [
            {
                "id": "v2.0",
                "status": "CURRENT",
                "links": [{"rel": "self", "href": f"{base_url}/image/v2/"}],
            }
        ]
    }


def _timestamp(value: datetime | None) -> str | None:
    """A time as Glance writes it: UTC, whole seconds, ``Z``."""
    if value is None:
        return None
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value  # SQLite: naive UTC
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
