"""What a route handler works with: the facade, the caller, the microversion, the base URL
of links, and the request body as a checked JSON object.

Handlers declare ``call: Call = Depends(call)`` and, for bodies, ``body: dict =
Depends(body_object("volume"))``: a body that is not JSON, not an object, or lacks its
wrapper object is refused as badRequest naming what is wrong, before any handler runs.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from hearth import errors
from hearth.api import versions
from hearth.context import RequestContext
from hearth.service.facade import Hearth


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


def project_in_path(project_id: str, request: Request) -> None:
    """A URL's project must be the caller's (Cinder answers 'Malformed request url')."""
    if project_id != request.state.context.project_id:
        raise errors.InvalidInput(
            field="project_id", reason="the URL's project is not the caller's project"
        )


async def json_body(request: Request) -> Any:
    """The request body parsed as JSON; malformed JSON is refused naming the body."""
    raw = await request.body()
    if not raw.strip():
        raise errors.InvalidInput(field="request body", reason="a JSON object is required")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise errors.InvalidInput(
            field="request body", reason=f"is not valid JSON: {exc}"
        ) from None


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
