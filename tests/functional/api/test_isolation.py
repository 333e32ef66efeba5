"""Project isolation: another project's volume does not exist for you (404)."""

from __future__ import annotations

import httpx

from tests.functional.api.conftest import Api


def test_project_b_cannot_see_touch_snapshot_or_clone_project_as_volume(
    api: Api, alice: httpx.Client, bob: httpx.Client
) -> None:
    volume = api.created(alice, name="secret")
    url = f"/v3/volumes/{volume['id']}"

    assert bob.get("/v3/volumes").json() == {"volumes": []}
    assert bob.get("/v3/volumes/detail").json() == {"volumes": []}
    assert bob.get(url).status_code == 404
    assert bob.put(url, json={"volume": {"name": "mine"}}).status_code == 404
    assert bob.delete(url).status_code == 404
    assert bob.get(f"{url}/metadata").status_code == 404
    assert bob.post(f"{url}/action", json={"os-extend": {"new_size": 2}}).status_code == 404
    snapshot = bob.post("/v3/snapshots", json={"snapshot": {"volume_id": volume["id"]}})
    clone = bob.post("/v3/volumes", json={"volume": {"source_volid": volume["id"]}})

    # the snapshot's volume is the resource acted on: not found, as any missing volume;
    # a clone's missing source is not found, as Cinder answers (and as any missing source)
    assert snapshot.status_code == 404
    assert clone.status_code == 404
    assert volume["id"] in clone.json()["itemNotFound"]["message"]
    assert alice.get(url).json()["volume"]["name"] == "secret"
    assert [v.id for v in api.hearth.list_volumes()] == [volume["id"]]
    assert api.hearth.list_snapshots() == []


def test_an_admin_lists_every_project_with_all_tenants(
    api: Api, alice: httpx.Client, bob: httpx.Client, admin: httpx.Client
) -> None:
    api.created(alice)
    api.created(bob)

    own = admin.get("/v3/volumes").json()["volumes"]
    everyone = admin.get("/v3/volumes", params={"all_tenants": "1"}).json()["volumes"]
    bob_asks = bob.get("/v3/volumes", params={"all_tenants": "1"}).json()["volumes"]

    assert own == []
    assert len(everyone) == 2
    assert len(bob_asks) == 1


def test_a_request_without_credentials_is_unauthorized(api: Api) -> None:
    response = httpx.get(f"{api.url}/v3/volumes")

    assert response.status_code == 401
    assert "X-Auth-Token" in response.json()["unauthorized"]["message"]
