"""The values a create carries through scheduling: the request spec and the attempts.

The arithmetic of attempts has one owner (``scheduling.Attempts``); these tests hold it to
one rule: what reconciliation rebuilds from the row is what the lost message carried.
"""

from __future__ import annotations

import pytest

from hearth import errors
from hearth.db import models
from hearth.service.facade import Hearth
from hearth.volume import scheduling
from tests.fakes import FakeDriver
from tests.unit.test_create_flow import RecordingScheduler, creating_volume, run_flow

FAILURE = errors.BackendError(action="create the volume")


def test_the_scheduler_counts_attempts_and_a_failure_adds_its_backend_once() -> None:
    first = scheduling.Attempts().next()
    failed = first.failed_on("a", FAILURE).failed_on("a", FAILURE)

    assert (first.number, first.backends, first.last_cause) == (1, (), None)
    assert failed.number == 1  # a failure ends an attempt; only the scheduler begins one
    assert failed.backends == ("a",)
    assert failed.last_cause == scheduling.Cause(
        "backend_error", "The storage backend failed to create the volume."
    )
    assert failed.next().failed_on("b", FAILURE).backends == ("a", "b")


def test_a_waiting_row_has_had_its_attempts_and_a_placed_row_is_in_the_next() -> None:
    waiting = models.Volume(
        reschedule_count=2,
        backends_tried=["a", "b"],
        last_reschedule_cause="backend_full: no room",
        host=None,
    )
    placed = models.Volume(reschedule_count=2, backends_tried=["a", "b"], host="c")

    assert scheduling.Attempts.from_row(waiting) == scheduling.Attempts(
        2, ("a", "b"), scheduling.Cause("backend_full", "no room")
    )
    assert scheduling.Attempts.from_row(placed) == scheduling.Attempts(3, ("a", "b"))


def test_what_a_reschedule_writes_on_the_row_is_what_its_message_carries(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    scheduler = RecordingScheduler()
    volume = creating_volume(hearth)
    fake_driver.fail("create_volume", FAILURE, after=True)

    with pytest.raises(errors.BackendError):
        run_flow(hearth, volume, scheduler=scheduler, retry={"num_attempts": 1})

    [cast] = scheduler.casts
    carried = scheduling.FilterProperties.from_json(cast["filters"]).retry
    row = hearth.get_volume(volume.id)
    assert carried == scheduling.Attempts.from_row(row)
    assert (carried.number, carried.backends, row.backends_tried) == (1, ("local",), ["local"])


def test_the_values_cross_the_bus_as_json_and_come_back_equal() -> None:
    spec = scheduling.RequestSpec(
        "v1",
        2,
        availability_zone="az1",
        volume_type_id="t1",
        volume_type_name="gold",
        extra_specs={"capabilities:tier": "gold"},
        source_host="a",
        snapshot_id="s1",
    )
    attempts = scheduling.Attempts(2, ("a",), scheduling.Cause("backend_error", "it broke"))
    properties = scheduling.FilterProperties(attempts)

    assert scheduling.RequestSpec.from_json(spec.to_json()) == spec
    assert scheduling.FilterProperties.from_json(properties.to_json()) == properties
    assert properties.to_json() == {
        "retry": {
            "num_attempts": 2,
            "backends": ["a"],
            "exc_code": "backend_error",
            "exc_reason": "it broke",
        }
    }
    assert scheduling.FilterProperties.from_json({}) == scheduling.FilterProperties()


def test_a_spec_built_from_a_dict_keeps_its_own_read_only_copy() -> None:
    specs = {"tier": "gold"}
    spec = scheduling.RequestSpec("v1", 1, extra_specs=specs)
    specs["tier"] = "silver"

    assert spec.extra_specs == {"tier": "gold"}
    with pytest.raises(TypeError):
        spec.extra_specs["tier"] = "silver"  # type: ignore[index]
