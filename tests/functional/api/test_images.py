"""The Image v2 subset over real HTTP: create, upload, list, show, delete; bad input,
statuses, project isolation, hostile uploads and the upload body limit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.functional.api.conftest import Api, start_api
from tests.images import known_raw, made_as, with_backing_file

IMAGES = "/image/v2/images"
OCTETS = {"Content-Type": "application/octet-stream"}
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def registered(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = {"name": "img", "disk_format": "raw", "container_format": "bare", **fields}
    response = client.post(IMAGES, json=body)
    assert response.status_code == 201, response.text
    image: dict[str, Any] = response.json()
    return image


def uploaded(client: httpx.Client, data: bytes, **fields: Any) -> dict[str, Any]:
    image = registered(client, **fields)
    response = client.put(f"{IMAGES}/{image['id']}/file", content=data, headers=OCTETS)
    assert response.status_code == 204, response.text
    shown: dict[str, Any] = client.get(f"{IMAGES}/{image['id']}").json()
    return shown


def message(response: httpx.Response) -> str:
    [(_, fault)] = response.json().items()
    return str(fault["message"])


def test_an_image_is_queued_then_active_with_glance_fields(alice: httpx.Client) -> None:
    image = registered(alice, min_disk=1, architecture="x86_64")
    data = b"hearth" * 100_000  # larger than the JSON body limit

    upload = alice.put(f"{IMAGES}/{image['id']}/file", content=data, headers=OCTETS)
    active = alice.get(f"{IMAGES}/{image['id']}").json()

    assert (image["status"], image["size"], image["owner"]) == ("queued", None, "project-a")
    assert upload.status_code == 204
    assert active["status"] == "active"
    assert (active["size"], active["virtual_size"]) == (len(data), len(data))
    assert (active["os_hash_algo"], len(active["os_hash_value"])) == ("sha256", 64)
    assert (active["min_disk"], active["architecture"], active["visibility"]) == (
        1,
        "x86_64",
        "private",
    )
    assert active["self"] == f"/v2/images/{image['id']}"
    assert active["file"] == f"/v2/images/{image['id']}/file"


def test_bad_fields_are_refused_naming_the_field_and_nothing_is_created(
    api: Api, alice: httpx.Client
) -> None:
    cases = {
        "disk_format": {"name": "img", "disk_format": "floppy"},
        "name": {"name": 42, "disk_format": "raw"},
        "status": {"name": "img", "disk_format": "raw", "status": "active"},
        "min_disk": {"name": "img", "disk_format": "raw", "min_disk": -1},
        "tags": {"name": "img", "disk_format": "raw", "tags": ["a"]},
        "properties": {"name": "img", "disk_format": "raw", "color": 3},
    }
    for field, body in cases.items():
        response = alice.post(IMAGES, json=body)
        assert response.status_code == 400, (field, response.text)
        assert field in response.json()["badRequest"]["message"], field

    assert alice.post(IMAGES, content=b"[1]").status_code == 400
    assert alice.get(IMAGES).json()["images"] == []
    assert api.hearth.list_images() == []


def test_unknown_images_are_not_found_and_a_second_upload_conflicts(
    alice: httpx.Client,
) -> None:
    image = uploaded(alice, b"first")

    unknown = alice.put(f"{IMAGES}/{UNKNOWN}/file", content=b"x", headers=OCTETS)
    again = alice.put(f"{IMAGES}/{image['id']}/file", content=b"second", headers=OCTETS)
    by_name = alice.get(f"{IMAGES}/img")
    as_json = alice.put(f"{IMAGES}/{image['id']}/file", json={"data": 1})

    assert unknown.status_code == 404
    assert "itemNotFound" in unknown.json()
    assert again.status_code == 409
    assert "active" in message(again)
    assert by_name.status_code == 404  # URLs hold ids; names are found by listing
    assert as_json.status_code == 415
    assert alice.get(f"{IMAGES}/{image['id']}").json()["size"] == len(b"first")


def test_another_project_cannot_see_upload_or_delete_a_private_image(
    alice: httpx.Client, bob: httpx.Client
) -> None:
    queued = registered(alice, name="queued")
    image = uploaded(alice, b"secret")

    assert bob.get(IMAGES).json()["images"] == []
    assert bob.get(f"{IMAGES}/{image['id']}").status_code == 404
    assert bob.delete(f"{IMAGES}/{image['id']}").status_code == 404
    upload = bob.put(f"{IMAGES}/{queued['id']}/file", content=b"mine", headers=OCTETS)
    assert upload.status_code == 404
    assert alice.get(f"{IMAGES}/{queued['id']}").json()["status"] == "queued"
    assert alice.get(f"{IMAGES}/{image['id']}").json()["status"] == "active"


def test_a_public_image_is_seen_by_every_project_and_deleted_only_by_its_owner(
    admin: httpx.Client, bob: httpx.Client
) -> None:
    image = uploaded(admin, b"for all", visibility="public")

    assert [i["id"] for i in bob.get(IMAGES).json()["images"]] == [image["id"]]
    assert bob.delete(f"{IMAGES}/{image['id']}").status_code == 404
    assert admin.delete(f"{IMAGES}/{image['id']}").status_code == 204
    assert bob.get(f"{IMAGES}/{image['id']}").status_code == 404


def test_a_public_image_is_refused_to_a_member(alice: httpx.Client) -> None:
    response = alice.post(IMAGES, json={"name": "p", "disk_format": "raw", "visibility": "public"})

    assert response.status_code == 400
    assert "visibility" in message(response)


def test_bytes_that_are_not_the_declared_format_are_refused_and_the_image_removed(
    alice: httpx.Client, tmp_path: Path
) -> None:
    raw = known_raw(tmp_path / "disk.raw", size=4 << 20)
    claimed = registered(alice, disk_format="qcow2")

    response = alice.put(f"{IMAGES}/{claimed['id']}/file", content=raw.read_bytes(), headers=OCTETS)

    assert response.status_code == 400
    assert "qcow2" in message(response)
    assert alice.get(f"{IMAGES}/{claimed['id']}").status_code == 404


def test_a_qcow2_with_a_backing_file_is_refused_as_unsafe(
    alice: httpx.Client, tmp_path: Path
) -> None:
    hostile = with_backing_file(tmp_path / "hostile.qcow2")
    image = registered(alice, disk_format="qcow2")

    response = alice.put(
        f"{IMAGES}/{image['id']}/file", content=hostile.read_bytes(), headers=OCTETS
    )

    assert response.status_code == 400
    assert "backing" in message(response).lower()
    assert alice.get(IMAGES).json()["images"] == []


def chunks() -> Iterator[bytes]:
    """1.5 MiB sent chunked (no Content-Length): only the streamed count can stop it."""
    for _ in range(3):
        yield b"\x01" * (512 << 10)


def test_an_upload_past_the_limit_is_refused_whether_chunked_or_declared(
    tmp_path: Path,
) -> None:
    with start_api(tmp_path, api={"max_image_bytes": 1 << 20}) as api, api.client("p") as client:
        image = registered(client)
        declared = registered(client, name="declared")

        chunked = client.put(f"{IMAGES}/{image['id']}/file", content=chunks(), headers=OCTETS)
        too_long = client.put(
            f"{IMAGES}/{declared['id']}/file", content=b"\x01" * (2 << 20), headers=OCTETS
        )

        assert chunked.status_code == 400
        assert "limit" in message(chunked)
        assert client.get(f"{IMAGES}/{image['id']}").status_code == 404  # its upload began
        assert too_long.status_code == 400
        assert client.get(f"{IMAGES}/{declared['id']}").json()["status"] == "queued"


def test_json_bodies_keep_their_limit(alice: httpx.Client) -> None:
    response = alice.post(IMAGES, json={"name": "img", "disk_format": "raw", "x": "y" * 200_000})

    assert response.status_code == 400
    assert "request body" in message(response)


def test_the_list_pages_newest_first_and_filters_by_name(alice: httpx.Client) -> None:
    first = registered(alice, name="one")
    second = registered(alice, name="two")

    page = alice.get(IMAGES, params={"limit": 1}).json()
    rest = alice.get(IMAGES, params={"limit": 1, "marker": page["images"][0]["id"]}).json()
    named = alice.get(IMAGES, params={"name": "one"}).json()

    assert [i["id"] for i in page["images"]] == [second["id"]]
    assert page["next"].startswith("/v2/images?")
    assert [i["id"] for i in rest["images"]] == [first["id"]]
    assert [i["id"] for i in named["images"]] == [first["id"]]
    assert alice.get(IMAGES, params={"marker": UNKNOWN}).status_code == 400


def test_the_image_endpoint_answers_its_version_document_without_auth(api: Api) -> None:
    response = httpx.get(f"{api.url}/image")

    assert response.status_code == 300
    [version] = response.json()["versions"]
    assert version["links"][0]["href"] == f"{api.url}/image/v2/"


def test_a_volume_from_an_image_shows_its_image_metadata(
    api: Api, alice: httpx.Client, tmp_path: Path
) -> None:
    qcow2 = made_as(known_raw(tmp_path / "d.raw", size=4 << 20), "qcow2", tmp_path / "d.q")
    image = uploaded(alice, qcow2.read_bytes(), disk_format="qcow2")

    volume = api.created(alice, imageRef=image["id"])
    shown = alice.get(f"/v3/volumes/{volume['id']}").json()["volume"]

    assert shown["volume_image_metadata"]["image_id"] == image["id"]
    assert shown["volume_image_metadata"]["disk_format"] == "qcow2"
    assert shown["bootable"] == "true"
