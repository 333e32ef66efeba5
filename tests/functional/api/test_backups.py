"""The backup routes over real HTTP: create, list, show, restore, delete, actions, export and
import, with the fields of the Block Storage v3 reference (and of Tempest's schema); bad input
answered 400/403/404 naming the problem, changing nothing (``refusals.world``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hearth.api import versions
from tests.functional.api import refusals
from tests.functional.api.conftest import Api

SHOW_KEYS = {
    "id",
    "links",
    "name",
    "status",
    "object_count",
    "container",
    "description",
    "availability_zone",
    "created_at",
    "updated_at",
    "has_dependent_backups",
    "volume_id",
    "fail_reason",
    "size",
    "is_incremental",
    "data_timestamp",
    "snapshot_id",
    "os-backup-project-attr:project_id",
}
"""What GET /backups/{id} answers at 3.30 (Tempest's schema allows no other key)."""


def backup_status(client: httpx.Client, backup_id: str) -> str | None:
    response = client.get(f"/v3/backups/{backup_id}")
    return None if response.status_code == 404 else str(response.json()["backup"]["status"])


def backed_up(api: Api, client: httpx.Client, volume_id: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/v3/backups", json={"backup": {"volume_id": volume_id, **fields}})
    assert response.status_code == 202, response.text
    backup: dict[str, Any] = response.json()["backup"]
    api.wait_for(lambda: backup_status(client, backup["id"]) != "creating")
    return backup


@pytest.fixture
def volume(api: Api, alice: httpx.Client) -> dict[str, Any]:
    return api.created(alice)


def test_a_backup_is_made_shown_listed_restored_and_deleted(
    api: Api, alice: httpx.Client, volume: dict[str, Any]
) -> None:
    made = backed_up(api, alice, volume["id"], name="nightly")
    assert set(made) == {"id", "links", "name"} and made["name"] == "nightly"

    shown = alice.get(f"/v3/backups/{made['id']}", headers={"OpenStack-API-Version": "volume 3.30"})
    backup = shown.json()["backup"]
    assert set(backup) == SHOW_KEYS
    assert backup["status"] == "available" and backup["volume_id"] == volume["id"]
    assert backup["is_incremental"] is False and backup["has_dependent_backups"] is False
    assert backup["os-backup-project-attr:project_id"] == "project-a"
    assert alice.get("/v3/backups").json()["backups"] == [made]
    assert [b["id"] for b in alice.get("/v3/backups/detail").json()["backups"]] == [made["id"]]
    progress = alice.get(f"/v3/backups/{made['id']}", params={"progress": "true"})
    assert progress.json()["backup"]["hearth:progress"] is None  # nothing moves now
    incremental = backed_up(api, alice, volume["id"], incremental=True)
    assert alice.get(f"/v3/backups/{made['id']}").json()["backup"]["has_dependent_backups"]
    refused = alice.delete(f"/v3/backups/{made['id']}")
    assert refused.status_code == 400, refused.text
    assert incremental["id"] in refused.json()["badRequest"]["message"]

    restore = alice.post(f"/v3/backups/{made['id']}/restore", json={"restore": {}})
    assert restore.status_code == 202, restore.text
    body = restore.json()["restore"]
    assert body["backup_id"] == made["id"]
    assert body["volume_name"] == f"restore_backup_{made['id']}"
    api.wait_for(lambda: backup_status(alice, made["id"]) == "available")
    api.wait_for(lambda: api.volume_status(alice, body["volume_id"]) == "available")
    onto = alice.post(
        f"/v3/backups/{incremental['id']}/restore", json={"restore": {"volume_id": volume["id"]}}
    )
    assert onto.status_code == 202, onto.text
    api.wait_for(lambda: api.volume_status(alice, volume["id"]) == "available")

    for backup_id in (incremental["id"], made["id"]):
        assert alice.delete(f"/v3/backups/{backup_id}").status_code == 202
        api.wait_for(lambda backup_id=backup_id: backup_status(alice, backup_id) is None)  # type: ignore[misc]
    assert alice.get("/v3/backups").json()["backups"] == []


def test_a_backup_is_renamed_at_3_9_and_its_metadata_changed_at_3_43(
    later_versions: None, api: Api, alice: httpx.Client, volume: dict[str, Any]
) -> None:
    made = backed_up(api, alice, volume["id"], name="old")
    url = f"/v3/backups/{made['id']}"

    assert alice.put(url, json={"backup": {"name": "new"}}).status_code == 404  # 3.0
    renamed = alice.put(
        url,
        json={"backup": {"name": "new", "description": "d", "metadata": {"k": "v"}}},
        headers={"OpenStack-API-Version": "volume 3.9"},
    )
    assert renamed.status_code == 200, renamed.text
    assert set(renamed.json()["backup"]) == {"id", "links", "name"}
    shown = alice.get(url).json()["backup"]
    assert (shown["name"], shown["description"]) == ("new", "d")
    v343 = {"OpenStack-API-Version": "volume 3.43"}
    changed = alice.put(url, json={"backup": {"metadata": {"k": "v"}}}, headers=v343)
    assert changed.json()["backup"]["metadata"] == {"k": "v"}
    refused = alice.put(url, json={"backup": {"name": 5}}, headers=v343)
    assert refused.status_code == 400 and "name" in refused.text


def test_admin_actions_export_and_import(
    api: Api, alice: httpx.Client, admin: httpx.Client, volume: dict[str, Any]
) -> None:
    made = backed_up(api, alice, volume["id"])
    url = f"/v3/backups/{made['id']}/action"

    assert alice.post(url, json={"os-reset_status": {"status": "error"}}).status_code == 403
    assert admin.post(url, json={"os-reset_status": {"status": "error"}}).status_code == 202
    assert backup_status(alice, made["id"]) == "error"
    assert admin.post(url, json={"os-reset_status": {"status": "available"}}).status_code == 202
    assert alice.get(f"/v3/backups/{made['id']}/export_record").status_code == 403
    record = admin.get(f"/v3/backups/{made['id']}/export_record")
    assert record.status_code == 200, record.text
    assert set(record.json()["backup-record"]) == {"backup_service", "backup_url"}
    again = admin.post("/v3/backups/import_record", json=record.json())
    assert again.status_code == 409, again.text  # the backup exists
    assert admin.post(url, json={"os-force_delete": {}}).status_code == 202
    api.wait_for(lambda: backup_status(alice, made["id"]) is None)

    imported = admin.post("/v3/backups/import_record", json=record.json())  # the data is kept?
    assert imported.status_code == 400, imported.text  # no: the delete freed it
    assert "backup_url" in imported.json()["badRequest"]["message"]


@pytest.fixture
def later_versions(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The microversions above ``MAX`` this branch honours, served for the test."""
    monkeypatch.setattr(versions, "MAX", versions.BACKUP_AVAILABILITY_ZONE)
    yield


def test_metadata_count_and_zone_from_their_microversions(
    later_versions: None, api: Api, alice: httpx.Client, volume: dict[str, Any]
) -> None:
    v351 = {"OpenStack-API-Version": "volume 3.51"}
    body = {
        "backup": {"volume_id": volume["id"], "metadata": {"k": "v"}, "availability_zone": "nova"}
    }
    made = alice.post("/v3/backups", json=body, headers=v351)
    assert made.status_code == 202, made.text
    assert made.json()["backup"]["metadata"] == {"k": "v"}
    api.wait_for(lambda: backup_status(alice, made.json()["backup"]["id"]) == "available")
    listed = alice.get("/v3/backups", params={"with_count": "true"}, headers=v351).json()
    assert listed["count"] == 1
    shown = alice.get(f"/v3/backups/{made.json()['backup']['id']}", headers=v351).json()
    assert shown["backup"]["metadata"] == {"k": "v"}
    elsewhere = {"backup": {"volume_id": volume["id"], "availability_zone": "mars"}}
    refused = alice.post("/v3/backups", json=elsewhere, headers=v351)
    assert refused.status_code == 400 and "availability_zone" in refused.text


BAD_REQUESTS: list[tuple[str, str, str, Any, int, str]] = [
    # (who, method, path, body, status, what the message names)
    ("alice", "POST", "/v3/backups", {"backup": {}}, 400, "volume_id"),
    ("alice", "POST", "/v3/backups", {"backup": {"volume_id": "nope"}}, 404, "nope"),
    (
        "alice",
        "POST",
        "/v3/backups",
        {"backup": {"volume_id": "{v}", "incremental": "yes"}},
        400,
        "incremental",
    ),
    (
        "alice",
        "POST",
        "/v3/backups",
        {"backup": {"volume_id": "{v}", "snapshot_id": "nope"}},
        404,
        "nope",
    ),
    ("alice", "POST", "/v3/backups", {"backup": {"volume_id": "{v}", "name": 7}}, 400, "name"),
    ("bob", "POST", "/v3/backups", {"backup": {"volume_id": "{v}"}}, 404, "{v}"),
    ("alice", "POST", "/v3/backups", {"volume_id": "{v}"}, 400, "backup"),
    ("alice", "POST", "/v3/backups/{b}/restore", {"restore": {"volume_id": "nope"}}, 404, "nope"),
    ("alice", "POST", "/v3/backups/nope/restore", {"restore": {}}, 404, "nope"),
    ("alice", "POST", "/v3/backups/{b}/restore", {"restore": {"volume_id": 5}}, 400, "volume_id"),
    ("bob", "POST", "/v3/backups/{b}/restore", {"restore": {}}, 404, "{b}"),
    (
        "alice",
        "POST",
        "/v3/backups/{b}/action",
        {"os-reset_status": {"status": "error"}},
        403,
        "admin",
    ),
    (
        "admin",
        "POST",
        "/v3/backups/{b}/action",
        {"os-reset_status": {"status": "bad"}},
        400,
        "status",
    ),
    ("admin", "POST", "/v3/backups/{b}/action", {"os-unknown": {}}, 400, "os-unknown"),
    (
        "admin",
        "POST",
        "/v3/backups/{b}/action",
        {"os-force_delete": {"x": 1}},
        400,
        "os-force_delete",
    ),
    ("alice", "POST", "/v3/backups/{b}/action", {"os-force_delete": {}}, 403, "admin"),
    (
        "admin",
        "POST",
        "/v3/backups/import_record",
        {"backup-record": {"backup_service": "posix", "backup_url": "!!"}},
        400,
        "backup_url",
    ),
    (
        "admin",
        "POST",
        "/v3/backups/import_record",
        {"backup-record": {"backup_service": "swift", "backup_url": "e30="}},
        400,
        "backup_service",
    ),
    ("alice", "POST", "/v3/backups/import_record", {"backup-record": {}}, 403, "admin"),
    ("alice", "GET", "/v3/backups/nope", None, 404, "nope"),
    ("bob", "GET", "/v3/backups/{b}", None, 404, "{b}"),
    ("alice", "DELETE", "/v3/backups/nope", None, 404, "nope"),
    ("alice", "GET", "/v3/backups?marker=nope", None, 404, "nope"),
    ("alice", "GET", "/v3/backups?sort_key=volume_id", None, 400, "sort"),
]


def test_bad_backup_requests_are_refused_naming_the_problem_and_change_nothing(
    api: Api, alice: httpx.Client, bob: httpx.Client, admin: httpx.Client, volume: dict[str, Any]
) -> None:
    made = backed_up(api, alice, volume["id"])
    clients = {"alice": alice, "bob": bob, "admin": admin}
    before = refusals.world(api)
    ids = {"{v}": volume["id"], "{b}": made["id"]}

    def filled(text: str) -> str:
        for token, value in ids.items():
            text = text.replace(token, value)
        return text

    for who, method, template, body, status, wanted in BAD_REQUESTS:
        path, named = filled(template), filled(wanted)
        sent = json.loads(filled(json.dumps(body)))
        response = clients[who].request(method, path, json=sent)
        assert response.status_code == status, (method, path, response.text)
        assert named in response.text, (method, path, response.text)
        refusals.settle(api)
        assert refusals.world(api) == before, (method, path)
    assert backup_status(alice, made["id"]) == "available"
    assert api.volume_status(alice, volume["id"]) == "available"
