"""A live ``hearth serve`` process, and the installed OpenStack clients run against it.

Used by the client tests (``tests/functional/api/test_clients.py``,
``test_image_clients.py``): :class:`Served` starts ``python -m hearth serve`` on a free port
with its own data directory, the ``served`` fixture stops it after the test, and
:func:`run_client` runs a client program from this virtualenv with the environment a test
gives it (``openstack_env`` for the ``openstack`` CLI).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.waiting import wait_until

VENV_BIN = Path(sys.executable).parent


class Served:
    """A `hearth serve` process on a free port, with its data directory."""

    def __init__(self, tmp_path: Path, extra_config: str = "") -> None:
        self.data_dir = tmp_path / "data"
        self.data_dir.mkdir()
        self.port = _free_port()
        config = f"[api]\nport = {self.port}\n{extra_config}"
        (self.data_dir / "hearth.toml").write_text(config)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "serve.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hearth", "--data-dir", str(self.data_dir), "serve"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )
        assert wait_until(self._answers, timeout=60), self.log.read_text()

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/").status_code == 300
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)

    def volume_file(self, volume_id: str) -> Path:
        return self.data_dir / "backends" / "local" / "volumes" / f"volume-{volume_id}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    running = Served(tmp_path)
    yield running
    running.stop()


def run_client(program: str, env: dict[str, str], *args: str) -> Any:
    """Run an installed client program with ``env`` added to this process's environment."""
    return subprocess.run(
        [str(VENV_BIN / program), *args],
        env={**os.environ, "PYTHONWARNINGS": "ignore", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def openstack_env(served: Served) -> dict[str, str]:
    """`openstack` as a member of project-a (the admin_token plugin: Hearth's noauth)."""
    return {
        "OS_AUTH_TYPE": "admin_token",
        "OS_TOKEN": "alice:project-a",
        "OS_ENDPOINT": f"{served.url}/v3",
    }
