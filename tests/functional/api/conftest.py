"""Fixtures of the API tests: a live API over real HTTP on a file-backend Hearth, and
HTTP clients acting as members of two projects and as an admin."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from hearth.api import server
from hearth.service.facade import Hearth
from tests.conftest import make_settings, open_hearth
from tests.waiting import wait_until


class Api:
    """A running API and the Hearth behind it."""

    def __init__(self, hearth: Hearth, url: str) -> None:
        self.hearth = hearth
        self.url = url

    def client(self, project: str, user: str = "user", **headers: str) -> httpx.Client:
        """An HTTP client acting as ``user`` of ``project`` (noauth)."""
        return httpx.Client(
            base_url=self.url,
            headers={"X-Auth-Token": f"{user}:{project}", **headers},
            timeout=30,
        )

    def wait_for(self, check: Callable[[], bool], timeout: float = 30) -> None:
        """Wait until ``check()`` holds (polling, as a client would)."""
        assert wait_until(check, timeout=timeout), "condition not reached in time"

    def volume_status(self, client: httpx.Client, volume_id: str) -> str | None:
        """The volume's status, or None once it is gone."""
        response = client.get(f"/v3/volumes/{volume_id}")
        if response.status_code == 404:
            return None
        return str(response.json()["volume"]["status"])

    def created(self, client: httpx.Client, **fields: Any) -> dict[str, Any]:
        """Create a volume and wait until it is available."""
        response = client.post("/v3/volumes", json={"volume": {"size": 1, **fields}})
        assert response.status_code == 202, response.text
        volume: dict[str, Any] = response.json()["volume"]
        busy = {"creating", "downloading"}  # downloading: a create from an image
        self.wait_for(lambda: self.volume_status(client, volume["id"]) not in busy)
        assert self.volume_status(client, volume["id"]) == "available"
        return volume


@contextmanager
def start_api(
    tmp_path: Path, api: dict[str, Any] | None = None, **overrides: object
) -> Iterator[Api]:
    """Hearth with the file driver on SQLite, its API on a free port of 127.0.0.1."""
    settings = make_settings(tmp_path / "data", api={"port": 0, **(api or {})}, **overrides)
    hearth = open_hearth(settings)
    try:
        with server.Background(hearth) as running:
            yield Api(hearth, running.url)
    finally:
        hearth.close()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with start_api(tmp_path) as running:
        yield running


@pytest.fixture
def alice(api: Api) -> Iterator[httpx.Client]:
    """A member of project-a."""
    with api.client("project-a", "alice") as client:
        yield client


@pytest.fixture
def bob(api: Api) -> Iterator[httpx.Client]:
    """A member of project-b."""
    with api.client("project-b", "bob") as client:
        yield client


@pytest.fixture
def admin(api: Api) -> Iterator[httpx.Client]:
    """An administrator (noauth: a member of the admin project)."""
    with api.client("admin", "root") as client:
        yield client
