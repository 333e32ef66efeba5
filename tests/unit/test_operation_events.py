"""Every operation a volume manager carries out reports ``.start``, then ``.end`` when it
succeeds or ``.error`` when it fails (the table in ``hearth.notifications.events``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from hearth import errors, notifications
from hearth.db import volumes
from hearth.notifications import events
from hearth.service.facade import Hearth
from tests.fakes import FakeDriver

BROKEN = errors.BackendError(action="do it")


@dataclass(frozen=True)
class Case:
    """One operation: how to run it on a fresh volume, the driver call it makes, and the
    status a failure leaves."""

    operation: events.Operation
    driver_method: str
    failed_status: str
    run: Callable[[Hearth, str], str]
    """Runs the operation on the volume; returns the id of the resource it reports on."""


def delete_volume(hearth: Hearth, volume_id: str) -> str:
    hearth.delete_volume(volume_id)
    return volume_id


def extend_volume(hearth: Hearth, volume_id: str) -> str:
    hearth.extend_volume(volume_id, 2)
    return volume_id


def create_snapshot(hearth: Hearth, volume_id: str) -> str:
    return hearth.create_snapshot(volume_id).id


def delete_snapshot(hearth: Hearth, volume_id: str) -> str:
    snapshot = hearth.create_snapshot(volume_id)
    hearth.delete_snapshot(snapshot.id)
    return snapshot.id


CASES = [
    pytest.param(
        Case(events.VOLUME_DELETE, "delete_volume", "error_deleting", delete_volume),
        id="volume-delete",
    ),
    pytest.param(
        Case(events.VOLUME_RESIZE, "extend_volume", "error_extending", extend_volume),
        id="volume-resize",
    ),
    pytest.param(
        Case(events.SNAPSHOT_CREATE, "create_snapshot", "error", create_snapshot),
        id="snapshot-create",
    ),
    pytest.param(
        Case(events.SNAPSHOT_DELETE, "delete_snapshot", "error_deleting", delete_snapshot),
        id="snapshot-delete",
    ),
]


def reported(sent: Any, operation: events.Operation, resource_id: str) -> list[Any]:
    """The notifications of one operation on one resource, in delivery order."""
    key = f"{operation.resource}_id"
    prefix = f"{operation.resource}.{operation.action}."
    return [
        n
        for n in sent.received()
        if n.event_type.startswith(prefix) and n.payload.get(key) == resource_id
    ]


@pytest.mark.parametrize("case", CASES)
def test_an_operation_that_succeeds_emits_start_then_end(
    hearth: Hearth, sent: Any, case: Case
) -> None:
    volume = hearth.create_volume(1)

    resource_id = case.run(hearth, volume.id)

    start, end = reported(sent, case.operation, resource_id)
    assert (start.event_type, end.event_type) == (
        case.operation.start.type,
        case.operation.end.type,
    )
    assert {start.priority, end.priority} == {"INFO"}
    assert start.publisher_id == end.publisher_id == "volume.local"


@pytest.mark.parametrize("case", CASES)
def test_an_operation_that_fails_emits_start_then_error_with_the_failed_status(
    hearth: Hearth, fake_driver: FakeDriver, sent: Any, case: Case
) -> None:
    volume = hearth.create_volume(1)
    fake_driver.fail(case.driver_method, BROKEN)

    resource_id = case.run(hearth, volume.id)

    start, error = reported(sent, case.operation, resource_id)
    assert (start.event_type, error.event_type) == (
        case.operation.start.type,
        case.operation.error.type,
    )
    assert error.priority == "ERROR"
    assert error.payload["status"] == case.failed_status


def test_every_operation_has_a_start_an_end_and_an_error_event() -> None:
    for operation in events.OPERATIONS:
        phases = (operation.start, operation.end, operation.error)
        assert [e.type.rsplit(".", 1)[1] for e in phases] == ["start", "end", "error"]
        assert {e.type for e in phases} <= events.EVENT_TYPES


def test_a_volume_event_outside_the_table_is_refused(hearth: Hearth) -> None:
    volume = hearth.create_volume(1)
    with hearth.services.db.transaction() as session:
        row = volumes.get(session, volume.id)
        with pytest.raises(ValueError, match=r"volume\.resize\.begin is not an event"):
            notifications.emit_volume(session, row, "resize.begin")
        with pytest.raises(ValueError, match="not a volume event"):
            notifications.emit_volume(session, row, events.SNAPSHOT_CREATE.start)
