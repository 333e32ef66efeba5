"""Hearth as a deployment: one scheduler and three volume managers, each its own process,
on PostgreSQL and a real broker (RabbitMQ, Redis) -- and the same story in one process on
the memory:// bus.

The story: creates spread over the backends; one manager is killed (SIGKILL) while idle;
once the scheduler sees it silent, new creates succeed on the others; work cast to it while
it is down waits in its queue and is done when it comes back.
"""

from __future__ import annotations

import abc
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hearth import bus as message_bus
from hearth import config, errors
from hearth.context import RequestContext
from hearth.db import backends, models
from hearth.db.rows import Page
from hearth.db.session import Database
from hearth.service import wiring
from hearth.service.facade import Hearth
from tests.brokers import broker_problem
from tests.conftest import require
from tests.db_backends import fresh_postgres_database
from tests.waiting import wait_until

BACKENDS = ("b1", "b2", "b3")
DOWN_AFTER = 2.0
ADMIN = RequestContext(user_id="admin", project_id="admin", is_admin=True)


def settings_for(tmp_path: Path, database_url: str, bus_url: str) -> dict[str, Any]:
    return {
        "database": {"url": database_url},
        "bus": {"url": bus_url, "namespace": f"test-{uuid.uuid4().hex[:10]}"},
        "backends": {name: {"directory": str(tmp_path / name)} for name in BACKENDS},
        "scheduler": {"report_interval": 0.5, "backend_down_after": DOWN_AFTER},
        "notifications": {"drivers": []},
    }


class Cluster(abc.ABC):
    """A scheduler and one manager per backend, and a client facade that serves nothing."""

    client: Hearth

    @abc.abstractmethod
    def kill(self, backend: str) -> None:
        """Stop a backend's manager the hard way."""

    @abc.abstractmethod
    def restart(self, backend: str) -> None:
        """Start a backend's manager again."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop everything."""

    def wait_reported(self, names: tuple[str, ...], timeout: float = 60) -> None:
        def fresh() -> bool:
            with self.client.services.db.transaction() as session:
                rows = {row.name: row for row in backends.find_all(session)}
            recent = models.utcnow() - timedelta(seconds=DOWN_AFTER / 2)
            return all(
                name in rows and (rows[name].reported_at or recent) > recent for name in names
            )

        assert wait_until(fresh, timeout), f"backends {names} did not report"


class ProcessCluster(Cluster):
    """Each part a `python -m hearth serve` process."""

    def __init__(self, tmp_path: Path, values: dict[str, Any]) -> None:
        self.tmp_path = tmp_path
        self.config_file = tmp_path / "hearth.toml"
        self.config_file.write_text(_toml(values))
        settings = config.load(config_file=self.config_file, data_dir=tmp_path, environ={})
        upgrade(settings.database_url)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.start("scheduler", "--role", "scheduler")
        for name in BACKENDS:
            self.restart(name)
        self.client = Hearth.open(settings=settings, context=ADMIN, serve=False)

    def start(self, key: str, *args: str) -> None:
        log = (self.tmp_path / f"{key}.log").open("ab")
        command = [sys.executable, "-m", "hearth", "--config", str(self.config_file)]
        self.processes[key] = subprocess.Popen(
            [*command, "--data-dir", str(self.tmp_path), "serve", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        log.close()

    def kill(self, backend: str) -> None:
        process = self.processes.pop(backend)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def restart(self, backend: str) -> None:
        self.start(backend, "--role", "volume", "--backend", backend)

    def close(self) -> None:
        self.client.close()
        for process in self.processes.values():
            process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class InProcessCluster(Cluster):
    """Every part in this process, on one memory:// bus."""

    def __init__(self, tmp_path: Path, values: dict[str, Any]) -> None:
        self.settings = config.load(data_dir=tmp_path, overrides=values, environ={})
        self.bus = message_bus.Bus("memory://", workers=4)
        self.parts: dict[str, wiring.Services] = {}
        self._start("scheduler", roles={"scheduler"})
        for name in BACKENDS:
            self.restart(name)
        self.client = Hearth(self._build(roles=set()), ADMIN)

    def _build(self, **kwargs: Any) -> wiring.Services:
        services = wiring.build(self.settings, bus=self.bus, **kwargs)
        services.start()
        return services

    def _start(self, key: str, **kwargs: Any) -> None:
        self.parts[key] = self._build(**kwargs)

    def kill(self, backend: str) -> None:
        self.parts.pop(backend).stop()

    def restart(self, backend: str) -> None:
        self._start(backend, roles={"volume"}, backends=[backend])

    def close(self) -> None:
        for part in self.parts.values():
            part.stop()
        self.client.close()
        self.bus.close()


@pytest.fixture(
    params=[
        pytest.param("amqp://guest:guest@127.0.0.1:5672//", id="rabbitmq"),
        pytest.param("redis://127.0.0.1:6379/0", id="redis"),
        pytest.param("memory://", id="memory-one-process"),
    ]
)
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    url: str = request.param
    if url.startswith("memory:"):
        values = settings_for(tmp_path, f"sqlite:///{tmp_path / 'hearth.db'}", url)
        built: Cluster = InProcessCluster(tmp_path, values)
        yield from _closing(built)
        return
    problem = broker_problem(url)
    require(problem is None, problem or "")
    with fresh_postgres_database() as database_url:
        yield from _closing(ProcessCluster(tmp_path, settings_for(tmp_path, database_url, url)))


def _closing(cluster: Cluster) -> Iterator[Cluster]:
    try:
        cluster.wait_reported(BACKENDS)
        yield cluster
    finally:
        cluster.close()


def test_a_killed_manager_is_avoided_and_does_its_queued_work_when_it_returns(
    cluster: Cluster, tmp_path: Path
) -> None:
    client = cluster.client
    first = [client.create_volume(size=1) for _ in range(6)]
    assert {v.status for v in first} == {"available"}
    assert {v.host for v in first} == set(BACKENDS)  # spread by free capacity
    for volume in first:
        assert (tmp_path / str(volume.host) / "volumes" / f"volume-{volume.id}").is_file()

    cluster.kill("b2")
    on_b2 = next(v for v in first if v.host == "b2")
    client.delete_volume(on_b2.id, wait=False)  # waits in b2's queue
    assert wait_until(lambda: silent(client, "b2"), timeout=30)

    later = [client.create_volume(size=1) for _ in range(4)]
    assert {v.status for v in later} == {"available"}
    assert {v.host for v in later} <= {"b1", "b3"}
    assert client.get_volume(on_b2.id).status == "deleting"

    cluster.restart("b2")

    def deleted() -> bool:
        try:
            client.get_volume(on_b2.id)
        except errors.VolumeNotFound:
            return True
        return False

    assert wait_until(deleted, timeout=60)
    assert not (tmp_path / "b2" / "volumes" / f"volume-{on_b2.id}").exists()
    cluster.wait_reported(("b2",))
    with client.services.db.transaction() as session:
        claims = {row.name: row.allocated_capacity_gb for row in backends.find_all(session)}
        recounts = {name: backends.recount_allocated(session, name) for name in claims}
    assert claims == recounts
    assert sum(claims.values()) == 9


def silent(client: Hearth, backend: str) -> bool:
    with client.services.db.transaction() as session:
        reported = backends.get(session, backend).reported_at
    return reported is not None and models.utcnow() - reported > timedelta(seconds=DOWN_AFTER)


def upgrade(url: str) -> None:
    database = Database(url)
    try:
        database.upgrade()
    finally:
        database.dispose()


def _toml(values: dict[str, Any], prefix: str = "") -> str:
    scalars = []
    tables = []
    for key, value in values.items():
        if isinstance(value, dict):
            tables.append(_toml(value, f"{prefix}{key}."))
        else:
            scalars.append(f"{key} = {_literal(value)}")
    header = f"[{prefix[:-1]}]\n" if prefix and scalars else ""
    return header + "".join(f"{line}\n" for line in scalars) + "".join(tables)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_attachments_are_exported_by_the_volumes_manager_and_a_detach_waits_for_it(
    cluster: Cluster,
) -> None:
    client = cluster.client
    volume = client.create_volume(size=1)
    assert volume.host is not None

    made = client.create_attachment(volume.id, connector={"host": "compute-1"})

    assert made.connection_info is not None
    assert made.connection_info["driver_volume_type"] == "local"
    assert made.connection_info["data"]["device_path"].endswith(f"volume-{volume.id}")
    client.complete_attachment(made.id)
    assert client.get_volume(volume.id).status == "in-use"
    cluster.kill(volume.host)
    with pytest.raises(errors.WaitTimedOut, match="detaching"):
        client.delete_attachment(made.id, timeout=1)  # its unexport waits in the queue
    assert client.get_attachment(made.id).status == "detaching"
    cluster.restart(volume.host)
    assert wait_until(lambda: client.get_volume(volume.id).status == "available", timeout=60)
    assert client.list_attachments_page(Page(sort=(("id", False),))) == []
