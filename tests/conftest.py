"""Fixtures shared by every test: settings on a temporary data directory, a Hearth with the
fake driver or the file driver, and the rule for tests that need real services."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth import config, notifications
from hearth.context import RequestContext
from hearth.service import wiring
from hearth.service.facade import Hearth
from tests.fakes import FakeDriver
from tests.waiting import wait_until

IN_CI = os.environ.get("CI") == "true"


def require(available: bool, reason: str) -> None:
    """Skip a test whose service is missing -- but fail it under CI=true."""
    if not available:
        if IN_CI:
            pytest.fail(f"{reason} (tests must not skip under CI=true)")
        pytest.skip(reason)


def make_settings(data_dir: Path, **overrides: object) -> config.Settings:
    """Settings on ``data_dir`` with in-memory notifications and no outside influence."""
    values: dict[str, object] = {"notifications": {"drivers": ["memory"]}, **overrides}
    return config.load(data_dir=data_dir, overrides=values, environ={})


@pytest.fixture
def settings(tmp_path: Path) -> config.Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def fake_driver() -> FakeDriver:
    return FakeDriver()


def open_hearth(settings: config.Settings, drivers: dict[str, object] | None = None) -> Hearth:
    """A started Hearth, with the given drivers replacing configured ones."""
    services = wiring.build(settings, drivers=drivers)  # type: ignore[arg-type]
    try:
        services.start()
    except BaseException:
        services.stop()
        raise
    admin = RequestContext(user_id="admin", project_id="admin", is_admin=True)
    return Hearth(services, admin)


@contextlib.contextmanager
def offline_hearth(data_dir: Path) -> Iterator[Hearth]:
    """A Hearth on a data directory that serves nothing and is not started: its database
    and backup repository, for a test to write rows and backups that a CLI command then
    finds (the command serves the backends itself)."""
    services = wiring.build(config.load(data_dir=data_dir, environ={}), roles=set())
    admin = RequestContext(user_id="admin", project_id="admin", is_admin=True)
    try:
        yield Hearth(services, admin)
    finally:
        services.stop()


@pytest.fixture
def hearth(settings: config.Settings, fake_driver: FakeDriver) -> Iterator[Hearth]:
    """Hearth on SQLite with the fake driver as its one backend, ``local``."""
    opened = open_hearth(settings, {"local": fake_driver})
    yield opened
    opened.close()


@pytest.fixture
def file_hearth(settings: config.Settings) -> Iterator[Hearth]:
    """Hearth on SQLite with the real file driver under the data directory."""
    opened = open_hearth(settings)
    yield opened
    opened.close()


class Sent:
    """Notifications delivered by a Hearth, read once its workers are done."""

    def __init__(self, hearth: Hearth) -> None:
        assert hearth.services.memory_notifications is not None
        self._memory = hearth.services.memory_notifications
        self._bus = hearth.services.bus

    def received(self, event_type: str | None = None) -> list[notifications.Notification]:
        # a worker delivers right after its commit, which a caller may see first
        assert wait_until(self._bus.idle, timeout=10)
        return self._memory.received(event_type)

    def clear(self) -> None:
        assert wait_until(self._bus.idle, timeout=10)
        self._memory.clear()


@pytest.fixture
def sent(hearth: Hearth) -> Sent:
    """Notifications delivered by ``hearth``."""
    return Sent(hearth)


@pytest.fixture
def project_a() -> RequestContext:
    return RequestContext(user_id="alice", project_id="project-a")


@pytest.fixture
def project_b() -> RequestContext:
    return RequestContext(user_id="bob", project_id="project-b")
