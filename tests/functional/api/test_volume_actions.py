"""The state actions of ``POST /volumes/{id}/action`` and of snapshots, over HTTP: the
administrator's reset and force delete, bootable and read-only flags, image metadata,
snapshot status updates and snapshot metadata. Refused requests change nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.functional.api.conftest import Api


def act(client: httpx.Client, volume_id: str, name: str, arguments: Any = None) -> httpx.Response:
    return client.post(f"/v3/volumes/{volume_id}/action", json={name: arguments})


def snapshot_act(
    client: httpx.Client, snapshot_id: str, name: str, arguments: Any = None
) -> httpx.Response:
    return client.post(f"/v3/snapshots/{snapshot_id}/action", json={name: arguments})


def shown(client: httpx.Client, volume_id: str) -> dict[str, Any]:
    document: dict[str, Any] = client.get(f"/v3/volumes/{volume_id}").json()["volume"]
    return document


def snapshot_of(api: Api, client: httpx.Client, volume_id: str) -> dict[str, Any]:
    response = client.post("/v3/snapshots", json={"snapshot": {"volume_id": volume_id}})
    assert response.status_code == 202, response.text
    snapshot: dict[str, Any] = response.json()["snapshot"]

    def status() -> str:
        return str(client.get(f"/v3/snapshots/{snapshot['id']}").json()["snapshot"]["status"])

    api.wait_for(lambda: status() == "available")
    return snapshot


def test_an_action_on_a_missing_volume_is_404_before_its_name_is_checked(
    alice: httpx.Client,
) -> None:
    missing = "00000000-0000-0000-0000-000000000000"

    assert act(alice, missing, "os-no-such-action", {}).status_code == 404
    assert act(alice, missing, "os-set_bootable", {"bootable": True}).status_code == 404
    assert snapshot_act(alice, missing, "os-force_delete", {}).status_code == 404


def test_an_unknown_action_on_a_volume_is_refused_naming_it(api: Api, alice: httpx.Client) -> None:
    volume = api.created(alice)

    response = act(alice, volume["id"], "os-no-such-action", {})

    assert response.status_code == 400
    assert "os-no-such-action" in response.json()["badRequest"]["message"]


def test_an_admin_resets_a_volume_status_and_a_member_may_not(
    api: Api, alice: httpx.Client, admin: httpx.Client
) -> None:
    volume = api.created(alice)

    refused = act(alice, volume["id"], "os-reset_status", {"status": "error"})
    assert refused.status_code == 403
    for status in ("error", "maintenance", "available"):
        answer = act(admin, volume["id"], "os-reset_status", {"status": status})
        assert answer.status_code == 202, answer.text
        assert shown(alice, volume["id"])["status"] == status


@pytest.mark.parametrize(
    "arguments",
    [{"status": "melted"}, {"status": 7}, {}, {"migration_status": "flying"}, None],
)
def test_a_reset_to_no_known_status_is_400_and_changes_nothing(
    api: Api, alice: httpx.Client, admin: httpx.Client, arguments: Any
) -> None:
    volume = api.created(alice)
    before = shown(admin, volume["id"])

    response = act(admin, volume["id"], "os-reset_status", arguments)

    assert response.status_code == 400, response.text
    assert shown(admin, volume["id"]) == before


def test_an_admin_force_deletes_a_volume_whatever_its_status(
    api: Api, alice: httpx.Client, admin: httpx.Client
) -> None:
    volume = api.created(alice)
    path = api.hearth.volume_path(volume["id"])
    act(admin, volume["id"], "os-reset_status", {"status": "creating"})

    assert act(alice, volume["id"], "os-force_delete", {}).status_code == 403
    assert act(admin, volume["id"], "os-force_delete", {}).status_code == 202

    api.wait_for(lambda: api.volume_status(alice, volume["id"]) is None)
    assert not path.exists()


def test_bootable_and_readonly_flags_are_set_and_shown(api: Api, alice: httpx.Client) -> None:
    volume = api.created(alice, metadata={"k": "v"})

    assert act(alice, volume["id"], "os-set_bootable", {"bootable": True}).status_code == 200
    assert shown(alice, volume["id"])["bootable"] == "true"
    assert act(alice, volume["id"], "os-set_bootable", {"bootable": "false"}).status_code == 200
    assert shown(alice, volume["id"])["bootable"] == "false"
    for readonly in (True, False):
        answer = act(alice, volume["id"], "os-update_readonly_flag", {"readonly": readonly})
        assert answer.status_code == 202
        assert shown(alice, volume["id"])["metadata"] == {"k": "v", "readonly": str(readonly)}


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("os-set_bootable", {"bootable": "maybe"}),
        ("os-set_bootable", {}),
        ("os-set_bootable", "true"),
        ("os-update_readonly_flag", {"readonly": 2}),
        ("os-update_readonly_flag", {}),
        ("os-set_image_metadata", {"metadata": {"k": 1}}),
        ("os-set_image_metadata", {"metadata": {}}),
        ("os-unset_image_metadata", {"key": ""}),
    ],
)
def test_bad_flag_or_metadata_arguments_are_400_and_change_nothing(
    api: Api, alice: httpx.Client, name: str, arguments: Any
) -> None:
    volume = api.created(alice)
    before = shown(alice, volume["id"])

    response = act(alice, volume["id"], name, arguments)

    assert response.status_code == 400, response.text
    assert shown(alice, volume["id"]) == before


def test_image_metadata_is_set_shown_and_unset(api: Api, alice: httpx.Client) -> None:
    volume = api.created(alice)

    answer = act(alice, volume["id"], "os-set_image_metadata", {"metadata": {"os": "linux"}})
    assert answer.status_code == 200
    assert answer.json() == {"metadata": {"os": "linux"}}
    act(alice, volume["id"], "os-set_image_metadata", {"metadata": {"arch": "x86_64"}})
    listed = act(alice, volume["id"], "os-show_image_metadata", {})
    assert listed.json() == {"metadata": {"os": "linux", "arch": "x86_64"}}
    assert shown(alice, volume["id"])["volume_image_metadata"] == {
        "os": "linux",
        "arch": "x86_64",
    }

    assert act(alice, volume["id"], "os-unset_image_metadata", {"key": "os"}).status_code == 200
    assert act(alice, volume["id"], "os-unset_image_metadata", {"key": "os"}).status_code == 404
    listed = act(alice, volume["id"], "os-show_image_metadata", None)
    assert listed.json() == {"metadata": {"arch": "x86_64"}}


def test_another_project_cannot_act_on_a_volume_it_cannot_see(
    api: Api, alice: httpx.Client, bob: httpx.Client
) -> None:
    volume = api.created(alice)

    assert act(bob, volume["id"], "os-set_bootable", {"bootable": True}).status_code == 404
    assert shown(alice, volume["id"])["bootable"] == "false"


def test_snapshot_status_is_reset_by_an_admin_and_reported_by_its_owner(
    api: Api, alice: httpx.Client, admin: httpx.Client
) -> None:
    volume = api.created(alice)
    snapshot = snapshot_of(api, alice, volume["id"])
    url = f"/v3/snapshots/{snapshot['id']}"

    assert (
        snapshot_act(alice, snapshot["id"], "os-reset_status", {"status": "error"}).status_code
        == 403
    )
    assert (
        snapshot_act(admin, snapshot["id"], "os-reset_status", {"status": "creating"}).status_code
        == 202
    )
    assert alice.get(url).json()["snapshot"]["status"] == "creating"
    report = {"status": "available", "progress": "80%"}
    assert (
        snapshot_act(alice, snapshot["id"], "os-update_snapshot_status", report).status_code == 202
    )
    found = alice.get(url).json()["snapshot"]
    assert found["status"] == "available"
    assert found["os-extended-snapshot-attributes:progress"] == "80%"
    # from available no report is accepted, and nothing changes
    refused = snapshot_act(alice, snapshot["id"], "os-update_snapshot_status", {"status": "error"})
    assert refused.status_code == 400
    assert alice.get(url).json()["snapshot"]["status"] == "available"


def test_an_admin_force_deletes_a_snapshot_in_error(
    api: Api, alice: httpx.Client, admin: httpx.Client
) -> None:
    volume = api.created(alice)
    snapshot = snapshot_of(api, alice, volume["id"])
    snapshot_act(admin, snapshot["id"], "os-reset_status", {"status": "error"})

    assert snapshot_act(alice, snapshot["id"], "os-force_delete", {}).status_code == 403
    assert snapshot_act(admin, snapshot["id"], "os-force_delete", {}).status_code == 202

    api.wait_for(lambda: alice.get(f"/v3/snapshots/{snapshot['id']}").status_code == 404)


def test_snapshot_metadata_answers_every_verb(api: Api, alice: httpx.Client) -> None:
    volume = api.created(alice)
    snapshot = snapshot_of(api, alice, volume["id"])
    url = f"/v3/snapshots/{snapshot['id']}/metadata"

    assert alice.get(url).json() == {"metadata": {}}
    assert alice.post(url, json={"metadata": {"a": "1", "b": "2"}}).json() == {
        "metadata": {"a": "1", "b": "2"}
    }
    assert alice.put(url, json={"metadata": {"c": "3"}}).json() == {"metadata": {"c": "3"}}
    assert alice.put(f"{url}/d", json={"meta": {"d": "4"}}).json() == {"meta": {"d": "4"}}
    assert alice.get(f"{url}/d").json() == {"meta": {"d": "4"}}
    assert alice.delete(f"{url}/d").status_code == 200
    assert alice.get(f"{url}/d").status_code == 404
    assert alice.delete(f"{url}/d").status_code == 404
    assert alice.put(f"{url}/e", json={"meta": {"f": "4"}}).status_code == 400
    assert alice.post(url, json={"metadata": {"k": 5}}).status_code == 400
    assert alice.get(url).json() == {"metadata": {"c": "3"}}
    assert alice.get(f"/v3/snapshots/{snapshot['id']}").json()["snapshot"]["metadata"] == {"c": "3"}
