"""Bad input: each answered 400 with a message naming the field, and nothing created."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.functional.api.conftest import Api


@pytest.fixture
def nothing_created(api: Api, alice: httpx.Client) -> Iterator[None]:
    """Fails the test if a volume row or a backend file appeared."""
    backend = api.hearth.services.settings.backend_directory("local") / "volumes"
    before = set(backend.glob("*")) if backend.exists() else set()
    yield
    assert api.hearth.list_volumes() == []
    after = set(backend.glob("*")) if backend.exists() else set()
    assert after == before


def refused(client: httpx.Client, body: object, field: str, **kwargs: object) -> None:
    response = client.post("/v3/volumes", json=body, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 400, response.text
    message = response.json()["badRequest"]["message"]
    assert field in message, message


@pytest.mark.parametrize("size", ["one", 1.5, True, [1], {"gb": 1}])
def test_a_size_that_is_not_an_integer_is_refused(
    alice: httpx.Client, nothing_created: None, size: object
) -> None:
    refused(alice, {"volume": {"size": size}}, "size")


@pytest.mark.parametrize("size", [0, -1, 10**9])
def test_a_size_not_above_zero_or_too_big_is_refused(
    alice: httpx.Client, nothing_created: None, size: int
) -> None:
    refused(alice, {"volume": {"size": size}}, "size")


def test_an_unknown_volume_type_is_refused(alice: httpx.Client, nothing_created: None) -> None:
    refused(alice, {"volume": {"size": 1, "volume_type": "platinum"}}, "volume_type")


def test_two_sources_are_refused(api: Api, alice: httpx.Client) -> None:
    source = api.created(alice)
    snapshot = alice.post("/v3/snapshots", json={"snapshot": {"volume_id": source["id"]}})
    body = {
        "volume": {
            "size": 1,
            "source_volid": source["id"],
            "snapshot_id": snapshot.json()["snapshot"]["id"],
        }
    }

    refused(alice, body, "snapshot_id")

    assert len(api.hearth.list_volumes()) == 1


def test_a_missing_source_is_refused(alice: httpx.Client, nothing_created: None) -> None:
    refused(alice, {"volume": {"size": 1, "source_volid": "no-such-volume"}}, "source_volid")
    refused(alice, {"volume": {"size": 1, "snapshot_id": "no-such-snapshot"}}, "snapshot_id")


def test_malformed_json_is_refused_naming_the_body(
    alice: httpx.Client, nothing_created: None
) -> None:
    response = alice.post(
        "/v3/volumes",
        content=b'{"volume": {"size": 1',
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 400
    assert "request body" in response.json()["badRequest"]["message"]


@pytest.mark.parametrize("body", [[1, 2], "volume", 3, None])
def test_a_body_that_is_not_an_object_is_refused(
    alice: httpx.Client, nothing_created: None, body: object
) -> None:
    refused(alice, body, "request body")


def test_a_body_without_its_volume_object_is_refused_naming_it(
    alice: httpx.Client, nothing_created: None
) -> None:
    refused(alice, {"size": 1}, "volume")


def test_an_oversized_body_is_refused(alice: httpx.Client, nothing_created: None) -> None:
    big = {"volume": {"size": 1, "description": "x" * (200 * 1024)}}

    refused(alice, big, "request body")


def test_an_oversized_body_sent_in_chunks_is_refused(
    alice: httpx.Client, nothing_created: None
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"volume": {"size": 1, "description": "'
        for _ in range(200):
            yield b"x" * 1024
        yield b'"}}'

    response = alice.post("/v3/volumes", content=chunks())

    assert response.status_code == 400
    assert "request body" in response.json()["badRequest"]["message"]


def test_an_unsupported_field_is_refused_by_name(
    alice: httpx.Client, nothing_created: None
) -> None:
    refused(alice, {"volume": {"size": 1, "multiattach": True}}, "multiattach")
    refused(alice, {"volume": {"size": 1, "consistencygroup_id": "cg"}}, "consistencygroup_id")


def test_a_query_parameter_of_the_wrong_type_is_a_bad_request_not_a_422(
    alice: httpx.Client,
) -> None:
    response = alice.get("/v3/volumes", params={"limit": "many"})

    assert response.status_code == 400
    assert "limit" in response.json()["badRequest"]["message"]
