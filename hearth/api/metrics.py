"""The API's metrics: every request timed by its route template, and ``GET /metrics``.

The outermost pure ASGI middleware of the app (``app.py`` adds it last, around
``RequestMiddleware``), so a request is timed from its first byte to its answer, whatever
refused it. The ``route`` label is the full template of the route that served it, e.g.
``/v3/{project_id}/volumes/{volume_id}``: FastAPI leaves the route it chose in
``scope["route"]``, but (from 0.13x) with its path inside its router (``/volumes/...``), so
:class:`RouteTemplates` knows each route's full templates (``/v3/...`` and
``/v3/{project_id}/...``) and picks the one the path matches. A request refused before
routing (401, 413) is matched against every template; one that matches none is
``unmatched``. Never the raw path: ids would make every volume a series.

``GET /metrics`` is answered here, before authentication (Prometheus scrapes without
credentials): the process's registry in the text format, collected in a worker thread (the
state gauges read the database). It is not timed.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import anyio.to_thread
from fastapi import routing as fastapi_routing
from prometheus_client import CollectorRegistry
from starlette.routing import BaseRoute, compile_path
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
        self.templates = RouteTemplates(routes)

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
            route = self.templates.of(scope)
            metrics.API_REQUEST_SECONDS.labels(method, route, str(status)).observe(
                time.perf_counter() - started
            )

    async def _scrape(self, send: Send, *, body: bool) -> None:
        text = await anyio.to_thread.run_sync(metrics.exposition, self.registry)
        headers = [
            (b"content-type", metrics.CONTENT_TYPE.encode()),
            (b"content-length", str(len(text)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": text if body else b""})


Template = tuple[re.Pattern[str], str]


class RouteTemplates:
    """The full path templates of an app's routes, by the route FastAPI chooses."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self._routes = routes
        self._lock = threading.Lock()
        self._by_route: dict[int, list[Template]] | None = None
        self._all: list[Template] = []

    def of(self, scope: Scope) -> str:
        """The template of the route that served (or would serve) the request."""
        by_route = self._by_route or self._build()
        chosen = scope.get("route")
        candidates = by_route.get(id(chosen), self._all) if chosen is not None else self._all
        path = scope["path"]
        return next((t for regex, t in candidates if regex.match(path)), UNMATCHED)

    def _build(self) -> dict[int, list[Template]]:
        # built at the first request: every route has been added by then
        with self._lock:
            if self._by_route is None:
                by_route: dict[int, list[Template]] = {}
                for original, template in _templates(self._routes):
                    entry = (compile_path(template)[0], template)
                    by_route.setdefault(id(original), []).append(entry)
                    self._all.append(entry)
                self._by_route = by_route
            return self._by_route


def _templates(routes: Sequence[BaseRoute]) -> Iterable[tuple[Any, str]]:
    """(the route FastAPI puts in ``scope["route"]``, its full template) for every route."""
    contexts = getattr(fastapi_routing, "iter_route_contexts", None)
    if contexts is None:  # FastAPI before nested routers: every route has its full path
        yield from ((r, r.path_format) for r in routes if hasattr(r, "path_format"))
        return
    for context in contexts(routes):
        if context.path_format:
            yield context.original_route, context.path_format
