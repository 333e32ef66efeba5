"""The library facade's own rules: idempotency keys for library callers, who sees what, and
one page value for the three paged lists."""

from __future__ import annotations

import pytest

from hearth import errors
from hearth.context import RequestContext
from hearth.db.rows import Page
from hearth.service import idempotency
from hearth.service.facade import Hearth

BY_ID = Page(sort=(("id", False),))


def test_a_library_caller_repeating_a_create_with_its_key_gets_the_first_volume(
    hearth: Hearth, project_a: RequestContext
) -> None:
    key = idempotency.Key("create-once")

    first = hearth.create_volume(1, name="once", context=project_a, idempotency_key=key)
    again = hearth.create_volume(1, name="once", context=project_a, idempotency_key=key)

    assert again.id == first.id
    assert [v.id for v in hearth.list_volumes(context=project_a)] == [first.id]


def test_a_library_caller_reusing_a_key_for_another_request_is_refused(
    hearth: Hearth, project_a: RequestContext
) -> None:
    key = idempotency.Key("create-once")
    hearth.create_volume(1, name="once", context=project_a, idempotency_key=key)

    with pytest.raises(errors.IdempotencyKeyReused):
        hearth.create_volume(2, name="once", context=project_a, idempotency_key=key)
    assert len(hearth.list_volumes(context=project_a)) == 1


def test_a_repeat_after_the_first_volume_was_deleted_is_a_conflict(
    hearth: Hearth, project_a: RequestContext
) -> None:
    key = idempotency.Key("create-once")
    first = hearth.create_volume(1, context=project_a, idempotency_key=key)
    hearth.delete_volume(first.id, context=project_a)

    with pytest.raises(errors.Conflict, match="has been deleted"):
        hearth.create_volume(1, context=project_a, idempotency_key=key)


def test_the_fingerprint_of_a_request_ignores_the_order_of_its_keys() -> None:
    assert idempotency.fingerprint({"size": 1, "name": "a"}) == idempotency.fingerprint(
        {"name": "a", "size": 1}
    )
    assert idempotency.fingerprint({"size": 1}) != idempotency.fingerprint({"size": 2})


def test_an_admin_sees_every_project_and_a_member_only_their_own() -> None:
    admin = RequestContext(user_id="root", project_id="admin", is_admin=True)
    member = RequestContext(user_id="alice", project_id="project-a")

    assert admin.visible_project is None
    assert member.visible_project == "project-a"


def test_a_page_of_volumes_is_the_callers_unless_an_admin_asks_for_all_projects(
    hearth: Hearth, project_a: RequestContext, project_b: RequestContext
) -> None:
    mine = hearth.create_volume(1, name="a", context=project_a)
    theirs = hearth.create_volume(1, name="b", context=project_b)
    admin = RequestContext(user_id="root", project_id="admin", is_admin=True)

    own = hearth.list_volumes_page(BY_ID, all_projects=True, context=project_a)
    every = hearth.list_volumes_page(BY_ID, all_projects=True, context=admin)
    named = hearth.list_volumes_page(BY_ID, filters={"name": "b"}, all_projects=True)

    assert [v.id for v in own] == [mine.id]
    assert [v.id for v in every] == sorted([mine.id, theirs.id])
    assert [v.id for v in named] == [theirs.id]
    assert hearth.list_volumes_page(BY_ID, context=admin) == []


def test_the_three_paged_lists_take_one_page_value(
    hearth: Hearth, project_a: RequestContext
) -> None:
    made = [hearth.create_volume(1, context=project_a) for _ in range(3)]
    for volume in made:
        hearth.create_snapshot(volume.id, context=project_a)
    volumes = sorted(made, key=lambda v: v.id)

    first = Page(sort=(("id", False),), limit=2)
    after = Page(sort=first.sort, limit=2, marker=volumes[1].id)

    assert [v.id for v in hearth.list_volumes_page(first, context=project_a)] == [
        v.id for v in volumes[:2]
    ]
    assert [v.id for v in hearth.list_volumes_page(after, context=project_a)] == [volumes[2].id]
    assert len(hearth.list_snapshots_page(first, context=project_a)) == 2
    assert hearth.list_messages_page(first, context=project_a) == []
