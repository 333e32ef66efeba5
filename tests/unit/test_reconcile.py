"""Reconciliation: the states a crash leaves, and what a restarted service makes of them.

Each test writes the rows and backend contents a crash at some point would leave (the fake
driver keeps its volumes across the restart, as a disk would), restarts Hearth on the same
data directory, and checks what a user would: statuses, the backend's contents, messages,
notifications and the capacity claims.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hearth import config
from hearth.db import backends, models, snapshots, statuses, volumes
from hearth.service.facade import Hearth
from tests.conftest import Sent, make_settings, open_hearth
from tests.fakes import FakeDriver, FakeVolume
from tests.waiting import wait_until

GiB = 1 << 30


@pytest.fixture
def disk() -> FakeDriver:
    """The backend's storage: survives restarts."""
    return FakeDriver()


@pytest.fixture
def restart(tmp_path: Path, disk: FakeDriver) -> Iterator[Callable[[], Hearth]]:
    """Opens Hearth on one data directory, closing the previous instance first."""
    settings = make_settings(tmp_path / "data")
    opened: list[Hearth] = []

    def again() -> Hearth:
        if opened:
            opened.pop().close()
        opened.append(open_hearth(settings, {"local": disk}))
        return opened[-1]

    yield again
    if opened:
        opened.pop().close()


def placed_volume(hearth: Hearth, *, status: str = "creating", **fields: Any) -> models.Volume:
    """A volume row placed on ``local`` with its claim, as the scheduler leaves it."""
    with hearth.services.db.transaction() as session:
        volume = volumes.create(
            session,
            project_id="p1",
            user_id="u1",
            size=fields.pop("size", 1),
            status=status,
            availability_zone="nova",
            **fields,
        )
        assert backends.claim(session, "local", volume.size)
        volumes.update(session, volume.id, host="local")
    return volume


def row(hearth: Hearth, volume_id: str) -> models.Volume | None:
    with hearth.services.db.read() as session:
        return volumes.find(session, volume_id)


def claims(hearth: Hearth) -> int:
    with hearth.services.db.read() as session:
        return backends.get(session, "local").allocated_capacity_gb


def test_a_create_that_crashed_after_the_backend_made_it_is_finished(
    restart: Callable[[], Hearth], disk: FakeDriver
) -> None:
    hearth = restart()
    volume = placed_volume(hearth, create_step="made")
    disk.volumes[volume.id] = FakeVolume(GiB)
    disk.volumes[volume.id].write(0, b"kept")

    hearth = restart()

    found = row(hearth, volume.id)
    assert found is not None
    assert (found.status, found.launched_at is not None) == ("available", True)
    assert disk.volumes[volume.id].read(0, 4) == b"kept"  # finished, not made again
    assert "create_volume" not in disk.calls
    assert [n.event_type for n in Sent(hearth).received()] == ["volume.create.end"]
    assert claims(hearth) == 1


@pytest.mark.parametrize("leftover", [False, True])
def test_a_create_that_crashed_before_it_was_made_runs_again(
    restart: Callable[[], Hearth], disk: FakeDriver, leftover: bool
) -> None:
    hearth = restart()
    volume = placed_volume(hearth, size=2, create_step="started")
    if leftover:  # the driver finished but the crash came before the journal said so
        disk.volumes[volume.id] = FakeVolume(2 * GiB)

    hearth = restart()

    found = row(hearth, volume.id)
    assert found is not None
    assert (found.status, found.create_resumes, found.create_step) == ("available", 1, "made")
    assert disk.volumes[volume.id].size == 2 * GiB
    assert claims(hearth) == 2


def test_a_create_that_keeps_crashing_is_given_up_with_a_message(
    restart: Callable[[], Hearth], disk: FakeDriver
) -> None:
    hearth = restart()
    limit = config.RecoverySettings().max_resumes
    volume = placed_volume(hearth, create_step="started", create_resumes=limit)
    disk.volumes[volume.id] = FakeVolume(GiB)

    hearth = restart()

    found = row(hearth, volume.id)
    assert found is not None
    assert (found.status, found.host) == ("error", None)
    assert volume.id not in disk.volumes
    assert claims(hearth) == 0
    [message] = hearth.list_messages(resource_id=volume.id)
    assert message.detail_code == "interrupted"
    assert message.message == (
        "Failed to create volume: The create was interrupted by a service restart: "
        f"given up after {limit + 1} tries."
    )
    assert message.project_id == "p1"


def test_a_create_from_an_image_given_up_keeps_no_progress_nor_image_metadata(
    restart: Callable[[], Hearth], disk: FakeDriver
) -> None:
    hearth = restart()
    limit = config.RecoverySettings().max_resumes
    volume = placed_volume(  # killed while converting, for the last time
        hearth,
        status="downloading",
        create_step="made",
        create_resumes=limit,
        progress={"phase": "convert", "done": 0, "total": GiB},
        volume_image_metadata={"image_id": "i1"},
    )

    hearth = restart()

    found = row(hearth, volume.id)
    assert found is not None
    assert (found.status, found.progress, found.volume_image_metadata) == ("error", None, None)


def test_a_delete_that_crashed_is_finished(restart: Callable[[], Hearth], disk: FakeDriver) -> None:
    hearth = restart()
    volume = placed_volume(hearth, status="deleting", size=3)
    disk.volumes[volume.id] = FakeVolume(3 * GiB)

    hearth = restart()

    assert row(hearth, volume.id) is None
    assert volume.id not in disk.volumes
    assert claims(hearth) == 0


@pytest.mark.parametrize("grown", [True, False])
def test_an_extend_that_crashed_settles_on_what_the_backend_holds(
    restart: Callable[[], Hearth], disk: FakeDriver, grown: bool
) -> None:
    hearth = restart()
    volume = placed_volume(hearth, status="extending", size=1)
    with hearth.services.db.transaction() as session:
        assert backends.claim(session, "local", 2)  # the extend to 3 GiB claimed its growth
    disk.volumes[volume.id] = FakeVolume((3 if grown else 1) * GiB)

    hearth = restart()

    found = row(hearth, volume.id)
    assert found is not None
    assert (found.status, found.size) == ("available", 3 if grown else 1)
    assert claims(hearth) == found.size  # recounted from the rows
    settled = "volume.resize.end" if grown else "volume.resize.error"
    assert [n.event_type for n in Sent(hearth).received()] == [settled]
    messages = hearth.list_messages(resource_id=volume.id)
    if grown:
        assert messages == []
    else:
        assert messages[0].message == (
            "Failed to extend volume: The extend was interrupted by a service restart: "
            "the volume keeps its size of 1 GiB; extend it again."
        )


def test_snapshots_being_made_or_deleted_are_finished(
    restart: Callable[[], Hearth], disk: FakeDriver
) -> None:
    hearth = restart()
    volume = placed_volume(hearth, status="available")
    disk.volumes[volume.id] = FakeVolume(GiB)
    with hearth.services.db.transaction() as session:
        making = snapshots.create(
            session,
            volume_id=volume.id,
            project_id="p1",
            user_id="u1",
            volume_size=1,
            status="creating",
        )
        dropping = snapshots.create(
            session,
            volume_id=volume.id,
            project_id="p1",
            user_id="u1",
            volume_size=1,
            status="deleting",
        )
    disk.snapshots[dropping.id] = FakeVolume(GiB)

    hearth = restart()

    assert hearth.get_snapshot(making.id).status == "available"
    assert making.id in disk.snapshots
    assert [s.id for s in hearth.list_snapshots()] == [making.id]
    assert dropping.id not in disk.snapshots


def test_drifted_capacity_is_recounted_at_start(
    restart: Callable[[], Hearth], disk: FakeDriver
) -> None:
    hearth = restart()
    volume = placed_volume(hearth, status="available", size=4)
    disk.volumes[volume.id] = FakeVolume(4 * GiB)
    with hearth.services.db.transaction() as session:
        backends.release(session, "local", 4)
        assert backends.claim(session, "local", 40)  # a crash between two transactions

    hearth = restart()

    assert claims(hearth) == 4


def test_a_create_whose_request_never_reached_the_scheduler_is_placed_at_start(
    restart: Callable[[], Hearth], disk: FakeDriver
) -> None:
    hearth = restart()
    with hearth.services.db.transaction() as session:
        lost = volumes.create(
            session,
            project_id="p1",
            user_id="u1",
            size=1,
            status="creating",
            availability_zone="nova",
        )

    hearth = restart()

    assert wait_until(
        lambda: row(hearth, lost.id).status not in statuses.CREATE_IN_PROGRESS,  # type: ignore[union-attr]
        timeout=10,
    )
    found = row(hearth, lost.id)
    assert found is not None
    assert (found.status, found.host) == ("available", "local")
    assert lost.id in disk.volumes


def test_a_running_manager_takes_up_stale_work_but_leaves_fresh_and_in_hand_work(
    restart: Callable[[], Hearth], disk: FakeDriver
) -> None:
    hearth = restart()
    manager = hearth.services.managers["local"]
    fresh = placed_volume(hearth, create_step="scheduled")
    stale = placed_volume(hearth, create_step="scheduled")
    in_hand = placed_volume(hearth, create_step="scheduled")
    long_ago = models.utcnow() - timedelta(hours=1)
    with hearth.services.db.transaction() as session:
        for volume in (stale, in_hand):
            volumes.get(session, volume.id).updated_at = long_ago

    with manager._exclusive(in_hand.id):
        done = manager.reconcile()

    assert done["creates resumed"] == 1
    now = {v.id: getattr(row(hearth, v.id), "status", None) for v in (fresh, stale, in_hand)}
    assert now == {fresh.id: "creating", stale.id: "available", in_hand.id: "creating"}
