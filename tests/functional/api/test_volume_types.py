"""Volume types as Cinder has them, over HTTP: the create and update shapes, updates, one
extra spec at a time, private types with project access, and encryption types. Every
refusal changes nothing."""

from __future__ import annotations

from typing import Any

import httpx

from tests.functional.api.conftest import Api


def make_type(admin: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = admin.post("/v3/types", json={"volume_type": {"name": "gold", **fields}})
    assert response.status_code == 200, response.text
    made: dict[str, Any] = response.json()["volume_type"]
    return made


def shown(admin: httpx.Client, type_id: str) -> dict[str, Any]:
    body: dict[str, Any] = admin.get(f"/v3/types/{type_id}").json()["volume_type"]
    return body


def test_a_create_answers_cinder_s_fields_only(admin: httpx.Client) -> None:
    made = make_type(admin, description="fast", extra_specs={"tier": "1"})

    assert set(made) == {
        "id",
        "name",
        "description",
        "is_public",
        "os-volume-type-access:is_public",
        "extra_specs",
    }
    assert made["extra_specs"] == {"tier": "1"}


def test_an_update_changes_name_description_and_visibility(admin: httpx.Client) -> None:
    made = make_type(admin)

    response = admin.put(
        f"/v3/types/{made['id']}",
        json={"volume_type": {"name": "silver", "description": "d", "is_public": False}},
    )

    assert response.status_code == 200
    assert response.json()["volume_type"] == {
        "id": made["id"],
        "name": "silver",
        "description": "d",
        "is_public": False,
        "extra_specs": {},
    }
    assert shown(admin, made["id"])["name"] == "silver"
    assert shown(admin, made["id"])["is_public"] is False


def test_bad_updates_are_refused_and_change_nothing(
    admin: httpx.Client, alice: httpx.Client
) -> None:
    made = make_type(admin, description="kept")
    make_type(admin, name="taken")
    url = f"/v3/types/{made['id']}"

    empty = admin.put(url, json={"volume_type": {}})
    blank = admin.put(url, json={"volume_type": {"name": "   "}})
    flag = admin.put(url, json={"volume_type": {"is_public": "maybe"}})
    duplicate = admin.put(url, json={"volume_type": {"name": "taken"}})
    member = alice.put(url, json={"volume_type": {"name": "mine"}})
    missing = admin.put("/v3/types/no-such-type", json={"volume_type": {"name": "x"}})

    assert [r.status_code for r in (empty, blank, flag, duplicate, member, missing)] == [
        400,
        400,
        400,
        409,
        403,
        404,
    ]
    assert "is_public" in flag.json()["badRequest"]["message"]
    after = shown(admin, made["id"])
    assert (after["name"], after["description"], after["is_public"]) == ("gold", "kept", True)


def test_one_extra_spec_is_set_by_its_key(admin: httpx.Client) -> None:
    made = make_type(admin, extra_specs={"a": "1"})
    url = f"/v3/types/{made['id']}/extra_specs"

    response = admin.put(f"{url}/b", json={"b": "2"})
    mismatch = admin.put(f"{url}/c", json={"d": "4"})
    too_many = admin.put(f"{url}/c", json={"c": "3", "e": "5"})
    not_text = admin.put(f"{url}/c", json={"c": 3})

    assert response.status_code == 200
    assert response.json() == {"b": "2"}
    assert [r.status_code for r in (mismatch, too_many, not_text)] == [400, 400, 400]
    assert admin.get(url).json() == {"extra_specs": {"a": "1", "b": "2"}}


def test_a_private_type_is_used_only_by_projects_given_access(
    api: Api, admin: httpx.Client, alice: httpx.Client, bob: httpx.Client
) -> None:
    private = make_type(admin, **{"os-volume-type-access:is_public": False})
    action = f"/v3/types/{private['id']}/action"

    hidden = alice.post("/v3/volumes", json={"volume": {"size": 1, "volume_type": private["id"]}})
    unseen = alice.get(f"/v3/types/{private['id']}")
    granted = admin.post(action, json={"addProjectAccess": {"project": "project-a"}})
    again = admin.post(action, json={"addProjectAccess": {"project": "project-a"}})
    access = admin.get(f"/v3/types/{private['id']}/os-volume-type-access").json()
    volume = api.created(alice, volume_type=private["id"])
    bob_listed = {t["id"] for t in bob.get("/v3/types").json()["volume_types"]}
    alice_listed = {t["id"] for t in alice.get("/v3/types").json()["volume_types"]}
    revoked = admin.post(action, json={"removeProjectAccess": {"project": "project-a"}})
    revoked_again = admin.post(action, json={"removeProjectAccess": {"project": "project-a"}})

    assert (hidden.status_code, unseen.status_code) == (404, 404)
    assert [v["id"] for v in alice.get("/v3/volumes").json()["volumes"]] == [volume["id"]]
    assert (granted.status_code, again.status_code) == (202, 409)
    assert access == {
        "volume_type_access": [{"volume_type_id": private["id"], "project_id": "project-a"}]
    }
    assert alice.get(f"/v3/volumes/{volume['id']}").json()["volume"]["volume_type"] == "gold"
    assert private["id"] in alice_listed
    assert private["id"] not in bob_listed
    assert (revoked.status_code, revoked_again.status_code) == (202, 404)
    assert alice.get(f"/v3/types/{private['id']}").status_code == 404


def test_bad_access_requests_are_refused(admin: httpx.Client, alice: httpx.Client) -> None:
    public = make_type(admin)
    private = make_type(admin, name="private", is_public=False)

    on_public = admin.post(
        f"/v3/types/{public['id']}/action", json={"addProjectAccess": {"project": "p"}}
    )
    public_list = admin.get(f"/v3/types/{public['id']}/os-volume-type-access")
    unknown = admin.post(f"/v3/types/{private['id']}/action", json={"grantAll": {}})
    no_project = admin.post(f"/v3/types/{private['id']}/action", json={"addProjectAccess": {}})
    member = alice.post(
        f"/v3/types/{private['id']}/action", json={"addProjectAccess": {"project": "project-a"}}
    )

    assert [r.status_code for r in (on_public, public_list, unknown, no_project, member)] == [
        400,
        404,
        400,
        400,
        403,
    ]
    assert "grantAll" in unknown.json()["badRequest"]["message"]
    listed = admin.get(f"/v3/types/{private['id']}/os-volume-type-access").json()
    assert listed == {"volume_type_access": []}


def test_an_encryption_type_is_created_shown_updated_and_deleted(admin: httpx.Client) -> None:
    made = make_type(admin)
    url = f"/v3/types/{made['id']}/encryption"
    given = {"provider": "luks", "cipher": "aes-xts-plain64", "key_size": 256}

    created = admin.post(url, json={"encryption": {**given, "control_location": "front-end"}})
    encryption_id = created.json()["encryption"]["encryption_id"]
    updated = admin.put(f"{url}/{encryption_id}", json={"encryption": {"key_size": 128}})
    fetched = admin.get(url).json()
    item = admin.get(f"{url}/cipher").json()
    deleted = admin.delete(f"{url}/{encryption_id}")

    assert created.status_code == 200
    assert created.json()["encryption"]["volume_type_id"] == made["id"]
    assert updated.json() == {"encryption": {"key_size": 128}}
    assert {key: fetched[key] for key in given} == {**given, "key_size": 128}
    assert fetched["control_location"] == "front-end"
    assert item == {"cipher": "aes-xts-plain64"}
    assert deleted.status_code == 202
    assert admin.get(url).json() == {}


def test_bad_encryption_requests_are_refused_and_change_nothing(
    api: Api, admin: httpx.Client, alice: httpx.Client
) -> None:
    made = make_type(admin)
    url = f"/v3/types/{made['id']}/encryption"

    no_provider = admin.post(url, json={"encryption": {"cipher": "x"}})
    location = admin.post(url, json={"encryption": {"provider": "p", "control_location": "mid"}})
    size = admin.post(url, json={"encryption": {"provider": "p", "key_size": -1}})
    extra = admin.post(url, json={"encryption": {"provider": "p", "colour": "red"}})
    member = alice.post(url, json={"encryption": {"provider": "p"}})
    assert [r.status_code for r in (no_provider, location, size, extra, member)] == [
        400,
        400,
        400,
        400,
        403,
    ]
    assert admin.get(url).json() == {}

    api.created(alice, volume_type=made["id"])
    in_use = admin.post(url, json={"encryption": {"provider": "p"}})
    assert in_use.status_code == 400
    assert "used by volumes" in in_use.json()["badRequest"]["message"]
    assert admin.get(url).json() == {}


def test_a_type_with_access_and_encryption_is_deleted_whole(admin: httpx.Client) -> None:
    private = make_type(admin, is_public=False)
    admin.post(f"/v3/types/{private['id']}/action", json={"addProjectAccess": {"project": "p"}})
    admin.post(f"/v3/types/{private['id']}/encryption", json={"encryption": {"provider": "p"}})

    deleted = admin.delete(f"/v3/types/{private['id']}")

    assert deleted.status_code == 202
    assert admin.get(f"/v3/types/{private['id']}").status_code == 404
    assert make_type(admin, is_public=False)["name"] == "gold"
