"""A delete during a create is refused (409) at every point of the create, and works once
the create has ended: never a deleted row whose data stays, nor data without a row."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth import errors
from hearth.db import statuses, volumes
from hearth.service.facade import Hearth
from hearth.volume.drivers import base
from tests.conftest import make_settings, open_hearth
from tests.fakes import FakeDriver
from tests.waiting import wait_until


class GatedDriver(FakeDriver):
    """Creates wait at a gate until the test opens it."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.gate = threading.Event()

    def create_volume(self, volume: base.VolumeRef) -> base.ModelUpdate | None:
        self.entered.set()
        assert self.gate.wait(10)
        return super().create_volume(volume)


@pytest.fixture
def driver() -> GatedDriver:
    return GatedDriver()


@pytest.fixture
def hearth(tmp_path: Path, driver: GatedDriver) -> Iterator[Hearth]:
    opened = open_hearth(make_settings(tmp_path / "data"), {"local": driver})
    yield opened
    driver.gate.set()
    opened.close()


def refused(hearth: Hearth, volume_id: str) -> errors.HearthError:
    with pytest.raises(errors.InvalidStatus) as caught:
        hearth.delete_volume(volume_id)
    assert caught.value.status == 409
    return caught.value


def consistent(hearth: Hearth, driver: FakeDriver) -> None:
    """Every row that should hold data does; every datum has a row."""
    with hearth.services.db.read() as session:
        rows = {v.id: v for v in volumes.find_all(session)}
    assert set(driver.volumes) <= set(rows)
    for volume_id, volume in rows.items():
        if volume.status == statuses.VolumeStatus.AVAILABLE:
            assert volume_id in driver.volumes


def test_a_delete_before_the_volume_is_placed_is_refused(
    hearth: Hearth, driver: GatedDriver
) -> None:
    with hearth.services.db.transaction() as session:
        waiting = volumes.create(
            session,
            project_id="admin",
            user_id="admin",
            size=1,
            status="creating",
            availability_zone="nova",
        )
    error = refused(hearth, waiting.id)
    assert error.user_message == (f"Cannot delete volume {waiting.id}: its status is 'creating'.")
    assert hearth.get_volume(waiting.id).status == "creating"


def test_a_delete_while_the_backend_makes_the_volume_is_refused_then_works(
    hearth: Hearth, driver: GatedDriver
) -> None:
    volume = hearth.create_volume(size=1, wait=False)
    assert driver.entered.wait(10)  # the create is inside the driver now

    refused(hearth, volume.id)
    row = hearth.get_volume(volume.id)
    assert (row.status, row.host) == ("creating", "local")

    driver.gate.set()
    assert wait_until(lambda: hearth.get_volume(volume.id).status == "available", 10)
    consistent(hearth, driver)
    hearth.delete_volume(volume.id)
    with pytest.raises(errors.VolumeNotFound):
        hearth.get_volume(volume.id)
    assert volume.id not in driver.volumes
    consistent(hearth, driver)


@pytest.mark.parametrize("status", ["creating", "downloading"])
def test_a_delete_of_a_placed_create_in_any_create_status_is_refused(
    hearth: Hearth, driver: GatedDriver, status: str
) -> None:
    driver.gate.set()
    volume = hearth.create_volume(size=1)
    with hearth.services.db.transaction() as session:
        volumes.set_status(session, volume.id, status)

    refused(hearth, volume.id)

    assert hearth.get_volume(volume.id).status == status
    assert volume.id in driver.volumes


def test_a_failed_create_can_be_deleted_and_leaves_nothing(
    hearth: Hearth, driver: GatedDriver
) -> None:
    driver.gate.set()
    driver.fail("create_volume", errors.Invalid(reason="refused"), after=True)
    failed = hearth.create_volume(size=1)
    assert failed.status == "error"

    hearth.delete_volume(failed.id)

    assert hearth.list_volumes() == []
    assert driver.volumes == {}
