"""``backup_id`` in POST /volumes (microversion 3.47), over real HTTP on the file backend.

A backup made by the real engine restores into the new volume; every bad request is
answered with its status (404 for a backup the caller cannot see, 400 otherwise) and a
message naming the problem, and changes nothing: no row, no file, the backup's status
as it was.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import backups
from tests.functional.api import refusals
from tests.functional.api.conftest import Api

MiB = 1 << 20
GiB = 1 << 30
MISSING = "7f1f5b4e-0000-4000-8000-00000000dead"
AT_3_47 = {"OpenStack-API-Version": "volume 3.47"}


@pytest.fixture
def backup(api: Api, tmp_path: Path) -> Any:
    """An available 1 GiB backup of project-a, holding data at its start and its end."""
    disk = backups.write_at(
        tmp_path / "disk.raw", GiB, {0: b"first" * 1000, GiB - 4096: b"L" * 4096}
    )
    return backups.backed_up(api.hearth, disk, project_id="project-a", user_id="alice")


def create(client: httpx.Client, headers: dict[str, str] | None = AT_3_47, **fields: Any) -> Any:
    return client.post("/v3/volumes", json={"volume": fields}, headers=headers or {})


def test_a_volume_created_from_a_backup_at_3_47_holds_the_backups_data(
    api: Api, alice: httpx.Client, backup: Any
) -> None:
    response = create(alice, backup_id=backup.id, name="restored")

    assert response.status_code == 202, response.text
    shown = response.json()["volume"]
    assert (shown["size"], shown["status"]) == (1, "creating")  # the backup's size
    api.wait_for(lambda: api.volume_status(alice, shown["id"]) not in ("creating", None))
    assert api.volume_status(alice, shown["id"]) == "available"
    path = api.hearth.volume_path(shown["id"])
    with path.open("rb") as restored:
        assert restored.read(5000) == b"first" * 1000
        restored.seek(GiB - 4096)
        assert restored.read() == b"L" * 4096
    assert backups.get(api.hearth, backup.id).status == "available"


@pytest.fixture
def unchanged(api: Api, backup: Any) -> Iterator[Callable[[], None]]:
    """Checks, when called, that nothing changed since the test began."""
    before = refusals.world(api)

    def check() -> None:
        refusals.settle(api)
        assert refusals.world(api) == before
        row = backups.get(api.hearth, backup.id)
        assert (row.status, row.restore_volume_id) == ("available", None)

    return check


def refused(response: httpx.Response, status: int, *fragments: str) -> None:
    assert response.status_code == status, response.text
    [(kind, body)] = response.json().items()
    assert kind == {400: "badRequest", 404: "itemNotFound"}[status]
    for fragment in fragments:
        assert fragment in body["message"], body["message"]


def test_a_missing_backup_is_404(alice: httpx.Client, unchanged: Callable[[], None]) -> None:
    refused(create(alice, backup_id=MISSING), 404, f"Backup {MISSING} could not be found")
    unchanged()


def test_another_projects_backup_is_404(
    bob: httpx.Client, backup: Any, unchanged: Callable[[], None]
) -> None:
    refused(create(bob, backup_id=backup.id), 404, f"Backup {backup.id} could not be found")
    unchanged()


@pytest.mark.parametrize("status", ["creating", "error", "restoring", "deleting"])
def test_a_backup_that_is_not_available_is_400(api: Api, alice: httpx.Client, status: str) -> None:
    other = backups.backup_row(api.hearth, project_id="project-a", status=status)
    before = refusals.world(api)

    refused(create(alice, backup_id=other.id), 400, f"its status is '{status}'")

    assert refusals.world(api) == before
    assert backups.get(api.hearth, other.id).status == status


@pytest.mark.parametrize(
    ("fields", "headers", "fragments"),
    [
        ({"size": 1}, {}, ("'backup_id'", "before microversion 3.47")),
        ({"size": 1}, {"OpenStack-API-Version": "volume 3.46"}, ("before microversion 3.47",)),
        ({"size": 0}, AT_3_47, ("'size'",)),
        ({"size": "two"}, AT_3_47, ("'size'", "must be an integer")),
        ({"size": 1, "imageRef": MISSING}, AT_3_47, ("give only one source",)),
        ({"size": 1, "snapshot_id": MISSING}, AT_3_47, ("give only one source",)),
    ],
    ids=["3.0", "3.46", "size 0", "size text", "with an image", "with a snapshot"],
)
def test_bad_requests_for_a_backup_are_400_naming_the_problem(
    alice: httpx.Client,
    backup: Any,
    unchanged: Callable[[], None],
    fields: dict[str, Any],
    headers: dict[str, str],
    fragments: tuple[str, ...],
) -> None:
    refused(create(alice, headers, backup_id=backup.id, **fields), 400, *fragments)
    unchanged()


@pytest.mark.parametrize("bad", ["", 7, ["x"], {"id": "x"}, True])
def test_a_backup_id_that_is_not_an_id_string_is_400(
    alice: httpx.Client, unchanged: Callable[[], None], bad: Any
) -> None:
    refused(create(alice, backup_id=bad), 400, "'backup_id'")
    unchanged()


def test_a_size_smaller_than_the_backup_is_400(
    api: Api, alice: httpx.Client, tmp_path: Path
) -> None:
    big = backups.backup_row(api.hearth, project_id="project-a", size=3)
    before = refusals.world(api)

    refused(
        create(alice, backup_id=big.id, size=2),
        400,
        "'size'",
        "must be at least the backup's size of 3 GiB, got 2",
    )

    assert refusals.world(api) == before
    assert backups.get(api.hearth, big.id).status == "available"


def test_a_null_backup_id_before_3_47_is_a_plain_create(api: Api, alice: httpx.Client) -> None:
    response = create(alice, None, size=1, backup_id=None)

    assert response.status_code == 202, response.text
    volume_id = response.json()["volume"]["id"]
    api.wait_for(lambda: api.volume_status(alice, volume_id) == "available")
    assert os.path.getsize(api.hearth.volume_path(volume_id)) == GiB
