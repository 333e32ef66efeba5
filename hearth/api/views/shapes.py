"""Shapes shared by the views: resource links, next-page links, timestamps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from hearth.api.calls import Call


def timestamp(value: datetime | None) -> str | None:
    """A time as Cinder writes it: UTC, microseconds, no zone suffix."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


SERVICE_HOST = "hearth"
"""The host part of Cinder's ``host@backend#pool`` names: Hearth's backends are named
services of one deployment, whichever machine runs their manager."""


def backend_host(backend: str | None) -> str | None:
    """A backend (Hearth's ``host`` of a volume) as Cinder names it: ``host@backend#pool``,
    each backend one pool of its own name."""
    return None if backend is None else f"{SERVICE_HOST}@{backend}#{backend}"


def links(call: Call, collection: str, resource_id: str) -> list[dict[str, str]]:
    """The self and bookmark links of one resource."""
    project = call.context.project_id
    return [
        {"rel": "self", "href": f"{call.base_url}/v3/{project}/{collection}/{resource_id}"},
        {"rel": "bookmark", "href": f"{call.base_url}/{project}/{collection}/{resource_id}"},
    ]


def next_links(
    call: Call,
    collection: str,
    items: Sequence[Any],
    limit: int | None,
    query: Mapping[str, str],
) -> list[dict[str, str]]:
    """A "next" link when the page is full (there may be more), else nothing."""
    if not items or limit is None or len(items) < limit:
        return []
    params = {key: value for key, value in query.items() if key != "marker"}
    params["marker"] = items[-1].id
    href = f"{call.base_url}/v3/{call.context.project_id}/{collection}?{urlencode(params)}"
    return [{"rel": "next", "href": href}]
