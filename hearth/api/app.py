"""The ASGI application: routes of the Block Storage v3 API over one ``Hearth`` facade.

``build_app(hearth)`` mounts every resource's routes twice, under ``/v3`` and under
``/v3/{project_id}`` (whose project must be the caller's), behind ``RequestMiddleware``,
with every error rendered by ``hearth.api.errors``. ``GET /`` (300) and ``GET /v3/``
(200) answer the version documents without authentication; ``GET /openapi.json``
describes the API; ``GET /healthz`` and ``GET /readyz`` are the probes (``health.py``).
The Image v2 subset (``images.py``) is mounted under ``/image`` (its version document at
``GET /image``), the image endpoint clients are pointed at. The status page
(``dashboard``) is at ``/dashboard``. With metrics on, ``metrics.MetricsMiddleware`` wraps
everything: it times each request and answers ``GET /metrics``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from hearth import config
from hearth.api import (
    attachments,
    auth,
    backups,
    calls,
    dashboard,
    empty_ids,
    errors,
    health,
    image_changes,
    images,
    limits,
    messages,
    metrics,
    middleware,
    os_services,
    pools,
    qos_specs,
    quota_sets,
    snapshot_actions,
    snapshots,
    transfers,
    type_changes,
    types,
    versions,
    volume_actions,
    volume_metadata,
    volumes,
)
from hearth.service.facade import Hearth

RESOURCE_ROUTERS: tuple[APIRouter, ...] = (
    volumes.router,
    volume_metadata.router,
    snapshots.router,
    types.router,
    messages.router,
    limits.router,
    backups.router,
    attachments.router,
    quota_sets.router,
    os_services.router,
    pools.router,
    qos_specs.router,
    transfers.router,
    volume_actions.router,
    snapshot_actions.router,
    type_changes.router,
    empty_ids.router,
)


def build_app(hearth: Hearth | None, settings: config.ApiSettings | None = None) -> FastAPI:
    """The API over ``hearth`` (its ``[api]`` settings unless others are given); with no
    Hearth, an app that only describes itself (``openapi.py``)."""
    chosen = settings or (hearth.services.settings.api if hearth else config.ApiSettings())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = chosen.workers
        yield

    app = FastAPI(
        title="Hearth Block Storage API",
        version=str(versions.MAX),
        description="OpenStack Block Storage v3 (a subset), served by Hearth.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(calls.plain_parameters)],
    )
    app.state.hearth = hearth
    app.state.settings = chosen
    errors.install(app)
    app.add_middleware(
        middleware.RequestMiddleware, settings=chosen, authenticator=auth.build(chosen)
    )
    registry = hearth.services.metrics_registry if hearth else None
    if registry is not None:  # added last: the outermost, timing what the one above refuses
        app.add_middleware(metrics.MetricsMiddleware, registry=registry, routes=app.router.routes)
    app.add_api_route("/", root, methods=["GET"], tags=["versions"])
    app.add_api_route("/v3/", v3_root, methods=["GET"], tags=["versions"])
    for router in RESOURCE_ROUTERS:
        app.include_router(router, prefix="/v3")
        app.include_router(
            router,
            prefix="/v3/{project_id}",
            dependencies=[Depends(calls.project_in_path)],
            generate_unique_id_function=_with_project_id,
        )
    app.include_router(images.router, prefix=images.PREFIX)
    app.include_router(image_changes.router, prefix=images.PREFIX)
    app.include_router(dashboard.router, prefix=dashboard.PREFIX)
    app.include_router(health.router)
    return app


def root(request: Request) -> JSONResponse:
    """The versions Hearth serves (300 Multiple Choices, as Cinder)."""
    document = versions.document(_base_url(request))
    return JSONResponse({"versions": [document]}, status_code=300)


def v3_root(request: Request) -> dict[str, Any]:
    """The v3 version document."""
    return {"versions": [versions.document(_base_url(request))]}


def _base_url(request: Request) -> str:
    public_url: str | None = request.app.state.settings.public_url
    return (public_url or str(request.base_url)).rstrip("/")


def _with_project_id(route: APIRoute) -> str:
    return f"{route.name}_in_project"
