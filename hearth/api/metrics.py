"""The API's metrics: every request timed by its route template, and ``GET /metrics``.

The outermost pure ASGI middleware of the app (``app.py`` adds it last, around
``RequestMiddleware``), so a request is timed from its first byte to its answer, whatever
refused it. The ``route`` label is the template of the route that served it (Starlette's
``scope["route"]`` after routing, e.g. ``/v3/{project_id}/volumes/{volume_id}``); a request
refused before routing (401, 413) is matched against the routes here; one that matches
none is ``unmatched``. Never the raw path: ids would make every volume a series.

``GET /metrics`` is answered here, before authentication (Prometheus scrapes without
credentials): the process's registry in the text format, collected in a worker thread (the
state gauges read the database). It is not timed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import anyio.to_thread
from prometheus_client import CollectorRegistry
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hearth import metrics

PATH = "/metrics"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods kept as they are in the ``method`` label; any other is ``other``."""
UNMATCHED = "unmatched"


class MetricsMiddleware:
    """See the module docstring."""

    def __init__(
        self, app: ASGIApp, registry: CollectorRegistry, routes: Sequence[BaseRoute]
    ) -> None:
        self.app = app
        self.registry = registry
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == PATH and scope["method"] in ("GET", "HEAD"):
            await self._scrape(send, body=scope["method"] == "GET")
            return
        status = 500  # unless an answer starts

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            metrics.API_REQUEST_SECONDS.labels(method, self._route_of(scope), str(status)).observe(
                time.perf_counter() - started
            )

    def _route_of(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is None:
            route = next((r for r in self.routes if r.matches(scope)[0] != Match.NONE), None)
        return str(getattr(route, "path", UNMATCHED))

    async def _scrape(self, send: Send, *, body: bool) -> None:
        text = await anyio.to_thread.run_sync(metrics.exposition, self.registry)
        headers = [
            (b"content-type", metrics.CONTENT_TYPE.encode()),
            (b"content-length", str(len(text)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": text if body else b""})
