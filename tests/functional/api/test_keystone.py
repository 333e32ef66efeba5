"""Keystone mode, offline: keystonemiddleware is built from ``[api.keystone]`` and lets no
request through without a token Keystone confirmed. (Validating a real token needs a
Keystone, which these tests do not have.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.functional.api.conftest import Api, start_api

# nothing listens here: any validation attempt fails
NO_KEYSTONE = "http://127.0.0.1:9/v3"


@pytest.fixture
def keystone_api(tmp_path: Path) -> Iterator[Api]:
    settings = {
        "auth": "keystone",
        "keystone": {"auth_url": NO_KEYSTONE, "www_authenticate_uri": NO_KEYSTONE},
    }
    with start_api(tmp_path, api=settings) as running:
        yield running


# keystonemiddleware and its dependencies warn about their own internals
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_a_request_without_a_token_is_unauthorized(keystone_api: Api) -> None:
    response = httpx.get(f"{keystone_api.url}/v3/volumes")

    assert response.status_code == 401
    assert "unauthorized" in response.json()


def test_noauth_headers_are_not_believed_in_keystone_mode(keystone_api: Api) -> None:
    response = httpx.get(
        f"{keystone_api.url}/v3/volumes",
        headers={"X-User-Id": "admin", "X-Project-Id": "admin", "X-Roles": "admin"},
    )

    assert response.status_code == 401


def test_a_token_keystone_cannot_confirm_is_unauthorized(keystone_api: Api) -> None:
    response = httpx.get(
        f"{keystone_api.url}/v3/volumes", headers={"X-Auth-Token": "alice:project-a"}, timeout=60
    )

    assert response.status_code == 401
    assert keystone_api.hearth.list_volumes() == []


def test_version_documents_need_no_token(keystone_api: Api) -> None:
    assert httpx.get(f"{keystone_api.url}/").status_code == 300
