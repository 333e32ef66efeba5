"""Who may touch shared state: commands beside a live `hearth serve`, and two commands at once.

A command never destroys another process's work: a read-only command opens nothing that
serves or recovers, and a command that does recover (it serves its backends with the
in-process bus) takes up only uploads whose lock is free. A command refused a backend
names the process that holds it, and waits a few seconds when that is another command.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from hearth import coordination
from hearth.cli import options
from tests.cli_runner import as_json, runner_for
from tests.conftest import make_settings, open_hearth
from tests.served import Served, served

__all__ = ["served"]  # fixture, imported for pytest

GiB = 1 << 30
ADMIN = {"X-Auth-Token": "admin:admin"}
READ_ONLY = (
    ("image", "list"),
    ("image", "show", "big"),
    ("image", "cache", "list"),
    ("volume", "list"),
    ("backend", "list"),
)


def sparse_gib(path: Path) -> Path:
    """A 1 GiB raw disk that is mostly a hole, with data at its start, middle and end."""
    with path.open("wb") as handle:
        handle.truncate(GiB)
        for offset in (0, GiB // 2 + 12345, GiB - 4096):
            handle.seek(offset)
            handle.write(f"hearth ownership {offset}".encode() * 100)
    return path


def hashes(path: Path) -> tuple[str, str]:
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(8 << 20):
            md5.update(chunk)
            sha256.update(chunk)
    return md5.hexdigest(), sha256.hexdigest()


def hearth_command(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    """`hearth --data-dir <served's> --format json ARGS` as its own process."""
    command = [sys.executable, "-m", "hearth", "--data-dir", str(served.data_dir)]
    return subprocess.run(
        [*command, "--format", "json", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


def test_read_only_commands_beside_a_1_gib_upload_to_hearth_serve_leave_it_to_complete(
    served: Served, tmp_path: Path
) -> None:
    disk = sparse_gib(tmp_path / "big.raw")
    expected: list[tuple[str, str]] = []
    hashing = threading.Thread(target=lambda: expected.append(hashes(disk)))
    hashing.start()  # while the upload runs: hashlib lets go of the GIL
    created = httpx.post(
        f"{served.url}/image/v2/images",
        json={"name": "big", "disk_format": "raw", "container_format": "bare"},
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    image_id = created.json()["id"]
    answered: list[httpx.Response] = []

    def upload() -> None:
        with disk.open("rb") as body:
            answered.append(
                httpx.put(
                    f"{served.url}/image/v2/images/{image_id}/file",
                    content=body,
                    headers={**ADMIN, "Content-Type": "application/octet-stream"},
                    timeout=300,
                )
            )

    uploading = threading.Thread(target=upload)
    uploading.start()
    seen_saving, rounds = 0, 0
    while uploading.is_alive():
        for args in READ_ONLY:
            done = hearth_command(served, *args)
            assert done.returncode == 0, (args, done.stderr)
            if args == ("image", "list"):
                seen_saving += [i["status"] for i in json.loads(done.stdout)] == ["saving"]
        # a command that serves its backends is refused, at once, and recovers nothing
        refused = hearth_command(served, "volume", "create", "--size", "1")
        assert refused.returncode == 1
        assert f"pid {served.process.pid}" in refused.stderr
        assert "serve`" in refused.stderr and "broker" in refused.stderr
        rounds += 1
    uploading.join()
    hashing.join()
    md5, sha256 = expected[0]

    assert answered[0].status_code == 204, answered[0].text
    assert seen_saving >= 1, "no command ran while the upload was in progress"
    shown = httpx.get(f"{served.url}/image/v2/images/{image_id}", headers=ADMIN).json()
    assert (shown["status"], shown["size"]) == ("active", GiB)
    assert (shown["checksum"], shown["os_hash_algo"], shown["os_hash_value"]) == (
        md5,
        "sha256",
        sha256,
    )
    stored = served.data_dir / "images" / f"image-{image_id}"
    with stored.open("rb") as copy, disk.open("rb") as original:
        for offset in (0, GiB // 2 + 12345, GiB - 4096):
            copy.seek(offset)
            original.seek(offset)
            assert copy.read(4096) == original.read(4096)
    assert stored.stat().st_size == GiB
    assert "killed" not in served.log.read_text()


def test_a_command_waits_for_a_backend_another_command_holds_then_runs(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = open_hearth(make_settings(data_dir))  # this process holds the backend
    closer = threading.Timer(1.0, first.close)
    closer.start()
    started = time.monotonic()
    result = runner_for(data_dir)("--format", "json", "volume", "create", "--size", "1")
    closer.join()

    assert as_json(result)["status"] == "available"
    assert 1.0 <= time.monotonic() - started < options.BACKEND_WAIT + 5
    assert "Backend local is held by another Hearth process: pid" in result.stderr
    assert f"Waiting up to {options.BACKEND_WAIT:g} s" in result.stderr


def test_a_command_refused_a_backend_names_the_process_that_holds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(options, "BACKEND_WAIT", 1.0)
    data_dir = tmp_path / "data"
    first = open_hearth(make_settings(data_dir))
    try:
        result = runner_for(data_dir)("volume", "create", "--size", "1")
    finally:
        first.close()

    assert result.exit_code == 1
    assert f"held by another Hearth process: pid {os.getpid()} (`" in result.stderr
    assert "did not finish within 1 s" in result.stderr
    assert options.SERVED not in result.stderr


def test_a_read_only_command_opens_beside_a_command_that_holds_the_backend(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    first = open_hearth(make_settings(data_dir))
    try:
        run = runner_for(data_dir)
        for args in READ_ONLY[:1] + READ_ONLY[2:]:
            result = run(*args)
            assert result.exit_code == 0, (args, result.output)
            assert "Waiting" not in result.stderr
    finally:
        first.close()


@pytest.mark.parametrize(
    ("argv", "server"),
    [
        (("hearth", "serve"), True),
        (("hearth", "--data-dir", "d", "--format", "json", "serve", "--role", "volume"), True),
        (("hearth", "--data-dir=d", "-v", "serve"), True),
        (("hearth", "volume", "create", "serve"), False),
        (("hearth", "--user", "serve", "volume", "list"), False),
        (("pytest", "tests"), False),
        ((), False),
    ],
)
def test_a_holder_is_a_server_when_its_hearth_command_is_serve(
    argv: tuple[str, ...], server: bool
) -> None:
    assert options._is_server(coordination.Holder(1, argv)) is server


def test_a_holder_that_recorded_nothing_is_named_as_such(tmp_path: Path) -> None:
    locks = coordination.Locks(f"file://{tmp_path}")
    locks.start()
    try:
        assert str(locks.holder("free")) == "a process that recorded no pid"
        held = locks.try_acquire("taken")
        assert held is not None
        found: Any = locks.holder("taken")
        assert found.pid is not None and found.argv
        held.release()
        assert locks.holder("taken").pid is None
        assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["taken"]
    finally:
        locks.stop()
