"""Health checks: is this process able to do its work now, and what is failing if not.

Beside the data path, reading it: ``/readyz`` (``hearth.api.health``) asks
:func:`readiness` for this process, ``hearth status`` (``hearth.service.status``) asks the
same checks of the whole deployment, and a dashboard may show :func:`as_data`. Each check
is a small function returning a frozen :class:`Check` (name, ok, detail):

- ``database``: ``SELECT 1`` in a short read;
- ``bus``: a fresh connection to the broker, with the bus's bounded waits (``memory://``,
  in this process, is always up);
- ``backend:<name>``, one per backend this process serves: the driver's
  ``check_health`` (the file driver: its directories exist and take a file) and its last
  capacity report fresh (``reported_at`` within ``[scheduler] backend_down_after``);
- ``relay``: the oldest undelivered notification younger than ``RELAY_STALLED_AFTER``.

Checks run at once, each in a thread of its own, and a check that has not answered within
``CHECK_TIMEOUT`` seconds fails (a database that accepts connections but never answers must
not hold a probe). A check never raises: any error is a failed check, its detail the error's
user message plus the cause's own words where those hold no path.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from hearth import errors
from hearth.bus import broker
from hearth.db import backends, models, summaries
from hearth.db.session import Database
from hearth.service import wiring
from hearth.volume.drivers import base

LOG = logging.getLogger(__name__)
CHECK_TIMEOUT = 5.0
"""Seconds every check together may take before those still running fail."""
RELAY_STALLED_AFTER = 60.0
"""Seconds the oldest undelivered notification may wait before the relay counts as
stalled (deliveries are marked in batches about every second; a failing driver is retried
with backoff up to 30 s)."""
T = TypeVar("T")


@dataclass(frozen=True)
class Check:
    """The outcome of one check: ``detail`` says what failed (or what was found)."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class Reading:
    """What one short read of the database found, for the checks that need rows."""

    backends: Mapping[str, datetime | None]
    """Every backend that ever reported: when it last did."""
    backlog: summaries.Backlog


def readiness(
    services: wiring.Services,
    *,
    timeout: float = CHECK_TIMEOUT,
    relay_stalled_after: float = RELAY_STALLED_AFTER,
) -> list[Check]:
    """The checks of this process: database, bus, each backend it serves, relay."""
    drivers = {name: manager.driver for name, manager in services.managers.items()}
    return run_checks(
        services,
        drivers=drivers,
        reported=drivers,
        timeout=timeout,
        relay_stalled_after=relay_stalled_after,
    )


def run_checks(
    services: wiring.Services,
    *,
    drivers: Mapping[str, base.VolumeDriver],
    reported: Collection[str] | None,
    timeout: float = CHECK_TIMEOUT,
    relay_stalled_after: float = RELAY_STALLED_AFTER,
) -> list[Check]:
    """Database, bus, ``backend:<name>`` for each of ``reported`` (None: every backend
    configured or on record) -- with the driver's own check for those in ``drivers`` --
    and the relay, all at once within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    reading = _start("database", lambda: read(services.db))
    reachable = _start("bus", lambda: bus(services.bus.url, in_process=services.bus.in_process))
    probes = {name: _start(f"backend-{name}", d.check_health) for name, d in drivers.items()}
    found, failure = _wait(reading, deadline, timeout)
    bus_detail, bus_failure = _wait(reachable, deadline, timeout)
    checks = [
        Check("database", found is not None, failure or "answers"),
        Check("bus", bus_failure is None, bus_failure or bus_detail or ""),
    ]
    down_after = timedelta(seconds=services.settings.scheduler.backend_down_after)
    known = {*services.settings.backends, *(found.backends if found else ())}
    for name in sorted(known if reported is None else reported):
        broken = _wait(probes[name], deadline, timeout)[1] if name in probes else None
        checks.append(
            backend(
                name,
                broken,
                None if found is None else found.backends.get(name),
                known=found is not None,
                down_after=down_after,
            )
        )
    checks.append(relay(found.backlog if found else None, stalled_after=relay_stalled_after))
    return checks


def read(db: Database) -> Reading:
    """``SELECT 1``, the backends' report times and the outbox backlog, in one short read."""
    with db.read() as session:
        summaries.ping(session)
        reports = {row.name: row.reported_at for row in backends.find_all(session)}
        return Reading(reports, summaries.outbox_backlog(session))


def bus(url: str, *, in_process: bool) -> str:
    """What is reachable: the broker takes a connection (``memory://`` is this process:
    always up); raises BusUnavailable."""
    if in_process:
        return "in process (memory://)"
    broker.check_connection(url)
    return "broker reachable"


def backend(
    name: str,
    broken: str | None,
    reported_at: datetime | None,
    *,
    known: bool,
    down_after: timedelta,
    now: datetime | None = None,
) -> Check:
    """A backend: its driver's check passed (``broken`` says why not) and its last report
    is fresh. With the database unreachable (``known`` False), the report is not held
    against it: the database check fails already."""
    check_name = f"backend:{name}"
    if broken is not None:
        return Check(check_name, False, broken)
    if not known:
        return Check(check_name, True, "report age unknown (database unreachable)")
    if reported_at is None:
        return Check(check_name, False, "has never reported its capacity")
    age = ((now or models.utcnow()) - reported_at).total_seconds()
    if age > down_after.total_seconds():
        limit = down_after.total_seconds()
        return Check(check_name, False, f"last report {age:.0f} s ago (down after {limit:g} s)")
    return Check(check_name, True, f"reported {age:.1f} s ago")


def relay(
    backlog: summaries.Backlog | None,
    *,
    stalled_after: float = RELAY_STALLED_AFTER,
    now: datetime | None = None,
) -> Check:
    """Notifications are delivered: none waits longer than ``stalled_after`` seconds."""
    if backlog is None:
        return Check("relay", True, "backlog unknown (database unreachable)")
    if backlog.oldest is None:
        return Check("relay", True, "no undelivered notification")
    age = ((now or models.utcnow()) - backlog.oldest).total_seconds()
    if age > stalled_after:
        return Check(
            "relay",
            False,
            f"stalled: {backlog.count} undelivered notifications, the oldest {age:.0f} s old",
        )
    return Check("relay", True, f"{backlog.count} undelivered, the oldest {age:.1f} s old")


def as_data(checks: Iterable[Check]) -> dict[str, Any]:
    """Checks as plain JSON-ready data: ``{"ready": bool, "checks": [{name, ok, detail}]}``."""
    listed = [asdict(check) for check in checks]
    return {"ready": all(check["ok"] for check in listed), "checks": listed}


def reason(exc: BaseException) -> str:
    """What a failed check reports of its error: the user message, and the cause's words."""
    if not isinstance(exc, errors.HearthError):
        return f"unexpected error: {type(exc).__name__}"
    cause = exc.__cause__
    if isinstance(cause, OSError) and cause.strerror:
        return f"{exc.user_message} ({cause.strerror})"
    if exc.detail and not isinstance(exc, errors.BackendError):  # may hold a path
        return f"{exc.user_message} ({exc.detail.strip().splitlines()[0]})"
    return exc.user_message


def _start(name: str, work: Callable[[], T]) -> Future[T]:
    """Run ``work`` in a daemon thread (one that never answers must not keep the process
    from exiting); its future holds the outcome."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:  # the check reports it
            future.set_exception(exc)

    threading.Thread(target=run, name=f"health-{name}", daemon=True).start()
    return future


def _wait(future: Future[T], deadline: float, timeout: float) -> tuple[T, None] | tuple[None, str]:
    """The work's value, or None and why it failed (an error, or no answer in time)."""
    try:
        return future.result(timeout=max(0.0, deadline - time.monotonic())), None
    except TimeoutError:
        return None, f"no answer within {timeout:g} s"
    except Exception as exc:  # a failing check is a failed check, whatever failed
        if not isinstance(exc, errors.HearthError):
            LOG.warning("a health check failed unexpectedly", exc_info=exc)
        return None, reason(exc)
