"""The volume routes, driven over HTTP, with the bytes checked on the backend."""

from __future__ import annotations

import os

import httpx

from hearth.api import versions
from tests.functional.api.conftest import Api

V_LATEST = {versions.HEADER: f"volume {versions.MAX}"}


def test_a_created_volume_answers_202_and_becomes_available_as_a_file_of_its_size(
    api: Api, alice: httpx.Client
) -> None:
    response = alice.post("/v3/volumes", json={"volume": {"size": 1, "name": "v1"}})

    assert response.status_code == 202
    volume = response.json()["volume"]
    assert volume["status"] == "creating"
    api.wait_for(lambda: api.volume_status(alice, volume["id"]) == "available")
    assert os.path.getsize(api.hearth.volume_path(volume["id"])) == 1 << 30


def test_show_lists_every_documented_field_of_3_0_and_no_other(
    api: Api, alice: httpx.Client
) -> None:
    volume = api.created(alice, name="v1", metadata={"k": "v"})

    shown = alice.get(f"/v3/volumes/{volume['id']}").json()["volume"]

    assert set(shown) == {
        "id", "name", "description", "status", "size", "availability_zone", "created_at",
        "updated_at", "attachments", "volume_type", "snapshot_id", "source_volid", "metadata",
        "links", "user_id", "bootable", "encrypted", "replication_status",
        "consistencygroup_id", "multiattach",
    }  # fmt: skip
    assert shown["metadata"] == {"k": "v"}
    assert shown["bootable"] == "false"


def test_an_admin_sees_the_host_and_project_attributes_and_later_versions_add_fields(
    api: Api, alice: httpx.Client, admin: httpx.Client
) -> None:
    volume = api.created(alice)

    shown = admin.get(f"/v3/volumes/{volume['id']}", headers=V_LATEST).json()["volume"]

    assert shown["os-vol-host-attr:host"] == "hearth@local#local"  # host@backend#pool
    assert shown["os-vol-tenant-attr:tenant_id"] == "project-a"
    assert {"migration_status", "group_id", "provider_id"} <= set(shown)
    own = alice.get(f"/v3/volumes/{volume['id']}", headers=V_LATEST).json()["volume"]
    assert "os-vol-host-attr:host" not in own
    assert "provider_id" not in own
    assert own["group_id"] is None


def test_update_changes_name_description_and_metadata(api: Api, alice: httpx.Client) -> None:
    volume = api.created(alice, name="old")

    response = alice.put(
        f"/v3/volumes/{volume['id']}",
        json={"volume": {"name": "new", "description": "d", "metadata": {"a": "1"}}},
    )

    assert response.status_code == 200
    updated = response.json()["volume"]
    assert (updated["name"], updated["description"], updated["metadata"]) == (
        "new",
        "d",
        {"a": "1"},
    )


def test_a_deleted_volume_answers_202_then_404_and_its_file_is_gone(
    api: Api, alice: httpx.Client
) -> None:
    volume = api.created(alice)
    path = api.hearth.volume_path(volume["id"])

    response = alice.delete(f"/v3/volumes/{volume['id']}")

    assert response.status_code == 202
    api.wait_for(lambda: api.volume_status(alice, volume["id"]) is None)
    assert not path.exists()


def test_metadata_can_be_read_merged_replaced_and_deleted_by_key(
    api: Api, alice: httpx.Client
) -> None:
    volume = api.created(alice, metadata={"a": "1"})
    url = f"/v3/volumes/{volume['id']}/metadata"

    merged = alice.post(url, json={"metadata": {"b": "2"}}).json()
    item = alice.get(f"{url}/b").json()
    set_one = alice.put(f"{url}/c", json={"meta": {"c": "3"}})
    deleted = alice.delete(f"{url}/a")
    missing = alice.get(f"{url}/a")
    replaced = alice.put(url, json={"metadata": {"z": "9"}}).json()

    assert merged == {"metadata": {"a": "1", "b": "2"}}
    assert item == {"meta": {"b": "2"}}
    assert set_one.status_code == 200
    assert deleted.status_code == 200
    assert missing.status_code == 404
    assert replaced == {"metadata": {"z": "9"}}
    assert alice.get(url).json() == {"metadata": {"z": "9"}}


def test_os_extend_grows_the_volume_file(api: Api, alice: httpx.Client) -> None:
    volume = api.created(alice)

    response = alice.post(f"/v3/volumes/{volume['id']}/action", json={"os-extend": {"new_size": 2}})

    assert response.status_code == 202
    api.wait_for(lambda: api.volume_status(alice, volume["id"]) == "available")
    assert os.path.getsize(api.hearth.volume_path(volume["id"])) == 2 << 30


def test_an_unknown_action_is_a_bad_request(api: Api, alice: httpx.Client) -> None:
    volume = api.created(alice)

    response = alice.post(f"/v3/volumes/{volume['id']}/action", json={"os-no-such-action": {}})

    assert response.status_code == 400
    assert "no such action" in response.json()["badRequest"]["message"]


def test_lists_filter_by_name_status_and_metadata(api: Api, alice: httpx.Client) -> None:
    api.created(alice, name="a", metadata={"tier": "gold"})
    api.created(alice, name="b", metadata={"tier": "silver"})

    by_name = alice.get("/v3/volumes", params={"name": "a"}).json()["volumes"]
    by_meta = alice.get("/v3/volumes/detail", params={"metadata": "{'tier': 'silver'}"}).json()
    by_status = alice.get("/v3/volumes", params={"status": "error"}).json()["volumes"]

    assert [v["name"] for v in by_name] == ["a"]
    assert [v["name"] for v in by_meta["volumes"]] == ["b"]
    assert by_status == []


def test_pages_follow_the_next_links_through_every_volume_once(
    api: Api, alice: httpx.Client
) -> None:
    created = {api.created(alice, name=f"v{i}")["id"] for i in range(5)}

    seen: list[str] = []
    url: str | None = "/v3/volumes?limit=2&sort=name:asc"
    while url is not None:
        page = alice.get(url).json()
        seen += [v["id"] for v in page["volumes"]]
        links = page.get("volumes_links", [])
        url = links[0]["href"] if links else None

    assert sorted(seen) == sorted(created)
    assert len(seen) == 5


def test_an_unknown_sort_key_is_a_bad_request_naming_the_parameter(alice: httpx.Client) -> None:
    response = alice.get("/v3/volumes", params={"sort_key": "password"})

    assert response.status_code == 400
    assert "sort_key" in response.json()["badRequest"]["message"]


def test_routes_answer_with_and_without_the_project_in_the_url(
    api: Api, alice: httpx.Client
) -> None:
    volume = api.created(alice)

    with_project = alice.get(f"/v3/project-a/volumes/{volume['id']}")
    other_project = alice.get(f"/v3/project-b/volumes/{volume['id']}")

    assert with_project.status_code == 200
    assert other_project.status_code == 400


def test_the_summary_counts_the_callers_volumes(api: Api, alice: httpx.Client) -> None:
    api.created(alice)
    api.created(alice)

    response = alice.get("/v3/volumes/summary", headers=V_LATEST)

    assert response.json() == {"volume-summary": {"total_count": 2, "total_size": 2}}
