"""An internal error, when one happens: a complete 500 in the API's error shape, with the
request id and no traceback, on a connection that stays open for the client's next request
(an exception that reaches uvicorn makes it drop the connection instead)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.functional.api.conftest import Api


def local_port(response: httpx.Response) -> int:
    """The client's port of the connection that carried ``response``."""
    stream = response.extensions["network_stream"]
    return int(stream.get_extra_info("client_addr")[1])


def boom(*_: Any, **__: Any) -> Any:
    raise RuntimeError("a bug deep inside")


def test_an_internal_error_answers_500_and_keeps_the_connection(
    api: Api, alice: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = alice.get("/v3/types")
    monkeypatch.setattr(api.hearth, "list_volumes_page", boom)

    failed = alice.get("/v3/volumes")
    after = alice.get("/v3/types")

    assert failed.status_code == 500
    assert failed.json() == {
        "computeFault": {"code": 500, "message": "An internal error occurred."}
    }
    assert failed.headers["x-openstack-request-id"].startswith("req-")
    assert failed.headers.get("connection") != "close"
    assert after.status_code == 200
    assert local_port(first) == local_port(failed) == local_port(after)


def test_an_internal_error_in_an_async_route_keeps_the_connection_too(
    api: Api, alice: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api.hearth, "register_image", boom)

    failed = alice.post("/image/v2/images", json={"name": "i", "disk_format": "raw"})
    after = alice.get("/image/v2/images")

    assert failed.status_code == 500
    assert "computeFault" in failed.json()
    assert after.status_code == 200
    assert local_port(failed) == local_port(after)
