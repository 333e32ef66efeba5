"""The real clients create volumes from backups against a live ``hearth serve`` (3.47).

The backup is made by the real engine into the served data directory's repository and
its row written there (``tests.backups``), as the backup service would leave it.
``cinder create --backup-id`` sends the id as given; ``openstack volume create --backup``
first looks the backup up (GET /v3/backups), which the backup API serves: without that
API in this build the second test says so and skips (and fails under CI=true).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx

from tests import backups
from tests.conftest import offline_hearth, require
from tests.functional.api.test_clients import cinder, openstack_cli, wait_status
from tests.served import Served, served

__all__ = ["served"]  # fixture, imported for pytest

PAGE = 4096


def backed_up_volume(served: Served, project: str, user: str) -> tuple[Any, Path]:
    """A 1 GiB volume file with data at its start and its end, backed up as ``nightly``."""
    source = served.data_dir / "source.raw"
    backups.write_at(source, 1 << 30, {0: b"from the backup", (1 << 30) - PAGE: b"Z" * PAGE})
    with offline_hearth(served.data_dir) as hearth:
        backup = backups.backed_up(hearth, source, name="nightly", project_id=project, user_id=user)
    return backup, source


def head_and_tail(path: Path) -> tuple[bytes, bytes]:
    with path.open("rb") as handle:
        head = handle.read(15)
        handle.seek(-PAGE, os.SEEK_END)
        return head, handle.read(PAGE)


def test_the_cinder_client_creates_a_volume_from_a_backup_id(served: Served) -> None:
    backup, _ = backed_up_volume(served, "project-c", "carol")

    output = cinder(
        served, "--os-volume-api-version", "3.47", "create", "--backup-id", backup.id, "--name",
        "restored", "1",
    )  # fmt: skip

    assert "restored" in output
    shown = wait_status_cinder(served, "restored")
    assert head_and_tail(served.volume_file(shown)) == (b"from the backup", b"Z" * PAGE)


def wait_status_cinder(served: Served, name: str) -> str:
    """The id of the volume ``name`` once available (polled through the API as carol)."""
    headers = {"X-Auth-Token": "carol:project-c"}
    with httpx.Client(base_url=f"{served.url}/v3", headers=headers, timeout=30) as client:
        for _ in range(240):
            [volume] = client.get("/volumes/detail", params={"name": name}).json()["volumes"]
            if volume["status"] not in ("creating", "downloading"):
                assert volume["status"] == "available", volume
                return str(volume["id"])
            time.sleep(0.25)
    raise AssertionError(f"volume {name} did not become available")


def test_the_openstack_client_creates_a_volume_from_a_backup_by_name(served: Served) -> None:
    backup, _ = backed_up_volume(served, "project-a", "alice")
    probe = httpx.get(
        f"{served.url}/v3/backups/{backup.id}", headers={"X-Auth-Token": "alice:project-a"}
    )
    require(
        probe.status_code == 200,
        "GET /v3/backups/{id} is not served in this build (the backup API); "
        "`openstack volume create --backup` looks the backup up there first",
    )

    openstack_cli(
        served, "--os-volume-api-version", "3.47", "volume", "create", "--backup", "nightly",
        "restored",
    )  # fmt: skip

    shown = wait_status(served, "restored", "available")
    assert shown["size"] == 1
    assert head_and_tail(served.volume_file(shown["id"])) == (b"from the backup", b"Z" * PAGE)
