"""The status page: ``GET /dashboard``, for a person who would rather look than read JSON.

Beside the Block Storage API, not part of it (outside its OpenAPI description). Three
static files shipped in the package (``static/``: the page, its script, its style; no
build step, nothing fetched from elsewhere) and one JSON document, ``GET
/dashboard/state``: ``Hearth.overview`` as ``views.state`` renders it. The script polls
the state every two seconds and redraws.

Authentication: a browser cannot send ``X-Auth-Token`` when it navigates, so the page and
its files carry no data and are public (``middleware.PUBLIC_PATHS``); the state endpoint
is behind the API's usual authentication, and admins only (it shows every project). The
page asks for a token once (noauth ``USER:PROJECT``, or a Keystone token), keeps it in
the tab's ``sessionStorage`` and sends it as ``X-Auth-Token`` with every poll. The page's
Content-Security-Policy allows only its own script, style and requests.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from hearth import errors
from hearth.api.calls import Call, call
from hearth.api.dashboard import views

PREFIX = "/dashboard"
STATIC = "/static"
FILES = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
"""The page's files, by name, with their media types (nothing else is served)."""
PAGE_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}

router = APIRouter(include_in_schema=False)


def _read(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()


@router.get("")
def page() -> Response:
    """The status page itself (public: it holds no data)."""
    return Response(
        _read("index.html"), media_type="text/html; charset=utf-8", headers=PAGE_HEADERS
    )


@router.get(STATIC + "/{name}")
def static_file(name: str) -> Response:
    """One of the page's files (public)."""
    if name not in FILES:
        raise errors.NotFound(kind="File", resource_id=name)
    return Response(_read(name), media_type=FILES[name], headers=PAGE_HEADERS)


@router.get("/state")
def state(call: Call = Depends(call)) -> JSONResponse:
    """What the page shows, as JSON (admins only)."""
    document: dict[str, Any] = views.state(call.hearth.overview(context=call.context))
    return JSONResponse(document, headers={"cache-control": "no-store"})
