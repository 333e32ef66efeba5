"""The attachments API through the real clients against a live `hearth serve`: cinderclient's
``attachment-*`` commands and python-openstackclient's ``volume attachment`` commands
(``create`` needs Nova to find the server, so cinderclient makes it here)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.functional.api.test_clients import openstack_cli, openstack_quiet, wait_status
from tests.served import Served, run_client, served

__all__ = ["served"]  # fixture, imported for pytest

V = ("--os-volume-api-version", "3.27")


def cinder(served: Served, *args: str) -> str:
    """`cinder --os-volume-api-version 3.27 ARGS` as a member of project-a."""
    env = {
        "OS_AUTH_TYPE": "noauth",
        "OS_USER_ID": "alice",
        "OS_PROJECT_ID": "project-a",
        "CINDER_ENDPOINT": f"{served.url}/v3",
    }
    done = run_client("cinder", env, *V, *args)
    assert done.returncode == 0, done.stderr
    return str(done.stdout)


def _field(table: str, name: str) -> str:
    """A value of cinderclient's ``| Property | Value |`` table."""
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] == name:
            return cells[1]
    raise AssertionError(f"{name} not in {table}")


def test_cinder_and_openstack_reserve_update_show_list_and_delete(served: Served) -> None:
    openstack_cli(served, "volume", "create", "--size", "1", "v1")
    volume = wait_status(served, "v1", "available")
    server = str(uuid.uuid4())

    made = cinder(served, "attachment-create", volume["id"], server)
    attachment_id = _field(made, "id")
    assert _field(made, "status") == "reserved"
    assert wait_status(served, "v1", "reserved")["status"] == "reserved"

    updated: Any = openstack_cli(
        served, *V, "volume", "attachment", "set", attachment_id, "--host", "compute-1"
    )
    assert updated["Status"] == "attaching"
    assert updated["Properties"]["driver_volume_type"] == "local"
    assert "device_path" in json.dumps(updated["Properties"])
    listed = openstack_cli(served, *V, "volume", "attachment", "list")
    assert [row["ID"] for row in listed] == [attachment_id]
    shown = openstack_cli(served, *V, "volume", "attachment", "show", attachment_id)
    assert shown["Volume ID"] == volume["id"] and shown["Instance ID"] == server
    assert attachment_id in cinder(served, "attachment-list")

    openstack_quiet(served, *V, "volume", "attachment", "delete", attachment_id)
    assert wait_status(served, "v1", "available")["status"] == "available"
    assert openstack_cli(served, *V, "volume", "attachment", "list") == []
