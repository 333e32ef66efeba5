"""Quota usage follows every outcome: failed creates, deletes, extends that fail or succeed,
snapshots; the verifier finds nothing, and repairs a counter changed behind its back."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hearth import errors
from hearth.context import RequestContext
from hearth.db import models
from hearth.service.facade import Hearth
from tests.fakes import FakeDriver


def used(hearth: Hearth, project: RequestContext, resource: str) -> tuple[int, int]:
    shown = hearth.quota_set(project.project_id, usage=True)[resource]
    return shown["in_use"], shown["reserved"]


def test_a_failed_create_keeps_its_quota_until_the_volume_is_deleted(
    hearth: Hearth, fake_driver: FakeDriver, project_a: RequestContext
) -> None:
    fake_driver.fail("create_volume", errors.Invalid(reason="broken on purpose"))
    volume = hearth.create_volume(3, context=project_a)
    assert volume.status == "error"
    assert used(hearth, project_a, "gigabytes") == (3, 0)  # as Cinder: an error volume counts
    hearth.delete_volume(volume.id, context=project_a)
    assert used(hearth, project_a, "gigabytes") == (0, 0)
    assert used(hearth, project_a, "volumes") == (0, 0)
    assert hearth.check_quotas() == []


def test_an_extend_that_fails_releases_its_reservation_and_one_that_succeeds_commits_it(
    hearth: Hearth, fake_driver: FakeDriver, project_a: RequestContext
) -> None:
    volume = hearth.create_volume(1, context=project_a)
    fake_driver.fail("extend_volume", errors.BackendError(reason="no"))
    assert hearth.extend_volume(volume.id, 3, context=project_a).status == "error_extending"
    assert used(hearth, project_a, "gigabytes") == (1, 0)
    other = hearth.create_volume(1, context=project_a)
    assert hearth.extend_volume(other.id, 4, context=project_a).size == 4
    assert used(hearth, project_a, "gigabytes") == (5, 0)
    assert hearth.check_quotas() == []


def test_an_extend_in_flight_is_reserved_not_in_use(
    hearth: Hearth, project_a: RequestContext
) -> None:
    volume = hearth.create_volume(1, context=project_a)
    hearth.update_quota_set("project-a", {"gigabytes": 3})
    with hearth.services.db.transaction() as session:  # as begin_volume_extend leaves it
        from hearth.service import requests

        requests.begin_volume_extend(
            session, project_a, volume.id, 3, 100, hearth.services.settings.quotas
        )
    assert used(hearth, project_a, "gigabytes") == (1, 2)
    with pytest.raises(errors.QuotaExceeded, match="gigabytes: 1 requested, 3 of 3"):
        hearth.create_volume(1, context=project_a)
    assert hearth.check_quotas() == []


def test_snapshots_count_and_give_back_with_their_rows(
    hearth: Hearth, project_a: RequestContext
) -> None:
    volume = hearth.create_volume(2, context=project_a)
    snapshot = hearth.create_snapshot(volume.id, context=project_a)
    assert used(hearth, project_a, "snapshots") == (1, 0)
    assert used(hearth, project_a, "gigabytes") == (4, 0)
    hearth.delete_snapshot(snapshot.id, context=project_a)
    assert used(hearth, project_a, "gigabytes") == (2, 0)
    assert hearth.check_quotas() == []


def test_the_verifier_finds_a_counter_changed_behind_its_back_and_sync_repairs_it(
    hearth: Hearth, project_a: RequestContext
) -> None:
    hearth.create_volume(1, context=project_a)
    with hearth.services.db.transaction() as session:
        session.execute(
            sa.update(models.QuotaUsage)
            .where(models.QuotaUsage.resource == "volumes")
            .values(in_use=7)
        )
    [found] = hearth.check_quotas()
    assert (found.project_id, found.resource, found.in_use, found.counted_in_use) == (
        "project-a",
        "volumes",
        7,
        1,
    )
    assert [d.resource for d in hearth.check_quotas(sync=True)] == ["volumes"]
    assert hearth.check_quotas() == []
    assert used(hearth, project_a, "volumes") == (1, 0)


def test_a_member_may_not_change_quotas(hearth: Hearth, project_a: RequestContext) -> None:
    with pytest.raises(errors.Forbidden):
        hearth.update_quota_set("project-a", {"volumes": 100}, context=project_a)
