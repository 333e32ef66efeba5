"""Version documents and microversion negotiation, over HTTP."""

from __future__ import annotations

import httpx

from hearth.api import versions
from tests.functional.api.conftest import Api


def test_the_root_answers_300_with_the_v3_version_document(api: Api) -> None:
    response = httpx.get(f"{api.url}/")

    assert response.status_code == 300
    [document] = response.json()["versions"]
    assert document["id"] == "v3.0"
    assert document["status"] == "CURRENT"
    assert document["version"] == str(versions.MAX)
    assert document["min_version"] == "3.0"
    assert {"updated", "links", "media-types"} <= set(document)


def test_the_v3_root_answers_200_without_authentication(api: Api) -> None:
    response = httpx.get(f"{api.url}/v3/")

    assert response.status_code == 200
    assert response.json()["versions"][0]["version"] == str(versions.MAX)


def test_without_a_version_header_a_request_is_served_at_3_0(alice: httpx.Client) -> None:
    response = alice.get("/v3/volumes")

    assert response.headers["OpenStack-API-Version"] == "volume 3.0"
    assert "OpenStack-API-Version" in response.headers["vary"]


def test_the_requested_microversion_is_served_and_repeated(alice: httpx.Client) -> None:
    response = alice.get("/v3/volumes", headers={versions.HEADER: "volume 3.5"})

    assert response.status_code == 200
    assert response.headers["OpenStack-API-Version"] == "volume 3.5"


def test_latest_is_the_highest_microversion(alice: httpx.Client) -> None:
    response = alice.get("/v3/volumes", headers={versions.HEADER: "volume latest"})

    assert response.headers["OpenStack-API-Version"] == f"volume {versions.MAX}"


def test_a_microversion_out_of_range_gets_406(alice: httpx.Client) -> None:
    for asked in ("3.999", "2.0", "4.0"):
        response = alice.get("/v3/volumes", headers={versions.HEADER: f"volume {asked}"})

        assert response.status_code == 406, asked
        assert "3.0" in response.text


def test_a_malformed_version_header_is_a_bad_request_naming_the_header(
    alice: httpx.Client,
) -> None:
    response = alice.get("/v3/volumes", headers={versions.HEADER: "volume three"})

    assert response.status_code == 400
    assert versions.HEADER in response.json()["badRequest"]["message"]


def test_messages_need_microversion_3_3(alice: httpx.Client) -> None:
    assert alice.get("/v3/messages").status_code == 404
    response = alice.get("/v3/messages", headers={versions.HEADER: "volume 3.3"})
    assert response.status_code == 200
    assert response.json() == {"messages": []}
