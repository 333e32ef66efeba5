"""The real OpenStack clients against a live `hearth serve` process, authenticating with
noauth: python-openstackclient, python-cinderclient and openstacksdk, unmodified."""

from __future__ import annotations

import json
import time
from typing import Any

import openstack.connection
import pytest

from tests.served import Served, openstack_env, run_client, served
from tests.waiting import wait_until

__all__ = ["served"]  # fixture, imported for pytest


def openstack_cli(served: Served, *args: str) -> Any:
    """Run `openstack ARGS -f json` as a member of project-a; returns the parsed output."""
    done = run_client("openstack", openstack_env(served), *args, "-f", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def openstack_quiet(served: Served, *args: str) -> None:
    """Run an `openstack` command that prints nothing (e.g. delete)."""
    done = run_client("openstack", openstack_env(served), *args)
    assert done.returncode == 0, done.stderr


def cinder(served: Served, *args: str) -> str:
    """Run `cinder ARGS` with its noauth plugin as a member of project-c."""
    env = {
        "OS_AUTH_TYPE": "noauth",
        "OS_USER_ID": "carol",
        "OS_PROJECT_ID": "project-c",
        "CINDER_ENDPOINT": f"{served.url}/v3",
    }
    done = run_client("cinder", env, *args)
    assert done.returncode == 0, done.stderr
    return str(done.stdout)


def wait_status(served: Served, name: str, wanted: str, kind: str = "volume") -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        shown: dict[str, Any] = openstack_cli(served, kind, "show", name)
        if shown["status"] == wanted or time.monotonic() > deadline:
            assert shown["status"] == wanted, shown
            return shown
        time.sleep(0.5)


def wait_snapshot(served: Served, name: str) -> None:
    def available() -> bool:
        shown = openstack_cli(served, "volume", "snapshot", "show", name)
        return bool(shown["status"] == "available")

    assert wait_until(available, timeout=60)


def test_the_openstack_client_creates_snapshots_copies_clones_and_deletes(
    served: Served,
) -> None:
    created = openstack_cli(served, "volume", "create", "--size", "1", "v1")
    assert created["name"] == "v1"
    v1 = wait_status(served, "v1", "available")
    with served.volume_file(v1["id"]).open("r+b") as handle:
        handle.write(b"from v1")
    listed = openstack_cli(served, "volume", "list")
    assert [v["Name"] for v in listed] == ["v1"]

    openstack_cli(served, "volume", "snapshot", "create", "--volume", "v1", "s1")
    wait_snapshot(served, "s1")
    openstack_cli(served, "volume", "create", "--snapshot", "s1", "--size", "2", "v2")
    openstack_cli(served, "volume", "create", "--source", "v1", "v3")
    v2 = wait_status(served, "v2", "available")
    v3 = wait_status(served, "v3", "available")

    assert v2["size"] == 2
    for copy in (v2, v3):
        with served.volume_file(copy["id"]).open("rb") as made:  # not all of its 1-2 GiB
            assert made.read(7) == b"from v1"
    openstack_quiet(served, "volume", "snapshot", "delete", "s1")
    openstack_quiet(served, "volume", "delete", "v2", "v3")
    assert wait_until(
        lambda: [v["Name"] for v in openstack_cli(served, "volume", "list")] == ["v1"],
        timeout=60,
    )
    openstack_quiet(served, "volume", "delete", "v1")
    assert wait_until(lambda: not openstack_cli(served, "volume", "list"), timeout=60)
    assert not served.volume_file(v1["id"]).exists()


def test_the_cinder_client_creates_lists_shows_and_deletes(served: Served) -> None:
    created = cinder(served, "create", "1", "--name", "c1")
    volume_id = next(
        line.split("|")[2].strip() for line in created.splitlines() if line.startswith("| id ")
    )
    assert wait_until(lambda: "available" in cinder(served, "show", volume_id), timeout=60)

    assert "c1" in cinder(served, "list")
    assert served.volume_file(volume_id).stat().st_size == 1 << 30
    cinder(served, "delete", volume_id)
    assert wait_until(lambda: "c1" not in cinder(served, "list"), timeout=60)


# openstacksdk warns about its own internals (InfluxDB support, _compute_attributes)
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:openstack")
def test_an_openstacksdk_script_does_the_same(served: Served) -> None:
    conn = openstack.connection.Connection(
        auth_type="admin_token",
        auth={"token": "dave:project-d", "endpoint": f"{served.url}/v3"},
        block_storage_endpoint_override=f"{served.url}/v3",
    )
    storage = conn.block_storage

    v1 = storage.wait_for_status(storage.create_volume(size=1, name="v1"), "available")
    s1 = storage.wait_for_status(storage.create_snapshot(volume_id=v1.id, name="s1"), "available")
    v2 = storage.create_volume(size=2, snapshot_id=s1.id, name="v2")
    v3 = storage.create_volume(source_volume_id=v1.id, name="v3")
    v2 = storage.wait_for_status(v2, "available")
    v3 = storage.wait_for_status(v3, "available")

    assert sorted(v.name for v in storage.volumes()) == ["v1", "v2", "v3"]
    assert storage.get_volume(v2.id).size == 2
    assert served.volume_file(v3.id).stat().st_size == 1 << 30
    for volume in (v2, v3):
        storage.delete_volume(volume)
        storage.wait_for_delete(volume)
    storage.delete_snapshot(s1)
    storage.wait_for_delete(s1)
    storage.delete_volume(v1)
    storage.wait_for_delete(v1)
    assert list(storage.volumes()) == []
    conn.close()
