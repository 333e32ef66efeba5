"""The status page over real HTTP: its files are public and self-contained, its state is
behind the API's authentication and for admins only."""

from __future__ import annotations

import re

import httpx

from tests.functional.api.conftest import Api


def test_the_page_and_its_files_are_served_without_a_token(api: Api) -> None:
    page = httpx.get(f"{api.url}/dashboard")
    script = httpx.get(f"{api.url}/dashboard/static/dashboard.js")
    style = httpx.get(f"{api.url}/dashboard/static/dashboard.css")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    assert "x-openstack-request-id" in page.headers
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy


def test_the_page_with_a_trailing_slash_leads_to_the_page(api: Api) -> None:
    response = httpx.get(f"{api.url}/dashboard/", follow_redirects=True)

    assert response.status_code == 200 and "Hearth status" in response.text


def test_the_page_loads_nothing_from_another_origin(api: Api) -> None:
    for path in ("/dashboard", "/dashboard/static/dashboard.js", "/dashboard/static/dashboard.css"):
        text = httpx.get(f"{api.url}{path}").text
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text), path


def test_only_the_pages_own_files_are_served(api: Api, admin: httpx.Client) -> None:
    assert admin.get("/dashboard/static/index.html").status_code == 404
    assert admin.get("/dashboard/static/..%2F__init__.py").status_code == 404
    assert httpx.get(f"{api.url}/dashboard/static/other.js").status_code == 401


def test_the_state_needs_a_token(api: Api) -> None:
    response = httpx.get(f"{api.url}/dashboard/state")

    assert response.status_code == 401
    assert "unauthorized" in response.json()


def test_the_state_is_for_admins_only(alice: httpx.Client) -> None:
    response = alice.get("/dashboard/state")

    assert response.status_code == 403
    assert "administrators" in response.json()["forbidden"]["message"]


def test_an_admin_gets_backends_creates_failures_and_the_cache(
    api: Api, admin: httpx.Client, alice: httpx.Client
) -> None:
    api.created(alice, name="kept")

    response = admin.get("/dashboard/state")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    state = response.json()
    assert set(state) == {"taken_at", "backends", "creates", "failures", "image_cache"}
    (backend,) = state["backends"]
    assert backend["name"] == "local" and backend["up"] is True
    assert backend["claimed_bytes"] == 1 << 30
    assert backend["total_bytes"] > 0 and backend["free_bytes"] > 0
    assert state["creates"] == [] and state["failures"] == [] and state["image_cache"] == []


def test_the_page_is_not_in_the_block_storage_api_description(api: Api) -> None:
    paths = httpx.get(f"{api.url}/openapi.json").json()["paths"]

    assert not [path for path in paths if path.startswith("/dashboard")]
