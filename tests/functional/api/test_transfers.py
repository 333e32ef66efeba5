"""Volume transfers over HTTP: an accepted transfer moves the volume, its snapshots, its
quota and its visibility to the taker; a wrong key, a full taker or a withdrawn offer
change nothing."""

from __future__ import annotations

from typing import Any

import httpx

from tests.functional.api.conftest import Api


def offer(alice: httpx.Client, volume_id: str) -> dict[str, Any]:
    answer = alice.post(
        "/v3/os-volume-transfer", json={"transfer": {"volume_id": volume_id, "name": "gift"}}
    )
    assert answer.status_code == 202, answer.text
    transfer: dict[str, Any] = answer.json()["transfer"]
    return transfer


def in_use(admin: httpx.Client, project: str, resource: str) -> int:
    shown = admin.get(f"/v3/os-quota-sets/{project}", params={"usage": "True"}).json()
    return int(shown["quota_set"][resource]["in_use"])


def test_an_accepted_transfer_moves_the_volume_its_quota_and_its_visibility(
    api: Api, admin: httpx.Client, alice: httpx.Client, bob: httpx.Client
) -> None:
    volume = api.created(alice, size=2)
    snap = alice.post("/v3/snapshots", json={"snapshot": {"volume_id": volume["id"]}})
    api.wait_for(
        lambda: (
            alice.get(f"/v3/snapshots/{snap.json()['snapshot']['id']}").json()["snapshot"]["status"]
            == "available"
        )
    )
    transfer = offer(alice, volume["id"])
    assert len(transfer["auth_key"]) == 16
    assert api.volume_status(alice, volume["id"]) == "awaiting-transfer"
    assert (
        "auth_key" not in alice.get(f"/v3/os-volume-transfer/{transfer['id']}").json()["transfer"]
    )
    assert [t["id"] for t in alice.get("/v3/os-volume-transfer").json()["transfers"]] == [
        transfer["id"]
    ]
    assert bob.get(f"/v3/os-volume-transfer/{transfer['id']}").status_code == 404

    accept = f"/v3/os-volume-transfer/{transfer['id']}/accept"
    wrong = bob.post(accept, json={"accept": {"auth_key": "0" * 16}})
    assert wrong.status_code == 400 and "auth_key" in wrong.text
    taken = bob.post(accept, json={"accept": {"auth_key": transfer["auth_key"]}})
    assert taken.status_code == 202, taken.text
    assert api.volume_status(bob, volume["id"]) == "available"
    assert alice.get(f"/v3/volumes/{volume['id']}").status_code == 404
    assert [s["id"] for s in bob.get("/v3/snapshots").json()["snapshots"]] == [
        snap.json()["snapshot"]["id"]
    ]
    assert (
        in_use(admin, "project-a", "gigabytes") == 0 and in_use(admin, "project-a", "volumes") == 0
    )
    assert (
        in_use(admin, "project-b", "gigabytes") == 4
        and in_use(admin, "project-b", "snapshots") == 1
    )
    assert api.hearth.check_quotas() == []
    assert bob.post(accept, json={"accept": {"auth_key": transfer["auth_key"]}}).status_code == 404


def test_a_taker_without_quota_room_gets_413_and_nothing_moves(
    api: Api, admin: httpx.Client, alice: httpx.Client, bob: httpx.Client
) -> None:
    volume = api.created(alice, size=1)
    admin.put("/v3/os-quota-sets/project-b", json={"quota_set": {"volumes": 0}})
    transfer = offer(alice, volume["id"])
    refused = bob.post(
        f"/v3/os-volume-transfer/{transfer['id']}/accept",
        json={"accept": {"auth_key": transfer["auth_key"]}},
    )
    assert refused.status_code == 413 and "volumes" in refused.text
    assert api.volume_status(alice, volume["id"]) == "awaiting-transfer"
    assert in_use(admin, "project-a", "volumes") == 1 and in_use(admin, "project-b", "volumes") == 0
    assert alice.delete(f"/v3/os-volume-transfer/{transfer['id']}").status_code == 202
    assert api.volume_status(alice, volume["id"]) == "available"
    assert alice.get("/v3/os-volume-transfer").json() == {"transfers": []}


def test_bad_transfer_requests_are_refused_and_change_nothing(
    api: Api, alice: httpx.Client, bob: httpx.Client
) -> None:
    volume = api.created(alice, size=1)
    for body, status in (({}, 400), ({"volume_id": "nope"}, 404)):
        assert alice.post("/v3/os-volume-transfer", json={"transfer": body}).status_code == status
    bobs = bob.post("/v3/os-volume-transfer", json={"transfer": {"volume_id": volume["id"]}})
    assert bobs.status_code == 404
    offer(alice, volume["id"])
    again = alice.post("/v3/os-volume-transfer", json={"transfer": {"volume_id": volume["id"]}})
    assert again.status_code == 409
    assert alice.delete(f"/v3/volumes/{volume['id']}").status_code == 409
