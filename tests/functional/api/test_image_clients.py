"""The real `openstack` CLI against a live `hearth serve`: images through the Image v2
subset (pointed at with OS_IMAGE_ENDPOINT_OVERRIDE), then a volume made from one."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.images import DATA_AT, MiB, known_raw, made_as, pattern
from tests.served import Served, openstack_env, run_client, served

__all__ = ["served"]  # fixture, imported for pytest


def openstack(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `openstack ARGS` as a member of project-a, images at the served /image."""
    env = {**openstack_env(served), "OS_IMAGE_ENDPOINT_OVERRIDE": f"{served.url}/image"}
    done: subprocess.CompletedProcess[str] = run_client("openstack", env, *args)
    return done


def shown(served: Served, *args: str) -> Any:
    """The parsed `-f json` output of a command that must succeed."""
    done = openstack(served, *args, "-f", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def wait_available(served: Served, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        volume: dict[str, Any] = shown(served, "volume", "show", name)
        if volume["status"] != "creating" and volume["status"] != "downloading":
            assert volume["status"] == "available", volume
            return volume
        assert time.monotonic() < deadline, volume
        time.sleep(0.5)


def test_the_openstack_client_uploads_lists_shows_uses_and_deletes_an_image(
    served: Served, tmp_path: Path
) -> None:
    qcow2 = made_as(known_raw(tmp_path / "disk.raw"), "qcow2", tmp_path / "disk.qcow2")
    offset = DATA_AT[1]
    expected = pattern("image-1", MiB)

    created = shown(
        served, "image", "create", "--file", str(qcow2), "--disk-format", "qcow2",
        "--container-format", "bare", "img",
    )  # fmt: skip
    listed = shown(served, "image", "list")
    image = shown(served, "image", "show", "img")

    assert created["name"] == "img"
    assert [(i["Name"], i["Status"]) for i in listed] == [("img", "active")]
    assert (image["status"], image["disk_format"]) == ("active", "qcow2")
    assert image["size"] == qcow2.stat().st_size

    shown(served, "volume", "create", "--image", "img", "--size", "2", "v4")
    volume = wait_available(served, "v4")
    with served.volume_file(volume["id"]).open("rb") as data:
        data.seek(offset)
        assert data.read(MiB) == expected
    assert volume["volume_image_metadata"]["image_name"] == "img"

    deleted = openstack(served, "image", "delete", "img")
    gone = openstack(served, "image", "show", "img")

    assert deleted.returncode == 0, deleted.stderr
    assert gone.returncode != 0
    assert "img" in gone.stderr
