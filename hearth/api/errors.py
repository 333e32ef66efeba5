"""Error rendering: the one place where Hearth's errors become API responses.

Every error of every layer (``hearth.errors``), HTTP errors of the routing (unknown path,
wrong method) and anything unexpected leave the API as the Block Storage API's error
document, named by status as Cinder names them::

    {"itemNotFound": {"code": 404, "message": "Volume 42 could not be found."}}

Unexpected exceptions answer 500 ``computeFault`` with a message that holds no traceback;
the traceback goes to the log with the request id. ``middleware.py`` renders them through
:func:`response_of` rather than letting them reach uvicorn, which would drop the client's
keep-alive connection; the handler :func:`install` registers for ``Exception`` is the last
resort for one that escapes the middleware itself.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from hearth import errors

LOG = logging.getLogger(__name__)

FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    501: "notImplemented",
    503: "serviceUnavailable",
}
DEFAULT_FAULT = "computeFault"
HTTP_MESSAGES = {
    404: "The resource could not be found.",
    405: "The method is not allowed for the requested URL.",
}


def body_of(status: int, message: str) -> bytes:
    """The error document for a status and a message."""
    name = FAULT_NAMES.get(status, DEFAULT_FAULT)
    return json.dumps({name: {"code": status, "message": message}}).encode()


def describe(exc: BaseException) -> tuple[int, str]:
    """The status and user message of any exception."""
    if isinstance(exc, errors.HearthError):
        return exc.status, exc.user_message
    if isinstance(exc, HTTPException):
        return exc.status_code, HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
    return 500, errors.HearthError.message


def response_of(exc: BaseException, headers: dict[str, str] | None = None) -> Response:
    """The response for an exception."""
    status, message = describe(exc)
    if status >= 500:
        LOG.error("request failed: %s", message, exc_info=exc)
    extra = dict(headers or {})
    if isinstance(exc, HTTPException) and exc.headers:
        extra.update(exc.headers)
    return Response(
        body_of(status, message), status_code=status, media_type="application/json", headers=extra
    )


async def handle(request: Request, exc: Exception) -> Response:
    """The exception handler the app installs for every exception class."""
    return response_of(exc)


def install(app: Any) -> None:
    """Route every error the app can raise through :func:`handle`."""
    for kind in (errors.HearthError, HTTPException, Exception):
        app.add_exception_handler(kind, handle)
    from fastapi.exceptions import RequestValidationError

    app.add_exception_handler(RequestValidationError, _validation)


async def _validation(request: Request, exc: Exception) -> Response:
    """FastAPI's own parameter checks (path and query types) as badRequest, naming the
    field, never as FastAPI's 422."""
    problems: list[dict[str, Any]] = list(getattr(exc, "errors", list)())
    first = problems[0] if problems else {}
    field = str(first.get("loc", ["request"])[-1])
    reason = str(first.get("msg", "is invalid"))
    return response_of(errors.InvalidInput(field=field, reason=reason))
