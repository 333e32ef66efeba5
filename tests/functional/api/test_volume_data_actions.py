"""The volume actions that move data, over HTTP on two real file backends: revert to the
latest snapshot (3.40), upload to an image (raw and qcow2, converted by qemu-img), retype
with migration to the backend the new type matches, an administrator's migration, and
reimage (3.68). Every byte is compared; refused requests change nothing."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hearth.api import versions
from tests.functional.api.conftest import Api, start_api

LATEST = {versions.HEADER: "volume 3.71"}
PATTERN = [(0, b"first block"), (5 << 20, b"x" * 70_000), ((1 << 30) - 11, b"last bytes!")]


@pytest.fixture
def two(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """An API over two file backends, b1 and b2, serving microversions to 3.71."""
    monkeypatch.setattr(versions, "MAX", versions.Version(3, 71))
    backends = {name: {"directory": str(tmp_path / name)} for name in ("b1", "b2")}
    with start_api(tmp_path, backends=backends) as running:
        with running.client("admin", "root") as admin:
            for name in ("b1", "b2"):
                body = {"name": f"on-{name}", "extra_specs": {"volume_backend_name": name}}
                created = admin.post("/v3/types", json={"volume_type": body})
                assert created.status_code == 200, created.text
        yield running


@pytest.fixture
def alice(two: Api) -> Iterator[httpx.Client]:
    with two.client("project-a", "alice", **LATEST) as client:
        yield client


@pytest.fixture
def admin(two: Api) -> Iterator[httpx.Client]:
    with two.client("admin", "root", **LATEST) as client:
        yield client


def act(client: httpx.Client, volume_id: str, name: str, arguments: Any) -> httpx.Response:
    return client.post(f"/v3/volumes/{volume_id}/action", json={name: arguments})


def write(path: Path, pattern: list[tuple[int, bytes]]) -> None:
    with path.open("r+b") as handle:
        for offset, data in pattern:
            handle.seek(offset)
            handle.write(data)


def digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def shown(client: httpx.Client, volume_id: str) -> dict[str, Any]:
    document: dict[str, Any] = client.get(f"/v3/volumes/{volume_id}").json()["volume"]
    return document


def settled(api: Api, client: httpx.Client, volume_id: str, busy: str) -> dict[str, Any]:
    api.wait_for(lambda: shown(client, volume_id)["status"] != busy)
    return shown(client, volume_id)


def snapshot(api: Api, client: httpx.Client, volume_id: str) -> str:
    response = client.post("/v3/snapshots", json={"snapshot": {"volume_id": volume_id}})
    snapshot_id: str = response.json()["snapshot"]["id"]
    api.wait_for(
        lambda: (
            client.get(f"/v3/snapshots/{snapshot_id}").json()["snapshot"]["status"] == "available"
        )
    )
    return snapshot_id


def test_revert_gives_the_volume_its_latest_snapshots_bytes(two: Api, alice: httpx.Client) -> None:
    volume = two.created(alice, volume_type="on-b1")
    path = two.hearth.volume_path(volume["id"])
    write(path, [(0, b"before")])
    first = snapshot(two, alice, volume["id"])
    write(path, [(0, b"middle")])
    latest = snapshot(two, alice, volume["id"])
    expected = digest(path)
    write(path, [(0, b"after!"), (7 << 20, b"more")])

    older = act(alice, volume["id"], "revert", {"snapshot_id": first})
    assert older.status_code == 400, older.text
    assert "latest" in older.json()["badRequest"]["message"]
    old_version = alice.post(
        f"/v3/volumes/{volume['id']}/action",
        json={"revert": {"snapshot_id": latest}},
        headers={versions.HEADER: "volume 3.39"},
    )
    assert old_version.status_code == 404
    assert shown(alice, volume["id"])["status"] == "available"

    assert act(alice, volume["id"], "revert", {"snapshot_id": latest}).status_code == 202
    assert settled(two, alice, volume["id"], "reverting")["status"] == "available"
    assert digest(path) == expected
    restored = alice.get(f"/v3/snapshots/{latest}").json()["snapshot"]
    assert restored["status"] == "available"


def test_a_revert_to_another_volumes_snapshot_is_refused(two: Api, alice: httpx.Client) -> None:
    one = two.created(alice)
    other = two.created(alice)
    theirs = snapshot(two, alice, other["id"])

    response = act(alice, one["id"], "revert", {"snapshot_id": theirs})

    assert response.status_code == 400
    assert shown(alice, one["id"])["status"] == "available"


@pytest.mark.parametrize("disk_format", ["raw", "qcow2"])
def test_an_uploaded_volume_becomes_an_active_image_holding_its_bytes(
    two: Api, alice: httpx.Client, tmp_path: Path, disk_format: str
) -> None:
    volume = two.created(alice)
    path = two.hearth.volume_path(volume["id"])
    write(path, PATTERN)
    body = {"image_name": "from-volume", "disk_format": disk_format, "container_format": "bare"}

    response = act(alice, volume["id"], "os-volume_upload_image", body)

    assert response.status_code == 202, response.text
    answer = response.json()["os-volume_upload_image"]
    assert answer["status"] == "uploading"
    assert answer["disk_format"] == disk_format
    image_url = f"/image/v2/images/{answer['image_id']}"
    two.wait_for(lambda: alice.get(image_url).json()["status"] == "active")
    assert settled(two, alice, volume["id"], "uploading")["status"] == "available"
    stored = two.hearth.services.settings.image_directory / f"image-{answer['image_id']}"
    raw = tmp_path / "back.raw"
    subprocess.run(
        ["qemu-img", "convert", "-f", disk_format, "-O", "raw", str(stored), str(raw)], check=True
    )
    assert digest(raw) == digest(path)


@pytest.mark.parametrize(
    "body",
    [
        {"image_name": "x", "disk_format": "iso"},
        {"image_name": "", "disk_format": "raw"},
        {"image_name": "x", "disk_format": "raw", "visibility": "galactic"},
        {"image_name": "x", "disk_format": "raw", "force": "perhaps"},
    ],
)
def test_a_bad_upload_request_is_400_and_makes_no_image(
    two: Api, alice: httpx.Client, body: dict[str, Any]
) -> None:
    volume = two.created(alice)

    response = act(alice, volume["id"], "os-volume_upload_image", body)

    assert response.status_code == 400, response.text
    assert alice.get("/image/v2/images").json()["images"] == []
    assert shown(alice, volume["id"])["status"] == "available"


def test_retype_on_demand_moves_the_volume_to_the_matching_backend_byte_for_byte(
    two: Api, alice: httpx.Client, admin: httpx.Client
) -> None:
    volume = two.created(alice, volume_type="on-b1")
    source = two.hearth.volume_path(volume["id"])
    assert source.parent.parent.name == "b1"
    write(source, PATTERN)
    expected = digest(source)

    never = act(alice, volume["id"], "os-retype", {"new_type": "on-b2"})
    assert never.status_code == 400
    assert "on-demand" in never.json()["badRequest"]["message"]
    assert shown(alice, volume["id"])["volume_type"] == "on-b1"
    moved = act(
        alice, volume["id"], "os-retype", {"new_type": "on-b2", "migration_policy": "on-demand"}
    )
    assert moved.status_code == 202, moved.text

    after = settled(two, alice, volume["id"], "retyping")
    assert after["status"] == "available"
    assert after["volume_type"] == "on-b2"
    target = two.hearth.volume_path(volume["id"])
    assert target.parent.parent.name == "b2"
    assert digest(target) == expected
    two.wait_for(lambda: not source.exists())
    by_admin = shown(admin, volume["id"])
    assert by_admin["os-vol-host-attr:host"] == "hearth@b2#b2"
    two.wait_for(lambda: shown(admin, volume["id"])["migration_status"] == "success")
    claims = {b.name: b.allocated_capacity_gb for b in two.hearth.list_backends()}
    assert claims == {"b1": 0, "b2": 1}


def test_a_retype_the_backend_still_matches_changes_only_the_type(
    two: Api, alice: httpx.Client, admin: httpx.Client
) -> None:
    admin.post("/v3/types", json={"volume_type": {"name": "plain"}})
    volume = two.created(alice, volume_type="on-b1")

    response = act(alice, volume["id"], "os-retype", {"new_type": "plain"})

    assert response.status_code == 202
    assert shown(alice, volume["id"])["volume_type"] == "plain"
    assert shown(admin, volume["id"])["os-vol-host-attr:host"] == "hearth@b1#b1"


@pytest.mark.parametrize(
    ("arguments", "status"),
    [
        ({"new_type": "no-such-type", "migration_policy": "on-demand"}, 404),
        ({"new_type": "on-b2", "migration_policy": "sometimes"}, 400),
        ({"new_type": "on-b1", "migration_policy": "on-demand"}, 400),
        ({"migration_policy": "on-demand"}, 400),
    ],
)
def test_a_bad_retype_changes_nothing(
    two: Api, alice: httpx.Client, admin: httpx.Client, arguments: dict[str, Any], status: int
) -> None:
    volume = two.created(alice, volume_type="on-b1")
    before = shown(admin, volume["id"])

    response = act(alice, volume["id"], "os-retype", arguments)

    assert response.status_code == status, response.text
    assert shown(admin, volume["id"]) == before


def test_a_volume_with_snapshots_is_not_moved(two: Api, alice: httpx.Client) -> None:
    volume = two.created(alice, volume_type="on-b1")
    snapshot(two, alice, volume["id"])

    response = act(
        alice, volume["id"], "os-retype", {"new_type": "on-b2", "migration_policy": "on-demand"}
    )

    assert response.status_code == 409
    assert shown(alice, volume["id"])["volume_type"] == "on-b1"


def test_an_admin_migrates_a_volume_to_a_named_backend(
    two: Api, alice: httpx.Client, admin: httpx.Client
) -> None:
    volume = two.created(alice, volume_type="on-b1")
    write(two.hearth.volume_path(volume["id"]), PATTERN)
    expected = digest(two.hearth.volume_path(volume["id"]))

    assert act(alice, volume["id"], "os-migrate_volume", {"host": "b2"}).status_code == 403
    assert act(admin, volume["id"], "os-migrate_volume", {"host": "b1"}).status_code == 400
    assert act(admin, volume["id"], "os-migrate_volume", {"host": "b9"}).status_code == 404
    answer = act(admin, volume["id"], "os-migrate_volume", {"host": "hearth@b2#b2"})
    assert answer.status_code == 202, answer.text

    assert settled(two, admin, volume["id"], "maintenance")["status"] == "available"
    assert shown(admin, volume["id"])["os-vol-host-attr:host"] == "hearth@b2#b2"
    assert digest(two.hearth.volume_path(volume["id"])) == expected


def test_reimage_writes_the_image_into_the_volume(
    two: Api, alice: httpx.Client, tmp_path: Path
) -> None:
    disk = tmp_path / "disk.raw"
    disk.write_bytes(b"\0" * (1 << 20))
    write(disk, [(0, b"an image's first bytes"), (4096, b"and more")])
    image = two.hearth.create_image("disk", disk_format="raw", file=disk, visibility="public")
    volume = two.created(alice)
    path = two.hearth.volume_path(volume["id"])
    write(path, [(0, b"old data that goes away")])

    response = act(alice, volume["id"], "os-reimage", {"image_id": image.id})

    assert response.status_code == 202, response.text
    after = settled(two, alice, volume["id"], "downloading")
    assert after["status"] == "available"
    assert after["volume_image_metadata"]["image_id"] == image.id
    with path.open("rb") as handle:
        assert handle.read(1 << 20) == disk.read_bytes()
        assert handle.read(1 << 20) == b"\0" * (1 << 20)
    missing = act(alice, volume["id"], "os-reimage", {"image_id": "no-such-image"})
    assert missing.status_code == 400
