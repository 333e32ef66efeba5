"""Statuses and shapes Tempest checks exactly, over HTTP: 404 for a create whose type,
snapshot or source volume is missing and for an empty id, detail pagination links,
``offset``, ``sort_key=display_name`` at 3.0, and the capabilities every backend reports."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hearth.db import snapshots, statuses
from tests.functional.api.conftest import Api

MISSING = "0b5e0b5e-0000-4000-8000-00000000beef"


@pytest.mark.parametrize(
    ("field", "code"),
    [
        ("volume_type", "volume_type_not_found"),
        ("snapshot_id", "snapshot_not_found"),
        ("source_volid", "volume_not_found"),
    ],
)
def test_a_create_naming_what_does_not_exist_is_not_found_and_makes_nothing(
    alice: httpx.Client, field: str, code: str
) -> None:
    response = alice.post("/v3/volumes", json={"volume": {"size": 1, field: MISSING}})

    assert response.status_code == 404
    assert MISSING in response.json()["itemNotFound"]["message"]
    assert alice.get("/v3/volumes").json()["volumes"] == []


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("collection", ["volumes", "snapshots"])
def test_an_empty_id_is_not_found_rather_than_the_list(
    api: Api, alice: httpx.Client, method: str, collection: str
) -> None:
    kept = api.created(alice)
    body: dict[str, Any] = {"json": {"volume": {"name": "x"}}} if method == "PUT" else {}

    response = alice.request(method, f"/v3/{collection}/", **body)

    assert response.status_code == 404
    assert "itemNotFound" in response.json()
    assert alice.get(f"/v3/volumes/{kept['id']}").json()["volume"]["name"] is None


def test_detail_pages_link_to_the_detail_list(api: Api, alice: httpx.Client) -> None:
    for _ in range(3):
        api.created(alice)

    page = alice.get("/v3/volumes/detail", params={"limit": 2}).json()
    [link] = page["volumes_links"]

    assert "/volumes/detail?" in link["href"]
    rest = alice.get(link["href"]).json()
    assert len(page["volumes"]) + len(rest["volumes"]) == 3
    assert "attachments" in rest["volumes"][0]  # a detail view


def test_offset_skips_that_many_snapshots_and_volumes(api: Api, alice: httpx.Client) -> None:
    volume = api.created(alice)
    for name in ("a", "b", "c", "d"):
        made = alice.post(
            "/v3/snapshots", json={"snapshot": {"volume_id": volume["id"], "name": name}}
        )
        assert made.status_code == 202

    everything = alice.get("/v3/snapshots", params={"sort": "display_name:asc"}).json()["snapshots"]
    skipped = alice.get(
        "/v3/snapshots", params={"sort": "display_name:asc", "offset": 2, "limit": 1}
    ).json()["snapshots"]

    assert [s["name"] for s in everything] == ["a", "b", "c", "d"]
    assert [s["name"] for s in skipped] == ["c"]
    assert alice.get("/v3/volumes", params={"offset": 1}).json()["volumes"] == []


@pytest.mark.parametrize("offset", ["-1", "two"])
def test_a_bad_offset_is_refused_naming_it(alice: httpx.Client, offset: str) -> None:
    response = alice.get("/v3/snapshots", params={"offset": offset})

    assert response.status_code == 400
    assert "offset" in response.json()["badRequest"]["message"]


def test_display_name_sorts_snapshots_and_volumes_at_3_0(api: Api, alice: httpx.Client) -> None:
    for name in ("b", "a", "c"):
        api.created(alice, name=name)
    volume = alice.get("/v3/volumes").json()["volumes"][0]
    for name in ("y", "x"):
        alice.post("/v3/snapshots", json={"snapshot": {"volume_id": volume["id"], "name": name}})
    by_name = {"sort_key": "display_name", "sort_dir": "asc"}

    volumes = alice.get("/v3/volumes", params=by_name).json()["volumes"]
    snapshots = alice.get("/v3/snapshots", params=by_name).json()["snapshots"]
    refused = alice.get("/v3/snapshots", params={"sort_key": "name"})  # "name": from 3.30

    assert [v["name"] for v in volumes] == ["a", "b", "c"]
    assert [s["name"] for s in snapshots] == ["x", "y"]
    assert refused.status_code == 400
    assert "sort_key" in refused.json()["badRequest"]["message"]


def test_backends_report_the_capabilities_every_cinder_driver_reports(
    api: Api, admin: httpx.Client
) -> None:
    [backend] = api.hearth.list_backends()
    specs = {"vendor_name": "Hearth", "storage_protocol": "file"}
    admin.post("/v3/types", json={"volume_type": {"name": "matching", "extra_specs": specs}})

    placed = api.created(admin, volume_type="matching")

    assert backend.capabilities["volume_backend_name"] == "local"
    assert {"vendor_name", "driver_version", "storage_protocol"} <= set(backend.capabilities)
    shown = admin.get(f"/v3/volumes/{placed['id']}").json()["volume"]
    assert shown["os-vol-host-attr:host"] == "hearth@local#local"


def test_a_cascade_delete_removes_the_volume_and_its_snapshots(
    api: Api, alice: httpx.Client
) -> None:
    volume = api.created(alice)
    path = api.hearth.volume_path(volume["id"])
    for name in ("s1", "s2"):
        alice.post("/v3/snapshots", json={"snapshot": {"volume_id": volume["id"], "name": name}})
    api.wait_for(
        lambda: (
            {s["status"] for s in alice.get("/v3/snapshots").json()["snapshots"]} == {"available"}
        )
    )

    response = alice.delete(f"/v3/volumes/{volume['id']}", params={"cascade": "True"})

    assert response.status_code == 202
    api.wait_for(lambda: api.volume_status(alice, volume["id"]) is None)
    assert alice.get("/v3/snapshots").json()["snapshots"] == []
    assert not path.exists()


def test_a_cascade_delete_of_a_busy_snapshot_is_refused_and_deletes_nothing(
    api: Api, alice: httpx.Client
) -> None:
    volume = api.created(alice)
    made = alice.post("/v3/snapshots", json={"snapshot": {"volume_id": volume["id"]}})
    snapshot_id = made.json()["snapshot"]["id"]
    api.wait_for(
        lambda: (
            alice.get(f"/v3/snapshots/{snapshot_id}").json()["snapshot"]["status"] == "available"
        )
    )
    with api.hearth.services.db.transaction() as session:
        snapshots.set_status(session, snapshot_id, statuses.SnapshotStatus.CREATING)

    response = alice.delete(f"/v3/volumes/{volume['id']}", params={"cascade": "true"})

    assert response.status_code == 409
    assert snapshot_id in response.json()["conflictingRequest"]["message"]
    assert api.volume_status(alice, volume["id"]) == "available"
    assert alice.get(f"/v3/snapshots/{snapshot_id}").status_code == 200


def test_availability_zones_and_extensions_are_listed(alice: httpx.Client) -> None:
    zones = alice.get("/v3/os-availability-zone").json()
    extensions = alice.get("/v3/extensions").json()["extensions"]

    assert zones == {
        "availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": True}}]
    }
    assert "os-volume-type-access" in {e["alias"] for e in extensions}
    assert all(set(e) == {"alias", "name", "description", "links", "updated"} for e in extensions)


def test_an_admin_lists_the_volumes_of_one_project(
    api: Api, admin: httpx.Client, alice: httpx.Client, bob: httpx.Client
) -> None:
    mine = api.created(alice)
    api.created(bob)

    listed = admin.get("/v3/volumes", params={"all_tenants": 1, "project_id": "project-a"})
    ignored = bob.get("/v3/volumes", params={"project_id": "project-a"})

    assert [v["id"] for v in listed.json()["volumes"]] == [mine["id"]]
    assert [v["id"] for v in ignored.json()["volumes"]] != [mine["id"]]
