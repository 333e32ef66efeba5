"""Capacity reports: one in flight per backend, counters instead of walks over volumes, and
the audit as the check that the counters never drift."""

from __future__ import annotations

import threading

import pytest

from hearth.db import backends
from hearth.service.facade import Hearth
from hearth.volume import manager as volume_manager
from hearth.volume.drivers import base
from tests.fakes import FakeDriver

GiB = base.GiB


class CountingDriver(FakeDriver):
    """A fake driver that counts its statistics calls; ``hold`` blocks ``get_space``."""

    def __init__(self) -> None:
        super().__init__()
        self.full_reads = 0
        self.space_reads = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.hold = threading.Event()
        self.hold.set()
        self.entered = threading.Event()
        self._count = threading.Lock()

    def get_stats(self) -> base.BackendStats:
        self.full_reads += 1
        return super().get_stats()

    def get_space(self) -> base.SpaceStats:
        with self._count:
            self.space_reads += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.entered.set()
        try:
            self.hold.wait(10)
            return base.SpaceStats(self.total_bytes, self.total_bytes)
        finally:
            with self._count:
                self.in_flight -= 1


@pytest.fixture
def counting_driver() -> CountingDriver:
    return CountingDriver()


@pytest.fixture
def fake_driver(counting_driver: CountingDriver) -> FakeDriver:
    return counting_driver


def provisioned(hearth: Hearth) -> int:
    """The provisioned bytes of a report made now (a waiter may return before the
    manager's own report after the change)."""
    hearth.services.managers["local"].report_stats_quietly()
    with hearth.services.db.read() as session:
        return backends.get(session, "local").provisioned_bytes


def test_reports_after_changes_read_free_space_and_count_volumes_and_snapshots_from_counters(
    hearth: Hearth, counting_driver: CountingDriver
) -> None:
    assert counting_driver.full_reads == 1  # the start-up report
    volume = hearth.create_volume(2)
    assert provisioned(hearth) == 2 * GiB
    hearth.create_snapshot(volume.id)
    assert provisioned(hearth) == 4 * GiB  # the snapshot holds its volume's 2 GiB
    assert counting_driver.full_reads == 1 and counting_driver.space_reads >= 2


def test_deleting_a_snapshot_uncounts_it(hearth: Hearth) -> None:
    volume = hearth.create_volume(3)
    snapshot = hearth.create_snapshot(volume.id)
    hearth.delete_snapshot(snapshot.id)
    assert provisioned(hearth) == 3 * GiB
    with hearth.services.db.read() as session:
        assert backends.get(session, "local").snapshot_capacity_gb == 0


def test_a_full_report_runs_once_its_interval_has_passed(
    hearth: Hearth, counting_driver: CountingDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = hearth.services.managers["local"]
    manager.report_stats_quietly()
    assert counting_driver.full_reads == 1
    monkeypatch.setattr(volume_manager, "FULL_REPORT_INTERVAL", 0.0)
    manager.report_stats_quietly()
    assert counting_driver.full_reads == 2


def test_workers_finishing_during_a_report_start_no_second_one(
    hearth: Hearth, counting_driver: CountingDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(volume_manager, "STATS_MIN_INTERVAL", 0.0)
    manager = hearth.services.managers["local"]
    counting_driver.hold.clear()
    counting_driver.entered.clear()
    first = threading.Thread(target=manager.stats_changed)
    first.start()
    assert counting_driver.entered.wait(10)
    others = [threading.Thread(target=manager.stats_changed) for _ in range(8)]
    for worker in others:
        worker.start()
    for worker in others:
        worker.join(10)
    reads_while_held = counting_driver.space_reads
    counting_driver.hold.set()
    first.join(10)
    assert reads_while_held == 1 and counting_driver.most_in_flight == 1
    manager.report_stats_if_pending()  # what they held back is sent once the first is done
    assert counting_driver.space_reads == 2


def test_the_audit_finds_and_fixes_a_drifted_snapshot_counter(hearth: Hearth) -> None:
    volume = hearth.create_volume(1)
    hearth.create_snapshot(volume.id)
    with hearth.services.db.transaction() as session:
        backends.count_snapshot(session, "local", 5)  # a count no row explains

    [finding] = hearth.audit(fix=True)

    assert finding.kind == "capacity drift" and finding.fixed
    assert finding.detail == "6 GiB counted for snapshots, they hold 1 GiB"
    assert hearth.audit() == []
    with hearth.services.db.read() as session:
        assert backends.get(session, "local").snapshot_capacity_gb == 1
