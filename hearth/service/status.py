"""The state of a whole deployment, read from the shared database: ``hearth status``.

Beside the data path, reading only. It runs the checks of ``health`` for the deployment
(database, bus, every backend configured or on record by its reports, the relay by the
outbox) and adds what an operator looks at next: each service with its last report (volume
managers heartbeat through their capacity reports; schedulers record nothing, so what is
known of them is the creates waiting to be placed), each backend's capacity, the outbox
backlog and the creates in flight by status and journal step. :func:`deployment` returns it
all as plain JSON-ready data (a dashboard may show the same).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hearth import errors
from hearth.db import backends, models, summaries
from hearth.db.session import Database
from hearth.service import health, wiring

GiB = 1 << 30


def deployment(services: wiring.Services, *, now: datetime | None = None) -> dict[str, Any]:
    """Checks, services, capacity, outbox and creates in flight, as plain data. When the
    rows cannot be read (the database is away) services are unknown (``up`` None), lists
    empty and counts None; the database check says why."""
    checks = health.run_checks(services, drivers={}, reported=None)
    moment = now or models.utcnow()
    try:
        rows, backlog, creates = _read(services.db)
    except errors.HearthError:
        return {**health.as_data(checks), **_unknown(services)}
    down_after = timedelta(seconds=services.settings.scheduler.backend_down_after)
    return {
        **health.as_data(checks),
        "services": [
            *(_manager(row, moment, down_after) for row in rows),
            *_silent_managers(services, rows),
            _scheduler(creates, moment),
        ],
        "backends": [_capacity(row) for row in rows],
        "outbox": {"backlog": backlog.count, "oldest_age_seconds": _age(backlog.oldest, moment)},
        "creates_in_flight": [
            {
                "status": group.status,
                "create_step": group.create_step,
                "count": group.count,
                "oldest_age_seconds": _age(group.oldest, moment),
            }
            for group in creates
        ],
    }


def _unknown(services: wiring.Services) -> dict[str, Any]:
    """What is shown when the rows cannot be read: the services by name, all unknown."""
    unknown = {"up": None, "last_report_age_seconds": None, "detail": "unknown (database away)"}
    return {
        "services": [
            *(
                {"service": "volume", "host": name, **unknown}
                for name in services.settings.backends
            ),
            {"service": "scheduler", "host": None, **unknown},
        ],
        "backends": [],
        "outbox": {"backlog": None, "oldest_age_seconds": None},
        "creates_in_flight": [],
    }


def _read(
    db: Database,
) -> tuple[list[models.Backend], summaries.Backlog, list[summaries.CreatesAt]]:
    with db.read() as session:
        return (
            list(backends.find_all(session)),
            summaries.outbox_backlog(session),
            summaries.creates_in_flight(session),
        )


def _manager(row: models.Backend, now: datetime, down_after: timedelta) -> dict[str, Any]:
    age = _age(row.reported_at, now)
    up = age is not None and age <= down_after.total_seconds()
    return {
        "service": "volume",
        "host": row.name,
        "up": up,
        "last_report_age_seconds": age,
        "detail": "reporting" if up else f"silent for more than {down_after.total_seconds():g} s",
    }


def _silent_managers(services: wiring.Services, rows: list[models.Backend]) -> list[dict[str, Any]]:
    """Configured backends with no row: never served, or the database is away."""
    recorded = {row.name for row in rows}
    return [
        {
            "service": "volume",
            "host": name,
            "up": False,
            "last_report_age_seconds": None,
            "detail": "no report on record",
        }
        for name in sorted(services.settings.backends)
        if name not in recorded
    ]


def _scheduler(creates: list[summaries.CreatesAt], now: datetime) -> dict[str, Any]:
    waiting = [group for group in creates if group.create_step is None]
    count = sum(group.count for group in waiting)
    oldest = _age(min((group.oldest for group in waiting), default=None), now)
    detail = "schedulers record no heartbeat; "
    detail += (
        f"{count} creates wait to be placed, the oldest {oldest:.0f} s"
        if oldest is not None
        else "no create waits to be placed"
    )
    return {
        "service": "scheduler",
        "host": None,
        "up": None,
        "last_report_age_seconds": None,
        "detail": detail,
    }


def _capacity(row: models.Backend) -> dict[str, Any]:
    return {
        "name": row.name,
        "total_bytes": row.total_bytes,
        "free_bytes": row.free_bytes,
        "provisioned_bytes": row.provisioned_bytes,
        "claimed_bytes": row.allocated_capacity_gb * GiB,
        "capacity_limit_gb": row.capacity_limit_gb,
        "reported_at": row.reported_at.isoformat() if row.reported_at else None,
    }


def _age(when: datetime | None, now: datetime) -> float | None:
    return None if when is None else round(max(0.0, (now - when).total_seconds()), 1)
