"""Health checks one by one, the readiness of a process, ``/readyz`` and the deployment view of
``hearth status``, on SQLite with the fake driver (the real services: tests/functional)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import httpx

from hearth import config, errors
from hearth.api import server
from hearth.db import backends, models, statuses, summaries, volumes
from hearth.service import health, status
from hearth.service.facade import Hearth
from tests.fakes import FakeDriver

NOW = models.utcnow()
MINUTE = timedelta(minutes=1)


def by_name(checks: list[health.Check]) -> dict[str, health.Check]:
    return {check.name: check for check in checks}


def test_a_process_with_everything_answering_is_ready(hearth: Hearth) -> None:
    checks = health.readiness(hearth.services)

    assert [check.name for check in checks] == ["database", "bus", "backend:local", "relay"]
    assert all(check.ok for check in checks), checks
    assert health.as_data(checks)["ready"] is True


def test_a_backend_is_down_once_its_report_is_older_than_backend_down_after() -> None:
    fresh = health.backend("b", None, NOW - MINUTE / 2, known=True, down_after=MINUTE, now=NOW)
    stale = health.backend("b", None, NOW - 2 * MINUTE, known=True, down_after=MINUTE, now=NOW)
    never = health.backend("b", None, None, known=True, down_after=MINUTE, now=NOW)

    assert fresh.ok and fresh.detail == "reported 30.0 s ago"
    assert stale == health.Check("backend:b", False, "last report 120 s ago (down after 60 s)")
    assert never == health.Check("backend:b", False, "has never reported its capacity")


def test_a_failed_driver_check_is_the_backends_reason_and_an_unknown_report_is_not() -> None:
    broken = health.backend("b", "it broke", NOW, known=True, down_after=MINUTE, now=NOW)
    unknown = health.backend("b", None, None, known=False, down_after=MINUTE, now=NOW)

    assert broken == health.Check("backend:b", False, "it broke")
    assert unknown.ok  # the database check carries that failure


def test_the_relay_is_stalled_once_the_oldest_undelivered_entry_is_too_old() -> None:
    waiting = summaries.Backlog(3, NOW - 2 * MINUTE)

    assert health.relay(summaries.Backlog(0, None), now=NOW).ok
    assert health.relay(waiting, stalled_after=300, now=NOW).ok
    assert health.relay(waiting, stalled_after=60, now=NOW) == health.Check(
        "relay", False, "stalled: 3 undelivered notifications, the oldest 120 s old"
    )


def test_a_failing_driver_check_makes_the_process_not_ready_naming_the_os_reason(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    def refuse() -> None:
        try:
            raise OSError(30, "Read-only file system", "/secret/path")
        except OSError as exc:
            raise errors.from_os_error(exc, "write a file in its tmp/ directory") from exc

    fake_driver.check_health = refuse  # type: ignore[method-assign]

    checks = by_name(health.readiness(hearth.services))

    assert checks["backend:local"] == health.Check(
        "backend:local",
        False,
        "The storage backend failed to write a file in its tmp/ directory. (Read-only file system)",
    )
    assert "/secret/path" not in checks["backend:local"].detail  # probes are unauthenticated
    assert checks["database"].ok


def test_a_check_that_never_answers_fails_at_the_deadline_and_the_others_still_report(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    release = threading.Event()
    fake_driver.check_health = lambda: release.wait(30) and None  # type: ignore[method-assign]
    try:
        checks = by_name(health.readiness(hearth.services, timeout=0.3))
    finally:
        release.set()

    assert checks["backend:local"] == health.Check("backend:local", False, "no answer within 0.3 s")
    assert checks["database"].ok and checks["bus"].ok


def test_readyz_answers_503_with_every_check_and_healthz_200_while_a_backend_fails(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    with server.Background(hearth, config.ApiSettings(port=0)) as api:
        assert httpx.get(f"{api.url}/readyz").status_code == 200
        fake_driver.check_health = _raise_backend_error  # type: ignore[method-assign]
        answer = httpx.get(f"{api.url}/readyz")  # no token: probes are unauthenticated
        alive = httpx.get(f"{api.url}/healthz")

    assert answer.status_code == 503
    assert answer.json() == {
        "ready": False,
        "checks": [
            {"name": "database", "ok": True, "detail": "answers"},
            {"name": "bus", "ok": True, "detail": "in process (memory://)"},
            {
                "name": "backend:local",
                "ok": False,
                "detail": "The storage backend failed to probe it.",
            },
            {"name": "relay", "ok": True, "detail": "no undelivered notification"},
        ],
    }
    assert (alive.status_code, alive.json()) == (200, {"status": "alive"})


def _raise_backend_error() -> None:
    raise errors.BackendError(action="probe it", detail="/a/path")


def test_the_deployment_shows_services_capacity_outbox_and_creates_in_flight(
    hearth: Hearth,
) -> None:
    with hearth.services.db.transaction() as session:
        backends.report(
            session,
            "gone",
            driver="file",
            availability_zone="nova",
            clone_mode="copy",
            total_bytes=10 << 30,
            free_bytes=4 << 30,
            provisioned_bytes=3 << 30,
            capacity_limit_gb=10,
        )
        backends.get(session, "gone").reported_at = NOW - timedelta(hours=1)
        for step in (None, "scheduled", "scheduled"):
            row = volumes.create(
                session,
                project_id="p",
                user_id="u",
                size=1,
                status=statuses.VolumeStatus.CREATING,
                availability_zone="nova",
            )
            row.create_step = step

    state = status.deployment(hearth.services)

    json.dumps(state)  # plain data, all of it
    assert state["ready"] is False
    assert {c["name"]: c["ok"] for c in state["checks"]} == {
        "database": True,
        "bus": True,
        "backend:gone": False,
        "backend:local": True,
        "relay": True,
    }
    services = {(s["service"], s["host"]): s for s in state["services"]}
    assert services["volume", "local"]["up"] is True
    assert services["volume", "gone"]["up"] is False
    assert services["volume", "gone"]["last_report_age_seconds"] >= 3600
    assert "1 creates wait to be placed" in services["scheduler", None]["detail"]
    gone = next(row for row in state["backends"] if row["name"] == "gone")
    assert (gone["total_bytes"], gone["free_bytes"], gone["claimed_bytes"]) == (
        10 << 30,
        4 << 30,
        0,
    )
    assert state["outbox"] == {"backlog": 0, "oldest_age_seconds": None}
    assert [(c["status"], c["create_step"], c["count"]) for c in state["creates_in_flight"]] == [
        ("creating", None, 1),
        ("creating", "scheduled", 2),
    ]
