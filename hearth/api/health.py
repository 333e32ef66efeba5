"""Probes: ``GET /healthz`` (the process answers) and ``GET /readyz`` (it can work now).

Beside the Block Storage routes, unauthenticated (probes carry no token; the middleware
lets both through and logs them at DEBUG). ``/healthz`` is 200 whenever the process
answers. ``/readyz`` runs ``service.health.readiness`` in a worker thread and answers 200
when every check passes, else 503, with the checks either way (neither is in the OpenAPI
description: they are for operators, not API clients)::

    {"ready": false, "checks": [{"name": "database", "ok": false, "detail": "..."}, ...]}

A change of readiness is logged once, as a warning naming what failed.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from hearth.service import health

LOG = logging.getLogger(__name__)
router = APIRouter(tags=["health"], include_in_schema=False)  # operations, not the API


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive (200 whenever it answers)."""
    return {"status": "alive"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """200 when this process can work (database, bus, its backends, the relay), else 503;
    the body lists every check and what failed."""
    hearth = request.app.state.hearth
    if hearth is None:  # the app that only describes the API
        checks = [health.Check("hearth", False, "no Hearth behind this app")]
    else:
        checks = await anyio.to_thread.run_sync(health.readiness, hearth.services)
    document = health.as_data(checks)
    _log_change(request.app.state, document)
    return JSONResponse(document, status_code=200 if document["ready"] else 503)


_last_lock = threading.Lock()


def _log_change(state: Any, document: dict[str, Any]) -> None:
    """Log when readiness changes (not on every probe): what failed, or that it is back."""
    with _last_lock:
        before = getattr(state, "ready", None)
        state.ready = document["ready"]
    if before == document["ready"] or (before is None and document["ready"]):
        return  # unchanged, or ready from the first probe on
    if document["ready"]:
        LOG.warning("ready again")
    else:
        failed = "; ".join(
            f"{check['name']}: {check['detail']}" for check in document["checks"] if not check["ok"]
        )
        LOG.warning("not ready: %s", failed, extra={"failed": failed})
