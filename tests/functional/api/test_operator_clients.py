"""The operator's commands of the real clients against a live `hearth serve`: `openstack
volume service list/set`, `openstack volume qos create/set/associate/show`, and quotas
through `cinder quota-update/quota-usage` (`openstack quota` resolves the project through
Keystone, which a noauth Hearth does not have: see test_keystone for Keystone)."""

from __future__ import annotations

import json
from typing import Any

from tests.served import Served, run_client, served
from tests.waiting import wait_until

__all__ = ["served"]  # fixture, imported for pytest


def admin_env(served: Served) -> dict[str, str]:
    return {
        "OS_AUTH_TYPE": "admin_token",
        "OS_TOKEN": "root:admin",
        "OS_ENDPOINT": f"{served.url}/v3",
    }


def openstack(served: Served, *args: str, token: str = "root:admin") -> Any:
    env = {**admin_env(served), "OS_TOKEN": token}
    done = run_client("openstack", env, *args, "-f", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def openstack_quiet(served: Served, *args: str) -> None:
    done = run_client("openstack", admin_env(served), *args)
    assert done.returncode == 0, done.stderr


def cinder(served: Served, *args: str) -> str:
    env = {
        "OS_AUTH_TYPE": "noauth",
        "OS_USER_ID": "root",
        "OS_PROJECT_ID": "admin",
        "CINDER_ENDPOINT": f"{served.url}/v3",
    }
    done = run_client("cinder", env, *args)
    assert done.returncode == 0, done.stderr
    return str(done.stdout)


def volume_status(served: Served, volume_id: str) -> str:
    return str(openstack(served, "volume", "show", volume_id)["status"])


def test_openstack_volume_service_list_and_set_disable_keep_new_volumes_off_a_backend(
    served: Served,
) -> None:
    listed = openstack(served, "volume", "service", "list")
    assert {(s["Binary"], s["State"]) for s in listed} == {
        ("cinder-scheduler", "up"),
        ("cinder-volume", "up"),
        ("cinder-backup", "up"),
    }
    openstack_quiet(
        served,
        "volume",
        "service",
        "set",
        "--disable",
        "--disable-reason",
        "maint",
        "local",
        "cinder-volume",
    )
    long = openstack(served, "volume", "service", "list", "--long", "--service", "cinder-volume")
    assert long[0]["Status"] == "disabled" and long[0]["Disabled Reason"] == "maint"
    refused = openstack(served, "volume", "create", "--size", "1", "off")
    assert wait_until(lambda: volume_status(served, refused["id"]) == "error", timeout=60)
    openstack_quiet(served, "volume", "service", "set", "--enable", "local", "cinder-volume")
    placed = openstack(served, "volume", "create", "--size", "1", "on")
    assert wait_until(lambda: volume_status(served, placed["id"]) == "available", timeout=60)


def test_openstack_volume_qos_create_set_associate_and_show(served: Served) -> None:
    created = openstack(
        served,
        "volume",
        "qos",
        "create",
        "--consumer",
        "front-end",
        "--property",
        "read_iops_sec=100",
        "fast",
    )
    assert created["properties"] == {"read_iops_sec": "100"}
    openstack(served, "volume", "type", "create", "gold")
    openstack_quiet(served, "volume", "qos", "associate", "fast", "gold")
    openstack_quiet(served, "volume", "qos", "set", "--property", "write_iops_sec=5", "fast")
    shown = openstack(served, "volume", "qos", "show", "fast")
    assert shown["associations"] == ["gold"]
    assert shown["properties"] == {"read_iops_sec": "100", "write_iops_sec": "5"}
    refused = run_client("openstack", admin_env(served), "volume", "qos", "delete", "fast")
    assert refused.returncode != 0
    openstack_quiet(served, "volume", "qos", "delete", "--force", "fast")
    assert openstack(served, "volume", "qos", "list") == []


def test_cinder_quota_update_is_enforced_on_openstack_volume_create(served: Served) -> None:
    cinder(served, "quota-update", "--volumes", "1", "project-a")
    usage = cinder(served, "quota-usage", "project-a")
    assert "volumes" in usage
    first = openstack(served, "volume", "create", "--size", "1", "one", token="alice:project-a")
    assert first["name"] == "one"
    env = {**admin_env(served), "OS_TOKEN": "alice:project-a"}
    second = run_client("openstack", env, "volume", "create", "--size", "1", "two")
    assert second.returncode != 0 and "Quota exceeded for volumes" in second.stderr
    lines = [line for line in cinder(served, "quota-usage", "project-a").splitlines()]
    [volumes] = [line for line in lines if line.startswith("| volumes ")]
    assert [cell.strip() for cell in volumes.split("|")[1:5]] == ["volumes", "1", "0", "1"]


def test_openstack_volume_transfer_request_create_and_accept(served: Served) -> None:
    alice, bob = "alice:project-a", "bob:project-b"
    volume = openstack(served, "volume", "create", "--size", "1", "gift", token=alice)
    assert wait_until(lambda: volume_status(served, volume["id"]) == "available", timeout=60)
    request = openstack(
        served, "volume", "transfer", "request", "create", volume["id"], token=alice
    )
    assert request["volume_id"] == volume["id"] and request["auth_key"]
    accepted = openstack(
        served,
        "volume",
        "transfer",
        "request",
        "accept",
        "--auth-key",
        request["auth_key"],
        request["id"],
        token=bob,
    )
    assert accepted["volume_id"] == volume["id"]
    taken = openstack(served, "volume", "show", volume["id"], token=bob)
    assert taken["status"] == "available"
