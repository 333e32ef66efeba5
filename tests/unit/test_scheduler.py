"""The scheduler: filters, weighers, and placement across several backends, end to end
through the bus (memory://) with fake drivers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hearth import errors
from hearth.db import backends, models
from hearth.scheduler import filters, weighers
from hearth.service.facade import Hearth
from tests.conftest import make_settings, open_hearth
from tests.fakes import FakeDriver
from tests.waiting import wait_until

NOW = models.utcnow()


def state(name: str, **fields: Any) -> filters.BackendState:
    values: dict[str, Any] = {
        "name": name,
        "availability_zone": "nova",
        "capabilities": {"volume_backend_name": name},
        "capacity_limit_gb": 100,
        "allocated_capacity_gb": 0,
        "free_bytes": 1 << 40,
        "reported_at": NOW,
        **fields,
    }
    return filters.BackendState(**values)


def request(**fields: Any) -> filters.PlacementRequest:
    values: dict[str, Any] = {
        "size_gb": 1,
        "availability_zone": None,
        "extra_specs": {},
        "volume_type": "__DEFAULT__",
        "tried": frozenset(),
        "source_host": None,
        "now": NOW,
        "down_after": timedelta(seconds=60),
        **fields,
    }
    return filters.PlacementRequest(**values)


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ("gold", "gold", True),
        ("gold", "silver", False),
        ("<is> True", True, True),
        ("<is> True", False, False),
        ("<in> ssd", "fast-ssd-pool", True),
        ("<or> a <or> b", "b", True),
        ("<or> a <or> b", "c", False),
        (">= 10", 12, True),
        (">= 10", 8, False),
        ("<= 10", "x", False),
    ],
)
def test_extra_specs_match_capabilities_with_cinders_operators(
    spec: str, value: Any, expected: bool
) -> None:
    assert filters.spec_matches(spec, value) is expected


@pytest.mark.parametrize(
    ("backend", "placement", "reason"),
    [
        (
            state("a", reported_at=NOW - timedelta(seconds=61)),
            request(),
            "no backend has reported in the last 60 s",
        ),
        (state("a"), request(source_host="b"), "the source's backend b is not available"),
        (
            state("a"),
            request(tried=frozenset({"a"}), last_failure="disk on fire"),
            "every backend that could take it failed (a); the last failure: disk on fire",
        ),
        (state("a"), request(availability_zone="az9"), "no backend in availability zone 'az9'"),
        (
            state("a"),
            request(extra_specs={"capabilities:tier": "gold"}, volume_type="gold"),
            "no backend matches volume type 'gold'",
        ),
        (state("a", allocated_capacity_gb=99), request(size_gb=2), "no backend has room for 2 GiB"),
    ],
)
def test_the_first_filter_that_leaves_no_backend_names_the_reason(
    backend: filters.BackendState, placement: filters.PlacementRequest, reason: str
) -> None:
    with pytest.raises(errors.NoValidBackend) as caught:
        filters.select([backend], placement)
    assert caught.value.user_message == f"No backend can take the volume: {reason}"


def test_extra_specs_of_other_scopes_do_not_restrict_placement() -> None:
    placement = request(extra_specs={"qos:read_iops": "100", "volume_backend_name": "b"})
    assert [b.name for b in filters.select([state("a"), state("b")], placement)] == ["b"]


def test_weighers_order_by_free_capacity_or_by_allocation() -> None:
    roomy = state("roomy", capacity_limit_gb=500, allocated_capacity_gb=100)
    busy = state("busy", capacity_limit_gb=100, allocated_capacity_gb=50)
    empty = state("empty", capacity_limit_gb=60)
    assert [b.name for b in weighers.order([busy, empty, roomy], "capacity")] == [
        "roomy",
        "empty",
        "busy",
    ]
    assert [b.name for b in weighers.order([busy, roomy, empty], "allocated")] == [
        "empty",
        "busy",
        "roomy",
    ]


# placement end to end, three backends with fake drivers


@pytest.fixture
def drivers() -> dict[str, FakeDriver]:
    return {name: FakeDriver() for name in ("a", "b", "c")}


@pytest.fixture
def cluster(tmp_path: Path, drivers: dict[str, FakeDriver]) -> Iterator[Hearth]:
    settings = make_settings(
        tmp_path / "data",
        backends={
            "a": {"availability_zone": "az1", "capacity_gb": 300, "capabilities": {"tier": "gold"}},
            "b": {"availability_zone": "az1", "capacity_gb": 200},
            "c": {"availability_zone": "az2", "capacity_gb": 100, "thin_provisioning": False},
        },
    )
    opened = open_hearth(settings, dict(drivers))
    yield opened
    opened.close()


def allocated(hearth: Hearth) -> dict[str, int]:
    with hearth.services.db.transaction() as session:
        return {row.name: row.allocated_capacity_gb for row in backends.find_all(session)}


def failing(error: errors.HearthError, *drivers: FakeDriver) -> None:
    for driver in drivers:
        driver.fail("create_volume", error, after=True)


def test_volumes_go_to_the_backend_with_most_free_capacity_and_claim_it(
    cluster: Hearth, drivers: dict[str, FakeDriver]
) -> None:
    volume = cluster.create_volume(size=10)

    assert (volume.status, volume.host, volume.availability_zone) == ("available", "a", "az1")
    assert volume.id in drivers["a"].volumes
    assert allocated(cluster) == {"a": 10, "b": 0, "c": 0}

    cluster.delete_volume(volume.id)
    assert allocated(cluster) == {"a": 0, "b": 0, "c": 0}


def test_a_transient_failure_on_a_ends_available_on_b_with_the_attempt_recorded(
    cluster: Hearth, drivers: dict[str, FakeDriver]
) -> None:
    failing(errors.BackendError(action="create the volume"), drivers["a"])

    volume = cluster.create_volume(size=10, availability_zone="az1")

    assert (volume.status, volume.host) == ("available", "b")
    assert volume.reschedule_count == 1
    assert volume.last_reschedule_cause == (
        "backend_error: The storage backend failed to create the volume."
    )
    assert volume.id not in drivers["a"].volumes  # a made it, then removed it
    assert volume.id in drivers["b"].volumes
    assert allocated(cluster) == {"a": 0, "b": 10, "c": 0}


def test_when_every_attempt_fails_the_volume_ends_in_error_with_the_reason(
    cluster: Hearth, drivers: dict[str, FakeDriver]
) -> None:
    failing(errors.BackendError(action="create the volume"), *drivers.values())

    volume = cluster.create_volume(size=1)

    assert (volume.status, volume.host, volume.reschedule_count) == ("error", None, 3)
    assert [d.calls.count("create_volume") for d in drivers.values()] == [1, 1, 1]
    [message] = cluster.list_messages(resource_id=volume.id)
    assert message.detail_code == "no_valid_backend"
    assert "the last failure: The storage backend failed to create the volume." in message.message
    assert allocated(cluster) == {"a": 0, "b": 0, "c": 0}
    assert all(not d.volumes for d in drivers.values())


def test_attempts_stop_at_max_attempts(tmp_path: Path, drivers: dict[str, FakeDriver]) -> None:
    settings = make_settings(
        tmp_path / "data",
        backends={name: {} for name in drivers},
        scheduler={"max_attempts": 2},
    )
    hearth = open_hearth(settings, dict(drivers))
    try:
        failing(errors.BackendError(action="create the volume"), *drivers.values())
        volume = hearth.create_volume(size=1)
        assert volume.status == "error"
        assert sum(d.calls.count("create_volume") for d in drivers.values()) == 2
        [message] = hearth.list_messages(resource_id=volume.id)
        assert "all 2 attempts failed" in message.message
    finally:
        hearth.close()


def test_a_terminal_failure_is_tried_on_one_backend_only(
    cluster: Hearth, drivers: dict[str, FakeDriver]
) -> None:
    failing(errors.Invalid(reason="the driver refuses this volume"), *drivers.values())

    volume = cluster.create_volume(size=1)

    assert volume.status == "error"
    assert sum(d.calls.count("create_volume") for d in drivers.values()) == 1
    [message] = cluster.list_messages(resource_id=volume.id)
    assert message.detail_code == "invalid"


def test_a_backend_already_tried_is_never_chosen_again(
    cluster: Hearth, drivers: dict[str, FakeDriver]
) -> None:
    failing(errors.BackendError(action="create the volume"), drivers["a"], drivers["b"])

    volume = cluster.create_volume(size=1)

    assert (volume.status, volume.host, volume.reschedule_count) == ("available", "c", 2)
    assert [d.calls.count("create_volume") for d in drivers.values()] == [1, 1, 1]


def test_placement_honours_the_availability_zone_and_the_type_capabilities(
    cluster: Hearth,
) -> None:
    cluster.create_volume_type("gold", extra_specs={"capabilities:tier": "gold"})
    cluster.create_volume_type("pinned-c", extra_specs={"volume_backend_name": "c"})

    assert cluster.create_volume(size=1, availability_zone="az2").host == "c"
    assert cluster.create_volume(size=1, volume_type="gold").host == "a"
    assert cluster.create_volume(size=1, volume_type="pinned-c").host == "c"
    mismatch = cluster.create_volume(size=1, volume_type="gold", availability_zone="az2")
    assert mismatch.status == "error"
    [message] = cluster.list_messages(resource_id=mismatch.id)
    assert message.message.endswith("no backend matches volume type 'gold'")


def test_an_unknown_zone_is_refused_before_anything_is_written(cluster: Hearth) -> None:
    with pytest.raises(errors.InvalidInput, match="'az9' is not one of"):
        cluster.create_volume(size=1, availability_zone="az9")
    assert cluster.list_volumes() == []


def test_a_backend_that_stopped_reporting_is_skipped(cluster: Hearth) -> None:
    with cluster.services.db.transaction() as session:
        backends.report(session, "a")
        backends.get(session, "a").reported_at = models.utcnow() - timedelta(minutes=5)

    assert cluster.create_volume(size=1, availability_zone="az1").host == "b"


def test_copies_stay_on_their_sources_backend(cluster: Hearth) -> None:
    source = cluster.create_volume(size=1, availability_zone="az2")
    snap = cluster.create_snapshot(source.id)

    assert cluster.create_volume(source_volid=source.id).host == "c"
    assert cluster.create_volume(snapshot_id=snap.id, size=2).host == "c"


def test_extend_claims_the_growth_and_refuses_beyond_the_backends_room(cluster: Hearth) -> None:
    volume = cluster.create_volume(size=10, availability_zone="az2")  # on c: thick, 100 GiB

    assert cluster.extend_volume(volume.id, 60).size == 60
    assert allocated(cluster)["c"] == 60
    with pytest.raises(errors.CapacityExceeded, match="no room for 50 more GiB"):
        cluster.extend_volume(volume.id, 110)
    assert cluster.get_volume(volume.id).status == "available"
    assert allocated(cluster)["c"] == 60


def test_thin_backends_are_over_subscribed_and_thick_ones_are_not(cluster: Hearth) -> None:
    with cluster.services.db.transaction() as session:
        limits = {row.name: row.capacity_limit_gb for row in backends.find_all(session)}
    assert limits == {"a": 300 * 20, "b": 200 * 20, "c": 100}


class LostCasts:
    """Stands in for a manager's scheduler api: every reschedule message is lost."""

    def __init__(self) -> None:
        self.lost = 0

    def create_volume(self, *args: Any, **kwargs: Any) -> None:
        self.lost += 1


@pytest.mark.parametrize("round_", range(3))
def test_a_create_whose_reschedule_was_lost_is_placed_again_on_a_backend_not_yet_tried(
    cluster: Hearth, drivers: dict[str, FakeDriver], round_: int
) -> None:
    lost = LostCasts()
    cluster.services.managers["a"].scheduler_rpcapi = lost
    failing(errors.BackendError(action="create the volume"), drivers["a"])
    scheduler = cluster.services.scheduler
    assert scheduler is not None

    # a has the most free capacity: the weigher prefers it every time
    volume = cluster.create_volume(size=1, availability_zone="az1", wait=False)
    assert wait_until(lambda: lost.lost == 1, timeout=10)
    row = cluster.get_volume(volume.id)
    assert (row.status, row.host, row.reschedule_count) == ("creating", None, 1)

    assert scheduler.reconcile(cluster.services.settings.recovery, everything=True) == 1

    assert wait_until(lambda: cluster.get_volume(volume.id).status != "creating", timeout=10)
    placed = cluster.get_volume(volume.id)
    assert (placed.status, placed.host, placed.reschedule_count) == ("available", "b", 1)
    assert drivers["a"].calls.count("create_volume") == 1
    assert volume.id not in drivers["a"].volumes
    assert allocated(cluster) == {"a": 0, "b": 1, "c": 0}
