"""The RBD driver's connection info, in the shape os-brick's RBD connector and libvirt read.

os-brick's ``RBDConnector`` takes ``auth_username``, splits ``name`` into exactly a pool and
an image, and writes a ceph.conf from ``hosts``, ``ports``, ``cluster_name`` and the optional
``keyring`` (the key's contents); Nova's libvirt driver reads ``auth_enabled``,
``secret_type``, ``secret_uuid`` and ``discard``. The monitors come from ``ceph mon dump``,
given here as the cluster answers it (no cluster needed).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from hearth import errors
from hearth.volume.drivers import base
from hearth.volume.drivers.file import FileDriver
from hearth.volume.drivers.rbd import Cluster, RbdDriver, monitor_addresses

MON_DUMP = {
    "epoch": 3,
    "mons": [
        {
            "rank": 0,
            "name": "a",
            "public_addrs": {
                "addrvec": [
                    {"type": "v2", "addr": "10.0.0.1:3300", "nonce": 0},
                    {"type": "v1", "addr": "10.0.0.1:6789", "nonce": 0},
                ]
            },
        },
        {
            "rank": 1,
            "name": "b",
            "public_addrs": {"addrvec": [{"type": "v2", "addr": "[fd00::2]:3300", "nonce": 0}]},
        },
    ],
}


def driver_answering(tmp_path: Path, **cluster: Any) -> RbdDriver:
    keyring = tmp_path / "ceph.client.cinder.keyring"
    keyring.write_text("[client.cinder]\n\tkey = AQBsecret==\n")
    settings = {"pool": "volumes", "ceph_conf": tmp_path / "ceph.conf", "user": "cinder"}
    driver = RbdDriver(Cluster(**{**settings, "keyring": keyring, **cluster}))
    driver._mon = lambda command, action: MON_DUMP  # type: ignore[method-assign]
    return driver


def test_connection_info_has_every_key_os_brick_and_libvirt_read(tmp_path: Path) -> None:
    secret = str(uuid.uuid4())
    volume = base.VolumeRef(id=str(uuid.uuid4()), size_gb=1)

    info = driver_answering(tmp_path, secret_uuid=secret).connection_info(volume)

    assert info == {
        "driver_volume_type": "rbd",
        "data": {
            "name": f"volumes/volume-{volume.id}",
            "hosts": ["10.0.0.1", "fd00::2"],
            "ports": ["6789", "3300"],
            "cluster_name": "ceph",
            "auth_enabled": True,
            "auth_username": "cinder",
            "secret_type": "ceph",
            "secret_uuid": secret,
            "volume_id": volume.id,
            "discard": True,
        },
    }
    pool, image = info["data"]["name"].split("/")  # exactly as os-brick unpacks it
    assert (pool, image) == ("volumes", f"volume-{volume.id}")


def test_the_keyring_is_given_only_when_the_backend_says_so(tmp_path: Path) -> None:
    volume = base.VolumeRef(id=str(uuid.uuid4()), size_gb=1)

    given = driver_answering(tmp_path, keyring_in_connection_info=True).connection_info(volume)

    assert given["data"]["keyring"] == "[client.cinder]\n\tkey = AQBsecret==\n"


def test_monitor_addresses_prefer_the_legacy_address_and_skip_monitors_without_one() -> None:
    dump = {"mons": [*MON_DUMP["mons"], {"name": "c", "public_addrs": {"addrvec": []}}]}  # type: ignore[list-item]

    assert monitor_addresses(dump) == (["10.0.0.1", "fd00::2"], ["6789", "3300"])


def test_a_backend_of_local_files_refuses_connection_info(tmp_path: Path) -> None:
    volume = base.VolumeRef(id=str(uuid.uuid4()), size_gb=1)

    with pytest.raises(errors.NotSupportedByBackend) as refused:
        FileDriver(tmp_path).connection_info(volume)

    assert refused.value.status == 400


def test_an_attachment_export_is_the_rbd_connection_info_with_its_access_mode(
    tmp_path: Path,
) -> None:
    volume = base.VolumeRef(id=str(uuid.uuid4()), size_gb=1)
    export = base.ExportRef(attachment_id=str(uuid.uuid4()), volume=volume, access_mode="ro")

    info = driver_answering(tmp_path).export(export)

    assert info["driver_volume_type"] == "rbd"
    assert info["data"]["name"] == f"volumes/volume-{volume.id}"
    assert (info["data"]["access_mode"], info["data"]["encrypted"]) == ("ro", False)
