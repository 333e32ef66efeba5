"""Crash safety of the backup service under real SIGKILLs (``tests.crash.backup_launcher``).

This process is the user, the scheduler and the volume manager (a ``Hearth`` on RabbitMQ);
the backup service runs in a subprocess on the same database, broker and data directory
and is killed mid-backup (chunks stored, no manifest; manifest stored, row not updated),
mid-restore (chunks written into the temporary file; the volume's file replaced, rows not
updated) and mid-delete (manifest gone, chunks not swept). After each kill it restarts
without a plan, and within ``DEADLINE`` seconds: every backup is ``available`` (its
chunks verify) or ``error`` with a reason, or gone once deleted; every volume is back to
``available``, a restored one holding the backup's bytes; no temporary snapshot or restore
file is left; and no chunk is left that no manifest names.

A restore into a new volume is a create from the backup (the create flow's ``backup``
source, in the volume manager): the create-flow crash harness covers it (``tests/crash``,
scenarios ``backup`` and ``bad_backup``).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hearth import config
from hearth.backup import catalog
from hearth.context import RequestContext
from hearth.db import backups
from hearth.service import wiring
from hearth.service.facade import Hearth
from tests.brokers import broker_problem
from tests.conftest import require
from tests.waiting import wait_until

BUS = "amqp://guest:guest@127.0.0.1:5672//"
DEADLINE = 30.0
MiB = 1 << 20
REPO = Path(__file__).resolve().parents[2]
LAUNCHER = (sys.executable, "-m", "tests.crash.backup_launcher")
ADMIN = RequestContext(user_id="admin", project_id="admin", is_admin=True)
BUSY_BACKUPS = {"creating", "restoring", "deleting"}
BUSY_VOLUMES = {"creating", "backing-up", "restoring-backup"}


class Crashes:
    """The backup service in a subprocess, and this process's Hearth beside it."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.plan = work / "plan.json"
        self.log = work / "backup.log"
        values: dict[str, Any] = {
            "data_dir": str(work / "data"),
            "bus": {"url": BUS, "namespace": f"backup-crash-{uuid.uuid4().hex[:10]}"},
            "backup": {"chunk_size_mb": 1},
            "scheduler": {"report_interval": 0.5},
            "notifications": {"drivers": []},
        }
        (work / "data").mkdir(parents=True)
        self.settings_file = work / "settings.json"
        self.settings_file.write_text(json.dumps(values))
        settings = config.load(data_dir=values["data_dir"], overrides=values, environ={})
        services = wiring.build(settings, roles={"scheduler", "volume"})
        services.start()
        self.hearth = Hearth(services, ADMIN)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*LAUNCHER, str(self.settings_file), str(self.plan)],
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )

        def serving() -> bool:
            with self.log.open("rb") as log:
                log.seek(offset)
                return b"backup launcher: serving" in log.read()

        assert wait_until(serving, timeout=60), f"the backup service did not start: {self.log}"

    def arm(self, point: dict[str, Any]) -> None:
        self.plan.write_text(json.dumps(point))

    def wait_for_death(self) -> None:
        assert self.process is not None
        self.process.wait(60)
        assert self.process.returncode == -signal.SIGKILL, self.log.read_text()[-2000:]

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.hearth.close()

    def settled(self) -> bool:
        busy_backups = [b for b in self.hearth.list_backups() if b.status in BUSY_BACKUPS]
        busy_volumes = [v for v in self.hearth.list_volumes() if v.status in BUSY_VOLUMES]
        return not busy_backups and not busy_volumes

    def check(self) -> None:
        """The invariants of the module docstring, after a restart."""
        repository = self.hearth.services.backup_repository()
        manifests = set(repository.keys("manifest"))
        for backup in self.hearth.list_backups():
            assert backup.status in {"available", "error"}, (backup.id, backup.status)
            if backup.status == "error":
                assert backup.fail_reason, backup.id
            else:
                assert backup.id in manifests
                assert catalog.verify(repository, backup.id).ok
        for volume in self.hearth.list_volumes():
            assert volume.status == "available", (volume.id, volume.status)
            left = list(self.hearth.volume_path(volume.id).parent.glob(".*"))
            assert left == [], left
        named = set()
        for manifest in catalog.load_all(repository):
            named |= manifest.chunk_keys()
        assert set(repository.keys("chunk")) <= named, "a chunk no manifest names is left"


@pytest.fixture
def crashes(tmp_path: Path) -> Iterator[Crashes]:
    problem = broker_problem(BUS)
    require(problem is None, problem or "")
    run = Crashes(tmp_path)
    try:
        run.start()
        yield run
    finally:
        run.close()


def volume_with_data(hearth: Hearth, seed: int) -> tuple[str, str]:
    volume = hearth.create_volume(1)
    assert volume.status == "available", volume.status
    path = hearth.volume_path(volume.id)
    noise = random.Random(seed)
    with path.open("r+b") as handle:
        for offset in (0, 300 * MiB + 4096, (1 << 30) - 2 * MiB):
            handle.seek(offset)
            handle.write(noise.randbytes(2 * MiB))
    return volume.id, digest(path)


def digest(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        for offset in (0, 300 * MiB + 4096, (1 << 30) - 2 * MiB):
            handle.seek(offset)
            hasher.update(handle.read(2 * MiB))
    return hasher.hexdigest()


def restart_and_settle(run: Crashes) -> None:
    run.wait_for_death()
    run.start()
    assert wait_until(run.settled, timeout=DEADLINE), "work left unsettled after the restart"
    run.check()


def test_a_backup_killed_before_its_manifest_ends_in_error_and_leaves_no_chunk(
    crashes: Crashes,
) -> None:
    volume_id, _digest = volume_with_data(crashes.hearth, 1)
    crashes.arm({"at": "chunk", "after": 2})
    backup = crashes.hearth.create_backup(volume_id, wait=False)

    restart_and_settle(crashes)

    failed = crashes.hearth.get_backup(backup.id)
    assert failed.status == "error" and "interrupted" in (failed.fail_reason or "")
    assert list(crashes.hearth.services.backup_repository().keys("chunk")) == []
    again = crashes.hearth.create_backup(volume_id)  # the volume is usable again
    assert again.status == "available"


def test_a_backup_killed_after_its_manifest_is_available(crashes: Crashes) -> None:
    volume_id, _digest = volume_with_data(crashes.hearth, 2)
    crashes.arm({"at": "manifest"})
    backup = crashes.hearth.create_backup(volume_id, wait=False)

    restart_and_settle(crashes)

    done = crashes.hearth.get_backup(backup.id)
    assert done.status == "available" and done.object_count > 0


@pytest.mark.parametrize("point", [{"at": "restore", "after": 2}, {"at": "publish"}])
def test_a_restore_killed_midway_runs_again_and_the_volume_holds_the_backup(
    crashes: Crashes, point: dict[str, Any]
) -> None:
    volume_id, expected = volume_with_data(crashes.hearth, 3)
    backup = crashes.hearth.create_backup(volume_id)
    target = crashes.hearth.create_volume(1)
    crashes.arm(point)
    crashes.hearth.restore_backup(backup.id, volume_id=target.id, wait=False)

    restart_and_settle(crashes)

    assert crashes.hearth.get_backup(backup.id).status == "available"
    assert digest(crashes.hearth.volume_path(target.id)) == expected


def test_a_delete_killed_after_the_manifest_finishes_and_frees_the_chunks(
    crashes: Crashes,
) -> None:
    volume_id, _digest = volume_with_data(crashes.hearth, 5)
    backup = crashes.hearth.create_backup(volume_id)
    crashes.arm({"at": "delete"})
    crashes.hearth.delete_backup(backup.id, wait=False)

    restart_and_settle(crashes)

    with crashes.hearth.services.db.read() as session:
        assert backups.find(session, backup.id) is None
    assert list(crashes.hearth.services.backup_repository().keys("chunk")) == []
