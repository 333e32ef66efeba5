"""Attachments over a real iSCSI target: Hearth's file backend exports through a real tgtd,
and user-space initiators (qemu-io's iSCSI driver, libiscsi's iscsi-inq) connect with the
connection_info the API returned, as os-brick would: the bytes reach the volume's file,
and the target refuses a wrong CHAP secret, another initiator and a detached attachment.
Then tgtd and the manager die and the exports come back from the database.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from hearth.api import versions
from hearth.service import health
from tests.cli_runner import as_json, runner_for
from tests.functional.api.conftest import Api, start_api
from tests.served import _free_port
from tests.tgt import INITIATOR, OTHER_INITIATOR, Tgtd, inquiry, qemu_io, tgtd
from tests.waiting import wait_until

__all__ = ["tgtd"]  # fixture, imported for pytest

V = {versions.HEADER: "volume 3.27"}
CONNECTOR = {
    "initiator": INITIATOR,
    "host": "compute-1",
    "ip": "127.0.0.1",
    "platform": "x86_64",
    "os_type": "linux",
    "multipath": False,
}
ISCSI_KEYS = {
    "target_discovered", "target_portal", "target_portals", "target_iqn", "target_iqns",
    "target_lun", "target_luns", "auth_method", "auth_username", "auth_password",
    "volume_id", "encrypted", "qos_specs", "access_mode", "discard",
}  # fmt: skip


def _attached(api: Api, client: httpx.Client, **fields: Any) -> tuple[str, dict[str, Any]]:
    volume = api.created(client)
    made = client.post(
        "/v3/attachments",
        json={"attachment": {"volume_uuid": volume["id"], "connector": CONNECTOR, **fields}},
        headers=V,
    )
    assert made.status_code == 200, made.text
    attachment = made.json()["attachment"]
    done = client.post(
        f"/v3/attachments/{attachment['id']}/action", json={"os-complete": {}}, headers=V
    )
    assert done.status_code == 204, done.text
    return volume["id"], attachment


def test_a_pattern_written_through_the_iscsi_export_is_in_the_volume_file(
    tmp_path: Path, tgtd: Tgtd
) -> None:
    with start_api(tmp_path, backends={"local": tgtd.backend()}) as api, api.client("p") as alice:
        volume_id, attachment = _attached(api, alice)
        info = attachment["connection_info"]
        assert info["driver_volume_type"] == "iscsi"
        assert set(info["data"]) == ISCSI_KEYS
        assert info["data"]["target_portal"] == f"127.0.0.1:{tgtd.port}"
        assert info["data"]["target_lun"] == 1
        assert info["data"]["auth_method"] == "CHAP"
        assert info["data"]["volume_id"] == volume_id

        wrote = qemu_io(info, "write -P 0xa5 1M 256k", "read -P 0xa5 1M 256k")

        assert wrote.returncode == 0, wrote.stderr
        assert "read 262144/262144 bytes" in wrote.stdout
        with open(api.hearth.volume_path(volume_id), "rb") as stored:
            stored.seek(1 << 20)
            assert stored.read(256 << 10) == b"\xa5" * (256 << 10)
            stored.seek((1 << 20) + (256 << 10))
            assert stored.read(4096) == b"\0" * 4096


def test_the_target_refuses_a_wrong_secret_another_initiator_and_a_detached_attachment(
    tmp_path: Path, tgtd: Tgtd
) -> None:
    with start_api(tmp_path, backends={"local": tgtd.backend()}) as api, api.client("p") as alice:
        _, attachment = _attached(api, alice)
        info = attachment["connection_info"]
        assert inquiry(info).returncode == 0

        wrong_secret = inquiry(info, password="not-the-secret")
        other = inquiry(info, initiator=OTHER_INITIATOR)
        assert wrong_secret.returncode != 0 and "Authentication failure" in wrong_secret.stderr
        assert other.returncode != 0

        assert alice.delete(f"/v3/attachments/{attachment['id']}", headers=V).status_code == 200
        detached = inquiry(info)
        assert detached.returncode != 0
        assert info["data"]["target_iqn"] not in tgtd.targets()
        assert "hearth" not in tgtd.targets()  # its CHAP account went with it


def test_two_attachments_get_their_own_targets_and_secrets(tmp_path: Path, tgtd: Tgtd) -> None:
    with start_api(tmp_path, backends={"local": tgtd.backend()}) as api, api.client("p") as alice:
        _, first = _attached(api, alice)
        _, second = _attached(api, alice)
        one, two = first["connection_info"]["data"], second["connection_info"]["data"]

        assert one["target_iqn"] != two["target_iqn"]
        assert one["auth_password"] != two["auth_password"]
        swapped = {
            "data": {
                **one,
                "auth_username": two["auth_username"],
                "auth_password": two["auth_password"],
            }
        }
        assert inquiry(swapped).returncode != 0


def test_exports_come_back_with_the_same_connection_info_after_tgtd_and_the_manager_die(
    tmp_path: Path, tgtd: Tgtd
) -> None:
    backend = {"local": tgtd.backend()}
    with start_api(tmp_path, backends=backend) as api, api.client("p") as alice:
        volume_id, attachment = _attached(api, alice)
        info = attachment["connection_info"]
        assert qemu_io(info, "write -P 0x3c 0 64k").returncode == 0
    tgtd.kill()  # with the manager stopped: every target is gone
    restarted = Tgtd(tmp_path / "tgtd-2.log", port=tgtd.port, control_port=tgtd.control_port)
    try:
        assert info["data"]["target_iqn"] not in restarted.targets()
        with start_api(tmp_path, backends=backend) as api, api.client("p") as alice:
            shown = alice.get(f"/v3/attachments/{attachment['id']}", headers=V).json()
            assert shown["attachment"]["connection_info"] == info
            assert info["data"]["target_iqn"] in restarted.targets()
            read = qemu_io(info, "read -P 0x3c 0 64k")
            assert read.returncode == 0, read.stderr

            assert alice.delete(f"/v3/attachments/{attachment['id']}", headers=V).status_code == 200
            assert info["data"]["target_iqn"] not in restarted.targets()
            assert alice.get(f"/v3/volumes/{volume_id}").json()["volume"]["status"] == "available"
    finally:
        restarted.kill()


def test_a_manager_that_supervises_tgtd_starts_it_and_starts_it_again_when_it_died(
    tmp_path: Path, tgtd: Tgtd
) -> None:
    tgtd.kill()  # only its ports are used: the manager runs its own tgtd there
    backend = {"local": {**tgtd.backend(), "target_supervise": True}}
    with start_api(tmp_path, backends=backend) as api, api.client("p") as alice:
        _, attachment = _attached(api, alice)
        info = attachment["connection_info"]
        assert inquiry(info).returncode == 0
        target = api.hearth.services.managers["local"].driver.target  # type: ignore[attr-defined]
        target._daemon.kill()
        target._daemon.wait()
        assert inquiry(info).returncode != 0

        api.hearth.services.managers["local"].reconcile()

        assert inquiry(info).returncode == 0


def test_the_older_actions_export_over_iscsi_and_terminate_removes_the_target(
    tmp_path: Path, tgtd: Tgtd
) -> None:
    with start_api(tmp_path, backends={"local": tgtd.backend()}) as api, api.client("p") as alice:
        vid = api.created(alice)["id"]
        act = f"/v3/volumes/{vid}/action"
        assert alice.post(act, json={"os-reserve": None}).status_code == 202
        answer = alice.post(act, json={"os-initialize_connection": {"connector": CONNECTOR}})
        assert answer.status_code == 200, answer.text
        info = answer.json()["connection_info"]
        assert info["driver_volume_type"] == "iscsi"
        assert qemu_io(info, "write -P 0x5a 0 4k", "read -P 0x5a 0 4k").returncode == 0
        assert alice.post(act, json={"os-attach": {"mountpoint": "/dev/vdb"}}).status_code == 202

        assert alice.post(act, json={"os-begin_detaching": None}).status_code == 202
        ended = alice.post(act, json={"os-terminate_connection": {"connector": CONNECTOR}})
        assert ended.status_code == 202
        assert alice.post(act, json={"os-detach": None}).status_code == 202

        assert inquiry(info).returncode != 0
        assert info["data"]["target_iqn"] not in tgtd.targets()
        assert alice.get(f"/v3/volumes/{vid}").json()["volume"]["status"] == "available"


def test_the_cli_attaches_over_iscsi_and_detaches(tmp_path: Path, tgtd: Tgtd) -> None:
    data = tmp_path / "cli-data"
    run = runner_for(data)
    lines = [f"{key} = {value!r}" for key, value in tgtd.backend().items()]
    (data / "hearth.toml").write_text("[backends.local]\n" + "\n".join(lines).replace("'", '"'))
    as_json(run("-f", "json", "volume", "create", "--size", "1", "--name", "v1"))

    attached = as_json(run("-f", "json", "volume", "attach", "v1", "--initiator", INITIATOR))

    assert attached["driver_volume_type"] == "iscsi"
    info = {"data": attached["connection_info"]}
    assert qemu_io(info, "write -P 0x77 0 4k").returncode == 0
    assert info["data"]["target_iqn"] in tgtd.targets()  # the export outlives the command
    assert run("volume", "detach", attached["id"]).exit_code == 0
    assert info["data"]["target_iqn"] not in tgtd.targets()
    path = Path(run("volume", "path", "v1").stdout.strip())
    with path.open("rb") as stored:
        assert stored.read(4096) == b"\x77" * 4096


class ServedWithTarget:
    """`hearth serve` in its own process, its backend exporting through a tgtd it
    supervises (on the ports of a test's stopped tgtd)."""

    def __init__(self, tmp_path: Path, ports: Tgtd) -> None:
        self.data_dir = tmp_path / "served"
        self.data_dir.mkdir(exist_ok=True)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        backend = {**ports.backend(), "target_supervise": True}
        lines = [f"{key} = {json.dumps(value)}" for key, value in backend.items()]
        (self.data_dir / "hearth.toml").write_text(
            f"[api]\nport = {self.port}\n[backends.local]\n" + "\n".join(lines) + "\n"
        )
        self.pid_file = self.data_dir / "backends" / "local" / "tgtd.pid"
        with (tmp_path / "serve.log").open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hearth", "--data-dir", str(self.data_dir), "serve"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        assert wait_until(self._answers, timeout=60), (tmp_path / "serve.log").read_text()

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/").status_code == 300
        except httpx.TransportError:
            return False

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-Auth-Token": "u:p"}, timeout=60)

    def tgtd_pid(self) -> int:
        return int(self.pid_file.read_text())

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)


def _alive(pid: int) -> bool:
    try:
        return b"tgtd" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def test_after_sigkills_of_hearth_serve_and_tgtd_the_exports_come_back_unchanged(
    tmp_path: Path, tgtd: Tgtd
) -> None:
    tgtd.kill()  # its ports are the served process's own tgtd's
    served = ServedWithTarget(tmp_path, tgtd)
    try:
        with served.client() as client:
            volume = client.post("/v3/volumes", json={"volume": {"size": 1}}).json()["volume"]
            assert wait_until(
                lambda: (
                    client.get(f"/v3/volumes/{volume['id']}").json()["volume"]["status"]
                    == "available"
                ),
                timeout=60,
            )
            body = {"attachment": {"volume_uuid": volume["id"], "connector": CONNECTOR}}
            attachment = client.post("/v3/attachments", json=body, headers=V).json()["attachment"]
            info = attachment["connection_info"]
            assert qemu_io(info, "write -P 0x6b 0 64k").returncode == 0
        first_tgtd = served.tgtd_pid()

        served.kill()  # the manager dies; its tgtd serves on
        assert inquiry(info).returncode == 0
        served = ServedWithTarget(tmp_path, tgtd)
        assert served.tgtd_pid() == first_tgtd  # adopted, not started again
        assert qemu_io(info, "read -P 0x6b 0 64k").returncode == 0

        served.kill()
        os.kill(first_tgtd, signal.SIGKILL)  # now both die: every target is gone
        assert wait_until(lambda: not _alive(first_tgtd), timeout=10)
        served = ServedWithTarget(tmp_path, tgtd)
        assert served.tgtd_pid() != first_tgtd
        with served.client() as client:
            shown = client.get(f"/v3/attachments/{attachment['id']}", headers=V).json()
            assert shown["attachment"]["connection_info"] == info
            read = qemu_io(info, "read -P 0x6b 0 64k")
            assert read.returncode == 0, read.stderr
            deleted = client.delete(f"/v3/attachments/{attachment['id']}", headers=V)
            assert deleted.status_code == 200, deleted.text
            assert inquiry(info).returncode != 0
        last_tgtd = served.tgtd_pid()
        served.process.terminate()  # a clean stop takes its tgtd with it
        served.process.wait(60)
        assert wait_until(lambda: not _alive(last_tgtd), timeout=10)
    finally:
        if served.process.poll() is None:
            served.kill()
        if served.pid_file.exists() and _alive(served.tgtd_pid()):
            os.kill(served.tgtd_pid(), signal.SIGKILL)


def test_the_backend_is_not_ready_while_its_tgtd_is_down(tmp_path: Path, tgtd: Tgtd) -> None:
    with start_api(tmp_path, backends={"local": tgtd.backend()}) as api:
        ready = {check.name: check.ok for check in health.readiness(api.hearth.services)}
        assert ready["backend:local"]

        tgtd.kill()

        [check] = [c for c in health.readiness(api.hearth.services) if c.name == "backend:local"]
        assert not check.ok
        assert "target could not be configured" in check.detail
