"""The front of every request: request id, body limit, caller and microversion.

One pure ASGI middleware, run before routing: it gives the request its id (the
``RequestContext.request_id``, so it reaches user messages and logs) and answers with it
in ``x-openstack-request-id``; refuses bodies over the limit (``max_body_bytes``; image
uploads, which are streamed, ``max_image_bytes``); establishes the caller (``auth``) for
everything but the version documents and the API description; negotiates
the microversion of ``/v3`` requests and repeats it in ``OpenStack-API-Version``; and logs
one structured line per request (``hearth.logs``: the request id is bound for the whole
request, so every line logged meanwhile carries it, and the request's line names the
volume or snapshot of its path or of the create it made). The probes ``/healthz`` and
``/readyz`` need no caller and log at DEBUG. What it refuses, and any exception a route
lets out, is rendered by ``errors`` as a complete response, so the client's connection
stays open.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hearth import config, context, errors, logs
from hearth.api import auth, versions
from hearth.api import errors as rendering

LOG = logging.getLogger("hearth.api")
PUBLIC_PATHS = frozenset(
    {"/", "/v3", "/v3/", "/openapi.json", "/docs", "/image", "/image/", "/healthz", "/readyz"}
)
# the status page and its files hold no data; the state they fetch is authenticated
PUBLIC_PATHS |= {
    "/dashboard",
    "/dashboard/",
    "/dashboard/static/dashboard.js",
    "/dashboard/static/dashboard.css",
}
PROBE_PATHS = frozenset({"/healthz", "/readyz"})
"""Asked every few seconds by probes: their lines are DEBUG, not INFO."""
UPLOAD_PREFIX, UPLOAD_SUFFIX = "/image/v2/images/", "/file"


class RequestMiddleware:
    """See the module docstring."""

    def __init__(
        self, app: ASGIApp, settings: config.ApiSettings, authenticator: auth.Authenticator
    ) -> None:
        self.app = app
        self.settings = settings
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = context.new_request_id()
        answer: dict[str, Any] = {
            "status": 500,
            "headers": [(b"x-openstack-request-id", request_id.encode())],
        }

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["started"] = True
                message = {**message, "headers": [*message.get("headers", []), *answer["headers"]]}
            await send(message)

        started = time.perf_counter()
        with logs.bound(request_id=request_id) as fields:
            try:
                await self._admit(scope, request_id, answer)
                await self.app(scope, self._limited(scope, receive), send_with_headers)
            except Exception as exc:
                # answered here, not re-raised: an exception that reaches uvicorn makes it
                # drop the connection, which a keep-alive client sees as a reset on its next
                # request
                if answer.get("started"):
                    raise  # half a response is out: only closing the connection can end it
                await rendering.response_of(exc)(scope, receive, send_with_headers)
            finally:
                _log_request(scope, answer["status"], time.perf_counter() - started, fields)

    async def _admit(self, scope: Scope, request_id: str, answer: dict[str, Any]) -> None:
        """Check the request before any route sees it; fill ``scope["state"]``."""
        headers = Headers(scope=scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        limit = self._limit(scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        path = scope["path"]
        if path.startswith("/v3"):
            version = versions.negotiate(headers.get(versions.HEADER))
            state["version"] = version
            answer["headers"] += [
                (versions.HEADER.encode(), f"{versions.SERVICE} {version}".encode()),
                (b"vary", versions.HEADER.encode()),
            ]
        if path not in PUBLIC_PATHS:
            state["context"] = await self.authenticator(scope, headers, request_id)

    def _limit(self, scope: Scope) -> int:
        """Image uploads (``PUT /image/v2/images/{id}/file``, streamed to the image store)
        have their own limit; every other body, JSON, the small one."""
        path = scope["path"]
        if (
            scope["method"] == "PUT"
            and path.startswith(UPLOAD_PREFIX)
            and path.endswith(UPLOAD_SUFFIX)
        ):
            return self.settings.max_image_bytes
        return self.settings.max_body_bytes

    def _limited(self, scope: Scope, receive: Receive) -> Receive:
        """``receive`` that refuses a body growing past the limit (chunked uploads)."""
        limit = self._limit(scope)
        seen = 0

        async def receive_within_limit() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _too_large(limit)
            return message

        return receive_within_limit


def _log_request(scope: Scope, status: int, seconds: float, fields: dict[str, str]) -> None:
    """The request's one line: method, path, route template, status and duration, with the
    request id and the volume or snapshot it named in its path or created."""
    path_params = scope.get("path_params") or {}
    logs.note(**logs.resource_ids(path_params))
    route = _template(scope["path"], path_params) if "route" in scope else None
    LOG.log(
        logging.DEBUG if scope["path"] in PROBE_PATHS else logging.INFO,
        "%s %s %s %.1fms",
        scope["method"],
        scope["path"],
        status,
        seconds * 1000,
        extra={
            **fields,
            "method": scope["method"],
            "path": scope["path"],
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
        },
    )


def _template(path: str, path_params: dict[str, Any]) -> str:
    """The route's template (``/v3/{project_id}/volumes/{volume_id}``): the path with each
    parameter's segment named, never an id (FastAPI keeps the prefix of an included router
    apart from its routes' paths)."""
    names = {str(value): name for name, value in path_params.items()}
    return "/".join(f"{{{names[part]}}}" if part in names else part for part in path.split("/"))


def _too_large(limit: int) -> errors.InvalidInput:
    return errors.InvalidInput(
        field="request body", reason=f"is larger than the limit of {limit} bytes"
    )
