"""Waits are bounded: ``wait=True`` gives up after its timeout (a parameter, by default the
``[service] wait_timeout_seconds`` setting) with WaitTimedOut naming the row, its status and
what it waits for -- the scheduler, or a backend not seen lately -- and the work goes on."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from hearth import config, errors
from hearth.context import RequestContext
from hearth.db import backends, models, volumes
from hearth.service import wiring
from hearth.service.facade import Hearth
from tests.conftest import make_settings, open_hearth
from tests.fakes import FakeDriver
from tests.waiting import wait_until

ADMIN = RequestContext(user_id="admin", project_id="admin", is_admin=True)


@pytest.fixture
def settings(tmp_path: Path) -> config.Settings:
    return make_settings(tmp_path / "data", scheduler={"backend_down_after": 30.0})


def serving_nothing(settings: config.Settings, driver: FakeDriver) -> Hearth:
    """A facade whose casts wait in the in-process bus: no scheduler, no manager runs."""
    services = wiring.build(settings, roles=(), drivers={"local": driver})
    services.start()
    return Hearth(services, ADMIN)


@pytest.fixture
def unserved(settings: config.Settings, fake_driver: FakeDriver) -> Iterator[Hearth]:
    opened = serving_nothing(settings, fake_driver)
    yield opened
    opened.close()


def test_a_create_nobody_places_gives_up_after_its_timeout_waiting_for_the_scheduler(
    unserved: Hearth,
) -> None:
    with pytest.raises(errors.WaitTimedOut) as caught:
        unserved.create_volume(size=1, name="stuck", timeout=0.3)

    [volume] = unserved.list_volumes(name="stuck")
    assert caught.value.user_message == (
        f"Gave up after 0.3 s waiting for volume {volume.id}, still 'creating' (waiting for "
        "the scheduler); the work goes on: show the volume later."
    )
    assert volume.status == "creating"  # only the wait ended
    assert str(unserved.waiting_for("volume", volume.id)) == "waiting for the scheduler"


def test_the_timeout_defaults_to_the_wait_timeout_setting(
    tmp_path: Path, fake_driver: FakeDriver
) -> None:
    settings = make_settings(tmp_path / "data", service={"wait_timeout_seconds": 0.2})
    hearth = serving_nothing(settings, fake_driver)
    try:
        with pytest.raises(errors.WaitTimedOut, match=r"after 0\.2 s"):
            hearth.create_volume(size=1)
    finally:
        hearth.close()


@pytest.fixture
def on_a_silent_backend(settings: config.Settings, fake_driver: FakeDriver) -> Made:
    """A volume, its snapshot and a volume with none, made while backend ``local`` ran; the
    backend then stopped, its last report 40 s ago."""
    hearth = open_hearth(settings, {"local": fake_driver})
    try:
        volume = hearth.create_volume(size=1)
        snapshot = hearth.create_snapshot(volume.id)
        bare = hearth.create_volume(size=1)
    finally:
        hearth.close()
    age_reports(hearth, seconds=40)
    return Made(volume.id, snapshot.id, bare.id)


@dataclass(frozen=True)
class Made:
    volume: str
    snapshot: str
    bare: str


def age_reports(hearth: Hearth, seconds: float) -> None:
    with hearth.services.db.transaction() as session:
        backends.get(session, "local").reported_at = models.utcnow() - timedelta(seconds=seconds)


OPERATIONS: dict[str, Callable[[Hearth, Made], object]] = {
    "delete volume": lambda hearth, made: hearth.delete_volume(made.bare, timeout=0.3),
    "extend": lambda hearth, made: hearth.extend_volume(made.volume, 2, timeout=0.3),
    "snapshot": lambda hearth, made: hearth.create_snapshot(made.volume, timeout=0.3),
    "delete snapshot": lambda hearth, made: hearth.delete_snapshot(made.snapshot, timeout=0.3),
}


@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS.keys())
def test_every_wait_on_a_silent_backend_gives_up_naming_the_backend_and_when_it_was_seen(
    on_a_silent_backend: Made,
    unserved: Hearth,
    operation: Callable[[Hearth, Made], object],
) -> None:
    with pytest.raises(errors.WaitTimedOut) as caught:
        operation(unserved, on_a_silent_backend)

    text = caught.value.user_message
    assert re.search(
        r"still '(deleting|extending|creating)' \(waiting for backend local, "
        r"last seen 4\d s ago\); the work goes on",
        text,
    ), text
    assert caught.value.code == "wait_timed_out"


def test_a_timed_out_delete_is_finished_by_the_backend_when_it_is_back(
    settings: config.Settings,
    fake_driver: FakeDriver,
    on_a_silent_backend: Made,
    unserved: Hearth,
) -> None:
    volume_id = on_a_silent_backend.volume
    with pytest.raises(errors.WaitTimedOut):
        unserved.delete_snapshot(on_a_silent_backend.snapshot, timeout=0.2)

    back = open_hearth(settings, {"local": fake_driver})  # takes up the unfinished delete
    try:
        assert wait_until(lambda: back.list_snapshots() == [], timeout=10)
        assert back.waiting_for("volume", volume_id) is None  # it reports again
        back.delete_volume(volume_id, timeout=10)
        with back.services.db.read() as session:
            assert volumes.find(session, volume_id) is None
    finally:
        back.close()


def test_a_live_backend_is_not_what_a_wait_is_waiting_for(hearth: Hearth) -> None:
    volume = hearth.create_volume(size=1, timeout=10)

    assert hearth.waiting_for("volume", volume.id) is None
    assert hearth.waiting_for("snapshot", "no-such-snapshot") is None
