"""A real tgtd for the iSCSI tests, and the user-space initiators that talk to it.

:class:`Tgtd` starts ``tgtd -f`` on a free portal port of 127.0.0.1 with its own control
port, so tests never meet a system tgtd (or each other); it needs root (tgtd's control
socket lives in /run/tgtd) and Debian ``tgt``. The initiators are libiscsi's ``iscsi-inq``
(Debian ``libiscsi-bin``) and ``qemu-io`` with its iSCSI block driver (``qemu-block-extra``),
both in user space: no kernel initiator, no module. Tests skip without them -- and fail
under ``CI=true`` (``tests.conftest.require``).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require
from tests.served import _free_port
from tests.waiting import wait_until

INITIATOR = "iqn.1993-08.org.debian:01:hearth-test"
OTHER_INITIATOR = "iqn.1993-08.org.debian:01:someone-else"


def require_tgt() -> None:
    """Skip (fail under CI) unless tgtd, tgtadm, iscsi-inq and qemu-io are here, as root."""
    missing = [
        tool for tool in ("tgtd", "tgtadm", "iscsi-inq", "qemu-io") if not shutil.which(tool)
    ]
    require(not missing, f"missing {missing}: apt-get install tgt libiscsi-bin qemu-block-extra")
    require(os.geteuid() == 0, "tgtd needs root for its control socket")


class Tgtd:
    """One tgtd process of a test."""

    def __init__(
        self, log: Path, *, port: int | None = None, control_port: int | None = None
    ) -> None:
        self.port = port or _free_port()
        self.log = log
        for _ in range(5):  # on a control port another test's tgtd holds, this one exits
            # tgtd refuses a control port above 32767
            self.control_port = control_port or random.randrange(1000, 32768)
            with log.open("ab") as out:
                self.process = subprocess.Popen(
                    [
                        "tgtd",
                        "-f",
                        "-C",
                        str(self.control_port),
                        "--iscsi",
                        f"portal=127.0.0.1:{self.port}",
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            wait_until(lambda: self.process.poll() is not None or self._answers(), 10)
            if self.process.poll() is None and self._answers():
                return
            self.kill()
        raise AssertionError(f"tgtd did not start: {log.read_text()}")

    def _answers(self) -> bool:
        done = subprocess.run(
            ["tgtadm", "-C", str(self.control_port), "--op", "show", "--mode", "target"],
            capture_output=True,
            check=False,
        )
        return done.returncode == 0

    def backend(self) -> dict[str, Any]:
        """The backend settings that export through this tgtd."""
        return {
            "target_helper": "tgtadm",
            "target_ip_address": "127.0.0.1",
            "target_port": self.port,
            "target_control_port": self.control_port,
        }

    def targets(self) -> str:
        """tgtadm's listing of the targets."""
        return subprocess.run(
            ["tgtadm", "-C", str(self.control_port), "--op", "show", "--mode", "target"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def kill(self) -> None:
        """SIGKILL tgtd (its targets die with it)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


@pytest.fixture
def tgtd(tmp_path: Path) -> Iterator[Tgtd]:
    require_tgt()
    running = Tgtd(tmp_path / "tgtd.log")
    yield running
    running.kill()


def inquiry(
    info: Mapping[str, Any], *, initiator: str = INITIATOR, password: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``iscsi-inq`` against the LUN of an iSCSI connection_info (its CHAP credentials,
    or ``password`` instead)."""
    data = info["data"]
    secret = data["auth_password"] if password is None else password
    url = f"iscsi://{data['auth_username']}%{secret}@{data['target_portal']}/{data['target_iqn']}/{data['target_lun']}"
    return subprocess.run(
        ["iscsi-inq", "-i", initiator, url], capture_output=True, text=True, timeout=30, check=False
    )


def image_opts(info: Mapping[str, Any], *, initiator: str = INITIATOR) -> str:
    """qemu's ``--image-opts`` for the LUN of an iSCSI connection_info, as os-brick's
    consumer (QEMU's built-in initiator) would open it."""
    data = info["data"]
    return ",".join(
        [
            "driver=iscsi",
            "transport=tcp",
            f"portal={data['target_portal']}",
            f"target={data['target_iqn']}",
            f"lun={data['target_lun']}",
            f"user={data['auth_username']}",
            f"password={data['auth_password']}",
            f"initiator-name={initiator}",
        ]
    )


def qemu_io(
    info: Mapping[str, Any], *commands: str, initiator: str = INITIATOR
) -> subprocess.CompletedProcess[str]:
    """Run ``qemu-io`` commands (``write -P 0xab 0 64k``) on the LUN."""
    arguments = [part for command in commands for part in ("-c", command)]
    return subprocess.run(
        ["qemu-io", "--image-opts", image_opts(info, initiator=initiator), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
