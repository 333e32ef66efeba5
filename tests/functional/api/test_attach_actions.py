"""The older attach API's volume actions over HTTP (what Nova sent before attachments), on
the file backend with ``local`` connections: Nova's attach and detach sequences, the
rollbacks, and each refused step (a clear 4xx that changes nothing)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.functional.api.conftest import Api

CONNECTOR = {"host": "compute-1", "platform": "x86_64", "os_type": "linux"}
SERVER = "0c9a9f0e-5fd4-4c8d-9f0a-0d7a4b8f2b6e"


def _act(
    client: httpx.Client, volume_id: str, action: str, arguments: Any = None
) -> httpx.Response:
    return client.post(f"/v3/volumes/{volume_id}/action", json={action: arguments})


def _status(client: httpx.Client, volume_id: str) -> str:
    return str(client.get(f"/v3/volumes/{volume_id}").json()["volume"]["status"])


def test_novas_legacy_attach_then_detach_sequence(api: Api, alice: httpx.Client) -> None:
    volume = api.created(alice)
    vid = volume["id"]

    assert _act(alice, vid, "os-reserve").status_code == 202
    assert _status(alice, vid) == "reserved"
    initialized = _act(alice, vid, "os-initialize_connection", {"connector": CONNECTOR})
    assert initialized.status_code == 200, initialized.text
    info = initialized.json()["connection_info"]
    assert info["driver_volume_type"] == "local"
    assert info["data"]["device_path"] == str(api.hearth.volume_path(vid))
    again = _act(alice, vid, "os-initialize_connection", {"connector": CONNECTOR})
    assert again.json()["connection_info"] == info  # asked twice, the same export
    attach = {"instance_uuid": SERVER, "mountpoint": "/dev/vdb", "mode": "rw"}
    assert _act(alice, vid, "os-attach", attach).status_code == 202
    shown = alice.get(f"/v3/volumes/{vid}").json()["volume"]
    assert shown["status"] == "in-use"
    [entry] = shown["attachments"]
    assert (entry["server_id"], entry["device"]) == (SERVER, "/dev/vdb")

    assert _act(alice, vid, "os-begin_detaching").status_code == 202
    assert _status(alice, vid) == "detaching"
    assert _act(alice, vid, "os-roll_detaching").status_code == 202
    assert _status(alice, vid) == "in-use"
    assert _act(alice, vid, "os-begin_detaching").status_code == 202
    assert _act(alice, vid, "os-terminate_connection", {"connector": CONNECTOR}).status_code == 202
    assert _act(alice, vid, "os-detach", {"attachment_id": None}).status_code == 202
    assert _status(alice, vid) == "available"
    assert alice.get(f"/v3/volumes/{vid}").json()["volume"]["attachments"] == []


def test_reserve_then_unreserve_and_a_rolled_back_initialize(api: Api, alice: httpx.Client) -> None:
    vid = api.created(alice)["id"]

    assert _act(alice, vid, "os-reserve", {}).status_code == 202
    assert _act(alice, vid, "os-unreserve", {}).status_code == 202
    assert _status(alice, vid) == "available"
    assert _act(alice, vid, "os-reserve").status_code == 202
    assert _act(alice, vid, "os-initialize_connection", {"connector": CONNECTOR}).status_code == 200
    assert _act(alice, vid, "os-terminate_connection", {"connector": CONNECTOR}).status_code == 202
    assert _status(alice, vid) == "available"


def test_os_detach_and_force_detach_remove_attachments(
    api: Api, alice: httpx.Client, admin: httpx.Client
) -> None:
    vid = api.created(alice)["id"]
    _act(alice, vid, "os-reserve")
    _act(alice, vid, "os-initialize_connection", {"connector": CONNECTOR})
    _act(alice, vid, "os-attach", {"instance_uuid": SERVER, "mountpoint": "/dev/vdb"})

    refused = _act(alice, vid, "os-force_detach", {})
    assert refused.status_code == 403
    assert _status(alice, vid) == "in-use"
    assert _act(admin, vid, "os-force_detach", {}).status_code == 202
    assert _status(alice, vid) == "available"

    _act(alice, vid, "os-reserve")
    _act(alice, vid, "os-attach", {"instance_uuid": SERVER})  # no export: a reserved attach
    assert _status(alice, vid) == "in-use"
    assert _act(alice, vid, "os-detach", {}).status_code == 202
    assert _status(alice, vid) == "available"


def test_refused_legacy_steps_change_nothing(
    api: Api, alice: httpx.Client, bob: httpx.Client
) -> None:
    vid = api.created(alice)["id"]

    for action, arguments, status in (
        ("os-unreserve", None, 409),
        ("os-attach", {"instance_uuid": SERVER}, 409),
        ("os-begin_detaching", None, 409),
        ("os-initialize_connection", {"connector": "compute-1"}, 400),
        ("os-initialize_connection", {}, 400),
        ("os-terminate_connection", {"connector": []}, 400),
        ("os-reserve", [], 400),
        ("os-detach", {"attachment_id": "no-such-attachment"}, 400),
    ):
        answer = _act(alice, vid, action, arguments)
        assert answer.status_code == status, (action, answer.text)
        [error] = answer.json().values()
        assert error["message"]
        assert _status(alice, vid) == "available", action
    assert _act(bob, vid, "os-reserve").status_code == 404
    _act(alice, vid, "os-reserve")
    assert _act(alice, vid, "os-reserve").status_code == 409  # not multiattach
    assert _act(alice, vid, "os-attach", {"instance_uuid": SERVER, "mode": "rx"}).status_code == 400
    assert _status(alice, vid) == "reserved"
    assert alice.delete(f"/v3/volumes/{vid}").status_code == 409
