"""``openstack volume backup create | list | show | restore | delete`` (python-openstackclient,
unmodified) against a live ``hearth serve``, which serves the backup role by default."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.functional.api.test_clients import openstack_cli, openstack_quiet, wait_status
from tests.served import Served, served
from tests.waiting import wait_until

__all__ = ["served"]  # fixture, imported for pytest


def wait_backup(served: Served, name: str, wanted: str = "available") -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        shown: dict[str, Any] = openstack_cli(served, "volume", "backup", "show", name)
        if shown["status"] == wanted or time.monotonic() > deadline:
            assert shown["status"] == wanted, shown
            return shown
        time.sleep(0.5)


def test_the_openstack_client_backs_up_restores_and_deletes(served: Served) -> None:
    openstack_cli(served, "volume", "create", "--size", "1", "v1")
    wait_status(served, "v1", "available")

    created = openstack_cli(served, "volume", "backup", "create", "--name", "b1", "v1")
    assert created["name"] == "b1"
    shown = wait_backup(served, "b1")
    assert shown["volume_id"] == wait_status(served, "v1", "available")["id"]
    listed = openstack_cli(served, "volume", "backup", "list")
    assert [b["Name"] for b in listed] == ["b1"]
    openstack_cli(served, "volume", "backup", "create", "--name", "b2", "--incremental", "v1")
    assert wait_backup(served, "b2")["is_incremental"] is True

    restored = openstack_cli(served, "volume", "backup", "restore", "b1", "v2")
    assert shown["id"] in json.dumps(restored)  # its keys differ between client versions
    wait_status(served, "v2", "available")
    openstack_cli(served, "volume", "backup", "restore", "--force", "b2", "v1")
    wait_backup(served, "b2")
    wait_status(served, "v1", "available")

    openstack_quiet(served, "volume", "backup", "delete", "b2")
    assert wait_until(
        lambda: [b["Name"] for b in openstack_cli(served, "volume", "backup", "list")] == ["b1"],
        timeout=60,
    )
    openstack_quiet(served, "volume", "backup", "delete", "b1")
    assert wait_until(lambda: openstack_cli(served, "volume", "backup", "list") == [], timeout=60)
