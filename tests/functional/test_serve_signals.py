"""``hearth serve`` as a process: it logs its start-up at INFO, says "API on ..." only once
the socket answers, takes ``--host``/``--port``, and stops cleanly on Ctrl-C (SIGINT) or
SIGTERM with a "stopped" line and exit status 0."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

START_TIMEOUT = 60


class Serving:
    """``python -m hearth serve ARGS`` with its output in a log file."""

    def __init__(self, tmp_path: Path, *args: str, sigint_ignored: bool = False) -> None:
        self.log = tmp_path / "serve.log"
        command = [sys.executable, "-m", "hearth", "--data-dir", str(tmp_path / "d"), "serve"]
        if sigint_ignored:  # as a non-interactive shell starts a `&` job
            command = ["bash", "-c", 'trap "" INT; exec "$@"', "bash", *command]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*command, *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )

    def output(self) -> str:
        return self.log.read_text()

    def wait_for(self, pattern: str) -> re.Match[str]:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            found = re.search(pattern, self.output())
            if found is not None:
                return found
            assert self.process.poll() is None, self.output()
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} in:\n{self.output()}")

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        return self.process.wait(30)


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[list[Serving]]:
    started: list[Serving] = []
    yield started
    for each in started:
        if each.process.poll() is None:
            each.process.kill()
            each.process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_says_where_the_api_is_once_bound_and_stops_cleanly(
    tmp_path: Path, serving: list[Serving], signum: int
) -> None:
    port = free_port()
    served = Serving(tmp_path, "--host", "127.0.0.1", "--port", str(port))
    serving.append(served)

    served.wait_for(r"API on http://127\.0\.0\.1:\d+\n")
    answered = httpx.get(f"http://127.0.0.1:{port}/")  # bound before the line: no retry
    code = served.stop(signum)

    assert answered.status_code == 300
    output = served.output()
    assert code == 0, output
    assert f"INFO hearth: API on http://127.0.0.1:{port}\n" in output
    assert re.search(
        r"INFO hearth: hearth serving \['api', 'backup', 'scheduler', 'volume'\]", output
    )
    assert output.rstrip("\n").splitlines()[-1].endswith("INFO hearth: hearth stopped")
    assert output.count("API on") == 1
    assert "Traceback" not in output
    assert "WARNING" not in output and "Uvicorn running" not in output


def test_serve_on_port_0_names_the_port_it_bound(tmp_path: Path, serving: list[Serving]) -> None:
    served = Serving(tmp_path, "--port", "0")
    serving.append(served)

    found = served.wait_for(r"API on http://127\.0\.0\.1:(\d+)\n")

    assert httpx.get(f"http://127.0.0.1:{found[1]}/").status_code == 300
    assert served.stop(signal.SIGINT) == 0


@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["terminal", "background-job"])
def test_serve_without_the_api_stops_cleanly_on_ctrl_c(
    tmp_path: Path, serving: list[Serving], sigint_ignored: bool
) -> None:
    served = Serving(
        tmp_path, "--role", "scheduler", "--role", "volume", sigint_ignored=sigint_ignored
    )
    serving.append(served)

    served.wait_for(r"hearth serving \['scheduler', 'volume'\]")
    code = served.stop(signal.SIGINT)

    output = served.output()
    assert code == 0, output
    assert output.rstrip("\n").splitlines()[-1].endswith("INFO hearth: hearth stopped")
    assert "API on" not in output and "Traceback" not in output
