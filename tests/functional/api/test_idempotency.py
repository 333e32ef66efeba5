"""Idempotent creates: a retried create with the same Idempotency-Key makes one volume."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.functional.api.conftest import Api, start_api

BODY = {"volume": {"size": 1, "name": "once"}}


def test_a_repeated_create_with_the_same_key_returns_the_same_volume(
    api: Api, alice: httpx.Client
) -> None:
    first = alice.post("/v3/volumes", json=BODY, headers={"Idempotency-Key": "k1"})
    again = alice.post("/v3/volumes", json=BODY, headers={"Idempotency-Key": "k1"})

    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json()["volume"]["id"] == again.json()["volume"]["id"]
    assert len(api.hearth.list_volumes()) == 1


def test_the_same_key_with_another_body_is_a_conflict_and_creates_nothing(
    api: Api, alice: httpx.Client
) -> None:
    alice.post("/v3/volumes", json=BODY, headers={"Idempotency-Key": "k1"})

    other = alice.post(
        "/v3/volumes", json={"volume": {"size": 2}}, headers={"Idempotency-Key": "k1"}
    )

    assert other.status_code == 409
    assert "Idempotency-Key" in other.json()["conflictingRequest"]["message"]
    assert len(api.hearth.list_volumes()) == 1


def test_keys_are_per_project(api: Api, alice: httpx.Client, bob: httpx.Client) -> None:
    a = alice.post("/v3/volumes", json=BODY, headers={"Idempotency-Key": "shared"})
    b = bob.post("/v3/volumes", json=BODY, headers={"Idempotency-Key": "shared"})

    assert a.json()["volume"]["id"] != b.json()["volume"]["id"]


def test_concurrent_retries_with_one_key_make_one_volume(api: Api, alice: httpx.Client) -> None:
    def create(_: int) -> str:
        response = alice.post("/v3/volumes", json=BODY, headers={"Idempotency-Key": "race"})
        assert response.status_code == 202, response.text
        return str(response.json()["volume"]["id"])

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(create, range(8)))

    assert len(ids) == 1
    assert len(api.hearth.list_volumes()) == 1


def test_a_key_whose_volume_was_deleted_is_a_conflict_not_a_second_volume(
    api: Api, alice: httpx.Client
) -> None:
    volume = alice.post("/v3/volumes", json=BODY, headers={"Idempotency-Key": "gone"}).json()
    api.wait_for(lambda: api.volume_status(alice, volume["volume"]["id"]) == "available")
    alice.delete(f"/v3/volumes/{volume['volume']['id']}")
    api.wait_for(lambda: api.volume_status(alice, volume["volume"]["id"]) is None)

    again = alice.post("/v3/volumes", json=BODY, headers={"Idempotency-Key": "gone"})

    assert again.status_code == 409
    assert api.hearth.list_volumes() == []


def test_an_expired_key_may_be_used_again(tmp_path: Path) -> None:
    with start_api(tmp_path, api={"idempotency_ttl": 0.001}) as api, api.client("p") as client:
        first = client.post("/v3/volumes", json=BODY, headers={"Idempotency-Key": "k"})
        volume_id = first.json()["volume"]["id"]
        api.wait_for(lambda: api.volume_status(client, volume_id) != "creating")

        second = client.post("/v3/volumes", json=BODY, headers={"Idempotency-Key": "k"})

    assert second.json()["volume"]["id"] != volume_id
