"""The status page's read (``Hearth.overview`` and ``GET /dashboard/state``'s document): what
it gathers about backends, creates in flight, failures and the image-volume cache."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hearth import errors, messages
from hearth.api.dashboard import views
from hearth.context import RequestContext
from hearth.db import backends, image_cache, images, models, volumes
from hearth.service import overview
from hearth.service.facade import Hearth

GIB = 1 << 30


def _in_flight(hearth: Hearth, **fields: object) -> str:
    row = {
        "project_id": "project-a",
        "user_id": "alice",
        "size": 2,
        "status": "creating",
        "availability_zone": "nova",
        **fields,
    }
    with hearth.services.db.transaction() as session:
        return volumes.create(session, **row).id


def test_a_fresh_backend_is_up_with_its_capacity_and_claims(hearth: Hearth) -> None:
    hearth.create_volume(size=3)

    (local,) = hearth.overview().backends

    row = hearth.list_backends()[0]
    assert local.name == "local" and local.up and local.driver == "fake"
    assert local.report_age is not None and 0 <= local.report_age < 60
    assert local.total_bytes == row.total_bytes and local.free_bytes == row.free_bytes
    assert local.claimed_bytes == 3 * GIB
    assert local.claim_limit_bytes == row.capacity_limit_gb * GIB


def test_a_backend_silent_past_backend_down_after_is_down(hearth: Hearth) -> None:
    silent_for = hearth.services.settings.scheduler.backend_down_after + 5
    with hearth.services.db.transaction() as session:
        backends.report(session, "gone", driver="file", availability_zone="az2", clone_mode="copy")
        backends.get(session, "gone").reported_at = models.utcnow() - timedelta(seconds=silent_for)

    state = {b.name: b for b in hearth.overview().backends}

    assert not state["gone"].up and state["gone"].zone == "az2"
    assert state["gone"].report_age is not None and state["gone"].report_age >= silent_for
    assert state["local"].up


def test_creates_in_flight_show_their_phase_and_progress_and_ended_ones_do_not(
    hearth: Hearth,
) -> None:
    done = hearth.create_volume(size=1, name="done")
    waiting = _in_flight(hearth, name="waiting")
    copying = _in_flight(
        hearth,
        name="copying",
        host="local",
        create_step="started",
        progress={"phase": "convert", "done": GIB, "total": 4 * GIB},
    )
    started = _in_flight(hearth, name="started", host="local", create_step="started")

    creates = {c.id: c for c in hearth.overview().creates}

    assert done.id not in creates
    assert creates[waiting].phase == "scheduling" and creates[waiting].progress is None
    assert creates[copying].phase == "convert" and creates[copying].host == "local"
    assert creates[started].phase == "started"
    document = views.state(hearth.overview())
    by_id = {c["id"]: c for c in document["creates"]}
    assert by_id[copying]["percent"] == 25.0
    assert by_id[waiting]["percent"] is None


def test_failures_are_the_latest_user_messages_newest_first(hearth: Hearth) -> None:
    context = RequestContext(user_id="alice", project_id="project-a")
    with hearth.services.db.transaction() as session:
        for number in range(overview.MAX_FAILURES + 3):
            messages.record_failure(
                session,
                context,
                action=messages.Action.CREATE_VOLUME,
                resource_type="VOLUME",
                resource_id=f"00000000-0000-0000-0000-{number:012d}",
                error=errors.BackendFull(action=f"create volume {number}"),
            )

    failures = hearth.overview().failures

    assert len(failures) == overview.MAX_FAILURES
    assert failures[0].resource_id == f"00000000-0000-0000-0000-{overview.MAX_FAILURES + 2:012d}"
    assert f"create volume {overview.MAX_FAILURES + 2}" in failures[0].message
    assert failures[0].project_id == "project-a" and failures[0].detail_code == "backend_full"
    assert [f.created_at for f in failures] == sorted(
        (f.created_at for f in failures), reverse=True
    )


def test_image_cache_entries_carry_their_image_name(hearth: Hearth) -> None:
    with hearth.services.db.transaction() as session:
        image = images.create(
            session,
            name="debian",
            owner="admin",
            visibility="public",
            disk_format="qcow2",
            container_format="bare",
            status="active",
        )
        image_cache.create(
            session,
            host="local",
            image_id=image.id,
            image_checksum="abc",
            image_updated_at=models.utcnow(),
            size=2,
            status="ready",
        )

    (entry,) = hearth.overview().image_cache

    assert (entry.backend, entry.image_name, entry.status, entry.size_gb) == (
        "local",
        "debian",
        "ready",
        2,
    )
    assert views.state(hearth.overview())["image_cache"][0]["last_used"].endswith("+00:00")


def test_only_admins_see_the_overview(hearth: Hearth, project_a: RequestContext) -> None:
    with pytest.raises(errors.Forbidden):
        hearth.overview(context=project_a)
