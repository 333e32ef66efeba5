"""The attachments API (3.27+) over HTTP on the file backend with ``local`` connections: the
status machine, each refused transition (a clear 4xx that changes nothing), the volume
view's attachments and the notifications."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from hearth.api import versions
from tests.functional.api.conftest import Api

V = {versions.HEADER: "volume 3.27"}
CONNECTOR = {"host": "compute-1", "platform": "x86_64", "os_type": "linux", "multipath": False}
SERVER = "8a7b7f4e-54a1-4bf3-8e39-6ce4d4d1d0a1"


def _attach(client: httpx.Client, volume_id: str, **fields: Any) -> httpx.Response:
    body = {"attachment": {"volume_uuid": volume_id, **fields}}
    return client.post("/v3/attachments", json=body, headers=V)


def _state(api: Api, client: httpx.Client, volume_id: str) -> tuple[str, list[Any]]:
    volume = client.get(f"/v3/volumes/{volume_id}", headers=V).json()["volume"]
    found = client.get(f"/v3/attachments?volume_id={volume_id}", headers=V).json()
    return volume["status"], sorted(a["status"] for a in found["attachments"])


def _events(api: Api) -> list[str]:
    memory = api.hearth.services.memory_notifications
    assert memory is not None
    return [n.event_type for n in memory.received() if ".attach." in n.event_type
            or ".detach." in n.event_type]  # fmt: skip


def test_reserve_update_complete_delete_walks_the_volume_through_cinders_statuses(
    api: Api, alice: httpx.Client
) -> None:
    volume = api.created(alice)

    reserved = _attach(alice, volume["id"], instance_uuid=SERVER)
    assert reserved.status_code == 200, reserved.text
    attachment = reserved.json()["attachment"]
    assert attachment["status"] == "reserved"
    assert attachment["connection_info"] is None
    assert _state(api, alice, volume["id"]) == ("reserved", ["reserved"])

    updated = alice.put(
        f"/v3/attachments/{attachment['id']}", json={"attachment": {"connector": CONNECTOR}},
        headers=V,
    )  # fmt: skip
    assert updated.status_code == 200, updated.text
    info = updated.json()["attachment"]["connection_info"]
    assert info["driver_volume_type"] == "local"
    assert info["data"]["device_path"] == str(api.hearth.volume_path(volume["id"]))
    assert info["data"]["access_mode"] == "rw"
    assert _state(api, alice, volume["id"]) == ("attaching", ["attaching"])

    completed = alice.post(
        f"/v3/attachments/{attachment['id']}/action", json={"os-complete": {}}, headers=V
    )
    assert completed.status_code == 204, completed.text
    assert _state(api, alice, volume["id"]) == ("in-use", ["attached"])
    shown = alice.get(f"/v3/volumes/{volume['id']}").json()["volume"]
    [entry] = shown["attachments"]
    assert entry["attachment_id"] == attachment["id"]
    assert entry["server_id"] == SERVER
    assert entry["host_name"] == "compute-1"

    deleted = alice.delete(f"/v3/attachments/{attachment['id']}", headers=V)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"attachments": []}
    assert _state(api, alice, volume["id"]) == ("available", [])
    assert alice.get(f"/v3/attachments/{attachment['id']}", headers=V).status_code == 404
    expected = [
        "volume.attach.start", "volume.attach.end", "volume.detach.start", "volume.detach.end",
    ]  # fmt: skip
    api.wait_for(lambda: _events(api) == expected, timeout=10)


def test_bytes_written_through_a_local_connection_are_the_volume_files(
    api: Api, alice: httpx.Client
) -> None:
    volume = api.created(alice)
    made = _attach(alice, volume["id"], connector=CONNECTOR)
    path = made.json()["attachment"]["connection_info"]["data"]["device_path"]

    with open(path, "r+b") as device:
        device.seek(4096)
        device.write(b"hearth" * 10)

    with open(api.hearth.volume_path(volume["id"]), "rb") as stored:
        stored.seek(4096)
        assert stored.read(60) == b"hearth" * 10
    assert os.path.getsize(path) == 1 << 30


def test_a_create_with_a_connector_exports_at_once(api: Api, alice: httpx.Client) -> None:
    volume = api.created(alice)

    made = _attach(alice, volume["id"], connector=CONNECTOR, mode="ro")

    assert made.status_code == 200, made.text
    attachment = made.json()["attachment"]
    assert attachment["status"] == "attaching"
    assert attachment["attach_mode"] == "ro"
    assert attachment["connection_info"]["data"]["access_mode"] == "ro"


def _refused(
    api: Api,
    client: httpx.Client,
    volume_id: str,
    request: Callable[[], httpx.Response],
    status: int,
) -> httpx.Response:
    """Send ``request``; it must be refused with ``status`` and change nothing."""
    before = _state(api, client, volume_id)
    response = request()
    assert response.status_code == status, response.text
    [error] = response.json().values()
    assert error["code"] == status and error["message"]
    assert _state(api, client, volume_id) == before
    return response


def test_every_refused_transition_is_a_clear_error_that_changes_nothing(
    api: Api, alice: httpx.Client
) -> None:
    volume = api.created(alice)
    reserved = _attach(alice, volume["id"]).json()["attachment"]
    url = f"/v3/attachments/{reserved['id']}"

    complete_unexported = _refused(
        api,
        alice,
        volume["id"],
        lambda: alice.post(f"{url}/action", json={"os-complete": {}}, headers=V),
        409,
    )
    assert "reserved" in complete_unexported.json()["conflictingRequest"]["message"]
    _refused(api, alice, volume["id"], lambda: _attach(alice, volume["id"]), 409)
    _refused(api, alice, volume["id"], lambda: alice.delete(f"/v3/volumes/{volume['id']}"), 409)
    _refused(
        api, alice, volume["id"], lambda: alice.put(url, json={"attachment": {}}, headers=V), 400
    )
    _refused(
        api,
        alice,
        volume["id"],
        lambda: alice.put(url, json={"attachment": {"connector": "host"}}, headers=V),
        400,
    )
    bad_initiator = _refused(
        api,
        alice,
        volume["id"],
        lambda: alice.put(url, json={"attachment": {"connector": {"initiator": 7}}}, headers=V),
        400,
    )
    assert "connector.initiator" in bad_initiator.text
    _refused(
        api,
        alice,
        volume["id"],
        lambda: alice.put(url, json={"attachment": {"connector": {}, "mode": "rx"}}, headers=V),
        400,
    )
    _refused(
        api,
        alice,
        volume["id"],
        lambda: alice.post(f"{url}/action", json={"os-explode": {}}, headers=V),
        400,
    )

    alice.put(url, json={"attachment": {"connector": CONNECTOR}}, headers=V)
    alice.post(f"{url}/action", json={"os-complete": {}}, headers=V)
    _refused(
        api,
        alice,
        volume["id"],
        lambda: alice.put(url, json={"attachment": {"connector": CONNECTOR}}, headers=V),
        409,
    )
    _refused(api, alice, volume["id"], lambda: alice.delete(f"/v3/volumes/{volume['id']}"), 409)
    _refused(
        api,
        alice,
        volume["id"],
        lambda: alice.post(
            f"/v3/volumes/{volume['id']}/action", json={"os-extend": {"new_size": 2}}
        ),
        409,
    )
    _refused(
        api,
        alice,
        volume["id"],
        lambda: alice.post("/v3/snapshots", json={"snapshot": {"volume_id": volume["id"]}}),
        409,
    )
    assert _state(api, alice, volume["id"]) == ("in-use", ["attached"])
    again = alice.post(f"{url}/action", json={"os-complete": {}}, headers=V)
    assert again.status_code == 204  # completing twice changes nothing


def test_requests_that_name_nothing_valid_are_refused(
    api: Api, alice: httpx.Client, bob: httpx.Client
) -> None:
    volume = api.created(alice)
    attachment = _attach(alice, volume["id"]).json()["attachment"]

    assert _attach(alice, "no-such-volume").status_code == 404
    missing = alice.post("/v3/attachments", json={"attachment": {}}, headers=V)
    assert missing.status_code == 400 and "volume_uuid" in missing.text
    assert _attach(bob, volume["id"]).status_code == 404
    assert bob.get(f"/v3/attachments/{attachment['id']}", headers=V).status_code == 404
    assert bob.delete(f"/v3/attachments/{attachment['id']}", headers=V).status_code == 404
    assert bob.get("/v3/attachments", headers=V).json() == {"attachments": []}
    assert alice.get("/v3/attachments").status_code == 404  # 3.0: no such route
    long_instance = _attach(alice, volume["id"], instance_uuid="x" * 300)
    assert long_instance.status_code in (400, 409)
    assert _state(api, alice, volume["id"]) == ("reserved", ["reserved"])


def test_deleting_a_reserved_attachment_makes_the_volume_available_again(
    api: Api, alice: httpx.Client
) -> None:
    volume = api.created(alice)
    attachment = _attach(alice, volume["id"]).json()["attachment"]

    deleted = alice.delete(f"/v3/attachments/{attachment['id']}", headers=V)

    assert deleted.status_code == 200
    assert _state(api, alice, volume["id"]) == ("available", [])
    assert alice.delete(f"/v3/volumes/{volume['id']}").status_code == 202


@pytest.fixture
def multiattach_type(admin: httpx.Client) -> str:
    made = admin.post(
        "/v3/types",
        json={"volume_type": {"name": "shared", "extra_specs": {"multiattach": "<is> True"}}},
    )
    assert made.status_code == 200, made.text
    return str(made.json()["volume_type"]["name"])


def test_a_multiattach_volume_stays_in_use_until_its_last_attachment_goes(
    api: Api, alice: httpx.Client, multiattach_type: str
) -> None:
    volume = api.created(alice, volume_type=multiattach_type)
    assert alice.get(f"/v3/volumes/{volume['id']}").json()["volume"]["multiattach"] is True
    ids = []
    for host in ("compute-1", "compute-2"):
        made = _attach(alice, volume["id"], connector={**CONNECTOR, "host": host})
        assert made.status_code == 200, made.text
        ids.append(made.json()["attachment"]["id"])
        alice.post(f"/v3/attachments/{ids[-1]}/action", json={"os-complete": {}}, headers=V)
    assert _state(api, alice, volume["id"]) == ("in-use", ["attached", "attached"])

    first = alice.delete(f"/v3/attachments/{ids[0]}", headers=V)

    assert [a["id"] for a in first.json()["attachments"]] == [ids[1]]
    assert _state(api, alice, volume["id"]) == ("in-use", ["attached"])
    alice.delete(f"/v3/attachments/{ids[1]}", headers=V)
    assert _state(api, alice, volume["id"]) == ("available", [])
