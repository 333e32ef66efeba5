"""Health with the real services: ``/readyz`` and ``hearth status`` on PostgreSQL and RabbitMQ.

Both services are reached through TCP proxies the test starts and stops (``tests.proxy``),
so the database and the broker really go away -- refused connections, cut sockets -- and
come back on the same address. A backend directory goes away by being renamed, or
replaced by a file (root ignores permissions, so a chmod would prove nothing). Each time
``/readyz`` must answer 503 naming what failed, and 200 again once it is back.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from hearth.api import server
from hearth.context import RequestContext
from hearth.db import statuses, volumes
from hearth.db.session import Database
from hearth.service import wiring
from hearth.service.facade import Hearth
from tests.brokers import broker_problem
from tests.cli_runner import runner_for
from tests.conftest import make_settings, require
from tests.db_backends import fresh_postgres_database
from tests.proxy import TcpProxy
from tests.waiting import wait_until

RABBITMQ = ("127.0.0.1", 5672)
POSTGRES = ("127.0.0.1", 5432)
ADMIN = RequestContext(user_id="admin", project_id="admin", is_admin=True)


@dataclass
class Deployment:
    """Hearth serving every role and its API, on PostgreSQL and RabbitMQ through proxies."""

    hearth: Hearth
    url: str
    database: TcpProxy
    broker: TcpProxy
    backend_dir: Path
    config_file: Path

    def readiness(self) -> tuple[int, dict[str, dict[str, Any]]]:
        """The status of ``/readyz`` and its checks by name."""
        response = httpx.get(f"{self.url}/readyz", timeout=30)
        body = response.json()
        assert body["ready"] is (response.status_code == 200)
        return response.status_code, {check["name"]: check for check in body["checks"]}

    def becomes_ready(self) -> bool:
        return wait_until(lambda: self.readiness()[0] == 200, timeout=30)


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    problem = broker_problem("amqp://guest:guest@127.0.0.1:5672//")
    require(problem is None, problem or "")
    with fresh_postgres_database() as direct_url:
        database = TcpProxy(POSTGRES).start()
        broker = TcpProxy(RABBITMQ).start()
        url = sa.make_url(direct_url).set(port=database.port)
        values: dict[str, Any] = {
            "database": {"url": url.render_as_string(hide_password=False)},
            "bus": {
                "url": f"amqp://guest:guest@127.0.0.1:{broker.port}//",
                "namespace": f"test-{uuid.uuid4().hex[:10]}",
            },
            "backends": {"b1": {"directory": str(tmp_path / "b1")}},
            "scheduler": {"report_interval": 0.5},
            "api": {"port": 0},
        }
        config_file = tmp_path / "hearth.toml"
        config_file.write_text(_toml(values))
        migrated = Database(values["database"]["url"])
        migrated.upgrade()
        migrated.dispose()
        services = wiring.build(make_settings(tmp_path / "data", **values), roles=wiring.ALL_ROLES)
        try:
            services.start()
            hearth = Hearth(services, ADMIN)
            with server.Background(hearth) as api:
                yield Deployment(hearth, api.url, database, broker, tmp_path / "b1", config_file)
        finally:
            database.start()  # back, for a test that failed while they were away
            broker.start()
            services.stop()
            database.stop()
            broker.stop()


def test_readyz_is_ready_when_everything_answers_and_healthz_always_answers(
    deployment: Deployment,
) -> None:
    status, checks = deployment.readiness()

    assert status == 200
    assert set(checks) == {"database", "bus", "backend:b1", "relay"}
    assert all(check["ok"] for check in checks.values())
    assert checks["bus"]["detail"] == "broker reachable"
    assert httpx.get(f"{deployment.url}/healthz").json() == {"status": "alive"}


def test_readyz_names_the_database_while_it_is_away_and_is_ready_when_it_returns(
    deployment: Deployment,
) -> None:
    deployment.database.stop()

    status, checks = deployment.readiness()
    assert status == 503
    assert not checks["database"]["ok"]
    assert checks["database"]["detail"].startswith("Cannot connect to the database")
    assert checks["bus"]["ok"]  # only what failed is named
    assert httpx.get(f"{deployment.url}/healthz").status_code == 200

    deployment.database.start()
    assert deployment.becomes_ready()


def test_readyz_names_the_broker_while_it_is_away_and_is_ready_when_it_returns(
    deployment: Deployment,
) -> None:
    deployment.broker.stop()

    status, checks = deployment.readiness()
    assert status == 503
    assert not checks["bus"]["ok"]
    assert checks["bus"]["detail"].startswith("The message bus is unavailable")
    assert checks["database"]["ok"]

    deployment.broker.start()
    assert deployment.becomes_ready()
    created = deployment.hearth.create_volume(size=1)  # casts go through again
    assert created.status == statuses.VolumeStatus.AVAILABLE


@pytest.mark.parametrize("how", ["renamed", "replaced by a file"])
def test_readyz_names_a_backend_whose_directory_goes_away_and_is_ready_when_it_returns(
    deployment: Deployment, how: str
) -> None:
    moved = deployment.backend_dir.with_name("b1-elsewhere")
    deployment.backend_dir.rename(moved)
    if how == "replaced by a file":
        deployment.backend_dir.write_text("not a directory")

    status, checks = deployment.readiness()
    assert status == 503
    assert checks["backend:b1"] == {
        "name": "backend:b1",
        "ok": False,
        "detail": "The storage backend failed to find its volumes/ directory.",
    }
    assert checks["database"]["ok"] and checks["bus"]["ok"]

    if how == "replaced by a file":
        deployment.backend_dir.unlink()
    moved.rename(deployment.backend_dir)
    assert deployment.becomes_ready()
    assert list((deployment.backend_dir / "tmp").iterdir()) == []  # the probes leave nothing


def test_status_shows_the_deployment_and_names_the_database_when_it_is_away(
    deployment: Deployment, tmp_path: Path
) -> None:
    with deployment.hearth.services.db.transaction() as session:  # a create not yet placed
        waiting = volumes.create(
            session,
            project_id="p",
            user_id="u",
            size=1,
            status=statuses.VolumeStatus.CREATING,
            availability_zone="nova",
        )
    invoke = runner_for(tmp_path / "cli-data")

    shown = invoke("--config", str(deployment.config_file), "--format", "json", "status")

    assert shown.exit_code == 0, shown.output
    state = json.loads(shown.stdout)
    assert state["ready"] is True
    services = {(s["service"], s["host"]): s for s in state["services"]}
    assert services["volume", "b1"]["up"] is True
    assert services["volume", "b1"]["last_report_age_seconds"] < 30
    assert "1 creates wait to be placed" in services["scheduler", None]["detail"]
    (capacity,) = state["backends"]
    assert capacity["name"] == "b1" and capacity["total_bytes"] > 0
    assert capacity["claimed_bytes"] == 0  # the waiting create has no host, so no claim
    assert state["outbox"]["backlog"] >= 0
    assert [(c["status"], c["create_step"], c["count"]) for c in state["creates_in_flight"]] == [
        ("creating", None, 1)
    ]
    with deployment.hearth.services.db.transaction() as session:
        volumes.delete(session, waiting.id)

    deployment.database.stop()
    away = invoke("--config", str(deployment.config_file), "status")
    deployment.database.start()

    assert away.exit_code == 1
    assert "Deployment: NOT READY" in away.stdout
    database_line = next(line for line in away.stdout.splitlines() if line.startswith("database"))
    assert "False" in database_line and "Cannot connect to the database" in database_line


def _toml(values: dict[str, Any]) -> str:
    """The few settings above as a TOML file (tables of strings and numbers)."""
    lines = []
    for section, fields in values.items():
        lines.append(f"[{section}]")
        for key, value in fields.items():
            if isinstance(value, dict):
                continue
            lines.append(f"{key} = {json.dumps(value)}")
        for key, value in fields.items():
            if isinstance(value, dict):
                lines.append(f"[{section}.{key}]")
                lines += [f"{k} = {json.dumps(v)}" for k, v in value.items()]
    return "\n".join(lines) + "\n"
