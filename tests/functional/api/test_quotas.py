"""Quotas over HTTP: enforced at create, extend and snapshot, shown with their usage, set
and reset by admins, and always equal to a recount of the rows."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.functional.api.conftest import Api


def quota(admin: httpx.Client, project: str, **limits: int) -> None:
    response = admin.put(f"/v3/os-quota-sets/{project}", json={"quota_set": limits})
    assert response.status_code == 200, response.text


def usage(admin: httpx.Client, project: str) -> dict[str, Any]:
    response = admin.get(f"/v3/os-quota-sets/{project}", params={"usage": "True"})
    assert response.status_code == 200, response.text
    shown: dict[str, Any] = response.json()["quota_set"]
    return shown


def test_200_concurrent_creates_against_a_quota_of_100_let_exactly_100_through(
    api: Api, admin: httpx.Client
) -> None:
    quota(admin, "project-a", volumes=100)

    def create(_: int) -> httpx.Response:
        with api.client("project-a", "alice") as client:
            return client.post("/v3/volumes", json={"volume": {"size": 1}})

    with ThreadPoolExecutor(max_workers=40) as pool:
        answers = list(pool.map(create, range(200)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(202) == 100 and statuses.count(413) == 100, statuses
    refused = next(a for a in answers if a.status_code == 413).json()["overLimit"]["message"]
    assert "Quota exceeded for volumes" in refused and "100 of 100" in refused
    assert usage(admin, "project-a")["volumes"]["in_use"] == 100
    listed = admin.get("/v3/volumes", params={"all_tenants": "1"}).json()["volumes"]
    assert len(listed) == 100
    api.wait_for(
        lambda: all(api.volume_status(admin, v["id"]) == "available" for v in listed), timeout=120
    )
    assert api.hearth.check_quotas() == []


def test_a_quota_set_shows_limits_and_usage_and_resets_to_the_defaults(
    api: Api, admin: httpx.Client, alice: httpx.Client
) -> None:
    volume = api.created(alice, size=2)
    quota(admin, "project-a", volumes=5, gigabytes=50)
    shown = usage(admin, "project-a")
    assert shown["volumes"] == {"limit": 5, "in_use": 1, "reserved": 0, "allocated": 0}
    assert shown["gigabytes"]["in_use"] == 2 and shown["gigabytes"]["limit"] == 50
    assert shown["volumes___DEFAULT__"]["in_use"] == 1  # per type, the default type's
    own = alice.get("/v3/os-quota-sets/project-a").json()["quota_set"]
    assert own["id"] == "project-a" and own["volumes"] == 5
    assert alice.get("/v3/os-quota-sets/project-b").status_code == 403
    assert admin.delete("/v3/os-quota-sets/project-a").status_code == 200
    assert admin.get("/v3/os-quota-sets/project-a").json()["quota_set"]["volumes"] == -1
    defaults = alice.get("/v3/os-quota-sets/project-a/defaults").json()["quota_set"]
    assert defaults["per_volume_gigabytes"] == -1 and "backup_gigabytes" in defaults
    alice.delete(f"/v3/volumes/{volume['id']}")
    api.wait_for(lambda: api.volume_status(alice, volume["id"]) is None)
    assert usage(admin, "project-a")["volumes"]["in_use"] == 0


def test_the_default_quota_class_sets_every_projects_defaults(
    api: Api, admin: httpx.Client, bob: httpx.Client
) -> None:
    answer = admin.put("/v3/os-quota-class-sets/default", json={"quota_class_set": {"volumes": 1}})
    assert answer.status_code == 200, answer.text
    assert admin.get("/v3/os-quota-class-sets/default").json()["quota_class_set"]["volumes"] == 1
    api.created(bob)
    refused = bob.post("/v3/volumes", json={"volume": {"size": 1}})
    assert refused.status_code == 413 and "volumes" in refused.text


def test_gigabytes_per_type_and_per_volume_limits_refuse_naming_the_quota(
    api: Api, admin: httpx.Client, alice: httpx.Client
) -> None:
    kind = admin.post("/v3/types", json={"volume_type": {"name": "gold"}}).json()["volume_type"]
    quota(admin, "project-a", gigabytes=3, volumes_gold=1, per_volume_gigabytes=2)
    for body, resource in (
        ({"size": 3}, "per_volume_gigabytes"),
        ({"size": 1, "volume_type": "gold"}, None),
        ({"size": 1, "volume_type": "gold"}, "volumes_gold"),
        ({"size": 2}, None),
        ({"size": 1}, "gigabytes"),
    ):
        answer = alice.post("/v3/volumes", json={"volume": body})
        if resource is None:
            assert answer.status_code == 202, answer.text
        else:
            assert answer.status_code == 413, answer.text
            assert f"Quota exceeded for {resource}" in answer.json()["overLimit"]["message"]
    assert len(alice.get("/v3/volumes").json()["volumes"]) == 2
    shown = usage(admin, "project-a")
    assert shown["gigabytes"]["in_use"] == 3 and shown["volumes_gold"]["in_use"] == 1
    assert kind["name"] == "gold"


def test_extend_and_snapshot_are_held_to_the_quota(
    api: Api, admin: httpx.Client, alice: httpx.Client
) -> None:
    volume = api.created(alice, size=1)
    quota(admin, "project-a", gigabytes=3, snapshots=1)
    extend = {"os-extend": {"new_size": 4}}
    refused = alice.post(f"/v3/volumes/{volume['id']}/action", json=extend)
    assert refused.status_code == 413 and "gigabytes" in refused.text
    assert api.volume_status(alice, volume["id"]) == "available"
    grown = alice.post(f"/v3/volumes/{volume['id']}/action", json={"os-extend": {"new_size": 2}})
    assert grown.status_code == 202, grown.text
    api.wait_for(lambda: api.volume_status(alice, volume["id"]) == "available")
    assert usage(admin, "project-a")["gigabytes"] == {
        "limit": 3,
        "in_use": 2,
        "reserved": 0,
        "allocated": 0,
    }
    snap = {"snapshot": {"volume_id": volume["id"]}}
    refused = alice.post("/v3/snapshots", json=snap)  # 2 + 2 GiB > 3
    assert refused.status_code == 413 and "gigabytes" in refused.text
    quota(admin, "project-a", gigabytes=10)
    assert alice.post("/v3/snapshots", json=snap).status_code == 202
    refused = alice.post("/v3/snapshots", json=snap)
    assert refused.status_code == 413 and "Quota exceeded for snapshots" in refused.text
    assert api.hearth.check_quotas() == []


def test_limits_report_the_quotas_and_the_usage(
    api: Api, admin: httpx.Client, alice: httpx.Client
) -> None:
    api.created(alice, size=2)
    quota(admin, "project-a", volumes=7, gigabytes=70)
    absolute = alice.get("/v3/limits").json()["limits"]["absolute"]
    assert absolute["maxTotalVolumes"] == 7 and absolute["totalVolumesUsed"] == 1
    assert absolute["maxTotalVolumeGigabytes"] == 70 and absolute["totalGigabytesUsed"] == 2
    assert absolute["maxTotalSnapshots"] == -1 and absolute["totalBackupsUsed"] == 0


def test_bad_quota_updates_are_refused_naming_the_problem_and_change_nothing(
    api: Api, admin: httpx.Client, alice: httpx.Client
) -> None:
    api.created(alice, size=1)
    for body, status, named in (
        ({"volumes": -2}, 400, "volumes"),
        ({"volumes": "many"}, 400, "volumes"),
        ({"bananas": 1}, 400, "bananas"),
        ({"volumes": 0, "skip_validation": False}, 400, "volumes"),
        ({"skip_validation": "maybe"}, 400, "skip_validation"),
    ):
        answer = admin.put("/v3/os-quota-sets/project-a", json={"quota_set": body})
        assert answer.status_code == status and named in answer.text, answer.text
    assert (
        alice.put("/v3/os-quota-sets/project-a", json={"quota_set": {"volumes": 1}}).status_code
        == 403
    )
    assert admin.get("/v3/os-quota-sets/project-a").json()["quota_set"]["volumes"] == -1
