"""Image changes over real HTTP: deactivate and reactivate (no volume from a deactivated
image), JSON-patch updates, and downloads of the bytes as uploaded. Refusals change
nothing."""

from __future__ import annotations

import httpx

from tests.functional.api.conftest import Api
from tests.functional.api.test_images import IMAGES, message, registered, uploaded

PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}


def test_a_deactivated_image_makes_no_volume_until_reactivated(
    api: Api, alice: httpx.Client
) -> None:
    image = uploaded(alice, b"\0" * 65536)
    url = f"{IMAGES}/{image['id']}/actions"

    off = alice.post(f"{url}/deactivate")
    again = alice.post(f"{url}/deactivate")
    refused = alice.post("/v3/volumes", json={"volume": {"size": 1, "imageRef": image["id"]}})
    download = alice.get(f"{IMAGES}/{image['id']}/file")
    on = alice.post(f"{url}/reactivate")

    assert (off.status_code, again.status_code, on.status_code) == (204, 204, 204)
    assert refused.status_code == 400
    assert "deactivated" in message(refused)
    assert download.status_code == 403
    assert alice.get("/v3/volumes").json()["volumes"] == []
    assert alice.get(f"{IMAGES}/{image['id']}").json()["status"] == "active"
    api.created(alice, imageRef=image["id"])


def test_bad_toggles_are_refused(alice: httpx.Client, bob: httpx.Client) -> None:
    queued = registered(alice)
    active = uploaded(alice, b"x" * 512)

    not_active = alice.post(f"{IMAGES}/{queued['id']}/actions/deactivate")
    unknown = alice.post(f"{IMAGES}/{active['id']}/actions/explode")
    other_project = bob.post(f"{IMAGES}/{active['id']}/actions/deactivate")

    assert [r.status_code for r in (not_active, unknown, other_project)] == [409, 404, 404]
    assert alice.get(f"{IMAGES}/{queued['id']}").json()["status"] == "queued"
    assert alice.get(f"{IMAGES}/{active['id']}").json()["status"] == "active"


def test_a_download_answers_the_bytes_as_uploaded(alice: httpx.Client) -> None:
    data = bytes(range(256)) * 64
    image = uploaded(alice, data)
    queued = registered(alice)

    response = alice.get(f"{IMAGES}/{image['id']}/file")

    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-md5"] == image["checksum"]
    assert alice.get(f"{IMAGES}/{queued['id']}/file").status_code == 204


def test_a_patch_changes_fields_and_properties(alice: httpx.Client) -> None:
    image = uploaded(alice, b"y" * 512, os_distro="debian")
    operations = [
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "replace", "path": "/min_disk", "value": 2},
        {"op": "add", "path": "/hw_disk_bus", "value": "scsi"},
        {"op": "remove", "path": "/os_distro"},
    ]

    response = alice.patch(f"{IMAGES}/{image['id']}", json=operations, headers=PATCH)

    assert response.status_code == 200
    shown = alice.get(f"{IMAGES}/{image['id']}").json()
    assert (shown["name"], shown["min_disk"], shown["hw_disk_bus"]) == ("renamed", 2, "scsi")
    assert "os_distro" not in shown


def test_bad_patches_are_refused_and_change_nothing(alice: httpx.Client, bob: httpx.Client) -> None:
    image = uploaded(alice, b"z" * 512, os_distro="debian")
    url = f"{IMAGES}/{image['id']}"
    good = {"op": "replace", "path": "/name", "value": "changed"}

    cases = {
        "read-only": [good, {"op": "replace", "path": "/size", "value": 1}],
        "count": [good, {"op": "replace", "path": "/min_disk", "value": -1}],
        "op": [good, {"op": "move", "path": "/name"}],
        "missing": [good, {"op": "remove", "path": "/nothing"}],
        "public": [good, {"op": "replace", "path": "/visibility", "value": "public"}],
    }
    answers = {key: alice.patch(url, json=ops, headers=PATCH) for key, ops in cases.items()}
    not_a_list = alice.patch(url, json={"op": "replace"}, headers=PATCH)
    wrong_type = alice.patch(url, json=[good], headers={"Content-Type": "application/json"})
    other_project = bob.patch(url, json=[good], headers=PATCH)

    assert {key: r.status_code for key, r in answers.items()} == dict.fromkeys(cases, 400)
    assert (not_a_list.status_code, wrong_type.status_code) == (400, 415)
    assert other_project.status_code == 404
    shown = alice.get(url).json()
    assert (shown["name"], shown["min_disk"], shown["os_distro"]) == ("img", 0, "debian")
