"""Snapshots, volume types, messages and limits, driven over HTTP."""

from __future__ import annotations

import httpx

from hearth.api import versions
from tests.functional.api.conftest import Api

V3_3 = {versions.HEADER: "volume 3.3"}


def test_a_snapshot_is_created_listed_updated_and_deleted(api: Api, alice: httpx.Client) -> None:
    volume = api.created(alice)

    created = alice.post(
        "/v3/snapshots", json={"snapshot": {"volume_id": volume["id"], "name": "s1"}}
    )
    snapshot = created.json()["snapshot"]
    url = f"/v3/snapshots/{snapshot['id']}"
    api.wait_for(lambda: alice.get(url).json()["snapshot"]["status"] == "available")
    shown = alice.get(url).json()["snapshot"]
    listed = alice.get("/v3/snapshots").json()["snapshots"]
    detailed = alice.get("/v3/snapshots/detail").json()["snapshots"]
    updated = alice.put(url, json={"snapshot": {"name": "s2"}})
    deleted = alice.delete(url)
    api.wait_for(lambda: alice.get(url).status_code == 404)

    assert created.status_code == 202
    assert shown["os-extended-snapshot-attributes:progress"] == "100%"
    assert shown["os-extended-snapshot-attributes:project_id"] == "project-a"
    assert set(listed[0]) == {
        "id", "name", "description", "volume_id", "status", "size", "metadata",
        "created_at", "updated_at",
    }  # fmt: skip
    assert detailed[0]["id"] == snapshot["id"]
    assert updated.status_code == 200 and updated.json()["snapshot"]["name"] == "s2"
    assert deleted.status_code == 202


def test_a_volume_is_created_from_a_snapshot_and_cloned_with_the_same_bytes(
    api: Api, alice: httpx.Client
) -> None:
    source = api.created(alice)
    path = api.hearth.volume_path(source["id"])
    with path.open("r+b") as handle:
        handle.write(b"hearth!")
    snapshot = alice.post("/v3/snapshots", json={"snapshot": {"volume_id": source["id"]}}).json()
    url = f"/v3/snapshots/{snapshot['snapshot']['id']}"
    api.wait_for(lambda: alice.get(url).json()["snapshot"]["status"] == "available")

    from_snapshot = api.created(alice, snapshot_id=snapshot["snapshot"]["id"], size=2)
    clone = api.created(alice, source_volid=source["id"])

    for made in (from_snapshot, clone):
        with api.hearth.volume_path(made["id"]).open("rb") as handle:
            assert handle.read(7) == b"hearth!"


def test_everyone_lists_and_shows_types_but_only_admins_create_them(
    alice: httpx.Client, admin: httpx.Client
) -> None:
    body = {"volume_type": {"name": "gold", "extra_specs": {"tier": "gold"}}}

    refused = alice.post("/v3/types", json=body)
    created = admin.post("/v3/types", json=body)
    type_id = created.json()["volume_type"]["id"]
    listed = alice.get("/v3/types").json()["volume_types"]
    shown = alice.get(f"/v3/types/{type_id}").json()["volume_type"]
    default = alice.get("/v3/types/default").json()["volume_type"]

    assert refused.status_code == 403
    assert "forbidden" in refused.json()
    assert created.status_code == 200
    assert {t["name"] for t in listed} == {"__DEFAULT__", "gold"}
    assert shown["extra_specs"] == {"tier": "gold"}
    assert default["name"] == "__DEFAULT__"


def test_admins_set_and_unset_extra_specs(admin: httpx.Client, alice: httpx.Client) -> None:
    type_id = admin.post("/v3/types", json={"volume_type": {"name": "t"}}).json()["volume_type"][
        "id"
    ]
    url = f"/v3/types/{type_id}/extra_specs"

    added = admin.post(url, json={"extra_specs": {"a": "1", "b": "2"}})
    refused = alice.post(url, json={"extra_specs": {"c": "3"}})
    removed = admin.delete(f"{url}/a")

    assert added.json() == {"extra_specs": {"a": "1", "b": "2"}}
    assert refused.status_code == 403
    assert removed.status_code == 202
    assert admin.get(url).json() == {"extra_specs": {"b": "2"}}
    assert admin.get(f"{url}/b").json() == {"b": "2"}


def test_a_failed_create_leaves_a_message_carrying_the_request_id(
    api: Api, alice: httpx.Client, admin: httpx.Client
) -> None:
    admin.post("/v3/types", json={"volume_type": {"name": "nowhere", "extra_specs": {"tier": "x"}}})
    response = alice.post("/v3/volumes", json={"volume": {"size": 1, "volume_type": "nowhere"}})
    volume_id = response.json()["volume"]["id"]
    api.wait_for(lambda: api.volume_status(alice, volume_id) == "error")

    messages = alice.get("/v3/messages", headers=V3_3).json()["messages"]

    [message] = messages
    assert message["resource_uuid"] == volume_id
    assert message["request_id"] == response.headers["x-openstack-request-id"]
    assert set(message) == {
        "id", "event_id", "user_message", "message_level", "resource_type", "resource_uuid",
        "created_at", "guaranteed_until", "request_id", "links",
    }  # fmt: skip
    url = f"/v3/messages/{message['id']}"
    assert alice.get(url, headers=V3_3).json()["message"]["id"] == message["id"]
    assert alice.delete(url, headers=V3_3).status_code == 204
    assert alice.get(url, headers=V3_3).status_code == 404


def test_limits_report_the_projects_usage_without_limits(api: Api, alice: httpx.Client) -> None:
    api.created(alice)

    absolute = alice.get("/v3/limits").json()["limits"]["absolute"]

    assert absolute["totalVolumesUsed"] == 1
    assert absolute["totalGigabytesUsed"] == 1
    assert absolute["maxTotalVolumes"] == -1


def test_every_response_carries_a_request_id_errors_included(api: Api, alice: httpx.Client) -> None:
    responses = [
        alice.get("/v3/volumes"),
        alice.get("/v3/volumes/nope"),
        alice.post("/v3/volumes", content=b"{"),
        httpx.get(f"{api.url}/"),
        httpx.get(f"{api.url}/v3/volumes"),
        alice.get("/v3/no-such-route"),
        alice.patch("/v3/volumes"),
    ]

    ids = [r.headers.get("x-openstack-request-id", "") for r in responses]
    assert all(i.startswith("req-") for i in ids), ids
    assert len(set(ids)) == len(ids)
    assert "itemNotFound" in responses[5].json()
    assert "badMethod" in responses[6].json()
