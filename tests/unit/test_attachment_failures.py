"""Attachments whose export or unexport fails, and exports the manager takes up after a
lost message: a driver that records its exports and fails when told to."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hearth import config, errors
from hearth.db import attachments
from hearth.service.facade import Hearth
from hearth.volume.drivers import base
from tests.conftest import open_hearth
from tests.fakes import FakeDriver
from tests.waiting import wait_until


class ExportingDriver(FakeDriver):
    """The fake driver with a target: exports in a dict; ``refuse`` fails the next call."""

    def __init__(self) -> None:
        super().__init__()
        self.exported: dict[str, base.ExportRef] = {}
        self.refusals: dict[str, errors.HearthError] = {}

    def export(self, export: base.ExportRef) -> dict[str, Any]:
        if "export" in self.refusals:
            raise self.refusals.pop("export")
        self.exported[export.attachment_id] = export
        return {"driver_volume_type": "fake", "data": {"volume_id": export.volume.id}}

    def unexport(self, export: base.ExportRef) -> None:
        if "unexport" in self.refusals:
            raise self.refusals.pop("unexport")
        self.exported.pop(export.attachment_id, None)

    def exports(self) -> list[str] | None:
        return list(self.exported)


@pytest.fixture
def driver() -> ExportingDriver:
    return ExportingDriver()


@pytest.fixture
def hearth(settings: config.Settings, driver: ExportingDriver) -> Iterator[Hearth]:
    opened = open_hearth(settings, {"local": driver})
    yield opened
    opened.close()


def _events(hearth: Hearth) -> list[str]:
    memory = hearth.services.memory_notifications
    assert memory is not None
    return [n.event_type for n in memory.received() if "attach" in n.event_type]


def test_a_refused_export_leaves_error_attaching_a_message_and_an_error_event(
    hearth: Hearth, driver: ExportingDriver
) -> None:
    volume = hearth.create_volume(size=1)
    made = hearth.create_attachment(volume.id)
    driver.refusals["export"] = errors.ExportFailed(reason="tgtadm: can't find the target")

    with pytest.raises(errors.ExportFailed, match="can't find the target"):
        hearth.update_attachment(made.id, {"initiator": "iqn.2000-01.test:a"})

    failed = hearth.get_attachment(made.id)
    assert (failed.status, failed.connection_info) == ("error_attaching", None)
    assert hearth.get_volume(volume.id).status == "reserved"
    [message] = hearth.list_messages()
    assert message.message == (
        "Failed to attach volume: The target could not be configured: tgtadm: can't find the target"
    )
    expected = ["volume.attach.start", "volume.attach.error"]
    assert wait_until(lambda: _events(hearth) == expected, timeout=10), _events(hearth)

    again = hearth.update_attachment(made.id, {"initiator": "iqn.2000-01.test:a"})
    assert again.status == "attaching" and again.connection_info is not None


def test_a_refused_unexport_leaves_error_detaching_and_a_second_delete_finishes(
    hearth: Hearth, driver: ExportingDriver
) -> None:
    volume = hearth.create_volume(size=1)
    made = hearth.create_attachment(volume.id, connector={"initiator": "iqn.2000-01.test:a"})
    hearth.complete_attachment(made.id)
    driver.refusals["unexport"] = errors.ExportFailed(reason="tgtd did not answer in time")

    with pytest.raises(errors.ExportFailed):
        hearth.delete_attachment(made.id)

    assert hearth.get_attachment(made.id).status == "error_detaching"
    assert hearth.get_volume(volume.id).status == "in-use"  # still exported
    assert made.id in driver.exported
    assert hearth.delete_attachment(made.id) == []
    assert driver.exported == {}
    assert hearth.get_volume(volume.id).status == "available"


def test_an_export_whose_message_was_lost_is_made_by_the_next_reconciliation(
    hearth: Hearth, driver: ExportingDriver
) -> None:
    volume = hearth.create_volume(size=1)
    made = hearth.create_attachment(volume.id)
    with hearth.services.db.transaction() as session:  # the request's cast never arrived
        attachments.set_status(session, made.id, "attaching", connector={"host": "h"})

    hearth.services.managers["local"].reconcile()

    assert hearth.get_attachment(made.id).connection_info is not None
    assert made.id in driver.exported


def test_reconciliation_makes_lost_exports_again_and_removes_unknown_ones(
    hearth: Hearth, driver: ExportingDriver
) -> None:
    volume = hearth.create_volume(size=1)
    made = hearth.create_attachment(volume.id, connector={"initiator": "iqn.2000-01.test:a"})
    before = hearth.get_attachment(made.id).connection_info
    driver.exported.clear()  # the target restarted empty
    stranger = base.ExportRef("0a5b3c7e-0000-4000-8000-000000000000", base.VolumeRef("x", 1))
    driver.exported[stranger.attachment_id] = stranger

    done = hearth.services.managers["local"].reconcile()

    assert done["exports"] == 2
    assert set(driver.exported) == {made.id}
    assert driver.exported[made.id].connection_info == before
    assert hearth.get_attachment(made.id).connection_info == before


def test_the_audit_reports_an_attached_volume_whose_data_is_gone(
    hearth: Hearth, driver: ExportingDriver
) -> None:
    volume = hearth.create_volume(size=1)
    made = hearth.create_attachment(volume.id, connector={"host": "h"})
    hearth.complete_attachment(made.id)
    del driver.volumes[volume.id]

    [finding] = [f for f in hearth.audit() if f.resource_id == volume.id]

    assert finding.kind == "missing volume data"
    assert "'in-use'" in finding.detail
