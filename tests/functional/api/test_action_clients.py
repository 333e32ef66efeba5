"""The volume actions through the real `openstack` client against a live `hearth serve` with
two file backends: `volume set --bootable/--read-only/--image-property`, `volume set --type
--retype-policy on-demand` (a migration, bytes compared), `image create --volume`, and
`volume revert` (3.40)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hearth.api import versions
from tests.served import Served, openstack_env, run_client
from tests.waiting import wait_until

BACKENDS = ("b1", "b2")
TOKEN = {"X-Auth-Token": "alice:project-a"}


@pytest.fixture
def two(tmp_path: Path) -> Iterator[Served]:
    """`hearth serve` with backends b1 and b2 and a type matching each."""
    config = "".join(f'[backends.{name}]\ndirectory = "{tmp_path / name}"\n' for name in BACKENDS)
    running = Served(tmp_path, extra_config=config)
    try:
        admin = {"X-Auth-Token": "root:admin"}
        for name in BACKENDS:
            body = {"name": f"on-{name}", "extra_specs": {"volume_backend_name": name}}
            created = httpx.post(
                f"{running.url}/v3/types", json={"volume_type": body}, headers=admin
            )
            assert created.status_code == 200, created.text
        yield running
    finally:
        running.stop()


def openstack(served: Served, *args: str) -> Any:
    env = {**openstack_env(served), "OS_IMAGE_ENDPOINT_OVERRIDE": f"{served.url}/image"}
    done = run_client("openstack", env, *args)
    assert done.returncode == 0, done.stderr
    text = str(done.stdout)
    return json.loads(text) if text.strip().startswith(("{", "[")) else text


def api_volume(served: Served, volume_id: str) -> dict[str, Any]:
    """The volume as the API shows it (polled over HTTP: one client run costs seconds)."""
    response = httpx.get(f"{served.url}/v3/volumes/{volume_id}", headers=TOKEN)
    document: dict[str, Any] = response.json()["volume"]
    return document


def created(served: Served, *args: str) -> dict[str, Any]:
    """`openstack volume create ARGS`, once the volume is available."""
    volume: dict[str, Any] = openstack(served, "volume", "create", *args, "-f", "json")
    settle(lambda: api_volume(served, volume["id"])["status"] == "available")
    return volume


def settle(check: Callable[[], bool]) -> None:
    assert wait_until(check, timeout=60), "not reached in time"


def volume_file(served: Served, backend: str, volume_id: str) -> Path:
    return served.data_dir.parent / backend / "volumes" / f"volume-{volume_id}"


def digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def test_volume_set_flags_image_properties_and_a_retype_that_moves_the_bytes(
    two: Served,
) -> None:
    volume_id = created(two, "--size", "1", "--type", "on-b1", "v1")["id"]
    source = volume_file(two, "b1", volume_id)
    with source.open("r+b") as handle:
        handle.write(b"the first bytes")
        handle.seek(300 << 20)
        handle.write(b"further on" * 1000)
    expected = digest(source)

    openstack(two, "volume", "set", "--bootable", "--read-only", "v1")
    openstack(two, "volume", "set", "--image-property", "os_distro=debian", "v1")
    flagged = api_volume(two, volume_id)
    assert flagged["bootable"] == "true"
    assert flagged["metadata"] == {"readonly": "True"}
    assert flagged["volume_image_metadata"] == {"os_distro": "debian"}

    openstack(two, "volume", "set", "--type", "on-b2", "--retype-policy", "on-demand", "v1")
    settle(lambda: api_volume(two, volume_id)["volume_type"] == "on-b2")
    assert api_volume(two, volume_id)["status"] == "available"
    target = volume_file(two, "b2", volume_id)
    assert digest(target) == expected
    settle(lambda: not source.exists())


def test_image_create_from_a_volume_holds_its_bytes(two: Served) -> None:
    volume = created(two, "--size", "1", "v2")
    path = next(p for p in (volume_file(two, b, volume["id"]) for b in BACKENDS) if p.exists())
    with path.open("r+b") as handle:
        handle.write(b"an image made of a volume")

    made = openstack(
        two, "image", "create", "--volume", "v2", "--disk-format", "raw", "img", "-f", "json"
    )

    image_id = made["image_id"]
    token = {"X-Auth-Token": "alice:project-a"}

    def status() -> str:
        return str(
            httpx.get(f"{two.url}/image/v2/images/{image_id}", headers=token).json()["status"]
        )

    settle(lambda: status() == "active")
    stored = two.data_dir / "images" / f"image-{image_id}"
    assert digest(stored) == digest(path)
    settle(lambda: api_volume(two, volume["id"])["status"] == "available")


@pytest.mark.skipif(
    versions.MAX < versions.VOLUME_REVERT,
    reason="the served microversions end below 3.40 (revert) until they are raised",
)
def test_volume_revert_restores_the_latest_snapshot(two: Served) -> None:
    volume = created(two, "--size", "1", "v3")
    path = next(p for p in (volume_file(two, b, volume["id"]) for b in BACKENDS) if p.exists())
    with path.open("r+b") as handle:
        handle.write(b"kept")
    snap = openstack(two, "volume", "snapshot", "create", "--volume", "v3", "s3", "-f", "json")
    url = f"{two.url}/v3/snapshots/{snap['id']}"
    settle(lambda: httpx.get(url, headers=TOKEN).json()["snapshot"]["status"] == "available")
    with path.open("r+b") as handle:
        handle.write(b"lost")

    openstack(two, "--os-volume-api-version", "3.40", "volume", "revert", "s3")

    settle(lambda: api_volume(two, volume["id"])["status"] == "available")
    with path.open("rb") as handle:
        assert handle.read(4) == b"kept"
