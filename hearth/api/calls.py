"""What a route handler works with: the facade, the caller, the microversion, the base URL
of links, and the request body as a checked JSON object.

Handlers declare ``call: Call = Depends(call)`` and, for bodies, ``body: dict =
Depends(body_object("volume"))``: a body that is not JSON (by its Content-Type or its
text), not an object, or lacks its wrapper object is refused naming what is wrong, before
any handler runs. Every path and query parameter is storable text (``plain_parameters``,
which the app runs first on every route).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from hearth import errors
from hearth.api import documents, versions
from hearth.context import RequestContext
from hearth.service import fields
from hearth.service.facade import Hearth

JSON_TYPES = ("application/json", "application/vnd.openstack.volume+json")
"""The media types of a JSON body (Cinder's ``SUPPORTED_CONTENT_TYPES``)."""


@dataclass(frozen=True)
class Call:
    """One request as its handler sees it."""

    hearth: Hearth
    context: RequestContext
    version: versions.Version
    base_url: str
    """Scheme, host and port (or ``[api] public_url``), without a trailing slash."""

    def at_least(self, version: versions.Version) -> bool:
        """Whether the negotiated microversion is ``version`` or later."""
        return self.version >= version

    def require(self, version: versions.Version) -> None:
        """Refuse a route the negotiated microversion does not have (404, as Cinder)."""
        if self.version < version:
            raise errors.MethodNotInVersion(version=str(self.version), since=str(version))


def call(request: Request) -> Call:
    """The dependency giving a handler its :class:`Call`."""
    state = request.state
    if request.app.state.hearth is None:
        raise errors.HearthError(detail="this app only describes the API")
    public_url = request.app.state.settings.public_url
    base = public_url or str(request.base_url)
    return Call(
        hearth=request.app.state.hearth,
        context=state.context,
        version=getattr(state, "version", versions.MIN),
        base_url=base.rstrip("/"),
    )


def plain_parameters(request: Request) -> None:
    """Every path and query parameter is text the database can store (PostgreSQL refuses
    NUL, which a URL can carry as ``%00``); refused as badRequest naming the parameter."""
    for name, value in (*request.path_params.items(), *request.query_params.multi_items()):
        fields.storable(name, str(value))


def project_in_path(project_id: str, request: Request) -> None:
    """A URL's project must be the caller's (Cinder answers 'Malformed request url')."""
    if project_id != request.state.context.project_id:
        raise errors.InvalidInput(
            field="project_id", reason="the URL's project is not the caller's project"
        )


async def json_body(request: Request) -> Any:
    """The request body parsed as JSON. Its Content-Type must say JSON, as Cinder has it: a
    body of another type is refused as 415, one without a type as badRequest; malformed
    JSON (or nesting deeper than ``documents.MAX_DEPTH``) is refused naming the body."""
    raw = await request.body()
    if not raw.strip():
        raise errors.InvalidInput(field="request body", reason="a JSON object is required")
    given = request.headers.get("content-type", "").strip()
    if not given:
        raise errors.InvalidInput(
            field="Content-Type", reason=f"is missing; a JSON body is sent as {JSON_TYPES[0]}"
        )
    if given.partition(";")[0].strip().lower() not in JSON_TYPES:
        raise errors.UnsupportedMediaType(given=given, expected=JSON_TYPES[0])
    return documents.parse(raw, "request body")


def body_object(wrapper: str) -> Callable[[Request], Awaitable[dict[str, Any]]]:
    """A dependency returning the object under ``wrapper`` in a JSON object body."""

    async def wrapped(request: Request) -> dict[str, Any]:
        document = await json_body(request)
        if not isinstance(document, dict):
            raise errors.InvalidInput(field="request body", reason="must be a JSON object")
        inner = document.get(wrapper)
        if not isinstance(inner, dict):
            raise errors.InvalidInput(field=wrapper, reason="a JSON object is required")
        return inner

    return wrapped


def query_flag(value: str | None) -> bool:
    """A boolean query parameter as OpenStack clients send them."""
    return (value or "").strip().lower() in {"1", "true", "yes", "on", "t", "y"}
