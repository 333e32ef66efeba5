"""The manager's reused create engines (``hearth.volume.flows.reused``): get_flow's flow,
one compiled engine per thread, and nothing of one create left for the next."""

from __future__ import annotations

from typing import Any

from hearth import errors
from hearth.service.facade import Hearth
from hearth.volume import scheduling
from hearth.volume.flows import create_volume, reused
from tests.create_flow import ADMIN, RecordingScheduler, creating_volume, filter_properties
from tests.create_flow import retry_record as retry
from tests.fakes import FakeDriver


def create(hearth: Hearth, volume: Any, retry: dict[str, Any] | None = None) -> str:
    manager = hearth.services.managers["local"]
    spec = scheduling.RequestSpec(volume.id, volume.size)
    manager.create_volume(ADMIN, volume, spec, filter_properties(retry))
    return hearth.get_volume(volume.id).status


def task_names(flow: Any) -> list[str]:
    return [atom.name for atom in flow]


def test_the_reused_flow_is_get_flows_flow(hearth: Hearth) -> None:
    manager = hearth.services.managers["local"]
    volume = creating_volume(hearth)
    loaded = create_volume.get_flow(
        ADMIN,
        manager,
        manager.db,
        manager.driver,
        None,
        "local",
        volume,
        True,
        ADMIN,
        None,
        scheduling.FilterProperties(),
    )
    built = reused.CreateEngines(manager)._build()

    assert task_names(built.flow) == task_names(loaded._flow)  # the engine's flow, in order
    assert len(task_names(built.flow)) == 6


def test_one_engine_serves_a_threads_creates_one_after_another(hearth: Hearth) -> None:
    engines = hearth.services.managers["local"]._engines
    assert create(hearth, creating_volume(hearth)) == "available"
    first = engines._local.loaded.engine
    assert create(hearth, creating_volume(hearth)) == "available"

    assert engines._local.loaded.engine is first


def test_a_reverted_create_leaves_nothing_to_the_next_one(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    fake_driver.fail("create_volume", errors.ImageTooBig(image_id="i", reason="terminal"))
    failed = creating_volume(hearth)
    assert create(hearth, failed) == "error"

    after = creating_volume(hearth)
    assert create(hearth, after) == "available"
    assert [m.resource_uuid for m in hearth.list_messages()] == [failed.id]


def test_the_reschedule_decision_and_scheduler_are_each_creates_own(
    hearth: Hearth, fake_driver: FakeDriver
) -> None:
    manager = hearth.services.managers["local"]
    scheduler = RecordingScheduler()
    manager.scheduler_rpcapi = scheduler  # read per create, as get_flow's argument is
    fake_driver.fail("create_volume", errors.BackendError(detail="transient"))
    rescheduled = creating_volume(hearth)
    assert create(hearth, rescheduled, retry()) == "creating"  # sent back, attempt 1

    fake_driver.fail("create_volume", errors.BackendError(detail="transient"))
    not_counted = creating_volume(hearth)
    assert create(hearth, not_counted) == "error"  # no attempt counted: no reschedule

    assert [cast["volume_id"] for cast in scheduler.casts] == [rescheduled.id]


def test_a_create_started_during_another_on_its_thread_gets_its_own_engine(
    hearth: Hearth,
) -> None:
    engines = reused.CreateEngines(hearth.services.managers["local"])
    held = engines._take()  # the thread's engine, running a create
    other = engines._take()

    assert other is not held and engines._local.loaded is held
